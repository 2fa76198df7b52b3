"""GroupListModel and MemberModel: model contracts, removal, marks, highlights, thumbnails."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from dedup_gui.core.decisions import Decisions, KeepRule, Mark
from dedup_gui.core.model import Group, GroupKind, GroupMember, ImageRecord, Relation
from dedup_gui.ui import card_facts, models
from dedup_gui.ui.models import GroupListModel, GroupRole, MemberModel, MemberRole, mark_at
from dedup_gui.ui.thumbnail_loader import SynchronousPool, ThumbnailLoader
from tests.core.images import write_photo


def rec(
    path: str | Path,
    *,
    size: int = 1000,
    wh: tuple[int, int] = (100, 80),
    fmt: str = "JPEG",
    date: str | None = None,
    content: bytes | None = None,
    phash: bytes = bytes(8),
    mtime_ns: int = 1,
) -> ImageRecord:
    content = content or hashlib.blake2b(os.fsencode(path), digest_size=16).digest()
    return ImageRecord(Path(path), size, mtime_ns, content, phash, *wh, fmt, date)


def group(*members: tuple[ImageRecord, Relation, int]) -> Group:
    return Group(tuple(GroupMember(r, relation, d) for r, relation, d in members))


def ref(record: ImageRecord) -> tuple[ImageRecord, Relation, int]:
    return (record, Relation.REFERENCE, 0)


def sample_groups() -> list[Group]:
    return [
        group(ref(rec("/p/a1.jpg", size=900)), (rec("/p/a2.jpg", size=900), Relation.EXACT, 0)),
        group(
            ref(rec("/p/b1.jpg", size=500)),
            (rec("/q/b2.png", size=800, fmt="PNG"), Relation.SAME_PIXELS, 0),
            (rec("/q/b3.jpg", size=300), Relation.EXACT, 0),
        ),
        group(ref(rec("/p/c1.jpg", size=400)), (rec("/p/c2.jpg", size=200), Relation.NEAR, 3)),
        group(ref(rec("/p/d1.jpg", size=100)), (rec("/p/d2.jpg", size=50), Relation.NEAR, 1)),
    ]


@pytest.fixture
def loader() -> ThumbnailLoader:
    return ThumbnailLoader(pool=SynchronousPool(deferred=True))


@pytest.fixture
def decisions() -> Decisions:
    return Decisions(KeepRule(protected_roots=(Path("/q"),)))


def test_group_model_contract_and_roles(
    qtmodeltester: ModelTester, loader: ThumbnailLoader, decisions: Decisions
) -> None:
    model = GroupListModel(decisions, loader)
    qtmodeltester.check(model)  # empty
    groups = sample_groups()
    model.set_groups(groups)
    qtmodeltester.check(model)
    assert model.rowCount() == 4
    index = model.index(1)
    assert index.data(Qt.ItemDataRole.DisplayRole) == "b1.jpg"
    assert index.data(GroupRole.GROUP) is groups[1]
    assert index.data(GroupRole.THUMB_RECORD) is groups[1].reference.record
    assert index.data(GroupRole.MEMBER_COUNT) == 3
    assert index.data(GroupRole.BYTES_RECLAIMABLE) == 1100
    kinds = [model.index(row).data(GroupRole.KIND) for row in range(4)]
    # c2 (distance 3) is a re-save of c1; d2 is too, and a str enum reaches Qt as its value.
    assert kinds == ["exact", "exact", "same_picture", "same_picture"]
    labels = [model.index(row).data(GroupRole.KIND_LABEL) for row in range(4)]
    assert labels == ["Exact", "Exact", "Same picture", "Same picture"]
    assert model.kind_counts() == {
        GroupKind.EXACT: 2,
        GroupKind.SAME_PICTURE: 2,
        GroupKind.SIMILAR: 0,
    }
    assert model.group_at(2) is groups[2]
    assert model.groups() == tuple(groups)
    assert model.summary() == (4, 5, 900 + 1100 + 200 + 50)


def test_remove_paths_drops_members_and_groups_left_alone(
    qtmodeltester: ModelTester, loader: ThumbnailLoader, decisions: Decisions
) -> None:
    model = GroupListModel(decisions, loader)
    model.set_groups(sample_groups())
    qtmodeltester.check(model)  # watches every signal from here on
    removed: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _parent, first, last: removed.append((first, last)))
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))

    model.remove_paths({Path("/p/a2.jpg"), Path("/q/b3.jpg"), Path("/p/d2.jpg")})

    assert removed == [(3, 3), (0, 0)]  # bottom up, last inclusive
    assert [model.index(r).data(Qt.ItemDataRole.DisplayRole) for r in range(2)] == [
        "b1.jpg",
        "c1.jpg",
    ]
    assert [m.record.path.name for m in model.group_at(0).members] == ["b1.jpg", "b2.png"]
    assert changed == [0]  # the b group, at its new row
    assert model.summary() == (2, 2, 800 + 200)


def test_removing_the_reference_promotes_the_best_copy(
    loader: ThumbnailLoader, decisions: Decisions
) -> None:
    near = rec("/p/n.jpg", size=700, phash=bytes.fromhex("0000000000000007"))
    big = rec("/p/big.jpg", size=900, phash=bytes.fromhex("0000000000000001"))
    big_copy = rec("/p/big copy.jpg", size=900, content=big.content_hash, phash=big.perceptual_hash)
    model = GroupListModel(decisions, loader)
    model.set_groups(
        [
            group(
                ref(rec("/p/ref.jpg", size=1000)),
                (big, Relation.NEAR, 1),
                (big_copy, Relation.NEAR, 1),
                (near, Relation.NEAR, 3),
            )
        ]
    )
    model.remove_paths({Path("/p/ref.jpg")})
    members = model.group_at(0).members
    assert [(m.record.path.name, m.relation, m.distance) for m in members] == [
        ("big.jpg", Relation.REFERENCE, 0),
        ("big copy.jpg", Relation.EXACT, 0),
        ("n.jpg", Relation.NEAR, 2),  # Hamming distance of ...01 and ...07
    ]


def test_a_crop_stays_a_crop_when_the_reference_goes(
    loader: ThumbnailLoader, decisions: Decisions
) -> None:
    # The whole hashes of a crop and its picture do not compare bit by bit: the new distance
    # is the triangle bound, and "cropped" passes to whatever the crop is now compared with.
    big = rec("/p/big.jpg", size=900, phash=bytes.fromhex("0000000000000001"))
    crop = rec("/p/crop.jpg", size=300, wh=(90, 72), phash=bytes.fromhex("ffff000000000000"))
    near = rec("/p/near.jpg", size=700, phash=bytes.fromhex("0000000000000007"))
    cropped = GroupMember(crop, Relation.NEAR, 2, cropped=True)
    model = GroupListModel(decisions, loader)
    model.set_groups(
        [
            Group(
                (
                    GroupMember(rec("/p/ref.jpg", size=1000), Relation.REFERENCE, 0),
                    GroupMember(big, Relation.NEAR, 1),
                    GroupMember(near, Relation.NEAR, 3),
                    cropped,
                )
            )
        ]
    )
    model.remove_paths({Path("/p/ref.jpg")})
    members = model.group_at(0).members
    assert [(m.record.path.name, m.distance, m.cropped) for m in members] == [
        ("big.jpg", 0, False),
        ("near.jpg", 2, False),
        ("crop.jpg", 3, True),  # 2 to the old reference + 1 from it to big.jpg
    ]


def test_many_scattered_removals_reset_the_model(
    qtmodeltester: ModelTester, loader: ThumbnailLoader, decisions: Decisions
) -> None:
    groups = [
        group(ref(rec(f"/g/{i}a.jpg")), (rec(f"/g/{i}b.jpg"), Relation.EXACT, 0))
        for i in range(600)
    ]
    model = GroupListModel(decisions, loader)
    model.set_groups(groups)
    qtmodeltester.check(model)
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.remove_paths({Path(f"/g/{i}b.jpg") for i in range(0, 600, 2)})  # 300 runs
    assert resets == [True]
    assert model.rowCount() == 300
    assert model.index(0).data(Qt.ItemDataRole.DisplayRole) == "1a.jpg"


def test_member_model_contract_roles_and_marks(
    qtmodeltester: ModelTester, loader: ThumbnailLoader, decisions: Decisions
) -> None:
    model = MemberModel(decisions, loader)
    qtmodeltester.check(model)
    b = sample_groups()[1]
    decisions.apply_rule([b])
    model.set_group(b)
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    first, png = model.index(0), model.index(1)
    assert first.data(MemberRole.RECORD) is b.members[0].record
    assert first.data(MemberRole.MEMBER) is b.members[0]
    assert png.data(MemberRole.IS_PROTECTED) is True  # under /q
    assert mark_at(png) is Mark.KEEP  # the keeper, as it is protected
    assert [model.index(r).data(MemberRole.RELATION_TEXT) for r in range(3)] == [
        "best copy",
        "same pixels",
        "exact copy",
    ]
    assert first.data(Qt.ItemDataRole.ToolTipRole) == "/p/b1.jpg"

    marks: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, roles: marks.append(top.row()))
    assert model.setData(first, Mark.KEEP, MemberRole.MARK)
    assert decisions.mark_of(Path("/p/b1.jpg")) is Mark.KEEP
    assert not model.setData(png, Mark.TRASH, MemberRole.MARK)  # protected: refused
    assert decisions.mark_of(Path("/q/b2.png")) is Mark.KEEP
    assert model.setData(first, "trash", MemberRole.MARK)  # value strings work too
    assert mark_at(first) is Mark.TRASH
    assert model.toggle(0) is Mark.KEEP
    assert model.setData(first, None, MemberRole.MARK)
    assert decisions.mark_of(Path("/p/b1.jpg")) is None
    assert marks == [0, 0, 0, 0]
    assert not model.setData(first, Mark.KEEP, Qt.ItemDataRole.EditRole)


def test_refresh_after_decisions_changed_elsewhere(
    loader: ThumbnailLoader, decisions: Decisions
) -> None:
    model = MemberModel(decisions, loader)
    a = sample_groups()[0]
    model.set_group(a)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, _roles: changed.append((top.row(), bottom.row())))
    decisions.apply_rule([a])
    decisions.rule = KeepRule(protected_roots=(Path("/p"),))
    model.refresh()
    assert changed == [(0, 1)]
    assert all(model.index(r).data(MemberRole.IS_PROTECTED) for r in range(2))


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param([rec("/a", size=100), rec("/b", size=100)], [set(), set()], id="all-equal"),
        pytest.param(
            [rec("/a", size=10_000), rec("/b", size=9_990)], [set(), set()], id="size-within-1%"
        ),
        pytest.param(
            [rec("/a", size=100, wh=(10, 10)), rec("/b", size=300, wh=(20, 20), fmt="PNG")],
            [set(), {card_facts.LARGEST, card_facts.HIGHEST_RESOLUTION, card_facts.OTHER_FORMAT}],
            id="bigger-other-format",
        ),
        pytest.param(
            [
                rec("/a", date="2020-01-01 10:00:00"),
                rec("/b", date="2021-01-01 10:00:00"),
                rec("/c", date=None),
                rec("/d", date="2020-01-01 10:00:00"),
            ],
            [{card_facts.OLDEST}, {card_facts.NEWEST}, set(), {card_facts.OLDEST}],
            id="dates-ties-and-missing",
        ),
    ],
)
def test_member_highlights(records: list[ImageRecord], expected: list[set[str]]) -> None:
    members = [GroupMember(r, Relation.NEAR, 0) for r in records]
    assert models.member_highlights(members) == [frozenset(e) for e in expected]


def test_highlights_are_computed_once_per_group(
    monkeypatch: pytest.MonkeyPatch, loader: ThumbnailLoader, decisions: Decisions
) -> None:
    calls: list[int] = []
    real = models.member_highlights

    def counting(members: tuple[GroupMember, ...]) -> list[frozenset[str]]:
        calls.append(len(members))
        return real(members)

    monkeypatch.setattr(models, "member_highlights", counting)
    model = MemberModel(decisions, loader)
    model.set_group(sample_groups()[1])
    for _ in range(3):
        for row in range(model.rowCount()):
            model.index(row).data(MemberRole.HIGHLIGHTS)
    assert calls == [3]
    assert model.index(1).data(MemberRole.HIGHLIGHTS) == frozenset(
        {card_facts.LARGEST, card_facts.OTHER_FORMAT}
    )


def test_thumbnail_arrival_updates_that_row_only(qtbot: QtBot, tmp_path: Path) -> None:
    paths = [write_photo(tmp_path / f"{i}.jpg", width=96, height=64, seed=i) for i in range(3)]
    records = [rec(p, mtime_ns=p.stat().st_mtime_ns) for p in paths]
    pool = SynchronousPool(deferred=True)
    loader = ThumbnailLoader(pool=pool)
    model = MemberModel(Decisions(), loader, thumb_px=48)
    model.set_group(group(ref(records[0]), *((r, Relation.NEAR, 1) for r in records[1:])))
    assert model.index(2).data(MemberRole.THUMBNAIL) is None  # placeholder; load queued
    assert model.index(2).data(MemberRole.THUMBNAIL_ERROR) is None
    with qtbot.waitSignal(model.dataChanged, timeout=1000) as blocker:
        pool.run_pending()
    top, bottom, roles = blocker.args
    assert (top.row(), bottom.row()) == (2, 2)
    assert MemberRole.THUMBNAIL in roles
    pixmap = model.index(2).data(MemberRole.THUMBNAIL)
    assert pixmap is not None and pixmap.width() == 48
    assert model.index(2).data(Qt.ItemDataRole.DecorationRole) is not None


def test_group_thumbnail_of_a_broken_file(qtbot: QtBot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\0not a picture")
    loader = ThumbnailLoader(pool=SynchronousPool())
    model = GroupListModel(Decisions(), loader)
    broken = rec(bad, mtime_ns=bad.stat().st_mtime_ns)
    model.set_groups([group(ref(broken), (rec("/x/other.jpg"), Relation.EXACT, 0))])
    assert model.index(0).data(GroupRole.THUMBNAIL) is None
    assert "not an image" in model.index(0).data(GroupRole.THUMBNAIL_ERROR)


def test_undecodable_names_are_shown_not_crashed(
    loader: ThumbnailLoader, decisions: Decisions
) -> None:
    odd = Path("/p/caf\udce9\n.jpg")  # a Latin-1 byte and a newline, as os.fsdecode gives
    model = MemberModel(decisions, loader)
    model.set_group(group(ref(rec(odd)), (rec("/p/x.jpg"), Relation.EXACT, 0)))
    assert model.index(0).data(Qt.ItemDataRole.DisplayRole) == "caf\ufffd\ufffd.jpg"
    assert model.index(0, 0, QModelIndex()).data(Qt.ItemDataRole.ToolTipRole) == (
        "/p/caf\ufffd\ufffd.jpg"
    )


def test_views_paint_marks_where_badge_rect_says(qtbot: QtBot, tmp_path: Path) -> None:
    # The member view's delegate and the click target UI code uses must agree.
    from PySide6.QtWidgets import QListView

    from dedup_gui.ui.delegates import (
        KEEP_COLOUR,
        TRASH_COLOUR,
        MemberDelegate,
        configure_group_view,
        configure_member_view,
    )

    paths = [write_photo(tmp_path / f"{i}.jpg", width=96, height=64, seed=i) for i in range(2)]
    records = [rec(p, mtime_ns=p.stat().st_mtime_ns) for p in paths]
    decisions = Decisions()
    loader = ThumbnailLoader(pool=SynchronousPool())
    the_group = group(ref(records[0]), (records[1], Relation.NEAR, 2))
    decisions.apply_rule([the_group])
    members, groups = MemberModel(decisions, loader), GroupListModel(decisions, loader)
    members.set_group(the_group)
    groups.set_groups([the_group])
    member_view, group_view = QListView(), QListView()
    configure_member_view(member_view)
    configure_group_view(group_view)
    member_view.setModel(members)
    group_view.setModel(groups)
    for view in (member_view, group_view):
        qtbot.addWidget(view)
        view.resize(700, 420)
        view.show()
    qtbot.waitExposed(member_view)
    shot = member_view.viewport().grab().toImage()
    for row, colour in ((0, KEEP_COLOUR), (1, TRASH_COLOUR)):
        card = member_view.visualRect(members.index(row)).adjusted(2, 2, -2, -2)
        badge = MemberDelegate.badge_rect(card, member_view.font())
        assert shot.pixelColor(badge.left() + 3, badge.center().y()) == colour  # left of text
    assert not group_view.viewport().grab().toImage().isNull()
