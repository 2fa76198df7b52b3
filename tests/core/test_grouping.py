"""Tests of grouping by hash distance: records built directly, no images needed."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from dedup_gui.core.cancel import Cancelled, CancelToken
from dedup_gui.core.grouping import best_first_key, group_by_distance
from dedup_gui.core.model import Group, ImageRecord, Relation
from tests.core.test_hamming import planted

BASE = 0x0123_4567_89AB_CDEF  # any 64-bit pattern


def flip(value: int, bits: Iterable[int]) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


def rec(
    name: str,
    phash: int | bytes = BASE,
    *,
    content: bytes | None = None,
    size: int = 1000,
    px: int = 100,
    date: str | None = None,
) -> ImageRecord:
    perceptual = phash if isinstance(phash, bytes) else phash.to_bytes(8, "big")
    return ImageRecord(
        path=Path("/photos") / name,
        size=size,
        mtime_ns=0,
        content_hash=content if content is not None else os.urandom(16),
        perceptual_hash=perceptual,
        width=px,
        height=px,
        format="JPEG",
        date_taken=date,
    )


def names(group: Group) -> list[str]:
    return [m.record.path.name for m in group.members]


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


# --- best_first_key -------------------------------------------------------------------------

# (better, worse): each row isolates one rule, earlier rules outranking later ones.
BEST_FIRST_TABLE = [
    (rec("small-but-sharp.jpg", px=200, size=10), rec("big-file.jpg", px=100, size=99999)),
    (rec("heavy.jpg", size=2000), rec("light.jpg", size=1000)),
    (rec("dated.jpg", date="2024-01-01 00:00:00"), rec("undated.jpg")),
    (rec("old.jpg", date="2001-05-01 10:00:00"), rec("new.jpg", date="2001-05-01 10:00:01")),
    (rec("z.jpg"), rec("longer/a.jpg")),
    (rec("a.jpg"), rec("b.jpg")),
    (rec("a.jpg"), rec(os.fsdecode(b"\xff.jpg"))),  # not UTF-8: still ordered, no error
]


@pytest.mark.parametrize(("better", "worse"), BEST_FIRST_TABLE)
def test_best_first_key_orders_best_copy_first(better: ImageRecord, worse: ImageRecord) -> None:
    assert best_first_key(better) < best_first_key(worse)
    assert sorted([worse, better], key=best_first_key)[0] is better


# --- group_by_distance ----------------------------------------------------------------------


def test_exact_copies_form_one_group_with_the_best_copy_first() -> None:
    same = os.urandom(16)
    records = [
        rec("deep/folder/copy.jpg", content=same),
        rec("copy.jpg", content=same),
        rec("other.jpg", flip(BASE, range(30))),
        rec("b/copy.jpg", content=same),
    ]
    (group,) = group_by_distance(records, 8)
    assert names(group) == ["copy.jpg", "copy.jpg", "copy.jpg"]
    assert [str(m.record.path) for m in group.members] == [
        "/photos/copy.jpg",
        "/photos/b/copy.jpg",
        "/photos/deep/folder/copy.jpg",
    ]
    assert [m.relation for m in group.members] == [Relation.REFERENCE, *[Relation.EXACT] * 2]
    assert [m.distance for m in group.members] == [0, 0, 0]


# (threshold, bits flipped, grouped?)
THRESHOLD_TABLE = [
    (0, 0, True),
    (0, 1, False),
    (4, 3, True),
    (4, 4, True),
    (4, 5, False),
    (8, 8, True),
    (8, 9, False),
    (8, 20, False),
]


@pytest.mark.parametrize(("threshold", "flipped", "grouped"), THRESHOLD_TABLE)
def test_near_copies_group_within_the_threshold_only(
    threshold: int, flipped: int, grouped: bool
) -> None:
    records = [rec("a.jpg"), rec("b.jpg", flip(BASE, range(5, 5 + flipped)))]
    groups = group_by_distance(records, threshold)
    if grouped:
        (group,) = groups
        assert [m.relation for m in group.members] == [Relation.REFERENCE, Relation.NEAR]
        assert group.members[1].distance == flipped
    else:
        assert groups == []


def test_reference_is_the_best_copy_and_members_go_by_distance_then_quality() -> None:
    records = [
        rec("far-sharp.jpg", flip(BASE, range(6)), px=300),
        rec("close-small.jpg", flip(BASE, [1]), px=50),
        rec("best.jpg", BASE, px=400),
        rec("close-sharp.jpg", flip(BASE, [2]), px=300),
    ]
    (group,) = group_by_distance(records, 8)
    assert names(group) == ["best.jpg", "close-sharp.jpg", "close-small.jpg", "far-sharp.jpg"]
    assert [m.distance for m in group.members] == [0, 1, 1, 6]


def test_exact_copies_of_a_near_member_are_near_at_its_distance() -> None:
    same = os.urandom(16)
    records = [
        rec("ref.jpg", px=200),
        rec("near.jpg", flip(BASE, [0, 1]), content=same),
        rec("near-copy.jpg", flip(BASE, [0, 1]), content=same),
    ]
    (group,) = group_by_distance(records, 8)
    assert names(group) == ["ref.jpg", "near.jpg", "near-copy.jpg"]
    assert [m.relation for m in group.members] == [Relation.REFERENCE, *[Relation.NEAR] * 2]
    assert [m.distance for m in group.members] == [0, 2, 2]


def test_no_chaining_every_member_is_near_its_reference() -> None:
    # Link k is 3 bits from link k-1 (fresh bits each time): the ends are 27 bits apart.
    chain = [rec(f"{k}.jpg", flip(BASE, range(3 * k)), size=2000 - k) for k in range(10)]
    groups = group_by_distance(chain, 8)
    for group in groups:
        ref = group.reference.record.perceptual_hash
        for member in group.members:
            assert member.distance == hamming(ref, member.record.perceptual_hash) <= 8
    # Best (largest) first: 0 takes 1 and 2 (6 bits), 3 takes 4 and 5, 6 takes 7 and 8.
    assert sorted(names(g) for g in groups) == [
        ["0.jpg", "1.jpg", "2.jpg"],
        ["3.jpg", "4.jpg", "5.jpg"],
        ["6.jpg", "7.jpg", "8.jpg"],
    ]


def test_not_duplicates_pair_is_kept_apart() -> None:
    a, b, c = rec("a.jpg", px=300), rec("b.jpg", flip(BASE, [0]), px=200), rec("c.jpg", px=100)
    apart = {frozenset({a.content_hash, b.content_hash})}
    (group,) = group_by_distance([a, b, c], 8, not_duplicates=apart)
    # a is the reference and skips b; b is left alone, since c is already taken.
    assert names(group) == ["a.jpg", "c.jpg"]
    assert [names(g) for g in group_by_distance([a, b], 8)] == [["a.jpg", "b.jpg"]]
    assert group_by_distance([a, b], 8, not_duplicates=apart) == []


def test_not_duplicates_leaves_the_other_to_a_later_reference() -> None:
    a, b = rec("a.jpg", px=300), rec("b.jpg", px=200)
    c = rec("c.jpg", px=100)
    apart = {frozenset({a.content_hash, c.content_hash})}
    (group,) = group_by_distance([a, b, c], 8, not_duplicates=apart)
    assert names(group) == ["a.jpg", "b.jpg"]  # c stays ungrouped: b is no reference


def segments(*values: int) -> bytes:
    return b"".join(v.to_bytes(8, "big") for v in values)


def test_multi_hash_is_near_when_any_segment_is_near_any_other() -> None:
    s1, s2, s3 = BASE, flip(BASE, range(20)), flip(BASE, range(40, 64))
    records = [
        rec("a.jpg", segments(s1, s2), px=300),
        rec("b.jpg", segments(flip(s3, range(10)), flip(s2, range(60, 64)), flip(s1, range(5)))),
        rec("c.jpg", segments(flip(s3, range(30, 60))), px=50),  # far from every segment
        rec("d.jpg", segments(flip(s3, [1]), s1, s2), px=200),
    ]
    (group,) = group_by_distance(records, 8, segment_bytes=8)
    assert names(group) == ["a.jpg", "d.jpg", "b.jpg"]
    assert [m.distance for m in group.members] == [0, 0, 4]


def test_multi_hash_rejects_a_hash_that_is_not_whole_segments() -> None:
    with pytest.raises(ValueError, match="segments"):
        group_by_distance([rec("a.jpg", b"\0" * 12), rec("b.jpg")], 8, segment_bytes=8)


def test_hashes_of_different_lengths_are_refused_without_segments() -> None:
    with pytest.raises(ValueError, match="length"):
        group_by_distance([rec("a.jpg", b"\0" * 4), rec("b.jpg")], 8)


def test_empty_and_single_inputs_give_no_groups() -> None:
    assert group_by_distance([], 8) == []
    assert group_by_distance([rec("a.jpg")], 8) == []
    assert group_by_distance([rec("a.jpg")], 8, segment_bytes=8) == []


@pytest.mark.parametrize("segment_bytes", [None, 8])
def test_records_without_a_perceptual_hash_group_only_as_exact_copies(
    segment_bytes: int | None,
) -> None:
    same = os.urandom(16)
    records = [
        rec("a.jpg", b""),
        rec("b.jpg", b""),
        rec("c.jpg", b"", content=same),
        rec("d.jpg", b"", content=same),
        rec("e.jpg"),
        rec("f.jpg"),
    ]
    groups = group_by_distance(records, 8, segment_bytes=segment_bytes)
    assert sorted(names(g) for g in groups) == [["c.jpg", "d.jpg"], ["e.jpg", "f.jpg"]]


def test_groups_are_sorted_by_reclaimable_bytes_then_reference_path() -> None:
    far = [flip(BASE, range(k, 64, 3)) for k in range(3)]  # ~21 bits apart from each other
    records = [
        rec("small-a.jpg", far[0], size=100),
        rec("small-b.jpg", far[0], size=100),
        rec("big-a.jpg", far[1], size=5000),
        rec("big-b.jpg", far[1], size=5000),
        rec("also-small-a.jpg", far[2], size=100),
        rec("also-small-b.jpg", far[2], size=100),
    ]
    groups = group_by_distance(records, 8)
    assert [g.bytes_reclaimable for g in groups] == [5000, 100, 100]
    assert [names(g)[0] for g in groups] == ["big-a.jpg", "also-small-a.jpg", "small-a.jpg"]


def test_cancelled_token_stops_grouping() -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        group_by_distance([rec("a.jpg"), rec("b.jpg")], 8, cancel=token)


def test_leader_invariants_hold_on_random_clustered_records() -> None:
    rng = np.random.default_rng(7)
    hashes = planted(rng, 600, 8, max_flips=12)
    records = [
        rec(f"{k}.jpg", row.tobytes(), size=int(rng.integers(100, 200)))
        for k, row in enumerate(hashes)
    ]
    groups = group_by_distance(records, 8)
    seen = [m.record.path for g in groups for m in g.members]
    assert len(seen) == len(set(seen))
    refs = [g.reference.record for g in groups]
    for group in groups:
        ref = group.reference.record
        assert len(group.members) >= 2
        assert min(best_first_key(m.record) for m in group.members) == best_first_key(ref)
        for member in group.members[1:]:
            assert member.distance == hamming(ref.perceptual_hash, member.record.perceptual_hash)
            assert member.distance <= 8
    # An ungrouped record is not near any better reference (it would have been taken).
    grouped = set(seen)
    for record in records:
        if record.path in grouped:
            continue
        for ref in refs:
            if best_first_key(ref) < best_first_key(record):
                assert hamming(ref.perceptual_hash, record.perceptual_hash) > 8
