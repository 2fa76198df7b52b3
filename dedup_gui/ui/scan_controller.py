"""Runs scans on a worker thread and reports back to the GUI thread through signals."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import (
    QObject,
    QThread,
    Signal,
    Slot,
)

from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.formatting import describe_error
from dedup_gui.core.model import ScanProgress, ScanReport, ScanRequest
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store
from dedup_gui.ui.background import BackgroundJob

log = logging.getLogger(__name__)


class ScanWorker(QObject):
    """One scan, run by ``run()`` on whatever thread it lives in (its own QThread, or a test's)."""

    progressed = Signal(object)  # ScanProgress
    completed = Signal(object)  # ScanReport, possibly cancelled
    failed = Signal(str)  # plain words for the user

    def __init__(self, request: ScanRequest, db_path: Path, cancel: CancelToken) -> None:
        super().__init__()  # no parent: it is moved to another thread
        self._request, self._db_path, self._cancel = request, db_path, cancel

    @Slot()
    def run(self) -> None:
        try:
            with open_store(self._db_path) as store:  # this thread's own connection
                report = run_scan(
                    self._request, store, progress=self.progressed.emit, cancel=self._cancel
                )
        except Exception as exc:  # thread boundary: nothing escapes
            log.exception("scan failed")
            self.failed.emit(describe_error(exc))
            return
        self.completed.emit(report)


class ScanController(QObject):
    """Owns the scan thread: ``start()`` a request, ``cancel()`` it, ``shutdown()`` on close.

    Signals arrive on the GUI thread. Exactly one of ``completed`` (also after a cancel, with
    ``report.cancelled``) or ``failed`` follows each ``started``; ``is_running`` is already False
    when it arrives, so a handler may start the next scan.
    """

    started = Signal()
    progressed = Signal(object)  # ScanProgress
    completed = Signal(object)  # ScanReport
    failed = Signal(str)

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db_path = db_path
        self._job = BackgroundJob(self, "scan", "a scan is already running")

    @property
    def is_running(self) -> bool:
        return self._job.is_running

    @property
    def scan_thread(self) -> QThread | None:
        """The current (or last, not yet reaped) scan thread; for tests and diagnostics."""
        return self._job.thread

    def start(self, request: ScanRequest) -> None:
        """Starts scanning ``request`` in the background.

        Raises:
            RuntimeError: a scan is already running (the UI disables scanning meanwhile).
        """
        worker = ScanWorker(request, self._db_path, self._job.begin())
        # Bound methods of this GUI-thread object: the connections queue across threads.
        worker.progressed.connect(self._on_worker_progressed)
        worker.completed.connect(self._on_worker_completed)
        worker.failed.connect(self._on_worker_failed)
        self._job.launch(worker, worker.run, (worker.completed, worker.failed))
        self.started.emit()

    def cancel(self) -> None:
        """Asks the running scan to stop; it completes soon with ``report.cancelled``."""
        self._job.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancels, then waits up to ``timeout_ms`` for the scan thread to end (closeEvent).

        No signal of the cancelled run is delivered afterwards.

        Returns:
            True if no scan thread is left running.
        """
        return self._job.shutdown(timeout_ms)

    @Slot(object)
    def _on_worker_progressed(self, progress: ScanProgress) -> None:
        # Only one run at a time, and its progress is queued before its result: a progress
        # arriving while not running belongs to a run that shutdown() abandoned.
        if self._job.is_current():
            self.progressed.emit(progress)

    @Slot(object)
    def _on_worker_completed(self, report: ScanReport) -> None:
        if self._job.finish():
            self.completed.emit(report)

    @Slot(str)
    def _on_worker_failed(self, message: str) -> None:
        if self._job.finish():
            self.failed.emit(message)
