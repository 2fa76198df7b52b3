"""The scan: walk folders, hash what changed in worker processes, store, group, label. No Qt."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from dedup_gui.core.cancel import Cancelled, CancelToken, NeverCancelled, ProgressThrottle
from dedup_gui.core.grouping import group_by_distance
from dedup_gui.core.hash_stage import hash_changed
from dedup_gui.core.hashing import configured_plugins, segment_bytes
from dedup_gui.core.links import find_linked_elsewhere
from dedup_gui.core.match_check import check_matches
from dedup_gui.core.matching import Matched
from dedup_gui.core.model import (
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
from dedup_gui.core.pixels import label_same_pixels_fully
from dedup_gui.core.rescan import (
    forget_missing_if_any,
    plausible_saved_groups,
    reuse_saved_groups,
    same_walk,
    save_groups_for_reuse,
)
from dedup_gui.core.scanning import FolderNotes, WalkedFile, walk_image_files
from dedup_gui.core.sidecars import attach_sidecars
from dedup_gui.core.store import HashStore

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


# Files between cancel checks and progress reports while walking (and at each folder).
_WALK_CHECK_EVERY = 256

# Saved groups with fewer members than this share of the walked files are reused after a narrow
# load (file stats for all, full rows for the members): that load costs about half of a full
# one, and full rows by id about as much per file as the full load, so past half it loses.
_NARROW_BELOW = 0.5


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
        self.to_check = self.checked = 0
        self.current_folder: Path | None = None
        self.problems: list[Problem] = []
        self.records: list[ImageRecord] = []
        self._pending_records: list[ImageRecord] = []
        self._pending_problems: list[tuple[FileInfo, Problem]] = []
        self._last_flush = time.monotonic()
        self.walk_had_folder_problems = False
        self.hard_links: dict[Path, list[Path]] = {}  # first path -> its other names
        self.plugins = configured_plugins()  # read once: the workers get the same list
        self.notes = FolderNotes()

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
                to_check=self.to_check,
                checked=self.checked,
            ),
            force=force,
        )

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def add_checks(self, count: int) -> None:
        """match_check.CheckCounter: more fine-detail checks to make."""
        self.to_check += count
        self.report(force=True)

    def check_done(self) -> None:
        self.checked += 1
        self.report()

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
        walked = _walk(scan)
        groups = _with_sidecars(_reuse_or_group(scan, walked), scan.notes)
    except Cancelled:
        scan.flush()
        scan.stage = ScanStage.DONE
        scan.report(force=True)
        return ScanReport(
            groups=(), problems=tuple(scan.problems), stats=scan.stats(), cancelled=True
        )
    scan.stage = ScanStage.DONE
    scan.report(force=True)
    # Unpacked by name: star-unpacking (a list per file) cost ~50 ms per 100,000 files.
    linked = [
        FileInfo(Path(text), size, mtime_ns, links)
        for text, size, mtime_ns, links in walked
        if links > 1
    ]
    return ScanReport(
        groups=tuple(groups),
        problems=tuple(scan.problems),
        stats=scan.stats(),
        hard_links=tuple((first, tuple(others)) for first, others in scan.hard_links.items()),
        linked_elsewhere=find_linked_elsewhere(linked, scan.hard_links),
    )


def _walk(scan: _Scan) -> list[WalkedFile]:
    scan.enter_stage(ScanStage.WALKING)
    files: list[WalkedFile] = []

    def on_folder(folder: Path) -> None:
        scan.found = len(files)
        scan.current_folder = folder
        scan.cancel.check()
        scan.report()

    def on_problem(problem: Problem) -> None:
        scan.walk_had_folder_problems = True
        scan.add_problem(problem)

    def on_hard_link(first: Path, other: Path) -> None:
        scan.hard_links.setdefault(first, []).append(other)

    walk = walk_image_files(
        scan.request.roots,
        scan.request.walk,
        on_problem=on_problem,
        on_folder=on_folder,
        on_hard_link=on_hard_link,
        notes=scan.notes,
    )
    # In slices, not file by file: a huge folder is still checked every so many files, and
    # the loop costs little next to the walk itself.
    while chunk := list(itertools.islice(walk, _WALK_CHECK_EVERY)):
        files += chunk
        if len(chunk) == _WALK_CHECK_EVERY:
            on_folder(Path(os.path.dirname(chunk[-1][0])))
    scan.found = len(files)
    return files


def _reuse_or_group(scan: _Scan, walked: list[WalkedFile]) -> list[Group]:
    """The saved groups if they still hold (rescan.py), else hash what changed and group."""
    walk_problems = len(scan.problems)
    saved = plausible_saved_groups(scan)
    matched = None if saved is None else same_walk(scan, walked, saved[0])
    if matched is None:
        narrow = saved is not None and len(saved[1]) < _NARROW_BELOW * len(walked)
        matched = _match(scan, walked, walk_problems, narrow=narrow)
    groups = None if saved is None else reuse_saved_groups(scan, matched, *saved)
    if groups is not None:
        forget_missing_if_any(scan, walked, matched)
        return groups
    if matched.is_narrow:  # grouping again needs every record: load them all
        matched = _match(scan, walked, walk_problems, narrow=False)
    return _hash_and_group(scan, walked, matched)


def _match(scan: _Scan, walked: list[WalkedFile], walk_problems: int, *, narrow: bool) -> Matched:
    """The walk matched against the store; its counts (after the walk's own problems) in scan."""
    matched = Matched(scan.store, scan.request.hashing, walked, narrow=narrow)
    del scan.problems[walk_problems:]  # a second match replaces the first one's
    scan.problems.extend(matched.problems)
    scan.reused = len(matched.texts)
    return matched


def _hash_and_group(scan: _Scan, walked: list[WalkedFile], matched: Matched) -> list[Group]:
    """Hash what changed, group everything, and save the groups if they can be reused."""
    scan.records.extend(matched.records())
    hash_changed(scan, matched.to_hash)
    scan.enter_stage(ScanStage.GROUPING)
    groups = _group(scan, scan.records)
    scan.enter_stage(ScanStage.VERIFYING)
    # Before pairs: a group that loses its look-alike may be left as a RAW+JPEG pair only.
    # Before same pixels, which only looks at upright members: regrouped ones get labelled too.
    groups, is_checked = check_matches(
        groups,
        scan.request,
        regroup=lambda removed: _group(scan, removed),
        cache=scan.store,  # this scan thread's connection: checks run in this thread
        counter=scan,
        cancel=scan.cancel,
    )
    groups, is_complete = label_same_pixels_fully(
        groups, scan.store, scan.request, cancel=scan.cancel
    )
    is_complete = is_complete and is_checked
    groups = apply_pairs(
        groups,
        find_partners(scan.records),
        pairs_as_duplicates=scan.request.pairs_as_duplicates,
    )
    if not scan.walk_had_folder_problems:
        # A folder we could not list this time may still hold its photos: keep their rows.
        roots = [root for root in scan.request.roots if root.exists()]
        # Every walked file is a record, a file to hash or a remembered problem: their Paths
        # are made already.
        present = {record.path for record in scan.records}
        present.update(info.path for info in matched.to_hash)
        present.update(problem.path for problem in matched.problems)
        scan.store.forget_missing(roots, present)
    if is_complete:
        save_groups_for_reuse(scan, walked, matched, groups)
    return groups


def _group(scan: _Scan, records: list[ImageRecord]) -> list[Group]:
    return group_by_distance(
        records,
        scan.request.max_distance,
        segment_bytes=segment_bytes(scan.request.hashing),
        match_turned=scan.request.match_turned,
        match_crops=scan.request.match_crops,
        not_duplicates=scan.store.not_duplicates(),
        cancel=scan.cancel,
    )


def _with_sidecars(groups: list[Group], notes: FolderNotes) -> list[Group]:
    """Groups whose members carry their .xmp sidecars and the rating/label in them.

    A sidecar changes without its photo changing, so it is read fresh each scan, not stored:
    only for members in folders the walk saw an .xmp file in (or did not list: a root that is
    a file), with one more listing of each such folder.
    """
    if not notes.with_sidecars and not notes.loose:
        return groups
    maybe = notes.with_sidecars | notes.loose
    members = [
        member.record
        for group in groups
        for member in group.members
        if os.path.dirname(str(member.record.path)) in maybe
    ]
    if not members:
        return groups
    attached = {record.path: record for record in attach_sidecars(members)}
    return [
        Group(
            tuple(
                replace(m, record=attached[m.record.path]) if m.record.path in attached else m
                for m in group.members
            )
        )
        if any(m.record.path in attached for m in group.members)
        else group
        for group in groups
    ]
