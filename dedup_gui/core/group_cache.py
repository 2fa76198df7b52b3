"""A scan's groups saved compactly, to be reused while nothing they came from changed. No Qt.

Grouping 100,000 records and relabelling same-pixel copies costs several times the walk of an
unchanged folder, so a rescan that walks the same files, reads the same store (its generation,
see store_schema.py) and asks the same question takes the last answer instead. The groups are
saved as positions into the scan's files, not as records: records come fresh from the store,
and sidecars, which change without their photo, are read fresh by each scan.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from dedup_gui import __version__
from dedup_gui.core.frozen import slot_setters
from dedup_gui.core.model import Group, GroupMember, ImageRecord, Relation, ScanRequest, Turn
from dedup_gui.core.scanning import WalkedFile

# Bump when grouping, labelling or pairing would give other groups for the same records, so
# groups saved by an older version are not reused (the app's version is in the key too).
_FORMAT = 3  # 3: members record whether they matched through a crop-ladder window

_RELATIONS = tuple(Relation)
_RELATION_CODE = {relation: code for code, relation in enumerate(_RELATIONS)}
_TURNS = tuple(Turn)  # by value
# Per member: position, relation, distance, turn, partner position (or -1), cropped (0 or 1).
_COLUMNS = 6


def request_key(request: ScanRequest) -> bytes:
    """What decides a scan's groups besides the files and the store: equal keys, equal question.

    Workers and time limits are left out: they change how fast, not what.
    """
    walk = request.walk
    parts = (
        _FORMAT,
        __version__,
        tuple(os.fsencode(root) for root in request.roots),
        walk.follow_symlinks,
        walk.include_hidden,
        walk.exclude_patterns,
        walk.min_size_bytes,
        tuple(os.fsencode(root) for root in walk.shallow_roots),
        request.hashing.key,
        request.max_distance,
        request.match_turned,
        request.match_crops,
        request.pairs_as_duplicates,
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


def walk_digest(walked: Sequence[WalkedFile]) -> bytes:
    """A digest of a walk's files (path, size, mtime, links) in walk order.

    Equal digests at an equal store generation: the same files, unchanged, as when the groups
    were saved. marshal is the fastest exact serialisation (38 ms for 100,000 files, pickle
    62); its version 2, because later ones flag objects by their reference count, so equal
    lists could give other bytes. Its format may change with Python's version, which costs
    one slower rescan.
    """
    return hashlib.blake2b(marshal.dumps(list(walked), 2), digest_size=16).digest()


def encode_groups(groups: Sequence[Group], position: Callable[[ImageRecord], int]) -> bytes:
    """``groups`` as rows of small integers; ``position`` gives a record's place in the scan."""
    sizes = np.array([len(group.members) for group in groups], dtype=np.int64)
    rows: list[tuple[int, int, int, int, int, int]] = []
    for group in groups:
        # A partner is always a member of the same group (pairs.apply_pairs).
        has_pair = any(m.partner is not None for m in group.members)
        by_path = {m.record.path: m.record for m in group.members} if has_pair else {}
        for member in group.members:
            partner = -1 if member.partner is None else position(by_path[member.partner])
            relation = _RELATION_CODE[member.relation]
            at, turn, cropped = position(member.record), member.turn.value, int(member.cropped)
            rows.append((at, relation, member.distance, turn, partner, cropped))
    table = np.array(rows, dtype=np.int64).reshape(-1, _COLUMNS)
    return np.int64(len(sizes)).tobytes() + sizes.tobytes() + table.tobytes()


def _unpack(blob: bytes) -> tuple[list[int], np.ndarray]:
    """The group sizes and the member table (flat) of an ``encode_groups`` blob."""
    count = int(np.frombuffer(blob, dtype=np.int64, count=1)[0]) if len(blob) >= 8 else -1
    if count < 0 or len(blob) < 8 * (1 + count):
        raise ValueError("not saved groups")
    sizes = np.frombuffer(blob, dtype=np.int64, count=count, offset=8).tolist()
    table = np.frombuffer(blob, dtype=np.int64, offset=8 * (1 + count))
    if len(table) != _COLUMNS * sum(sizes):
        raise ValueError("saved groups are cut short")
    return sizes, table


def member_positions(blob: bytes) -> list[int]:
    """The positions of every member of the groups ``encode_groups`` saved, ascending.

    These are all the positions ``decode_groups`` asks for (a partner is a member too).

    Raises:
        ValueError: ``blob`` was not made by ``encode_groups``.
    """
    return _positions(_unpack(blob)[1])


def _positions(table: np.ndarray) -> list[int]:
    rows = table.reshape(-1, _COLUMNS)
    partners = rows[:, 4]
    positions: list[int] = np.unique(np.concatenate([rows[:, 0], partners[partners >= 0]])).tolist()
    return positions


def decode_groups(blob: bytes, record_at: Callable[[int], ImageRecord]) -> list[Group]:
    """The groups ``encode_groups`` saved, with ``record_at(position)`` as each member's record.

    Raises:
        ValueError: ``blob`` was not made by ``encode_groups``.
    """
    sizes, table = _unpack(blob)
    # Records made in position (walk) order, not group order: members of one group lie far
    # apart, and hopping between their rows and folders cost 0.6 s for 100,000 against 0.36.
    positions = _positions(table)
    records = dict(zip(positions, map(record_at, positions), strict=True))
    flat = table.tolist()
    groups: list[Group] = []
    start = 0
    member = _member_maker()
    for size in sizes:
        members = []
        for k in range(start, start + size * _COLUMNS, _COLUMNS):
            at, relation, distance, turn, partner, cropped = flat[k : k + _COLUMNS]
            members.append(
                member(
                    records[at],
                    _RELATIONS[relation],
                    distance,
                    _TURNS[turn],
                    None if partner < 0 else records[partner].path,
                    cropped == 1,
                )
            )
        groups.append(Group(tuple(members)))
        start += size * _COLUMNS
    return groups


_MEMBER_FIELDS = ("record", "relation", "distance", "turn", "partner", "cropped")
_MakeMember = Callable[[ImageRecord, Relation, int, Turn, Path | None, bool], GroupMember]


def _member_maker() -> _MakeMember:
    """``GroupMember``, or the same built by its slots while its fields are the ones this knows
    (core/frozen.py): a reused scan builds one per member, 100,000 in the worst case."""
    setters = slot_setters(GroupMember, _MEMBER_FIELDS)
    if setters is None:
        return GroupMember
    set_record, set_relation, set_distance, set_turn, set_partner, set_cropped = setters
    new = object.__new__

    def member(
        record: ImageRecord,
        relation: Relation,
        distance: int,
        turn: Turn,
        partner: Path | None,
        cropped: bool,
    ) -> GroupMember:
        made: GroupMember = new(GroupMember)
        set_record(made, record)
        set_relation(made, relation)
        set_distance(made, distance)
        set_turn(made, turn)
        set_partner(made, partner)
        set_cropped(made, cropped)
        return made

    return member
