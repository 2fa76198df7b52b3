"""Tests of group kinds (exact / same picture / similar): records built in code, plus real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup_gui.core.grouping import group_by_distance
from dedup_gui.core.hashing import HashTask, hash_file, init_worker
from dedup_gui.core.kinds import SAME_PICTURE_MAX_DISTANCE, describe_kind, group_kind
from dedup_gui.core.model import (
    FileInfo,
    Group,
    GroupKind,
    GroupMember,
    HashSettings,
    ImageRecord,
    Relation,
)
from tests.core.images import convert, reencode, resize, write_photo

REF, EX, PX, NEAR = Relation.REFERENCE, Relation.EXACT, Relation.SAME_PIXELS, Relation.NEAR
DAY = "2021-06-01 12:00:00"


def rec(path: str, *, content: int = 0, date: str | None = DAY, hash_len: int = 8) -> ImageRecord:
    return ImageRecord(
        Path(path), 1000, 0, bytes([content]) * 16, b"\0" * hash_len, 100, 100, "JPEG", date
    )


def member(
    record: ImageRecord, relation: Relation, distance: int = 0, partner: str | None = None
) -> GroupMember:
    return GroupMember(record, relation, distance, partner=Path(partner) if partner else None)


def pair(
    raw: str, jpeg: str, *, raw_rel: Relation, jpeg_rel: Relation, d: int = 2, c: int = 0
) -> list[GroupMember]:
    """A RAW and its JPEG as members (contents c+1 and c+2)."""
    return [
        member(rec(raw, content=c + 1), raw_rel, 0 if raw_rel is REF else d, jpeg),
        member(rec(jpeg, content=c + 2), jpeg_rel, 0 if jpeg_rel is REF else d, raw),
    ]


def test_exact_and_same_pixel_copies_are_exact() -> None:
    g = Group(
        (
            member(rec("/a/x.jpg", content=1), REF),
            member(rec("/b/x.jpg", content=1), EX),
            # Same pixels, new metadata: a changed date does not make it "similar".
            member(rec("/c/x.jpg", content=2, date="2023-12-24 18:30:00"), PX),
        )
    )
    assert group_kind(g) is GroupKind.EXACT


@pytest.mark.parametrize(
    ("distance", "expected"),
    [
        (0, GroupKind.SAME_PICTURE),  # a re-encode, different bytes
        (SAME_PICTURE_MAX_DISTANCE, GroupKind.SAME_PICTURE),
        (SAME_PICTURE_MAX_DISTANCE + 2, GroupKind.SIMILAR),  # phash 8 distances are even
        (8, GroupKind.SIMILAR),
    ],
)
def test_distance_limit(distance: int, expected: GroupKind) -> None:
    g = Group(
        (
            member(rec("/a/x.jpg", content=1), REF),
            member(rec("/a/x_small.jpg", content=2), NEAR, 0),
            member(rec("/a/x_edit.jpg", content=3), NEAR, distance),
        )
    )
    assert group_kind(g) is expected


def test_a_crop_makes_the_group_similar_however_near() -> None:
    # A crop, caption or watermark is an edit someone made: shown, not pre-marked for trash.
    crop = GroupMember(rec("/a/x_crop.jpg", content=2), NEAR, 0, cropped=True)
    g = Group((member(rec("/a/x.jpg", content=1), REF), crop))
    assert group_kind(g) is GroupKind.SIMILAR
    assert group_kind(Group((g.members[0], member(crop.record, NEAR, 0)))) is GroupKind.SAME_PICTURE


@pytest.mark.parametrize(
    ("other_date", "expected"),
    [
        ("2021-06-01 12:00:01", GroupKind.SIMILAR),  # a burst: a second apart, both known
        (DAY, GroupKind.SAME_PICTURE),  # a copy keeps the date
        (None, GroupKind.SAME_PICTURE),  # or has none
    ],
)
def test_different_dates_taken_are_different_shots(
    other_date: str | None, expected: GroupKind
) -> None:
    g = Group(
        (
            member(rec("/a/1.jpg", content=1), REF),
            member(rec("/a/2.jpg", content=2, date=other_date), NEAR, 0),
        )
    )
    assert group_kind(g) is expected


def test_a_pair_alone_is_the_same_picture_never_exact() -> None:
    # With pairs_as_duplicates a group can be just one RAW and its JPEG.
    g = Group(tuple(pair("/c/a.NEF", "/c/a.JPG", raw_rel=REF, jpeg_rel=NEAR, d=0)))
    assert group_kind(g) is GroupKind.SAME_PICTURE


def test_a_pair_and_a_byte_copy_of_its_jpeg_is_exact() -> None:
    # The RAW is the reference: the copy's relation to it is NEAR, but it is the JPEG's bytes.
    members = pair("/c/a.NEF", "/c/a.JPG", raw_rel=REF, jpeg_rel=NEAR)
    copy = member(rec("/backup/a.JPG", content=2), NEAR, 2)
    assert group_kind(Group((*members, copy))) is GroupKind.EXACT


def test_two_pairs_in_two_folders_are_exact() -> None:
    first = pair("/c/a.CR2", "/c/a.JPG", raw_rel=REF, jpeg_rel=NEAR)
    backup = pair("/b/a.CR2", "/b/a.JPG", raw_rel=EX, jpeg_rel=NEAR)
    assert group_kind(Group((*first, *backup))) is GroupKind.EXACT


def test_a_pair_and_a_resized_export_is_the_same_picture() -> None:
    members = pair("/c/a.CR2", "/c/a.JPG", raw_rel=REF, jpeg_rel=NEAR)
    export = member(rec("/export/a.jpg", content=9), NEAR, 2)
    assert group_kind(Group((*members, export))) is GroupKind.SAME_PICTURE


def test_a_pair_counts_by_its_nearer_file() -> None:
    # The camera rendered its JPEG unlike our RAW decode; a copy of the JPEG is still a copy.
    ref = member(rec("/export/a.jpg", content=9), REF)
    raw, jpeg = pair("/c/a.CR2", "/c/a.JPG", raw_rel=NEAR, jpeg_rel=NEAR)
    far_raw = GroupMember(raw.record, NEAR, 10, partner=raw.partner)
    assert group_kind(Group((ref, far_raw, jpeg))) is GroupKind.SAME_PICTURE
    unpaired = (GroupMember(raw.record, NEAR, 10), GroupMember(jpeg.record, NEAR, 2))
    assert group_kind(Group((ref, *unpaired))) is GroupKind.SIMILAR  # not known as a pair


@pytest.mark.parametrize(
    ("hash_len", "hash_bits", "distance", "expected"),
    [
        (32, None, 4 * SAME_PICTURE_MAX_DISTANCE, GroupKind.SAME_PICTURE),  # phash 16: 256 bits
        (32, None, 4 * SAME_PICTURE_MAX_DISTANCE + 2, GroupKind.SIMILAR),
        (32, 64, 4 * SAME_PICTURE_MAX_DISTANCE, GroupKind.SIMILAR),  # 64-bit crop segments
        (0, None, SAME_PICTURE_MAX_DISTANCE, GroupKind.SAME_PICTURE),  # no hash: as 64 bits
    ],
)
def test_limit_scales_with_hash_bits(
    hash_len: int, hash_bits: int | None, distance: int, expected: GroupKind
) -> None:
    g = Group(
        (
            member(rec("/a/x.jpg", content=1, hash_len=hash_len), REF),
            member(rec("/a/y.jpg", content=2, hash_len=hash_len), NEAR, distance),
        )
    )
    assert group_kind(g, hash_bits=hash_bits) is expected


def test_describe_kind_in_plain_words() -> None:
    assert [describe_kind(k) for k in GroupKind] == [
        "Exact copies",
        "Same picture",
        "Similar photos",
    ]


def _records(paths: list[Path]) -> list[ImageRecord]:
    init_worker(frozenset())  # decode every file (no contents known from a store)
    out = []
    for path in paths:
        st = path.stat()
        r = hash_file(HashTask(FileInfo(path, st.st_size, st.st_mtime_ns), HashSettings()))
        assert r.perceptual_hash is not None and r.width and r.height and r.format
        out.append(
            ImageRecord(
                path, st.st_size, st.st_mtime_ns, r.content_hash, r.perceptual_hash,
                r.width, r.height, r.format, r.date_taken,
            )
        )  # fmt: skip
    return out


def test_real_copies_are_the_same_picture_and_a_burst_frame_is_similar(tmp_path: Path) -> None:
    original = write_photo(
        tmp_path / "a.jpg", width=384, height=288, seed=3, date_taken="2021:06:01 12:00:00"
    )
    copies = [
        reencode(original, tmp_path / "a_q70.jpg", quality=70),
        resize(original, tmp_path / "a_half.jpg", scale=0.5),
        convert(original, tmp_path / "a.png"),
    ]
    groups = group_by_distance(_records([original, *copies]), 8)
    assert [len(g.members) for g in groups] == [4]
    assert group_kind(groups[0]) is GroupKind.SAME_PICTURE
    # The same scene a second later: the camera's date tells the frames apart.
    burst = write_photo(
        tmp_path / "b.jpg", width=384, height=288, seed=3, date_taken="2021:06:01 12:00:01"
    )
    groups = group_by_distance(_records([original, *copies, burst]), 8)
    assert [len(g.members) for g in groups] == [5]
    assert group_kind(groups[0]) is GroupKind.SIMILAR
