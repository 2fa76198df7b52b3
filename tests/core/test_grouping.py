"""Tests of grouping by hash distance: records built directly, no images needed."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dedup_gui.core.cancel import Cancelled, CancelToken
from dedup_gui.core.grouping import best_first_key, group_by_distance
from dedup_gui.core.model import Group, ImageRecord, Relation, Turn
from dedup_gui.core.turning import between, compose, entries, inverse
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


# --- match_turned ---------------------------------------------------------------------------

FAR = flip(BASE, range(0, 64, 2))  # 32 bits from BASE
OTHER = flip(BASE, range(1, 64, 2))  # 32 bits from BASE and 64 from FAR


def entry(turn: Turn, value: int) -> bytes:
    return bytes([turn]) + value.to_bytes(8, "big")


def turned_rec(name: str, upright: int, *entries: bytes, **kwargs: Any) -> ImageRecord:
    return dataclasses.replace(rec(name, upright, **kwargs), turned=b"".join(entries))


def turns(group: Group) -> dict[str, Turn]:
    return {m.record.path.name: m.turn for m in group.members}


@pytest.mark.parametrize(("ref_turn", "other_turn"), list(product(Turn, Turn)))
def test_a_member_is_the_reference_turned_as_their_entries_say(
    ref_turn: Turn, other_turn: Turn
) -> None:
    # a turned by ref_turn looks like b turned by other_turn (both hash to BASE), so b is a
    # turned by ref_turn, then by the inverse of other_turn.
    a = turned_rec("a.jpg", FAR, entry(ref_turn, BASE), px=300)
    b = turned_rec("b.jpg", OTHER, entry(other_turn, flip(BASE, [3])))
    (group,) = group_by_distance([a, b], 8, match_turned=True)
    expected = compose(ref_turn, inverse(other_turn))
    assert turns(group) == {"a.jpg": Turn.NONE, "b.jpg": expected}
    assert [m.distance for m in group.members] == [0, 1]
    # The other way round: a is b turned back.
    bigger_b = dataclasses.replace(b, width=400, height=400)
    (group,) = group_by_distance([bigger_b, a], 8, match_turned=True)
    assert turns(group) == {"b.jpg": Turn.NONE, "a.jpg": inverse(expected)}


def test_without_match_turned_entries_are_ignored() -> None:
    a = turned_rec("a.jpg", FAR, entry(Turn.NONE, BASE), px=300)
    b = turned_rec("b.jpg", OTHER, entry(Turn.ROTATED_90, BASE))
    assert group_by_distance([a, b], 8) == []
    assert group_by_distance([a, b], 8, match_turned=False) == []
    assert len(group_by_distance([a, b], 8, match_turned=True)) == 1


def test_a_record_without_entries_matches_by_its_upright_hash() -> None:
    plain = rec("plain.jpg", BASE, px=300)  # e.g. hashed before turned hashes existed
    turned = turned_rec("turned.jpg", OTHER, entry(Turn.ROTATED_270, flip(BASE, [9])))
    (group,) = group_by_distance([plain, turned], 8, match_turned=True)
    # turned.jpg turned 270 degrees clockwise is plain.jpg: it is plain.jpg turned 90.
    assert turns(group) == {"plain.jpg": Turn.NONE, "turned.jpg": Turn.ROTATED_90}


def test_upright_hashes_still_match_whatever_the_entries() -> None:
    # In their canonical orientation the two are apart (a hash's bits depend on orientation),
    # upright they are 3 bits apart: matching turned copies must not lose that pair.
    a = turned_rec("a.jpg", BASE, entry(Turn.MIRRORED, FAR), px=300)
    b = turned_rec("b.jpg", flip(BASE, [1, 2, 3]), entry(Turn.MIRRORED, OTHER))
    (group,) = group_by_distance([a, b], 8, match_turned=True)
    assert turns(group) == {"a.jpg": Turn.NONE, "b.jpg": Turn.NONE}
    assert group.members[1].distance == 3


def test_the_nearest_entries_decide_and_a_tie_prefers_the_lower_turn() -> None:
    a = turned_rec("a.jpg", FAR, entry(Turn.NONE, BASE), entry(Turn.ROTATED_90, OTHER), px=300)
    near = turned_rec(
        "near.jpg",
        flip(FAR, range(20)),
        entry(Turn.ROTATED_180, flip(BASE, range(5))),  # says ROTATED_180, 5 bits
        entry(Turn.ROTATED_90, flip(OTHER, [7, 8])),  # says NONE, 2 bits: wins
    )
    (group,) = group_by_distance([a, near], 8, match_turned=True)
    assert turns(group)["near.jpg"] is Turn.NONE
    assert group.members[1].distance == 2
    mirrored = inverse(compose(inverse(Turn.ROTATED_90), Turn.MIRRORED))
    tie = turned_rec(
        "tie.jpg",
        flip(FAR, range(20)),
        entry(Turn.ROTATED_180, BASE),  # says ROTATED_180
        entry(mirrored, OTHER),  # says MIRRORED, as near
    )
    (group,) = group_by_distance([a, tie], 8, match_turned=True)
    assert turns(group)["tie.jpg"] is Turn.ROTATED_180


def test_exact_copies_of_a_turned_member_share_its_turn() -> None:
    same = os.urandom(16)
    a = turned_rec("a.jpg", FAR, entry(Turn.NONE, BASE), px=300)
    copies = [
        turned_rec(name, OTHER, entry(Turn.MIRRORED, BASE), content=same)
        for name in ("m1.jpg", "m2.jpg")
    ]
    (group,) = group_by_distance([a, *copies], 8, match_turned=True)
    assert turns(group) == {"a.jpg": Turn.NONE, "m1.jpg": Turn.MIRRORED, "m2.jpg": Turn.MIRRORED}


def test_turned_entries_must_be_whole_and_name_a_turn() -> None:
    a = turned_rec("a.jpg", BASE, entry(Turn.NONE, BASE)[:-1])
    with pytest.raises(ValueError, match="entries"):
        group_by_distance([a, rec("b.jpg")], 8, match_turned=True)
    bad = turned_rec("a.jpg", BASE, b"\x08" + BASE.to_bytes(8, "big"))
    with pytest.raises(ValueError, match="turn"):
        group_by_distance([bad, rec("b.jpg")], 8, match_turned=True)


def test_multi_hashes_ignore_match_turned() -> None:
    a = turned_rec("a.jpg", BASE, entry(Turn.NONE, FAR), px=300)
    b = turned_rec("b.jpg", OTHER, entry(Turn.ROTATED_90, FAR))
    assert group_by_distance([a, b], 8, segment_bytes=8, match_turned=True) == []


def test_turned_leader_invariants_hold_on_random_entries() -> None:
    rng = np.random.default_rng(11)
    hashes = planted(rng, 900, 8, max_flips=10)
    records = []
    for k in range(300):  # each record: an upright hash and 1-2 entries from the same pool
        picks = rng.choice(len(hashes), size=int(rng.integers(2, 4)), replace=False)
        blobs = [bytes([int(rng.integers(0, 8))]) + hashes[p].tobytes() for p in picks[1:]]
        records.append(
            turned_rec(f"{k}.jpg", int.from_bytes(hashes[picks[0]].tobytes(), "big"), *blobs)
        )
    groups = group_by_distance(records, 8, match_turned=True)
    assert groups
    seen = [m.record.path for g in groups for m in g.members]
    assert len(seen) == len(set(seen))

    for group in groups:
        ref = group.reference.record
        for member in group.members[1:]:
            other = member.record
            # Upright hashes against each other, entries against each other.
            found = [(hamming(ref.perceptual_hash, other.perceptual_hash), Turn.NONE)]
            found += [
                (hamming(h, hm), between(t, tm))
                for t, h in entries(ref.turned, 8)
                for tm, hm in entries(other.turned, 8)
            ]
            assert member.distance == min(d for d, _ in found) <= 8
            assert member.turn == min(turn for d, turn in found if d == member.distance)


def test_records_without_any_hash_group_only_as_exact_copies_when_matching_turned() -> None:
    same = os.urandom(16)
    records = [rec("a.jpg", b""), rec("c.jpg", b"", content=same), rec("d.jpg", b"", content=same)]
    records.append(turned_rec("e.jpg", BASE, entry(Turn.MIRRORED, FAR)))
    only_entries = dataclasses.replace(rec("f.jpg", b""), turned=entry(Turn.NONE, FAR))
    groups = group_by_distance([*records, only_entries], 8, match_turned=True)
    assert sorted((turns(g) for g in groups), key=sorted) == [
        {"c.jpg": Turn.NONE, "d.jpg": Turn.NONE},
        {"e.jpg": Turn.NONE, "f.jpg": Turn.MIRRORED},
    ]
