"""What member cards say about each photo's facts, and which facts stand out in its group.

Plain data for the model to compute once per group and the delegate to paint; no Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dedup_gui.core.formatting import display_name, format_exposure, format_rating
from dedup_gui.core.model import GroupMember, PhotoFacts, Turn
from dedup_gui.core.turning import describe

# MemberRole.HIGHLIGHTS values: where a member stands out within its group.
LARGEST = "largest"
HIGHEST_RESOLUTION = "highest_resolution"
NEWEST = "newest"
OLDEST = "oldest"
OTHER_FORMAT = "other_format"  # not the reference's format

# A piece of a card's line and whether it stands out (differs from the best copy's).
Segment = tuple[str, bool]
Line = tuple[Segment, ...]
_SEPARATOR: Segment = (" · ", False)

# One row's named parts for one photo: (fact, text or None when the photo does not record it).
_Parts = list[tuple[str, str | None]]


def _camera_parts(facts: PhotoFacts) -> _Parts:
    return [("camera", facts.camera), ("lens", facts.lens)]


def _exposure_parts(facts: PhotoFacts) -> _Parts:
    return [("exposure", format_exposure(facts))]


def _detail_parts(facts: PhotoFacts) -> _Parts:
    # As core.formatting.facts_lines orders them; "XMP" says a photo editor worked on it.
    return [
        ("gps", "GPS" if facts.has_gps else None),
        ("profile", facts.colour_profile),
        ("rating", format_rating(facts) or ("XMP" if facts.has_xmp else None)),
    ]


# Rows in card order, each with what a photo that records none of its parts shows instead.
_ROWS: tuple[tuple[Callable[[PhotoFacts], _Parts], str], ...] = (
    (_camera_parts, "No camera recorded"),
    (_exposure_parts, "No exposure recorded"),
    (_detail_parts, "No GPS, colour profile or rating"),
)
# A fact the best copy records and this copy lost is worth saying ("no GPS").
_LOST = {"gps": "no GPS", "profile": "no colour profile"}


def fact_lines(members: Sequence[GroupMember]) -> list[tuple[Line, ...]]:
    """Per member, its fact lines: the same rows for every member of the group, so cards
    line up side by side; a row only if some member records one of its facts.

    A fact stands out on a member whose value differs from the best copy's (members[0]), as
    the card's other "differs" highlights do.
    """
    per_member: list[list[Line]] = [[] for _ in members]
    for parts_of, missing in _ROWS:
        parts = [parts_of(m.record.facts) for m in members]
        if not any(text for row in parts for _, text in row):
            continue
        reference = dict(parts[0]) if parts else {}
        for i, row in enumerate(parts):
            per_member[i].append(_line(row, reference if i else None, missing))
    return [tuple(lines) for lines in per_member]


def _line(row: _Parts, reference: dict[str, str | None] | None, missing: str) -> Line:
    segments: list[Segment] = []
    for fact, text in row:
        differs = reference is not None and text != reference.get(fact)
        if text is None:
            if not (differs and fact in _LOST):
                continue
            text = _LOST[fact]
        if segments:
            segments.append(_SEPARATOR)
        segments.append((text, differs))
    if not segments:
        lost = reference is not None and any(reference.values())
        return ((missing, lost),)
    return tuple(segments)


def turn_text(member: GroupMember) -> str | None:
    """ "rotated 90 degrees clockwise", "mirrored", ...; None when not turned."""
    return None if member.turn == Turn.NONE else describe(member.turn)


def partner_text(member: GroupMember) -> str | None:
    """The file name of this photo's RAW or JPEG partner in the group, if it has one."""
    return None if member.partner is None else display_name(member.partner)


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
