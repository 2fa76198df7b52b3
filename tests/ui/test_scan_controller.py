"""ScanController and ScanWorker: real scans on a real thread, cancel, shutdown, failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.model import Relation, ScanProgress, ScanReport, ScanRequest, ScanStage
from dedup_gui.core.store import open_store
from dedup_gui.ui.scan_controller import ScanController, ScanWorker
from tests.core.images import reencode, resize, write_photo


def make_library(root: Path, photos: int = 6) -> Path:
    """``photos`` distinct photos, each with an exact copy and a re-encoded copy."""
    for i in range(photos):
        original = write_photo(root / f"p{i}.jpg", width=160, height=120, seed=i)
        (root / "copies").mkdir(parents=True, exist_ok=True)
        (root / "copies" / f"p{i}.jpg").write_bytes(original.read_bytes())
        reencode(original, root / "copies" / f"p{i}_q60.jpg", quality=60)
    resize(root / "p0.jpg", root / "p0_small.jpg", scale=0.5)
    return root


@pytest.fixture
def library(tmp_path: Path) -> Path:
    return make_library(tmp_path / "library")


def request_for(root: Path) -> ScanRequest:
    return ScanRequest(roots=(root,), workers=1)


def test_worker_runs_in_the_calling_thread(tmp_path: Path, library: Path) -> None:
    worker = ScanWorker(request_for(library), tmp_path / "db.sqlite3", CancelToken())
    reports: list[ScanReport] = []
    progress: list[ScanProgress] = []
    worker.completed.connect(reports.append)
    worker.progressed.connect(progress.append)
    worker.run()
    (report,) = reports
    assert not report.cancelled
    assert len(report.groups) == 6
    assert progress[-1].stage is ScanStage.DONE
    relations = {m.relation for g in report.groups for m in g.members}
    assert {Relation.REFERENCE, Relation.EXACT, Relation.NEAR} <= relations


def test_worker_reports_a_bad_database_in_plain_words(tmp_path: Path, library: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    worker = ScanWorker(request_for(library), garbage, CancelToken())
    messages: list[str] = []
    worker.failed.connect(messages.append)
    worker.run()
    assert len(messages) == 1 and "Traceback" not in messages[0]
    assert str(garbage) in messages[0] or "database" in messages[0].lower()


def test_real_thread_scan(qtbot: QtBot, tmp_path: Path, library: Path) -> None:
    controller = ScanController(tmp_path / "db.sqlite3")
    progress: list[ScanProgress] = []
    controller.progressed.connect(progress.append)
    with (
        qtbot.waitSignal(controller.started, timeout=1000),
        qtbot.waitSignal(controller.completed, timeout=20_000) as blocker,
    ):
        controller.start(request_for(library))
        assert controller.is_running
        with pytest.raises(RuntimeError):
            controller.start(request_for(library))
    report: ScanReport = blocker.args[0]
    assert not controller.is_running
    assert not report.cancelled and len(report.groups) == 6
    assert progress and progress[-1].stage is ScanStage.DONE
    # A second scan reuses every hash from the store the first one filled.
    with qtbot.waitSignal(controller.completed, timeout=20_000) as blocker:
        controller.start(request_for(library))
    assert blocker.args[0].stats.reused == report.stats.found - report.stats.problems
    assert controller.shutdown()
    assert controller.scan_thread is None


def test_a_failure_arrives_as_failed(qtbot: QtBot, tmp_path: Path, library: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    controller = ScanController(garbage)
    with qtbot.waitSignal(controller.failed, timeout=20_000) as blocker:
        controller.start(request_for(library))
    assert isinstance(blocker.args[0], str) and blocker.args[0]
    assert not controller.is_running


def _start_and_wait_for_hashing(qtbot: QtBot, controller: ScanController, root: Path) -> None:
    def hashing(progress: ScanProgress) -> bool:
        return progress.stage is ScanStage.HASHING

    with qtbot.waitSignal(controller.progressed, timeout=20_000, check_params_cb=hashing):
        controller.start(request_for(root))


def test_cancel_completes_with_a_cancelled_report(qtbot: QtBot, tmp_path: Path) -> None:
    big = make_library(tmp_path / "big", photos=40)
    db = tmp_path / "db.sqlite3"
    controller = ScanController(db)
    with qtbot.waitSignal(controller.completed, timeout=20_000) as blocker:
        _start_and_wait_for_hashing(qtbot, controller, big)
        controller.cancel()
    report: ScanReport = blocker.args[0]
    assert report.cancelled and report.groups == ()
    assert not controller.is_running
    assert report.stats.found == 121
    with open_store(db) as store:  # what was hashed before the cancel is kept; not everything
        assert len(store.load_records(request_for(big).hashing)) < report.stats.found


def test_shutdown_while_running_returns_in_time(qtbot: QtBot, tmp_path: Path) -> None:
    big = make_library(tmp_path / "big", photos=40)
    controller = ScanController(tmp_path / "db.sqlite3")
    results: list[object] = []
    controller.completed.connect(results.append)
    controller.failed.connect(results.append)
    _start_and_wait_for_hashing(qtbot, controller, big)
    assert controller.scan_thread is not None and controller.scan_thread.isRunning()
    began = time.monotonic()
    assert controller.shutdown(timeout_ms=5000)
    assert time.monotonic() - began < 5.0
    assert controller.scan_thread is None  # dropped only after wait() saw the thread end
    assert not controller.is_running
    QCoreApplication.processEvents()
    assert results == []  # nothing of the abandoned run is delivered after shutdown
    # The controller is usable again, e.g. after a cancelled close.
    with qtbot.waitSignal(controller.completed, timeout=20_000):
        controller.start(request_for(tmp_path / "big" / "copies"))


def test_the_panel_counts_checks_made() -> None:
    from dedup_gui.ui.scan_panel import stage_text

    checking = ScanProgress(ScanStage.VERIFYING, found=9000, to_check=1502, checked=120)
    assert stage_text(checking) == "Comparing likely copies in detail… 120 of 1,502"
    assert stage_text(ScanProgress(ScanStage.VERIFYING)) == "Comparing pixels of likely copies…"
