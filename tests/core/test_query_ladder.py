"""core.query finds cropped, watermarked and captioned copies through the crop ladders."""

from __future__ import annotations

from pathlib import Path

from dedup_gui.core.model import HashAlgorithm, HashSettings, ImageRecord, ScanRequest
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.query import LibraryIndex, find_copies, hash_photos
from dedup_gui.core.store import open_store
from tests.core.images import crop, write_photo

SETTINGS = HashSettings()
BASE, R1, R2, R3 = (
    0x0123_4567_89AB_CDEF,
    0x0F0F_1234_5678_9ABC,
    0x7777_0000_FFFF_1111,
    0x1357_9BDF_0246_8ACE,
)
FAR = BASE ^ 0x5555_5555_5555_5555  # 32 bits from BASE


def _record(name: str, upright: int, rungs: tuple[int, ...] = ()) -> ImageRecord:
    return ImageRecord(
        Path("/lib") / name,
        1000,
        0,
        name.encode().ljust(16, b"-"),
        upright.to_bytes(8, "big"),
        64,
        48,
        "JPEG",
        None,
        ladder=b"".join(r.to_bytes(8, "big") for r in rungs),
    )


def _flip(value: int, *bits: int) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


def _answers(
    index: LibraryIndex, query: ImageRecord, **kwargs: bool
) -> list[tuple[str, int, bool]]:
    [group] = index.find([query], 8, **kwargs)
    return [(m.record.path.name, m.distance, m.cropped) for m in group.members[1:]]


def test_a_cropped_copy_in_the_library_is_found_and_flagged() -> None:
    crop = _record("crop.jpg", _flip(R1, 3, 9), (FAR, FAR ^ 1, FAR ^ 3))  # the 90 % window
    index = LibraryIndex([crop, _record("other.jpg", FAR ^ 0xFF00)], SETTINGS)
    original = _record("original.jpg", BASE, (R1, R2, R3))
    assert _answers(index, original) == [("crop.jpg", 2, True)]
    assert _answers(index, original, match_crops=False) == []


def test_the_original_of_a_cropped_query_is_found_without_a_ladder_in_the_library() -> None:
    index = LibraryIndex([_record("original.jpg", BASE)], SETTINGS)  # hashed before ladders
    crop = _record("crop.jpg", FAR, (_flip(BASE, 0), R2, R3))  # ... whose window matches it
    assert _answers(index, crop) == [("original.jpg", 1, True)]


def test_a_watermarked_copy_matches_through_the_70_percent_windows() -> None:
    index = LibraryIndex(
        [_record("marked.jpg", FAR, (FAR ^ 1, FAR ^ 3, _flip(R3, 1, 2, 3)))], SETTINGS
    )
    assert _answers(index, _record("original.jpg", BASE, (R1, R2, R3))) == [("marked.jpg", 3, True)]


def test_an_upright_match_is_not_flagged_even_if_a_window_is_nearer() -> None:
    near = _flip(BASE, 1, 2, 3, 4)
    index = LibraryIndex([_record("copy.jpg", near, (R1, R2, R3))], SETTINGS)
    query = _record("query.jpg", BASE, (near, R2 ^ 0xFF, R3 ^ 0xFF00))  # its 90 % window = copy
    assert _answers(index, query) == [("copy.jpg", 4, False)]


def test_the_flag_belongs_to_the_query_that_needed_the_ladder() -> None:
    library = [_record("lib.jpg", R1, (FAR, FAR ^ 1, FAR ^ 3))]
    cropped_query = _record("original.jpg", BASE, (R1, R2, R3))
    upright_query = _record("copy.jpg", _flip(R1, 5))
    groups = LibraryIndex(library, SETTINGS).find([cropped_query, upright_query], 8)
    assert [[(m.distance, m.cropped) for m in g.members[1:]] for g in groups] == [
        [(0, True)],
        [(1, False)],
    ]


def test_multi_hash_libraries_ignore_ladders() -> None:
    settings = HashSettings(HashAlgorithm.CROP_RESISTANT, 8)
    index = LibraryIndex([_record("crop.jpg", R1)], settings)
    assert _answers(index, _record("original.jpg", BASE, (R1, R2, R3))) == []


def test_ladder_radius_is_capped_at_the_measured_distance() -> None:
    index = LibraryIndex([_record("crop.jpg", _flip(R1, *range(9)))], SETTINGS)
    query = _record("original.jpg", BASE, (R1, R2, R3))
    [group] = index.find([query], 12)
    assert len(group.members) == 1  # 9 bits: beyond the ladder's 8 though within 12


def test_a_scanned_crop_is_found_for_its_original_and_checked(tmp_path: Path) -> None:
    library, card = tmp_path / "Photos", tmp_path / "Card"
    original = write_photo(card / "original.jpg", width=480, height=360, seed=5)
    crop(original, library / "crop.jpg", fraction=0.2)  # its centred 80 %
    write_photo(library / "other.jpg", width=480, height=360, seed=6)
    db = tmp_path / "library.sqlite3"
    with open_store(db) as store:
        run_scan(ScanRequest(roots=(library,), workers=1), store)
    records, problems = hash_photos([original], SETTINGS, workers=1)
    assert not problems and records[0].ladder
    with open_store(db) as store:
        index = LibraryIndex.load(store, SETTINGS)
        [found] = find_copies(index, records, store, 8, workers=1)
        [upright_only] = find_copies(index, records, store, 8, workers=1, match_crops=False)
    assert [(m.record.path.name, m.cropped) for m in found.members[1:]] == [("crop.jpg", True)]
    assert len(upright_only.members) == 1
