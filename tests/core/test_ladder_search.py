"""Grouping through the crop ladder (cropped, watermarked, captioned copies): hand-made hashes."""

from __future__ import annotations

import dataclasses
import random
from itertools import combinations
from typing import Any

import numpy as np
import pytest

from dedup_gui.core import ladder_search
from dedup_gui.core.cancel import NeverCancelled
from dedup_gui.core.grouping import group_by_distance
from dedup_gui.core.hamming import HashIndex
from dedup_gui.core.ladder_search import (
    LADDER_MAX_DISTANCE,
    LEVEL_PAIRS,
    LadderIndex,
    ladder_pairs,
)
from dedup_gui.core.model import Group, ImageRecord, Turn
from tests.core.test_grouping import BASE, FAR, OTHER, entry, flip, hamming, names, rec, turned_rec

R1, R2, R3 = 0x0F0F_1234_5678_9ABC, 0x7777_0000_FFFF_1111, 0x1357_9BDF_0246_8ACE  # far apart
UNRELATED = 0xFEDC_BA98_7654_3210


def h(value: int) -> bytes:
    return value.to_bytes(8, "big")


def laddered(name: str, upright: int, rungs: tuple[int, int, int], **kwargs: Any) -> ImageRecord:
    return dataclasses.replace(rec(name, upright, **kwargs), ladder=b"".join(map(h, rungs)))


def members(group: Group) -> dict[str, tuple[int, Turn, bool]]:
    return {m.record.path.name: (m.distance, m.turn, m.cropped) for m in group.members}


def test_a_crop_is_grouped_through_the_ladder_and_flagged() -> None:
    # The copy is the original's 90 % window: its whole picture is 20 bits from the original's
    # but 3 bits from that window's hash.
    crop_hash = flip(BASE, range(20))
    original = laddered("original.jpg", BASE, (flip(crop_hash, [40, 41, 42]), R2, R3), px=400)
    crop = laddered("crop.jpg", crop_hash, (UNRELATED, FAR, OTHER))
    assert hamming(crop.perceptual_hash, original.perceptual_hash) == 20
    (group,) = group_by_distance([original, crop], 8, match_crops=True)
    assert members(group) == {
        "original.jpg": (0, Turn.NONE, False),
        "crop.jpg": (3, Turn.NONE, True),
    }
    assert group_by_distance([original, crop], 8) == []  # match_crops off: ladders ignored
    assert group_by_distance([original, crop], 8, match_crops=False, match_turned=True) == []


def test_an_upright_match_is_never_flagged_even_if_a_rung_is_nearer() -> None:
    b_hash = flip(BASE, [1, 2, 3, 4, 5])
    # a's 90 % window hashes exactly as b (distance 0), but the upright pair (5 bits) wins.
    a = laddered("a.jpg", BASE, (b_hash, R2, R3), px=400)
    b = laddered("b.jpg", b_hash, (UNRELATED, FAR, OTHER))
    (group,) = group_by_distance([a, b], 8, match_crops=True)
    assert members(group)["b.jpg"] == (5, Turn.NONE, False)


@pytest.mark.parametrize(("left", "right"), sorted(LEVEL_PAIRS))
def test_every_searched_level_pair_is_found(left: int, right: int) -> None:
    a_hashes = [BASE, R1, R2, R3]
    b_hashes = [FAR, UNRELATED, OTHER, 0x5A5A_5A5A_A5A5_A5A5]
    b_hashes[right] = flip(a_hashes[left], [7, 30])
    a = laddered("a.jpg", a_hashes[0], (a_hashes[1], a_hashes[2], a_hashes[3]), px=400)
    b = laddered("b.jpg", b_hashes[0], (b_hashes[1], b_hashes[2], b_hashes[3]))
    (group,) = group_by_distance([a, b], 8, match_crops=True)
    assert members(group)["b.jpg"] == (2, Turn.NONE, True)


def test_a_watermarked_copy_is_found_through_its_70_percent_window() -> None:
    a = laddered("a.jpg", BASE, (R1, R2, R3), px=400)
    marked = laddered("marked.jpg", FAR, (OTHER, UNRELATED, flip(R3, [0, 9, 18, 27])))
    (group,) = group_by_distance([a, marked], 8, match_crops=True)
    assert members(group)["marked.jpg"] == (4, Turn.NONE, True)


def test_the_ladder_radius_is_capped() -> None:
    a = laddered("a.jpg", BASE, (R1, R2, R3), px=400)
    far_crop = dataclasses.replace(a, path=a.path.with_name("c.jpg"), content_hash=b"c" * 16)
    far_crop = dataclasses.replace(far_crop, perceptual_hash=h(flip(R1, range(10))), ladder=b"")
    assert group_by_distance([a, far_crop], 12, match_crops=True) == []
    near_crop = dataclasses.replace(
        far_crop, perceptual_hash=h(flip(R1, range(LADDER_MAX_DISTANCE)))
    )
    (group,) = group_by_distance([a, near_crop], 12, match_crops=True)
    assert members(group)["c.jpg"] == (LADDER_MAX_DISTANCE, Turn.NONE, True)
    assert group_by_distance([a, near_crop], 6, match_crops=True) == []  # nor beyond max_distance


def test_a_record_without_a_ladder_is_found_by_its_upright_hash() -> None:
    original = laddered("original.jpg", BASE, (R1, R2, R3), px=400)
    crop = rec("crop.jpg", flip(R2, [5]))  # hashed before ladders existed
    (group,) = group_by_distance([original, crop], 8, match_crops=True)
    assert members(group)["crop.jpg"] == (1, Turn.NONE, True)


def test_records_without_ladders_group_as_today() -> None:
    rng = random.Random(5)
    records = [
        rec(f"{k}.jpg", flip(BASE, rng.sample(range(64), rng.randrange(12)))) for k in range(40)
    ]
    records += [rec(f"far{k}.jpg", rng.getrandbits(64)) for k in range(40)]
    assert group_by_distance(records, 8, match_crops=True) == group_by_distance(records, 8)
    turned = [
        turned_rec(
            r.path.name, int.from_bytes(r.perceptual_hash, "big"), entry(Turn.MIRRORED, BASE)
        )
        for r in records[:5]
    ]
    assert group_by_distance(turned, 8, match_turned=True, match_crops=True) == group_by_distance(
        turned, 8, match_turned=True
    )


def test_turned_and_cropped_copies_in_one_group() -> None:
    original = dataclasses.replace(
        laddered("original.jpg", BASE, (R1, R2, R3), px=400), turned=entry(Turn.NONE, OTHER)
    )
    turned = turned_rec("turned.jpg", FAR, entry(Turn.ROTATED_90, flip(OTHER, [2, 5])))
    crop = laddered("crop.jpg", flip(R1, [4]), (UNRELATED, 0, 1))
    (group,) = group_by_distance([original, turned, crop], 8, match_turned=True, match_crops=True)
    assert members(group) == {
        "original.jpg": (0, Turn.NONE, False),
        "crop.jpg": (1, Turn.NONE, True),
        "turned.jpg": (2, Turn.ROTATED_270, False),
    }
    # The turned entries do not make the crop a turned match, nor the other way round.
    without = group_by_distance([original, turned, crop], 8, match_turned=True)
    assert names(without[0]) == ["original.jpg", "turned.jpg"]


def test_exact_copies_of_a_cropped_member_are_flagged_too() -> None:
    original = laddered("original.jpg", BASE, (R1, R2, R3), px=400)
    copies = [
        laddered(n, flip(R1, [4, 5]), (FAR, OTHER, 0), content=b"x" * 16)
        for n in ("c1.jpg", "c2.jpg")
    ]
    (group,) = group_by_distance([original, *copies], 8, match_crops=True)
    assert [m.cropped for m in group.members] == [False, True, True]


def test_multi_hashes_ignore_match_crops() -> None:
    a = laddered("a.jpg", BASE, (R1, R2, R3), px=400)
    b = rec("b.jpg", R1)
    assert group_by_distance([a, b], 8, segment_bytes=8, match_crops=True) == []


def test_a_ladder_must_be_three_whole_hashes() -> None:
    bad = dataclasses.replace(rec("a.jpg"), ladder=h(R1) * 2)
    with pytest.raises(ValueError, match="ladder"):
        group_by_distance([bad, rec("b.jpg", FAR)], 8, match_crops=True)


def test_ladder_invariants_hold_on_random_records() -> None:
    rng = np.random.default_rng(3)
    centres = rng.integers(0, 2**63, size=(30, 4), dtype=np.uint64)
    records = []
    for k in range(150):
        levels = [int(v) for v in centres[k % 30]]
        if k % 7 == 0:  # some pictures whose windows match other levels
            rng.shuffle(levels)
        levels = [
            flip(v, rng.choice(64, rng.integers(0, 9), replace=False).tolist()) for v in levels
        ]
        records.append(laddered(f"{k}.jpg", levels[0], (levels[1], levels[2], levels[3])))
    groups = group_by_distance(records, 8, match_crops=True)
    assert any(m.cropped for g in groups for m in g.members)
    plain = {frozenset(names(g)) for g in group_by_distance(records, 8)}
    assert plain  # some pictures are near upright too
    for group in groups:
        ref = group.members[0].record
        for member in group.members[1:]:
            upright = hamming(ref.perceptual_hash, member.record.perceptual_hash)
            if member.cropped:
                assert upright > 8
                assert member.distance == _ladder_distance(ref, member.record)
            else:
                assert member.distance == upright <= 8


def _ladder_distance(a: ImageRecord, b: ImageRecord) -> int:
    levels = [[x.perceptual_hash] + [x.ladder[k * 8 : k * 8 + 8] for k in range(3)] for x in (a, b)]
    return min(hamming(levels[0][i], levels[1][j]) for i, j in LEVEL_PAIRS)


# --- the search itself ---------------------------------------------------------------------


def _random_hashes(rng: np.random.Generator, n: int, nbytes: int = 8) -> list[bytes]:
    return [rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes() for _ in range(n)]


def _levels(upright: bytes, ladder: bytes) -> list[bytes]:
    """A picture's hashes by level; b"" where it has none."""
    width = len(ladder) // 3
    return [upright] + [ladder[k * width : (k + 1) * width] for k in range(3) if width]


def _brute_ladder_pairs(
    uprights: list[bytes], ladders: list[bytes], radius: int
) -> dict[tuple[int, int], int]:
    levels = [_levels(u, lad) for u, lad in zip(uprights, ladders, strict=True)]
    best: dict[tuple[int, int], int] = {}
    for i, j in combinations(range(len(uprights)), 2):
        dists = [
            hamming(levels[i][a], levels[j][b])
            for a, b in LEVEL_PAIRS
            if a < len(levels[i]) and b < len(levels[j]) and levels[i][a] and levels[j][b]
        ]
        if dists and min(dists) <= radius:
            best[i, j] = min(dists)
    return best


@pytest.mark.parametrize(("nbytes", "radius"), [(8, 8), (8, 1), (8, 0), (16, 8)])
def test_ladder_pairs_equal_brute_force(
    monkeypatch: pytest.MonkeyPatch, nbytes: int, radius: int
) -> None:
    monkeypatch.setattr(ladder_search, "_BRUTE_MAX", 0)  # probe buckets even for a few hashes
    rng = np.random.default_rng(nbytes + radius)
    n = 120
    uprights = _random_hashes(rng, n, nbytes)
    ladders = [b"".join(_random_hashes(rng, 3, nbytes)) for _ in range(n)]
    for k in range(0, n - 1, 2):  # copy one level of k to any level of k + 1, a few bits off
        src, dst = rng.integers(0, 4, 2)
        copied = bytearray(_levels(uprights[k], ladders[k])[src])
        for bit in rng.choice(nbytes * 8, int(rng.integers(0, radius + 2)), replace=False):
            copied[bit // 8] ^= 1 << int(bit % 8)
        levels = _levels(uprights[k + 1], ladders[k + 1])
        levels[dst] = bytes(copied)
        uprights[k + 1], ladders[k + 1] = levels[0], b"".join(levels[1:])
    ladders[7] = ladders[9] = b""  # not hashed with ladders
    uprights[11] = b""
    got_i, got_j, got_d = ladder_pairs(uprights, ladders, nbytes, radius, NeverCancelled())
    got = dict(zip(zip(got_i.tolist(), got_j.tolist(), strict=True), got_d.tolist(), strict=True))
    want = _brute_ladder_pairs(uprights, ladders, radius)
    assert len(want) >= 10
    assert got == want


def test_cross_search_finds_pairs_in_crowded_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ladder_search, "_BRUTE_MAX", 0)
    rng = np.random.default_rng(9)
    # Hashes that share most bits: every chunk value has many hashes.
    a = np.unique(rng.integers(0, 2**10, 3000, dtype=np.uint64) << np.uint64(3))
    b = np.unique(a[:500] ^ np.uint64(1 << 40) | np.uint64(1 << 62))
    found = ladder_search._cross_pairs(a, b, 3, NeverCancelled())
    dist = np.bitwise_count(a[:, None] ^ b[None, :])
    want = set(zip(*np.nonzero(dist <= 3), strict=True))
    assert len(want) > 100
    assert set(zip(found[0].tolist(), found[1].tolist(), strict=True)) == {
        (int(i), int(j)) for i, j in want
    }


def test_ladder_index_finds_what_grouping_finds() -> None:
    rng = np.random.default_rng(4)
    library = _random_hashes(rng, 50)
    ladders = [b"".join(_random_hashes(rng, 3)) for _ in range(50)]
    ladders[3] = b""
    # A crop of 5 (its 90 % window), the same upright hash as 6 (not a ladder match), none.
    queries = [ladders[5][:8], library[6], b""]
    query_ladders = [b"", library[9] + _random_hashes(rng, 1)[0] + ladders[10][16:], ladders[12]]
    index = LadderIndex(
        ladders,
        8,
        HashIndex(np.frombuffer(b"".join(library), np.uint8).reshape(50, 8)),
        np.arange(50),
    )
    q, k, _d = index.pairs_with(queries, query_ladders, 8, NeverCancelled())
    found = set(zip(q.tolist(), k.tolist(), strict=True))
    assert {(0, 5), (1, 9), (1, 10), (2, 12)} <= found
    assert (1, 6) not in found
    everything = library + queries
    pairs = ladder_pairs(everything, ladders + query_ladders, 8, 8, NeverCancelled())
    expected = {
        (j - 50, i)
        for i, j in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)
        if i < 50 <= j
    }
    assert found == expected


def _bench_like_records(n: int, seed: int) -> list[ImageRecord]:
    """As benchmarks/bench_grouping.py: 10 % in clusters of near hashes, rungs and turned entries
    as fixed bit permutations of the hash; plus copies planted at a window of another record."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (n, 64), dtype=np.uint8)
    for start in range(0, n // 10, 4):  # clusters of 4 within 0-8 flipped bits of their first
        bits[start + 1 : start + 4] = bits[start]
        flips = rng.random((3, 64)) < rng.integers(0, 9, (3, 1)) / 64
        bits[start + 1 : start + 4] ^= flips.astype(np.uint8)
    views = [
        bits[:, rng.permutation(64)] ^ rng.integers(0, 2, 64, dtype=np.uint8) for _ in range(5)
    ]
    hashes, rungs, turned = np.packbits(bits, axis=1), views[:3], views[3:]
    ladders = np.concatenate([np.packbits(r, axis=1) for r in rungs], axis=1)
    for k in rng.choice(n - 1, n // 50, replace=False):  # k + 1: a crop or caption of k
        level = int(rng.integers(1, 4))
        window = np.unpackbits(ladders[k, (level - 1) * 8 : level * 8])
        window[rng.choice(64, int(rng.integers(0, 10)), replace=False)] ^= 1
        if level == 3:  # a caption: the 70 % windows are near
            ladders[k + 1, 16:] = np.packbits(window)
        else:
            hashes[k + 1] = np.packbits(window)
    entry_bytes = [np.packbits(t, axis=1) for t in turned]
    records = []
    for k in range(n):
        blob = bytes([int(rng.integers(0, 8))]) + entry_bytes[0][k].tobytes()
        if k % 7 == 0:
            blob += bytes([int(rng.integers(0, 8))]) + entry_bytes[1][k].tobytes()
        record = rec(f"{k:06d}.jpg", hashes[k].tobytes(), content=k.to_bytes(16, "big"))
        records.append(dataclasses.replace(record, turned=blob, ladder=ladders[k].tobytes()))
    return records


def test_the_slot_search_groups_as_a_search_over_both_sides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ~50k benchmark-like records at a scan's defaults: the same groups, members, distances,
    # turns and cropped flags as with the ladder searched by hamming's search of the union.
    records = _bench_like_records(50_000, 11)
    found = group_by_distance(records, 8, match_turned=True, match_crops=True)

    def by_union(a: Any, b: Any, max_distance: int, cancel: Any) -> Any:
        return ladder_search._cross_by_union(a[:, None], b[:, None], max_distance, cancel)

    monkeypatch.setattr(ladder_search, "_cross_pairs", by_union)
    assert found == group_by_distance(records, 8, match_turned=True, match_crops=True)
    near = [m for g in found for m in g.members[1:]]
    assert sum(m.cropped for m in near) > 300
    assert sum(m.turn != Turn.NONE for m in near) > 50
