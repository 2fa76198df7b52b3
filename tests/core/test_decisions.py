"""Tests of keep/trash marks and the default keeper: pure logic, no files needed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dedup_gui.core.decisions import Decisions, KeepRule, Mark, is_protected, suggest_keeper
from dedup_gui.core.model import Group, GroupMember, ImageRecord, PhotoFacts, Relation


def rec(
    path: str, px: int = 100, size: int = 1000, date: str | None = None, tag: int = 0
) -> ImageRecord:
    return ImageRecord(Path(path), size, 0, bytes([tag]) * 16, b"\0" * 8, px, px, "JPEG", date)


def group(*records: ImageRecord) -> Group:
    relations = [Relation.REFERENCE] + [Relation.NEAR] * (len(records) - 1)
    return Group(tuple(GroupMember(r, rel, 0) for r, rel in zip(records, relations, strict=True)))


# (members, expected keeper path): each row isolates one rule of best_first_key.
KEEPER_TABLE = [
    ([rec("/a/small.jpg", px=100), rec("/a/big.jpg", px=200)], "/a/big.jpg"),
    ([rec("/a/light.jpg", size=900), rec("/a/heavy.jpg", size=1000)], "/a/heavy.jpg"),
    (
        [
            rec("/a/new.jpg", date="2020-01-01 00:00:00"),
            rec("/a/old.jpg", date="2010-01-01 00:00:00"),
        ],
        "/a/old.jpg",
    ),
    ([rec("/a/undated.jpg"), rec("/a/dated.jpg", date="2020-01-01 00:00:00")], "/a/dated.jpg"),
    ([rec("/a/longer/x.jpg"), rec("/a/x.jpg")], "/a/x.jpg"),
    (
        [rec("/a/higher-res-wins.jpg", px=300, size=10), rec("/a/b.jpg", size=99999)],
        "/a/higher-res-wins.jpg",
    ),
]


@pytest.mark.parametrize(("records", "expected"), KEEPER_TABLE)
def test_suggest_keeper_follows_best_first(records: list[ImageRecord], expected: str) -> None:
    for order in (records, records[::-1]):  # input order never matters
        assert suggest_keeper(group(*order), KeepRule()).record.path == Path(expected)


def test_a_protected_copy_wins_over_a_better_one() -> None:
    g = group(rec("/photos/best.jpg", px=400), rec("/ref/worse.jpg", px=100))
    keeper = suggest_keeper(g, KeepRule(protected_roots=(Path("/ref"),)))
    assert keeper.record.path == Path("/ref/worse.jpg")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/photos/ref", True),
        ("/photos/ref/a.jpg", True),
        ("/photos/ref/sub/a.jpg", True),
        ("/photos/reference/a.jpg", False),  # by parts, not by text prefix
        ("/photos/a.jpg", False),
        ("/photos", False),
    ],
)
def test_is_protected_compares_parts(path: str, expected: bool) -> None:
    assert is_protected(Path(path), [Path("/other"), Path("/photos/ref")]) is expected
    assert is_protected(Path(path), []) is False


def test_apply_rule_keeps_one_and_protected_ones() -> None:
    g = group(rec("/a/best.jpg", px=300), rec("/a/dup.jpg"), rec("/ref/dup.jpg"), rec("/ref/x.jpg"))
    decisions = Decisions(KeepRule(protected_roots=(Path("/ref"),)))
    decisions.apply_rule([g])
    marks = {m.record.path.as_posix(): decisions.mark_of(m.record.path) for m in g.members}
    # A protected copy is the keeper; the better unprotected one is trashed, others protected stay.
    assert marks == {
        "/a/best.jpg": Mark.TRASH,
        "/a/dup.jpg": Mark.TRASH,
        "/ref/dup.jpg": Mark.KEEP,
        "/ref/x.jpg": Mark.KEEP,
    }
    assert decisions.marked_for_trash([g]) == [g.members[0].record, g.members[1].record]
    assert decisions.groups_without_keeper([g]) == []


def test_protected_paths_are_never_trash() -> None:
    protected = Path("/ref/a.jpg")
    decisions = Decisions(KeepRule(protected_roots=(Path("/ref"),)))
    assert decisions.set_mark(protected, Mark.TRASH) is False
    assert decisions.mark_of(protected) is None
    assert decisions.toggle(protected) is Mark.KEEP
    assert decisions.toggle(protected) is Mark.KEEP
    assert decisions.set_mark(protected, None) is True and decisions.mark_of(protected) is None


def test_a_new_rule_lifts_trash_marks_from_newly_protected_paths() -> None:
    decisions = Decisions()
    path = Path("/ref/a.jpg")
    assert decisions.set_mark(path, Mark.TRASH)
    decisions.rule = KeepRule(protected_roots=(Path("/ref"),))
    assert decisions.mark_of(path) is Mark.KEEP
    assert decisions.rule.protected_roots == (Path("/ref"),)


def test_toggle_cycles_keep_and_trash() -> None:
    decisions = Decisions()
    path = Path("/a/x.jpg")
    assert decisions.mark_of(path) is None
    assert [decisions.toggle(path) for _ in range(3)] == [Mark.TRASH, Mark.KEEP, Mark.TRASH]
    assert decisions.mark_of(path) is Mark.TRASH


def test_clear_all_or_some_groups() -> None:
    g1, g2 = group(rec("/1/a.jpg"), rec("/1/b.jpg")), group(rec("/2/a.jpg"), rec("/2/b.jpg"))
    decisions = Decisions()
    decisions.apply_rule([g1, g2])
    decisions.clear([g1])
    assert [decisions.mark_of(m.record.path) for m in g1.members] == [None, None]
    assert [decisions.mark_of(m.record.path) for m in g2.members] == [Mark.KEEP, Mark.TRASH]
    decisions.clear()
    assert [decisions.mark_of(m.record.path) for m in g2.members] == [None, None]


def test_groups_without_keeper_needs_every_member_trash() -> None:
    full = group(rec("/1/a.jpg"), rec("/1/b.jpg"))
    partly_unmarked = group(rec("/2/a.jpg"), rec("/2/b.jpg"))
    decisions = Decisions()
    for path in ("/1/a.jpg", "/1/b.jpg", "/2/b.jpg"):
        assert decisions.set_mark(Path(path), Mark.TRASH)
    assert decisions.groups_without_keeper([full, partly_unmarked]) == [full]
    assert decisions.marked_for_trash([full, partly_unmarked]) == [
        full.members[0].record,
        full.members[1].record,
        partly_unmarked.members[1].record,
    ]


def test_marked_for_trash_lists_each_file_once_and_forget_drops_marks() -> None:
    shared = rec("/a/shared.jpg")
    g1, g2 = group(rec("/a/k1.jpg", px=500), shared), group(rec("/a/k2.jpg", px=500), shared)
    decisions = Decisions()
    decisions.apply_rule([g1, g2])
    assert decisions.marked_for_trash([g1, g2]) == [shared]
    decisions.forget([shared.path])
    assert decisions.mark_of(shared.path) is None
    assert decisions.marked_for_trash([g1, g2]) == []


# --- keep rule preferences, pairs and similar groups (#5) ------------------------------------


def edited(record: ImageRecord, *, sidecar: bool = False) -> ImageRecord:
    if sidecar:
        return dataclasses.replace(record, sidecars=(record.path.with_suffix(".xmp"),))
    return dataclasses.replace(record, facts=PhotoFacts(has_xmp=True))


def aged(record: ImageRecord, mtime_ns: int) -> ImageRecord:
    return dataclasses.replace(record, mtime_ns=mtime_ns)


# (rule, members, expected keeper): each row pits one preference against the next ones.
PREFERENCE_TABLE = [
    # protected > preferred folder
    (
        KeepRule(protected_roots=(Path("/ref"),), preferred_folders=(Path("/pref"),)),
        [rec("/pref/a.jpg", px=400), rec("/ref/a.jpg", px=100)],
        "/ref/a.jpg",
    ),
    # preferred folder > RAW > resolution; by parts, not text ("/prefer" is not under "/pref")
    (
        KeepRule(preferred_folders=(Path("/pref"),), prefer_raw=True),
        [rec("/a/a.CR2", px=400), rec("/pref/sub/a.jpg", px=100), rec("/prefer/a.CR2", px=500)],
        "/pref/sub/a.jpg",
    ),
    # earlier preferred folders win over later ones
    (
        KeepRule(preferred_folders=(Path("/first"), Path("/second"))),
        [rec("/second/a.jpg", px=400), rec("/first/a.jpg", px=100), rec("/a/a.jpg", px=900)],
        "/first/a.jpg",
    ),
    # RAW > edited > resolution
    (
        KeepRule(prefer_raw=True, prefer_edited=True),
        [edited(rec("/a/a.jpg", px=400)), rec("/a/a.nef", px=100)],
        "/a/a.nef",
    ),
    (KeepRule(), [rec("/a/a.jpg", px=400), rec("/a/a.nef", px=100)], "/a/a.jpg"),  # off
    # edited (embedded XMP or a sidecar) > resolution
    (
        KeepRule(prefer_edited=True),
        [rec("/a/big.jpg", px=400), edited(rec("/a/small.jpg", px=100))],
        "/a/small.jpg",
    ),
    (
        KeepRule(prefer_edited=True),
        [rec("/a/big.jpg", px=400), edited(rec("/a/small.jpg", px=100), sidecar=True)],
        "/a/small.jpg",
    ),
    (KeepRule(), [rec("/a/big.jpg", px=400), edited(rec("/a/small.jpg"))], "/a/big.jpg"),
    # without resolution: the original, i.e. earliest date taken, then oldest file, then largest
    (
        KeepRule(prefer_resolution=False),
        [
            rec("/a/upscaled.jpg", px=800, date="2020-01-01 00:00:00"),
            rec("/a/orig.jpg", px=100, date="2019-01-01 00:00:00"),
        ],
        "/a/orig.jpg",
    ),
    (
        KeepRule(prefer_resolution=False),
        [aged(rec("/a/copy.jpg", px=800, size=5000), 20), aged(rec("/a/orig.jpg", px=100), 10)],
        "/a/orig.jpg",
    ),
    (
        KeepRule(prefer_resolution=False),
        [rec("/a/small.jpg", px=800, size=900), rec("/a/large.jpg", px=100, size=1000)],
        "/a/large.jpg",
    ),
]


@pytest.mark.parametrize(("rule", "records", "expected"), PREFERENCE_TABLE)
def test_keep_rule_preferences_in_order(
    rule: KeepRule, records: list[ImageRecord], expected: str
) -> None:
    for order in (records, records[::-1]):
        assert suggest_keeper(group(*order), rule).record.path == Path(expected)


def paired(*members: tuple[ImageRecord, str | None]) -> Group:
    """A group whose members may name their partner (RAW <-> JPEG) and are 2 bits apart."""
    relations = [Relation.REFERENCE] + [Relation.NEAR] * (len(members) - 1)
    return Group(
        tuple(
            GroupMember(r, rel, 0 if rel is Relation.REFERENCE else 2, partner=p and Path(p))
            for (r, p), rel in zip(members, relations, strict=True)
        )
    )


def marks(decisions: Decisions, g: Group) -> dict[str, str | None]:
    out = {}
    for m in g.members:
        mark = decisions.mark_of(m.record.path)
        out[m.record.path.as_posix()] = mark and mark.value
    return out


PAIR_WITH_EXPORT = paired(
    (rec("/c/a.CR2", px=300, tag=1), "/c/a.JPG"),
    (rec("/c/a.JPG", px=300, tag=2), "/c/a.CR2"),
    (rec("/export/a.jpg", px=200, tag=3), None),
)


@pytest.mark.parametrize("prefer_raw", [False, True])
def test_the_keepers_partner_is_kept_too(prefer_raw: bool) -> None:
    decisions = Decisions(KeepRule(prefer_raw=prefer_raw))
    decisions.apply_rule([PAIR_WITH_EXPORT])
    assert marks(decisions, PAIR_WITH_EXPORT) == {
        "/c/a.CR2": "keep",
        "/c/a.JPG": "keep",
        "/export/a.jpg": "trash",
    }


def test_a_pair_is_trashed_as_one_when_another_copy_is_kept() -> None:
    decisions = Decisions(KeepRule(preferred_folders=(Path("/export"),)))
    decisions.apply_rule([PAIR_WITH_EXPORT])
    assert marks(decisions, PAIR_WITH_EXPORT) == {
        "/c/a.CR2": "trash",
        "/c/a.JPG": "trash",
        "/export/a.jpg": "keep",
    }


def test_a_backup_pair_is_a_duplicate_of_the_pair() -> None:
    g = paired(
        (rec("/b/a.JPG", px=300, tag=2), "/b/a.CR2"),
        (rec("/c/a.CR2", px=300, tag=1), "/c/a.JPG"),
        (rec("/c/a.JPG", px=300, tag=2), "/c/a.CR2"),
        (rec("/b/a.CR2", px=300, tag=1), "/b/a.JPG"),
    )
    decisions = Decisions(KeepRule(preferred_folders=(Path("/c"),), prefer_raw=True))
    decisions.apply_rule([g])
    assert marks(decisions, g) == {
        "/b/a.JPG": "trash",
        "/c/a.CR2": "keep",
        "/c/a.JPG": "keep",
        "/b/a.CR2": "trash",
    }


def test_the_partner_of_a_protected_file_is_kept() -> None:
    g = paired(
        (rec("/a/best.jpg", px=900, tag=3), None),
        (rec("/ref/a.NEF", tag=1), "/ref/a.JPG"),
        (rec("/ref/a.JPG", tag=2), "/ref/a.NEF"),
    )
    # A rule protecting only the RAW's own path: its JPEG is not protected, but is kept.
    decisions = Decisions(KeepRule(protected_roots=(Path("/ref/a.NEF"),)))
    decisions.apply_rule([g])
    assert marks(decisions, g) == {
        "/a/best.jpg": "trash",
        "/ref/a.NEF": "keep",
        "/ref/a.JPG": "keep",
    }
    assert decisions.set_mark(Path("/ref/a.JPG"), Mark.TRASH) is False
    assert decisions.toggle(Path("/ref/a.JPG")) is Mark.KEEP


def test_with_pairs_as_duplicates_a_pair_is_two_ordinary_files() -> None:
    g = paired((rec("/c/a.NEF", px=300, tag=1), "/c/a.JPG"), (rec("/c/a.JPG", tag=2), "/c/a.NEF"))
    decisions = Decisions(KeepRule(prefer_raw=True, pairs_as_duplicates=True))
    decisions.apply_rule([g])
    assert marks(decisions, g) == {"/c/a.NEF": "keep", "/c/a.JPG": "trash"}
    assert decisions.partner_of(Path("/c/a.NEF")) is None
    assert decisions.toggle(Path("/c/a.JPG")) is Mark.KEEP
    assert decisions.mark_of(Path("/c/a.NEF")) is Mark.KEEP
    assert decisions.toggle(Path("/c/a.NEF")) is Mark.TRASH
    assert marks(decisions, g) == {"/c/a.NEF": "trash", "/c/a.JPG": "keep"}
    # Back to pairs as one photo: the kept JPEG's RAW is no longer left marked for trash.
    decisions.rule = KeepRule()
    assert marks(decisions, g) == {"/c/a.NEF": "keep", "/c/a.JPG": "keep"}


def test_manual_marks_move_a_pair_together() -> None:
    decisions = Decisions()
    decisions.apply_rule([PAIR_WITH_EXPORT])
    raw, jpeg = Path("/c/a.CR2"), Path("/c/a.JPG")
    assert decisions.partner_of(jpeg) == raw and decisions.partner_of(raw) == jpeg
    assert decisions.toggle(jpeg) is Mark.TRASH
    assert decisions.mark_of(raw) is Mark.TRASH
    assert decisions.set_mark(raw, Mark.KEEP) and decisions.mark_of(jpeg) is Mark.KEEP
    assert decisions.set_mark(jpeg, None) and decisions.mark_of(raw) is None
    decisions.forget([raw, jpeg])
    assert decisions.partner_of(jpeg) is None and decisions.partner_of(raw) is None


def test_learn_pairs_without_applying_the_rule() -> None:
    decisions = Decisions()
    decisions.learn_pairs([PAIR_WITH_EXPORT])
    assert decisions.toggle(Path("/c/a.CR2")) is Mark.TRASH
    assert marks(decisions, PAIR_WITH_EXPORT) == {
        "/c/a.CR2": "trash",
        "/c/a.JPG": "trash",
        "/export/a.jpg": None,
    }


def burst(*, far: bool = False) -> Group:
    """Three frames: dates a second apart (or, with ``far``, undated and 10 bits apart)."""
    dates = [None] * 3 if far else [f"2021-06-01 12:00:0{k}" for k in range(3)]
    return Group(
        (
            GroupMember(rec("/a/1.jpg", px=300, date=dates[0], tag=1), Relation.REFERENCE, 0),
            GroupMember(rec("/a/2.jpg", date=dates[1], tag=2), Relation.NEAR, 10 if far else 0),
            GroupMember(rec("/ref/3.jpg", date=dates[2], tag=3), Relation.NEAR, 2),
        )
    )


@pytest.mark.parametrize("far", [False, True])
def test_similar_groups_keep_the_keeper_and_leave_the_rest_unmarked(far: bool) -> None:
    g = burst(far=far)
    decisions = Decisions(KeepRule(protected_roots=(Path("/ref"),)))
    decisions.set_mark(Path("/a/2.jpg"), Mark.TRASH)  # a stale mark is cleared too
    decisions.apply_rule([g])
    assert marks(decisions, g) == {"/a/1.jpg": None, "/a/2.jpg": None, "/ref/3.jpg": "keep"}
    assert decisions.marked_for_trash([g]) == []
    decisions.rule = KeepRule()
    decisions.apply_rule([g])
    assert marks(decisions, g) == {"/a/1.jpg": "keep", "/a/2.jpg": None, "/ref/3.jpg": None}


def test_a_new_rule_marks_again_only_groups_left_to_the_rule() -> None:
    # Three groups of a small file in /best and a bigger one elsewhere; by default the bigger
    # file is kept, and "prefer /best" should turn that round where the user did not decide.
    groups = [
        group(rec(f"/other/{k}.jpg", px=200, tag=2 * k), rec(f"/best/{k}.jpg", tag=2 * k + 1))
        for k in range(3)
    ]
    decisions = Decisions()
    decisions.apply_rule(groups[:2])  # the third stays unmarked (as after Clear Marks)
    decisions.set_mark(Path("/best/1.jpg"), Mark.KEEP)  # the user's own decision
    decisions.rule = KeepRule(preferred_folders=(Path("/best"),))
    assert decisions.reapply_rule(groups) == [groups[0]]
    assert marks(decisions, groups[0]) == {"/other/0.jpg": "trash", "/best/0.jpg": "keep"}
    assert marks(decisions, groups[1]) == {"/other/1.jpg": "keep", "/best/1.jpg": "keep"}
    assert marks(decisions, groups[2]) == {"/other/2.jpg": None, "/best/2.jpg": None}
    # Apply Rule overrides hand marks; after it, a rule change applies to that group again.
    decisions.apply_rule([groups[1]])
    decisions.rule = KeepRule()
    assert decisions.reapply_rule(groups) == groups[:2]
    assert marks(decisions, groups[1]) == {"/other/1.jpg": "keep", "/best/1.jpg": "trash"}
