"""Every format of a photo library decodes upright, for hashing and thumbnails: real files only.

PNG, WebP, TIFF (8 and 16 bit), GIF, BMP, HEIC, AVIF, JPEG XL and camera RAW (DNG, written here
by ``tests.core.format_files``); and the plain problems when a format's package is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dedup_gui.core.decoders import open_image, raw_format, register_optional_formats
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.hashing import HashResult, HashTask, hash_file, init_worker, pixel_digest
from dedup_gui.core.model import FileInfo, HashAlgorithm, HashSettings, ProblemKind, ScanRequest
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store
from dedup_gui.core.thumbnails import make_thumbnail
from tests.core.format_files import (
    write_avif,
    write_dng,
    write_heic,
    write_jxl,
    write_tiff16,
)
from tests.core.images import hamming, photo_like, save

REPO = Path(__file__).resolve().parents[2]
PHASH = HashSettings()
WIDTH, HEIGHT = 384, 256
DATE = "2021:06:01 12:34:56"
NEAR_BITS = 4  # of 64: "the same picture" after a lossy re-encode or a demosaic


@pytest.fixture(autouse=True)
def _plugins() -> None:
    init_worker(frozenset())  # as in a worker: optional formats registered


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    return photo_like(WIDTH, HEIGHT, seed=5)


def _hash(path: Path, settings: HashSettings = PHASH) -> HashResult:
    st = path.stat()
    return hash_file(HashTask(FileInfo(path, st.st_size, st.st_mtime_ns), settings))


def _failure(path: Path) -> UnreadableImage:
    with pytest.raises(UnreadableImage) as caught:
        _hash(path)
    return caught.value


def _reference(tmp_path: Path, picture: Image.Image) -> bytes:
    return _hash(save(picture, tmp_path / "reference.png")).perceptual_hash or b""


def _mean_diff(a: Image.Image, b: Image.Image) -> float:
    b = b.convert(a.mode).resize(a.size, Image.Resampling.BICUBIC)
    return float(np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).mean())


def _write_jxl(path: Path, picture: Image.Image, **kwargs: object) -> Path:
    pytest.importorskip("pillow_jxl")
    return write_jxl(path, picture, **kwargs)  # type: ignore[arg-type]


# name, writer(path, picture) -> path, Pillow-or-camera format name
WRITERS = [
    ("a.png", lambda p, pic: save(pic, p), "PNG"),
    ("a.webp", lambda p, pic: save(pic, p, quality=90), "WEBP"),
    ("a.tif", lambda p, pic: save(pic, p), "TIFF"),
    ("a16.tif", write_tiff16, "TIFF"),
    ("grey16.tif", lambda p, pic: write_tiff16(p, pic.convert("L")), "TIFF"),
    ("a.gif", lambda p, pic: save(pic, p), "GIF"),
    ("a.bmp", lambda p, pic: save(pic, p), "BMP"),
    ("a.heic", write_heic, "HEIF"),
    ("a.avif", write_avif, "AVIF"),
    ("a.jxl", _write_jxl, "JXL"),
    ("preview.dng", write_dng, "DNG"),
    ("no_preview.dng", lambda p, pic: write_dng(p, pic, preview=False), "DNG"),
]


@pytest.mark.parametrize(("name", "write", "fmt"), WRITERS, ids=[w[0] for w in WRITERS])
def test_each_format_hashes_as_the_same_picture(
    tmp_path: Path, picture: Image.Image, name: str, write: object, fmt: str
) -> None:
    path = write(tmp_path / name, picture)  # type: ignore[operator]
    result = _hash(path)
    assert (result.format, result.width, result.height) == (fmt, WIDTH, HEIGHT)
    assert result.perceptual_hash is not None
    assert hamming(result.perceptual_hash, _reference(tmp_path, picture)) <= NEAR_BITS
    thumb = make_thumbnail(path, 96)
    assert thumb.size == (96, 64)
    shown = picture.convert("L") if name.startswith("grey") else picture
    assert _mean_diff(thumb, shown) < 14  # the picture, not white, black or turned


ORIENTED = [
    ("a.heic", write_heic),
    ("a.avif", write_avif),
    ("a.jxl", _write_jxl),
    ("preview.dng", lambda p, pic, orientation: write_dng(p, pic, orientation=orientation)),
    (
        "no_preview.dng",
        lambda p, pic, orientation: write_dng(p, pic, orientation=orientation, preview=False),
    ),
]


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize(("name", "write"), ORIENTED, ids=[w[0] for w in ORIENTED])
def test_orientation_is_applied(
    tmp_path: Path, picture: Image.Image, name: str, write: object, orientation: int
) -> None:
    path = write(tmp_path / name, picture, orientation=orientation)  # type: ignore[operator]
    result = _hash(path)
    assert (result.width, result.height) == (WIDTH, HEIGHT)  # as displayed
    assert result.perceptual_hash is not None
    assert hamming(result.perceptual_hash, _reference(tmp_path, picture)) <= NEAR_BITS
    thumb = make_thumbnail(path, 96)
    assert thumb.size == (96, 64)
    assert _mean_diff(thumb, picture) < 14


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("a.heic", lambda p, pic: write_heic(p, pic, date_taken=DATE)),
        ("a.avif", lambda p, pic: write_avif(p, pic, date_taken=DATE)),
        ("a.jxl", lambda p, pic: _write_jxl(p, pic, date_taken=DATE)),
        ("a.dng", lambda p, pic: write_dng(p, pic, exif_date=DATE)),
        ("b.dng", lambda p, pic: write_dng(p, pic, exif_date=DATE, preview=False)),
    ],
)
def test_date_taken_is_read(tmp_path: Path, picture: Image.Image, name: str, write: object) -> None:
    path = write(tmp_path / name, picture)  # type: ignore[operator]
    assert _hash(path).date_taken == "2021-06-01 12:34:56"


def test_animated_webp_hashes_its_first_frame(tmp_path: Path) -> None:
    first, second = photo_like(WIDTH, HEIGHT, seed=1), photo_like(WIDTH, HEIGHT, seed=2)
    path = tmp_path / "anim.webp"
    first.save(path, "WEBP", save_all=True, append_images=[second], duration=100, quality=90)
    result = _hash(path)
    assert result.perceptual_hash is not None
    assert hamming(result.perceptual_hash, _reference(tmp_path, first)) <= NEAR_BITS
    assert hamming(result.perceptual_hash, _reference(tmp_path, second)) > 3 * NEAR_BITS
    thumb = make_thumbnail(path, 96)
    assert _mean_diff(thumb, first) < 14 < _mean_diff(thumb, second)


# --- camera RAW ----------------------------------------------------------------------------------


def test_raw_hash_is_near_its_jpeg_rendering_by_both_paths(
    tmp_path: Path, picture: Image.Image
) -> None:
    jpeg = _hash(save(picture, tmp_path / "IMG_1.jpg", quality=85)).perceptual_hash or b""
    for preview in (True, False):
        raw = write_dng(tmp_path / f"IMG_{preview}.dng", picture, preview=preview, orientation=6)
        assert hamming(_hash(raw).perceptual_hash or b"", jpeg) <= NEAR_BITS


def test_raw_preview_is_used_only_when_big_enough(tmp_path: Path, picture: Image.Image) -> None:
    path = write_dng(tmp_path / "a.dng", picture, orientation=6, camera="Canon EOS R5")
    data = path.read_bytes()
    with open_image(data, path, min_px=64) as opened:
        assert opened.image.format == "JPEG"  # the embedded preview, scaled while decoding
        assert opened.image.size == (HEIGHT // 4, WIDTH // 4)  # stored unturned, as shot
        assert (opened.format, opened.width, opened.height, opened.orientation) == (
            "DNG",
            WIDTH,
            HEIGHT,
            6,
        )
        assert opened.metadata.getexif()[272] == "EOS R5"  # the RAW's own EXIF: Model
    with open_image(data, path, min_px=WIDTH) as opened:  # more than the preview has
        assert opened.image.format is None  # demosaiced, at full size (half would not do)
        assert opened.image.size == (HEIGHT, WIDTH)
        assert (opened.width, opened.height, opened.orientation) == (WIDTH, HEIGHT, 6)
    crop_resistant = HashSettings(HashAlgorithm.CROP_RESISTANT)  # needs 300 px: no preview
    assert _hash(path, crop_resistant).width == WIDTH


def test_raw_format_is_told_by_content_then_suffix(tmp_path: Path, picture: Image.Image) -> None:
    dng = write_dng(tmp_path / "a.dng", picture).read_bytes()
    jpeg = save(picture, tmp_path / "a.jpg").read_bytes()
    assert raw_format(dng, ".tif") == "DNG"  # a DNG by any name
    assert raw_format(jpeg, ".nef") is None  # a JPEG named .nef is a JPEG
    assert raw_format(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64), ".tif") == "CR2"
    assert raw_format(b"IIRO\x08\x00\x00\x00" + bytes(64), "") == "ORF"
    assert raw_format(b"FUJIFILMCCD-RAW 0201" + bytes(64), "") == "RAF"
    assert raw_format(b"\x00\x00\x00\x18ftypcrx " + bytes(64), "") == "CR3"
    assert raw_format(bytes(64), ".ARW") == "ARW"
    assert raw_format(save(picture, tmp_path / "a.tif").read_bytes(), ".tif") is None
    renamed = tmp_path / "photo.tif"
    renamed.write_bytes(dng)
    assert _hash(renamed).format == "DNG"


def test_damaged_and_unknown_raws_are_plain_problems(tmp_path: Path, picture: Image.Image) -> None:
    full = write_dng(tmp_path / "full.dng", picture, preview=False).read_bytes()
    cut = tmp_path / "cut.dng"
    cut.write_bytes(full[: len(full) // 2])
    failure = _failure(cut)
    assert failure.kind == ProblemKind.CORRUPT
    assert "DNG" in failure.detail
    junk = tmp_path / "junk.cr2"
    junk.write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(500))
    failure = _failure(junk)
    assert failure.kind == ProblemKind.UNSUPPORTED
    assert failure.detail.startswith("cannot read this CR2 camera RAW file")


def test_a_damaged_preview_falls_back_to_the_sensor_data(
    tmp_path: Path, picture: Image.Image
) -> None:
    data = bytearray(write_dng(tmp_path / "a.dng", picture).read_bytes())
    frame = data.index(b"\xff\xc0", data.index(b"\xff\xd8\xff"))  # the preview's SOF0
    data[frame : frame + 2] = b"\xff\xfe"  # now a comment: a JPEG without a frame
    damaged = tmp_path / "damaged.dng"
    damaged.write_bytes(bytes(data))
    with open_image(bytes(data), damaged, min_px=64) as opened:
        assert opened.image.format is None  # demosaiced
    result = _hash(damaged)
    assert (result.format, result.width) == ("DNG", WIDTH)
    assert hamming(result.perceptual_hash or b"", _reference(tmp_path, picture)) <= NEAR_BITS


def test_raw_pixel_digest_compares_sensor_data(tmp_path: Path, picture: Image.Image) -> None:
    a = write_dng(tmp_path / "a.dng", picture, exif_date=DATE)
    same = write_dng(tmp_path / "b.dng", picture, preview=False, camera="Other Camera")
    turned = write_dng(tmp_path / "c.dng", picture.rotate(180), orientation=3)
    other = write_dng(tmp_path / "d.dng", photo_like(WIDTH, HEIGHT, seed=6))
    assert pixel_digest(a) == pixel_digest(same)  # only metadata and preview differ
    assert pixel_digest(a) != pixel_digest(turned)  # same sensor data, shown turned
    assert pixel_digest(a) != pixel_digest(other)


def test_sixteen_bit_tiff_pixel_digest_keeps_its_depth(
    tmp_path: Path, picture: Image.Image
) -> None:
    grey = picture.convert("L")
    assert pixel_digest(write_tiff16(tmp_path / "a.tif", grey)) == pixel_digest(
        write_tiff16(tmp_path / "b.tif", grey)
    )
    assert pixel_digest(tmp_path / "a.tif") != pixel_digest(save(grey, tmp_path / "c.png"))


def test_registering_optional_formats_is_idempotent() -> None:
    register_optional_formats()
    register_optional_formats()
    Image.init()
    assert "HEIF" in Image.OPEN and "AVIF" in Image.OPEN


def test_a_scan_with_worker_processes_groups_every_format(
    tmp_path: Path, picture: Image.Image
) -> None:
    root = tmp_path / "library"
    copies = [
        save(picture, root / "export.jpg"),
        write_dng(root / "raw_copy.dng", picture, preview=False, orientation=6),
        write_dng(root / "raw_preview.dng", picture, orientation=8),
        write_heic(root / "phone.heic", picture, orientation=6),
        write_avif(root / "web.avif", picture),
    ]
    save(photo_like(WIDTH, HEIGHT, seed=9), root / "other.png")
    with open_store(tmp_path / "db.sqlite3") as store:
        report = run_scan(ScanRequest(roots=(root,), workers=2), store)
    assert report.problems == ()
    [group] = report.groups
    assert sorted(m.record.path for m in group.members) == sorted(copies)
    assert {(m.record.width, m.record.height) for m in group.members} == {(WIDTH, HEIGHT)}


# --- missing packages ----------------------------------------------------------------------------

_BLOCKED_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    for name in os.environ["BLOCKED"].split():
        sys.modules[name] = None  # as if not installed: importing it raises ImportError
    from pathlib import Path
    from dedup_gui.core.errors import UnreadableImage
    from dedup_gui.core.hashing import HashTask, hash_file, init_worker
    from dedup_gui.core.model import FileInfo, HashSettings
    from dedup_gui.core.thumbnails import make_thumbnail

    init_worker(frozenset())
    out = {}
    for name in sys.argv[1:]:
        path = Path(name)
        st = path.stat()
        answers = []
        for call in (
            lambda: hash_file(HashTask(FileInfo(path, st.st_size, st.st_mtime_ns), HashSettings())),
            lambda: make_thumbnail(path, 64),
        ):
            try:
                call()
                answers.append("decoded")
            except UnreadableImage as exc:
                answers.append([exc.kind, exc.detail])
        out[path.name] = answers
    print(json.dumps(out))
    """
)


def test_missing_packages_give_plain_unsupported_problems(
    tmp_path: Path, picture: Image.Image
) -> None:
    jxl = tmp_path / "a.jxl"
    jxl.write_bytes(b"\xff\x0a" + bytes(200))  # a JPEG XL codestream's signature suffices
    files = [
        write_heic(tmp_path / "a.heic", picture),
        jxl,
        write_dng(tmp_path / "a.dng", picture),
        save(picture, tmp_path / "a.jpg"),
    ]
    answers = _decode_without(["pillow_heif", "pi_heif", "pillow_jxl", "rawpy"], files)
    heic = [
        "unsupported",
        "HEIC support not installed (it needs the pi-heif or pillow-heif package)",
    ]
    jxl_words = [
        "unsupported",
        "JPEG XL support not installed (it needs the pillow-jxl-plugin package)",
    ]
    raw = [
        "unsupported",
        "camera RAW support not installed (it needs the rawpy package to read DNG files)",
    ]
    assert answers == {
        "a.heic": [heic, heic],
        "a.jxl": [jxl_words, jxl_words],
        "a.dng": [raw, raw],
        "a.jpg": ["decoded", "decoded"],
    }


def test_pi_heif_alone_decodes_heic(tmp_path: Path, picture: Image.Image) -> None:
    pytest.importorskip("pi_heif")  # pillow-heif's decode-only build, free of GPL x265
    heic = write_heic(tmp_path / "a.heic", picture, orientation=6)
    assert _decode_without(["pillow_heif"], [heic]) == {"a.heic": ["decoded", "decoded"]}


def _decode_without(blocked: list[str], files: list[Path]) -> dict[str, object]:
    """Hash and thumbnail ``files`` in a process where the ``blocked`` modules cannot load."""
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKED_SCRIPT, *map(str, files)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "BLOCKED": " ".join(blocked)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers: dict[str, object] = json.loads(done.stdout)
    return answers
