"""Preferences: scanning options, pre-marking, and the remembered "not duplicates" decisions."""

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
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
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
        self.include_hidden = QCheckBox("Also scan hidden folders and files")
        self.include_hidden.setChecked(self._settings.include_hidden())
        self.follow_symlinks = QCheckBox("Follow links to other folders")
        self.follow_symlinks.setChecked(self._settings.follow_symlinks())
        self.min_size_kb = QSpinBox()
        self.min_size_kb.setRange(0, 1_000_000)
        self.min_size_kb.setSuffix(" kB")
        self.min_size_kb.setSpecialValueText("No limit")
        self.min_size_kb.setValue(self._settings.min_size_bytes() // 1000)
        self.auto_mark = QCheckBox("After each scan, mark copies for the Trash (best copy is kept)")
        self.auto_mark.setChecked(self._settings.auto_mark())
        form.addRow(self.include_hidden)
        form.addRow(self.follow_symlinks)
        form.addRow("Skip files smaller than", self.min_size_kb)
        form.addRow(self.auto_mark)
        return page

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
        super().accept()
