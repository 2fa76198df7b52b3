"""Icons: the only code that knows where resources/ lives; SVGs are tinted to the palette."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

log = logging.getLogger(__name__)


def _resources_dir() -> Path:
    """Installed from a wheel, resources/ ships as dedup_gui/resources; in a checkout it sits
    at the top of the repository."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "resources"
    return installed if installed.is_dir() else package.parent / "resources"


RESOURCES_DIR = _resources_dir()
ICONS_DIR = RESOURCES_DIR / "icons"
APP_ICON_SVG = ICONS_DIR / "hicolor" / "scalable" / "apps" / "dedup-gui.svg"
APP_ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)

# Our icon name -> freedesktop icon name. A desktop theme that has the stock icon wins, so the
# toolbar matches the user's other apps; names without a stock meaning are always ours.
_THEME_NAMES = {
    "add": "list-add",
    "remove": "list-remove",
    "folder-add": "folder-new",
    "scan": "system-search",
    "stop": "process-stop",
    "trash": "user-trash",
    "undo": "edit-undo",
    "export": "document-save-as",
    "settings": "preferences-system",
    "clear": "edit-clear",
    "problems": "dialog-warning",
    "open": "document-open",
    "reveal": "folder-open",
    "info": "dialog-information",
    "zoom-in": "zoom-in",
    "zoom-out": "zoom-out",
    "zoom-fit": "zoom-fit-best",
    "zoom-original": "zoom-original",
}


def app_icon_png(size: int) -> Path:
    """Where the app icon rendered at ``size`` px lives (freedesktop hicolor layout)."""
    return ICONS_DIR / "hicolor" / f"{size}x{size}" / "apps" / "dedup-gui.png"


def app_icon() -> QIcon:
    """The window/app icon: the PNG renderings, plus the SVG for any other size."""
    icon = QIcon()
    for size in APP_ICON_SIZES:
        png = app_icon_png(size)
        if png.is_file():
            icon.addFile(str(png), QSize(size, size))
    if APP_ICON_SVG.is_file():
        icon.addFile(str(APP_ICON_SVG))
    if icon.isNull():
        log.warning("app icon not found under %s", ICONS_DIR)
        return QIcon.fromTheme("dedup-gui")
    return icon


def icon(name: str, colour: QColor | None = None) -> QIcon:
    """An action icon by our name (e.g. "trash"), from the desktop theme or resources/icons.

    With ``colour``, always our own drawing in that colour (for large decorative symbols).
    """
    theme_name = _THEME_NAMES.get(name)
    if colour is None and theme_name and QIcon.hasThemeIcon(theme_name):
        return QIcon.fromTheme(theme_name)
    svg = _svg_source(name)
    if svg is None:
        return QIcon.fromTheme(theme_name) if theme_name else QIcon()
    return QIcon(_TintedSvgEngine(svg, colour))


@cache
def _svg_source(name: str) -> bytes | None:
    path = ICONS_DIR / "actions" / f"{name}.svg"
    try:
        return path.read_bytes()
    except OSError:
        log.warning("icon %s not found (%s)", name, path)
        return None


def _text_colour(mode: QIcon.Mode) -> QColor:
    palette = QGuiApplication.palette()
    if mode == QIcon.Mode.Disabled:
        return palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    if mode == QIcon.Mode.Selected:
        return palette.color(QPalette.ColorRole.HighlightedText)
    return palette.color(QPalette.ColorRole.WindowText)


class _TintedSvgEngine(QIconEngine):
    """Renders a ``currentColor`` SVG at any size in the palette's text colour.

    QtSvg does not resolve ``currentColor`` from a palette, so the colour is substituted into
    the source for each mode; it follows the palette, so dark themes get light icons.
    """

    def __init__(self, svg: bytes, colour: QColor | None = None) -> None:
        super().__init__()
        self._svg = svg
        self._colour = colour

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        fixed = self._colour if self._colour is not None and mode != QIcon.Mode.Disabled else None
        colour = (fixed or _text_colour(mode)).name().encode("ascii")
        return QSvgRenderer(QByteArray(self._svg.replace(b"currentColor", colour)))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        self._renderer(mode).render(painter, rect)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        return _TintedSvgEngine(self._svg, self._colour)
