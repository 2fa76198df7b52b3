"""The journal seen from the window: undo after a restart, and a batch a crash cut short.

Real windows on one real database, "restarted" by closing one and opening another; the real
Trash is the temporary one of tests/conftest.py.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from dedup_gui.core.actions import TrashedFile, trash_files
from dedup_gui.core.freedesktop_trash import home_trash_location
from dedup_gui.core.journal import StoreJournal
from dedup_gui.core.model import Problem
from dedup_gui.core.store import HashStore, open_store
from dedup_gui.ui.main_window import MainWindow
from dedup_gui.ui.settings import Settings
from tests.core.test_journal import photos
from tests.ui.test_main_window import ACTION_TIMEOUT_MS, answer, make_library, scan_by_drop

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="freedesktop Trash tests")

OpenWindow = Callable[[], MainWindow]


@pytest.fixture
def open_window(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OpenWindow]:
    """Opens a new window on the same database and settings each call: an app restart."""
    assert "dedup-gui-test-xdg-" in str(home_trash_location().trash_dir)
    monkeypatch.setenv("HOME", str(tmp_path))  # the home Trash is for files on $HOME's drive
    opened: list[MainWindow] = []

    def open_one() -> MainWindow:
        for earlier in opened:
            earlier.close()
        ini = str(tmp_path / "settings.ini")
        window = MainWindow(Settings(QSettings(ini, QSettings.Format.IniFormat)), db_path(tmp_path))
        qtbot.addWidget(window)
        window.show()
        opened.append(window)
        return window

    yield open_one
    for window in opened:
        window.close()


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "library.sqlite3"


def test_restore_last_trashed_works_after_a_restart(
    qtbot: QtBot, open_window: OpenWindow, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "Photos")
    first = open_window()
    scan_by_drop(qtbot, first, [library])
    first.confirm, _ = answer(True)
    with qtbot.waitSignal(first.action_controller.trashed, timeout=ACTION_TIMEOUT_MS) as done:
        first.actions_.trash.trigger()
    trashed = [f.original for f in done.args[0].done]
    contents = {f.original: f.trashed_as.read_bytes() for f in done.args[0].done}
    assert len(trashed) == 3 and not any(p.exists() for p in trashed)

    second = open_window()
    assert second.actions_.restore.isEnabled()
    reappeared = trashed[0]
    reappeared.write_bytes(b"a new file with the old name")
    with qtbot.waitSignal(second.action_controller.restored, timeout=ACTION_TIMEOUT_MS):
        second.actions_.restore.trigger()
    assert reappeared.read_bytes() == b"a new file with the old name"  # never overwritten
    assert all(p.read_bytes() == contents[p] for p in trashed[1:])
    message = second.statusBar().currentMessage()
    assert message.startswith("2 photos put back") and "1 could not be put back" in message
    assert second.actions_.restore.isEnabled()  # the refused one can be tried again

    reappeared.unlink()
    third = open_window()
    with qtbot.waitSignal(third.action_controller.restored, timeout=ACTION_TIMEOUT_MS):
        third.actions_.restore.trigger()
    assert reappeared.read_bytes() == contents[reappeared]
    assert not third.actions_.restore.isEnabled()
    assert not open_window().actions_.restore.isEnabled()  # restored rows are not offered again


class Killed(BaseException):
    """Stands in for the process dying: nothing on the way catches it."""


class DiesAfterThirdMove(StoreJournal):
    def __init__(self, store: HashStore) -> None:
        super().__init__(store)
        self._handled = 0

    def record(self, batch_id: int, path: Path, outcome: TrashedFile | Path | Problem) -> None:
        self._handled += 1
        if self._handled == 3:  # moved, not yet journaled
            raise Killed()
        super().record(batch_id, path, outcome)


@pytest.mark.parametrize("choice", ["restore", "keep"])
def test_an_interrupted_batch_is_shown_and_either_choice_closes_it(
    qtbot: QtBot, open_window: OpenWindow, tmp_path: Path, choice: str
) -> None:
    records = photos(tmp_path / "album", 5, name=f"cut short {choice}")
    contents = {r.path: r.path.read_bytes() for r in records}
    with open_store(db_path(tmp_path)) as store, pytest.raises(Killed):
        trash_files(records, journal=DiesAfterThirdMove(store))

    window = open_window()
    banner = window.interrupted_banner
    assert banner.isVisible()
    assert banner.label.text() == (
        "An earlier move to the Trash was interrupted: 3 of 5 photos had been moved."
    )
    assert not window.actions_.restore.isEnabled()  # the open batch is the banner's to offer
    if choice == "restore":
        with qtbot.waitSignal(window.action_controller.restored, timeout=ACTION_TIMEOUT_MS):
            banner.restore_button.click()
        assert {r.path: r.path.read_bytes() for r in records} == contents
        assert window.statusBar().currentMessage().startswith("3 photos put back")
        assert not window.actions_.restore.isEnabled()
    else:
        banner.keep_button.click()
        assert [r.path.exists() for r in records] == [False] * 3 + [True] * 2
        assert window.actions_.restore.isEnabled()  # kept, yet still in reach of undo
    assert not banner.isVisible()
    assert not open_window().interrupted_banner.isVisible()  # closed: not asked again
