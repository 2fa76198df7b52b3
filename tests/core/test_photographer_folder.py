"""A photographer's mixed folder scans into exactly the groups a photographer expects.

Real files of every kind, written at test time: RAW+JPEG pairs (DNG, as LibRaw reads it), a
shared .xmp sidecar, an iPhone HEIC and its resized copy, an export turned a quarter, a web-size
export, a burst of two frames a second apart, a pair nobody copied, and an unrelated photo.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from dedup_gui.core.decisions import Decisions, KeepRule, Mark
from dedup_gui.core.kinds import group_kind
from dedup_gui.core.model import GroupKind, ScanReport, ScanRequest, Turn
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store
from tests.core.format_files import write_dng, write_heic
from tests.core.images import make_exif, photo_like, save

pytest.importorskip("rawpy")
pytest.importorskip("pillow_heif")

W, H = 768, 512  # small enough to stay fast; even sides keep the Bayer pattern whole
SHOT_1 = "2024:05:04 10:00:00"
SHOT_2 = "2024:05:04 10:05:00"
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    'syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def _pair(folder: Path, stem: str, picture: Image.Image, date: str) -> None:
    """What a camera set to RAW+JPEG writes: a RAW and its rendering, same name, same date."""
    write_dng(folder / f"{stem}.DNG", picture, exif_date=date, camera="Canon EOS R5")
    save(picture, folder / f"{stem}.JPG", quality=92, exif=make_exif(date_taken=date))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    shoot, phone, export = root / "2024-05 Shoot", root / "iPhone", root / "Exports"
    one, two = photo_like(W, H, seed=1), photo_like(W, H, seed=2)
    _pair(shoot, "IMG_0001", one, SHOT_1)
    _pair(shoot, "IMG_0002", two, SHOT_2)
    (shoot / "IMG_0002.xmp").write_text(XMP, encoding="utf-8")  # Lightroom's, for both files
    _pair(shoot, "IMG_0009", photo_like(W, H, seed=9), SHOT_2)  # a pair nobody copied
    # Exports: one turned a quarter clockwise (no EXIF tag to undo it), one made small for the web.
    save(one.transpose(Image.Transpose.ROTATE_270), export / "IMG_0001 portrait.jpg", quality=85)
    save(two.resize((W // 2, H // 2), Image.Resampling.LANCZOS), export / "IMG_0002 web.jpg")
    # A phone photo and the resized copy a messenger made of it.
    three = photo_like(W, H, seed=3)
    write_heic(phone / "IMG_5000.HEIC", three, date_taken="2024:06:01 18:00:00")
    save(three.resize((W // 3, H // 3), Image.Resampling.LANCZOS), phone / "IMG_5000 small.jpg")
    # A burst: the next frame a second later, the camera moved a little.
    four = photo_like(W, H, seed=4)
    save(four, shoot / "IMG_0003.JPG", exif=make_exif(date_taken="2024:05:04 11:00:00"))
    moved = four.crop((12, 8, W, H)).resize((W, H), Image.Resampling.LANCZOS)
    save(moved, shoot / "IMG_0004.JPG", exif=make_exif(date_taken="2024:05:04 11:00:01"))
    save(photo_like(W, H, seed=5), phone / "IMG_5001.jpg")  # unrelated
    return root


def _scan(folder: Path, tmp_path: Path, **options: bool) -> ScanReport:
    with open_store(tmp_path / "library.sqlite3") as store:
        return run_scan(ScanRequest(roots=(folder,), workers=2, **options), store)


def _named(report: ScanReport) -> dict[frozenset[str], GroupKind]:
    return {
        frozenset(m.record.path.name for m in group.members): group_kind(group)
        for group in report.groups
    }


@pytest.fixture(scope="module")
def report(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> ScanReport:
    return _scan(folder, tmp_path_factory.mktemp("db"))


def test_exactly_the_groups_a_photographer_expects(report: ScanReport) -> None:
    assert not report.problems
    assert _named(report) == {
        frozenset({"IMG_0001.DNG", "IMG_0001.JPG", "IMG_0001 portrait.jpg"}): (
            GroupKind.SAME_PICTURE
        ),
        frozenset({"IMG_0002.DNG", "IMG_0002.JPG", "IMG_0002 web.jpg"}): GroupKind.SAME_PICTURE,
        frozenset({"IMG_5000.HEIC", "IMG_5000 small.jpg"}): GroupKind.SAME_PICTURE,
        frozenset({"IMG_0003.JPG", "IMG_0004.JPG"}): GroupKind.SIMILAR,
    }


def test_pairs_turns_formats_and_sidecars_are_shown(report: ScanReport, folder: Path) -> None:
    members = {m.record.path.name: m for g in report.groups for m in g.members}
    shoot = folder / "2024-05 Shoot"
    assert members["IMG_0001.DNG"].partner == shoot / "IMG_0001.JPG"
    assert members["IMG_0001.JPG"].partner == shoot / "IMG_0001.DNG"
    assert members["IMG_0001 portrait.jpg"].partner is None
    assert members["IMG_0001 portrait.jpg"].turn is Turn.ROTATED_90  # relative to the DNG
    assert members["IMG_0001.DNG"].record.format == "DNG"
    assert members["IMG_5000.HEIC"].record.format == "HEIF"
    assert members["IMG_0001.DNG"].record.facts.camera == "Canon EOS R5"
    assert members["IMG_0001.DNG"].record.date_taken == "2024-05-04 10:00:00"
    for name in ("IMG_0002.DNG", "IMG_0002.JPG"):  # one Lightroom sidecar shared by the pair
        assert members[name].record.sidecars == (shoot / "IMG_0002.xmp",)
        assert members[name].record.facts.rating == 5


def test_prefer_raw_keeps_the_pair_and_trashes_the_copies(report: ScanReport) -> None:
    decisions = Decisions(KeepRule(prefer_raw=True))
    decisions.learn_pairs(report.groups)
    decisions.apply_rule(report.groups)
    marks = {
        m.record.path.name: decisions.mark_of(m.record.path)
        for g in report.groups
        for m in g.members
    }
    assert marks["IMG_0001.DNG"] is marks["IMG_0001.JPG"] is Mark.KEEP
    assert marks["IMG_0001 portrait.jpg"] is Mark.TRASH
    assert marks["IMG_0002 web.jpg"] is Mark.TRASH
    # A burst is two photos: only the keeper is marked, the user decides about the other.
    assert sorted(map(str, [marks["IMG_0003.JPG"], marks["IMG_0004.JPG"]])) == [
        "Mark.KEEP",
        "None",
    ]


def test_options_pairs_as_duplicates_and_no_turned_matching(folder: Path, tmp_path: Path) -> None:
    found = _named(_scan(folder, tmp_path, pairs_as_duplicates=True, match_turned=False))
    assert frozenset({"IMG_0009.DNG", "IMG_0009.JPG"}) in found  # the uncopied pair, as duplicates
    assert frozenset({"IMG_0001.DNG", "IMG_0001.JPG"}) in found  # the turned export left out
    assert not any("IMG_0001 portrait.jpg" in names for names in found)
