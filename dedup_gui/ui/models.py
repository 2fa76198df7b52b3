"""Qt list models over scan results: the groups, and the members of the selected group."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
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
from dedup_gui.core.formatting import (
    describe_relation,
    display_name,
    display_path,
    facts_lines,
)
from dedup_gui.core.grouping import best_first_key
from dedup_gui.core.kinds import group_kind
from dedup_gui.core.links import link_note, linked_paths, reclaimable_bytes
from dedup_gui.core.model import (
    Group,
    GroupKind,
    GroupMember,
    ImageRecord,
    Relation,
    ScanReport,
    Turn,
)
from dedup_gui.core.turning import compose, inverse
from dedup_gui.ui.card_facts import (
    Line,
    fact_lines,
    member_highlights,
    partner_text,
    turn_text,
)
from dedup_gui.ui.thumbnail_loader import ThumbKey, ThumbnailLoader

AnyIndex = QModelIndex | QPersistentModelIndex
_FIRST_ROLE = int(Qt.ItemDataRole.UserRole) + 1
_THUMB_ROLES = [int(Qt.ItemDataRole.DecorationRole)]  # extended with our THUMBNAIL roles below

GROUP_THUMB_PX = 64
MEMBER_THUMB_PX = 220

# Short labels for the kind chips on the group list (core.kinds.describe_kind says it in full).
KIND_LABELS = {
    GroupKind.EXACT: "Exact",
    GroupKind.SAME_PICTURE: "Same picture",
    GroupKind.SIMILAR: "Similar",
}

# Many scattered removals cost one O(rows) shift each; past this many, a reset is cheaper.
_MAX_REMOVAL_RUNS = 100


class GroupRole(IntEnum):
    GROUP = _FIRST_ROLE  # Group
    THUMB_RECORD = _FIRST_ROLE + 1  # ImageRecord shown for the group (its reference)
    MEMBER_COUNT = _FIRST_ROLE + 2  # int
    BYTES_RECLAIMABLE = _FIRST_ROLE + 3  # int
    KIND = _FIRST_ROLE + 4  # GroupKind (through index.data(): its str value)
    THUMBNAIL = _FIRST_ROLE + 5  # QPixmap | None (None: placeholder, load queued)
    THUMBNAIL_ERROR = _FIRST_ROLE + 6  # str | None: why no thumbnail can be shown
    KIND_LABEL = _FIRST_ROLE + 7  # "Exact", "Same picture", "Similar": the chip's text


class MemberRole(IntEnum):
    RECORD = _FIRST_ROLE  # ImageRecord
    MEMBER = _FIRST_ROLE + 1  # GroupMember
    MARK = _FIRST_ROLE + 2  # Mark | None (editable through setData)
    IS_PROTECTED = _FIRST_ROLE + 3  # bool: under a protected (reference) folder
    THUMBNAIL = _FIRST_ROLE + 4  # QPixmap | None
    HIGHLIGHTS = _FIRST_ROLE + 5  # frozenset[str]: card_facts.LARGEST, HIGHEST_RESOLUTION, ...
    THUMBNAIL_ERROR = _FIRST_ROLE + 6  # str | None
    RELATION_TEXT = _FIRST_ROLE + 7  # "exact copy", "98 % similar (distance 1)", ...
    LINK_NOTE = _FIRST_ROLE + 8  # str | None: "hard link: also at 2 other places", ...
    FACT_LINES = _FIRST_ROLE + 9  # tuple of card_facts.Line: camera, exposure, rating, ...
    TURN_TEXT = _FIRST_ROLE + 10  # str | None: "rotated 90 degrees clockwise"
    PARTNER_TEXT = _FIRST_ROLE + 11  # str | None: name of its RAW/JPEG partner in the group
    NOTE_LINES = _FIRST_ROLE + 12  # tuple of (NOTE_TURN | NOTE_PAIR | NOTE_LINK, str | None)
    CARD_LINES = _FIRST_ROLE + 13  # int: text lines every card of this group needs


# MemberRole.NOTE_LINES kinds: optional lines that every card of a group has if one card does.
NOTE_TURN = "turn"  # "rotated 90 degrees clockwise"
NOTE_PAIR = "pair"  # the RAW+JPEG partner's name
NOTE_LINK = "link"  # a hard link's note

# Text lines every card has: name, size, date, folder, relation (and a hard link's note).
_BASE_CARD_LINES = 5


def mark_at(index: AnyIndex) -> Mark | None:
    """An index's MemberRole.MARK as a ``Mark``: through ``index.data()`` (a QVariant) a str
    enum arrives as its plain str value."""
    value = index.data(MemberRole.MARK)
    return Mark(value) if value else None


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
        self._fact_lines: list[tuple[Line, ...]] = []
        self._turn_texts: list[str | None] = []
        self._partner_texts: list[str | None] = []
        self._note_rows: list[tuple[tuple[str, str | None], ...]] = []
        self._card_lines = _BASE_CARD_LINES
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
        self._fact_lines = fact_lines(self._members)
        self._turn_texts = [turn_text(m) for m in self._members]
        self._partner_texts = [partner_text(m) for m in self._members]
        self._card_lines = self._count_card_lines()
        self.endResetModel()

    def set_links(self, report: ScanReport) -> None:
        """Takes the scan's hard links, for MemberRole.LINK_NOTE."""
        self._hard_links = dict(report.hard_links)
        self._linked_elsewhere = report.linked_elsewhere
        self._link_notes = self._notes()
        self._card_lines = self._count_card_lines()  # the same count: only texts change
        self._emit_all_changed([MemberRole.LINK_NOTE, Qt.ItemDataRole.ToolTipRole])

    def _notes_by_kind(self) -> list[tuple[str, list[str | None]]]:
        """The optional lines some card of the group shows, each with every card's text."""
        notes = (
            (NOTE_TURN, self._turn_texts),
            (NOTE_PAIR, self._partner_texts),
            (NOTE_LINK, self._link_notes),
        )
        # The hard-link line is always there (often empty): links arrive with set_links, and
        # cards that grew then would jump under the user's eyes.
        return [(kind, texts) for kind, texts in notes if kind == NOTE_LINK or any(texts)]

    def _count_card_lines(self) -> int:
        """Base, fact and note lines: all cards of a group have one height and their lines
        sit side by side. Also lays out each card's note lines (once, not per paint)."""
        notes = self._notes_by_kind()
        self._note_rows = [
            tuple((kind, texts[row]) for kind, texts in notes) for row in range(len(self._members))
        ]
        facts = len(self._fact_lines[0]) if self._fact_lines else 0
        return _BASE_CARD_LINES + facts + len(notes)

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
        self._emit_mark_changed(row)
        return mark

    def _emit_mark_changed(self, row: int) -> None:
        """A RAW and its JPEG are marked together (``Decisions``): both cards change."""
        self._emit_changed(row, [MemberRole.MARK])
        partner = self._decisions.partner_of(self._members[row].record.path)
        partner_row = self._row_by_path.get(partner) if partner is not None else None
        if partner_row is not None:
            self._emit_changed(partner_row, [MemberRole.MARK])

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
        if role == MemberRole.FACT_LINES:
            return self._fact_lines[row]
        if role == MemberRole.TURN_TEXT:
            return self._turn_texts[row]
        if role == MemberRole.PARTNER_TEXT:
            return self._partner_texts[row]
        if role == MemberRole.NOTE_LINES:
            return self._note_rows[row]
        if role == MemberRole.CARD_LINES:
            return self._card_lines
        return None

    def _tooltip(self, row: int) -> str:
        """The full path and facts; for a hard link also its note and other names (the card
        elides long lines)."""
        record = self._members[row].record
        lines = [display_path(record.path), *facts_lines(record)]
        note = self._link_notes[row]
        if note is not None:
            lines.append(note)
            lines += [display_path(p) for p in self._hard_links.get(record.path, ())]
        return "\n".join(lines)

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
        self._emit_mark_changed(index.row())
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


def regroup(group: Group, kept: Sequence[GroupMember]) -> Group:
    """The group of the ``kept`` members (two or more), with a valid reference first.

    If the reference was kept nothing but membership changes. Otherwise the best remaining
    copy (``best_first_key``) becomes the reference: members with its bytes are EXACT, members
    that had the same pixels as the old reference have the same pixels as the new one, the rest
    are NEAR at their Hamming distance to it; turns become turns relative to it. A partner
    (RAW+JPEG) that is no longer in the group is forgotten.
    """
    paths = {m.record.path for m in kept}
    kept = [replace(m, partner=None) if m.partner not in paths else m for m in kept]
    if kept[0].record.path == group.reference.record.path:
        return Group(tuple(kept))
    new_ref = min(kept, key=lambda m: best_first_key(m.record))
    # member = turn_m(old reference) and new_ref = turn_n(old reference), so
    # member = turn_m(inverse(turn_n)(new_ref)).
    back = inverse(new_ref.turn)
    same_pixels_as_old = {Relation.REFERENCE, Relation.EXACT, Relation.SAME_PIXELS}
    others: list[GroupMember] = []
    for member in kept:
        if member is new_ref:
            continue
        turn = compose(back, member.turn)
        if member.record.content_hash == new_ref.record.content_hash:
            relation, distance = Relation.EXACT, 0
        elif member.relation in same_pixels_as_old and new_ref.relation in same_pixels_as_old:
            relation, distance = Relation.SAME_PIXELS, 0
        else:
            relation, distance = Relation.NEAR, _hamming(member, new_ref, turned=turn != Turn.NONE)
        others.append(GroupMember(member.record, relation, distance, turn, member.partner))
    others.sort(
        key=lambda m: (m.relation is not Relation.EXACT, m.distance, best_first_key(m.record))
    )
    reference = GroupMember(new_ref.record, Relation.REFERENCE, 0, Turn.NONE, new_ref.partner)
    return Group((reference, *others))


def _hamming(a: GroupMember, b: GroupMember, *, turned: bool = False) -> int:
    ha, hb = a.record.perceptual_hash, b.record.perceptual_hash
    if turned or len(ha) != len(hb):
        # Hashes of differently turned pictures, or multi-hash records of different segment
        # counts, do not compare bit by bit: the triangle inequality's bound.
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
