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
from itertools import combinations

import numpy as np
import numpy.typing as npt

from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.hamming import (
    HashIndex,
    Ints,
    Pairs,
    Words,
    _masks_by_high_bit,
    distinct_pairs,
    expand_runs,
    no_pairs,
    runs,
    unique_rows,
)
from dedup_gui.core.model import Turn

Words1 = npt.NDArray[np.uint64]  # 64-bit hashes, one per row

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
_TABLE_MAX_BITS = 22  # a chunk's buckets are found through direct tables up to this width
_SLOTS = 2  # hashes a bucket keeps in its table row: one cache line serves most probes
_QUERY_BLOCK = 1 << 15  # queries probed with every flip mask before the next: cache-sized
_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)


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


def pack_words(hashes: npt.NDArray[np.uint8]) -> Words:
    """Rows of hash bytes as ``hamming.as_words`` packs them, from an array, not a list."""
    n, nbytes = hashes.shape
    padded = np.zeros((n, -(-nbytes // 8) * 8), dtype=np.uint8)
    padded[:, :nbytes] = hashes
    return padded.view(">u8").astype(np.uint64)


def nearest_per_pair(i: Ints, j: Ints, dist: npt.NDArray[np.int32], owners: int) -> Pairs:
    """Each (i, j) once, at its smallest distance."""
    key = i * owners + j
    by_key = np.lexsort((dist, key))
    first = by_key[runs(key[by_key])[0]]
    return i[first], j[first], dist[first]


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
    for rows, left in _blocks(a_run[0][ia], a_run[1][ia]):
        right_start, right_count = b_run[0][ib[rows]], b_run[1][ib[rows]]
        for more, right in _blocks(right_start, right_count):
            yield left[more], right, dist[rows[more]]


def _blocks(starts: Ints, counts: Ints) -> Iterator[tuple[Ints, Ints]]:
    """(row, position) for every position ``starts[row]`` ... ``+ counts[row] - 1``, in blocks."""
    for rows, positions, _ in expand_runs(np.arange(len(starts)), starts, counts):
        yield rows, positions


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
        probed = _Slots(b_sorted, positions, max_distance)
        ia, ib, dist = probed.search(a, base + (c < extra), cancel)
        found.append((ia, b_order[ib], dist))
        del probed  # its tables are the search's largest arrays: one chunk's at a time
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]


def _brute_cross(a: Words1, b: Words1, max_distance: int) -> Pairs:
    """Every pair compared, a block of a's rows at a time."""
    found = [no_pairs()]
    step = max(1, _BLOCK // len(b))
    for start in range(0, len(a), step):
        dist = _bit_counts(a[start : start + step, None] ^ b[None, :])
        i, j = np.nonzero(dist <= max_distance)
        found.append((i + start, j, dist[i, j].astype(np.int32)))
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]


def _bit_counts(x: Words1) -> npt.NDArray[np.uint8]:
    """Set bits of each word (numpy < 2.0 has no ``bitwise_count``), as uint8: a quarter of
    int32's memory traffic in the probe loop."""
    if hasattr(np, "bitwise_count"):
        counts: npt.NDArray[np.uint8] = np.bitwise_count(x)
        return counts
    per_byte = _BYTE_BITS[np.ascontiguousarray(x).view(np.uint8)].reshape(*x.shape, 8)
    summed: npt.NDArray[np.uint8] = per_byte.sum(axis=-1, dtype=np.uint8)
    return summed


def _chunk_values(words: Words1, positions: Sequence[int]) -> Ints:
    """The bits at ``positions`` (0 = the hash's first, highest bit) packed into an integer."""
    acc = np.zeros(len(words), dtype=np.uint64)
    for k, p in enumerate(positions):
        acc |= ((words >> np.uint64(63 - p)) & np.uint64(1)) << np.uint64(k)
    return acc.view(np.int64)


def _scatter(values: Ints, positions: Sequence[int]) -> Words1:
    """The inverse of ``_chunk_values``: bit k of each value at hash bit ``positions[k]``."""
    acc = np.zeros(len(values), dtype=np.uint64)
    unsigned = values.view(np.uint64)
    for k, p in enumerate(positions):
        acc |= ((unsigned >> np.uint64(k)) & np.uint64(1)) << np.uint64(63 - p)
    return acc


def _fillers(keys: Ints, positions: Sequence[int]) -> Words1:
    """For each chunk value in ``keys``, a word whose chunk bits are its complement."""
    return ~_scatter(keys, positions) & _scatter(np.array([-1]), positions)


def _filler_table(positions: Sequence[int]) -> Words1:
    """``_SLOTS`` copies of ``_fillers`` of every chunk value in order, one row per value.

    Built as the outer xor of two halves' fillers, in place: a few ms for 4M rows rather than
    a pass per bit, and no temporary as large as the table.
    """
    half = len(positions) // 2
    low = _fillers(np.arange(1 << half, dtype=np.int64), positions[:half])
    high = _fillers(np.arange(1 << (len(positions) - half), dtype=np.int64), positions[half:])
    table = np.empty((len(high), len(low), _SLOTS), dtype=np.uint64)
    np.bitwise_xor(high[:, None, None], low[None, :, None], out=table)
    return table.reshape(-1, _SLOTS)


def _flips(bits: int, radius: int) -> Iterator[int]:
    """Every mask of up to ``radius`` set bits among ``bits``, 0 first."""
    for k in range(radius + 1):
        for chosen in combinations(range(bits), k):
            yield sum(1 << bit for bit in chosen)


class _Slots:
    """b's buckets of one chunk, each as the first ``_SLOTS`` hashes it holds, by chunk value.

    A probe gathers one row of ``_SLOTS`` words and compares them all with the query, with no
    check for an empty bucket or slot: those hold a word whose chunk bits are the complement of
    the bucket's value, so more than ``max_distance`` from any query that probes it. Only the
    few buckets holding more (``_overflow``) are expanded.
    """

    def __init__(self, b_sorted: Words1, positions: list[int], max_distance: int) -> None:
        self._bits, self._positions, self._max = len(positions), positions, max_distance
        values = _chunk_values(b_sorted, positions)
        self._order = np.argsort(values)
        self._words = b_sorted[self._order]
        by_value = values[self._order]
        self._starts, self._counts = runs(by_value)
        self._values = by_value[self._starts]
        self._keys: Ints | None = None  # None: a direct table, indexed by chunk value
        if self._bits > _TABLE_MAX_BITS:  # too wide for a table: rows of the buckets only
            self._keys, row = self._values, np.arange(len(self._values))
            self._slots = np.repeat(_fillers(self._values, positions)[:, None], _SLOTS, axis=1)
        else:
            row, self._slots = self._values, _filler_table(positions)
        for k in range(_SLOTS):
            held = self._counts > k
            self._slots[row[held], k] = self._words[self._starts[held] + k]
        self._overflow = np.zeros(len(self._slots), dtype=bool)
        full = self._counts > _SLOTS
        self._overflow[row[full]] = True
        # The hashes the slots do not hold, found by a search among the few full buckets.
        self._full_values = self._values[full]
        self._rest_starts, self._rest_counts = (
            self._starts[full] + _SLOTS,
            self._counts[full] - _SLOTS,
        )

    def search(self, a: Words1, radius: int, cancel: CancelToken) -> Pairs:
        """(row of a, row of b sorted, distance) within ``max_distance``, by chunk ``radius``."""
        self._check(radius)
        a_values = _chunk_values(a, self._positions)
        a_order = np.argsort(a_values)
        # Sorted, a block's probes stay in a few regions of the table: they stay in the cache.
        a_values, a_words = a_values[a_order], a[a_order]
        masks = np.fromiter(_flips(self._bits, radius), dtype=np.int64).tolist()
        found: list[Pairs] = [no_pairs()]
        for start in range(0, len(a), _QUERY_BLOCK):
            cancel.check()
            rows = np.arange(start, min(start + _QUERY_BLOCK, len(a)))
            found += self._probe(a_values[rows], a_words[rows], rows, masks)
        ia, ib, dist = (np.concatenate(parts) for parts in zip(*found, strict=True))
        return a_order[ia], ib, dist

    def search_within(self, radius: int, cancel: CancelToken) -> Pairs:
        """(row, row, distance) of b's own pairs (rows of b sorted) by chunk ``radius``.

        Each pair once, in either order, and no row with itself. Chunk values differing by a
        mask whose highest bit is h are probed only from the hash whose chunk bit h is 0: half
        the probes of searching b with b.
        """
        self._check(radius)
        values = np.repeat(self._values, self._counts)  # of self._words, in order
        by_high = [(-1, [0]), *_masks_by_high_bit(self._bits, radius)]
        found: list[Pairs] = [no_pairs()]
        for start in range(0, len(values), _QUERY_BLOCK):
            cancel.check()
            block = values[start : start + _QUERY_BLOCK]
            for high, masks in by_high:
                if high >= 0:
                    rows = start + np.flatnonzero((block >> high) & 1 == 0)
                    found += self._probe(values[rows], self._words[rows], rows, masks)
                    continue
                # The query's own bucket, from every hash: each pair twice, and itself.
                rows = np.arange(start, start + len(block))
                for ia, ib, dist in self._probe(block, self._words[rows], rows, masks):
                    keep = self._order[ia] < ib
                    found.append((ia[keep], ib[keep], dist[keep]))
        ia, ib, dist = (np.concatenate(parts) for parts in zip(*found, strict=True))
        return self._order[ia], ib, dist

    def _check(self, radius: int) -> None:
        if self._bits - radius <= self._max:
            raise ValueError("chunks too short for the empty-slot filler")  # not with 3 chunks

    def _probe(self, values: Ints, words: Words1, rows: Ints, masks: list[int]) -> list[Pairs]:
        """(query row, row of b sorted, distance) for the queries ``values`` and ``words``
        (their rows: ``rows``), each probing its buckets at every mask."""
        found: list[Pairs] = []
        repeated = np.repeat(words, _SLOTS)  # lines up with the gathered rows of slots
        for mask in masks:
            queries = values ^ mask
            dist = self._gather(queries, words)
            np.bitwise_xor(dist, repeated, out=dist)
            near = _bit_counts(dist)
            hit = np.flatnonzero(near <= self._max)
            if len(hit):
                row, slot = hit // _SLOTS, hit % _SLOTS
                b_row = self._order[self._starts[self._bucket(queries[row])] + slot]
                found.append((rows[row], b_row, near[hit].astype(np.int32)))
            more = np.flatnonzero(self._overflows(queries))
            if len(more):
                found += self._overflow_pairs(queries[more], rows[more], words[more])
        return found

    def _gather(self, queries: Ints, words: Words1) -> Words1:
        """The slots of each query's bucket, flat (``_SLOTS`` words a query)."""
        if self._keys is None:
            return np.take(self._slots, queries, axis=0).ravel()
        at = np.minimum(np.searchsorted(self._keys, queries), len(self._keys) - 1)
        there = self._keys[at] == queries
        # No bucket: the query's complement, 64 bits from it.
        slots = np.where(there[:, None], np.take(self._slots, at, axis=0), ~words[:, None])
        return slots.ravel()

    def _overflows(self, queries: Ints) -> npt.NDArray[np.bool_]:
        if self._keys is None:
            flags: npt.NDArray[np.bool_] = np.take(self._overflow, queries)
            return flags
        at = np.minimum(np.searchsorted(self._keys, queries), len(self._keys) - 1)
        flagged: npt.NDArray[np.bool_] = (self._keys[at] == queries) & self._overflow[at]
        return flagged

    def _overflow_pairs(self, queries: Ints, rows: Ints, words: Words1) -> list[Pairs]:
        """Pairs with the hashes of full buckets that their slots do not hold."""
        bucket = np.searchsorted(self._full_values, queries)
        found: list[Pairs] = []
        for more, right in _blocks(self._rest_starts[bucket], self._rest_counts[bucket]):
            near = _bit_counts(words[more] ^ self._words[right])
            keep = near <= self._max
            found.append((rows[more[keep]], self._order[right[keep]], near[keep].astype(np.int32)))
        return found

    def _bucket(self, queries: Ints) -> Ints:
        """The bucket of each query (it has one)."""
        return np.searchsorted(self._values, queries)
