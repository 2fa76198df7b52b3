"""Zoomable, pannable image panes that share one view state, and a background image loader."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import (
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from dedup_gui.core.decode_service import (
    DecodeKind,
    DecodeRequest,
    DecodeService,
    DecodeServiceClosed,
)
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.ui.thumbnail_loader import shared_decode_service, to_qimage

log = logging.getLogger(__name__)

# Larger images are shown reduced to this many pixels a side. It keeps every 35 mm camera
# (61 MP: 9504 x 6336) at full resolution, while a 100 MP medium-format frame (~300 MB as RGB,
# once more as a pixmap) comes down to 75 MP.
VIEW_MAX_PX = 10_000
_ZOOM_STEP = 1.25
_MIN_ZOOM, _MAX_ZOOM = 0.25, 64.0


class ViewState(QObject):
    """Zoom (1 = whole image fits) and centre in normalised image coordinates (0..1).

    Panes of images with different pixel sizes share one state, so they show the same part of
    the picture at the same relative zoom.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.zoom = 1.0
        self.center = QPointF(0.5, 0.5)

    def set_view(self, zoom: float, center: QPointF) -> None:
        self.zoom = min(max(zoom, _MIN_ZOOM), _MAX_ZOOM)
        # Keep the centre on the picture, so panning cannot lose it off-screen.
        self.center = QPointF(min(max(center.x(), 0.0), 1.0), min(max(center.y(), 0.0), 1.0))
        self.changed.emit()

    def reset(self) -> None:
        self.set_view(1.0, QPointF(0.5, 0.5))

    def zoom_by(self, factor: float) -> None:
        self.set_view(self.zoom * factor, self.center)


class ImagePane(QWidget):
    """Paints one image under a shared ViewState; drag pans, wheel zooms at the cursor."""

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._pixmap: QPixmap | None = None
        self._message = "Loading…"
        self._drag_from: QPointF | None = None
        state.changed.connect(self.update)
        self.setMinimumSize(QSize(240, 200))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.Dark)

    def set_image(self, image: QImage | None, message: str = "") -> None:
        self._pixmap = QPixmap.fromImage(image) if image is not None else None
        self._message = message
        self.update()

    @property
    def has_image(self) -> bool:
        return self._pixmap is not None

    def fit_scale(self) -> float:
        if self._pixmap is None or self._pixmap.isNull():
            return 1.0
        return min(self.width() / self._pixmap.width(), self.height() / self._pixmap.height())

    def scale(self) -> float:
        """Screen pixels per image pixel at the current zoom."""
        return self.fit_scale() * self._state.zoom

    def _image_rect(self) -> QRectF:
        """Where the whole image lands in widget coordinates."""
        assert self._pixmap is not None
        s = self.scale()
        w, h = self._pixmap.width() * s, self._pixmap.height() * s
        cx, cy = self._state.center.x() * w, self._state.center.y() * h
        return QRectF(self.width() / 2 - cx, self.height() / 2 - cy, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._pixmap is None:
            painter.setPen(self.palette().color(QPalette.ColorRole.BrightText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
            return
        target = self._image_rect()
        visible = target.intersected(QRectF(self.rect()))
        if visible.isEmpty():
            return
        # Draw only the visible part: cost follows the window size, not the image size.
        s = self.scale()
        source = QRectF(
            (visible.x() - target.x()) / s,
            (visible.y() - target.y()) / s,
            visible.width() / s,
            visible.height() / s,
        )
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, s < 2.0)
        painter.drawPixmap(visible, self._pixmap, source)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is None or self._pixmap is None:
            return
        delta = event.position() - self._drag_from
        self._drag_from = event.position()
        rect = self._image_rect()
        center = self._state.center
        self._state.set_view(
            self._state.zoom,
            QPointF(center.x() - delta.x() / rect.width(), center.y() - delta.y() / rect.height()),
        )

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Fit <-> actual pixels of this pane's image, centred where clicked."""
        if self._pixmap is None:
            return
        if abs(self._state.zoom - 1.0) > 1e-6:
            self._state.reset()
            return
        anchor = self.normalised_at(event.position())
        self._state.set_view(1.0 / self.fit_scale(), anchor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if self._pixmap is None or steps == 0:
            return
        self.zoom_at(event.position(), _ZOOM_STEP**steps)

    def normalised_at(self, pos: QPointF) -> QPointF:
        """The image point under ``pos``, in 0..1 image coordinates."""
        rect = self._image_rect()
        return QPointF((pos.x() - rect.x()) / rect.width(), (pos.y() - rect.y()) / rect.height())

    def zoom_at(self, pos: QPointF, factor: float) -> None:
        """Zooms keeping the image point under ``pos`` where it is."""
        anchor = self.normalised_at(pos)
        new_zoom = min(max(self._state.zoom * factor, _MIN_ZOOM), _MAX_ZOOM)
        assert self._pixmap is not None
        new_scale = self.fit_scale() * new_zoom
        offset = pos - QPointF(self.width() / 2, self.height() / 2)
        center = QPointF(
            anchor.x() - offset.x() / (self._pixmap.width() * new_scale),
            anchor.y() - offset.y() / (self._pixmap.height() * new_scale),
        )
        self._state.set_view(new_zoom, center)


# -- loading full images off the GUI thread -------------------------------------------------


class ImageLoaded(QObject):
    """Carries one loader result back to the GUI thread (QRunnable is not a QObject)."""

    loaded = Signal(object, object, str)  # path, QImage | None, error message


def decode_for_view(path: Path, service: DecodeService | None = None) -> QImage:
    """The image upright, at most ``VIEW_MAX_PX`` a side, as a QImage that owns its pixels.

    Decoded in a decoder process (``service``, else the shared one), so camera RAW, HEIC, AVIF
    and JPEG XL show as in the scan, and a decoder that crashes or hangs costs only this image.
    Call it from a worker thread: it blocks until the image is decoded.

    Raises:
        UnreadableImage: the file cannot be shown (``detail`` says why, in plain words).
        DecodeServiceClosed: the app is closing.
    """
    decoder = service or shared_decode_service()
    return to_qimage(decoder.decode(DecodeRequest(DecodeKind.VIEW, path, VIEW_MAX_PX)))


class ImageLoadTask(QRunnable):
    """Decodes one file on a pool thread; the result arrives as ``signals.loaded``."""

    def __init__(
        self, path: Path, signals: ImageLoaded, service: DecodeService | None = None
    ) -> None:
        super().__init__()
        self._path = path
        self._signals = signals
        self._service = service

    def run(self) -> None:
        try:
            image = decode_for_view(self._path, self._service)
        except UnreadableImage as exc:
            log.info("cannot show %s: %s", self._path, exc.detail)
            self._emit(None, f"Cannot show this file:\n{exc.detail}")
            return
        except DecodeServiceClosed:
            log.debug("not showing %s: the app is closing", self._path)
            return
        except Exception as exc:  # thread boundary: report, never raise into Qt
            log.exception("cannot show %s", self._path)
            self._emit(None, f"Cannot show this file:\n{type(exc).__name__}: {exc}")
            return
        self._emit(image, "")

    def _emit(self, image: QImage | None, error: str) -> None:
        try:
            self._signals.loaded.emit(self._path, image, error)
        except RuntimeError:  # the receiver's C++ side is gone (app quitting): nobody to tell
            log.debug("image for %s arrived after its viewer closed", self._path)


def load_in_background(
    path: Path,
    signals: ImageLoaded,
    pool: QThreadPool | None = None,
    service: DecodeService | None = None,
) -> None:
    """Decodes ``path`` for viewing in a decoder process; ``signals.loaded`` tells the result."""
    (pool or QThreadPool.globalInstance()).start(ImageLoadTask(path, signals, service))
