"""Tests of the crop ladder: the windows it hashes, and what hash_file and a scan store of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from dedup_gui.core import hashing
from dedup_gui.core.crop_ladder import RUNGS, can_ladder, ladder_hashes, rungs, window
from dedup_gui.core.hashing import HashResult, HashTask, decoded_record, hash_bytes, hash_file
from dedup_gui.core.model import FileInfo, HashAlgorithm, HashSettings, ScanRequest
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store
from dedup_gui.core.turning import can_turn
from tests.core.images import hamming, photo_like, save, write_photo

PHASH = HashSettings(HashAlgorithm.PHASH, 8)


@pytest.fixture(autouse=True)
def _no_known_contents() -> Iterator[None]:
    """init_worker sets per-process state; every test starts and ends with none known."""
    hashing.init_worker(frozenset())
    yield
    hashing.init_worker(frozenset())


def _hash(path: Path, settings: HashSettings = PHASH) -> HashResult:
    st = path.stat()
    return hash_file(HashTask(FileInfo(path, st.st_size, st.st_mtime_ns), settings))


# --- the windows ---------------------------------------------------------------------------------


def test_windows_are_centred_and_hashed_in_rung_order() -> None:
    small = photo_like(200, 100, seed=3)
    seen: list[tuple[int, int, bytes]] = []

    def hash_fn(img: Image.Image) -> bytes:
        seen.append((img.width, img.height, img.tobytes()))
        return bytes([len(seen)]) * 8

    ladder = ladder_hashes(small, hash_fn)
    assert [(w, h) for w, h, _ in seen] == [(180, 90), (160, 80), (140, 70)]
    assert seen[0][2] == small.crop((10, 5, 190, 95)).tobytes()  # centred: equal margins
    assert rungs(ladder, 8) == [b"\x01" * 8, b"\x02" * 8, b"\x03" * 8]
    assert window(small, RUNGS[-1]).size == (140, 70)


def test_rungs_split_a_ladder_and_refuse_bad_lengths() -> None:
    ladder = bytes(range(24))
    assert rungs(ladder, 8) == [bytes(range(0, 8)), bytes(range(8, 16)), bytes(range(16, 24))]
    assert rungs(b"", 8) == []  # not computed
    for bad, hash_len in ((ladder[:-1], 8), (ladder, 4), (ladder, 0)):
        with pytest.raises(ValueError):
            rungs(bad, hash_len)


def test_can_ladder_follows_the_same_rule_as_turning() -> None:
    assert [can_ladder(a) for a in HashAlgorithm] == [can_turn(a) for a in HashAlgorithm]
    assert not can_ladder(HashAlgorithm.COLORHASH)
    assert not can_ladder(HashAlgorithm.CROP_RESISTANT)


def test_the_smallest_window_gets_as_many_pixels_as_a_whole_picture_needs() -> None:
    for algorithm in HashAlgorithm:
        settings = HashSettings(algorithm, 8)
        decoded = hashing._working_px(settings)
        if can_ladder(algorithm):
            assert min(RUNGS) * decoded >= hashing._hash_px(settings)
        else:
            assert decoded == hashing._hash_px(settings)
        assert 2 * hashing._hash_px(settings) >= decoded  # the reduce keeps at least that


# --- hash_file -----------------------------------------------------------------------------------


def _crop_10(src: Path, dst: Path) -> Path:
    """90 % of width and height, off-centre (6 % / 4 % from the left / top), as crop_10 in the
    accuracy corpus: a 10 % change of scale, not just a lost border."""
    with Image.open(src) as img:
        w, h = img.size
        left, top = round(0.06 * w), round(0.04 * h)
        cropped = img.crop((left, top, left + round(0.9 * w), top + round(0.9 * h)))
    return save(cropped, dst, quality=85)


def test_a_cropped_copy_is_near_a_rung_of_its_original_but_far_from_its_hash(
    tmp_path: Path,
) -> None:
    # Seed 5 at 320x240: the copy's upright hash is 20 bits from the original's (checked).
    original = write_photo(tmp_path / "photo.jpg", width=320, height=240, seed=5)
    copy = _crop_10(original, tmp_path / "photo crop.jpg")
    ours, theirs = _hash(original), _hash(copy)
    assert ours.perceptual_hash is not None and theirs.perceptual_hash is not None
    assert ours.ladder is not None and len(ours.ladder) == len(RUNGS) * 8
    assert hamming(theirs.perceptual_hash, ours.perceptual_hash) > 12
    assert min(hamming(theirs.perceptual_hash, rung) for rung in rungs(ours.ladder, 8)) <= 8


def test_the_ladder_is_hashed_from_the_upright_picture(tmp_path: Path) -> None:
    plain = write_photo(tmp_path / "plain.jpg", width=240, height=160, seed=2, quality=95)
    turned = write_photo(
        tmp_path / "turned.jpg", width=240, height=160, seed=2, quality=95, orientation=6
    )
    a, b = _hash(plain), _hash(turned)
    assert a.ladder is not None and b.ladder is not None
    distances = [hamming(x, y) for x, y in zip(rungs(a.ladder, 8), rungs(b.ladder, 8), strict=True)]
    assert max(distances) <= 4


@pytest.mark.parametrize(
    ("settings", "length"),
    [
        (HashSettings(HashAlgorithm.PHASH, 16), 3 * 32),
        (HashSettings(HashAlgorithm.DHASH, 8), 3 * 8),
        (HashSettings(HashAlgorithm.WHASH, 8), 3 * 8),
        (HashSettings(HashAlgorithm.COLORHASH, 8), 0),
        (HashSettings(HashAlgorithm.CROP_RESISTANT, 8), 0),
    ],
)
def test_ladder_length_per_algorithm(tmp_path: Path, settings: HashSettings, length: int) -> None:
    result = _hash(write_photo(tmp_path / "a.png", width=160, height=120), settings)
    assert result.ladder is not None and len(result.ladder) == length
    if length:
        assert len(rungs(result.ladder, hash_bytes(settings))) == len(RUNGS)


def test_decoded_record_carries_the_ladder(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "a.jpg", width=160, height=120)
    st = path.stat()
    info = FileInfo(path, st.st_size, st.st_mtime_ns)
    result = hash_file(HashTask(info, PHASH))
    assert result.ladder
    assert decoded_record(info, result).ladder == result.ladder


# --- the scan's hashing stage --------------------------------------------------------------------


def test_a_known_content_gets_its_ladder_from_the_store(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    original = write_photo(root / "a.jpg", width=160, height=120, seed=4)
    db = tmp_path / "db.sqlite3"
    request = ScanRequest(roots=(root,), workers=1)
    with open_store(db) as store:
        run_scan(request, store)
        (root / "b.jpg").write_bytes(original.read_bytes())  # same content: not decoded again
        report = run_scan(request, store)
        records = store.load_records(PHASH)
    assert report.stats.hashed == 1 and report.stats.decoded == 0
    ladder = records[root / "a.jpg"].ladder
    assert len(ladder) == len(RUNGS) * 8
    assert records[root / "b.jpg"].ladder == ladder
    [group] = report.groups
    assert {m.record.ladder for m in group.members} == {ladder}
