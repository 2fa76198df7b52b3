"""Trashes, moves and restores files on a worker thread, reporting back through signals."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from dedup_gui.core.actions import (
    ActionReport,
    RestoreReport,
    TrashedFile,
    move_files,
    restore_files,
    trash_files,
)
from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.errors import DedupError
from dedup_gui.core.formatting import describe_error
from dedup_gui.core.journal import StoreJournal
from dedup_gui.core.model import ImageRecord
from dedup_gui.core.store import HashStore, open_store
from dedup_gui.ui.background import BackgroundJob

log = logging.getLogger(__name__)

# A job takes keyword-only progress, cancel and journal, as the functions of core.actions do.
Job = Callable[..., ActionReport | RestoreReport]


class ActionWorker(QObject):
    """Runs one file action; with a database, journals it there and forgets moved-away files."""

    progressed = Signal(int, int)  # files handled, total
    completed = Signal(object)  # ActionReport or RestoreReport
    failed = Signal(str)

    def __init__(self, job: Job, cancel: CancelToken, db_path: Path | None = None) -> None:
        super().__init__()  # no parent: it is moved to another thread
        self._job, self._cancel, self._db_path = job, cancel, db_path

    @Slot()
    def run(self) -> None:
        try:
            if self._db_path is None:
                report = self._run_job(None)
            else:
                # This thread's own connection. No journal, no move: if the database cannot
                # be opened, the action fails before touching a file.
                with open_store(self._db_path) as store:
                    report = self._run_job(store)
        except Exception as exc:  # thread boundary: nothing escapes
            log.exception("file action failed")
            self.failed.emit(describe_error(exc))
            return
        self.completed.emit(report)

    def _run_job(self, store: HashStore | None) -> ActionReport | RestoreReport:
        journal = StoreJournal(store) if store is not None else None
        report = self._job(progress=self.progressed.emit, cancel=self._cancel, journal=journal)
        if isinstance(report, ActionReport) and report.done and store is not None:
            _forget(store, [f.original for f in report.done])
        return report


def _forget(store: HashStore, paths: Sequence[Path]) -> None:
    """Drops moved-away files from the store."""
    # The files are already gone and journaled: a store that cannot be updated now only means
    # their rows linger until the next scan of their folder removes them.
    try:
        store.forget(paths)
    except (DedupError, OSError) as exc:
        log.warning("could not forget %d moved files in the database: %s", len(paths), exc)


class ActionController(QObject):
    """Owns the thread that trashes, moves or restores files; one action at a time.

    ``trashed`` carries the ActionReport of ``trash()`` and ``move()``; ``restored`` the
    RestoreReport of ``restore()``; ``failed`` a plain message if the action itself broke.
    Progress is throttled by core. Files move one by one, so ``cancel()`` stops between files.
    """

    started = Signal()
    progressed = Signal(int, int)  # files handled, total
    trashed = Signal(object)  # ActionReport
    restored = Signal(object)  # RestoreReport
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, *, db_path: Path | None = None) -> None:
        """``db_path``: if given, the worker journals each action in that store (see
        core.journal) and forgets the files moved away."""
        super().__init__(parent)
        self._db_path = db_path
        self._job = BackgroundJob(self, "files", "a file action is already running")

    @property
    def is_running(self) -> bool:
        return self._job.is_running

    def trash(self, records: Sequence[ImageRecord], protected_roots: Sequence[Path] = ()) -> None:
        """Sends ``records`` to the Trash (each only if unchanged since the scan)."""
        self._start(trash_files, tuple(records), protected_roots=tuple(protected_roots))

    def move(
        self,
        records: Sequence[ImageRecord],
        destination: Path,
        protected_roots: Sequence[Path] = (),
    ) -> None:
        """Moves ``records`` into ``destination``: for drives without a Trash."""

        def job(records: Sequence[ImageRecord], **kwargs: Any) -> ActionReport:
            return move_files(records, destination, **kwargs)

        self._start(job, tuple(records), protected_roots=tuple(protected_roots))

    def restore(self, files: Sequence[TrashedFile]) -> None:
        """Puts trashed or moved files back (undo)."""
        self._start(restore_files, tuple(files))

    def cancel(self) -> None:
        self._job.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancels (the file being moved finishes), then waits up to ``timeout_ms``.

        Returns:
            True if no action thread is left running.
        """
        return self._job.shutdown(timeout_ms)

    def _start(self, function: Job, items: tuple[Any, ...], **options: Any) -> None:
        def job(**kwargs: Any) -> ActionReport | RestoreReport:
            return function(items, **options, **kwargs)

        worker = ActionWorker(job, self._job.begin(), self._db_path)
        worker.progressed.connect(self._on_worker_progressed)
        worker.completed.connect(self._on_worker_completed)
        worker.failed.connect(self._on_worker_failed)
        self._job.launch(worker, worker.run, (worker.completed, worker.failed))
        self.started.emit()

    @Slot(int, int)
    def _on_worker_progressed(self, done: int, total: int) -> None:
        if self._job.is_current():
            self.progressed.emit(done, total)

    @Slot(object)
    def _on_worker_completed(self, report: ActionReport | RestoreReport) -> None:
        if not self._job.finish():
            return
        if isinstance(report, RestoreReport):
            self.restored.emit(report)
        else:
            self.trashed.emit(report)

    @Slot(str)
    def _on_worker_failed(self, message: str) -> None:
        if self._job.finish():
            self.failed.emit(message)
