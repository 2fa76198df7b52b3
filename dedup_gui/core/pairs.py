"""Finds RAW+JPEG pairs (one shot saved twice by the camera) and marks them in groups. No Qt.

A camera set to "RAW+JPEG" (or Canon/Sony "RAW+HEIF") writes two files per shot, side by side,
with one base name: IMG_0001.CR2 and IMG_0001.JPG. They are one photo to a photographer (as in
Lightroom Classic, which by default stacks them as one photo and deletes them together), so by
default they are never duplicates of each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from dedup_gui.core.model import Group, GroupMember, ImageRecord
from dedup_gui.core.scanning import RAW_EXTENSIONS

# What cameras write next to a RAW: JPEG almost always; HEIF on recent Canon (".HIF", ".HEIC")
# and Sony (".HIF") bodies. TIFF, PNG and WebP are not camera formats: a same-named TIFF beside
# a RAW is an editor's export, i.e. a derived file, and is left to ordinary grouping.
# Earlier entries win when a RAW has several (see find_partners).
RENDERED_EXTENSIONS: tuple[tuple[str, ...], ...] = (
    (".jpg", ".jpeg", ".jpe"),
    (".heic", ".heif", ".hif"),
)
_RENDERED_RANK = {
    suffix: rank for rank, group in enumerate(RENDERED_EXTENSIONS) for suffix in group
}
# A DNG beside another RAW of the same name was converted from it (Adobe DNG Converter); the
# camera's own file is the one its JPEG belongs to. Cameras that write DNG natively (Leica,
# Pentax, Ricoh, phones) write no second RAW, so there the DNG is paired as usual.
_CONVERTED_RAW = ".dng"


def find_partners(records: Iterable[ImageRecord]) -> dict[Path, Path]:
    """RAW and rendered files of the same shot: same folder, same name but for the suffix.

    The name is compared case-insensitively (IMG_0001.CR2 pairs with img_0001.jpg: cameras
    write upper case, copying tools sometimes lower it). When one name has several candidates,
    one pair is chosen and the rest stay ordinary files (so an extra copy is still grouped as
    a duplicate of the pair):

    - several rendered files (IMG_0001.JPG and IMG_0001.HEIC): the JPEG, as JPEG is what every
      camera writes and the other is most likely a later conversion; then by path text;
    - several RAWs (IMG_0001.CR2 and IMG_0001.DNG): the camera's own RAW over a DNG converted
      from it; then by path text.

    Returns:
        Each paired path mapped to its partner, in both directions.
    """
    by_shot: dict[tuple[Path, str], tuple[list[Path], list[Path]]] = {}
    for record in records:
        path = record.path
        suffix = path.suffix.lower()
        is_raw = suffix in RAW_EXTENSIONS
        if not is_raw and suffix not in _RENDERED_RANK:
            continue
        raws, rendered = by_shot.setdefault((path.parent, path.stem.casefold()), ([], []))
        (raws if is_raw else rendered).append(path)
    partners: dict[Path, Path] = {}
    for raws, rendered in by_shot.values():
        if not raws or not rendered:
            continue
        raw = min(raws, key=lambda p: (p.suffix.lower() == _CONVERTED_RAW, str(p)))
        jpeg = min(rendered, key=lambda p: (_RENDERED_RANK[p.suffix.lower()], str(p)))
        partners[raw] = jpeg
        partners[jpeg] = raw
    return partners


def apply_pairs(
    groups: Iterable[Group], partners: dict[Path, Path], *, pairs_as_duplicates: bool
) -> list[Group]:
    """Fills ``GroupMember.partner`` and drops groups that are only one RAW+JPEG pair.

    A member's partner is filled only when the partner is in the same group. What a
    photographer sees, by default (``pairs_as_duplicates`` False):

    - a group of just one pair: not duplicates (one shot, two formats), so it is dropped;
    - a pair plus an exported copy elsewhere: kept; the pair shows as a pair and the export is
      the duplicate (keep rules keep or trash the pair as one, see ``decisions``);
    - a pair whose JPEG alone has a copy elsewhere (the RAW was not near enough to be grouped):
      an ordinary group of the two JPEGs, no partner filled;
    - two pairs of one shot in two folders (a backup): one group of four, both pairs filled;
      a duplicate pair of a pair.

    With ``pairs_as_duplicates`` the pair is two ordinary members: groups are returned as they
    are (no partner filled, none dropped), so one of the two may be kept and the other trashed.

    Returns:
        The groups in their given order, less the dropped ones.
    """
    if pairs_as_duplicates:
        return list(groups)
    out: list[Group] = []
    for group in groups:
        paths = {m.record.path for m in group.members}
        members = tuple(_with_partner(m, partners, paths) for m in group.members)
        unchanged = all(a is b for a, b in zip(members, group.members, strict=True))
        filled = group if unchanged else Group(members)
        if shot_count(filled) >= 2:
            out.append(filled)
    return out


def _with_partner(member: GroupMember, partners: dict[Path, Path], paths: set[Path]) -> GroupMember:
    partner = partners.get(member.record.path)
    if partner not in paths:
        partner = None
    if partner == member.partner:
        return member
    return dataclasses.replace(member, partner=partner)


def shot_count(group: Group) -> int:
    """How many files the group has, counting a RAW and its JPEG (``partner``) as one.

    Under 2 (by default), the group is no duplicate group: e.g. after the export that made a
    pair a group was trashed.
    """
    pairs = sum(1 for m in group.members if m.partner is not None)
    return len(group.members) - pairs // 2
