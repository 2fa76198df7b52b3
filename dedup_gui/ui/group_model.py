"""The Qt list model of a scan's groups, one row each, with removal of trashed members."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, Slot

from dedup_gui.core.decisions import Decisions
from dedup_gui.core.formatting import display_name, display_path
from dedup_gui.core.kinds import group_kind
from dedup_gui.core.links import linked_paths, reclaimable_bytes
from dedup_gui.core.model import Group, GroupKind, ScanReport
from dedup_gui.ui.regroup import regroup
from dedup_gui.ui.roles import AnyIndex, GroupRole
from dedup_gui.ui.thumbnail_loader import ThumbKey, ThumbnailLoader

if TYPE_CHECKING:  # models.py re-exports this module's model; only the type is needed here
    from dedup_gui.ui.models import MemberModel

GROUP_THUMB_PX = 64


# Short labels for the kind chips on the group list (core.kinds.describe_kind says it in full).
KIND_LABELS = {
    GroupKind.EXACT: "Exact",
    GroupKind.SAME_PICTURE: "Same picture",
    GroupKind.SIMILAR: "Similar",
}

# Many scattered removals cost one O(rows) shift each; past this many, a reset is cheaper.
_MAX_REMOVAL_RUNS = 100


@dataclass(frozen=True, slots=True)
class _GroupRow:
    """A group plus what data() needs without walking its members."""

    group: Group
    kind: GroupKind
    bytes_reclaimable: int

    @classmethod
    def of(cls, group: Group, linked: AbstractSet[Path]) -> _GroupRow:
        # Hard-linked files free nothing when trashed, so they are not counted.
        return cls(group, group_kind(group), reclaimable_bytes(group, linked))


class GroupListModel(QAbstractListModel):
    """The groups of a scan, one row each; data() is O(1) and does no I/O."""

    def __init__(
        self,
        decisions: Decisions,
        loader: ThumbnailLoader,
        parent: QObject | None = None,
        *,
        thumb_px: int = GROUP_THUMB_PX,
    ) -> None:
        super().__init__(parent)
        self._decisions = decisions  # as MemberModel's; marks are edited through MemberModel
        self._loader = loader
        self._thumb_px = thumb_px
        self._rows: list[_GroupRow] = []
        self._row_by_reference: dict[Path, int] = {}
        self._linked: frozenset[Path] = frozenset()
        loader.loaded.connect(self._on_loader_loaded)

    def set_groups(self, groups: Sequence[Group]) -> None:
        self.beginResetModel()
        self._rows = [_GroupRow.of(g, self._linked) for g in groups]
        self._index_references()
        self.endResetModel()

    def set_links(self, report: ScanReport, *, members: MemberModel | None = None) -> None:
        """Takes the scan's hard links: linked files no longer count as space to reclaim.

        Also hands them to ``members`` (the cards say which files are links), so the window
        tells both models with one call. Works before or after ``set_groups``.
        """
        self._linked = linked_paths(report)
        self._rows = [_GroupRow.of(r.group, self._linked) for r in self._rows]
        if self._rows:
            self.dataChanged.emit(
                self.index(0), self.index(len(self._rows) - 1), [GroupRole.BYTES_RECLAIMABLE]
            )
        if members is not None:
            members.set_links(report)

    @property
    def linked(self) -> frozenset[Path]:
        """Files whose trashing frees no space (hard links), as ``core.links.linked_paths``."""
        return self._linked

    def group_at(self, row: int) -> Group:
        return self._rows[row].group

    def kind_at(self, row: int) -> GroupKind:
        return self._rows[row].kind

    def kind_counts(self) -> dict[GroupKind, int]:
        """How many groups there are of each kind (every kind present, maybe 0)."""
        counts = dict.fromkeys(GroupKind, 0)
        for entry in self._rows:
            counts[entry.kind] += 1
        return counts

    def row_of(self, reference: Path) -> int | None:
        """The row of the group whose reference is ``reference``, if any."""
        return self._row_by_reference.get(reference)

    def groups(self) -> tuple[Group, ...]:
        """Every group, in row order (for marking, trashing and export)."""
        return tuple(r.group for r in self._rows)

    def summary(self) -> tuple[int, int, int]:
        """(groups, duplicate files, bytes reclaimable); a duplicate is any member but one."""
        duplicates = sum(len(r.group.members) - 1 for r in self._rows)
        return len(self._rows), duplicates, sum(r.bytes_reclaimable for r in self._rows)

    def remove_paths(self, paths: AbstractSet[Path]) -> None:
        """Drops these files from their groups (e.g. they were trashed).

        A group left with fewer than two members disappears. If a group's reference goes, the
        best remaining copy becomes the reference and relations are recomputed against it.
        """
        if not paths:
            return
        gone: list[int] = []
        changed: dict[int, Group] = {}
        for row, entry in enumerate(self._rows):
            members = entry.group.members
            if not any(m.record.path in paths for m in members):
                continue
            kept = [m for m in members if m.record.path not in paths]
            if len(kept) < 2:
                gone.append(row)
            else:
                changed[row] = regroup(entry.group, kept)
        self._remove_rows(gone)
        new_rows = [old - bisect.bisect_left(gone, old) for old in changed]
        for row, group in zip(new_rows, changed.values(), strict=True):
            self._rows[row] = _GroupRow.of(group, self._linked)
        self._index_references()
        if new_rows:  # one signal for the span: views repaint only what is visible anyway
            self.dataChanged.emit(self.index(min(new_rows)), self.index(max(new_rows)))

    def _remove_rows(self, rows: list[int]) -> None:
        runs = _runs(rows)
        if len(runs) > _MAX_REMOVAL_RUNS:
            self.beginResetModel()
            keep = set(range(len(self._rows))).difference(rows)
            self._rows = [self._rows[i] for i in sorted(keep)]
            self.endResetModel()
            return
        for first, last in reversed(runs):  # bottom up, so earlier row numbers stay valid
            self.beginRemoveRows(QModelIndex(), first, last)  # last is inclusive
            del self._rows[first : last + 1]
            self.endRemoveRows()

    def _index_references(self) -> None:
        self._row_by_reference = {
            r.group.reference.record.path: i for i, r in enumerate(self._rows)
        }

    # -- Qt model interface -------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        record = entry.group.reference.record
        if role == Qt.ItemDataRole.DisplayRole:
            return display_name(record.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return display_path(record.path)
        if role in (GroupRole.THUMBNAIL, Qt.ItemDataRole.DecorationRole):
            return self._loader.get_or_request(record.path, record.mtime_ns, self._thumb_px)
        if role == GroupRole.THUMBNAIL_ERROR:
            return self._loader.error_of(record.path, record.mtime_ns, self._thumb_px)
        if role == GroupRole.GROUP:
            return entry.group
        if role == GroupRole.THUMB_RECORD:
            return record
        if role == GroupRole.MEMBER_COUNT:
            return len(entry.group.members)
        if role == GroupRole.BYTES_RECLAIMABLE:
            return entry.bytes_reclaimable
        if role == GroupRole.KIND:
            return entry.kind
        if role == GroupRole.KIND_LABEL:
            return KIND_LABELS[entry.kind]
        return None

    @Slot(object)
    def _on_loader_loaded(self, key: ThumbKey) -> None:
        path, mtime_ns, max_px = key
        row = self._row_by_reference.get(path)
        if row is None or max_px != self._thumb_px:
            return
        if self._rows[row].group.reference.record.mtime_ns == mtime_ns:
            index = self.index(row)
            self.dataChanged.emit(index, index, _GROUP_THUMB_ROLES)


_GROUP_THUMB_ROLES = [
    int(Qt.ItemDataRole.DecorationRole),
    GroupRole.THUMBNAIL,
    GroupRole.THUMBNAIL_ERROR,
]


def _runs(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as inclusive (first, last) runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs
