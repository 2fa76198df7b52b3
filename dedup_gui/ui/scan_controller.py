"""Runs scans on a worker thread and reports back to the GUI thread through signals."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    Qt,
    QThread,
    Signal,
    SignalInstance,
    Slot,
)

from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.formatting import describe_error
from dedup_gui.core.model import ScanProgress, ScanReport, ScanRequest
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store

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


# Every WorkerThread whose thread may not have finished yet (see WorkerThread).
_LIVE: list[WorkerThread] = []


class WorkerThread:
    """A QThread running one worker object's ``run()``; it ends by itself when run() is done.

    Python owns thread and worker (no deleteLater). A QThread destroyed while running aborts
    the process, so every WorkerThread is also kept in a module-level list until its thread
    has finished, even if its controller goes away first.
    """

    thread: QThread
    worker: QObject

    def __init__(
        self,
        worker: QObject,
        run: Callable[[], None],
        end_signals: Sequence[SignalInstance],
        name: str,
    ) -> None:
        _LIVE[:] = [runner for runner in _LIVE if not runner.thread.isFinished()]
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.started.connect(run)  # run is the worker's slot: it runs in the new thread
        for signal in end_signals:
            # Direct: quit() from the worker's own thread, so the thread ends without waiting
            # for the GUI thread's event loop (QThread.exec() honours a quit() made before it).
            signal.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        _LIVE.append(self)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout_ms: int) -> bool:
        """Ends the event loop once ``run()`` returns; waits (forever if negative) for the end."""
        self.thread.quit()
        return self.thread.wait() if timeout_ms < 0 else self.thread.wait(timeout_ms)


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
        self._cancel: CancelToken | None = None
        self._is_running = False
        # The last run's thread, kept until the next start() or shutdown() has waited for it.
        self._runner: WorkerThread | None = None

    @property
    def is_running(self) -> bool:
        return self._is_running

    @property
    def scan_thread(self) -> QThread | None:
        """The current (or last, not yet reaped) scan thread; for tests and diagnostics."""
        return self._runner.thread if self._runner is not None else None

    def start(self, request: ScanRequest) -> None:
        """Starts scanning ``request`` in the background.

        Raises:
            RuntimeError: a scan is already running (the UI disables scanning meanwhile).
        """
        if self._is_running:
            raise RuntimeError("a scan is already running")
        self._reap(timeout_ms=-1)  # the last run has returned from run(): this is immediate
        self._cancel = CancelToken()
        worker = ScanWorker(request, self._db_path, self._cancel)
        # Bound methods of this GUI-thread object: the connections queue across threads.
        worker.progressed.connect(self._on_worker_progressed)
        worker.completed.connect(self._on_worker_completed)
        worker.failed.connect(self._on_worker_failed)
        self._runner = WorkerThread(worker, worker.run, (worker.completed, worker.failed), "scan")
        self._is_running = True
        self._runner.start()
        self.started.emit()

    def cancel(self) -> None:
        """Asks the running scan to stop; it completes soon with ``report.cancelled``."""
        if self._cancel is not None:
            self._cancel.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancels, then waits up to ``timeout_ms`` for the scan thread to end (closeEvent).

        No signal of the cancelled run is delivered afterwards.

        Returns:
            True if no scan thread is left running.
        """
        self.cancel()  # never wait() before cancelling: the scan would run to its end
        self._is_running = False  # results still on their way are dropped...
        stopped = self._reap(timeout_ms)
        if stopped:
            # ...and those already queued are removed, so none can pass for a later run's.
            QCoreApplication.removePostedEvents(self, QEvent.Type.MetaCall)
        return stopped

    def _reap(self, timeout_ms: int) -> bool:
        """Waits for the last thread to end, then drops it; keeps it if it would not end."""
        if self._runner is None:
            return True
        if not self._runner.stop(timeout_ms):
            log.warning("the scan did not stop within %d ms", timeout_ms)
            return False
        self._runner = None
        return True

    @Slot(object)
    def _on_worker_progressed(self, progress: ScanProgress) -> None:
        # Only one run at a time, and its progress is queued before its result: a progress
        # arriving while not running belongs to a run that shutdown() abandoned.
        if self._is_running:
            self.progressed.emit(progress)

    @Slot(object)
    def _on_worker_completed(self, report: ScanReport) -> None:
        if self._is_running:
            self._is_running = False
            self._cancel = None
            self.completed.emit(report)

    @Slot(str)
    def _on_worker_failed(self, message: str) -> None:
        if self._is_running:
            self._is_running = False
            self._cancel = None
            self.failed.emit(message)
