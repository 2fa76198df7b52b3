"""QPainter helpers for group rows and member cards: pills, thumbnails, placeholders, text runs."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, QRect, QRectF, Qt
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
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from dedup_gui.core.decisions import Mark
from dedup_gui.ui.roles import AnyIndex

KEEP_COLOUR = QColor("#2e7d32")
TRASH_COLOUR = QColor("#c62828")


def mark_colour(mark: Mark) -> QColor:
    """Green for KEEP, red for TRASH."""
    return KEEP_COLOUR if mark is Mark.KEEP else TRASH_COLOUR


def is_dark(palette: QPalette) -> bool:
    """Whether ``palette`` is a dark theme's."""
    return palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5


def accent_colour(palette: QPalette) -> QColor:
    """Colour of facts that stand out: a blue readable on the light or the dark theme."""
    return QColor("#64b5f6" if is_dark(palette) else "#1565c0")


def dim_colour(palette: QPalette) -> QColor:
    """Secondary text: the text colour, softened."""
    colour = QColor(palette.color(QPalette.ColorRole.Text))
    colour.setAlphaF(0.65)
    return colour


def with_font(base: QFont, *, bold: bool = False, scale: float = 1.0) -> QFont:
    """A copy of ``base``, maybe bold, its size times ``scale``."""
    font = QFont(base)
    font.setBold(bold)
    if scale != 1.0:
        size = font.pointSizeF()
        if size > 0:
            font.setPointSizeF(size * scale)
        else:
            font.setPixelSize(max(8, round(font.pixelSize() * scale)))
    return font


def draw_thumbnail(
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
        draw_placeholder(painter, box, option.palette, index.data(roles[1]), option.font)
        return
    size = pixmap.deviceIndependentSize().toSize()
    if size.width() > box.width() or size.height() > box.height():
        size = size.scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
    target = QRect(QPoint(0, 0), size)
    target.moveCenter(box.center())
    painter.drawPixmap(target, pixmap)


def draw_placeholder(
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
        colour = dim_colour(palette)
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
            small = with_font(font, scale=0.9)
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


def draw_pill(
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


def pill_rect(font: QFont, text: str, anchor: QPoint, *, right_aligned: bool = False) -> QRect:
    """Where a pill of ``text`` goes: its top-left (or top-right) corner at ``anchor``."""
    metrics = QFontMetrics(font)
    rect = QRect(0, 0, metrics.horizontalAdvance(text) + 14, metrics.height() + 4)
    if right_aligned:
        rect.moveTopRight(anchor)
    else:
        rect.moveTopLeft(anchor)
    return rect


def draw_lock(painter: QPainter, centre: QPoint, size: int, colour: QColor) -> None:
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


def draw_segments(
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


def draw_background(
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


def draw_protected(painter: QPainter, header: QRect, font: QFont, colour: QColor) -> None:
    """A lock and "protected", right-aligned in the badge row."""
    text = "protected"
    metrics = QFontMetrics(font)
    size = max(3, round(metrics.height() / 3.2))
    text_left = header.right() - metrics.horizontalAdvance(text)
    draw_lock(painter, QPoint(text_left - size - 5, header.center().y()), size, colour)
    painter.setFont(font)
    painter.setPen(colour)
    painter.drawText(
        QRect(text_left, header.top(), header.right() - text_left + 1, header.height()),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        text,
    )
