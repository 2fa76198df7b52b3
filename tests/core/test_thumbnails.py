"""Thumbnails: small, upright, cheap to decode, and plain errors for bad files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.model import ProblemKind
from dedup_gui.core.thumbnails import make_thumbnail
from tests.core.images import (
    animated_gif,
    photo_like,
    save,
    write_huge_header_jpeg,
    write_huge_header_png,
    write_oriented,
    write_photo,
    write_random_bytes,
    write_text,
    write_truncated,
)


def _mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size
    return float(np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).mean())


def test_jpeg_is_shrunk_to_the_box_keeping_aspect(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "a.jpg", width=512, height=384, seed=1)
    thumb = make_thumbnail(path, 128)
    assert thumb.size == (128, 96)
    assert thumb.mode == "RGB"
    expected = photo_like(512, 384, seed=1).resize((128, 96), Image.Resampling.BICUBIC)
    assert _mean_abs_diff(thumb, expected) < 12


def test_small_images_are_not_enlarged(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "small.png", width=64, height=40, seed=2)
    assert make_thumbnail(path, 220).size == (64, 40)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    displayed = photo_like(256, 128, seed=3)
    path = write_oriented(tmp_path / f"o{orientation}.jpg", displayed, orientation=orientation)
    with Image.open(path) as stored:
        assert stored.size == ((128, 256) if orientation in (6, 8) else (256, 128))
    thumb = make_thumbnail(path, 64)
    assert thumb.size == (64, 32)
    assert _mean_abs_diff(thumb, displayed.resize((64, 32), Image.Resampling.BICUBIC)) < 12


def test_out_of_range_orientation_shows_as_stored(tmp_path: Path) -> None:
    displayed = photo_like(128, 64, seed=4)
    path = write_oriented(tmp_path / "o9.jpg", displayed, orientation=9)
    assert make_thumbnail(path, 64).size == (64, 32)


def test_transparency_is_kept(tmp_path: Path) -> None:
    img = photo_like(100, 80, seed=5).convert("RGBA")
    img.putalpha(128)
    path = save(img, tmp_path / "alpha.png")
    thumb = make_thumbnail(path, 50)
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((10, 10))[3] == 128


@pytest.mark.parametrize("mode", ["L", "CMYK", "P"])
def test_other_modes_become_rgb(tmp_path: Path, mode: str) -> None:
    img = photo_like(80, 60, seed=6).convert(mode)
    path = tmp_path / f"{mode}.{'png' if mode == 'P' else 'jpg'}"
    img.save(path)
    thumb = make_thumbnail(path, 40)
    assert (thumb.mode, thumb.size) == ("RGB", (40, 30))


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    path = animated_gif(tmp_path / "anim.gif", width=128, height=96, seed=7)
    thumb = make_thumbnail(path, 128)
    first = photo_like(128, 96, seed=7)
    other = photo_like(128, 96, seed=1007)
    assert _mean_abs_diff(thumb, first) < _mean_abs_diff(thumb, other)


def test_odd_file_name(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9 \xf0\x9f\x93\xb7 %20\n.jpg")
    path = write_photo(tmp_path / name, width=64, height=48)
    assert make_thumbnail(path, 32).size == (32, 24)


def _kind_of(path: Path) -> str:
    with pytest.raises(UnreadableImage) as info:
        make_thumbnail(path, 64)
    return info.value.kind


def test_bad_files_raise_plain_errors(tmp_path: Path) -> None:
    good = write_photo(tmp_path / "good.jpg", width=256, height=192)
    assert _kind_of(tmp_path / "missing.jpg") == ProblemKind.VANISHED
    assert _kind_of(write_text(tmp_path / "text.jpg")) == ProblemKind.NOT_AN_IMAGE
    assert _kind_of(write_random_bytes(tmp_path / "noise.jpg")) == ProblemKind.NOT_AN_IMAGE
    assert _kind_of(write_truncated(good, tmp_path / "cut.jpg", keep=0.3)) == ProblemKind.CORRUPT
    assert _kind_of(write_huge_header_png(tmp_path / "bomb.png")) == ProblemKind.TOO_LARGE
    assert _kind_of(write_huge_header_jpeg(tmp_path / "bomb.jpg")) == ProblemKind.TOO_LARGE


def test_rejects_nonsense_box(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        make_thumbnail(write_photo(tmp_path / "a.jpg"), 0)


def test_big_jpeg_is_never_decoded_at_full_size(tmp_path: Path) -> None:
    # 6000 x 4000 decodes to 72 MB of RGB. Measure the peak memory in a fresh process: with
    # libjpeg's 1/8 scaling the thumbnail needs about 1/64 of that.
    big = tmp_path / "big.jpg"
    gradient = Image.linear_gradient("L").resize((6000, 4000)).convert("RGB")
    gradient.save(big, quality=80)
    del gradient
    script = textwrap.dedent(
        f"""
        import resource
        from pathlib import Path
        from PIL import Image
        from dedup_gui.core.thumbnails import make_thumbnail
        Image.open({str(big)!r}).close()  # warm the plugin imports before the baseline
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        thumb = make_thumbnail(Path({str(big)!r}), 256)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(thumb.size[0], thumb.size[1], after - before)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.split()
    width, height, grown_kib = (int(v) for v in out)
    assert (width, height) == (256, 171)
    assert grown_kib < 20_000  # well under the 70,000 KiB a full decode would take
