"""Tests of the Hamming-distance pair search: random hashes against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from dedup_gui.core import hamming, hash_tables
from dedup_gui.core.cancel import Cancelled, CancelToken
from dedup_gui.core.hamming import find_candidate_pairs


def planted(rng: np.random.Generator, n: int, nbytes: int, max_flips: int) -> np.ndarray:
    """Random hashes, a third of them in clusters of 2-5 around random centres."""
    hashes = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    bits = np.unpackbits(hashes, axis=1)
    row = 0
    while row < n // 3:
        size = int(rng.integers(2, 6))
        for member in range(row + 1, min(row + size, n)):
            bits[member] = bits[row]
            bits[member, rng.choice(nbytes * 8, int(rng.integers(0, max_flips + 1)), False)] ^= 1
        row += size
    return np.packbits(bits, axis=1)[rng.permutation(n)]


def brute_pairs(hashes: np.ndarray, max_distance: int) -> set[tuple[int, int, int]]:
    ints = [int.from_bytes(row.tobytes(), "big") for row in hashes]
    return {
        (i, j, d)
        for i in range(len(ints))
        for j in range(i + 1, len(ints))
        if (d := (ints[i] ^ ints[j]).bit_count()) <= max_distance
    }


def as_set(pairs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> set[tuple[int, int, int]]:
    i, j, dist = pairs
    found = set(zip(i.tolist(), j.tolist(), dist.tolist(), strict=True))
    assert len(found) == len(i)  # each pair once
    assert (i < j).all()
    return found


def skewed(rng: np.random.Generator, n: int, nbytes: int) -> np.ndarray:
    """Many equal hashes, and many more that differ only in their first 10 bits."""
    base = rng.integers(0, 256, size=nbytes, dtype=np.uint8)
    hashes = np.tile(base, (n, 1))
    hashes[: n // 2, 0] = rng.integers(0, 256, n // 2, dtype=np.uint8)
    hashes[: n // 2, 1] ^= rng.integers(0, 4, n // 2, dtype=np.uint8) << 6
    hashes[n - n // 5 :] = rng.integers(0, 256, size=(n // 5, nbytes), dtype=np.uint8)
    return hashes[rng.permutation(n)]


# (n, nbytes, threshold, data): nbytes 32 is hash_size 16.
PAIRS_TABLE = [
    (300, 8, 0, "planted"),
    (400, 8, 4, "planted"),
    (700, 8, 8, "planted"),
    (500, 8, 12, "planted"),
    (300, 32, 8, "planted"),
    (300, 32, 24, "planted"),
    (500, 8, 8, "skewed"),
    (300, 32, 8, "skewed"),
    (50, 2, 3, "planted"),
]


@pytest.fixture(params=["chosen", "indexed", "slots"])
def search(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Lets the cost model choose (brute force, at these sizes), or forces a chunk index,
    with two-slot tables wherever they fit, however few the hashes."""
    if request.param != "chosen":
        monkeypatch.setattr(hamming, "_NS_BRUTE", 10**9)
    if request.param == "slots":
        monkeypatch.setattr(hamming, "_SLOTS_MIN_FILL", 1 << 40)
    return str(request.param)


@pytest.mark.parametrize(("n", "nbytes", "threshold", "data"), PAIRS_TABLE)
def test_candidate_pairs_equal_brute_force(
    n: int, nbytes: int, threshold: int, data: str, search: str
) -> None:
    rng = np.random.default_rng(n + nbytes + threshold)
    hashes = planted(rng, n, nbytes, threshold + 2) if data == "planted" else skewed(rng, n, nbytes)
    words = hamming.unique_rows(hamming.pack_words(hashes))[0]
    if search != "chosen":
        assert hamming._choose_plan(words, threshold) is not None
    expected = brute_pairs(hashes, threshold)
    # The data has pairs, and near ones, not only equal ones.
    assert any(d > 0 or threshold == 0 for _, _, d in expected)
    assert as_set(find_candidate_pairs(hashes, threshold)) == expected


@pytest.mark.parametrize(("nbytes", "threshold"), [(8, 8), (8, 3), (32, 8), (4, 9)])
def test_every_chunking_finds_every_pair(nbytes: int, threshold: int) -> None:
    # The cost model picks one chunking; each must be exact, whichever it picks on a machine.
    rng = np.random.default_rng(threshold)
    words, _ = hamming.unique_rows(hamming.pack_words(planted(rng, 400, nbytes, threshold)))
    brute = as_set(hamming._concat(hamming._brute_force(words, threshold, CancelToken())))
    plans = [
        plan
        for plan in hamming._plans(nbytes * 8, threshold)
        if sum(hamming._volume(len(positions), radius) for positions, radius in plan) < 50_000
    ]  # the others would take hours: the cost model never picks them
    assert len(plans) > 1
    for plan in plans:
        found = []
        for positions, radius in plan:
            found += hamming._chunk_pairs(words, positions, radius, threshold, CancelToken())
        i, j, dist = hamming._concat([hamming.no_pairs(), *found])
        # Unordered, and a pair near on several chunks comes once per chunk.
        pairs = zip(
            np.minimum(i, j).tolist(), np.maximum(i, j).tolist(), dist.tolist(), strict=True
        )
        assert set(pairs) == brute


def canonical(pairs: tuple[np.ndarray, np.ndarray, np.ndarray], n: int) -> np.ndarray:
    """Pairs as sorted rows of (min * n + max, dist): equal arrays, equal pair sets."""
    i, j, dist = pairs
    key = np.minimum(i, j) * n + np.maximum(i, j)
    return np.unique(np.stack([key, dist.astype(np.int64)], axis=1), axis=0)


@pytest.mark.parametrize(("threshold", "radius"), [(0, 0), (4, 1), (8, 2), (10, 2)])
def test_two_slot_self_join_equals_bucket_search(threshold: int, radius: int) -> None:
    # Many hashes, and crowded buckets (skewed: a thousand share most chunk values), so that
    # probes hit filled slots and overflowing buckets, and pairs come from both of their ends.
    rng = np.random.default_rng(threshold)
    hashes = np.concatenate([planted(rng, 200_000, 8, threshold + 2), skewed(rng, 6000, 8)])
    words, _ = hamming.unique_rows(hamming.pack_words(hashes))
    positions = list(range(1, 64, 3))  # 21 bits
    slots = hamming._slot_pairs(words, positions, radius, threshold, CancelToken())
    found = canonical(slots, len(words))
    assert len(found) == len(slots[0])  # each pair once
    assert (slots[0] != slots[1]).all()
    assert (len(found) > 1000) == (threshold > 0)  # distinct hashes: none at distance 0
    chunks = hamming._chunk_pairs(words, positions, radius, threshold, CancelToken())
    expected = canonical(hamming._concat([hamming.no_pairs(), *chunks]), len(words))
    np.testing.assert_array_equal(found, expected)


def test_big_buckets_are_verified_in_small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hamming, "_BLOCK", 97)
    monkeypatch.setattr(hash_tables, "_BLOCK", 97)  # expand_runs' blocks
    monkeypatch.setattr(hamming, "_SMALL_BUCKET", 2)
    hashes = skewed(np.random.default_rng(3), 400, 8)
    assert as_set(find_candidate_pairs(hashes, 8)) == brute_pairs(hashes, 8)


def test_search_works_with_the_popcount_fallback_of_old_numpy(
    monkeypatch: pytest.MonkeyPatch, search: str
) -> None:
    monkeypatch.setattr(hamming, "_popcount", hamming._popcount_table)
    hashes = planted(np.random.default_rng(11), 300, 32, 10)
    assert as_set(find_candidate_pairs(hashes, 8)) == brute_pairs(hashes, 8)


def test_cancelled_token_stops_the_search(search: str) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        find_candidate_pairs(planted(np.random.default_rng(2), 300, 8, 8), 8, cancel=token)


def test_popcount_fallback_matches_numpy() -> None:
    values = np.random.default_rng(5).integers(0, 2**63, 1000, dtype=np.uint64) * np.uint64(3)
    expected = [bin(v).count("1") for v in values.tolist()]
    assert hamming._popcount_table(values).tolist() == expected
    assert hamming._popcount(values).tolist() == expected


def test_candidate_pairs_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="2-D"):
        find_candidate_pairs(np.zeros(8, np.uint8), 8)
    with pytest.raises(ValueError, match=">= 0"):
        find_candidate_pairs(np.zeros((2, 8), np.uint8), -1)


def test_fewer_than_two_hashes_give_no_pairs() -> None:
    for count in (0, 1):
        i, j, dist = find_candidate_pairs(np.zeros((count, 8), np.uint8), 8)
        assert len(i) == len(j) == len(dist) == 0
