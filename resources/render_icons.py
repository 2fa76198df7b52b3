"""Render the app icon SVG to the PNG sizes next to it: `python resources/render_icons.py`.

Run it again after editing icons/hicolor/scalable/apps/dedup-gui.svg; the PNGs are checked in
so the app and the .desktop entry need no SVG support at run time.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from dedup_gui.ui.icons import APP_ICON_SIZES, APP_ICON_SVG, app_icon_png


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # QSvgRenderer needs a font database for text
    renderer = QSvgRenderer(str(APP_ICON_SVG))
    if not renderer.isValid():
        print(f"cannot read {APP_ICON_SVG}", file=sys.stderr)
        return 1
    for size in APP_ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        renderer.render(painter)
        painter.end()
        target = app_icon_png(size)
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(str(target), "PNG")
        print(target)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
