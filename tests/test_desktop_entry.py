"""The menu entry and icons go into XDG_DATA_HOME, run this program, and come out again."""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from dedup_gui import desktop_entry
from dedup_gui.desktop_entry import (
    DesktopEntryError,
    exec_value,
    install_desktop_entry,
    launch_command,
    remove_desktop_entry,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh XDG_DATA_HOME for each test (conftest's one is shared by the session)."""
    data = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data


def _read_entry(home: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(home / "applications" / "dedup-gui.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_install_writes_entry_and_every_icon(home: Path) -> None:
    written = install_desktop_entry(["/opt/dedup-gui/dedup-gui"])

    entry = _read_entry(home)
    assert entry["Exec"] == "/opt/dedup-gui/dedup-gui %F"
    assert entry["TryExec"] == "/opt/dedup-gui/dedup-gui"
    assert entry["Icon"] == "dedup-gui"
    assert entry["Name"] == "Duplicate Photos"
    hicolor = home / "icons" / "hicolor"
    for size in desktop_entry.ICON_SIZES:
        png = hicolor / f"{size}x{size}" / "apps" / "dedup-gui.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (hicolor / "scalable" / "apps" / "dedup-gui.svg").read_bytes()
    assert len(written) == len(desktop_entry.ICON_SIZES) + 2
    assert oct((home / "applications" / "dedup-gui.desktop").stat().st_mode & 0o777) == "0o644"


def test_install_twice_changes_nothing_the_second_time(home: Path) -> None:
    install_desktop_entry(["/opt/a/dedup-gui"])
    entry = home / "applications" / "dedup-gui.desktop"
    before = entry.stat().st_mtime_ns, entry.stat().st_ino

    assert install_desktop_entry(["/opt/a/dedup-gui"]) == []
    assert (entry.stat().st_mtime_ns, entry.stat().st_ino) == before
    # A moved program updates only the entry; the icons are the same.
    assert install_desktop_entry(["/opt/b/dedup-gui"]) == [entry]
    assert _read_entry(home)["Exec"] == "/opt/b/dedup-gui %F"
    assert not list(entry.parent.glob(".dedup-gui.desktop.*"))  # no temporary file left


def test_remove_takes_away_only_what_install_wrote(home: Path) -> None:
    written = install_desktop_entry(["/opt/dedup-gui/dedup-gui"])
    other = home / "applications" / "gimp.desktop"
    other.write_text("[Desktop Entry]\nName=GIMP\n", encoding="utf-8")
    other_icon = home / "icons" / "hicolor" / "48x48" / "apps" / "gimp.png"
    other_icon.write_bytes(b"png")

    assert sorted(remove_desktop_entry()) == sorted(written)
    assert not any(path.exists() for path in written)
    assert other.exists() and other_icon.exists()
    assert remove_desktop_entry() == []


def test_remove_leaves_an_entry_dedup_gui_did_not_write(home: Path) -> None:
    entry = home / "applications" / "dedup-gui.desktop"
    entry.parent.mkdir(parents=True)
    entry.write_text("[Desktop Entry]\nExec=/usr/bin/dedup-gui\n", encoding="utf-8")

    assert remove_desktop_entry() == []
    assert entry.exists()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["/opt/My Apps/dedup-gui"], '"/opt/My Apps/dedup-gui"'),
        (["/opt/100%/dedup-gui"], "/opt/100%%/dedup-gui"),
        (["/opt/$HOME/dedup-gui"], '"/opt/\\\\$HOME/dedup-gui"'),
        (["/opt/a\\b/dedup-gui"], '"/opt/a\\\\\\\\b/dedup-gui"'),
        (["/usr/bin/python3", "-m", "dedup_gui"], "/usr/bin/python3 -m dedup_gui"),
    ],
)
def test_exec_quotes_as_the_desktop_entry_spec_says(command: list[str], expected: str) -> None:
    assert exec_value(command) == expected


def test_a_path_that_is_not_utf8_is_refused_with_a_plain_message(home: Path) -> None:
    program = os.fsdecode(b"/opt/caf\xe9/dedup-gui")

    with pytest.raises(DesktopEntryError, match="not valid UTF-8"):
        install_desktop_entry([program])
    assert not (home / "applications").exists()


def test_a_frozen_bundle_runs_its_own_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/dedup-gui/dedup-gui")

    assert launch_command() == ["/opt/dedup-gui/dedup-gui"]


def test_relative_xdg_data_home_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    monkeypatch.setenv("HOME", str(tmp_path))

    install_desktop_entry(["/opt/dedup-gui/dedup-gui"])

    assert (tmp_path / ".local/share/applications/dedup-gui.desktop").is_file()


def test_installed_exec_line_starts_this_program(home: Path) -> None:
    """In a real process: the command the entry runs answers --version as dedup-gui."""
    code = "import sys; from dedup_gui import desktop_entry as d; sys.exit(d.run_cli(install=True))"
    env = {**os.environ, "XDG_DATA_HOME": str(home), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Menu entry installed" in done.stdout

    exec_line = _read_entry(home)["Exec"]
    assert exec_line.endswith(" %F")
    command = shlex.split(exec_line.removesuffix(" %F"))  # plain paths: no spec escapes here
    version = subprocess.run(
        [*command, "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    assert version.stdout.startswith("dedup-gui "), version.stderr
