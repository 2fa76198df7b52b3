"""What is left of a group once some members are gone (trashed): a new reference, relations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dedup_gui.core.grouping import best_first_key
from dedup_gui.core.model import Group, GroupMember, Relation, Turn
from dedup_gui.core.turning import compose, inverse


def regroup(group: Group, kept: Sequence[GroupMember]) -> Group:
    """The group of the ``kept`` members (two or more), with a valid reference first.

    If the reference was kept nothing but membership changes. Otherwise the best remaining
    copy (``best_first_key``) becomes the reference: members with its bytes are EXACT, members
    that had the same pixels as the old reference have the same pixels as the new one, the rest
    are NEAR at their Hamming distance to it; turns become turns relative to it; a member is
    cropped (a crop, caption or watermark) relative to it if it or the new reference was. A partner
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
            # Through a crop, the whole hashes do not compare: the triangle bound, as for turns.
            indirect = turn != Turn.NONE or member.cropped or new_ref.cropped
            relation, distance = Relation.NEAR, _hamming(member, new_ref, turned=indirect)
        cropped = relation is Relation.NEAR and (member.cropped or new_ref.cropped)
        others.append(GroupMember(member.record, relation, distance, turn, member.partner, cropped))
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
