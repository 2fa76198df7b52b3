"""The empty window's invitation: a large drop target and "Add folder…"; what a drop holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMimeData, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from dedup_gui.ui import icons

# Suffixes we recognise as single photos dropped on the window (the walk also sniffs content,
# but a drop hint only needs the common cases).
_PHOTO_SUFFIXES = frozenset(
    [
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".webp",
        ".gif",
        ".bmp",
        ".tif",
        ".tiff",
        ".heic",
        ".heif",
        ".avif",
        ".jxl",
        ".cr2",
        ".cr3",
        ".nef",
        ".nrw",
        ".arw",
        ".dng",
        ".orf",
        ".raf",
        ".rw2",
        ".pef",
        ".srw",
        ".x3f",
    ]
)

READY_MESSAGE = ("Ready to scan", "Press “Scan for duplicates”, or drop more photo folders here.")
SCANNING_MESSAGE = (
    "Looking for duplicates…",
    "This can take a while the first time; later scans only read what changed.",
)
ALL_HANDLED_MESSAGE = (
    "No duplicates left to review",
    "Every group of this scan has been handled. “Restore” puts moved photos back; "
    "“Scan” looks again.",
)
OTHER_REFUSED = (
    "Only folders and photos on this computer can be dropped: a folder to scan it, "
    "photos to find their copies."
)


@dataclass(frozen=True, slots=True)
class DropVerdict:
    """What a drag carries: local folders (to scan) or else photos (to find their copies),
    and a hint when we take nothing."""

    folders: tuple[Path, ...]
    hint: str | None
    photos: tuple[Path, ...] = ()

    @property
    def is_accepted(self) -> bool:
        return bool(self.folders or self.photos)


def classify_drop(mime: QMimeData) -> DropVerdict:
    """Local folders are taken to scan; failing those, photo files to look up; else a hint.

    A drop of folders and photos together is a scan: the photos are left out (a folder can
    hold them; a lookup cannot hold a folder).
    """
    folders: list[Path] = []
    photos: list[Path] = []
    for url in mime.urls() if mime.hasUrls() else ():
        if not url.isLocalFile():
            continue
        path = Path(url.toLocalFile())
        if path.is_dir():
            folders.append(path)
        elif path.suffix.lower() in _PHOTO_SUFFIXES and path.is_file():
            photos.append(path)
    if folders:
        return DropVerdict(tuple(folders), None)
    if photos:
        return DropVerdict((), None, tuple(photos))
    return DropVerdict((), OTHER_REFUSED)


class DropZone(QWidget):
    """A dashed target filling the empty window, with the same choice as a button."""

    add_folder_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._is_highlighted = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        symbol = QLabel()
        accent = self.palette().color(QPalette.ColorRole.Highlight)
        symbol.setPixmap(icons.icon("photos", accent).pixmap(QSize(72, 72)))
        symbol.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._title = QLabel("Drop photo folders here")
        title_font = self._title.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.8)
        title_font.setBold(True)
        self._title.setFont(title_font)
        self._title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._subtitle = QLabel(
            "Duplicate Photos finds exact copies, re-saved, resized and converted copies,\n"
            "and shows them side by side. Nothing is moved until you say so.\n"
            "Drop single photos to see whether your library already has them."
        )
        self._subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._subtitle.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.add_button = QPushButton(icons.icon("folder-add"), "Add folder…")
        self.add_button.setIconSize(QSize(20, 20))
        self.add_button.setMinimumHeight(36)
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.add_folder_requested)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 48, 48, 48)
        layout.addStretch(2)
        layout.addWidget(symbol)
        layout.addSpacing(12)
        layout.addWidget(self._title)
        layout.addSpacing(6)
        layout.addWidget(self._subtitle)
        layout.addSpacing(20)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)

    def set_message(self, title: str, subtitle: str) -> None:
        """Changes the invitation, e.g. "Ready to scan" once folders were added."""
        self._title.setText(title)
        self._subtitle.setText(subtitle)

    @property
    def title_text(self) -> str:
        return self._title.text()

    def set_highlighted(self, highlighted: bool) -> None:
        """Shows that a drag over the window would be accepted."""
        if highlighted != self._is_highlighted:
            self._is_highlighted = highlighted
            self.update()

    @property
    def is_highlighted(self) -> bool:
        return self._is_highlighted

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        accent = palette.color(QPalette.ColorRole.Highlight)
        border = accent if self._is_highlighted else palette.color(QPalette.ColorRole.Mid)
        fill = QColor(accent)
        fill.setAlpha(40 if self._is_highlighted else 0)
        pen = QPen(border, 2.5, Qt.PenStyle.DashLine)
        pen.setDashPattern([6, 4])
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(20, 20, -20, -20), 18, 18)
