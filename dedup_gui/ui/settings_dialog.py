"""Preferences: scanning options, the keep rule, and the remembered "not duplicates" decisions."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dedup_gui.core.errors import DedupError
from dedup_gui.core.export import path_text
from dedup_gui.core.store import NotDuplicate, open_store
from dedup_gui.ui import icons
from dedup_gui.ui.settings import Settings

log = logging.getLogger(__name__)

_PAIR_ROLE = Qt.ItemDataRole.UserRole + 1
_PATH_ROLE = Qt.ItemDataRole.UserRole + 2


def _pair_side(path: Path | None, content_hash: bytes) -> str:
    return (
        path_text(path)
        if path is not None
        else f"(no file now; content {content_hash.hex()[:12]}…)"
    )


class SettingsDialog(QDialog):
    """Edits the scan options; lists and forgets "not duplicates" decisions at once."""

    def __init__(self, settings: Settings, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self._settings = settings
        self._db_path = db_path
        tabs = QTabWidget()
        tabs.addTab(self._make_scanning_tab(), "Scanning")
        tabs.addTab(self._make_keep_tab(), "Copy to keep")
        tabs.addTab(self._make_pairs_tab(), "Not duplicates")
        self.tabs = tabs
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)
        self.resize(720, 460)
        self.reload_pairs()

    def _make_scanning_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.include_hidden = _switch(
            "Also scan hidden folders and files", self._settings.include_hidden()
        )
        self.follow_symlinks = _switch(
            "Follow links to other folders", self._settings.follow_symlinks()
        )
        self.min_size_kb = QSpinBox()
        self.min_size_kb.setRange(0, 1_000_000)
        self.min_size_kb.setSuffix(" kB")
        self.min_size_kb.setSpecialValueText("No limit")
        self.min_size_kb.setValue(self._settings.min_size_bytes() // 1000)
        self.auto_mark = _switch(
            "After each scan, mark copies for the Trash (best copy is kept)",
            self._settings.auto_mark(),
        )
        self.match_turned = _switch(
            "Match rotated and mirrored copies",
            self._settings.match_turned(),
            "Also find copies turned by 90, 180 or 270 degrees or mirrored (e.g. an export "
            "that lost its orientation)",
        )
        self.match_crops = _switch(
            "Match cropped copies and copies with a caption or watermark",
            self._settings.match_crops(),
            "Also find copies with a little cut off the edges, or with text or a logo added; "
            "each one is compared in detail, so different shots of one scene are not matched",
        )
        self.pairs_as_duplicates = _switch(
            "Treat RAW+JPEG pairs as duplicates",
            self._settings.pairs_as_duplicates(),
            "A RAW file and the JPEG the camera saved with it are normally kept together; "
            "with this on, one of them may be marked for the Trash",
        )
        form.addRow(self.include_hidden)
        form.addRow(self.follow_symlinks)
        form.addRow(self.match_turned)
        form.addRow(self.match_crops)
        form.addRow(self.pairs_as_duplicates)
        form.addRow("Skip files smaller than", self.min_size_kb)
        form.addRow(self.auto_mark)
        return page

    def _make_keep_tab(self) -> QWidget:
        page = QWidget()
        explain = QLabel(
            "In each group the best copy is kept and the others are marked for the Trash. "
            "Copies in protected folders are always kept. Then, in this order:"
        )
        explain.setWordWrap(True)
        self.preferred = QListWidget()
        self.preferred.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.preferred.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.add_folder_button = QPushButton(icons.icon("add"), "Add…")
        self.add_folder_button.clicked.connect(self._ask_preferred_folder)
        self.remove_folder_button = QPushButton(icons.icon("remove"), "Remove")
        self.remove_folder_button.clicked.connect(self.remove_selected_folders)
        self.preferred.itemSelectionChanged.connect(self._update_folder_buttons)
        for folder in self._settings.preferred_folders():
            self.add_preferred_folder(folder)
        buttons = QVBoxLayout()
        buttons.addWidget(self.add_folder_button)
        buttons.addWidget(self.remove_folder_button)
        buttons.addStretch(1)
        folders_row = QHBoxLayout()
        folders_row.addWidget(self.preferred, 1)
        folders_row.addLayout(buttons)
        folders_box = QGroupBox("Prefer files in these folders")
        folders_box.setLayout(folders_row)
        self.prefer_raw = _switch("Prefer RAW files", self._settings.prefer_raw())
        self.prefer_edited = _switch(
            "Prefer edited files (with XMP)",
            self._settings.prefer_edited(),
            "Keep the copy that carries edits, ratings or keywords from a photo editor",
        )
        self.prefer_resolution = _switch(
            "Prefer larger resolution", self._settings.prefer_resolution()
        )
        layout = QVBoxLayout(page)
        layout.addWidget(explain)
        layout.addWidget(folders_box, 1)
        for box in (self.prefer_raw, self.prefer_edited, self.prefer_resolution):
            layout.addWidget(box)
        self._update_folder_buttons()
        return page

    def preferred_folders(self) -> list[Path]:
        """The folders listed in the dialog, in order."""
        return [self.preferred.item(row).data(_PATH_ROLE) for row in range(self.preferred.count())]

    def add_preferred_folder(self, folder: Path) -> bool:
        """Appends ``folder`` to the list; False if it is already there."""
        if folder in self.preferred_folders():
            return False
        item = QListWidgetItem(icons.icon("photos"), path_text(folder))
        item.setToolTip(path_text(folder))
        item.setData(_PATH_ROLE, folder)
        self.preferred.addItem(item)
        self._update_folder_buttons()
        return True

    def remove_selected_folders(self) -> None:
        for item in self.preferred.selectedItems():
            self.preferred.takeItem(self.preferred.row(item))
        self._update_folder_buttons()

    def _ask_preferred_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Prefer copies in this folder")
        if chosen:
            self.add_preferred_folder(Path(chosen))

    def _update_folder_buttons(self) -> None:
        self.remove_folder_button.setEnabled(bool(self.preferred.selectedItems()))

    def _make_pairs_tab(self) -> QWidget:
        page = QWidget()
        explain = QLabel(
            "Photos you said are not duplicates are never grouped together again. "
            "Forget a decision to let them be grouped on the next scan."
        )
        explain.setWordWrap(True)
        self.pairs = QTableWidget(0, 3)
        self.pairs.setHorizontalHeaderLabels(["Photo", "Not a duplicate of", "Decided on"])
        self.pairs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.pairs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.pairs.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.pairs.verticalHeader().hide()
        header = self.pairs.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.forget_button = QPushButton(icons.icon("remove"), "Forget selected")
        self.forget_button.clicked.connect(self.forget_selected)
        self.forget_all_button = QPushButton("Forget all")
        self.forget_all_button.clicked.connect(self.forget_all)
        self.pairs_status = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.pairs_status, 1)
        row.addWidget(self.forget_button)
        row.addWidget(self.forget_all_button)
        layout = QVBoxLayout(page)
        layout.addWidget(explain)
        layout.addWidget(self.pairs, 1)
        layout.addLayout(row)
        return page

    # -- not duplicates -----------------------------------------------------------------------
    def reload_pairs(self) -> None:
        try:
            with open_store(self._db_path) as store:
                pairs = store.list_not_duplicates()
        except DedupError as exc:
            log.warning("cannot list not-duplicates: %s", exc)
            self.pairs_status.setText(str(exc))
            pairs = []
        self.pairs.setRowCount(len(pairs))
        for row, pair in enumerate(pairs):
            when = datetime.fromtimestamp(pair.created_at).strftime("%Y-%m-%d %H:%M")
            cells = (
                _pair_side(pair.path_a, pair.hash_a),
                _pair_side(pair.path_b, pair.hash_b),
                when,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                item.setData(_PAIR_ROLE, pair)
                self.pairs.setItem(row, column, item)
        if pairs or not self.pairs_status.text():
            self.pairs_status.setText(f"{len(pairs)} remembered decision(s)")
        self.forget_button.setEnabled(bool(pairs))
        self.forget_all_button.setEnabled(bool(pairs))

    def _forget(self, pairs: list[NotDuplicate]) -> None:
        try:
            with open_store(self._db_path) as store:
                for pair in pairs:
                    store.remove_not_duplicate(pair.hash_a, pair.hash_b)
        except DedupError as exc:
            log.warning("cannot forget not-duplicates: %s", exc)
            self.pairs_status.setText(str(exc))
        self.reload_pairs()

    def forget_selected(self) -> None:
        rows = sorted({index.row() for index in self.pairs.selectedIndexes()})
        self._forget([self.pairs.item(row, 0).data(_PAIR_ROLE) for row in rows])

    def forget_all(self) -> None:
        rows = range(self.pairs.rowCount())
        self._forget([self.pairs.item(row, 0).data(_PAIR_ROLE) for row in rows])

    # -- saving -------------------------------------------------------------------------------
    def accept(self) -> None:
        self._settings.set_include_hidden(self.include_hidden.isChecked())
        self._settings.set_follow_symlinks(self.follow_symlinks.isChecked())
        self._settings.set_min_size_bytes(self.min_size_kb.value() * 1000)
        self._settings.set_auto_mark(self.auto_mark.isChecked())
        self._settings.set_match_turned(self.match_turned.isChecked())
        self._settings.set_match_crops(self.match_crops.isChecked())
        self._settings.set_pairs_as_duplicates(self.pairs_as_duplicates.isChecked())
        self._settings.set_prefer_raw(self.prefer_raw.isChecked())
        self._settings.set_prefer_edited(self.prefer_edited.isChecked())
        self._settings.set_prefer_resolution(self.prefer_resolution.isChecked())
        self._settings.set_preferred_folders(self.preferred_folders())
        super().accept()


def _switch(text: str, checked: bool, tip: str = "") -> QCheckBox:
    """A preference's check box, set as saved, with an explanation on hover if given."""
    box = QCheckBox(text)
    box.setChecked(checked)
    if tip:
        box.setToolTip(tip)
    return box
