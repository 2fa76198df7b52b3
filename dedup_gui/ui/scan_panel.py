"""The bar shown while a scan runs: stage, progress, counts, current folder, ETA, Cancel."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from dedup_gui.core.export import path_text
from dedup_gui.core.formatting import human_duration
from dedup_gui.core.model import ScanProgress, ScanStage
from dedup_gui.progress_bar import eta_seconds
from dedup_gui.ui import icons


class ElidedLabel(QLabel):
    """A one-line label that elides its text in the middle instead of growing the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self._full_text = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full_text

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        self.setText(
            metrics.elidedText(self._full_text, Qt.TextElideMode.ElideMiddle, self.width())
        )


def stage_text(progress: ScanProgress) -> str:
    """The headline of the progress bar, in plain words."""
    if progress.stage is ScanStage.WALKING:
        return f"Looking for photos… {progress.found:,} found"
    if progress.stage is ScanStage.HASHING:
        return f"Reading photos… {progress.hashed:,} of {progress.to_hash:,}"
    if progress.stage is ScanStage.GROUPING:
        return "Grouping photos that look alike…"
    if progress.stage is ScanStage.VERIFYING:
        if progress.to_check:
            done = f"{progress.checked:,} of {progress.to_check:,}"
            return f"Comparing likely copies in detail… {done}"
        return "Comparing pixels of likely copies…"
    return "Finishing…"


def counts_text(progress: ScanProgress) -> str:
    parts = [
        f"{progress.found:,} found",
        f"{progress.hashed:,} read",
        f"{progress.reused:,} unchanged",
        f"{progress.problems:,} problem{'s' if progress.problems != 1 else ''}",
    ]
    return "  ·  ".join(parts)


class ScanPanel(QFrame):
    """Live progress of one scan; ``cancel_requested`` when the user presses Cancel."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self._hashing_started_s: float | None = None

        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.eta = QLabel()
        self.eta.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(10)
        self.counts = QLabel()
        self.folder = ElidedLabel()
        self.folder.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.cancel_button = QPushButton(icons.icon("stop"), "Cancel")
        self.cancel_button.setIconSize(QSize(18, 18))
        self.cancel_button.setToolTip("Stop scanning; what was read so far is kept for next time")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)

        grid = QGridLayout(self)
        grid.setContentsMargins(14, 10, 14, 10)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        grid.addWidget(self.title, 0, 0)
        grid.addWidget(self.eta, 0, 1)
        grid.addWidget(self.cancel_button, 0, 2, 3, 1, Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(self.bar, 1, 0, 1, 2)
        grid.addWidget(self.counts, 2, 0)
        grid.addWidget(self.folder, 2, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)

    def start(self) -> None:
        """Resets the panel for a new scan."""
        self._hashing_started_s = None
        self.title.setText("Starting…")
        self.eta.clear()
        self.counts.clear()
        self.folder.set_full_text("")
        self.bar.setRange(0, 0)  # busy until the number of files to read is known
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")

    def update_progress(self, progress: ScanProgress) -> None:
        if progress.stage is ScanStage.HASHING and self._hashing_started_s is None:
            self._hashing_started_s = progress.elapsed_s
        self.title.setText(stage_text(progress))
        self.counts.setText(counts_text(progress))
        if progress.current_folder is not None:
            self.folder.set_full_text(f"in {path_text(progress.current_folder)}")
        if progress.stage is ScanStage.HASHING and progress.to_hash > 0:
            self.bar.setRange(0, progress.to_hash)
            self.bar.setValue(min(progress.hashed, progress.to_hash))
        else:
            self.bar.setRange(0, 0)
        eta = eta_seconds(progress, self._hashing_started_s)
        if progress.stage is ScanStage.HASHING and eta is not None:
            self.eta.setText(f"about {human_duration(eta)} left")
        else:
            self.eta.clear()

    def _on_cancel_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Stopping…")
        self.title.setText("Stopping; saving what was read so far…")
        self.cancel_requested.emit()
