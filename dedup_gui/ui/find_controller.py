"""Finds the library's copies of chosen photos on a worker thread ("Do I already have this?")."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from dedup_gui.core.cancel import Cancelled, CancelToken
from dedup_gui.core.formatting import describe_error, display_name, human_count
from dedup_gui.core.model import Group, Problem, ScanReport, ScanRequest, ScanStats
from dedup_gui.core.query import LibraryIndex, find_copies, hash_photos
from dedup_gui.core.store import open_store
from dedup_gui.ui.background import BackgroundJob

log = logging.getLogger(__name__)

_NAMES_SHOWN = 3  # new photos named in the status text; the rest are counted


@dataclass(frozen=True, slots=True)
class FindResult:
    """The answer for the photos asked about: one group per photo, the photo as reference."""

    groups: tuple[Group, ...]
    problems: tuple[Problem, ...]
    how: str  # "dropped" or "chose": how the user gave the photos, for the summary
    library_size: int = 0  # photos in the library's index
    elapsed_s: float = 0.0

    @property
    def found(self) -> tuple[Group, ...]:
        """The groups of photos that have copies in the library."""
        return tuple(g for g in self.groups if len(g.members) > 1)

    @property
    def new(self) -> tuple[Path, ...]:
        """The photos with no copy in the library."""
        return tuple(g.reference.record.path for g in self.groups if len(g.members) == 1)

    def summary(self) -> str:
        """E.g. "Copies of 3 photos you dropped: 2 found, 1 new (beach.jpg)."."""
        new = self.new
        text = (
            f"Copies of {human_count(len(self.groups), 'photo')} you {self.how}: "
            f"{len(self.found)} found, {len(new)} new"
        )
        if new:
            names = ", ".join(display_name(p) for p in new[:_NAMES_SHOWN])
            more = f" and {len(new) - _NAMES_SHOWN} more" if len(new) > _NAMES_SHOWN else ""
            text += f" ({names}{more})"
        if self.problems:
            text += f"; {human_count(len(self.problems), 'file')} could not be read"
        if not self.library_size:
            text += "; nothing is scanned yet: scan your photo folders first"
        return text + "."

    def as_report(self) -> ScanReport:
        """The found groups as a report, so the window shows, exports and lists problems as
        it does for a scan."""
        stats = ScanStats(
            found=len(self.groups) + len(self.problems),
            hashed=len(self.groups),
            decoded=len(self.groups),
            problems=len(self.problems),
            elapsed_s=self.elapsed_s,
        )
        return ScanReport(self.found, self.problems, stats)


class FindWorker(QObject):
    """One query, run by ``run()``: hash the photos, load the index if needed, look them up."""

    index_loaded = Signal(object)  # LibraryIndex, to keep for the next query
    completed = Signal(object)  # FindResult
    failed = Signal(str)

    def __init__(
        self,
        paths: Sequence[Path],
        request: ScanRequest,
        db_path: Path,
        index: LibraryIndex | None,
        how: str,
        cancel: CancelToken,
    ) -> None:
        super().__init__()  # no parent: it is moved to another thread
        self._paths, self._request, self._db_path = tuple(paths), request, db_path
        self._index, self._how, self._cancel = index, how, cancel

    @Slot()
    def run(self) -> None:
        started = time.monotonic()
        request = self._request
        try:
            records, problems = hash_photos(
                self._paths, request.hashing, workers=request.workers, cancel=self._cancel
            )
            with open_store(self._db_path) as store:  # this thread's own connection
                index = self._index
                if index is None or index.settings != request.hashing:
                    index = LibraryIndex.load(store, request.hashing)
                    self.index_loaded.emit(index)
                groups = find_copies(
                    index,
                    records,
                    store,
                    request.max_distance,
                    workers=request.workers,
                    match_turned=request.match_turned,
                    match_crops=request.match_crops,
                    cancel=self._cancel,
                )
        except Cancelled:  # only on shutdown, whose controller drops this signal
            self.failed.emit("Stopped.")
            return
        except Exception as exc:  # thread boundary: nothing escapes
            log.exception("finding copies failed")
            self.failed.emit(describe_error(exc))
            return
        elapsed = time.monotonic() - started
        result = FindResult(tuple(groups), tuple(problems), self._how, len(index), elapsed)
        self.completed.emit(result)


class FindController(QObject):
    """Owns the query thread and the loaded library index (until ``invalidate()``).

    Exactly one of ``completed`` or ``failed`` follows each ``started``; ``is_running`` is
    already False when it arrives.
    """

    started = Signal()
    completed = Signal(object)  # FindResult
    failed = Signal(str)

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db_path = db_path
        self._index: LibraryIndex | None = None
        self._library_version = 0  # bumped by invalidate(): an index loaded before is stale
        self._run_version = 0
        self._job = BackgroundJob(self, "find", "a query is already running")

    @property
    def is_running(self) -> bool:
        return self._job.is_running

    @property
    def has_index(self) -> bool:
        return self._index is not None

    def start(self, paths: Sequence[Path], request: ScanRequest, *, how: str = "chose") -> None:
        """Looks up ``paths`` with ``request``'s hash settings, threshold and workers.

        Raises:
            RuntimeError: a query is already running.
        """
        cancel = self._job.begin()
        self._run_version = self._library_version
        worker = FindWorker(paths, request, self._db_path, self._index, how, cancel)
        worker.index_loaded.connect(self._on_worker_index_loaded)
        worker.completed.connect(self._on_worker_completed)
        worker.failed.connect(self._on_worker_failed)
        self._job.launch(worker, worker.run, (worker.completed, worker.failed))
        self.started.emit()

    def invalidate(self) -> None:
        """The library changed (a scan, files moved): load it again for the next query."""
        self._index = None
        self._library_version += 1

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancels, then waits up to ``timeout_ms`` for the thread; no signal follows."""
        return self._job.shutdown(timeout_ms)

    @Slot(object)
    def _on_worker_index_loaded(self, index: LibraryIndex) -> None:
        if self._job.is_current() and self._run_version == self._library_version:
            self._index = index

    @Slot(object)
    def _on_worker_completed(self, result: FindResult) -> None:
        if self._job.finish():
            self.completed.emit(result)

    @Slot(str)
    def _on_worker_failed(self, message: str) -> None:
        if self._job.finish():
            self.failed.emit(message)
