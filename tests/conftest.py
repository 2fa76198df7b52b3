"""Shared test setup: Qt runs offscreen; the freedesktop Trash lives in a temporary folder.

Both environment variables must be set before PySide6 or send2trash is first imported, so
they are set here, at the top of the first file pytest loads.
"""

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# send2trash puts home-volume files into $XDG_DATA_HOME/Trash; never the user's real Trash.
_TEST_DATA_HOME = tempfile.mkdtemp(prefix="dedup-gui-test-xdg-")
os.environ["XDG_DATA_HOME"] = _TEST_DATA_HOME
os.environ["XDG_CONFIG_HOME"] = os.path.join(_TEST_DATA_HOME, "config")


@pytest.fixture
def trash_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test Trash; HOME is moved next to the test files so they count as on the home drive."""
    # Imported here, not at the top: send2trash must not load before XDG_DATA_HOME is set.
    from dedup_gui.core.freedesktop_trash import home_trash_location

    trash = home_trash_location().trash_dir
    assert "dedup-gui-test-xdg-" in str(trash)  # never the user's real Trash
    assert os.path.basename(os.path.dirname(trash)).startswith("dedup-gui-test-xdg-")
    # send2trash picks the home Trash only for files on the same device as $HOME.
    monkeypatch.setenv("HOME", str(tmp_path))
    return trash
