"""Finds the library's copies of given photos, which are hashed but not added to it. No Qt.

The scanned library is an index: ``LibraryIndex.load`` reads it once, and ``find`` answers with
the same candidate search (``hamming.HashIndex``) and labels (``grouping.make_group``,
``pixels.label_same_pixels``) as a scan's groups.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dedup_gui.core.cancel import CancelToken, NeverCancelled, ProgressThrottle
from dedup_gui.core.grouping import make_group
from dedup_gui.core.hamming import HashIndex
from dedup_gui.core.hashing import (
    HashTask,
    configured_plugins,
    decoded_record,
    hash_bytes,
    hash_file,
    init_worker,
    segment_bytes,
)
from dedup_gui.core.ladder_search import LADDER_MAX_DISTANCE, LadderIndex
from dedup_gui.core.match_check import check_answers
from dedup_gui.core.model import (
    FileInfo,
    Group,
    HashSettings,
    ImageRecord,
    Problem,
    ProblemKind,
    ScanRequest,
    Turn,
    WalkOptions,
)
from dedup_gui.core.pixels import label_same_pixels
from dedup_gui.core.scanning import iter_image_files
from dedup_gui.core.store import HashStore
from dedup_gui.core.turning import between, entries
from dedup_gui.core.workers import TaskFailed, WorkerPool, default_worker_count

log = logging.getLogger(__name__)

Owners = npt.NDArray[np.int64]


def _ignore(done: int, total: int) -> None:
    """The null progress callback."""


def _hash_rows(
    hashes: Sequence[bytes], width: int, is_segmented: bool
) -> tuple[npt.NDArray[np.uint8], Owners]:
    """Hashes as rows of ``width`` bytes, and the record each row belongs to.

    A multi-hash (crop-resistant) gives one row per segment. A record without a hash of the
    right length gets no row: only its exact copies can be found.
    """
    if not is_segmented and all(len(full) == width for full in hashes):  # the usual case
        array = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(len(hashes), width)
        return array, np.arange(len(hashes), dtype=np.int64)
    rows: list[bytes] = []
    owners: list[int] = []
    for owner, full in enumerate(hashes):
        if not full or len(full) % width or (len(full) != width and not is_segmented):
            continue
        for at in range(0, len(full), width):
            rows.append(full[at : at + width])
            owners.append(owner)
    array = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), width)
    return array, np.array(owners, dtype=np.int64)


def _turned_rows(
    records: Sequence[ImageRecord], width: int
) -> tuple[npt.NDArray[np.uint8], Owners, Owners]:
    """Each record's turned entries as rows of ``width`` bytes, with owner and Turn per row."""
    rows: list[bytes] = []
    owners: list[int] = []
    turns: list[int] = []
    for owner, record in enumerate(records):
        if not record.turned or len(record.turned) % (width + 1):
            continue
        for turn, digest in entries(record.turned, width):
            rows.append(digest)
            owners.append(owner)
            turns.append(int(turn))
    array = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), width)
    return array, np.array(owners, dtype=np.int64), np.array(turns, dtype=np.int64)


def _is_under(path: Path, roots: Sequence[Path]) -> bool:
    return any(root == path or root in path.parents for root in roots)


class LibraryIndex:
    """The scanned library for one hash setting, loaded once, asked many times.

    Not tied to a store connection, so it may be loaded on one thread and asked on another
    (one thread at a time).
    """

    def __init__(self, records: Iterable[ImageRecord], settings: HashSettings) -> None:
        self.settings = settings
        self.records: tuple[ImageRecord, ...] = tuple(records)
        self._width = hash_bytes(settings)
        self._is_segmented = segment_bytes(settings) is not None
        # content -> first record with it; ``_more_copies`` holds the rest of those that repeat.
        self._by_content: dict[bytes, int] = {}
        self._more_copies: dict[bytes, list[int]] = {}
        for k, record in enumerate(self.records):
            if self._by_content.setdefault(record.content_hash, k) != k:
                self._more_copies.setdefault(record.content_hash, []).append(k)
        rows, self._owner = _hash_rows(
            [r.perceptual_hash for r in self.records], self._width, self._is_segmented
        )
        self._hashes = HashIndex(rows)
        # Canonical-orientation entries (core/turning.py), for copies rotated or mirrored.
        turned, self._turned_owner, self._turned_turn = _turned_rows(self.records, self._width)
        self._turned = HashIndex(turned)
        # Crop ladders (core/ladder_search.py), for cropped, watermarked and captioned copies.
        # Even with no ladder in the library, a query's windows can match its upright hashes.
        self._ladder: LadderIndex | None = None
        self._has_ladders = any(r.ladder for r in self.records)
        if not self._is_segmented:
            ladders = [r.ladder for r in self.records]
            self._ladder = LadderIndex(ladders, self._width, self._hashes, self._owner)

    @classmethod
    def load(cls, store: HashStore, settings: HashSettings) -> LibraryIndex:
        """Everything the store holds for ``settings``, in one query."""
        return cls(store.load_records(settings).values(), settings)

    def __len__(self) -> int:
        return len(self.records)

    def find(
        self,
        records: Sequence[ImageRecord],
        max_distance: int,
        *,
        not_duplicates: AbstractSet[frozenset[bytes]] = frozenset(),
        excluded_roots: Sequence[Path] = (),
        match_turned: bool = True,
        match_crops: bool = True,
        cancel: CancelToken = NeverCancelled(),  # noqa: B008 - immutable null object
    ) -> list[Group]:
        """One group per query photo, in order: the photo as reference, its library copies after.

        Copies are labelled as a scan labels them: EXACT for the same content, NEAR with the
        distance otherwise (``find_copies`` also tells SAME_PIXELS apart). A group with only its
        reference means the photo is new. The query photos themselves are never answers, so a
        photo inside the library finds its other copies.

        Args:
            records: the hashed query photos (``hash_photos``), with this index's settings.
            max_distance: the largest Hamming distance (in bits) that counts as near.
            not_duplicates: pairs of content hashes the user said are different images.
            excluded_roots: library files under these folders are not answers either.
            match_turned: also find copies rotated by quarter turns or mirrored.
            match_crops: also find cropped, watermarked and captioned copies through the
                crop ladders, as a scan does; such a copy is flagged ``cropped``.
            cancel: checked between blocks of work.
        """
        near = self._near(records, max_distance, cancel)
        turns: dict[Path, Turn] = {}
        if match_turned:
            self._add_turned(records, max_distance, near, turns, cancel)
        cropped: list[set[Path]] = [set() for _ in records]
        if match_crops:
            self._add_cropped(records, max_distance, near, cropped, cancel)
        skipped = {r.path for r in records}

        def is_answer(query: ImageRecord, k: int) -> bool:
            found = self.records[k]
            return (
                found.path not in skipped
                and not _is_under(found.path, excluded_roots)
                and frozenset((query.content_hash, found.content_hash)) not in not_duplicates
            )

        groups = []
        for query, distances, flagged in zip(records, near, cropped, strict=True):
            same = self._same_content(query.content_hash)
            exact = [self.records[k] for k in same if is_answer(query, k)]
            others = [
                (d, self.records[k])
                for k, d in distances.items()
                if self.records[k].content_hash != query.content_hash and is_answer(query, k)
            ]
            turned = {r.path: turns[r.path] for _, r in others if r.path in turns}
            groups.append(make_group(query, exact, others, turns=turned, cropped=flagged))
        return groups

    def _add_turned(
        self,
        records: Sequence[ImageRecord],
        max_distance: int,
        near: list[dict[int, int]],
        turns: dict[Path, Turn],
        cancel: CancelToken,
    ) -> None:
        """Adds to ``near`` the library records that match a query once turned; records their
        turn relative to the query in ``turns`` (only where turned is strictly nearer)."""
        rows, owner, turn = _turned_rows(records, self._width)
        if not len(rows) or not len(self._turned):
            return
        query_row, index_row, dist = self._turned.pairs_with(rows, max_distance, cancel=cancel)
        for qr, ir, d in zip(query_row.tolist(), index_row.tolist(), dist.tolist(), strict=True):
            q, k = int(owner[qr]), int(self._turned_owner[ir])
            if d < near[q].get(k, d + 1):
                near[q][k] = d
                # The query turned by its entry's turn looks like the library photo turned by
                # its own: so the library photo is the query turned by `between` of the two.
                turns[self.records[k].path] = between(
                    Turn(int(turn[qr])), Turn(int(self._turned_turn[ir]))
                )

    def _add_cropped(
        self,
        records: Sequence[ImageRecord],
        max_distance: int,
        near: list[dict[int, int]],
        cropped: list[set[Path]],
        cancel: CancelToken,
    ) -> None:
        """Adds to ``near`` the library records that match a query only through the crop
        ladders (either's windows near the other's), flagging them in ``cropped``."""
        if self._ladder is None or not (self._has_ladders or any(r.ladder for r in records)):
            return
        uprights = [
            r.perceptual_hash if len(r.perceptual_hash) == self._width else b"" for r in records
        ]
        ladders = [r.ladder for r in records]
        radius = min(max_distance, LADDER_MAX_DISTANCE)
        pairs = self._ladder.pairs_with(uprights, ladders, radius, cancel)
        for q, k, d in zip(*(a.tolist() for a in pairs), strict=True):
            if k not in near[q]:  # near without the ladder wins: no fine check needed
                near[q][k] = d
                cropped[q].add(self.records[k].path)

    def _same_content(self, content_hash: bytes) -> list[int]:
        first = self._by_content.get(content_hash)
        return [] if first is None else [first, *self._more_copies.get(content_hash, ())]

    def _near(
        self, records: Sequence[ImageRecord], max_distance: int, cancel: CancelToken
    ) -> list[dict[int, int]]:
        """For each query, library records within ``max_distance`` -> their smallest distance."""
        near: list[dict[int, int]] = [{} for _ in records]
        rows, owner = _hash_rows(
            [r.perceptual_hash for r in records], self._width, self._is_segmented
        )
        if not len(rows):
            return near
        query_row, index_row, dist = self._hashes.pairs_with(rows, max_distance, cancel=cancel)
        # Segments: a pair of records is as near as its nearest pair of segments.
        queries, found = owner[query_row].tolist(), self._owner[index_row].tolist()
        for q, k, d in zip(queries, found, dist.tolist(), strict=True):
            if d < near[q].get(k, d + 1):
                near[q][k] = d
        return near


def find_copies(
    index: LibraryIndex,
    records: Sequence[ImageRecord],
    store: HashStore,
    max_distance: int,
    *,
    excluded_roots: Sequence[Path] = (),
    workers: int | None = None,
    match_turned: bool = True,
    match_crops: bool = True,
    cancel: CancelToken | None = None,
) -> list[Group]:
    """``index.find`` with the user's "not duplicates" and SAME_PIXELS labels from ``store``.

    Pixel digests (of the query photos too) are cached in the store by content hash, as a
    scan caches them; no file record is written.
    """
    cancel = cancel or NeverCancelled()
    groups = index.find(
        records,
        max_distance,
        not_duplicates=store.not_duplicates(),
        excluded_roots=excluded_roots,
        match_turned=match_turned,
        match_crops=match_crops,
        cancel=cancel,
    )
    # The threshold decides, as in a scan, whether near answers are checked too.
    request = ScanRequest(
        roots=(), hashing=index.settings, max_distance=max_distance, workers=workers
    )
    # As a scan does: a turned or cropped match must also match in fine detail.
    groups = check_answers(groups, request, cache=store, cancel=cancel)
    return label_same_pixels(groups, store, request, cancel=cancel)


def hash_photos(
    paths: Sequence[Path],
    settings: HashSettings,
    *,
    workers: int | None = None,
    per_file_timeout_s: float = 60.0,
    walk: WalkOptions = WalkOptions(),  # noqa: B008 - frozen
    progress: Callable[[int, int], None] = _ignore,
    cancel: CancelToken | None = None,
) -> tuple[list[ImageRecord], list[Problem]]:
    """Hashes photos (files, or the photos in folders) in worker processes; stores nothing.

    Args:
        paths: photo files and folders; folders are walked as a scan walks them.
        settings: the library's hash settings.
        workers: decoding processes; None means one per core.
        per_file_timeout_s: a decoder that hangs longer costs that one file.
        walk: which files of the folders to take.
        progress: called with (photos hashed, photos found), throttled.
        cancel: checked per file.

    Returns:
        The records in walk order (absolute paths), and the files that could not be used.

    Raises:
        Cancelled: when ``cancel`` was set.
    """
    cancel = cancel or NeverCancelled()
    problems: list[Problem] = []
    roots = [Path(os.path.abspath(p)) for p in paths]
    infos = list(iter_image_files(roots, walk, on_problem=problems.append))
    cancel.check()
    problems += _not_photos(roots, infos, problems)
    if not infos:
        return [], problems
    throttle: ProgressThrottle[tuple[int, int]] = ProgressThrottle(lambda p: progress(*p))
    by_path: dict[Path, ImageRecord] = {}
    with WorkerPool(
        hash_file,
        workers=min(workers or default_worker_count(), len(infos)),
        timeout_s=per_file_timeout_s,
        initializer=init_worker,
        initargs=(frozenset(), configured_plugins()),  # nothing known: decode every photo
    ) as pool:
        tasks = (HashTask(info, settings) for info in infos)
        for done, (task, outcome) in enumerate(pool.imap_unordered(tasks, cancel=cancel), 1):
            if isinstance(outcome, TaskFailed):
                problems.append(Problem(task.info.path, outcome.kind, outcome.detail))
            else:
                by_path[task.info.path] = decoded_record(task.info, outcome)  # nothing was known
            throttle((done, len(infos)), force=done == len(infos))
    return [by_path[i.path] for i in infos if i.path in by_path], problems


def _not_photos(
    roots: Sequence[Path], infos: Sequence[FileInfo], problems: Sequence[Problem]
) -> list[Problem]:
    """Files named on purpose that the walk passed over without a word: say why."""
    taken = {info.path for info in infos} | {p.path for p in problems}
    return [
        Problem(root, ProblemKind.NOT_AN_IMAGE, "not a photo")
        for root in roots
        if root not in taken and root.is_file()
    ]


def drop_stale_copies(group: Group) -> Group:
    """The group less the copies that are gone or changed since the scan, or that are the
    query photo itself under another name (a symbolic link, or another spelling of its folder).

    For acting on an answer: a library file deleted after the scan is no copy to rely on.
    """
    try:
        query = os.stat(group.reference.record.path)
    except OSError:
        return Group(group.members[:1])
    kept = [group.reference]
    for member in group.members[1:]:
        try:
            st = os.stat(member.record.path)
        except OSError:
            continue
        record = member.record
        is_same_file = (st.st_dev, st.st_ino) == (query.st_dev, query.st_ino)
        if (st.st_size, st.st_mtime_ns) == (record.size, record.mtime_ns) and not is_same_file:
            kept.append(member)
    return Group(tuple(kept))
