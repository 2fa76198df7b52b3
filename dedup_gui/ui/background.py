"""One background job at a time on a worker thread: the lifecycle the controllers share."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, SignalInstance

from dedup_gui.core.cancel import CancelToken

log = logging.getLogger(__name__)

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


class BackgroundJob:
    """The running state of a controller's one job: its cancel token, thread and results gate.

    A controller calls ``begin()`` (new token), connects its worker's signals, ``launch()``es
    it, and lets a result through only if ``finish()`` says the run is still the current one:
    after ``shutdown()`` nothing of the abandoned run is delivered.
    """

    def __init__(self, owner: QObject, name: str, busy_message: str) -> None:
        self._owner = owner
        self._name = name
        self._busy_message = busy_message
        self._cancel: CancelToken | None = None
        self._is_running = False
        # The last run's thread, kept until the next begin() or shutdown() has waited for it.
        self._runner: WorkerThread | None = None

    @property
    def is_running(self) -> bool:
        return self._is_running

    @property
    def thread(self) -> QThread | None:
        """The current (or last, not yet reaped) thread; for tests and diagnostics."""
        return self._runner.thread if self._runner is not None else None

    def begin(self) -> CancelToken:
        """A fresh cancel token for a new run.

        Raises:
            RuntimeError: a run is still going (the UI disables starting another meanwhile).
        """
        if self._is_running:
            raise RuntimeError(self._busy_message)
        self._reap(timeout_ms=-1)  # the last run has returned from run(): this is immediate
        self._cancel = CancelToken()
        return self._cancel

    def launch(
        self, worker: QObject, run: Callable[[], None], end_signals: Sequence[SignalInstance]
    ) -> None:
        self._runner = WorkerThread(worker, run, end_signals, self._name)
        self._is_running = True
        self._runner.start()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()

    def is_current(self) -> bool:
        """Whether a progress signal arriving now belongs to the run in progress."""
        return self._is_running

    def finish(self) -> bool:
        """Marks the run ended; True if its result is to be delivered (it was not abandoned)."""
        if not self._is_running:
            return False
        self._is_running = False
        self._cancel = None
        return True

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancels, then waits up to ``timeout_ms`` for the thread; nothing is delivered after.

        Returns:
            True if no thread of this job is left running.
        """
        self.cancel()  # never wait() before cancelling: the job would run to its end
        self._is_running = False  # results still on their way are dropped...
        stopped = self._reap(timeout_ms)
        if stopped:
            # ...and those already queued are removed, so none can pass for a later run's.
            QCoreApplication.removePostedEvents(self._owner, QEvent.Type.MetaCall)
        return stopped

    def _reap(self, timeout_ms: int) -> bool:
        """Waits for the last thread to end, then drops it; keeps it if it would not end."""
        if self._runner is None:
            return True
        if not self._runner.stop(timeout_ms):
            log.warning("the %s thread did not stop within %d ms", self._name, timeout_ms)
            return False
        self._runner = None
        return True
