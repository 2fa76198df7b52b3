"""Building blocks of the Hamming searches: runs, flip masks, and the two-slot bucket table.

No Qt. Shared by ``hamming`` (pairs within one set of hashes, queries) and ``ladder_search``
(one set against another), so neither imports the other's private parts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations

import numpy as np
import numpy.typing as npt

from dedup_gui.core.cancel import CancelToken

Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]
Words1 = npt.NDArray[np.uint64]  # 64-bit hashes, one per row
Pairs = tuple[Ints, Ints, npt.NDArray[np.int32]]

# Candidate pairs expanded and verified at once. Bounds memory (~30 bytes a pair) whatever the
# skew: thousands of hashes sharing a chunk value are checked in slices, never as one matrix.
_BLOCK = 1 << 21
_TABLE_MAX_BITS = 22  # a chunk's buckets are found through direct tables up to this width
_SLOTS = 2  # hashes a bucket keeps in its table row: one cache line serves most probes
_QUERY_BLOCK = 1 << 15  # queries probed with every flip mask before the next: cache-sized
_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)


def runs(sorted_values: npt.NDArray[np.generic]) -> tuple[Ints, Ints]:
    """Start and length of each run of equal values in a sorted array."""
    starts = np.flatnonzero(np.r_[len(sorted_values) > 0, sorted_values[1:] != sorted_values[:-1]])
    return starts, np.diff(np.r_[starts, len(sorted_values)])


def expand_runs(
    left_pos: Ints, right_start: Ints, right_len: Ints
) -> Iterator[tuple[Ints, Ints, Ints]]:
    """Pairs ``left_pos[r]`` with each of ``right_start[r]`` ... ``+ right_len[r] - 1``.

    Yields (left, right, r) blocks of at most ~_BLOCK pairs (more only for one huge row).
    """
    ends = np.cumsum(right_len)
    row = 0
    while row < len(ends):
        done = int(ends[row - 1]) if row else 0
        stop = max(int(np.searchsorted(ends, done + _BLOCK, side="right")), row + 1)
        lens = right_len[row:stop]
        rows = np.repeat(np.arange(row, stop), lens)
        offsets = np.arange(done, int(ends[stop - 1])) - np.repeat(ends[row:stop] - lens, lens)
        yield left_pos[rows], right_start[rows] + offsets, rows
        row = stop


def no_pairs() -> Pairs:
    """An empty (i, j, dist) triple, with the dtypes of every other."""
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)


def nearest_per_pair(i: Ints, j: Ints, dist: npt.NDArray[np.int32], owners: int) -> Pairs:
    """Each (i, j) once, at its smallest distance (``owners``: one more than the largest i, j)."""
    key = i * owners + j
    by_key = np.lexsort((dist, key))
    first = by_key[runs(key[by_key])[0]]
    return i[first], j[first], dist[first]


def masks_by_high_bit(bits: int, radius: int) -> Iterator[tuple[int, list[int]]]:
    """Non-zero flip masks of up to ``radius`` bits, grouped by their highest set bit."""
    for high in range(bits):
        masks = [
            sum(1 << b for b in low) | 1 << high
            for k in range(min(radius, high + 1))
            for low in combinations(range(high), k)
        ]
        yield high, masks


def run_blocks(starts: Ints, counts: Ints) -> Iterator[tuple[Ints, Ints]]:
    """(row, position) for every position ``starts[row]`` ... ``+ counts[row] - 1``, in blocks."""
    for rows, positions, _ in expand_runs(np.arange(len(starts)), starts, counts):
        yield rows, positions


def bit_counts(x: Words1) -> npt.NDArray[np.uint8]:
    """Set bits of each word (numpy < 2.0 has no ``bitwise_count``), as uint8: a quarter of
    int32's memory traffic in the probe loop."""
    if hasattr(np, "bitwise_count"):
        counts: npt.NDArray[np.uint8] = np.bitwise_count(x)
        return counts
    per_byte = _BYTE_BITS[np.ascontiguousarray(x).view(np.uint8)].reshape(*x.shape, 8)
    summed: npt.NDArray[np.uint8] = per_byte.sum(axis=-1, dtype=np.uint8)
    return summed


def chunk_bits(words: Words1, positions: Sequence[int]) -> Ints:
    """The bits at ``positions`` (0 = the hash's first, highest bit) packed into an integer."""
    acc = np.zeros(len(words), dtype=np.uint64)
    for k, p in enumerate(positions):
        acc |= ((words >> np.uint64(63 - p)) & np.uint64(1)) << np.uint64(k)
    return acc.view(np.int64)


def _scatter(values: Ints, positions: Sequence[int]) -> Words1:
    """The inverse of ``chunk_bits``: bit k of each value at hash bit ``positions[k]``."""
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


class SlotTable:
    """b's buckets of one chunk, each as the first ``_SLOTS`` hashes it holds, by chunk value.

    A probe gathers one row of ``_SLOTS`` words and compares them all with the query, with no
    check for an empty bucket or slot: those hold a word whose chunk bits are the complement of
    the bucket's value, so more than ``max_distance`` from any query that probes it. Only the
    few buckets holding more (``_overflow``) are expanded.
    """

    def __init__(self, b_sorted: Words1, positions: list[int], max_distance: int) -> None:
        self._bits, self._positions, self._max = len(positions), positions, max_distance
        values = chunk_bits(b_sorted, positions)
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
        a_values = chunk_bits(a, self._positions)
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
        by_high = [(-1, [0]), *masks_by_high_bit(self._bits, radius)]
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
            near = bit_counts(dist)
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
        for more, right in run_blocks(self._rest_starts[bucket], self._rest_counts[bucket]):
            near = bit_counts(words[more] ^ self._words[right])
            keep = near <= self._max
            found.append((rows[more[keep]], self._order[right[keep]], near[keep].astype(np.int32)))
        return found

    def _bucket(self, queries: Ints) -> Ints:
        """The bucket of each query (it has one)."""
        return np.searchsorted(self._values, queries)
