"""Delegates for group rows and member cards: no widget per item, only QPainter on visible ones.

The drawing primitives they share are ``card_paint``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from dedup_gui.core.decisions import Mark
from dedup_gui.core.formatting import display_path, human_count, human_dimensions, human_size
from dedup_gui.core.model import GroupKind, ImageRecord
from dedup_gui.ui import card_facts, models
from dedup_gui.ui.card_paint import KEEP_COLOUR as KEEP_COLOUR  # re-exported, as tests use it
from dedup_gui.ui.card_paint import TRASH_COLOUR as TRASH_COLOUR
from dedup_gui.ui.card_paint import (
    accent_colour,
    dim_colour,
    draw_background,
    draw_pill,
    draw_protected,
    draw_segments,
    draw_thumbnail,
    is_dark,
    mark_colour,
    pill_rect,
    with_font,
)
from dedup_gui.ui.models import GroupRole, MemberRole, mark_at

AnyIndex = QModelIndex | QPersistentModelIndex

# Chip colours by GroupKind value (index.data() hands a str enum over as its value).
_KIND_COLOURS = {
    GroupKind.EXACT.value: QColor("#1565c0"),
    GroupKind.SAME_PICTURE.value: QColor("#00838f"),
    GroupKind.SIMILAR.value: QColor("#ef6c00"),
}
PAIR_COLOUR = QColor("#6a1b9a")  # RAW+JPEG pair badges: apart from the kind and mark colours
_PAD = 8
_GROUP_THUMB_ROLES = (int(GroupRole.THUMBNAIL), int(GroupRole.THUMBNAIL_ERROR))
_MEMBER_THUMB_ROLES = (int(MemberRole.THUMBNAIL), int(MemberRole.THUMBNAIL_ERROR))
_GROUP_THUMB = models.GROUP_THUMB_PX
_CARD_THUMB = models.MEMBER_THUMB_PX
_CARD_PAD = 10
_CARD_TEXT_LINES = 5  # name, size, date, folder, relation; MemberRole.CARD_LINES adds facts


# -- the group list -------------------------------------------------------------------------------
class GroupDelegate(QStyledItemDelegate):
    """One group per row: thumbnail, file name, "N photos", space to free, a kind badge."""

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(260, _GROUP_THUMB + 2 * _PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        draw_background(self, painter, option, index)
        rect, palette = option.rect, option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        box = QRect(rect.left() + _PAD, rect.top() + _PAD, _GROUP_THUMB, _GROUP_THUMB)
        draw_thumbnail(painter, box, option, index, _GROUP_THUMB_ROLES)

        title_font = with_font(option.font, bold=True)
        title, detail = QFontMetrics(title_font), QFontMetrics(option.font)
        top = rect.top() + (rect.height() - title.height() - 4 - detail.height()) // 2
        kind = index.data(GroupRole.KIND) or GroupKind.SIMILAR.value
        label = index.data(GroupRole.KIND_LABEL) or ""
        badge_font = with_font(option.font, bold=True, scale=0.8)
        badge = pill_rect(badge_font, label, QPoint(rect.right() - _PAD, top), right_aligned=True)
        badge.moveTop(top + (title.height() - badge.height()) // 2)
        colour = _KIND_COLOURS.get(kind, _KIND_COLOURS[GroupKind.SIMILAR.value])
        draw_pill(painter, badge, label, colour, badge_font)

        left = box.right() + 12
        name = index.data(Qt.ItemDataRole.DisplayRole) or ""
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setFont(title_font)
        painter.setPen(palette.color(role))
        elided = title.elidedText(
            name, Qt.TextElideMode.ElideMiddle, max(0, badge.left() - 8 - left)
        )
        painter.drawText(QPoint(left, top + title.ascent()), elided)
        count = index.data(GroupRole.MEMBER_COUNT) or 0
        reclaimable = index.data(GroupRole.BYTES_RECLAIMABLE) or 0
        text = f"{human_count(count, 'photo')} · {human_size(reclaimable)} to free"
        painter.setFont(option.font)
        painter.setPen(dim_colour(palette))
        if selected:
            painter.setPen(palette.color(role))
        elided = detail.elidedText(
            text, Qt.TextElideMode.ElideRight, max(0, rect.right() - _PAD - left)
        )
        painter.drawText(QPoint(left, top + title.height() + 4 + detail.ascent()), elided)
        painter.restore()


# -- the member cards -----------------------------------------------------------------------------
_UNMARKED = "NO MARK"
PAIR_BADGE = "RAW+JPEG pair"
_BADGE_TEXTS = ("KEEP", "TRASH", _UNMARKED)


def _card_layout(card: QRect, font: QFont) -> tuple[QRect, QRect, int]:
    """(badge row, thumbnail box, top of the text) of a card drawn in ``card``."""
    badge_height = QFontMetrics(with_font(font, bold=True)).height() + 4
    header = QRect(card.left() + _CARD_PAD, card.top() + _CARD_PAD, _CARD_THUMB, badge_height)
    box = QRect(header.left(), header.bottom() + 1 + 6, _CARD_THUMB, _CARD_THUMB)
    return header, box, box.bottom() + 1 + _CARD_PAD


class MemberDelegate(QStyledItemDelegate):
    """One card per member: KEEP/TRASH badge, thumbnail, and the facts to choose by.

    Facts where a member stands out in its group (MemberRole.HIGHLIGHTS) are bold and coloured;
    a protected member shows a lock. The card is drawn 2 px inside the item's rect.
    """

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        card = QRect(0, 0, _CARD_THUMB + 2 * _CARD_PAD, 0)
        _, _, text_top = _card_layout(card, option.font)
        line = QFontMetrics(option.font).height() + 2
        lines = index.data(MemberRole.CARD_LINES) or _CARD_TEXT_LINES
        return QSize(card.width() + 4, text_top + lines * line + _CARD_PAD + 4)

    @staticmethod
    def badge_rect(card: QRect, font: QFont) -> QRect:
        """Where the KEEP/TRASH badge of a card is (``card``: the item rect less 2 px a side),
        for views that make it clickable. The same place whatever the photo's shape."""
        header, _, _ = _card_layout(card, font)
        bold = with_font(font, bold=True)
        widest = max(_BADGE_TEXTS, key=QFontMetrics(bold).horizontalAdvance)
        return pill_rect(bold, widest, header.topLeft())

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        mark = mark_at(index)
        palette = option.palette
        card = option.rect.adjusted(2, 2, -2, -2)
        header, box, _ = _card_layout(card, option.font)
        fill = QColor(palette.color(QPalette.ColorRole.Base))
        if option.state & QStyle.StateFlag.State_Selected:
            fill = QColor(palette.color(QPalette.ColorRole.Highlight))
            fill.setAlphaF(0.3)  # a tint over the view's Base, so the text stays readable
        border = palette.color(QPalette.ColorRole.Mid) if mark is None else mark_colour(mark)
        painter.setPen(QPen(border, 1 if mark is None else 3))
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(card).adjusted(1.5, 1.5, -1.5, -1.5), 8, 8)

        bold = with_font(option.font, bold=True)
        if mark is None:
            pill = pill_rect(bold, _UNMARKED, header.topLeft())
            draw_pill(painter, pill, _UNMARKED, dim_colour(palette), bold, filled=False)
        else:
            text = "KEEP" if mark is Mark.KEEP else "TRASH"
            draw_pill(
                painter, pill_rect(bold, text, header.topLeft()), text, mark_colour(mark), bold
            )
        if index.data(MemberRole.IS_PROTECTED):
            draw_protected(painter, header, option.font, dim_colour(palette))

        painter.save()
        if mark is Mark.TRASH:
            painter.setOpacity(0.45)  # what goes away fades, so the keepers catch the eye
        draw_thumbnail(painter, box, option, index, _MEMBER_THUMB_ROLES)
        painter.restore()
        self._paint_text(painter, option, index, card)
        painter.restore()

    def _paint_text(
        self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex, card: QRect
    ) -> None:
        record: ImageRecord | None = index.data(MemberRole.RECORD)
        if record is None:
            return
        palette = option.palette
        stands_out: frozenset[str] = index.data(MemberRole.HIGHLIGHTS) or frozenset()
        base, dim, accent = (
            palette.color(QPalette.ColorRole.Text),
            dim_colour(palette),
            accent_colour(palette),
        )
        fonts = (QFont(option.font), with_font(option.font, bold=True))
        line = QFontMetrics(option.font).height() + 2
        left, width = card.left() + _CARD_PAD, card.width() - 2 * _CARD_PAD
        _, _, y = _card_layout(card, option.font)
        folder = QFontMetrics(option.font).elidedText(
            display_path(record.path.parent), Qt.TextElideMode.ElideMiddle, width
        )
        relation = index.data(MemberRole.RELATION_TEXT) or ""
        rows: list[tuple[Sequence[tuple[str, bool]], tuple[QColor, QColor]]] = [
            ([(index.data(Qt.ItemDataRole.DisplayRole) or "", True)], (base, base)),
            (
                [
                    (
                        human_dimensions(record.width, record.height),
                        card_facts.HIGHEST_RESOLUTION in stands_out,
                    ),
                    (" · ", False),
                    (human_size(record.size), card_facts.LARGEST in stands_out),
                    (" · ", False),
                    (record.format or "?", card_facts.OTHER_FORMAT in stands_out),
                ],
                (base, accent),
            ),
            (_date_segments(record.date_taken, stands_out), (dim, accent)),
            *[(facts, (dim, accent)) for facts in index.data(MemberRole.FACT_LINES) or ()],
            ([(folder, False)], (dim, accent)),
            (
                [(relation, relation == "best copy")],
                (dim, KEEP_COLOUR if not is_dark(palette) else accent),
            ),
        ]
        for segments, colours in rows:
            draw_segments(painter, QPoint(left, y), width, segments, fonts, colours)
            y += line
        # The group's optional lines, the same on every card (empty where a card has none),
        # so the lines of cards side by side stay level.
        for kind, text in index.data(MemberRole.NOTE_LINES) or ():
            if kind == models.NOTE_PAIR and text:
                self._paint_pair(painter, QPoint(left, y), width, text, option.font, palette)
            elif text:  # a turn, or a hard link: trashing this copy frees no space
                segments = [(text, True)]
                draw_segments(painter, QPoint(left, y), width, segments, fonts, (dim, accent))
            y += line

    @staticmethod
    def _paint_pair(
        painter: QPainter, origin: QPoint, width: int, partner: str, font: QFont, palette: QPalette
    ) -> None:
        """A "RAW+JPEG pair" badge and the partner's name: the two are kept together."""
        small = with_font(font, bold=True, scale=0.85)
        pill = pill_rect(small, PAIR_BADGE, origin)
        pill.moveTop(origin.y() + (QFontMetrics(font).height() - pill.height()) // 2)
        draw_pill(painter, pill, PAIR_BADGE, PAIR_COLOUR, small)
        name_left = pill.right() + 6
        metrics = QFontMetrics(font)
        shown = metrics.elidedText(
            f"with {partner}", Qt.TextElideMode.ElideMiddle, origin.x() + width - name_left
        )
        painter.setFont(font)
        painter.setPen(dim_colour(palette))
        painter.drawText(QPoint(name_left, origin.y() + metrics.ascent()), shown)


def _date_segments(date_taken: str | None, highlights: frozenset[str]) -> list[tuple[str, bool]]:
    if not date_taken:
        return [("No date taken", False)]
    # Minutes read best; but where dates differ (a burst), seconds may be all that tells them
    # apart - then "Taken" gives way, so "oldest"/"newest" still fit on a card.
    differs = bool({card_facts.OLDEST, card_facts.NEWEST} & highlights)
    segments = [(date_taken[:19] if differs else f"Taken {date_taken[:16]}", False)]
    for fact, word in ((card_facts.OLDEST, "oldest"), (card_facts.NEWEST, "newest")):
        if fact in highlights:
            segments += [(" · ", False), (word, True)]
    return segments


# -- views ----------------------------------------------------------------------------------------
def configure_group_view(view: QListView) -> GroupDelegate:
    """Sets up ``view`` for the group list: one delegate, uniform rows (fast at 50,000 groups)."""
    delegate = GroupDelegate(view)
    view.setItemDelegate(delegate)
    view.setViewMode(QListView.ViewMode.ListMode)
    view.setUniformItemSizes(True)  # no per-row size query: scrolling 50k rows stays O(visible)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return delegate


def configure_member_view(view: QListView) -> MemberDelegate:
    """Sets up ``view`` for the member strip: cards left to right, wrapping, painted."""
    delegate = MemberDelegate(view)
    view.setItemDelegate(delegate)
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setFlow(QListView.Flow.LeftToRight)
    view.setWrapping(True)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setMovement(QListView.Movement.Static)
    view.setUniformItemSizes(True)
    view.setSpacing(6)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return delegate
