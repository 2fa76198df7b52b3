"""Qt list models over scan results: the groups, and the members of the selected group."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Slot,
)

from dedup_gui.core.decisions import Decisions, Mark, is_protected
from dedup_gui.core.formatting import describe_relation, display_name, display_path
from dedup_gui.core.grouping import best_first_key
from dedup_gui.core.links import link_note, linked_paths, reclaimable_bytes
from dedup_gui.core.model import Group, GroupMember, ImageRecord, Relation, ScanReport
from dedup_gui.ui.thumbnail_loader import ThumbKey, ThumbnailLoader

AnyIndex = QModelIndex | QPersistentModelIndex
_FIRST_ROLE = int(Qt.ItemDataRole.UserRole) + 1
_THUMB_ROLES = [int(Qt.ItemDataRole.DecorationRole)]  # extended with our THUMBNAIL roles below

GROUP_THUMB_PX = 64
MEMBER_THUMB_PX = 220

# GroupRole.KIND values: what the copies in a group have in common with the reference.
KIND_EXACT = "exact"  # every copy has the same bytes
KIND_SAME_PICTURE = "same picture"  # same bytes or same decoded pixels
KIND_SIMILAR = "similar"  # at least one only looks alike

# MemberRole.HIGHLIGHTS values: where a member stands out within its group.
LARGEST = "largest"
HIGHEST_RESOLUTION = "highest_resolution"
NEWEST = "newest"
OLDEST = "oldest"
OTHER_FORMAT = "other_format"  # not the reference's format

# Many scattered removals cost one O(rows) shift each; past this many, a reset is cheaper.
_MAX_REMOVAL_RUNS = 100


class GroupRole(IntEnum):
    GROUP = _FIRST_ROLE  # Group
    THUMB_RECORD = _FIRST_ROLE + 1  # ImageRecord shown for the group (its reference)
    MEMBER_COUNT = _FIRST_ROLE + 2  # int
    BYTES_RECLAIMABLE = _FIRST_ROLE + 3  # int
    KIND = _FIRST_ROLE + 4  # KIND_EXACT / KIND_SAME_PICTURE / KIND_SIMILAR
    THUMBNAIL = _FIRST_ROLE + 5  # QPixmap | None (None: placeholder, load queued)
    THUMBNAIL_ERROR = _FIRST_ROLE + 6  # str | None: why no thumbnail can be shown


class MemberRole(IntEnum):
    RECORD = _FIRST_ROLE  # ImageRecord
    MEMBER = _FIRST_ROLE + 1  # GroupMember
    MARK = _FIRST_ROLE + 2  # Mark | None (editable through setData)
    IS_PROTECTED = _FIRST_ROLE + 3  # bool: under a protected (reference) folder
    THUMBNAIL = _FIRST_ROLE + 4  # QPixmap | None
    HIGHLIGHTS = _FIRST_ROLE + 5  # frozenset[str] of LARGEST, HIGHEST_RESOLUTION, ...
    THUMBNAIL_ERROR = _FIRST_ROLE + 6  # str | None
    RELATION_TEXT = _FIRST_ROLE + 7  # "exact copy", "98 % similar (distance 1)", ...
    LINK_NOTE = _FIRST_ROLE + 8  # str | None: "hard link: also at 2 other places", ...


def mark_at(index: AnyIndex) -> Mark | None:
    """An index's MemberRole.MARK as a ``Mark``: through ``index.data()`` (a QVariant) a str
    enum arrives as its plain str value."""
    value = index.data(MemberRole.MARK)
    return Mark(value) if value else None


def group_kind(group: Group) -> str:
    """KIND_EXACT, KIND_SAME_PICTURE or KIND_SIMILAR."""
    relations = {m.relation for m in group.members[1:]}
    if relations <= {Relation.EXACT}:
        return KIND_EXACT
    if relations <= {Relation.EXACT, Relation.SAME_PIXELS}:
        return KIND_SAME_PICTURE
    return KIND_SIMILAR


@dataclass(frozen=True, slots=True)
class _GroupRow:
    """A group plus what data() needs without walking its members."""

    group: Group
    kind: str
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


class MemberModel(QAbstractListModel):
    """The members of one group, side by side; marks read from and written to ``Decisions``."""

    def __init__(
        self,
        decisions: Decisions,
        loader: ThumbnailLoader,
        parent: QObject | None = None,
        *,
        thumb_px: int = MEMBER_THUMB_PX,
    ) -> None:
        super().__init__(parent)
        self._decisions = decisions
        self._loader = loader
        self._thumb_px = thumb_px
        self._group: Group | None = None
        self._members: tuple[GroupMember, ...] = ()
        self._protected: list[bool] = []
        self._highlights: list[frozenset[str]] = []
        self._relation_texts: list[str] = []
        self._row_by_path: dict[Path, int] = {}
        self._hash_bits: int | None = None
        self._hard_links: dict[Path, tuple[Path, ...]] = {}
        self._linked_elsewhere: frozenset[Path] = frozenset()
        self._link_notes: list[str | None] = []
        loader.loaded.connect(self._on_loader_loaded)

    @property
    def hash_bits(self) -> int:
        """Bits in one perceptual hash, for "98 % similar"; by default the reference's length.

        Set it for multi-hash algorithms (crop-resistant), whose records hold several hashes.
        """
        if self._hash_bits is not None:
            return self._hash_bits
        return len(self._members[0].record.perceptual_hash) * 8 if self._members else 64

    @hash_bits.setter
    def hash_bits(self, bits: int | None) -> None:
        self._hash_bits = bits
        self._relation_texts = [describe_relation(m, self.hash_bits) for m in self._members]
        self._emit_all_changed([MemberRole.RELATION_TEXT])

    def group(self) -> Group | None:
        return self._group

    def set_group(self, group: Group | None) -> None:
        self.beginResetModel()
        self._group = group
        self._members = group.members if group is not None else ()
        self._protected = [self._is_protected(m.record) for m in self._members]
        self._highlights = member_highlights(self._members)  # once per group, not in data()
        self._relation_texts = [describe_relation(m, self.hash_bits) for m in self._members]
        self._row_by_path = {m.record.path: i for i, m in enumerate(self._members)}
        self._link_notes = self._notes()
        self.endResetModel()

    def set_links(self, report: ScanReport) -> None:
        """Takes the scan's hard links, for MemberRole.LINK_NOTE."""
        self._hard_links = dict(report.hard_links)
        self._linked_elsewhere = report.linked_elsewhere
        self._link_notes = self._notes()
        self._emit_all_changed([MemberRole.LINK_NOTE, Qt.ItemDataRole.ToolTipRole])

    def _notes(self) -> list[str | None]:
        return [
            link_note(self._hard_links.get(p, ()), p in self._linked_elsewhere)
            for p in (m.record.path for m in self._members)
        ]

    def record_at(self, row: int) -> ImageRecord:
        return self._members[row].record

    def toggle(self, row: int) -> Mark | None:
        """Flips KEEP/TRASH of one member (a protected one stays KEEP); returns the new mark."""
        mark = self._decisions.toggle(self._members[row].record.path)
        self._emit_changed(row, [MemberRole.MARK])
        return mark

    def refresh(self) -> None:
        """Re-reads marks and protection after ``Decisions`` changed behind this model's back
        (apply_rule, clear, a new KeepRule)."""
        self._protected = [self._is_protected(m.record) for m in self._members]
        self._emit_all_changed([MemberRole.MARK, MemberRole.IS_PROTECTED])

    def _is_protected(self, record: ImageRecord) -> bool:
        return is_protected(record.path, self._decisions.rule.protected_roots)

    def _emit_changed(self, row: int, roles: list[int]) -> None:
        index = self.index(row)
        self.dataChanged.emit(index, index, roles)

    def _emit_all_changed(self, roles: list[int]) -> None:
        if self._members:
            self.dataChanged.emit(self.index(0), self.index(len(self._members) - 1), roles)

    # -- Qt model interface -------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._members)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._members):
            return None
        row = index.row()
        member = self._members[row]
        record = member.record
        if role == Qt.ItemDataRole.DisplayRole:
            return display_name(record.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role in (MemberRole.THUMBNAIL, Qt.ItemDataRole.DecorationRole):
            return self._loader.get_or_request(record.path, record.mtime_ns, self._thumb_px)
        if role == MemberRole.THUMBNAIL_ERROR:
            return self._loader.error_of(record.path, record.mtime_ns, self._thumb_px)
        if role == MemberRole.LINK_NOTE:
            return self._link_notes[row]
        if role == MemberRole.MARK:
            return self._decisions.mark_of(record.path)
        if role == MemberRole.RECORD:
            return record
        if role == MemberRole.MEMBER:
            return member
        if role == MemberRole.IS_PROTECTED:
            return self._protected[row]
        if role == MemberRole.HIGHLIGHTS:
            return self._highlights[row]
        if role == MemberRole.RELATION_TEXT:
            return self._relation_texts[row]
        return None

    def _tooltip(self, row: int) -> str:
        """The full path; for a hard link also its note and other names (the card elides)."""
        path = self._members[row].record.path
        note = self._link_notes[row]
        if note is None:
            return display_path(path)
        others = "".join(f"\n{display_path(p)}" for p in self._hard_links.get(path, ()))
        return f"{display_path(path)}\n{note}{others}"

    def setData(self, index: AnyIndex, value: Any, role: int = MemberRole.MARK) -> bool:
        """Sets a member's mark (a ``Mark``, its value string, or None to unmark).

        Returns False if refused: TRASH on a protected file, or not the MARK role.
        """
        if role != MemberRole.MARK or not index.isValid() or index.row() >= len(self._members):
            return False
        mark = Mark(value) if isinstance(value, str) else value
        if mark is not None and not isinstance(mark, Mark):
            return False
        if not self._decisions.set_mark(self._members[index.row()].record.path, mark):
            return False
        self._emit_changed(index.row(), [MemberRole.MARK])
        return True

    @Slot(object)
    def _on_loader_loaded(self, key: ThumbKey) -> None:
        path, mtime_ns, max_px = key
        row = self._row_by_path.get(path)
        if row is None or max_px != self._thumb_px:
            return
        if self._members[row].record.mtime_ns == mtime_ns:
            self._emit_changed(row, _MEMBER_THUMB_ROLES)


_GROUP_THUMB_ROLES = [*_THUMB_ROLES, GroupRole.THUMBNAIL, GroupRole.THUMBNAIL_ERROR]
_MEMBER_THUMB_ROLES = [*_THUMB_ROLES, MemberRole.THUMBNAIL, MemberRole.THUMBNAIL_ERROR]


def member_highlights(members: Sequence[GroupMember]) -> list[frozenset[str]]:
    """Per member, the facts where it stands out within its group.

    A fact is only given when members differ in it (all the same size: nobody is "largest");
    ties share it. Dates compare only among members that have one.
    """
    records = [m.record for m in members]
    facts: list[set[str]] = [set() for _ in records]
    _mark_extreme(facts, [r.size for r in records], LARGEST, tolerance=0.01)
    _mark_extreme(facts, [r.pixels for r in records], HIGHEST_RESOLUTION)
    dates = [r.date_taken for r in records]
    known = {d for d in dates if d}
    if len(known) >= 2:  # "YYYY-MM-DD HH:MM:SS" sorts as text
        for fact, value in ((NEWEST, max(known)), (OLDEST, min(known))):
            for i, date in enumerate(dates):
                if date == value:
                    facts[i].add(fact)
    if records:
        for i, record in enumerate(records):
            if record.format != records[0].format:
                facts[i].add(OTHER_FORMAT)
    return [frozenset(f) for f in facts]


def _mark_extreme(
    facts: list[set[str]], values: list[int], fact: str, *, tolerance: float = 0.0
) -> None:
    """Gives ``fact`` to the members within ``tolerance`` (a share) of the largest value, if
    any member is further below. 74.41 kB vs 74.38 kB both read "74.4 kB": no "largest" there.
    """
    if not values:
        return
    near_best = max(values) * (1.0 - tolerance)
    if min(values) >= near_best:
        return
    for i, value in enumerate(values):
        if value >= near_best:
            facts[i].add(fact)


def regroup(group: Group, kept: Sequence[GroupMember]) -> Group:
    """The group of the ``kept`` members (two or more), with a valid reference first.

    If the reference was kept nothing but membership changes. Otherwise the best remaining
    copy (``best_first_key``) becomes the reference: members with its bytes are EXACT, members
    that had the same pixels as the old reference have the same pixels as the new one, the rest
    are NEAR at their Hamming distance to it.
    """
    if kept[0].record.path == group.reference.record.path:
        return Group(tuple(kept))
    new_ref = min(kept, key=lambda m: best_first_key(m.record))
    same_pixels_as_old = {Relation.REFERENCE, Relation.EXACT, Relation.SAME_PIXELS}
    others: list[GroupMember] = []
    for member in kept:
        if member is new_ref:
            continue
        if member.record.content_hash == new_ref.record.content_hash:
            others.append(GroupMember(member.record, Relation.EXACT, 0))
        elif member.relation in same_pixels_as_old and new_ref.relation in same_pixels_as_old:
            others.append(GroupMember(member.record, Relation.SAME_PIXELS, 0))
        else:
            distance = _hamming(member, new_ref)
            others.append(GroupMember(member.record, Relation.NEAR, distance))
    others.sort(
        key=lambda m: (m.relation is not Relation.EXACT, m.distance, best_first_key(m.record))
    )
    return Group((GroupMember(new_ref.record, Relation.REFERENCE, 0), *others))


def _hamming(a: GroupMember, b: GroupMember) -> int:
    ha, hb = a.record.perceptual_hash, b.record.perceptual_hash
    if len(ha) != len(hb):
        # Multi-hash records of different segment counts: the triangle inequality's bound.
        return a.distance + b.distance
    return (int.from_bytes(ha, "big") ^ int.from_bytes(hb, "big")).bit_count()


def _runs(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as inclusive (first, last) runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs
