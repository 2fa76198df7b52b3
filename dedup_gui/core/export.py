"""Groups and problems as JSON or CSV text, for the CLI and the window's Export. No Qt."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from dedup_gui.core.kinds import group_kind
from dedup_gui.core.links import reclaimable_bytes
from dedup_gui.core.model import Group, GroupMember, PhotoFacts, Problem, ScanStats

_FACT_FIELDS = tuple(PhotoFacts.__dataclass_fields__)

CSV_COLUMNS = (
    "group",
    "kind",
    "relation",
    "distance",
    "turn",
    "cropped",
    "partner",
    "path",
    "size",
    "width",
    "height",
    "format",
    "date_taken",
    "content_hash",
    *_FACT_FIELDS,
    "sidecars",
)


def path_text(path: Path) -> str:
    """A path as text; bytes that are not valid UTF-8 come out as U+FFFD rather than crashing."""
    return os.fsencode(path).decode("utf-8", errors="replace")


def _member_rows(groups: Sequence[Group]) -> list[dict[str, Any]]:
    rows = []
    for number, group in enumerate(groups, start=1):
        kind = group_kind(group).value
        rows += [{"group": number, "kind": kind, **_member_row(member)} for member in group.members]
    return rows


def _member_row(member: GroupMember) -> dict[str, Any]:
    record = member.record
    return {
        "relation": member.relation.value,
        "distance": member.distance,
        "turn": member.turn.name.lower(),  # "none", "rotated_90", "mirrored", ...
        "cropped": member.cropped,  # a crop, or a caption or watermark, checked in detail
        "partner": None if member.partner is None else path_text(member.partner),
        "path": path_text(record.path),
        "size": record.size,
        "width": record.width,
        "height": record.height,
        "format": record.format,
        "date_taken": record.date_taken,
        "content_hash": record.content_hash.hex(),
        **{name: getattr(record.facts, name) for name in _FACT_FIELDS},
        "sidecars": [path_text(p) for p in record.sidecars],
    }


def to_json(
    groups: Sequence[Group],
    problems: Sequence[Problem] = (),
    stats: ScanStats | None = None,
    *,
    linked: AbstractSet[Path] = frozenset(),
) -> str:
    """One JSON document: groups with their members (reference first), problems, stats.

    ``bytes_reclaimable`` leaves out the files in ``linked`` (``links.linked_paths``): trashing
    a hard-linked file frees nothing.
    """
    document: dict[str, Any] = {
        "groups": [
            {
                "kind": group_kind(group).value,
                "reference": path_text(group.reference.record.path),
                "bytes_reclaimable": reclaimable_bytes(group, linked),
                "members": [_member_row(member) for member in group.members],
            }
            for group in groups
        ],
        "problems": [
            {"path": path_text(p.path), "kind": p.kind.value, "detail": p.detail} for p in problems
        ],
    }
    if stats is not None:
        document["stats"] = {
            "found": stats.found,
            "hashed": stats.hashed,
            "decoded": stats.decoded,
            "reused": stats.reused,
            "problems": stats.problems,
            "bytes_hashed": stats.bytes_hashed,
            "elapsed_s": round(stats.elapsed_s, 3),
        }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_csv(groups: Sequence[Group]) -> str:
    """One row per group member; ``group`` numbers the groups from 1, reference first."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _member_rows(groups):
        row["sidecars"] = json.dumps(row["sidecars"], ensure_ascii=False) if row["sidecars"] else ""
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
