"""Labels a group exact copies, the same picture, or similar photos. No Qt."""

from __future__ import annotations

from pathlib import Path

from dedup_gui.core.model import Group, GroupKind, GroupMember, Relation

# Largest perceptual distance (bits of a 64-bit hash) to the reference at which a copy is still
# "the same picture"; above it the group is "similar". Measured with
# benchmarks/accuracy/kind_thresholds.py (phash 8, 17 photos x 39 copies, 18 burst and 102 tile
# negatives; phash 8 distances are always even):
# - re-encodes (JPEG q30-q90, HEIC, AVIF, WebP), conversions (PNG, TIFF, greyscale), resizes
#   (50 %, 25 %, 128 px thumbnail), EXIF rotations and turned copies: max 4, mostly 0-2;
# - edits: brightness/contrast/gamma up to 8, watermark/text up to 20, 5 % crop 2-22;
# - bursts: 12-24 (p10 16); the one real stereo pair (two viewpoints): 4; tiles 22-42
#   (turned: 0-4 for the quarters of the round retina photo, mirror images of each other).
# 4 keeps every re-encode, resize and conversion "same picture" while edits beyond a light
# touch and all but the stereo pair of the negatives are "similar". Real bursts of a still
# subject are closer than the corpus's (6 % shift + tilt), so a lower limit is the safe side:
# "similar" only means nothing is marked for trash by default.
SAME_PICTURE_MAX_DISTANCE = 4
_MEASURED_HASH_BITS = 64

_EXACT_RELATIONS = frozenset({Relation.REFERENCE, Relation.EXACT, Relation.SAME_PIXELS})

_DESCRIPTIONS = {
    GroupKind.EXACT: "Exact copies",
    GroupKind.SAME_PICTURE: "Same picture",
    GroupKind.SIMILAR: "Similar photos",
}


def group_kind(group: Group, *, hash_bits: int | None = None) -> GroupKind:
    """How alike the group's members are.

    A RAW and its JPEG (members whose ``partner`` is in the group) count as one shot: they
    are never "exact" copies of each other, and a copy of either is a copy of the shot.

    - EXACT: every other shot is the same bytes or the same pixels as the reference's shot.
    - SIMILAR: some member is a crop of the reference or the reference of it, or has a caption
      or watermark (``cropped``): an edit someone made, which may be the copy they want; or
      the group looks like different shots: two members have different EXIF dates
      taken (a copy keeps the date or has none; a burst is seconds apart; dates have whole
      seconds, so frames of one second fall to the next test), or some shot is further than
      ``SAME_PICTURE_MAX_DISTANCE`` from the reference. An edit that moved the date (a time
      zone fix) is "similar" too: the safe side, as nothing is then marked for trash.
    - SAME_PICTURE otherwise: re-encoded, resized, converted or turned.

    The limit, 4 bits of 64, is measured: every re-encode, resize and format conversion of
    the accuracy corpus is within it and 17 of its 18 burst pairs are beyond it (see
    ``SAME_PICTURE_MAX_DISTANCE``).

    Args:
        group: a group as grouping (and ``pairs.apply_pairs``) made it.
        hash_bits: bits per perceptual hash (per segment for crop-resistant hashing); the
            limit is scaled from the measured 64. None: the reference's hash length.
    """
    shots = _shots(group)
    if len(shots) > 1 and all(_is_exact_shot(shot, shots[0]) for shot in shots[1:]):
        return GroupKind.EXACT
    if any(m.cropped for m in group.members):
        return GroupKind.SIMILAR
    dates = {m.record.date_taken for m in group.members if m.record.date_taken}
    if len(dates) > 1:
        return GroupKind.SIMILAR
    limit = _same_picture_limit(group, hash_bits)
    if any(min(m.distance for m in shot) > limit for shot in shots):
        return GroupKind.SIMILAR
    return GroupKind.SAME_PICTURE


def describe_kind(kind: GroupKind) -> str:
    """Plain words for a group kind, for people who don't know what a hash is."""
    return _DESCRIPTIONS[kind]


def _shots(group: Group) -> list[list[GroupMember]]:
    """Members by shot, a pair being one shot; the reference's shot first, then group order."""
    shots: list[list[GroupMember]] = []
    shot_of: dict[Path, int] = {}
    in_group = {m.record.path for m in group.members}
    for member in group.members:
        partner = member.partner if member.partner in in_group else None
        k = shot_of.get(partner) if partner is not None else None
        if k is None:
            k = len(shots)
            shots.append([])
        shots[k].append(member)
        shot_of[member.record.path] = k
    return shots


def _is_exact_shot(shot: list[GroupMember], reference_shot: list[GroupMember]) -> bool:
    """Relations are to the reference only; a shot with the same bytes as any file of the
    reference's shot (the JPEG copied next to the RAW it was paired with) is exact as well."""
    if any(m.relation in _EXACT_RELATIONS for m in shot):
        return True
    contents = {m.record.content_hash for m in reference_shot}
    return any(m.record.content_hash in contents for m in shot)


def _same_picture_limit(group: Group, hash_bits: int | None) -> int:
    if hash_bits is None:
        hash_bits = 8 * len(group.reference.record.perceptual_hash) or _MEASURED_HASH_BITS
    return round(SAME_PICTURE_MAX_DISTANCE * hash_bits / _MEASURED_HASH_BITS)
