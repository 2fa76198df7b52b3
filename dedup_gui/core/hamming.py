"""Pairs of hashes within a Hamming distance, without comparing all pairs. No Qt."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup_gui.core.cancel import CancelToken, NeverCancelled
from dedup_gui.core.hash_tables import Ints as Ints
from dedup_gui.core.hash_tables import Pairs as Pairs
from dedup_gui.core.hash_tables import SlotTable, masks_by_high_bit
from dedup_gui.core.hash_tables import Words as Words
from dedup_gui.core.hash_tables import expand_runs as expand_runs
from dedup_gui.core.hash_tables import no_pairs as no_pairs
from dedup_gui.core.hash_tables import runs as runs

# Candidate pairs expanded and verified at once. Bounds memory (~30 bytes a pair) whatever the
# skew: thousands of hashes sharing a chunk value are checked in slices, never as one matrix.
_BLOCK = 1 << 21

# Chunks up to this many bits find buckets through a direct table (4M x 4 bytes); longer ones
# binary-search, which is ~10x slower per probe but only long exact-match chunks get there.
_TABLE_MAX_BITS = 22
_SMALL_BUCKET = 8  # buckets up to this size are paired level by level, see add_cross
# Two-slot tables (hash_tables.SlotTable) for chunks whose buckets are at least 1 in this many
# held: there, most probes hit and the cheaper hit handling beats the dearer gather.
_SLOTS_MIN_FILL = 12
_SAMPLE = 16384  # rows sampled to estimate how full the buckets of a chunking get
# Rough costs in ns, measured on one core: per probed bucket (table / binary search), per
# candidate verified, per pair compared by brute force (per 64-bit word), per row chunked and
# sorted, and the Python overhead of one probe mask.
_NS_PROBE, _NS_SEARCH, _NS_VERIFY, _NS_BRUTE, _NS_CHUNK, _NS_MASK = 3, 40, 25, 4, 150, 20_000
# Brute force between a query and an index, one query at a time (HashIndex): per hash compared
# (per 64-bit word), and the Python overhead per query.
_NS_SCAN, _NS_QUERY = 1, 5_000
_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount_table(x: Words) -> npt.NDArray[np.uint8]:
    """Set bits of each uint64, for numpy < 2.0 which lacks ``np.bitwise_count``."""
    per_byte = _BYTE_POPCOUNT[np.ascontiguousarray(x).view(np.uint8)]
    counts: npt.NDArray[np.uint8] = per_byte.reshape(*x.shape, 8).sum(axis=-1, dtype=np.uint8)
    return counts


_popcount: Callable[[Words], npt.NDArray[np.uint8]] = getattr(np, "bitwise_count", _popcount_table)


def pack_words(hashes: npt.NDArray[np.uint8]) -> Words:
    """(n, nbytes) bytes as (n, ceil(nbytes / 8)) big-endian words; the zero padding adds 0."""
    n, nbytes = hashes.shape
    padded = np.zeros((n, -(-nbytes // 8) * 8), dtype=np.uint8)
    padded[:, :nbytes] = hashes
    return padded.view(">u8").astype(np.uint64)


def as_words(hashes: list[bytes], nbytes: int) -> Words:
    """Hashes of ``nbytes`` bytes each as packed words, one row per hash."""
    array = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(len(hashes), nbytes)
    return pack_words(array)


def _distances(
    words: Words, left: Ints, right: Ints, right_words: Words | None = None
) -> npt.NDArray[np.int32]:
    """Distance of each pair (``left`` rows of ``words``, ``right`` rows of ``right_words``)."""
    other = words if right_words is None else right_words
    dist = _popcount(words[left, 0] ^ other[right, 0]).astype(np.int32)
    for col in range(1, words.shape[1]):
        dist += _popcount(words[left, col] ^ other[right, col])
    return dist


def unique_rows(words: Words) -> tuple[Words, Ints]:
    """Distinct rows, and for each row the index of its distinct row."""
    order = np.lexsort(words.T[::-1]) if words.shape[1] > 1 else np.argsort(words[:, 0])
    ordered = words[order]
    is_new = np.ones(len(words), dtype=bool)
    is_new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    inverse = np.empty(len(words), dtype=np.int64)
    inverse[order] = np.cumsum(is_new) - 1
    return ordered[is_new], inverse


def _cross_rows(starts: Ints, counts: Ints, b1: Ints, b2: Ints) -> tuple[Ints, Ints, Ints]:
    """Row tasks pairing every item of bucket ``b1[k]`` with every item of bucket ``b2[k]``."""
    c1 = counts[b1]
    rows = np.repeat(np.arange(len(b1)), c1)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(c1) - c1, c1)
    return starts[b1][rows] + within, starts[b2][rows], counts[b2][rows]


def _within_rows(starts: Ints, counts: Ints) -> tuple[Ints, Ints, Ints]:
    """Row tasks pairing every item of each bucket with the later items of the same bucket."""
    bucket = np.repeat(np.arange(len(starts)), counts)
    pos = np.arange(len(bucket))
    after = starts[bucket] + counts[bucket] - pos - 1
    keep = after > 0
    return pos[keep], pos[keep] + 1, after[keep]


def _chunk_values(words: Words, positions: Sequence[int]) -> Words:
    """The bits at ``positions`` (0 = first bit of the hash) packed into one integer per row."""
    acc = np.zeros(len(words), dtype=np.uint64)
    for k, p in enumerate(positions):
        bit = (words[:, p // 64] >> np.uint64(63 - p % 64)) & np.uint64(1)
        acc |= bit << np.uint64(k)
    return acc


def _volume(bits: int, radius: int) -> int:
    """Number of values within ``radius`` bit flips of a ``bits``-bit value."""
    return sum(math.comb(bits, k) for k in range(min(radius, bits) + 1))


# A plan: for each chunk, its bit positions and its search radius (pigeonhole thresholds).
Plan = list[tuple[list[int], int]]


def _plans(bits: int, max_distance: int) -> Iterator[Plan]:
    """Chunkings that cannot miss a pair within ``max_distance``.

    With m chunks searched at radii t_i and sum(t_i) >= max_distance - m + 1, a pair within
    max_distance is within t_i on some chunk i (else its distance is >= sum(t_i + 1)). A radius
    of -1 means that chunk is not searched. Chunks take every m-th bit rather than runs of bits,
    because neighbouring pHash bits (neighbouring DCT coefficients) are correlated.
    """
    fewest = max(1, -(-bits // 64))  # a chunk value must fit in 64 bits
    for m in range(fewest, max(fewest, min(bits, max_distance + 1)) + 1):
        base, extra = divmod(max_distance - m + 1, m)
        chunks = [(list(range(c, bits, m)), base + (c < extra)) for c in range(m)]
        yield [(positions, radius) for positions, radius in chunks if radius >= 0]


def _plan_cost_ns(plan: Plan, sample: Words, n: int) -> float:
    cost = 0.0
    for positions, radius in plan:
        bits = len(positions)
        _, counts = np.unique(_chunk_values(sample, positions), return_counts=True)
        scale = (n / len(sample)) ** 2
        same_bucket = max(float((counts * (counts - 1)).sum()) * scale, n * n / 2.0**bits) / 2
        masks = _volume(bits, radius)
        per_probe = _NS_PROBE if bits <= _TABLE_MAX_BITS else _NS_SEARCH
        occupied = min(n, 2**bits)
        cost += n * _NS_CHUNK + masks * same_bucket * _NS_VERIFY
        cost += (masks - 1) * (_NS_MASK + per_probe * occupied / 2)
    return cost


def _choose_plan(words: Words, max_distance: int) -> Plan | None:
    """The cheapest chunking by a cost model fed with a sample, or None for brute force."""
    n, bits = len(words), words.shape[1] * 64
    best: Plan | None = None
    best_cost = n * (n - 1) / 2 * _NS_BRUTE * words.shape[1]
    step = max(1, n // _SAMPLE)
    sample = words[::step]
    for plan in _plans(bits, max_distance):
        cost = _plan_cost_ns(plan, sample, n)
        if cost < best_cost:
            best, best_cost = plan, cost
    return best


def _brute_force(words: Words, max_distance: int, cancel: CancelToken) -> list[Pairs]:
    """All pairs compared, a block of rows against every later row at a time."""
    n = len(words)
    rows = max(1, _BLOCK // n)
    found = []
    for start in range(0, n - 1, rows):
        cancel.check()
        stop = min(start + rows, n - 1)
        dist = np.zeros((stop - start, n - start), dtype=np.int32)
        for col in range(words.shape[1]):
            dist += _popcount(words[start:stop, col, None] ^ words[None, start:, col])
        # Row r and column c are hashes start + r and start + c: keep c > r, each pair once.
        after = np.arange(n - start)[None, :] > np.arange(stop - start)[:, None]
        i, j = np.nonzero((dist <= max_distance) & after)
        found.append((i + start, j + start, dist[i, j]))
    return found


def _verified(words: Words, left: Ints, right: Ints, max_distance: int) -> Pairs:
    dist = _distances(words, left, right)
    keep = dist <= max_distance
    return left[keep], right[keep], dist[keep]


class _Candidates:
    """Candidate pairs of positions in bucket order, verified a block at a time."""

    def __init__(self, ordered: Words, order: Ints, max_distance: int, max_count: int) -> None:
        self._ordered, self._order, self._max_distance = ordered, order, max_distance
        self._max_count = max_count  # of any bucket
        self._left: list[Ints] = []
        self._right: list[Ints] = []
        self._size = 0
        self.found: list[Pairs] = []  # verified pairs, as row indices of the unsorted words

    def add(self, left: Ints, right: Ints) -> None:
        self._left.append(left)
        self._right.append(right)
        self._size += len(left)
        if self._size >= _BLOCK:
            self.flush()

    def flush(self) -> None:
        if self._size:
            left, right = np.concatenate(self._left), np.concatenate(self._right)
            i, j, dist = _verified(self._ordered, left, right, self._max_distance)
            self.found.append((self._order[i], self._order[j], dist))
        self._left, self._right, self._size = [], [], 0

    def add_cross(self, starts: Ints, counts: Ints, b1: Ints, b2: Ints) -> None:
        """Adds every item of bucket ``b1[k]`` with every item of bucket ``b2[k]``."""
        c1, c2 = counts[b1], counts[b2]
        if self._max_count > _SMALL_BUCKET:
            is_small = np.maximum(c1, c2) <= _SMALL_BUCKET
            big = ~is_small
            for left, right, _ in expand_runs(*_cross_rows(starts, counts, b1[big], b2[big])):
                self.add(left, right)
            b1, b2, c1, c2 = b1[is_small], b2[is_small], c1[is_small], c2[is_small]
        s1, s2 = starts[b1], starts[b2]
        self.add(s1, s2)
        # Most buckets hold one item, the rest a few: pair the a-th item of every left bucket
        # with the b-th of every right one, level by level, rather than pair by pair.
        multi = np.flatnonzero((c1 > 1) | (c2 > 1))
        s1, s2, c1, c2 = s1[multi], s2[multi], c1[multi], c2[multi]
        a = 0
        while len(s1):
            left, right, right_count, b = s1 + a, s2, c2, 0
            while len(left):
                if a or b:
                    self.add(left, right + b)
                b += 1
                more = right_count > b
                left, right, right_count = left[more], right[more], right_count[more]
            a += 1
            more = c1 > a
            s1, s2, c1, c2 = s1[more], s2[more], c1[more], c2[more]


def _chunk_pairs(
    words: Words, positions: list[int], radius: int, max_distance: int, cancel: CancelToken
) -> list[Pairs]:
    """Pairs within ``max_distance`` whose chunk values are within ``radius`` of each other."""
    values = _chunk_values(words, positions)
    order = np.argsort(values, kind="stable")
    # Sorted, a bucket's hashes are neighbours in memory, and so are those of nearby buckets.
    starts, counts = runs(values[order])
    candidates = _Candidates(words[order], order, max_distance, int(counts.max()))
    for left, right, _ in expand_runs(*_within_rows(starts, counts)):
        candidates.add(left, right)
    if radius > 0:
        bucket_values = values[order[starts]]
        keys, find = _bucket_finder(bucket_values, len(positions))
        for high, masks in masks_by_high_bit(len(positions), radius):
            # Each unordered bucket pair once: from the bucket whose highest flipped bit is 0.
            low = np.flatnonzero(bucket_values >> np.uint64(high) & np.uint64(1) == 0)
            low_keys = keys[low]
            for mask in masks:
                cancel.check()
                other = find(low_keys ^ keys.dtype.type(mask))
                hit = np.flatnonzero(other >= 0)
                candidates.add_cross(starts, counts, low[hit], other[hit].astype(np.int64))
    candidates.flush()
    return candidates.found


def _bucket_finder(
    bucket_values: Words, bits: int
) -> tuple[npt.NDArray[Any], Callable[[npt.NDArray[Any]], Ints]]:
    """Keys for the buckets' values, and a map from keys to bucket index (-1: no bucket)."""
    if bits <= _TABLE_MAX_BITS:
        # int32 halves the table against int64, which decides whether it stays in cache.
        keys = bucket_values.view(np.int64)  # indexing with int64 needs no conversion
        table = np.full(1 << bits, -1, dtype=np.int32)
        table[keys] = np.arange(len(keys), dtype=np.int32)
        return keys, lambda queries: table[queries]

    def search(queries: npt.NDArray[Any]) -> Ints:
        pos = np.minimum(np.searchsorted(bucket_values, queries), len(bucket_values) - 1)
        return np.where(bucket_values[pos] == queries, pos, -1)

    return bucket_values, search


def _slots_fit(words: Words, positions: list[int], radius: int, max_distance: int) -> bool:
    """Whether a chunk is searched faster through the two-slot table (``SlotTable``).

    Measured at radius 2 on 22-bit chunks: 2x faster with 1M hashes (a quarter of the buckets
    held), about even at 300k and 2x slower at 100k, where most probes miss and the 4-byte bucket
    table of ``_chunk_pairs`` beats gathering two words. The table needs 64-bit hashes, a
    direct table and chunks wide enough for its empty-slot filler.
    """
    bits = len(positions)
    return (
        words.shape[1] == 1
        and bits <= _TABLE_MAX_BITS
        and bits - radius > max_distance
        and len(words) * _SLOTS_MIN_FILL >= 1 << bits
    )


def _slot_pairs(
    words: Words, positions: list[int], radius: int, max_distance: int, cancel: CancelToken
) -> Pairs:
    """As ``_chunk_pairs`` (64-bit hashes), each pair once, through a two-slot table."""
    return SlotTable(words[:, 0], positions, max_distance).search_within(radius, cancel)


def distinct_pairs(words: Words, max_distance: int, cancel: CancelToken) -> Pairs:
    """Every pair i < j of rows within ``max_distance``, each once (rows are all different)."""
    n = len(words)
    if n < 2:
        return no_pairs()
    plan = _choose_plan(words, max_distance)
    if plan is None:
        found = [no_pairs(), *_brute_force(words, max_distance, cancel)]
    else:
        found = [no_pairs()]
        for positions, radius in plan:
            cancel.check()
            if _slots_fit(words, positions, radius, max_distance):
                found.append(_slot_pairs(words, positions, radius, max_distance, cancel))
            else:
                found += _chunk_pairs(words, positions, radius, max_distance, cancel)
    left, right, dist = _concat(found)
    i, j = np.minimum(left, right), np.maximum(left, right)
    # A pair close on several chunks was found once per chunk.
    _, first = np.unique(i * n + j, return_index=True)
    return i[first], j[first], dist[first]


def _concat(found: list[Pairs]) -> Pairs:
    return (
        np.concatenate([p[0] for p in found]),
        np.concatenate([p[1] for p in found]),
        np.concatenate([p[2] for p in found]),
    )


def spread(items: Ints, starts: Ints, counts: Ints, pairs: Pairs) -> Pairs:
    """Pairs of items from pairs of the buckets holding them, plus items sharing a bucket.

    ``items[starts[b]:][:counts[b]]`` are the items in bucket b; every bucket holds one or
    more. Items sharing a bucket are at distance 0.
    """
    bi, bj, dist = pairs
    found = [no_pairs()]
    for left, right, _ in expand_runs(*_within_rows(starts, counts)):
        found.append((items[left], items[right], np.zeros(len(left), np.int32)))
    row_dist = np.repeat(dist, counts[bi])
    for left, right, rows in expand_runs(*_cross_rows(starts, counts, bi, bj)):
        found.append((items[left], items[right], row_dist[rows]))
    return _concat(found)


def find_candidate_pairs(
    hashes: npt.NDArray[np.uint8],
    max_distance: int,
    *,
    cancel: CancelToken = NeverCancelled(),  # noqa: B008 - immutable null object
) -> Pairs:
    """Every pair of hashes within a Hamming distance, without comparing all pairs.

    Multi-index hashing: the bits are split into chunks so that, by pigeonhole, a close pair
    is close on at least one chunk; hashes are bucketed by chunk value, neighbouring buckets are
    probed, and candidates are verified with a vectorised popcount in bounded blocks. The
    chunking is chosen by a cost model from the number of hashes, the threshold and how full
    the buckets of a sample get. Equal hashes are searched once.

    Args:
        hashes: (n, nbytes) uint8 array, one hash per row.
        max_distance: the largest Hamming distance (in bits) that counts as near.
        cancel: checked between blocks of work.

    Returns:
        (i, j, dist) int64, int64, int32 arrays with i < j, one entry per pair within
        ``max_distance``, in no particular order. Equal hashes are all pairs of each other, so
        thousands of blank images make millions of pairs; group_by_distance avoids that.
    """
    if hashes.ndim != 2:
        raise ValueError(f"hashes must be 2-D (n, nbytes), not {hashes.shape}")
    if max_distance < 0:
        raise ValueError(f"max_distance must be >= 0, not {max_distance}")
    if len(hashes) < 2:
        return no_pairs()
    words, inverse = unique_rows(pack_words(np.asarray(hashes, dtype=np.uint8)))
    distinct = distinct_pairs(words, max_distance, cancel)
    rows_by_hash = np.argsort(inverse, kind="stable").astype(np.int64)
    starts, counts = runs(inverse[rows_by_hash])
    left, right, dist = spread(rows_by_hash, starts, counts, distinct)
    return np.minimum(left, right), np.maximum(left, right), dist


class _ChunkTable:
    """One chunk of an index: its hashes sorted by chunk value, and a bucket finder."""

    def __init__(self, words: Words, positions: list[int]) -> None:
        self.positions = positions
        values = _chunk_values(words, positions)
        self.order = np.argsort(values, kind="stable")
        self.ordered = words[self.order]
        self.starts, self.counts = runs(values[self.order])
        self.keys, self.find = _bucket_finder(values[self.order[self.starts]], len(positions))

    def probe(self, queries: Words, radius: int, max_distance: int, cancel: CancelToken) -> Pairs:
        """(query row, index row, distance) of pairs within ``radius`` on this chunk."""
        values = _chunk_values(queries, self.positions).view(self.keys.dtype)
        masks = [0] + [m for _, ms in masks_by_high_bit(len(self.positions), radius) for m in ms]
        flips = np.array(masks, dtype=np.uint64).view(self.keys.dtype)
        found = [no_pairs()]
        step = max(1, _BLOCK // len(flips))  # queries per block of probes
        for start in range(0, len(values), step):
            cancel.check()
            block = values[start : start + step]
            bucket = self.find((block[:, None] ^ flips[None, :]).ravel())
            hit = np.flatnonzero(bucket >= 0)
            query_rows = hit // len(flips) + start
            bucket = bucket[hit].astype(np.int64)
            for left, right, _ in expand_runs(query_rows, self.starts[bucket], self.counts[bucket]):
                dist = _distances(queries, left, right, self.ordered)
                keep = dist <= max_distance
                found.append((left[keep], self.order[right[keep]], dist[keep]))
        return _concat(found)


class HashIndex:
    """Hashes packed and bucketed once, then searched by many small queries.

    The same multi-index machinery as ``find_candidate_pairs``, but between two sets: a query
    probes the index's buckets instead of joining the index with itself, so a handful of
    photos against 100,000 takes milliseconds. Bucket tables are built on first use per
    chunking and kept.
    """

    def __init__(self, hashes: npt.NDArray[np.uint8]) -> None:
        if hashes.ndim != 2:
            raise ValueError(f"hashes must be 2-D (n, nbytes), not {hashes.shape}")
        self.nbytes = hashes.shape[1]
        self._rows = len(hashes)
        self._words, inverse = unique_rows(pack_words(np.asarray(hashes, dtype=np.uint8)))
        self._rows_by_hash = np.argsort(inverse, kind="stable").astype(np.int64)
        self._starts, self._counts = runs(inverse[self._rows_by_hash])
        self._sample = self._words[:: max(1, len(self._words) // _SAMPLE)]
        self._tables: dict[tuple[int, ...], _ChunkTable] = {}
        self._transposed: Words | None = None
        self._bucket_sizes: dict[tuple[int, ...], float] = {}

    def __len__(self) -> int:
        return self._rows

    def pairs_with(
        self,
        queries: npt.NDArray[np.uint8],
        max_distance: int,
        *,
        cancel: CancelToken = NeverCancelled(),  # noqa: B008 - immutable null object
    ) -> Pairs:
        """Every (query row, index row) pair within ``max_distance``, with its distance.

        Args:
            queries: (m, nbytes) uint8 array, as many bytes per row as the index's hashes.
            max_distance: the largest Hamming distance (in bits) that counts as near.
            cancel: checked between blocks of work.

        Returns:
            (query row, index row, dist) int64, int64, int32 arrays, each pair once.
        """
        if queries.ndim != 2 or queries.shape[1] != self.nbytes:
            raise ValueError(f"queries must be (m, {self.nbytes}), not {queries.shape}")
        if max_distance < 0:
            raise ValueError(f"max_distance must be >= 0, not {max_distance}")
        if not len(queries) or not self._rows:
            return no_pairs()
        words = pack_words(np.asarray(queries, dtype=np.uint8))
        plan = self._choose_plan(len(words), max_distance)
        if plan is None:
            columns = self._columns()
            found = [no_pairs(), *_brute_between(words, columns, max_distance, cancel)]
        else:
            found = [no_pairs()]
            for positions, radius in plan:
                found.append(self._table(positions).probe(words, radius, max_distance, cancel))
        query, hashed, dist = _concat(found)
        # A pair close on several chunks was found once per chunk.
        _, first = np.unique(query * len(self._words) + hashed, return_index=True)
        return self._spread(query[first], hashed[first], dist[first])

    def _spread(self, query: Ints, hashed: Ints, dist: npt.NDArray[np.int32]) -> Pairs:
        """Pairs with distinct index hashes as pairs with every index row holding that hash."""
        found = [no_pairs()]
        starts, counts = self._starts[hashed], self._counts[hashed]
        for left, right, rows in expand_runs(query, starts, counts):
            found.append((left, self._rows_by_hash[right], dist[rows]))
        return _concat(found)

    def _columns(self) -> Words:
        if self._transposed is None:
            self._transposed = np.ascontiguousarray(self._words.T)
        return self._transposed

    def _table(self, positions: list[int]) -> _ChunkTable:
        key = tuple(positions)
        if key not in self._tables:
            self._tables[key] = _ChunkTable(self._words, positions)
        return self._tables[key]

    def _bucket_size(self, positions: list[int]) -> float:
        """Expected index hashes in the bucket a query like the indexed ones falls into."""
        key = tuple(positions)
        if key not in self._bucket_sizes:
            n, s = len(self._words), len(self._sample)
            _, counts = np.unique(_chunk_values(self._sample, positions), return_counts=True)
            skew = float((counts * counts).sum()) * n / (s * s)
            self._bucket_sizes[key] = max(skew, n / 2.0 ** len(positions))
        return self._bucket_sizes[key]

    def _choose_plan(self, queries: int, max_distance: int) -> Plan | None:
        """The cheapest chunking by the cost model of ``_choose_plan``, or None for brute force."""
        n, width = len(self._words), self._words.shape[1]
        best: Plan | None = None
        best_cost = queries * (n * width * _NS_SCAN + _NS_QUERY)
        for plan in _plans(width * 64, max_distance):
            probes = [queries * _volume(len(positions), radius) for positions, radius in plan]
            cost = 0.0
            for (positions, _), count in zip(plan, probes, strict=True):
                per_probe = _NS_PROBE if len(positions) <= _TABLE_MAX_BITS else _NS_SEARCH
                built = tuple(positions) in self._tables
                cost += _NS_MASK + (0 if built else n * _NS_CHUNK) + count * per_probe
            if cost >= best_cost:
                continue  # dearer even before verifying: skip sampling its buckets
            for (positions, _), count in zip(plan, probes, strict=True):
                cost += count * self._bucket_size(positions) * _NS_VERIFY
            if cost < best_cost:
                best, best_cost = plan, cost
        return best


def _brute_between(
    queries: Words, columns: Words, max_distance: int, cancel: CancelToken
) -> list[Pairs]:
    """Every query compared with every indexed hash (``columns``: the index's words, transposed).

    One query at a time over contiguous columns: 3-5x faster than broadcasting a block of
    queries against the index, whose (block, n) temporaries fall out of the cache.
    """
    found = []
    for row, query in enumerate(queries):
        if row % 256 == 0:
            cancel.check()
        dist = _popcount(columns[0] ^ query[0]).astype(np.uint16)  # 256 bits overflow uint8
        for col in range(1, len(columns)):
            dist += _popcount(columns[col] ^ query[col])
        hit = np.flatnonzero(dist <= max_distance)
        found.append((np.full(len(hit), row, np.int64), hit, dist[hit].astype(np.int32)))
    return found
