"""The "Show:" filter over the group list: all groups, or only exact, same-picture or similar."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Signal,
)
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from dedup_gui.core.model import GroupKind
from dedup_gui.ui.models import GroupListModel

AnyIndex = QModelIndex | QPersistentModelIndex

# The filter's choices in menu order: true duplicates first, so they can be reviewed first.
FILTER_CHOICES: tuple[tuple[GroupKind | None, str], ...] = (
    (None, "All"),
    (GroupKind.EXACT, "Exact copies"),
    (GroupKind.SAME_PICTURE, "Same picture"),
    (GroupKind.SIMILAR, "Similar"),
)


class GroupFilterModel(QSortFilterProxyModel):
    """Shows the groups of one kind, or all; rows keep the source's order.

    Reads the kind the source computed once per group, so filtering 50,000 groups costs one
    list lookup per row and painting costs nothing extra.
    """

    def __init__(self, groups: GroupListModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._groups = groups
        self._kind: GroupKind | None = None
        self.setSourceModel(groups)

    @property
    def kind(self) -> GroupKind | None:
        return self._kind

    def set_kind(self, kind: GroupKind | None) -> None:
        """Shows only groups of ``kind`` (None: all). Marks are untouched: they live in
        ``Decisions``; a view's current group stays current if it is still shown."""
        if kind == self._kind:
            return
        self._kind = kind
        # A full re-map (one layoutChanged) rather than invalidateFilter's row removals: hiding
        # every other of 50,000 rows is 25,000 removal signals, 0.4 s against 0.06 s.
        self.invalidate()

    def source_row(self, row: int) -> int:
        """The GroupListModel row shown at this row (-1 if none)."""
        return self.mapToSource(self.index(row, 0)).row()

    def row_of_source(self, source_row: int) -> int:
        """Where the source's row is shown here (-1 if it is filtered out)."""
        return self.mapFromSource(self._groups.index(source_row)).row()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        return self._kind is None or self._groups.kind_at(source_row) is self._kind


def filter_label(kind: GroupKind | None, counts: dict[GroupKind, int]) -> str:
    """A filter choice with its count: "Exact copies (12)"."""
    label = dict(FILTER_CHOICES)[kind]
    count = sum(counts.values()) if kind is None else counts.get(kind, 0)
    return f"{label} ({count:,})"


class GroupFilterBar(QWidget):
    """ "Show: [All (120) v]" above the group list, with a count per choice."""

    kind_chosen = Signal(object)  # GroupKind | None

    def __init__(self, groups: GroupListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._groups = groups
        self.combo = QComboBox()
        self.combo.setToolTip("Review exact copies first: they are the safest to remove")
        for kind, _label in FILTER_CHOICES:
            # The value string: a str enum would come back from Qt as a plain str anyway.
            self.combo.addItem("", "" if kind is None else kind.value)
        self.combo.currentIndexChanged.connect(self._on_combo_current_index_changed)
        label = QLabel("Show:")
        label.setBuddy(self.combo)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(self.combo, 1)
        for signal in (self._groups.modelReset, self._groups.rowsRemoved):
            signal.connect(self.update_counts)
        self._groups.dataChanged.connect(self._on_groups_data_changed)
        self.update_counts()

    def kind(self) -> GroupKind | None:
        value = self.combo.currentData()
        return GroupKind(value) if value else None

    def set_kind(self, kind: GroupKind | None) -> None:
        self.combo.setCurrentIndex(self.combo.findData("" if kind is None else kind.value))

    def update_counts(self) -> None:
        counts = self._groups.kind_counts()
        for row, (kind, _label) in enumerate(FILTER_CHOICES):
            self.combo.setItemText(row, filter_label(kind, counts))

    def _on_groups_data_changed(
        self, top: QModelIndex, bottom: QModelIndex, roles: list[int] | None = None
    ) -> None:
        if not roles:  # a group shrank (its kind may change); thumbnails name their roles
            self.update_counts()

    def _on_combo_current_index_changed(self, row: int) -> None:
        self.kind_chosen.emit(self.kind())
