"""The window answers "do I already have this photo?": real drops, real queries, real library."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from dedup_gui.core.model import Relation
from dedup_gui.ui.main_window import MainWindow
from tests.core.images import reencode, resize, write_photo
from tests.ui import test_main_window as main_tests
from tests.ui.test_main_window import SCAN_TIMEOUT_MS, _mime, drag_and_drop, scan_by_drop

# The same window and library (two planted groups and one lone photo) as the window's tests.
window = main_tests.window
library = main_tests.library


@pytest.fixture
def card(library: Path, tmp_path: Path) -> Path:
    """Photos off a camera: an exact copy of a, a resize and a re-encode of b, a new one."""
    card = tmp_path / "Card"
    card.mkdir()
    shutil.copyfile(library / "a.jpg", card / "a exact.jpg")
    resize(library / "b.jpg", card / "b half.jpg", scale=0.4)
    reencode(library / "b.jpg", card / "b q50.jpg", quality=50)
    write_photo(card / "d new.jpg", width=320, height=240, seed=4)
    return card


def answers(window: MainWindow) -> dict[str, dict[str, Relation]]:
    """Shown groups as {query photo: {library copy: relation}}."""
    result = {}
    for row in range(window.groups.rowCount()):
        group = window.groups.group_at(row)
        assert group.reference.relation is Relation.REFERENCE
        copies = {m.record.path.name: m.relation for m in group.members[1:]}
        result[group.reference.record.path.name] = copies
    return result


def find_by_drop(qtbot: QtBot, window: MainWindow, photos: list[Path]) -> None:
    with qtbot.waitSignal(window.find_controller.completed, timeout=SCAN_TIMEOUT_MS):
        assert drag_and_drop(window, _mime(photos))


def test_dropping_photos_shows_their_copies_and_a_folder_drop_still_scans(
    qtbot: QtBot, window: MainWindow, library: Path, card: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    photos = sorted(card.iterdir())

    find_by_drop(qtbot, window, photos)

    assert answers(window) == {
        "a exact.jpg": {"a.jpg": Relation.EXACT, "a copy.jpg": Relation.EXACT},
        "b half.jpg": {
            "b.jpg": Relation.NEAR,
            "b q60.jpg": Relation.NEAR,
            "b small.jpg": Relation.NEAR,
        },
        "b q50.jpg": {
            "b.jpg": Relation.NEAR,
            "b q60.jpg": Relation.NEAR,
            "b small.jpg": Relation.NEAR,
        },
    }
    assert window.statusBar().currentMessage() == (
        "Copies of 4 photos you dropped: 3 found, 1 new (d new.jpg)."
    )
    assert window.pages.currentWidget() is window.review
    assert window.decisions.marked_for_trash(window.groups.groups()) == []  # nothing proposed
    # A lookup is not a scan: the card is not added to the folders, nothing was stored.
    assert [e.path for e in window.folder_panel.folders()] == [library]
    assert window.find_controller.has_index

    # Folders dropped still mean "scan these"; the scan's groups replace the answer.
    scan_by_drop(qtbot, window, [library])
    assert "a exact.jpg" not in {n for names in answers(window).values() for n in names}
    assert not window.find_controller.has_index  # the library changed: loaded afresh next time


def test_find_action_asks_for_photos_and_says_when_none_is_in_the_library(
    qtbot: QtBot, window: MainWindow, library: Path, card: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan_by_drop(qtbot, window, [library])
    chosen = [str(card / "d new.jpg")]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: (chosen, ""))

    with qtbot.waitSignal(window.find_controller.completed, timeout=SCAN_TIMEOUT_MS):
        window.actions_.find.trigger()

    assert window.groups.rowCount() == 0
    assert window.pages.currentWidget() is window.drop_zone
    assert window.drop_zone.title_text == "Not in your library"
    assert "1 photo you chose: 0 found, 1 new" in window.statusBar().currentMessage()


def test_a_library_photo_dropped_finds_its_other_copies(
    qtbot: QtBot, window: MainWindow, library: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    find_by_drop(qtbot, window, [library / "a.jpg"])
    assert answers(window) == {"a.jpg": {"a copy.jpg": Relation.EXACT}}


def test_before_any_scan_the_answer_says_to_scan_first(
    qtbot: QtBot, window: MainWindow, library: Path
) -> None:
    find_by_drop(qtbot, window, [library / "a.jpg"])
    assert window.groups.rowCount() == 0
    assert window.statusBar().currentMessage() == (
        "Copies of 1 photo you dropped: 0 found, 1 new (a.jpg); "
        "nothing is scanned yet: scan your photo folders first."
    )
    assert not window.scan_controller.is_running  # a photo dropped is looked up, not scanned
