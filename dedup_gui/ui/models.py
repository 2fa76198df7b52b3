"""Qt list models over scan results: the members of the selected group, side by side.

The groups' model is ``group_model``'s, the roles ``roles``'s and ``regroup`` its own module's;
they are re-exported here, where the window, panels and tests import them from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, Slot

from dedup_gui.core.decisions import Decisions, Mark, is_protected
from dedup_gui.core.formatting import describe_relation, display_name, display_path, facts_lines
from dedup_gui.core.links import link_note
from dedup_gui.core.model import Group, GroupMember, ImageRecord, ScanReport
from dedup_gui.ui.card_facts import (
    Line,
    fact_lines,
    member_highlights,
    partner_text,
    turn_text,
)
from dedup_gui.ui.group_model import GROUP_THUMB_PX as GROUP_THUMB_PX
from dedup_gui.ui.group_model import KIND_LABELS as KIND_LABELS
from dedup_gui.ui.group_model import GroupListModel as GroupListModel
from dedup_gui.ui.regroup import regroup as regroup
from dedup_gui.ui.roles import NOTE_LINK, NOTE_PAIR, NOTE_TURN, AnyIndex, MemberRole
from dedup_gui.ui.roles import GroupRole as GroupRole
from dedup_gui.ui.roles import mark_at as mark_at
from dedup_gui.ui.thumbnail_loader import ThumbKey, ThumbnailLoader

MEMBER_THUMB_PX = 220

# Text lines every card has: name, size, date, folder, relation (and a hard link's note).
_BASE_CARD_LINES = 5


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


_MEMBER_THUMB_ROLES = [
    int(Qt.ItemDataRole.DecorationRole),
    MemberRole.THUMBNAIL,
    MemberRole.THUMBNAIL_ERROR,
]
