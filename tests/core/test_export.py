"""JSON and CSV export carry what photographers choose by: kind, turn, pair, facts, sidecars."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from dedup_gui.core import export
from dedup_gui.core.model import (
    Group,
    GroupMember,
    ImageRecord,
    PhotoFacts,
    Relation,
    Turn,
)

FACTS = PhotoFacts(camera="NIKON D850", iso=200, exposure_s=0.008, has_gps=True, rating=3)


def _record(path: str, content: bytes, **extra: object) -> ImageRecord:
    return ImageRecord(
        Path(path), 1000, 1, content * 16, b"\x00" * 8, 800, 600, "JPEG", None, **extra
    )


def _group() -> Group:
    raw = _record("/shoot/DSC_1.NEF", b"r", facts=FACTS)
    jpeg = _record("/shoot/DSC_1.JPG", b"j", sidecars=(Path("/shoot/DSC_1.xmp"),))
    export_copy = _record("/export/DSC_1 turned.jpg", b"e")
    return Group(
        (
            GroupMember(raw, Relation.REFERENCE, 0, partner=jpeg.path),
            GroupMember(jpeg, Relation.NEAR, 2, partner=raw.path),
            GroupMember(export_copy, Relation.NEAR, 4, turn=Turn.ROTATED_90),
        )
    )


def test_json_has_group_kind_turns_pairs_facts_and_sidecars() -> None:
    document = json.loads(export.to_json([_group()]))
    group = document["groups"][0]
    assert group["kind"] == "same_picture"
    raw, jpeg, turned = group["members"]
    assert raw["partner"] == "/shoot/DSC_1.JPG" and jpeg["partner"] == "/shoot/DSC_1.NEF"
    assert (raw["camera"], raw["iso"], raw["has_gps"], raw["rating"]) == (
        "NIKON D850",
        200,
        True,
        3,
    )
    assert jpeg["sidecars"] == ["/shoot/DSC_1.xmp"]
    assert turned["turn"] == "rotated_90" and raw["turn"] == "none"


def test_csv_has_one_row_per_member_with_the_same_facts() -> None:
    rows = list(csv.DictReader(io.StringIO(export.to_csv([_group()]))))
    assert [row["kind"] for row in rows] == ["same_picture"] * 3
    assert rows[0]["camera"] == "NIKON D850" and rows[2]["turn"] == "rotated_90"
    assert json.loads(rows[1]["sidecars"]) == ["/shoot/DSC_1.xmp"]
    assert rows[2]["sidecars"] == "" and rows[2]["partner"] == ""
