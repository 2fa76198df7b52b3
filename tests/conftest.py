"""Shared test setup: Qt runs offscreen; the freedesktop Trash lives in a temporary folder.

Both environment variables must be set before PySide6 or send2trash is first imported, so
they are set here, at the top of the first file pytest loads.
"""

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# send2trash puts home-volume files into $XDG_DATA_HOME/Trash; never the user's real Trash.
_TEST_DATA_HOME = tempfile.mkdtemp(prefix="dedup-gui-test-xdg-")
os.environ["XDG_DATA_HOME"] = _TEST_DATA_HOME
os.environ["XDG_CONFIG_HOME"] = os.path.join(_TEST_DATA_HOME, "config")
