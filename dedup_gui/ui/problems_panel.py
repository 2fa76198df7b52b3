"""The list of files a scan could not use, with the reason for each."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

from dedup_gui.core.export import path_text
from dedup_gui.core.model import Problem
from dedup_gui.ui import icons

_HEADERS = ("File", "Reason", "Folder")
_Index = QModelIndex | QPersistentModelIndex


class ProblemTableModel(QAbstractTableModel):
    """Problems as rows (file name, reason, folder); O(1) data()."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._problems: tuple[Problem, ...] = ()

    def set_problems(self, problems: Sequence[Problem]) -> None:
        self.beginResetModel()
        self._problems = tuple(problems)
        self.endResetModel()

    def problem_at(self, row: int) -> Problem:
        return self._problems[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._problems)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        problem = self._problems[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            column = index.column()
            if column == 0:
                return path_text(Path(problem.path.name))
            if column == 1:
                return problem.detail
            return path_text(problem.path.parent)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{path_text(problem.path)}\n{problem.detail}"
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        return None


class ProblemsView(QTableView):
    """The problems table; the context menu opens or reveals the file."""

    open_requested = Signal(object)  # Path
    reveal_requested = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problems = ProblemTableModel(self)
        self.setModel(self.problems)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(0, 220)
        header.resizeSection(1, 340)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_context_menu_requested)

    def set_problems(self, problems: Sequence[Problem]) -> None:
        self.problems.set_problems(problems)

    def _on_context_menu_requested(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if not index.isValid():
            return
        path = self.problems.problem_at(index.row()).path
        menu = QMenu(self)
        menu.addAction(icons.icon("open"), "Open", lambda: self.open_requested.emit(path))
        menu.addAction(
            icons.icon("reveal"), "Show in file manager", lambda: self.reveal_requested.emit(path)
        )
        menu.exec(self.viewport().mapToGlobal(pos))
