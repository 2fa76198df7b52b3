"""The scan: walk folders, hash what changed in worker processes, store, group, label. No Qt."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from dedup_gui.core.cancel import Cancelled, CancelToken, NeverCancelled, ProgressThrottle
from dedup_gui.core.gc_pause import gc_paused
from dedup_gui.core.grouping import group_by_distance
from dedup_gui.core.hashing import (
    HashResult,
    HashTask,
    configured_plugins,
    hash_file,
    init_worker,
    segment_bytes,
)
from dedup_gui.core.links import find_linked_elsewhere
from dedup_gui.core.model import (
    NO_FACTS,
    FileInfo,
    Group,
    ImageRecord,
    Problem,
    ProblemKind,
    ScanProgress,
    ScanReport,
    ScanRequest,
    ScanStage,
    ScanStats,
)
from dedup_gui.core.pairs import apply_pairs, find_partners
from dedup_gui.core.pixels import label_same_pixels
from dedup_gui.core.scanning import iter_image_files
from dedup_gui.core.sidecars import attach_sidecars
from dedup_gui.core.store import HashStore
from dedup_gui.core.workers import TaskFailed, WorkerPool, default_worker_count

log = logging.getLogger(__name__)

_BATCH_RECORDS = (
    500  # rows per write transaction: big enough to be cheap, small enough to lose little
)
_BATCH_SECONDS = (
    2.0  # ...and never hold more than this long, so a kill -9 loses at most ~2 s of work
)

# Problems worth remembering for an unchanged file, so a rescan does not decode (or wait on) it
# again. Not remembered: permission and vanished (fixable without touching the file) and
# unsupported formats (fixed by installing a plugin).
_REMEMBERED_PROBLEMS = frozenset(
    {
        ProblemKind.EMPTY,
        ProblemKind.NOT_AN_IMAGE,
        ProblemKind.CORRUPT,
        ProblemKind.TOO_LARGE,
        ProblemKind.CRASHED,
        ProblemKind.TIMED_OUT,
    }
)


def _ignore(_: ScanProgress) -> None:
    pass


class _Scan:
    """The state of one run: counters, pending writes and the progress feed."""

    def __init__(
        self,
        request: ScanRequest,
        store: HashStore,
        progress: Callable[[ScanProgress], None],
        cancel: CancelToken,
        progress_interval_s: float,
    ) -> None:
        self.request = request
        self.store = store
        self.cancel = cancel
        self._throttle: ProgressThrottle[ScanProgress] = ProgressThrottle(
            progress, progress_interval_s
        )
        self._started = time.monotonic()
        self.stage = ScanStage.WALKING
        self.found = self.to_hash = self.hashed = self.decoded = self.reused = 0
        self.bytes_hashed = 0
        self.current_folder: Path | None = None
        self.problems: list[Problem] = []
        self.records: list[ImageRecord] = []
        self._pending_records: list[ImageRecord] = []
        self._pending_problems: list[tuple[FileInfo, Problem]] = []
        self._last_flush = time.monotonic()
        self.walk_had_folder_problems = False
        self.hard_links: dict[Path, list[Path]] = {}  # first path -> its other names
        self.plugins = configured_plugins()  # read once: the workers get the same list

    # -- progress -------------------------------------------------------------------------
    def report(self, *, force: bool = False) -> None:
        if not force and not self._throttle.is_due():
            return  # called per file: don't build a snapshot the throttle would drop
        self._throttle(
            ScanProgress(
                stage=self.stage,
                found=self.found,
                to_hash=self.to_hash,
                hashed=self.hashed,
                reused=self.reused,
                problems=len(self.problems),
                bytes_hashed=self.bytes_hashed,
                current_folder=self.current_folder,
                elapsed_s=self.elapsed_s,
            ),
            force=force,
        )

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def enter_stage(self, stage: ScanStage) -> None:
        self.cancel.check()
        self.stage = stage
        self.report(force=True)

    # -- results --------------------------------------------------------------------------
    def add_problem(self, problem: Problem, info: FileInfo | None = None) -> None:
        self.problems.append(problem)
        if info is not None and problem.kind in _REMEMBERED_PROBLEMS:
            self._pending_problems.append((info, problem))

    def add_hashed(self, record: ImageRecord, *, decoded: bool) -> None:
        self.records.append(record)
        self._pending_records.append(record)
        self.hashed += 1
        self.decoded += decoded
        self.bytes_hashed += record.size
        self.current_folder = record.path.parent

    def flush_if_due(self) -> None:
        pending = len(self._pending_records) + len(self._pending_problems)
        if pending >= _BATCH_RECORDS or (
            pending and time.monotonic() - self._last_flush >= _BATCH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        if self._pending_records:
            self.store.put_records(self._pending_records, self.request.hashing)
            self._pending_records = []
        if self._pending_problems:
            self.store.put_problems(self._pending_problems)
            self._pending_problems = []
        self._last_flush = time.monotonic()

    def stats(self) -> ScanStats:
        return ScanStats(
            found=self.found,
            hashed=self.hashed,
            decoded=self.decoded,
            reused=self.reused,
            problems=len(self.problems),
            bytes_hashed=self.bytes_hashed,
            elapsed_s=self.elapsed_s,
        )


def run_scan(
    request: ScanRequest,
    store: HashStore,
    *,
    progress: Callable[[ScanProgress], None] = _ignore,
    cancel: CancelToken | None = None,
    progress_interval_s: float = 0.1,
) -> ScanReport:
    """Scan ``request.roots`` into ``store`` and group what looks the same.

    Unchanged files (same path, size and mtime) are not read at all; moved or renamed files are
    read but not decoded. Bad files become problems and the scan goes on. Progress is reported
    at most once per ``progress_interval_s`` (plus each stage change). On cancel, everything
    hashed so far is kept in the store and the report says ``cancelled``.
    """
    scan = _Scan(request, store, progress, cancel or NeverCancelled(), progress_interval_s)
    try:
        files = _walk(scan)
        _hash_changed(scan, files)
        scan.enter_stage(ScanStage.GROUPING)
        groups = _group(scan)
        scan.enter_stage(ScanStage.VERIFYING)
        groups = label_same_pixels(groups, scan.store, scan.request, cancel=scan.cancel)
        groups = apply_pairs(
            _with_sidecars(groups),
            find_partners(scan.records),
            pairs_as_duplicates=request.pairs_as_duplicates,
        )
        if not scan.walk_had_folder_problems:
            # A folder we could not list this time may still hold its photos: keep their rows.
            roots = [root for root in request.roots if root.exists()]
            store.forget_missing(roots, {info.path for info in files})
    except Cancelled:
        scan.flush()
        scan.stage = ScanStage.DONE
        scan.report(force=True)
        return ScanReport(
            groups=(), problems=tuple(scan.problems), stats=scan.stats(), cancelled=True
        )
    scan.stage = ScanStage.DONE
    scan.report(force=True)
    return ScanReport(
        groups=tuple(groups),
        problems=tuple(scan.problems),
        stats=scan.stats(),
        hard_links=tuple((first, tuple(others)) for first, others in scan.hard_links.items()),
        linked_elsewhere=find_linked_elsewhere(files, scan.hard_links),
    )


def _walk(scan: _Scan) -> list[FileInfo]:
    scan.enter_stage(ScanStage.WALKING)

    def on_folder(folder: Path) -> None:
        scan.current_folder = folder
        scan.report()

    def on_problem(problem: Problem) -> None:
        scan.walk_had_folder_problems = True
        scan.add_problem(problem)

    def on_hard_link(first: Path, other: Path) -> None:
        scan.hard_links.setdefault(first, []).append(other)

    files: list[FileInfo] = []
    for info in iter_image_files(
        scan.request.roots,
        scan.request.walk,
        on_problem=on_problem,
        on_folder=on_folder,
        on_hard_link=on_hard_link,
    ):
        scan.cancel.check()
        files.append(info)
        scan.found += 1
        scan.report()
    return files


def _hash_changed(scan: _Scan, files: Sequence[FileInfo]) -> None:
    """Reuse stored hashes of unchanged files; hash the rest in worker processes."""
    to_hash = _reuse_unchanged(scan, files)
    scan.to_hash = len(to_hash)
    scan.enter_stage(ScanStage.HASHING)
    if not to_hash:
        return
    try:
        undecoded = _hash_in_pool(scan, to_hash, scan.store.known_contents(scan.request.hashing))
        if undecoded:
            # The store lost a content's facts between our two reads (another instance pruned
            # it): decode those few files after all.
            _hash_in_pool(scan, undecoded, frozenset())
    finally:
        scan.flush()


def _reuse_unchanged(scan: _Scan, files: Sequence[FileInfo]) -> list[FileInfo]:
    """Take the stored record or remembered problem of each unchanged file; return the rest."""
    stored = scan.store.load_records(scan.request.hashing)
    known_problems = scan.store.load_problems()
    reused: list[ImageRecord] = []
    to_hash: list[FileInfo] = []
    with gc_paused():
        for info in files:
            record = stored.get(info.path)
            if record is not None and record.size == info.size and record.mtime_ns == info.mtime_ns:
                reused.append(record)
                continue
            remembered = known_problems.get(info.path)
            if remembered is not None and remembered[:2] == (info.size, info.mtime_ns):
                scan.problems.append(remembered[2])
                continue
            to_hash.append(info)
    scan.records.extend(reused)
    scan.reused += len(reused)
    return to_hash


def _hash_in_pool(
    scan: _Scan, infos: Sequence[FileInfo], known_contents: frozenset[bytes]
) -> list[FileInfo]:
    """Hash ``infos`` in worker processes; returns those whose known content was not found."""
    settings = scan.request.hashing
    workers = min(scan.request.workers or default_worker_count(), len(infos))
    undecoded: list[FileInfo] = []
    with WorkerPool(
        hash_file,
        workers=workers,
        timeout_s=scan.request.per_file_timeout_s,
        initializer=init_worker,
        initargs=(known_contents, scan.plugins),
    ) as pool:
        tasks: Iterator[HashTask] = (HashTask(info, settings) for info in infos)
        for task, outcome in pool.imap_unordered(tasks, cancel=scan.cancel):
            info = task.info
            if isinstance(outcome, TaskFailed):
                scan.add_problem(Problem(info.path, outcome.kind, outcome.detail), info)
            else:
                record = _record_from(scan, info, outcome)
                if record is None:
                    undecoded.append(info)
                else:
                    scan.add_hashed(record, decoded=outcome.perceptual_hash is not None)
            scan.flush_if_due()
            scan.report()
    return undecoded


def _record_from(scan: _Scan, info: FileInfo, result: HashResult) -> ImageRecord | None:
    if result.perceptual_hash is None:
        facts = scan.store.lookup_content(result.content_hash, scan.request.hashing)
        if facts is None:
            return None
        width, height, fmt = facts.width, facts.height, facts.format
        date_taken, perceptual = facts.date_taken, facts.perceptual_hash
        photo_facts, turned = facts.facts, facts.turned
    else:
        assert result.width is not None and result.height is not None
        width, height, fmt = result.width, result.height, result.format or "?"
        date_taken, perceptual = result.date_taken, result.perceptual_hash
        photo_facts, turned = result.facts or NO_FACTS, result.turned or b""
    return ImageRecord(
        path=info.path,
        size=info.size,
        mtime_ns=info.mtime_ns,
        content_hash=result.content_hash,
        perceptual_hash=perceptual,
        width=width,
        height=height,
        format=fmt,
        date_taken=date_taken,
        facts=photo_facts,
        turned=turned,
    )


def _group(scan: _Scan) -> list[Group]:
    return group_by_distance(
        scan.records,
        scan.request.max_distance,
        segment_bytes=segment_bytes(scan.request.hashing),
        match_turned=scan.request.match_turned,
        not_duplicates=scan.store.not_duplicates(),
        cancel=scan.cancel,
    )


def _with_sidecars(groups: Sequence[Group]) -> list[Group]:
    """Groups whose members carry their .xmp sidecars and the rating/label in them.

    Only group members: a sidecar changes without its photo changing, so it is read fresh each
    scan (one folder listing per folder), not stored.
    """
    members = [member.record for group in groups for member in group.members]
    attached = {record.path: record for record in attach_sidecars(members)}
    return [
        Group(tuple(replace(m, record=attached[m.record.path]) for m in group.members))
        for group in groups
    ]
