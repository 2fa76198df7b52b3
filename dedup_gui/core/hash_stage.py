"""The scan's hashing stage: new and changed files hashed in worker processes. No Qt."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.hashing import HashResult, HashTask, decoded_record, hash_file, init_worker
from dedup_gui.core.model import (
    FileInfo,
    ImageRecord,
    Problem,
    ScanRequest,
    ScanStage,
)
from dedup_gui.core.store import HashStore
from dedup_gui.core.workers import TaskFailed, WorkerPool, default_worker_count


class ScanState(Protocol):
    """What this module reads and sets of the running scan (``pipeline._Scan``)."""

    request: ScanRequest
    store: HashStore
    cancel: CancelToken
    plugins: tuple[str, ...]
    to_hash: int

    def enter_stage(self, stage: ScanStage) -> None: ...

    def add_problem(self, problem: Problem, info: FileInfo | None = None) -> None: ...

    def add_hashed(self, record: ImageRecord, *, decoded: bool) -> None: ...

    def flush_if_due(self) -> None: ...

    def flush(self) -> None: ...

    def report(self, *, force: bool = False) -> None: ...


def hash_changed(scan: ScanState, to_hash: Sequence[FileInfo]) -> None:
    """Hash new and changed files in worker processes."""
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


def _hash_in_pool(
    scan: ScanState, infos: Sequence[FileInfo], known_contents: frozenset[bytes]
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


def _record_from(scan: ScanState, info: FileInfo, result: HashResult) -> ImageRecord | None:
    if result.perceptual_hash is not None:
        return decoded_record(info, result)
    facts = scan.store.lookup_content(result.content_hash, scan.request.hashing)
    if facts is None:
        return None
    return ImageRecord(
        path=info.path,
        size=info.size,
        mtime_ns=info.mtime_ns,
        content_hash=result.content_hash,
        perceptual_hash=facts.perceptual_hash,
        width=facts.width,
        height=facts.height,
        format=facts.format,
        date_taken=facts.date_taken,
        facts=facts.facts,
        turned=facts.turned,
        ladder=facts.ladder,
    )
