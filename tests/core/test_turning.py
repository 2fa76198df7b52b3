"""Tests of turning: the turn algebra, canonical orientation, and rotated copies grouping."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from dedup_gui.core import digest, hashing
from dedup_gui.core.grouping import group_by_distance, make_group
from dedup_gui.core.model import (
    Group,
    HashAlgorithm,
    HashSettings,
    ImageRecord,
    Relation,
    ScanRequest,
    Turn,
)
from dedup_gui.core.orientation import ORIENTATION_TAG, swaps_sides, upright, valid_orientation
from dedup_gui.core.pixels import label_same_pixels
from dedup_gui.core.store import open_store
from dedup_gui.core.turning import (
    apply_turn,
    balance,
    between,
    can_turn,
    canonical_turns,
    compose,
    describe,
    entries,
    inverse,
    turn_balance,
    turned_hashes,
)
from tests.core.images import photo_like, resize, save, write_oriented, write_photo

PHASH = HashSettings()


def turned_by_hand(pixels: np.ndarray, turn: Turn) -> np.ndarray:
    """The Turn definition, spelled out: mirror left-right, then clockwise quarter turns."""
    if turn >= 4:
        pixels = pixels[:, ::-1]
    return np.rot90(pixels, -(turn % 4))


def record_of(path: Path, settings: HashSettings = PHASH) -> ImageRecord:
    """What a scan records, computing ``turned`` as hash_file is to: from its small image."""
    data = path.read_bytes()
    with Image.open(path) as img:
        orientation = valid_orientation(img.getexif().get(ORIENTATION_TAG))
        width, height = img.size
        small = upright(hashing._decode_small(img, settings), orientation)
    if swaps_sides(orientation):
        width, height = height, width

    def hash_fn(picture: Image.Image) -> bytes:
        return hashing._perceptual_hash(picture, settings)

    return ImageRecord(
        path=path,
        size=len(data),
        mtime_ns=0,
        content_hash=digest.content_hash(data),
        perceptual_hash=hash_fn(small),
        width=width,
        height=height,
        format="JPEG",
        date_taken=None,
        turned=turned_hashes(small, hash_fn) if can_turn(settings.algorithm) else b"",
    )


def turned_copy(src: Path, dst: Path, turn: Turn, *, quality: int = 90) -> Path:
    with Image.open(src) as img:
        return save(apply_turn(img.convert("RGB"), turn), dst, quality=quality)


def turn_of(group: Group) -> dict[str, Turn]:
    return {m.record.path.name: m.turn for m in group.members}


def group_of(groups: list[Group], name: str) -> Group:
    (group,) = [g for g in groups if name in turn_of(g)]
    return group


# --- the algebra ---------------------------------------------------------------------------------

PIXELS = np.arange(15, dtype=np.uint8).reshape(3, 5) * 17  # not square, no symmetry


@pytest.mark.parametrize("turn", list(Turn))
def test_apply_turn_mirrors_then_turns_clockwise(turn: Turn) -> None:
    turned = np.asarray(apply_turn(Image.fromarray(PIXELS), turn))
    assert np.array_equal(turned, turned_by_hand(PIXELS, turn))


def test_compose_is_one_turn_after_the_other() -> None:
    img = Image.fromarray(PIXELS)
    for first, then in product(Turn, Turn):
        twice = apply_turn(apply_turn(img, first), then)
        assert np.array_equal(np.asarray(twice), np.asarray(apply_turn(img, compose(first, then))))


def test_inverse_undoes_and_between_relates_two_turned_pictures() -> None:
    img = Image.fromarray(PIXELS)
    for turn in Turn:
        assert compose(turn, inverse(turn)) is Turn.NONE
        assert compose(inverse(turn), turn) is Turn.NONE
    # Picture b is picture a turned by `relative`; a turned by s looks like b turned by t.
    for relative, s in product(Turn, Turn):
        b = apply_turn(img, relative)
        t = compose(inverse(relative), s)  # b turned by t = a turned by s
        assert np.array_equal(np.asarray(apply_turn(b, t)), np.asarray(apply_turn(img, s)))
        assert between(s, t) is relative


def test_describe_names_every_turn_differently() -> None:
    assert describe(Turn.ROTATED_90) == "rotated 90 degrees clockwise"
    assert describe(Turn.MIRRORED) == "mirrored"
    assert describe(Turn.MIRRORED_ROTATED_180) == "flipped upside down"
    assert len({describe(t) for t in Turn}) == len(Turn)


# --- canonical orientation -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_balance_changes_with_the_turn_as_turn_balance_says(seed: int) -> None:
    img = photo_like(160, 120, seed=seed).convert("L")
    a, b = balance(img)
    assert abs(a) + abs(b) > 0.05  # a photo is not balanced: the test would prove nothing
    for turn in Turn:
        expected = turn_balance(turn, a, b)
        assert balance(apply_turn(img, turn)) == pytest.approx(expected, abs=0.005)


# (a, b, margin, how many canonical turns)
CANONICAL_TABLE = [
    (0.30, 0.10, 0.02, 1),
    (-0.10, 0.30, 0.02, 1),
    (0.20, 0.19, 0.02, 2),  # |a| ~ |b|: turned across the diagonal or not
    (0.20, 0.19, 0.0, 1),
    (0.30, 0.01, 0.02, 2),  # b ~ 0: flipped or not
    (0.01, -0.01, 0.02, 8),  # nearly balanced both ways: every turn
    (0.0, 0.0, 0.0, 8),
]


@pytest.mark.parametrize(("a", "b", "margin", "count"), CANONICAL_TABLE)
def test_canonical_turns_bring_a_over_b_over_zero(
    a: float, b: float, margin: float, count: int
) -> None:
    turns = canonical_turns(a, b, margin)
    assert len(turns) == count
    for turn in turns:
        ta, tb = turn_balance(turn, a, b)
        assert ta >= tb - margin and tb >= -margin


@pytest.mark.parametrize(
    "algorithm",
    [HashAlgorithm.PHASH, HashAlgorithm.DHASH, HashAlgorithm.AHASH, HashAlgorithm.WHASH],
)
def test_every_turned_copy_has_an_entry_of_the_original(algorithm: HashAlgorithm) -> None:
    settings = HashSettings(algorithm=algorithm)
    size = hashing.hash_bytes(settings)

    def hash_fn(picture: Image.Image) -> bytes:
        return hashing._perceptual_hash(picture, settings)

    small = photo_like(96, 72, seed=4).convert("L")
    original = entries(turned_hashes(small, hash_fn), size)
    for turn in Turn:
        copy = entries(turned_hashes(apply_turn(small, turn), hash_fn), size)
        # The copy turned by g shows the original turned by compose(turn, g): same hash.
        assert any(
            compose(turn, g) == h_turn and h == hc for h_turn, h in original for g, hc in copy
        )


def test_a_symmetric_picture_stores_each_distinct_hash_once() -> None:
    flat = Image.new("L", (64, 48), 128)
    (entry,) = entries(turned_hashes(flat, lambda p: hashing._perceptual_hash(p, PHASH)), 8)
    assert entry[0] is Turn.NONE  # all 8 turns are candidates; the first one is kept


def test_entries_parse_and_refuse_partial_entries() -> None:
    blob = bytes([Turn.ROTATED_90]) + b"\x01" * 8 + bytes([Turn.MIRRORED]) + b"\x02" * 8
    assert entries(blob, 8) == [(Turn.ROTATED_90, b"\x01" * 8), (Turn.MIRRORED, b"\x02" * 8)]
    assert entries(b"", 8) == []
    with pytest.raises(ValueError, match="entries"):
        entries(blob[:-1], 8)


def test_only_single_hashes_that_see_orientation_are_turned() -> None:
    assert can_turn(HashAlgorithm.PHASH) and can_turn(HashAlgorithm.WHASH)
    assert not can_turn(HashAlgorithm.CROP_RESISTANT)
    assert not can_turn(HashAlgorithm.COLORHASH)


# --- rotated and mirrored files group, with the right turn ---------------------------------------


@pytest.fixture
def turned_files(tmp_path: Path) -> dict[str, Turn]:
    """An original, its copies turned every way (some also re-encoded and resized), and
    EXIF-oriented copies; by file name, how each one is the original turned."""
    original = write_photo(tmp_path / "original.jpg", width=320, height=240, seed=1)
    truth = {"original.jpg": Turn.NONE}
    for turn in list(Turn)[1:]:
        turned_copy(original, tmp_path / f"{turn.name}.jpg", turn)
        truth[f"{turn.name}.jpg"] = turn
    small = resize(original, tmp_path / "small.jpg", scale=0.5, quality=70)
    turned_copy(small, tmp_path / "small_rotated_90.jpg", Turn.ROTATED_90, quality=60)
    truth["small_rotated_90.jpg"] = Turn.ROTATED_90
    with Image.open(original) as img:
        displayed = img.convert("RGB")
    # Stored turned, tagged so that viewers show it upright: the same orientation.
    write_oriented(tmp_path / "exif_6_upright.jpg", displayed, orientation=6)
    truth["exif_6_upright.jpg"] = Turn.NONE
    # Stored as the original, tagged 6: displayed rotated 90 degrees clockwise.
    save(displayed, tmp_path / "exif_6_turned.jpg", exif=_exif_orientation(6))
    truth["exif_6_turned.jpg"] = Turn.ROTATED_90
    return truth


def _exif_orientation(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = value
    return exif


def test_turned_copies_group_with_their_turn(tmp_path: Path, turned_files: dict[str, Turn]) -> None:
    records = [record_of(tmp_path / name) for name in turned_files]
    (group,) = group_by_distance(records, 8, match_turned=True)
    turns = turn_of(group)
    assert set(turns) == set(turned_files)
    # Whichever copy is the reference, each member is it turned by the difference.
    ref_turn = turned_files[group.reference.record.path.name]
    for name, turn in turns.items():
        assert turn is compose(inverse(ref_turn), turned_files[name]), name


def test_without_match_turned_turned_copies_stay_apart(
    tmp_path: Path, turned_files: dict[str, Turn]
) -> None:
    records = [record_of(tmp_path / name) for name in turned_files]
    groups = group_by_distance(records, 8, match_turned=False)
    for group in groups:
        names = set(turn_of(group))
        assert len({turned_files[name] for name in names}) == 1, names  # one orientation each
        assert all(m.turn is Turn.NONE for m in group.members)
    together = turn_of(group_of(groups, "original.jpg"))
    assert set(together) == {"original.jpg", "exif_6_upright.jpg"}


def test_unrelated_photos_do_not_group_even_turned(tmp_path: Path) -> None:
    records = []
    for seed in range(6):
        original = write_photo(tmp_path / f"{seed}.jpg", seed=seed)
        records.append(record_of(original))
        records.append(record_of(turned_copy(original, tmp_path / f"{seed}_r.jpg", Turn(seed + 1))))
    groups = group_by_distance(records, 10, match_turned=True)
    assert sorted(sorted(turn_of(g)) for g in groups) == [
        [f"{seed}.jpg", f"{seed}_r.jpg"] for seed in range(6)
    ]


def near_symmetric_photo(seed: int) -> Image.Image:
    """A picture whose right half nearly mirrors its left: left-right balance ~0, a close call.

    Not exactly symmetric: then half of pHash's DCT coefficients are ~0, at its median split, and
    even a re-encoded copy lands 8-14 bits away (measured), turned or not.
    """
    half = photo_like(128, 192, seed=seed)
    whole = Image.new("RGB", (256, 192))
    whole.paste(half, (0, 0))
    whole.paste(ImageOps.mirror(half), (128, 0))
    return Image.blend(whole, photo_like(256, 192, seed=seed + 50), 0.1)


def test_a_near_symmetric_picture_matches_its_turned_copies_only(tmp_path: Path) -> None:
    pictures = [save(near_symmetric_photo(seed), tmp_path / f"sym{seed}.jpg") for seed in (5, 6)]
    records = [record_of(p) for p in pictures]
    assert len(records[0].turned) > 9  # more than one entry: the close call is kept open
    for turn in list(Turn)[1:]:
        records.append(record_of(turned_copy(pictures[0], tmp_path / f"{turn.name}.jpg", turn)))
    for seed in range(8):
        photo = write_photo(tmp_path / f"other{seed}.jpg", seed=seed)
        records.append(record_of(turned_copy(photo, tmp_path / f"other{seed}_r.jpg", Turn(5))))
    groups = group_by_distance(records, 8, match_turned=True)
    (group,) = groups  # nothing else groups: not the other near-symmetric one, nor the photos
    truth = {"sym5.jpg": Turn.NONE} | {f"{t.name}.jpg": t for t in list(Turn)[1:]}
    ref_turn = truth[group.reference.record.path.name]
    assert turn_of(group) == {n: compose(inverse(ref_turn), t) for n, t in truth.items()}


def test_turned_members_are_not_same_pixel_candidates(tmp_path: Path) -> None:
    photo = photo_like(64, 48, seed=2)
    ref = save(photo, tmp_path / "ref.png")
    other = tmp_path / "other.png"
    photo.save(other, "PNG", pnginfo=_text_chunk())  # the same pixels, other bytes
    near = [(0, record_of(other))]
    plain = make_group(record_of(ref), [], near)
    turned = make_group(record_of(ref), [], near, turns={other: Turn.ROTATED_180})
    request = ScanRequest(roots=(tmp_path,), workers=1)
    with open_store(tmp_path / "store.sqlite3") as store:
        relabelled = label_same_pixels([plain, turned], store, request)
    assert relabelled[0].members[1].relation is Relation.SAME_PIXELS  # the rule works at all
    assert relabelled[1].members[1].relation is Relation.NEAR
    assert relabelled[1].members[1].turn is Turn.ROTATED_180


def _text_chunk() -> object:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "a copy")
    return info
