"""ActionController: trash, move and restore real files off the GUI thread.

The Trash is the temporary one tests/conftest.py points XDG_DATA_HOME at, never the user's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from dedup_gui.core.actions import ActionReport, RestoreReport
from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.digest import file_content_hash
from dedup_gui.core.model import HashSettings, ImageRecord
from dedup_gui.core.store import open_store
from dedup_gui.ui.action_controller import ActionController, ActionWorker
from tests.core.images import write_photo

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="freedesktop Trash tests")


def record_of(path: Path) -> ImageRecord:
    stat = path.stat()
    with_size = (path, stat.st_size, stat.st_mtime_ns, file_content_hash(path))
    return ImageRecord(*with_size, bytes(8), 64, 48, "JPEG", None)


def photos(folder: Path, count: int, name: str = "photo") -> list[ImageRecord]:
    return [
        record_of(write_photo(folder / f"{name} {i}.jpg", width=64, height=48, seed=i))
        for i in range(count)
    ]


def test_trash_then_restore(qtbot: QtBot, tmp_path: Path, trash_dir: Path) -> None:
    records = photos(tmp_path / "album", 3)
    contents = {r.path: r.path.read_bytes() for r in records}
    controller = ActionController()
    progress: list[tuple[int, int]] = []
    controller.progressed.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(controller.trashed, timeout=10_000) as blocker:
        controller.trash(records)
        assert controller.is_running  # the work is on another thread, not done in the call
    report: ActionReport = blocker.args[0]
    assert not controller.is_running
    assert [f.original for f in report.done] == [r.path for r in records]
    assert report.failed == () and report.bytes_done == sum(r.size for r in records)
    assert progress[-1] == (3, 3)
    for item in report.done:
        assert not item.original.exists()
        assert item.trashed_as is not None and item.trashed_as.parent == trash_dir / "files"
        assert item.info_file is not None and item.info_file.is_file()

    with qtbot.waitSignal(controller.restored, timeout=10_000) as blocker:
        controller.restore(report.done)
    restored: RestoreReport = blocker.args[0]
    assert set(restored.restored) == set(contents) and restored.failed == ()
    for path, data in contents.items():
        assert path.read_bytes() == data
    assert not any(f.info_file and f.info_file.exists() for f in report.done)


def test_changed_and_protected_files_are_left_alone(
    qtbot: QtBot, tmp_path: Path, trash_dir: Path
) -> None:
    kept, changed, normal = photos(tmp_path / "a", 3)
    protected = photos(tmp_path / "reference", 1)[0]
    changed.path.write_bytes(changed.path.read_bytes()[::-1])  # same size, other bytes
    os.utime(changed.path, ns=(changed.mtime_ns, changed.mtime_ns))
    controller = ActionController()
    with qtbot.waitSignal(controller.trashed, timeout=10_000) as blocker:
        controller.trash([changed, normal, protected], protected_roots=[tmp_path / "reference"])
    report: ActionReport = blocker.args[0]
    assert [f.original for f in report.done] == [normal.path]
    assert {p.path for p in report.failed} == {changed.path, protected.path}
    assert changed.path.exists() and protected.path.exists() and kept.path.exists()


def test_move_forgets_the_files_in_the_store_and_restores(qtbot: QtBot, tmp_path: Path) -> None:
    records = photos(tmp_path / "album", 2)
    db = tmp_path / "db.sqlite3"
    settings = HashSettings()
    with open_store(db) as store:
        store.put_records(records, settings)
    controller = ActionController(db_path=db)
    destination = tmp_path / "set aside"
    with qtbot.waitSignal(controller.trashed, timeout=10_000) as blocker:
        controller.move(records, destination)
    report: ActionReport = blocker.args[0]
    assert sorted(p.name for p in destination.iterdir()) == ["photo 0.jpg", "photo 1.jpg"]
    with open_store(db) as store:
        assert store.load_records(settings) == {}
    with qtbot.waitSignal(controller.restored, timeout=10_000) as blocker:
        controller.restore(report.done)
    assert all(r.path.exists() for r in records)
    assert list(destination.iterdir()) == []


def test_worker_turns_an_exception_into_a_plain_message(tmp_path: Path) -> None:
    def job(**_: object) -> ActionReport:
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked"))

    worker = ActionWorker(job, CancelToken())
    messages: list[str] = []
    worker.failed.connect(messages.append)
    worker.run()
    assert messages == [f"Permission denied: {tmp_path / 'locked'}"]


def test_failed_signal_and_one_action_at_a_time(qtbot: QtBot, tmp_path: Path) -> None:
    # A destination that is a file cannot be created: every file fails, nothing moves.
    blocker_file = tmp_path / "not a folder"
    blocker_file.write_text("x")
    records = photos(tmp_path / "album", 2)
    controller = ActionController()
    with qtbot.waitSignal(controller.trashed, timeout=10_000) as blocker:
        controller.move(records, blocker_file / "sub")
        with pytest.raises(RuntimeError):
            controller.trash(records)
    report: ActionReport = blocker.args[0]
    assert report.done == () and len(report.failed) == 2
    assert all(r.path.exists() for r in records)


def test_shutdown_cancels_and_waits(qtbot: QtBot, tmp_path: Path, trash_dir: Path) -> None:
    records = photos(tmp_path / "many", 60, name="shutdown test")  # names unique in the Trash
    controller = ActionController()
    results: list[object] = []
    controller.trashed.connect(results.append)
    with qtbot.waitSignal(controller.progressed, timeout=10_000):
        controller.trash(records)
    assert controller.shutdown(timeout_ms=5000)
    assert not controller.is_running
    QCoreApplication.processEvents()
    assert results == []  # the abandoned action reports nothing after shutdown
    assert any(r.path.exists() for r in records)  # cancelled between files, not run to the end
    # Every file is either still here or in the Trash: none is lost half-way.
    for record in records:
        in_trash = (trash_dir / "files" / record.path.name).exists()
        assert record.path.exists() != in_trash
