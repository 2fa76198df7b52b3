"""At start: offers to undo a batch the app did not finish, and the last batch of the last run."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from dedup_gui.core.errors import DedupError
from dedup_gui.core.journal import InterruptedBatch, check_interrupted, close_batch, last_undoable
from dedup_gui.core.store import open_store
from dedup_gui.ui.cleanup import CleanupFlow

log = logging.getLogger(__name__)


class InterruptedBanner(QFrame):
    """A non-modal bar: what an interrupted batch did, with [Restore them] [Keep as is]."""

    restore_clicked = Signal()
    keep_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.restore_button = QPushButton("Restore them")
        self.restore_button.setToolTip("Put the photos that were moved back where they were")
        self.keep_button = QPushButton("Keep as is")
        self.keep_button.setToolTip("Leave them where they are now; this message goes away")
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.restore_button)
        layout.addWidget(self.keep_button)
        self.restore_button.clicked.connect(self.restore_clicked)
        self.keep_button.clicked.connect(self.keep_clicked)
        self.hide()


class InterruptedBatches(QObject):
    """Checks the journal once at start and acts on the user's choice for each interrupted batch.

    The check is a few stats and small queries on the GUI thread's own short connection.
    Either choice closes the batch in the journal; with no choice it is shown again next start.
    """

    message = Signal(str)  # a result for the status bar

    def __init__(
        self,
        db_path: Path,
        cleanup: CleanupFlow,
        banner: InterruptedBanner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._db_path = db_path
        self._cleanup = cleanup
        self._banner = banner
        self._waiting: list[InterruptedBatch] = []
        banner.restore_clicked.connect(self.restore)
        banner.keep_clicked.connect(self.keep)

    @property
    def current(self) -> InterruptedBatch | None:
        """The interrupted batch the banner asks about, if any."""
        return self._waiting[0] if self._waiting else None

    def check(self) -> None:
        """Settles interrupted batches from the disk and offers the last batch for undo."""
        try:
            with open_store(self._db_path) as store:
                self._waiting = check_interrupted(store)
                undoable = last_undoable(store)
        except DedupError as exc:  # the scan will say so in plain words; the journal can wait
            log.warning("could not read the action journal: %s", exc)
            return
        self._cleanup.set_undoable(undoable)
        self._show_current()

    def restore(self) -> bool:
        """Puts the current batch's moved files back (in the background) and closes it."""
        batch = self.current
        if batch is None or not self._cleanup.restore_files(batch.moved):
            return False
        self._close(batch)
        return True

    def keep(self) -> None:
        """Leaves the moved files where they are; they stay in reach of "Restore last trashed"."""
        batch = self.current
        if batch is None or not self._close(batch):
            return
        try:
            with open_store(self._db_path) as store:
                self._cleanup.set_undoable(last_undoable(store))
        except DedupError as exc:
            log.warning("could not read the action journal: %s", exc)

    def _close(self, batch: InterruptedBatch) -> bool:
        try:
            with open_store(self._db_path) as store:
                close_batch(store, batch.batch.batch_id)
        except DedupError as exc:
            self.message.emit(f"Could not note your choice: {exc}")
            return False
        self._waiting.pop(0)
        self._show_current()
        return True

    def _show_current(self) -> None:
        batch = self.current
        if batch is None:
            self._banner.hide()
            return
        self._banner.label.setText(batch.text)
        self._banner.show()
