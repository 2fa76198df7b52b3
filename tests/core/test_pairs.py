"""Tests of RAW+JPEG pairs: which files pair up, and what grouping shows of them."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from dedup_gui.core.model import Group, GroupMember, ImageRecord, Relation
from dedup_gui.core.pairs import apply_pairs, find_partners, shot_count


def rec(path: str | Path, *, content: bytes = b"", tag: int = 0) -> ImageRecord:
    content = content or bytes([tag]) * 15 + os.fsencode(str(path))[-1:]
    return ImageRecord(Path(path), 1000, 0, content, b"\0" * 8, 100, 100, "JPEG", None)


def group(*paths: str) -> Group:
    relations = [Relation.REFERENCE] + [Relation.NEAR] * (len(paths) - 1)
    return Group(tuple(GroupMember(rec(p), r, 0) for p, r in zip(paths, relations, strict=True)))


def partners_of(*paths: str) -> dict[Path, Path]:
    return find_partners(rec(p) for p in paths)


def as_text(partners: dict[Path, Path]) -> dict[str, str]:
    return {a.as_posix(): b.as_posix() for a, b in partners.items()}


# (files in the scan, expected pairs as {raw: rendered}): one rule per row.
PAIR_TABLE = [
    (["/c/IMG_1.CR2", "/c/IMG_1.JPG"], {"/c/IMG_1.CR2": "/c/IMG_1.JPG"}),
    (["/c/IMG_1.cr3", "/c/img_1.jpeg"], {"/c/IMG_1.cr3": "/c/img_1.jpeg"}),  # any case
    (["/c/DSC1.ARW", "/c/DSC1.HIF"], {"/c/DSC1.ARW": "/c/DSC1.HIF"}),  # Sony RAW+HEIF
    (["/c/IMG_1.CR3", "/c/IMG_1.HEIC"], {"/c/IMG_1.CR3": "/c/IMG_1.HEIC"}),  # Canon RAW+HEIF
    (["/c/a.NEF", "/d/a.JPG"], {}),  # different folders
    (["/c/a.NEF", "/c/a_edit.JPG"], {}),  # different names
    (["/c/a.JPG", "/c/a.PNG"], {}),  # no RAW
    (["/c/a.NEF", "/c/a.TIF"], {}),  # an editor's TIFF export is not a camera pair
    (["/c/a.NEF", "/c/a.PNG", "/c/a.webp"], {}),
    (["/c/a.NEF", "/c/a.HEIC", "/c/a.JPG"], {"/c/a.NEF": "/c/a.JPG"}),  # JPEG over HEIC
    (["/c/a.DNG", "/c/a.CR2", "/c/a.JPG"], {"/c/a.CR2": "/c/a.JPG"}),  # camera RAW over DNG
    (["/c/a.DNG", "/c/a.JPG"], {"/c/a.DNG": "/c/a.JPG"}),  # a camera that writes DNG
    (["/c/a.NEF", "/c/a.jpg", "/c/a.JPG"], {"/c/a.NEF": "/c/a.JPG"}),  # by path text
    (["/c/2020.01.01.ORF", "/c/2020.01.01.JPG"], {"/c/2020.01.01.ORF": "/c/2020.01.01.JPG"}),
]


@pytest.mark.parametrize(("files", "expected"), PAIR_TABLE)
def test_find_partners(files: list[str], expected: dict[str, str]) -> None:
    both_ways = expected | {v: k for k, v in expected.items()}
    for order in (files, files[::-1]):  # input order never matters
        assert as_text(partners_of(*order)) == both_ways


def test_find_partners_takes_names_that_are_not_utf8() -> None:
    folder = Path(os.fsdecode(b"/c/caf\xe9"))  # Latin-1 folder name: a surrogate escape
    raw, jpeg = folder / "IMG_1.NEF", folder / "IMG_1.JPG"
    assert find_partners([rec(raw), rec(jpeg)]) == {raw: jpeg, jpeg: raw}


def member_partners(groups: list[Group]) -> list[dict[str, str | None]]:
    return [
        {m.record.path.as_posix(): m.partner and m.partner.as_posix() for m in g.members}
        for g in groups
    ]


def test_a_group_of_only_a_pair_is_not_a_duplicate_group() -> None:
    pair = group("/c/IMG_1.CR2", "/c/IMG_1.JPG")
    other = group("/x/a.jpg", "/y/a.jpg")
    partners = partners_of("/c/IMG_1.CR2", "/c/IMG_1.JPG")
    assert apply_pairs([pair, other], partners, pairs_as_duplicates=False) == [other]


def test_with_the_option_a_pair_is_an_ordinary_group() -> None:
    pair, other = group("/c/IMG_1.CR2", "/c/IMG_1.JPG"), group("/x/a.jpg", "/y/a.jpg")
    partners = partners_of("/c/IMG_1.CR2", "/c/IMG_1.JPG")
    out = apply_pairs([other, pair], partners, pairs_as_duplicates=True)
    assert out == [other, pair]  # nothing dropped, no partner: one may be kept, one trashed
    assert out[1].bytes_reclaimable == out[1].members[1].record.size


def test_a_pair_and_an_export_elsewhere_is_kept_with_the_pair_shown() -> None:
    g = group("/c/IMG_1.CR2", "/c/IMG_1.JPG", "/export/IMG_1.jpg")
    partners = partners_of(*(m.record.path.as_posix() for m in g.members))
    [shown] = apply_pairs([g], partners, pairs_as_duplicates=False)
    # Keeping the pair frees only the export's bytes.
    assert shown.bytes_reclaimable == shown.members[2].record.size
    assert member_partners([shown]) == [
        {
            "/c/IMG_1.CR2": "/c/IMG_1.JPG",
            "/c/IMG_1.JPG": "/c/IMG_1.CR2",
            "/export/IMG_1.jpg": None,
        }
    ]


def test_a_pair_whose_jpeg_alone_has_a_copy_is_an_ordinary_group() -> None:
    # The RAW was scanned (so it is paired) but not near enough to join the JPEGs' group.
    partners = partners_of("/c/IMG_1.NEF", "/c/IMG_1.JPG", "/backup/IMG_1.JPG")
    g = group("/c/IMG_1.JPG", "/backup/IMG_1.JPG")
    out = apply_pairs([g], partners, pairs_as_duplicates=False)
    assert out == [g]  # nothing to fill: the partner is not in the group
    assert member_partners(out) == [{"/c/IMG_1.JPG": None, "/backup/IMG_1.JPG": None}]


def test_two_pairs_of_one_shot_in_two_folders_are_a_duplicate_pair() -> None:
    files = ("/c/IMG_1.CR2", "/c/IMG_1.JPG", "/backup/IMG_1.CR2", "/backup/IMG_1.JPG")
    g = group(*files)
    out = apply_pairs([g], partners_of(*files), pairs_as_duplicates=False)
    assert member_partners(out) == [
        {
            "/c/IMG_1.CR2": "/c/IMG_1.JPG",
            "/c/IMG_1.JPG": "/c/IMG_1.CR2",
            "/backup/IMG_1.CR2": "/backup/IMG_1.JPG",
            "/backup/IMG_1.JPG": "/backup/IMG_1.CR2",
        }
    ]


def test_group_order_is_kept_and_unpaired_groups_are_unchanged() -> None:
    groups = [group(f"/x/{k}.jpg", f"/y/{k}.jpg") for k in range(5)]
    groups.insert(2, group("/c/a.NEF", "/c/a.JPG"))
    out = apply_pairs(groups, partners_of("/c/a.NEF", "/c/a.JPG"), pairs_as_duplicates=False)
    assert out == groups[:2] + groups[3:]
    assert all(o is g for o, g in zip(out, groups[:2] + groups[3:], strict=True))


def test_a_stale_partner_is_cleared() -> None:
    g = group("/c/a.NEF", "/x/b.jpg")
    stale = Group((dataclasses.replace(g.members[0], partner=Path("/c/a.JPG")), g.members[1]))
    assert apply_pairs([stale], {}, pairs_as_duplicates=False) == [g]


def test_shot_count_counts_a_pair_once() -> None:
    files = ("/c/a.NEF", "/c/a.JPG", "/x/a.jpg")
    (g,) = apply_pairs([group(*files)], partners_of(*files), pairs_as_duplicates=False)
    assert shot_count(g) == 2
    assert shot_count(Group(g.members[:2])) == 1  # what is left once the export is trashed
    assert shot_count(group(*files)) == 3  # partners not filled: three files
