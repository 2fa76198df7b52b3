"""Remembering "these photos are not duplicates", by content, so later scans keep them apart."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dedup_gui.core.errors import DedupError
from dedup_gui.core.model import Group, GroupMember
from dedup_gui.core.store import open_store


def _content_pairs(pairs: Iterable[tuple[GroupMember, GroupMember]]) -> set[tuple[bytes, bytes]]:
    # Exact copies share their content, so no decision can tell them apart: they are skipped.
    return {
        (a.record.content_hash, b.record.content_hash)
        for a, b in pairs
        if a.record.content_hash != b.record.content_hash
    }


def group_pairs(group: Group) -> set[tuple[bytes, bytes]]:
    """Every pair of different contents in ``group``: none of them is a copy of another."""
    members = group.members
    return _content_pairs((a, b) for i, a in enumerate(members) for b in members[i + 1 :])


def member_pairs(group: Group, member: GroupMember) -> set[tuple[bytes, bytes]]:
    """``member`` against each other member: it is a copy of none of them."""
    return _content_pairs((member, other) for other in group.members if other is not member)


def remember(db_path: Path, pairs: Iterable[tuple[bytes, bytes]]) -> str | None:
    """Stores the pairs (a few tiny writes, fine on the GUI thread); returns an error, if any."""
    try:
        with open_store(db_path) as store:
            for a, b in pairs:
                store.add_not_duplicate(a, b)
    except DedupError as exc:
        return str(exc)
    return None
