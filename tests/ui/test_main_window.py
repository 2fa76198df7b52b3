"""The main window end to end: real drops, real scans, real Trash (the temporary XDG one)."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QTimer, QUrl
from PySide6.QtWidgets import QApplication, QTreeWidget
from pytestqt.qtbot import QtBot

from dedup_gui.core.decisions import Mark
from dedup_gui.core.model import Relation
from dedup_gui.core.store import open_store
from dedup_gui.ui.compare_dialog import CompareDialog
from dedup_gui.ui.delegates import MemberDelegate
from dedup_gui.ui.drop_zone import OTHER_REFUSED
from dedup_gui.ui.main_window import MainWindow
from dedup_gui.ui.models import MemberRole
from dedup_gui.ui.settings import FolderEntry, Settings
from dedup_gui.ui.settings_dialog import SettingsDialog
from tests.core.images import reencode, resize, write_photo

SCAN_TIMEOUT_MS = 30_000
ACTION_TIMEOUT_MS = 10_000


def make_library(root: Path) -> Path:
    """Two planted groups and one unrelated photo.

    - "a": a.jpg and an exact copy in sub/
    - "b": b.jpg (best: largest at full size), a half-size copy in sub/ and a re-encode
    """
    a = write_photo(root / "a.jpg", width=320, height=240, seed=1)
    (root / "sub").mkdir()
    shutil.copy2(a, root / "sub" / "a copy.jpg")
    b = write_photo(root / "b.jpg", width=320, height=240, seed=2, quality=95)
    resize(b, root / "sub" / "b small.jpg", scale=0.5)
    reencode(b, root / "b q60.jpg", quality=60)
    write_photo(root / "c.jpg", width=320, height=240, seed=3)
    return root


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    main = MainWindow(settings, tmp_path / "library.sqlite3")
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()


@pytest.fixture
def library(tmp_path: Path) -> Path:
    return make_library(tmp_path / "Photos")


def _mime(paths: list[Path] | None = None, text: str | None = None) -> QMimeData:
    mime = QMimeData()
    if paths is not None:
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    if text is not None:
        mime.setText(text)
    return mime


def drag_and_drop(window: MainWindow, mime: QMimeData) -> bool:
    """Sends a real drag-enter and, if it was accepted, the drop; returns the acceptance."""
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    # The QPoint overload: PySide6 6.12 does not always register the QPointF one (it depends
    # on what was imported before), and the QPoint one only warns that it is deprecated.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(
            QPoint(50, 50),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    QApplication.sendEvent(window, enter)
    if enter.isAccepted():
        drop = QDropEvent(
            QPointF(50, 50),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(window, drop)
    return enter.isAccepted()


def scan_by_drop(qtbot: QtBot, window: MainWindow, folders: list[Path]) -> None:
    with qtbot.waitSignal(window.scan_controller.completed, timeout=SCAN_TIMEOUT_MS) as done:
        assert drag_and_drop(window, _mime(folders))
    assert not done.args[0].cancelled


def group_names(window: MainWindow) -> list[set[str]]:
    return [
        {m.record.path.name for m in window.groups.group_at(row).members}
        for row in range(window.groups.rowCount())
    ]


def select_group_with(window: MainWindow, name: str) -> None:
    for row, names in enumerate(group_names(window)):
        if name in names:
            window.review.select_group(row)
            return
    raise AssertionError(f"no group holds {name}")


def member_row(window: MainWindow, name: str) -> int:
    group = window.members.group()
    assert group is not None
    return next(i for i, m in enumerate(group.members) if m.record.path.name == name)


def answer(*replies: bool) -> tuple[Callable[[str, str], bool], list[str]]:
    """A confirm() replacement giving ``replies`` in turn; records the questions' titles."""
    asked: list[str] = []
    queue = list(replies)

    def confirm(title: str, text: str) -> bool:
        asked.append(title)
        return queue.pop(0)

    return confirm, asked


# -- empty window and drops -------------------------------------------------------------------


def test_empty_window_invites_a_drop(window: MainWindow) -> None:
    assert window.pages.currentWidget() is window.drop_zone
    assert not window.sidebar.isVisible()
    assert window.drop_zone.add_button.isVisible()
    assert not window.actions_.scan.isEnabled()
    assert not window.actions_.trash.isEnabled()


def test_dropping_a_folder_scans_it_and_fills_the_groups(
    qtbot: QtBot, window: MainWindow, library: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    assert sorted(map(sorted, group_names(window))) == [
        ["a copy.jpg", "a.jpg"],
        ["b q60.jpg", "b small.jpg", "b.jpg"],
    ]
    assert window.pages.currentWidget() is window.review
    assert [e.path for e in window.folder_panel.folders()] == [library]
    assert (
        window.review.summary.text()
        == "2 groups, 3 duplicates, " + (window.review.summary.text().split(", ")[2])
    )
    assert window.members.group() is window.groups.group_at(0)  # the first group is shown
    assert window.actions_.trash.isEnabled() and window.actions_.scan.isEnabled()


def test_folder_list_edits_are_saved_and_protect_folders(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    assert window.add_folders([first, second, first]) == [first, second]
    assert window.sidebar.isVisible() and window.actions_.scan.isEnabled()
    window.folder_panel.set_folders([FolderEntry(first), FolderEntry(second, is_protected=True)])
    window.folder_panel.folders_changed.emit()
    assert window.decisions.rule.protected_roots == (second,)

    tree = window.folder_panel.findChild(QTreeWidget)
    tree.setCurrentItem(tree.topLevelItem(0))
    qtbot.keyClick(tree, Qt.Key.Key_Delete)
    assert [e.path for e in window.folder_panel.folders()] == [second]
    saved = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert saved.folders() == [FolderEntry(second, is_protected=True)]


@pytest.mark.parametrize(
    ("make_mime", "hint"),
    [
        (lambda lib: _mime([lib / "notes.txt"]), OTHER_REFUSED),
        (lambda lib: _mime(text="hello"), OTHER_REFUSED),
        (lambda lib: _mime([Path("/no/such/folder")]), OTHER_REFUSED),
        (lambda lib: _remote_mime(), OTHER_REFUSED),
    ],
    ids=["not-a-photo", "text", "missing-folder", "remote-url"],
)
def test_drops_other_than_local_folders_are_refused_with_a_hint(
    window: MainWindow, library: Path, make_mime: Callable[[Path], QMimeData], hint: str
) -> None:
    assert not drag_and_drop(window, make_mime(library))
    assert window.statusBar().currentMessage() == hint
    assert window.folder_panel.folders() == []
    assert not window.scan_controller.is_running


def _remote_mime() -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/photos/")])
    return mime


# -- marks ------------------------------------------------------------------------------------


def test_rule_premarks_and_keys_toggle_marks(
    qtbot: QtBot, window: MainWindow, library: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    select_group_with(window, "b.jpg")
    marks = {
        m.record.path.name: window.decisions.mark_of(m.record.path)
        for m in window.members.group().members
    }  # type: ignore[union-attr]
    assert marks == {"b.jpg": Mark.KEEP, "b small.jpg": Mark.TRASH, "b q60.jpg": Mark.TRASH}

    view = window.review.member_view
    best = window.members.index(member_row(window, "b.jpg"))
    view.setCurrentIndex(best)
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert window.members.data(best, MemberRole.MARK) is Mark.TRASH
    qtbot.keyClick(view, Qt.Key.Key_K)
    assert window.members.data(best, MemberRole.MARK) is Mark.KEEP
    qtbot.keyClick(view, Qt.Key.Key_T)
    assert window.members.data(best, MemberRole.MARK) is Mark.TRASH

    # From the group list: arrows move between photos, the same keys mark.
    groups = window.review.group_view
    view.setCurrentIndex(window.members.index(0))
    qtbot.keyClick(groups, Qt.Key.Key_Right)
    assert view.currentIndex().row() == 1
    second = window.members.index(1)
    before = window.members.data(second, MemberRole.MARK)
    qtbot.keyClick(groups, Qt.Key.Key_Space)
    assert window.members.data(second, MemberRole.MARK) is not before

    # A click on a card's KEEP/TRASH badge flips it too.
    before = window.members.data(second, MemberRole.MARK)
    card = view.visualRect(second).adjusted(2, 2, -2, -2)
    badge = MemberDelegate.badge_rect(card, view.font()).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=badge)
    assert window.members.data(second, MemberRole.MARK) is not before

    window.actions_.clear_marks.trigger()
    assert window.decisions.mark_of(library / "b.jpg") is None
    window.actions_.apply_rule.trigger()
    assert window.decisions.mark_of(library / "b.jpg") is Mark.KEEP


def test_a_new_keep_rule_re_marks_groups_not_marked_by_hand(
    qtbot: QtBot, window: MainWindow, library: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    sub = library / "sub"
    assert window.decisions.mark_of(library / "b.jpg") is Mark.KEEP  # the largest, by default
    assert window.decisions.mark_of(sub / "b small.jpg") is Mark.TRASH
    window.decisions.set_mark(library / "a.jpg", Mark.KEEP)  # a decision of the user's own

    def prefer_sub() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SettingsDialog)
        assert dialog.add_preferred_folder(sub)
        dialog.accept()

    QTimer.singleShot(0, prefer_sub)
    window.show_preferences()
    # The rule's group follows the new rule; the group the user touched keeps its marks.
    assert window.decisions.mark_of(sub / "b small.jpg") is Mark.KEEP
    assert window.decisions.mark_of(library / "b.jpg") is Mark.TRASH
    assert window.decisions.mark_of(library / "a.jpg") is Mark.KEEP
    assert window.decisions.mark_of(sub / "a copy.jpg") is Mark.TRASH
    assert "new rule in 1 group" in window.statusBar().currentMessage()


def test_protected_folder_wins_and_is_never_marked_for_trash(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    phone, originals = tmp_path / "phone", tmp_path / "originals"
    phone.mkdir()
    big = write_photo(phone / "big.jpg", width=320, height=240, seed=5)
    originals.mkdir()
    resize(big, originals / "small.jpg", scale=0.5)  # worse copy, but in the reference folder
    window.add_folders([phone])
    window.folder_panel.set_folders([FolderEntry(phone), FolderEntry(originals, is_protected=True)])
    with qtbot.waitSignal(window.scan_controller.completed, timeout=SCAN_TIMEOUT_MS):
        assert window.start_scan()
    assert window.decisions.mark_of(originals / "small.jpg") is Mark.KEEP
    assert window.decisions.mark_of(phone / "big.jpg") is Mark.TRASH

    row = member_row(window, "small.jpg")
    window.review.member_view.setCurrentIndex(window.members.index(row))
    qtbot.keyClick(window.review.member_view, Qt.Key.Key_T)
    assert window.decisions.mark_of(originals / "small.jpg") is Mark.KEEP
    assert "protected" in window.statusBar().currentMessage()
    assert window.members.data(window.members.index(row), MemberRole.IS_PROTECTED) is True


# -- trash and undo ---------------------------------------------------------------------------


def test_trash_moves_marked_files_and_undo_restores_them(
    qtbot: QtBot, window: MainWindow, library: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    window.confirm, asked = answer(True)
    marked = {
        library / "sub" / "a copy.jpg",
        library / "sub" / "b small.jpg",
        library / "b q60.jpg",
    }
    originals = {p: p.read_bytes() for p in marked}

    with qtbot.waitSignal(window.action_controller.trashed, timeout=ACTION_TIMEOUT_MS) as done:
        window.actions_.trash.trigger()
    report = done.args[0]
    assert asked == ["Move to Trash?"]
    assert {f.original for f in report.done} == marked
    for item in report.done:
        assert not item.original.exists()
        assert item.trashed_as is not None and item.trashed_as.is_file()
        assert item.info_file is not None and item.info_file.is_file()
    assert (library / "a.jpg").exists() and (library / "b.jpg").exists()
    assert window.groups.rowCount() == 0  # each group is down to its one kept photo
    assert window.drop_zone.title_text == "No duplicates left to review"
    assert window.statusBar().currentMessage().startswith("3 photos (")
    assert "moved to Trash" in window.statusBar().currentMessage()
    assert window.actions_.restore.isEnabled()

    with qtbot.waitSignal(window.action_controller.restored, timeout=ACTION_TIMEOUT_MS):
        window.actions_.restore.trigger()
    assert {p: p.read_bytes() for p in marked} == originals
    assert sorted(map(len, group_names(window))) == [2, 3]  # the groups are back
    assert window.statusBar().currentMessage() == "3 photos put back"
    assert not window.actions_.restore.isEnabled()


def test_the_trash_question_counts_no_space_for_a_hard_linked_copy(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    import os

    photos = tmp_path / "linked"
    write_photo(photos / "a.jpg", seed=3)
    copy = photos / "b.jpg"
    shutil.copyfile(photos / "a.jpg", copy)
    os.link(copy, tmp_path / "elsewhere.jpg")  # b's bytes stay under this name when b goes
    scan_by_drop(qtbot, window, [photos])
    assert window.decisions.mark_of(copy) is Mark.TRASH
    questions: list[str] = []
    window.confirm = lambda title, text: bool(questions.append(text))  # answer no

    window.actions_.trash.trigger()

    assert len(questions) == 1 and "(0 bytes)" in questions[0]
    assert copy.exists()


def test_sidecars_go_to_the_trash_with_their_photo_and_come_back(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    photos = tmp_path / "rated"
    write_photo(photos / "a.jpg", seed=4, quality=95)
    copy = photos / "a copy.jpg"
    shutil.copyfile(photos / "a.jpg", copy)
    sidecar = photos / "a copy.jpg.xmp"
    sidecar.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>', encoding="utf-8")
    scan_by_drop(qtbot, window, [photos])
    assert window.decisions.mark_of(copy) is Mark.TRASH
    questions: list[str] = []
    window.confirm = lambda title, text: questions.append(text) is None  # answer yes

    with qtbot.waitSignal(window.action_controller.trashed, timeout=ACTION_TIMEOUT_MS):
        window.actions_.trash.trigger()

    assert "Their .xmp sidecar files go with them." in questions[0]
    assert not copy.exists() and not sidecar.exists()
    assert "and 1 .xmp sidecar moved to Trash" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.action_controller.restored, timeout=ACTION_TIMEOUT_MS):
        window.actions_.restore.trigger()
    assert copy.exists() and sidecar.exists()
    assert window.statusBar().currentMessage().startswith("1 photo put back with 1 .xmp sidecar")


@pytest.mark.parametrize("trash_every_copy", [False, True])
def test_a_group_with_every_photo_marked_needs_an_extra_yes(
    qtbot: QtBot, window: MainWindow, library: Path, trash_every_copy: bool
) -> None:
    scan_by_drop(qtbot, window, [library])
    both_a = [library / "a.jpg", library / "sub" / "a copy.jpg"]
    for path in both_a:
        assert window.decisions.set_mark(path, Mark.TRASH)
    window.confirm, asked = answer(trash_every_copy, True)

    with qtbot.waitSignal(window.action_controller.trashed, timeout=ACTION_TIMEOUT_MS) as done:
        window.actions_.trash.trigger()
    assert asked == ["Remove every copy?", "Move to Trash?"]
    trashed = {f.original for f in done.args[0].done}
    assert (set(both_a) <= trashed) is trash_every_copy
    assert all(p.exists() for p in both_a) is not trash_every_copy
    assert library / "b q60.jpg" in trashed  # the other group goes ahead either way


def test_saying_no_moves_nothing(qtbot: QtBot, window: MainWindow, library: Path) -> None:
    scan_by_drop(qtbot, window, [library])
    window.confirm, asked = answer(False)
    window.actions_.trash.trigger()
    assert asked == ["Move to Trash?"]
    assert not window.action_controller.is_running
    assert (library / "sub" / "a copy.jpg").exists()
    assert window.groups.rowCount() == 2


# -- not duplicates, compare, export ----------------------------------------------------------


def test_not_duplicates_is_remembered_and_the_next_scan_keeps_them_apart(
    qtbot: QtBot, window: MainWindow, library: Path, tmp_path: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    select_group_with(window, "b.jpg")
    window.review.dismiss_button.click()
    assert group_names(window) == [{"a.jpg", "a copy.jpg"}]
    with open_store(tmp_path / "library.sqlite3") as store:
        assert len(store.list_not_duplicates()) == 3  # every pair of the three photos

    with qtbot.waitSignal(window.scan_controller.completed, timeout=SCAN_TIMEOUT_MS):
        assert window.start_scan()
    assert group_names(window) == [{"a.jpg", "a copy.jpg"}]


def test_dismissing_one_member_keeps_the_rest_of_its_group(
    qtbot: QtBot, window: MainWindow, library: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    select_group_with(window, "b.jpg")
    window.review.dismiss_member_requested.emit(member_row(window, "b q60.jpg"))
    assert {"b.jpg", "b small.jpg"} in group_names(window)
    assert all("b q60.jpg" not in names for names in group_names(window))
    assert window.members.rowCount() == 2  # the photo strip follows the shrunk group


def test_compare_dialog_zooms_both_sides_in_sync(
    qtbot: QtBot, window: MainWindow, library: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    select_group_with(window, "b.jpg")
    window.compare_member(member_row(window, "b small.jpg"))
    dialog = window.findChild(CompareDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.pane(0).has_image and dialog.pane(1).has_image, timeout=10_000)
    left, right = dialog.members()
    assert left.relation is Relation.REFERENCE and right.record.path.name == "b small.jpg"

    left_pane, right_pane = dialog.pane(0), dialog.pane(1)
    corner = QPointF(left_pane.width() * 0.25, left_pane.height() * 0.25)
    left_pane.zoom_at(corner, 3.0)
    middle = QPointF(left_pane.width() / 2, left_pane.height() / 2)
    a, b = left_pane.normalised_at(middle), right_pane.normalised_at(middle)
    assert dialog.view_state.zoom == pytest.approx(3.0)
    assert (a.x(), a.y()) == pytest.approx((b.x(), b.y()), abs=0.02)  # same spot, other size
    assert (a.x(), a.y()) != pytest.approx((0.5, 0.5), abs=0.05)  # and it did move off-centre
    assert {"Pixels", "File size"} <= set(dialog.differing_facts())
    dialog.close()


def test_export_writes_the_groups(
    qtbot: QtBot, window: MainWindow, library: Path, tmp_path: Path
) -> None:
    scan_by_drop(qtbot, window, [library])
    assert window.export_to(tmp_path / "groups.json", as_json=True)
    document = json.loads((tmp_path / "groups.json").read_text(encoding="utf-8"))
    assert len(document["groups"]) == 2 and document["stats"]["found"] == 6
    assert window.export_to(tmp_path / "groups.csv", as_json=False)
    lines = (tmp_path / "groups.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 5  # header + one row per grouped photo


# -- closing ----------------------------------------------------------------------------------


def test_closing_during_a_scan_cancels_it_and_saves_settings(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    big = tmp_path / "many"
    big.mkdir()
    for seed in range(40):
        write_photo(big / f"p{seed:02d}.jpg", width=256, height=192, seed=100 + seed)
    window.add_folders([big])
    assert window.start_scan()
    assert window.scan_controller.is_running
    with qtbot.assertNotEmitted(window.scan_controller.completed):
        assert window.close()
    assert not window.scan_controller.is_running
    assert window.scan_controller.scan_thread is None  # waited for and let go

    reopened = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert [e.path for e in reopened.folders()] == [big]
    assert reopened.window_geometry() is not None


# -- app entry --------------------------------------------------------------------------------

_DEMO_HARNESS = """
import sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QTreeWidget
from dedup_gui.ui.app import run_app
from dedup_gui.ui.main_window import MainWindow

app = QApplication(sys.argv[:1])
seen = {}

def on_completed(report):
    seen["groups"] = len(report.groups)
    seen["title"] = window.windowTitle()
    window.close()

def hook():
    global window
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    seen["library"] = window.folder_panel.folders()[0].path
    window.scan_controller.completed.connect(on_completed)

QTimer.singleShot(0, hook)
code = run_app(demo=True)
print(code, seen["groups"], seen["library"].exists(), seen["title"], sep="|")
"""


def test_run_app_demo_scans_the_sample_library_and_cleans_up(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", _DEMO_HARNESS],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    code, groups, library_left, title = result.stdout.strip().splitlines()[-1].split("|")
    assert (code, groups, library_left) == ("0", "12", "False")  # the temporary library is gone
    assert title == "Duplicate Photos"


@pytest.mark.parametrize(
    ("error", "package"),
    [
        ("libxcb-icccm.so.4: cannot open shared object file: No such file", "libxcb-icccm4"),
        ("libEGL.so.1: cannot open shared object file", "libegl1"),
        ("libxkbcommon-x11.so.0: cannot open shared object file", "libxkbcommon-x11-0"),
        ("libglib-2.0.so.0: cannot open shared object file", "libglib2.0-0"),
    ],
)
def test_missing_qt_library_names_the_system_package(error: str, package: str) -> None:
    from dedup_gui.ui.app import qt_missing_message

    message = qt_missing_message(error)
    assert f"sudo apt install {package}" in message
    assert "dedup-gui scan" in message  # the way that still works


def test_offscreen_platform_needs_no_xcb_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup_gui.ui.app import xcb_plugin_error

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert xcb_plugin_error() is None
