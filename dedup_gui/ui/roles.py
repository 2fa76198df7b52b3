"""Item roles of the group and member models, and the kinds of a card's optional note lines."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from dedup_gui.core.decisions import Mark

AnyIndex = QModelIndex | QPersistentModelIndex
_FIRST_ROLE = int(Qt.ItemDataRole.UserRole) + 1


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
