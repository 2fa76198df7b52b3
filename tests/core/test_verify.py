"""The fine-detail measures: copies score near 1, other photos, frames and tiles near 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dedup_gui.core.model import Turn
from dedup_gui.core.verify import (
    ACCEPT,
    FAST_ACCEPT,
    _blur,
    crop_similarity,
    similarity,
    small_grey,
)
from tests.core.images import photo_like, resize, save, write_photo


def test_similarity_tells_a_re_encoded_copy_from_another_photo(tmp_path: Path) -> None:
    original = write_photo(tmp_path / "a.jpg", width=320, height=240, seed=1)
    small = resize(original, tmp_path / "a_small.jpg", scale=0.5, quality=60)
    other = write_photo(tmp_path / "b.jpg", width=320, height=240, seed=2)
    assert similarity(small_grey(original), small_grey(small)) >= 0.95
    assert similarity(small_grey(original), small_grey(other)) < ACCEPT - 0.3


def test_small_grey_shows_the_picture_as_displayed_then_turned(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise
    path = save(photo_like(320, 240, seed=3), tmp_path / "tagged.jpg", exif=exif)
    assert small_grey(path).shape == (256, 192)  # upright: taller than wide
    assert small_grey(path, Turn.ROTATED_90).shape == (192, 256)
    assert small_grey(path, Turn.MIRRORED).shape == (256, 192)


def test_crop_similarity_finds_a_crop_that_similarity_misses(tmp_path: Path) -> None:
    picture = photo_like(400, 300, seed=1)
    original = small_grey(save(picture, tmp_path / "a.jpg"))
    # 10 % of width and height off, unevenly, as an editor's crop tool leaves it
    cropped = small_grey(save(picture.crop((24, 12, 384, 282)), tmp_path / "a_crop.jpg"))
    assert similarity(original, cropped) < ACCEPT - 0.3  # corners aligned: nothing matches
    assert crop_similarity(original, cropped) >= FAST_ACCEPT
    assert crop_similarity(cropped, original) >= FAST_ACCEPT  # either way round


def test_crop_similarity_of_a_clear_copy_is_the_quick_check(tmp_path: Path) -> None:
    original = write_photo(tmp_path / "a.jpg", width=400, height=300, seed=2)
    small = small_grey(resize(original, tmp_path / "a_small.jpg", scale=0.5, quality=70))
    quick = similarity(small_grey(original), small)
    assert quick >= FAST_ACCEPT
    assert crop_similarity(small_grey(original), small) == quick


def test_crop_similarity_refuses_overlapping_frames_and_tiles(tmp_path: Path) -> None:
    scene = photo_like(470, 320, seed=3)
    # Two frames of a burst: the camera moved 15 % sideways; each is 85 % of the other.
    frame_a = small_grey(save(scene.crop((0, 10, 400, 310)), tmp_path / "a.jpg"))
    frame_b = small_grey(save(scene.crop((60, 10, 460, 310)), tmp_path / "b.jpg"))
    tall = photo_like(400, 600, seed=4)
    top = small_grey(save(tall.crop((0, 0, 400, 300)), tmp_path / "top.jpg"))
    bottom = small_grey(save(tall.crop((0, 300, 400, 600)), tmp_path / "bottom.jpg"))
    assert crop_similarity(frame_a, frame_b) < ACCEPT - 0.3
    assert crop_similarity(top, bottom) < ACCEPT - 0.3


def test_pictures_of_very_different_shapes_are_not_compared() -> None:
    wide = np.asarray(photo_like(400, 100, seed=5).convert("L"))
    tall = np.asarray(photo_like(100, 400, seed=5).convert("L"))
    assert crop_similarity(wide, tall) == 0.0


def test_blur_is_scipys_gaussian_filter() -> None:
    # The thresholds were measured with scipy's filter (the prototype); the port must match it.
    ndimage = pytest.importorskip("scipy.ndimage")
    x = np.random.default_rng(0).random((37, 53), dtype=np.float32) * 255
    for sigma in (0.8, 1.0, 3.0):
        assert np.abs(_blur(x, sigma) - ndimage.gaussian_filter(x, sigma)).max() < 1e-3
