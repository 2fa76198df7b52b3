"""Hard links in the window's models: no space counted for them, a note on their cards."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from dedup_gui.core.decisions import Decisions
from dedup_gui.core.links import ELSEWHERE_NOTE
from dedup_gui.core.model import Group, GroupMember, ImageRecord, Relation, ScanReport, ScanStats
from dedup_gui.ui import delegates
from dedup_gui.ui.models import GroupListModel, GroupRole, MemberModel, MemberRole
from dedup_gui.ui.thumbnail_loader import SynchronousPool, ThumbnailLoader


def _record(path: str, size: int) -> ImageRecord:
    content = path.encode().ljust(16, b"_")[:16]
    return ImageRecord(Path(path), size, 1, content, bytes(8), 100, 80, "JPEG", None)


def _group(*members: tuple[str, int]) -> Group:
    relations = [Relation.REFERENCE] + [Relation.EXACT] * (len(members) - 1)
    return Group(
        tuple(
            GroupMember(_record(p, s), r, 0) for (p, s), r in zip(members, relations, strict=True)
        )
    )


GROUPS = [
    _group(("/p/a.jpg", 900), ("/p/a_link.jpg", 900), ("/p/a_copy.jpg", 900)),
    _group(("/p/b.jpg", 500), ("/p/b_elsewhere.jpg", 500)),
]
REPORT = ScanReport(
    groups=tuple(GROUPS),
    problems=(),
    stats=ScanStats(),
    hard_links=((Path("/p/a_link.jpg"), (Path("/q/a_link.jpg"), Path("/r/a_link.jpg"))),),
    linked_elsewhere=frozenset({Path("/p/b_elsewhere.jpg")}),
)


@pytest.fixture
def loader() -> ThumbnailLoader:
    return ThumbnailLoader(pool=SynchronousPool(deferred=True))


@pytest.mark.parametrize("links_first", [True, False])
def test_group_model_counts_no_space_for_hard_links(
    qtmodeltester: ModelTester, qtbot: QtBot, loader: ThumbnailLoader, links_first: bool
) -> None:
    model = GroupListModel(Decisions(), loader)
    qtmodeltester.check(model)
    if links_first:
        model.set_links(REPORT)
        model.set_groups(GROUPS)
    else:
        model.set_groups(GROUPS)
        assert model.index(1).data(GroupRole.BYTES_RECLAIMABLE) == 500
        with qtbot.waitSignal(model.dataChanged):  # the view and the summary must refresh
            model.set_links(REPORT)
    reclaimable = [model.index(r).data(GroupRole.BYTES_RECLAIMABLE) for r in range(2)]
    assert reclaimable == [900, 0]  # only a_copy frees space
    assert model.summary() == (2, 3, 900)
    assert model.linked == {Path("/p/a_link.jpg"), Path("/p/b_elsewhere.jpg")}
    model.remove_paths({Path("/p/a_copy.jpg")})  # a rebuilt row still knows the links
    assert model.index(0).data(GroupRole.BYTES_RECLAIMABLE) == 0


def test_member_model_gives_each_card_its_link_note(
    qtmodeltester: ModelTester, loader: ThumbnailLoader
) -> None:
    groups, members = GroupListModel(Decisions(), loader), MemberModel(Decisions(), loader)
    groups.set_links(REPORT, members=members)
    members.set_group(GROUPS[0])
    qtmodeltester.check(members)
    notes = [members.index(r).data(MemberRole.LINK_NOTE) for r in range(3)]
    assert notes == [None, "hard link: also at 2 other places", None]
    tooltip = members.index(1).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.splitlines() == [
        "/p/a_link.jpg",
        "hard link: also at 2 other places",
        "/q/a_link.jpg",
        "/r/a_link.jpg",
    ]
    members.set_group(GROUPS[1])
    assert members.index(1).data(MemberRole.LINK_NOTE) == ELSEWHERE_NOTE
    assert members.index(0).data(Qt.ItemDataRole.ToolTipRole) == "/p/b.jpg"


def _paint_card(model: MemberModel, row: int) -> tuple[QImage, QRect]:
    delegate = delegates.MemberDelegate()
    option = QStyleOptionViewItem()
    option.font = QApplication.font()
    option.palette = QApplication.palette()
    size = delegate.sizeHint(option, model.index(row))
    option.rect = QRect(0, 0, size.width(), size.height())
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(row))
    painter.end()
    return image, QRect(option.rect)  # a copy: option.rect dies with option


def _rows_that_differ(a: QImage, b: QImage) -> list[int]:
    return [
        y
        for y in range(a.height())
        if any(a.pixelColor(x, y) != b.pixelColor(x, y) for x in range(a.width()))
    ]


def test_card_shows_the_note_on_a_line_of_its_own(qtbot: QtBot, loader: ThumbnailLoader) -> None:
    model = MemberModel(Decisions(), loader)
    model.set_group(GROUPS[1])
    before, rect = _paint_card(model, 1)
    model.set_links(REPORT)
    after, _ = _paint_card(model, 1)

    changed = _rows_that_differ(before, after)
    assert changed, "the note was not painted"
    card = rect.adjusted(2, 2, -2, -2)
    _, _, text_top = delegates._card_layout(card, QApplication.font())
    five_lines = 5 * (QFontMetrics(QApplication.font()).height() + 2)
    assert min(changed) >= text_top + five_lines  # below the facts, which stay as they were
    assert max(changed) < rect.bottom()  # and inside the card, which has room for it
