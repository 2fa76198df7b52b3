"""Near pairs through the crop ladder: cropped, watermarked and captioned copies. No Qt.

Each picture has entries at four levels: its upright hash (level 0) and the hashes of its
centred 90 %, 80 % and 70 % windows (``ImageRecord.ladder``, levels 1-3). A crop of 10 % has
its whole picture (level 0) near the original's 90 % window (level 1); a watermark or caption
at the border leaves the two 70 % windows near. Only the level pairs in ``LEVEL_PAIRS`` are
searched (``SEARCHES``): all entry pairs of 4 x 1M entries at radius 8 would cost about 8x the
upright search.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.hamming import HashIndex, distinct_pairs, pack_words, unique_rows
from dedup_gui.core.hash_tables import (
    Ints,
    Pairs,
    SlotTable,
    Words,
    Words1,
    bit_counts,
    nearest_per_pair,
    no_pairs,
    run_blocks,
    runs,
)
from dedup_gui.core.model import Turn

# The stage-1 radius the ladder was measured at (benchmarks/RESULTS-crop.md: every candidate
# verified, F1 0.972 at <= 8); the search cost grows steeply with it.
LADDER_MAX_DISTANCE = 8
LADDER_RUNGS = 3  # centred windows at 90, 80 and 70 % (levels 1, 2, 3)
# A pseudo-turn marking a pair found only through the ladder: turn NONE, to be verified.
CROPPED = len(Turn)

# The searches: hashes of the first levels against those of the second. Measured on the accuracy
# corpus at <= 8 (all 800 files; a copy counts when it is near its original): every pair of
# levels finds 0.972 of the copies (crop_10 1.00, crop_20 0.59, screenshot 0.35), these 0.969
# (crop_10 1.00, crop_20 0.53, screenshot 0.29) at about half the cost, and upright-vs-rung plus
# same-rung pairs 0.962. (0, 1), (0, 2): crops of about 10 and 20 %; (3, 3): watermarks and
# captions at the borders; (2, 3): crops between the rungs (the last crop_10 copy).
SEARCHES: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = (((0,), (1, 2)), ((3,), (2, 3)))
LEVEL_PAIRS = frozenset(
    pair for left, right in SEARCHES for a in left for b in right for pair in ((a, b), (b, a))
)

# _IS_SEARCHED[a, b]: whether level a is compared with level b.
_IS_SEARCHED = np.zeros((LADDER_RUNGS + 1, LADDER_RUNGS + 1), dtype=bool)
_IS_SEARCHED[tuple(np.array(sorted(LEVEL_PAIRS)).T)] = True
_BLOCK = 1 << 21  # candidate pairs expanded at once: bounds memory whatever the skew
_BRUTE_MAX = 1 << 24  # up to this many hash pairs, comparing them all is cheaper than probing


def ladder_pairs(
    uprights: Sequence[bytes],
    ladders: Sequence[bytes],
    hash_len: int,
    max_distance: int,
    cancel: CancelToken,
) -> Pairs:
    """Pairs of owners (i < j) with entries near at some level pair of ``LEVEL_PAIRS``.

    Args:
        uprights: each owner's upright hash (b"": none).
        ladders: each owner's ladder, ``LADDER_RUNGS`` hashes of ``hash_len`` bytes (b"": none).
        hash_len: bytes per hash.
        max_distance: the search radius.
        cancel: checked between blocks of work.

    Returns:
        (i, j, distance) with each pair once, at its smallest distance.

    Raises:
        ValueError: a ladder that is not ``LADDER_RUNGS`` hashes of ``hash_len`` bytes.
    """
    _check(ladders, hash_len)
    levels = _Levels(uprights, ladders, hash_len)
    found = [no_pairs()]
    for left, right in SEARCHES:
        found.append(levels.across(left, right, max_distance, cancel))
    oi, oj, dist = (np.concatenate(parts) for parts in zip(*found, strict=True))
    keep = oi != oj  # a picture's own windows are near it
    i, j, dist = np.minimum(oi, oj)[keep], np.maximum(oi, oj)[keep], dist[keep]
    return nearest_per_pair(i, j, dist, len(uprights))


class LadderIndex:
    """A library's ladder rungs, searched with a few query photos' entries (``query.find``).

    The library's upright hashes are in the caller's ``HashIndex`` already: it is shared.
    """

    def __init__(
        self, ladders: Sequence[bytes], hash_len: int, uprights: HashIndex, upright_owner: Ints
    ) -> None:
        _check(ladders, hash_len)
        self._hash_len, self._size = hash_len, len(ladders)
        self._uprights, self._upright_owner = uprights, upright_owner
        rows, self._owner, self._level = _Levels([b""] * len(ladders), ladders, hash_len).rows(
            range(1, LADDER_RUNGS + 1)
        )
        self._rungs = HashIndex(rows)

    def pairs_with(
        self,
        uprights: Sequence[bytes],
        ladders: Sequence[bytes],
        max_distance: int,
        cancel: CancelToken,
    ) -> Pairs:
        """(query, library record, distance) of the pairs near at a level pair of
        ``LEVEL_PAIRS``, each once at its smallest distance (queries as ``ladder_pairs``)."""
        _check(ladders, self._hash_len)
        rows, owner, level = _Levels(uprights, ladders, self._hash_len).rows(range(4))
        if not len(rows):
            return no_pairs()
        found = []
        for index, owners, levels in (
            (self._uprights, self._upright_owner, np.zeros(len(self._upright_owner), np.int64)),
            (self._rungs, self._owner, self._level),
        ):
            qr, ir, dist = index.pairs_with(rows, max_distance, cancel=cancel)
            keep = _IS_SEARCHED[level[qr], levels[ir]]
            found.append((owner[qr[keep]], owners[ir[keep]], dist[keep]))
        q, k, dist = (np.concatenate(parts) for parts in zip(*found, strict=True))
        return nearest_per_pair(q, k, dist, self._size)


def _check(ladders: Sequence[bytes], hash_len: int) -> None:
    if any(ladder and len(ladder) != LADDER_RUNGS * hash_len for ladder in ladders):
        raise ValueError(f"a ladder is not {LADDER_RUNGS} hashes of {hash_len} bytes")


class _Levels:
    """Each level's hashes (rows of bytes) and their owners."""

    def __init__(self, uprights: Sequence[bytes], ladders: Sequence[bytes], hash_len: int) -> None:
        has_upright = np.fromiter(map(bool, uprights), dtype=bool, count=len(uprights))
        has_ladder = np.fromiter(map(bool, ladders), dtype=bool, count=len(ladders))
        rows = np.frombuffer(b"".join(uprights), dtype=np.uint8).reshape(-1, hash_len)
        rungs = np.frombuffer(b"".join(ladders), dtype=np.uint8)
        rungs = rungs.reshape(-1, LADDER_RUNGS, hash_len)
        self._rows = [rows, *(rungs[:, k] for k in range(LADDER_RUNGS))]
        self._owners = [np.flatnonzero(has_upright)] + [np.flatnonzero(has_ladder)] * LADDER_RUNGS

    def rows(self, levels: Iterable[int]) -> tuple[npt.NDArray[np.uint8], Ints, Ints]:
        """The hashes of ``levels`` as rows of bytes, with the owner and level of each."""
        picked = list(levels)
        rows = np.concatenate([self._rows[k] for k in picked])
        owner = np.concatenate([self._owners[k] for k in picked])
        level = np.repeat(picked, [len(self._owners[k]) for k in picked]).astype(np.int64)
        return rows, owner, level

    def _distinct(self, levels: Sequence[int]) -> tuple[Words, Ints, Ints, Ints]:
        """Distinct hashes of ``levels``; owners sorted by distinct hash, with their runs."""
        owners = np.concatenate([self._owners[level] for level in levels])
        if not len(owners):
            return np.empty((0, 1), np.uint64), owners, *no_pairs()[:2]
        words, row = unique_rows(pack_words(np.concatenate([self._rows[k] for k in levels])))
        order = np.argsort(row, kind="stable")
        starts, counts = runs(row[order])  # every distinct hash has an owner: run k is hash k
        return words, owners[order], starts, counts

    def across(
        self, left: Sequence[int], right: Sequence[int], max_distance: int, cancel: CancelToken
    ) -> Pairs:
        """Owner pairs with a hash of the ``left`` levels near one of the ``right`` levels."""
        a_words, a_owners, a_starts, a_counts = self._distinct(left)
        b_words, b_owners, b_starts, b_counts = self._distinct(right)
        if not len(a_words) or not len(b_words):
            return no_pairs()
        if a_words.shape[1] == 1:
            near = _cross_pairs(a_words[:, 0], b_words[:, 0], max_distance, cancel)
        else:  # longer hashes (hash size 16): one search over both, the cross pairs kept
            near = _cross_by_union(a_words, b_words, max_distance, cancel)
        found = [no_pairs()]
        a_run, b_run = (a_starts, a_counts), (b_starts, b_counts)
        for ra, rb, dist in _expand_both(near, a_run, b_run):
            found.append((a_owners[ra], b_owners[rb], dist))
        return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]


def _expand_both(
    near: Pairs, a_run: tuple[Ints, Ints], b_run: tuple[Ints, Ints]
) -> Iterator[Pairs]:
    """Pairs of distinct hashes as pairs of positions in the owner arrays of each side."""
    ia, ib, dist = near
    # Left side first: each pair of distinct hashes once per owner of its left hash.
    for rows, left in run_blocks(a_run[0][ia], a_run[1][ia]):
        right_start, right_count = b_run[0][ib[rows]], b_run[1][ib[rows]]
        for more, right in run_blocks(right_start, right_count):
            yield left[more], right, dist[rows[more]]


def _cross_by_union(a: Words, b: Words, max_distance: int, cancel: CancelToken) -> Pairs:
    """As _cross_pairs for hashes longer than 64 bits, by one search over both sides."""
    words, row = unique_rows(np.concatenate([a, b]))
    ui, uj, dist = distinct_pairs(words, max_distance, cancel)
    # Each side's hashes are distinct, so a distinct row holds at most one of each side.
    a_of = np.full(len(words), -1, np.int64)
    b_of = np.full(len(words), -1, np.int64)
    a_of[row[: len(a)]] = np.arange(len(a))
    b_of[row[len(a) :]] = np.arange(len(b))
    same = (a_of >= 0) & (b_of >= 0)
    pairs = [(a_of[same], b_of[same], np.zeros(np.count_nonzero(same), np.int32))]
    for x, y in ((ui, uj), (uj, ui)):
        keep = (a_of[x] >= 0) & (b_of[y] >= 0)
        pairs.append((a_of[x[keep]], b_of[y[keep]], dist[keep]))
    return tuple(np.concatenate(parts) for parts in zip(*pairs, strict=True))  # type: ignore[return-value]


def _cross_pairs(a: Words1, b: Words1, max_distance: int, cancel: CancelToken) -> Pairs:
    """Every (row of a, row of b) within ``max_distance`` (64-bit hashes, each side distinct).

    Multi-index hashing between two sets, as hamming's search within one: by pigeonhole a pair
    within r of 3 interleaved chunks is within (r - 2) // 3 on one of them (3 chunks of ~21
    bits is the cheapest split of 64 bits for a million hashes at radius 8). Each a hash probes
    b's buckets at every flip of up to that many chunk bits. A pair may come more than once.
    """
    if len(a) * len(b) <= _BRUTE_MAX:
        return _brute_cross(a, b, max_distance)
    chunks = 3 if max_distance >= 2 else max_distance + 1
    base, extra = divmod(max_distance - chunks + 1, chunks)
    b_order = np.argsort(b, kind="stable")  # b comes sorted (unique_rows): this costs little
    b_sorted = b[b_order]
    found = [no_pairs()]
    for c in range(chunks):
        cancel.check()
        positions = list(range(c, 64, chunks))
        probed = SlotTable(b_sorted, positions, max_distance)
        ia, ib, dist = probed.search(a, base + (c < extra), cancel)
        found.append((ia, b_order[ib], dist))
        del probed  # its tables are the search's largest arrays: one chunk's at a time
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]


def _brute_cross(a: Words1, b: Words1, max_distance: int) -> Pairs:
    """Every pair compared, a block of a's rows at a time."""
    found = [no_pairs()]
    step = max(1, _BLOCK // len(b))
    for start in range(0, len(a), step):
        dist = bit_counts(a[start : start + step, None] ^ b[None, :])
        i, j = np.nonzero(dist <= max_distance)
        found.append((i + start, j, dist[i, j].astype(np.int32)))
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]
