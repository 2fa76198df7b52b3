"""Tests of keep/trash marks and the default keeper: pure logic, no files needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup_gui.core.decisions import Decisions, KeepRule, Mark, is_protected, suggest_keeper
from dedup_gui.core.model import Group, GroupMember, ImageRecord, Relation


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
