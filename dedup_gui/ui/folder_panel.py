"""The sidebar: folders to scan with their per-folder choices, the similarity choice, Scan."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dedup_gui.core.export import path_text
from dedup_gui.ui import icons
from dedup_gui.ui.settings import FolderEntry, Similarity

_PATH_ROLE = Qt.ItemDataRole.UserRole + 1
_COL_FOLDER, _COL_SUBFOLDERS, _COL_PROTECTED = 0, 1, 2


def display_folder(path: Path) -> str:
    """A folder as the user reads it: ``~/Pictures`` for folders in the home folder."""
    home = Path.home()
    if path == home or home in path.parents:
        rest = path.relative_to(home)
        return "~" if rest == Path() else f"~/{path_text(rest)}"
    return path_text(path)


def section_label(text: str) -> QLabel:
    """A small bold heading, as sidebars in desktop apps have."""
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


class FolderPanel(QWidget):
    """Edits the folder list (remove, subfolders, protected) and starts scans."""

    folders_changed = Signal()
    add_requested = Signal()
    scan_requested = Signal()
    similarity_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._is_scanning = False
        self._tree = self._make_tree()
        self._tree.itemChanged.connect(self._on_tree_item_changed)
        self._tree.itemSelectionChanged.connect(self._update_buttons)
        self._tree.installEventFilter(self)  # Delete removes the selected folders

        add = QToolButton()
        add.setIcon(icons.icon("add"))
        add.setToolTip("Add a folder to scan")
        add.clicked.connect(self.add_requested)
        self._remove = QToolButton()
        self._remove.setIcon(icons.icon("remove"))
        self._remove.setToolTip("Remove the selected folder from the list (nothing is deleted)")
        self._remove.clicked.connect(self.remove_selected)
        header = QHBoxLayout()
        header.addWidget(section_label("Folders"))
        header.addStretch(1)
        header.addWidget(add)
        header.addWidget(self._remove)

        self._similarity = QComboBox()
        for similarity in Similarity:
            self._similarity.addItem(f"{similarity.label} ({int(similarity)})", int(similarity))
        self._similarity.setToolTip(
            "How alike photos must look to be grouped; the number is the largest allowed "
            "difference between their fingerprints (0 = only identical-looking photos)."
        )
        self._similarity.currentIndexChanged.connect(self._on_similarity_index_changed)
        self._similarity_hint = QLabel()
        self._similarity_hint.setWordWrap(True)
        self._similarity_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.scan_button = QPushButton(icons.icon("scan"), "Scan for duplicates")
        self.scan_button.setIconSize(QSize(20, 20))
        self.scan_button.setMinimumHeight(36)
        bold = QFont(self.scan_button.font())
        bold.setBold(True)
        self.scan_button.setFont(bold)
        self.scan_button.clicked.connect(self.scan_requested)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 6, 10)
        layout.addLayout(header)
        layout.addWidget(self._tree)
        layout.addSpacing(8)
        layout.addWidget(section_label("Match photos that are"))
        layout.addWidget(self._similarity)
        layout.addWidget(self._similarity_hint)
        layout.addSpacing(8)
        layout.addWidget(self.scan_button)
        layout.addStretch(1)
        self.set_similarity(Similarity.SIMILAR)
        self._update_buttons()

    def _make_tree(self) -> QTreeWidget:
        tree = QTreeWidget()
        tree.setColumnCount(3)
        tree.setHeaderLabels(["Folder", "Subfolders", ""])
        tree.headerItem().setIcon(_COL_PROTECTED, icons.icon("lock"))
        tree.headerItem().setToolTip(
            _COL_PROTECTED, "Protected: photos here are shown but never marked for the Trash"
        )
        tree.headerItem().setToolTip(_COL_SUBFOLDERS, "Also scan the folders inside")
        tree.setRootIsDecorated(False)
        tree.setUniformRowHeights(True)
        tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        tree.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        head = tree.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(_COL_FOLDER, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(_COL_SUBFOLDERS, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(_COL_PROTECTED, QHeaderView.ResizeMode.ResizeToContents)
        return tree

    # -- folders ------------------------------------------------------------------------------
    def set_folders(self, entries: Sequence[FolderEntry]) -> None:
        self._tree.blockSignals(True)
        self._tree.clear()
        for entry in entries:
            self._tree.addTopLevelItem(self._make_item(entry))
        self._tree.blockSignals(False)
        self._fit_tree_height()
        self._update_buttons()

    def _fit_tree_height(self) -> None:
        """Tall enough for the folders (3 to 8 rows), so the groups below get the rest."""
        rows = min(max(self._tree.topLevelItemCount(), 3), 8)
        row_height = max(self._tree.sizeHintForRow(0), self.fontMetrics().height() + 6)
        header = self._tree.header().sizeHint().height()
        self._tree.setFixedHeight(header + rows * row_height + 2 * self._tree.frameWidth() + 2)

    def _make_item(self, entry: FolderEntry) -> QTreeWidgetItem:
        item = QTreeWidgetItem()
        item.setText(_COL_FOLDER, display_folder(entry.path))
        item.setToolTip(_COL_FOLDER, path_text(entry.path))
        item.setData(_COL_FOLDER, _PATH_ROLE, entry.path)
        item.setIcon(_COL_FOLDER, icons.icon("lock" if entry.is_protected else "photos"))
        flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
        item.setFlags(flags)
        item.setCheckState(_COL_SUBFOLDERS, _check(entry.include_subfolders))
        item.setCheckState(_COL_PROTECTED, _check(entry.is_protected))
        item.setToolTip(_COL_PROTECTED, "Protected: never marked for the Trash")
        return item

    def folders(self) -> list[FolderEntry]:
        entries = []
        for i in range(self._tree.topLevelItemCount()):
            item = self._tree.topLevelItem(i)
            entries.append(
                FolderEntry(
                    path=item.data(_COL_FOLDER, _PATH_ROLE),
                    include_subfolders=item.checkState(_COL_SUBFOLDERS) == Qt.CheckState.Checked,
                    is_protected=item.checkState(_COL_PROTECTED) == Qt.CheckState.Checked,
                )
            )
        return entries

    def add_folders(self, paths: Sequence[Path]) -> list[Path]:
        """Adds folders not yet in the list; returns those that were new."""
        known = {e.path for e in self.folders()}
        added = [p for p in dict.fromkeys(paths) if p not in known]
        if added:
            self.set_folders([*self.folders(), *(FolderEntry(p) for p in added)])
            self.folders_changed.emit()
        return added

    def remove_selected(self) -> None:
        selected = {id(item) for item in self._tree.selectedItems()}
        if not selected:
            return
        keep = [
            entry
            for i, entry in enumerate(self.folders())
            if id(self._tree.topLevelItem(i)) not in selected
        ]
        self.set_folders(keep)
        self.folders_changed.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self._tree
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Delete)
            and not self._is_scanning
        ):
            self.remove_selected()
            return True
        return super().eventFilter(watched, event)

    def _on_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == _COL_PROTECTED:
            protected = item.checkState(_COL_PROTECTED) == Qt.CheckState.Checked
            self._tree.blockSignals(True)
            item.setIcon(_COL_FOLDER, icons.icon("lock" if protected else "photos"))
            self._tree.blockSignals(False)
        if column in (_COL_SUBFOLDERS, _COL_PROTECTED):
            self.folders_changed.emit()

    # -- similarity and scan ------------------------------------------------------------------
    def similarity(self) -> Similarity:
        return Similarity(self._similarity.currentData())

    def set_similarity(self, similarity: Similarity) -> None:
        self._similarity.setCurrentIndex(self._similarity.findData(int(similarity)))
        self._similarity_hint.setText(similarity.description)

    def _on_similarity_index_changed(self, index: int) -> None:
        similarity = Similarity(self._similarity.itemData(index))
        self._similarity_hint.setText(similarity.description)
        self.similarity_changed.emit(int(similarity))

    def set_scanning(self, is_scanning: bool) -> None:
        """While a scan runs, its inputs are fixed and Scan is off."""
        self._is_scanning = is_scanning
        self._update_buttons()

    def _update_buttons(self) -> None:
        is_scanning = self._is_scanning
        has_folders = self._tree.topLevelItemCount() > 0
        self.scan_button.setEnabled(has_folders and not is_scanning)
        self._remove.setEnabled(bool(self._tree.selectedItems()) and not is_scanning)
        self._tree.setEnabled(not is_scanning)
        self._similarity.setEnabled(not is_scanning)


def _check(value: bool) -> Qt.CheckState:
    return Qt.CheckState.Checked if value else Qt.CheckState.Unchecked
