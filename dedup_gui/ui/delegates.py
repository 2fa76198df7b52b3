"""Painting of group rows and member cards: no widget per item, only QPainter on visible ones."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QIcon,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
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
from dedup_gui.ui.models import GroupRole, MemberRole, mark_at

AnyIndex = QModelIndex | QPersistentModelIndex

KEEP_COLOUR = QColor("#2e7d32")
TRASH_COLOUR = QColor("#c62828")
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


# -- small painting helpers ---------------------------------------------------------------------
def _mark_colour(mark: Mark) -> QColor:
    return KEEP_COLOUR if mark is Mark.KEEP else TRASH_COLOUR


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5


def _accent(palette: QPalette) -> QColor:
    """Colour of facts that stand out: a blue readable on the light or the dark theme."""
    return QColor("#64b5f6" if _is_dark(palette) else "#1565c0")


def _dim(palette: QPalette) -> QColor:
    """Secondary text: the text colour, softened."""
    colour = QColor(palette.color(QPalette.ColorRole.Text))
    colour.setAlphaF(0.65)
    return colour


def _with_font(base: QFont, *, bold: bool = False, scale: float = 1.0) -> QFont:
    font = QFont(base)
    font.setBold(bold)
    if scale != 1.0:
        size = font.pointSizeF()
        if size > 0:
            font.setPointSizeF(size * scale)
        else:
            font.setPixelSize(max(8, round(font.pixelSize() * scale)))
    return font


def _draw_thumbnail(
    painter: QPainter,
    box: QRect,
    option: QStyleOptionViewItem,
    index: AnyIndex,
    roles: tuple[int, int],
) -> None:
    """The thumbnail (``roles``: pixmap role, error role) scaled down, never up, into ``box``,
    centred; else a placeholder."""
    pixmap: QPixmap | None = index.data(roles[0])
    if pixmap is None or pixmap.isNull():
        _draw_placeholder(painter, box, option.palette, index.data(roles[1]), option.font)
        return
    size = pixmap.deviceIndependentSize().toSize()
    if size.width() > box.width() or size.height() > box.height():
        size = size.scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
    target = QRect(QPoint(0, 0), size)
    target.moveCenter(box.center())
    painter.drawPixmap(target, pixmap)


def _draw_placeholder(
    painter: QPainter, box: QRect, palette: QPalette, error: str | None, font: QFont
) -> None:
    """A soft tile while the thumbnail loads; a struck-out picture and why, if it cannot be."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    fill = QColor(palette.color(QPalette.ColorRole.Text))
    fill.setAlphaF(0.07)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.drawRoundedRect(QRectF(box).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
    if error is not None:
        colour = _dim(palette)
        side = max(10, min(box.width(), box.height()) // 3)
        glyph = QRectF(0, 0, side, side * 0.8)
        glyph.moveCenter(box.center().toPointF())
        if box.height() >= 100:  # room for the reason underneath
            glyph.moveTop(glyph.top() - side * 0.2)
        painter.setPen(QPen(colour, max(1.2, side / 20)))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(glyph, 2, 2)
        # A hill and a sun: "a picture"; the slash: "that can't be shown".
        hill = QPainterPath(glyph.bottomLeft())
        hill.lineTo(glyph.left() + side * 0.4, glyph.top() + side * 0.4)
        hill.lineTo(glyph.left() + side * 0.65, glyph.top() + side * 0.6)
        hill.lineTo(glyph.bottomRight())
        painter.drawPath(hill)
        painter.drawEllipse(
            QRectF(glyph.right() - side * 0.3, glyph.top() + side * 0.12, side * 0.14, side * 0.14)
        )
        painter.drawLine(glyph.topLeft(), glyph.bottomRight())
        if box.height() >= 100:
            small = _with_font(font, scale=0.9)
            text_box = QRect(
                box.left() + 8,
                round(glyph.bottom()) + 8,
                box.width() - 16,
                box.bottom() - round(glyph.bottom()) - 8,
            )
            painter.setFont(small)
            painter.setPen(colour)
            painter.drawText(
                text_box,
                Qt.AlignmentFlag.AlignHCenter
                | Qt.AlignmentFlag.AlignTop
                | Qt.TextFlag.TextWordWrap,
                f"Can't show this photo: {error}",
            )
    painter.restore()


def _draw_pill(
    painter: QPainter, rect: QRect, text: str, colour: QColor, font: QFont, *, filled: bool = True
) -> None:
    """White text on a ``colour`` capsule; or, not ``filled``, a ``colour`` outline and text."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    radius = rect.height() / 2
    if filled:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(rect), radius, radius)
        painter.setPen(QColor("white"))
    else:
        painter.setPen(QPen(colour, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
    painter.setFont(font)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def _pill_rect(font: QFont, text: str, anchor: QPoint, *, right_aligned: bool = False) -> QRect:
    metrics = QFontMetrics(font)
    rect = QRect(0, 0, metrics.horizontalAdvance(text) + 14, metrics.height() + 4)
    if right_aligned:
        rect.moveTopRight(anchor)
    else:
        rect.moveTopLeft(anchor)
    return rect


def _draw_lock(painter: QPainter, centre: QPoint, size: int, colour: QColor) -> None:
    """A padlock about ``2 * size`` px tall (drawn, so it needs no icon theme)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    body = QRectF(0, 0, size * 2.0, size * 1.4)
    body.moveCenter(QPoint(centre.x(), centre.y() + round(size * 0.35)).toPointF())
    shackle = QPainterPath()
    shackle.addRoundedRect(
        QRectF(body.left() + size * 0.45, body.top() - size * 0.9, size * 1.1, size * 1.6),
        size * 0.55,
        size * 0.55,
    )
    painter.setPen(QPen(colour, max(1.2, size / 3.5)))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(shackle)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(body, 1.5, 1.5)
    painter.restore()


def _draw_segments(
    painter: QPainter,
    origin: QPoint,
    width: int,
    segments: Sequence[tuple[str, bool]],
    fonts: tuple[QFont, QFont],
    colours: tuple[QColor, QColor],
) -> None:
    """Draws text pieces in a row; pieces flagged True are bold and in the accent colour."""
    x, right = origin.x(), origin.x() + width
    # A lone piece is a name: keep its end (the extension) visible.
    mode = Qt.TextElideMode.ElideMiddle if len(segments) == 1 else Qt.TextElideMode.ElideRight
    for text, stands_out in segments:
        font, colour = fonts[stands_out], colours[stands_out]
        metrics = QFontMetrics(font)
        room = right - x
        if room <= 0:
            break
        shown = metrics.elidedText(text, mode, room)
        painter.setFont(font)
        painter.setPen(colour)
        painter.drawText(QPoint(x, origin.y() + metrics.ascent()), shown)
        x += metrics.horizontalAdvance(shown)


def _background(
    delegate: QStyledItemDelegate,
    painter: QPainter,
    option: QStyleOptionViewItem,
    index: AnyIndex,
) -> None:
    """The style's own item background (selection, hover), without its text or icon."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    opt.text = ""
    opt.icon = QIcon()
    opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasDecoration
    style = opt.widget.style() if opt.widget is not None else None
    if style is not None:
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)


# -- the group list -------------------------------------------------------------------------------
class GroupDelegate(QStyledItemDelegate):
    """One group per row: thumbnail, file name, "N photos", space to free, a kind badge."""

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(260, _GROUP_THUMB + 2 * _PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        _background(self, painter, option, index)
        rect, palette = option.rect, option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        box = QRect(rect.left() + _PAD, rect.top() + _PAD, _GROUP_THUMB, _GROUP_THUMB)
        _draw_thumbnail(painter, box, option, index, _GROUP_THUMB_ROLES)

        title_font = _with_font(option.font, bold=True)
        title, detail = QFontMetrics(title_font), QFontMetrics(option.font)
        top = rect.top() + (rect.height() - title.height() - 4 - detail.height()) // 2
        kind = index.data(GroupRole.KIND) or GroupKind.SIMILAR.value
        label = index.data(GroupRole.KIND_LABEL) or ""
        badge_font = _with_font(option.font, bold=True, scale=0.8)
        badge = _pill_rect(badge_font, label, QPoint(rect.right() - _PAD, top), right_aligned=True)
        badge.moveTop(top + (title.height() - badge.height()) // 2)
        colour = _KIND_COLOURS.get(kind, _KIND_COLOURS[GroupKind.SIMILAR.value])
        _draw_pill(painter, badge, label, colour, badge_font)

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
        painter.setPen(_dim(palette))
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
    badge_height = QFontMetrics(_with_font(font, bold=True)).height() + 4
    header = QRect(card.left() + _CARD_PAD, card.top() + _CARD_PAD, _CARD_THUMB, badge_height)
    box = QRect(header.left(), header.bottom() + 1 + 6, _CARD_THUMB, _CARD_THUMB)
    return header, box, box.bottom() + 1 + _CARD_PAD


def _draw_protected(painter: QPainter, header: QRect, font: QFont, colour: QColor) -> None:
    """A lock and "protected", right-aligned in the badge row."""
    text = "protected"
    metrics = QFontMetrics(font)
    size = max(3, round(metrics.height() / 3.2))
    text_left = header.right() - metrics.horizontalAdvance(text)
    _draw_lock(painter, QPoint(text_left - size - 5, header.center().y()), size, colour)
    painter.setFont(font)
    painter.setPen(colour)
    painter.drawText(
        QRect(text_left, header.top(), header.right() - text_left + 1, header.height()),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        text,
    )


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
        bold = _with_font(font, bold=True)
        widest = max(_BADGE_TEXTS, key=QFontMetrics(bold).horizontalAdvance)
        return _pill_rect(bold, widest, header.topLeft())

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
        border = palette.color(QPalette.ColorRole.Mid) if mark is None else _mark_colour(mark)
        painter.setPen(QPen(border, 1 if mark is None else 3))
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(card).adjusted(1.5, 1.5, -1.5, -1.5), 8, 8)

        bold = _with_font(option.font, bold=True)
        if mark is None:
            pill = _pill_rect(bold, _UNMARKED, header.topLeft())
            _draw_pill(painter, pill, _UNMARKED, _dim(palette), bold, filled=False)
        else:
            text = "KEEP" if mark is Mark.KEEP else "TRASH"
            _draw_pill(
                painter, _pill_rect(bold, text, header.topLeft()), text, _mark_colour(mark), bold
            )
        if index.data(MemberRole.IS_PROTECTED):
            _draw_protected(painter, header, option.font, _dim(palette))

        painter.save()
        if mark is Mark.TRASH:
            painter.setOpacity(0.45)  # what goes away fades, so the keepers catch the eye
        _draw_thumbnail(painter, box, option, index, _MEMBER_THUMB_ROLES)
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
        base, dim, accent = palette.color(QPalette.ColorRole.Text), _dim(palette), _accent(palette)
        fonts = (QFont(option.font), _with_font(option.font, bold=True))
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
                (dim, KEEP_COLOUR if not _is_dark(palette) else accent),
            ),
        ]
        for segments, colours in rows:
            _draw_segments(painter, QPoint(left, y), width, segments, fonts, colours)
            y += line
        # The group's optional lines, the same on every card (empty where a card has none),
        # so the lines of cards side by side stay level.
        for kind, text in index.data(MemberRole.NOTE_LINES) or ():
            if kind == models.NOTE_PAIR and text:
                self._paint_pair(painter, QPoint(left, y), width, text, option.font, palette)
            elif text:  # a turn, or a hard link: trashing this copy frees no space
                segments = [(text, True)]
                _draw_segments(painter, QPoint(left, y), width, segments, fonts, (dim, accent))
            y += line

    @staticmethod
    def _paint_pair(
        painter: QPainter, origin: QPoint, width: int, partner: str, font: QFont, palette: QPalette
    ) -> None:
        """A "RAW+JPEG pair" badge and the partner's name: the two are kept together."""
        small = _with_font(font, bold=True, scale=0.85)
        pill = _pill_rect(small, PAIR_BADGE, origin)
        pill.moveTop(origin.y() + (QFontMetrics(font).height() - pill.height()) // 2)
        _draw_pill(painter, pill, PAIR_BADGE, PAIR_COLOUR, small)
        name_left = pill.right() + 6
        metrics = QFontMetrics(font)
        shown = metrics.elidedText(
            f"with {partner}", Qt.TextElideMode.ElideMiddle, origin.x() + width - name_left
        )
        painter.setFont(font)
        painter.setPen(_dim(palette))
        painter.drawText(QPoint(name_left, origin.y() + metrics.ascent()), shown)


def _date_segments(date_taken: str | None, highlights: frozenset[str]) -> list[tuple[str, bool]]:
    if not date_taken:
        return [("No date taken", False)]
    # Minutes read best; but where dates differ (a burst), seconds may be all that tells them apart.
    differs = bool({card_facts.OLDEST, card_facts.NEWEST} & highlights)
    segments = [(f"Taken {date_taken[:19] if differs else date_taken[:16]}", False)]
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
