"""The demo library holds the planted duplicate groups, found by a real scan."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageOps

from dedup_gui.core.demo import DEMO_FOLDER_NAME, make_demo_library
from dedup_gui.core.kinds import group_kind
from dedup_gui.core.model import GroupKind, ProblemKind, Relation, ScanReport, ScanRequest, Turn
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store

# Planted groups, by path relative to the library root; the first is the best copy.
PLANTED = [
    {"2023 Summer/beach.jpg", "2023 Summer/beach (1).jpg", "Backup/2023/Summer/beach.jpg"},
    {"2023 Summer/green hills.jpg", "2023 Summer/green hills (edited).jpg"},
    {"Camera/old town.jpg", "Phone export/IMG_0412.jpg"},
    {"Camera/poppies.jpg", "Phone export/IMG_0420.png"},
    {"Phone export/IMG_0413.jpg", "Camera/DSC_1043.jpg"},
    {"Camera/harbour.jpg", "Wallpapers/harbour.webp"},
    {"Phone export/dunes.jpg", "Wallpapers/dunes.jpg"},
    {"winter morning.jpg", "Exports/winter morning 2.jpg"},
    {"2023 Summer/sunset.jpg", "Exports/sunset mirrored.jpg"},
    {"Camera/forest path.jpg", "Camera/forest path 2.jpg"},
    {"2023 Summer/lake.jpg", "Exports/lake (cropped).jpg"},
    {"Phone export/meadow.jpg", "Exports/meadow shared.jpg"},
]
UNRELATED: set[str] = set()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_library(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def report(library: Path, tmp_path_factory: pytest.TempPathFactory) -> ScanReport:
    db = tmp_path_factory.mktemp("db") / "library.sqlite3"
    with open_store(db) as store:
        return run_scan(ScanRequest(roots=(library,), workers=2), store)


def _relative(report: ScanReport, library: Path) -> list[set[str]]:
    return [
        {m.record.path.relative_to(library).as_posix() for m in g.members} for g in report.groups
    ]


def test_library_layout(library: Path) -> None:
    assert library.name == DEMO_FOLDER_NAME
    photos = [p for p in library.rglob("*") if p.suffix in (".jpg", ".png", ".webp")]
    assert 22 <= len(photos) <= 28
    assert (library / "Backup" / "2023" / "Summer" / "beach.jpg").is_file()  # nested folder
    assert (library / "notes.txt").is_file()


def test_exif_rotated_copy_displays_like_the_original(library: Path) -> None:
    with Image.open(library / "Camera" / "DSC_1043.jpg") as rotated:
        assert rotated.getexif()[0x0112] == 6
        assert rotated.size == (1200, 800)  # stored sideways
        upright = ImageOps.exif_transpose(rotated)
    with Image.open(library / "Phone export" / "IMG_0413.jpg") as original:
        assert upright.size == original.size == (800, 1200)


def test_scan_finds_exactly_the_planted_groups(report: ScanReport, library: Path) -> None:
    found = _relative(report, library)
    assert sorted(map(sorted, found)) == sorted(map(sorted, PLANTED))
    grouped = set().union(*found)
    assert not grouped & UNRELATED


def test_each_copy_kind_is_labelled(report: ScanReport, library: Path) -> None:
    relations = {
        m.record.path.relative_to(library).as_posix(): m.relation
        for g in report.groups
        for m in g.members
    }
    assert relations["2023 Summer/beach (1).jpg"] is Relation.EXACT
    assert relations["Backup/2023/Summer/beach.jpg"] is Relation.EXACT
    assert relations["Phone export/IMG_0412.jpg"] is Relation.NEAR  # resized
    assert relations["Wallpapers/harbour.webp"] is Relation.NEAR  # lossy conversion
    # A lossless conversion: its pHash may be a bit or two off (JPEGs hash from a draft
    # decode), yet the pixels are the same.
    poppies = {relations["Camera/poppies.jpg"], relations["Phone export/IMG_0420.png"]}
    assert poppies == {Relation.REFERENCE, Relation.SAME_PIXELS}
    # A metadata-only edit: the larger file is the best copy, the other has the same pixels.
    dunes = {relations["Phone export/dunes.jpg"], relations["Wallpapers/dunes.jpg"]}
    assert dunes == {Relation.REFERENCE, Relation.SAME_PIXELS}
    # The larger original is the best copy of the resize.
    town = next(g for g in report.groups if g.reference.record.path.name == "old town.jpg")
    assert town.reference.relation is Relation.REFERENCE


def test_photographers_material_is_labelled(report: ScanReport, library: Path) -> None:
    by_name = {g.reference.record.path.name: g for g in report.groups}
    turns = {m.record.path.name: m.turn for g in report.groups for m in g.members}
    assert turns["winter morning 2.jpg"] is Turn.ROTATED_90
    assert turns["sunset mirrored.jpg"] is Turn.MIRRORED
    assert group_kind(by_name["forest path.jpg"]) is GroupKind.SIMILAR  # a burst
    assert group_kind(by_name["winter morning.jpg"]) is GroupKind.SAME_PICTURE
    assert group_kind(by_name["beach.jpg"]) is GroupKind.EXACT
    cropped = {m.record.path.name for g in report.groups for m in g.members if m.cropped}
    assert cropped == {"lake (cropped).jpg", "meadow shared.jpg"}
    assert group_kind(by_name["lake.jpg"]) is GroupKind.SIMILAR  # an edit: nothing pre-marked
    forest = by_name["forest path.jpg"].reference.record
    assert forest.sidecars == (library / "Camera" / "forest path.xmp",)
    assert (forest.facts.rating, forest.facts.label, forest.facts.has_gps) == (4, "Green", True)
    assert forest.facts.lens == "DC 24-70mm F2.8"


def test_damaged_file_is_a_problem(report: ScanReport, library: Path) -> None:
    assert [(p.path.relative_to(library).as_posix(), p.kind) for p in report.problems] == [
        ("Camera/DSC_1050.jpg", ProblemKind.CORRUPT)
    ]


def test_library_is_deterministic(tmp_path: Path, library: Path) -> None:
    again = make_demo_library(tmp_path)
    for path in library.rglob("*.png"):
        assert (again / path.relative_to(library)).read_bytes() == path.read_bytes()
