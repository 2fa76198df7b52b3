"""Tests for hashing: hash lengths, robustness to copies, EXIF, known contents, bad inputs."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image

from dedup_gui.core import digest
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.hashing import (
    HashResult,
    HashTask,
    hash_bytes,
    hash_file,
    init_worker,
    normalise_exif_date,
    pixel_digest,
    segment_bytes,
)
from dedup_gui.core.model import FileInfo, HashAlgorithm, HashSettings, ProblemKind
from tests.core.images import (
    animated_gif,
    brighten,
    convert,
    crop,
    hamming,
    make_exif,
    orient_for_storage,
    photo_like,
    reencode,
    replace_jpeg_exif,
    resize,
    save,
    write_huge_header_jpeg,
    write_huge_header_png,
    write_oriented,
    write_photo,
    write_png_bad_crc,
    write_random_bytes,
    write_text,
    write_truncated,
)

PHASH = HashSettings(HashAlgorithm.PHASH, 8)
REPO = Path(__file__).resolve().parents[2]

Copier = Callable[[Path, Path], Path]  # (source, folder) -> the copy
Writer = Callable[[Path], Path]  # folder or path -> the file written


@pytest.fixture(autouse=True)
def _no_known_contents() -> Iterator[None]:
    """init_worker sets per-process state; every test starts and ends with none known."""
    init_worker(frozenset())
    yield
    init_worker(frozenset())


def _info(path: Path) -> FileInfo:
    st = path.stat()
    return FileInfo(path, st.st_size, st.st_mtime_ns)


def _hash(path: Path, settings: HashSettings = PHASH) -> HashResult:
    return hash_file(HashTask(_info(path), settings))


def _phash(path: Path) -> bytes:
    result = _hash(path)
    assert result.perceptual_hash is not None
    return result.perceptual_hash


def _failure(path: Path) -> UnreadableImage:
    with pytest.raises(UnreadableImage) as caught:
        _hash(path)
    return caught.value


# --- lengths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "size", "expected_bytes"),
    [
        (HashAlgorithm.PHASH, 8, 8),
        (HashAlgorithm.PHASH, 16, 32),
        (HashAlgorithm.DHASH, 8, 8),
        (HashAlgorithm.AHASH, 8, 8),
        (HashAlgorithm.AHASH, 5, 4),  # 25 bits, zero-padded
        (HashAlgorithm.WHASH, 8, 8),
        (HashAlgorithm.WHASH, 16, 32),
        (HashAlgorithm.COLORHASH, 8, 7),  # 14 bins x 4 bits
        (HashAlgorithm.COLORHASH, 16, 14),  # 14 bins x 8 bits
    ],
)
def test_each_algorithm_returns_documented_length(
    tmp_path: Path, algorithm: HashAlgorithm, size: int, expected_bytes: int
) -> None:
    settings = HashSettings(algorithm, size)
    path = write_photo(tmp_path / "a.jpg", seed=1)
    result = _hash(path, settings)
    assert hash_bytes(settings) == expected_bytes
    assert segment_bytes(settings) is None
    assert result.perceptual_hash is not None
    assert len(result.perceptual_hash) == expected_bytes
    assert result.perceptual_hash != bytes(expected_bytes)  # photo-like: not all zeros


def test_crop_resistant_concatenates_segment_hashes(tmp_path: Path) -> None:
    settings = HashSettings(HashAlgorithm.CROP_RESISTANT, 8)
    path = write_photo(tmp_path / "a.jpg", width=400, height=300, seed=1)
    result = _hash(path, settings)
    assert segment_bytes(settings) == hash_bytes(settings) == 8
    assert result.perceptual_hash is not None
    assert len(result.perceptual_hash) % 8 == 0
    assert 1 <= len(result.perceptual_hash) // 8 <= 16


@pytest.mark.parametrize(
    "settings",
    [HashSettings(HashAlgorithm.WHASH, 12), HashSettings(HashAlgorithm.PHASH, 1)],
)
def test_settings_imagehash_cannot_use_are_refused(settings: HashSettings) -> None:
    with pytest.raises(ValueError):
        hash_bytes(settings)


# --- robustness to copies ------------------------------------------------------------------------


@pytest.fixture
def original(tmp_path: Path) -> Path:
    return write_photo(
        tmp_path / "original.jpg", width=512, height=384, seed=3, date_taken="2021:06:01 12:00:00"
    )


@pytest.mark.parametrize(
    "make_copy",
    [
        pytest.param(lambda src, dir: reencode(src, dir / "q70.jpg", quality=70), id="q70"),
        pytest.param(lambda src, dir: resize(src, dir / "half.jpg", scale=0.5), id="half"),
        pytest.param(lambda src, dir: convert(src, dir / "copy.png"), id="png"),
        pytest.param(lambda src, dir: convert(src, dir / "copy.webp"), id="webp"),
        pytest.param(lambda src, dir: convert(src, dir / "copy.tif"), id="tiff"),
        pytest.param(lambda src, dir: convert(src, dir / "copy.bmp"), id="bmp"),
        pytest.param(lambda src, dir: convert(src, dir / "copy.gif"), id="gif"),
        pytest.param(
            lambda src, dir: replace_jpeg_exif(src, dir / "meta.jpg", make_exif(artist="me")),
            id="metadata",
        ),
    ],
)
def test_copies_hash_close_to_the_original(
    original: Path, tmp_path: Path, make_copy: Copier
) -> None:
    copy = make_copy(original, tmp_path / "copies")
    assert _info(copy).size != _info(original).size or copy.read_bytes() != original.read_bytes()
    assert hamming(_phash(copy), _phash(original)) <= 8


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_edited_copies_are_near_but_not_identical(tmp_path: Path, seed: int) -> None:
    # Other tests rely on brighten() for a copy that a threshold of 0 keeps apart.
    original = write_photo(tmp_path / "a.jpg", width=640, height=480, seed=seed)
    assert 1 <= hamming(_phash(brighten(original, tmp_path / "b.jpg")), _phash(original)) <= 8
    assert 1 <= hamming(_phash(crop(original, tmp_path / "c.jpg")), _phash(original)) <= 12


def test_different_photos_are_far_apart(tmp_path: Path) -> None:
    a = write_photo(tmp_path / "a.jpg", seed=1)
    b = write_photo(tmp_path / "b.jpg", seed=2)
    assert hamming(_phash(a), _phash(b)) > 20


def test_draft_decode_matches_full_decode_on_a_large_jpeg(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "big.jpg", width=3000, height=2000, seed=3)
    with Image.open(path) as img:
        full = bytes(np.packbits(imagehash.phash(img).hash.flatten()))
    # Measured: 0 bits differ for seeds 0-11 (a box reduce to 64 px had cost up to 4).
    assert hamming(_phash(path), full) <= 2


# --- EXIF ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    scene = photo_like(320, 240, seed=4)
    plain = save(scene, tmp_path / "plain.png")
    oriented = write_oriented(tmp_path / "oriented.png", scene, orientation=orientation)

    result = _hash(oriented)

    assert (result.width, result.height) == (320, 240)  # as displayed
    assert result.perceptual_hash == _phash(plain)  # PNG: lossless, so exactly equal
    if orientation != 1:
        with Image.open(oriented) as img:
            assert (
                hamming(bytes(np.packbits(imagehash.phash(img).hash.flatten())), _phash(plain)) > 8
            )


def test_exif_orientation_on_a_jpeg(tmp_path: Path) -> None:
    plain = write_photo(tmp_path / "plain.jpg", width=320, height=240, seed=5)
    rotated = write_photo(tmp_path / "rotated.jpg", width=320, height=240, seed=5, orientation=6)
    with Image.open(rotated) as img:
        assert img.size == (240, 320)  # stored sideways
    result = _hash(rotated)
    assert (result.width, result.height) == (320, 240)
    assert result.perceptual_hash is not None
    assert hamming(result.perceptual_hash, _phash(plain)) <= 4


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_out_of_range_orientation_means_as_stored(tmp_path: Path, orientation: int) -> None:
    scene = photo_like(320, 240, seed=4)
    plain = save(scene, tmp_path / "plain.png")
    odd = save(scene, tmp_path / "odd.png", exif=make_exif(orientation=orientation))
    result = _hash(odd)
    assert (result.width, result.height) == (320, 240)
    assert result.perceptual_hash == _phash(plain)


@pytest.mark.parametrize(
    ("exif", "expected"),
    [
        (make_exif(date_taken="2019:05:06 07:08:09"), "2019-05-06 07:08:09"),
        (make_exif(date_time="2020:01:02 03:04:05"), "2020-01-02 03:04:05"),
        (
            make_exif(date_taken="2019:05:06 07:08:09", date_time="2020:01:02 03:04:05"),
            "2019-05-06 07:08:09",  # DateTimeOriginal wins over DateTime (last edit)
        ),
        (make_exif(date_taken="0000:00:00 00:00:00"), None),
        (make_exif(date_taken="    :  :     :  :  "), None),
        (make_exif(orientation=1), None),
        (None, None),
    ],
)
def test_date_taken(tmp_path: Path, exif: Image.Exif | None, expected: str | None) -> None:
    path = save(photo_like(64, 48), tmp_path / "a.jpg", exif=exif)
    assert _hash(path).date_taken == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021:06:01 12:00:00", "2021-06-01 12:00:00"),
        ("2021-06-01 12:00:00", "2021-06-01 12:00:00"),
        ("2021:06:01 12:00:00\x00", "2021-06-01 12:00:00"),
        ("2021:06:01T12:00:00+02:00", "2021-06-01 12:00:00"),
        (b"2021:06:01 12:00:00", "2021-06-01 12:00:00"),
        ("2021:02:30 12:00:00", None),
        ("2021:06:01 25:00:00", None),
        ("yesterday", None),
        ("", None),
        (20210601, None),
        (None, None),
    ],
)
def test_normalise_exif_date(raw: object, expected: str | None) -> None:
    assert normalise_exif_date(raw) == expected


# --- facts and known contents --------------------------------------------------------------------


def test_result_facts(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "a.jpg", width=300, height=200, date_taken="2020:01:02 03:04:05")
    result = _hash(path)
    assert result.content_hash == digest.content_hash(path.read_bytes())
    assert (result.width, result.height, result.format) == (300, 200, "JPEG")
    assert result.date_taken == "2020-01-02 03:04:05"
    task = HashTask(_info(path), PHASH)
    assert pickle.loads(pickle.dumps(task)) == task  # both cross the process boundary
    assert pickle.loads(pickle.dumps(result)) == result


@pytest.mark.parametrize(("suffix", "fmt"), [(".png", "PNG"), (".webp", "WEBP"), (".tif", "TIFF")])
def test_other_formats_report_their_format(tmp_path: Path, suffix: str, fmt: str) -> None:
    path = save(photo_like(120, 80), tmp_path / f"a{suffix}")
    result = _hash(path)
    assert (result.width, result.height, result.format) == (120, 80, fmt)


def test_animated_gif_hashes_its_first_frame(tmp_path: Path) -> None:
    path = animated_gif(tmp_path / "anim.gif", frames=3, seed=6)
    first = save(photo_like(128, 96, seed=6), tmp_path / "first.png")
    result = _hash(path)
    assert (result.width, result.height, result.format) == (128, 96, "GIF")
    assert result.perceptual_hash is not None
    assert hamming(result.perceptual_hash, _phash(first)) <= 8


def test_transparency_is_hashed_over_white(tmp_path: Path) -> None:
    scene = photo_like(128, 96, seed=7).convert("RGBA")
    pixels = np.asarray(scene).copy()
    pixels[:, :64, 3] = 0  # left half transparent...
    pixels[:, :64, :3] = 0  # ...with black hidden under it
    transparent = save(Image.fromarray(pixels, "RGBA"), tmp_path / "t.png")
    pixels[:, :64, :3] = 255
    pixels[:, :, 3] = 255
    on_white = save(Image.fromarray(pixels, "RGBA").convert("RGB"), tmp_path / "w.png")
    assert _phash(transparent) == _phash(on_white)


def test_sixteen_bit_greyscale_hashes_like_eight_bit(tmp_path: Path) -> None:
    grey = np.asarray(photo_like(128, 96, seed=8).convert("L"), dtype=np.uint16)
    eight = save(Image.fromarray(grey.astype(np.uint8)), tmp_path / "8.png")
    sixteen = save(Image.fromarray(grey * 257), tmp_path / "16.png")
    with Image.open(sixteen) as img:
        assert img.mode.startswith("I")
    assert hamming(_phash(sixteen), _phash(eight)) <= 2


def test_known_content_skips_decoding(tmp_path: Path) -> None:
    # Not an image at all: decoding it would raise, so no error proves it was not decoded.
    path = write_text(tmp_path / "known.jpg")
    content = digest.content_hash(path.read_bytes())
    init_worker(frozenset({content}))

    assert _hash(path) == HashResult(content, None, None, None, None, None)
    init_worker(frozenset())
    assert _failure(path).kind == ProblemKind.NOT_AN_IMAGE


# --- bad inputs ----------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    failure = _failure(tmp_path / "empty.jpg")
    assert (failure.kind, failure.detail) == (ProblemKind.EMPTY, "empty file (0 bytes)")


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = write_truncated(write_photo(tmp_path / "a.jpg"), tmp_path / "cut.jpg", keep=0.5)
    assert _failure(path).kind == ProblemKind.CORRUPT


def test_truncated_png(tmp_path: Path) -> None:
    png = save(photo_like(), tmp_path / "a.png")
    assert (
        _failure(write_truncated(png, tmp_path / "cut.png", keep=0.6)).kind == ProblemKind.CORRUPT
    )


def test_png_with_bad_crc(tmp_path: Path) -> None:
    failure = _failure(write_png_bad_crc(tmp_path / "crc.png"))
    assert failure.kind == ProblemKind.CORRUPT
    assert "PNG" in failure.detail


@pytest.mark.parametrize(
    "write",
    [
        lambda p: write_random_bytes(p / "random.jpg"),
        lambda p: write_text(p / "text.jpg"),
        lambda p: write_text(p / "no_extension"),
    ],
)
def test_not_an_image(tmp_path: Path, write: Writer) -> None:
    failure = _failure(write(tmp_path))
    assert failure.kind == ProblemKind.NOT_AN_IMAGE
    assert failure.detail == "not an image (content is not a known image format)"


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("a.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "HEIC"),
        ("a.jpg", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "HEIC"),
        ("a.nef", bytes(64), "RAW"),
    ],
)
def test_unsupported_formats(tmp_path: Path, name: str, content: bytes, words: str) -> None:
    if words == "HEIC" and "HEIF" in Image.OPEN:
        pytest.skip("pillow-heif is installed here")
    (tmp_path / name).write_bytes(content)
    failure = _failure(tmp_path / name)
    assert failure.kind == ProblemKind.UNSUPPORTED
    assert words in failure.detail


@pytest.mark.parametrize("write", [write_huge_header_png, write_huge_header_jpeg])
def test_huge_header_is_refused(tmp_path: Path, write: Writer) -> None:
    failure = _failure(write(tmp_path / "bomb"))
    assert failure.kind == ProblemKind.TOO_LARGE
    assert failure.detail == "image is too large (50000 x 50000 pixels)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")
def test_huge_headers_are_refused_without_allocating(tmp_path: Path) -> None:
    # Pillow's own check (above ~179 MP) and ours (the same limit, still there if Pillow's is
    # switched off), in a real process whose address space cannot grow by even 1 GB.
    bombs = [
        write_huge_header_png(tmp_path / "bomb.png"),
        write_huge_header_jpeg(tmp_path / "bomb.jpg"),
        write_huge_header_png(tmp_path / "just_over.png", width=15_000, height=12_000),
    ]
    script = textwrap.dedent(
        """
        import os, resource, sys
        from pathlib import Path
        from dedup_gui.core.errors import UnreadableImage
        from dedup_gui.core.hashing import HashTask, hash_file, init_worker, pixel_digest
        from dedup_gui.core.model import FileInfo, HashSettings
        from PIL import Image

        init_worker(frozenset())
        with open("/proc/self/status") as f:
            vm_kb = next(int(l.split()[1]) for l in f if l.startswith("VmSize:"))
        limit = (vm_kb << 10) + (1 << 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for pillow_limit in (Image.MAX_IMAGE_PIXELS, None):  # None: only our own check
            Image.MAX_IMAGE_PIXELS = pillow_limit
            for name in sys.argv[1:]:
                st = os.stat(name)
                info = FileInfo(Path(name), st.st_size, st.st_mtime_ns)
                for call in (lambda: hash_file(HashTask(info, HashSettings())),
                             lambda: pixel_digest(Path(name))):
                    try:
                        call()
                        print("decoded")
                    except UnreadableImage as exc:
                        print(exc.kind)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, bombs)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["too_large"] * 12


def test_own_pixel_limit_holds_when_pillows_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # as some other library might do
    failure = _failure(write_huge_header_png(tmp_path / "b.png", width=15_000, height=12_000))
    assert failure.kind == ProblemKind.TOO_LARGE
    assert failure.detail == "image is too large (15000 x 12000 pixels)"


def test_file_changed_between_listing_and_hashing(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "a.jpg")
    listed = _info(path)
    with open(path, "ab") as f:
        f.write(b"more")
    with pytest.raises(UnreadableImage) as caught:
        hash_file(HashTask(listed, PHASH))
    assert (caught.value.kind, caught.value.detail) == (
        ProblemKind.VANISHED,
        "changed while scanning",
    )


def test_file_touched_between_listing_and_hashing(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "a.jpg")
    listed = _info(path)
    os.utime(path, ns=(listed.mtime_ns, listed.mtime_ns + 1_000_000_000))
    with pytest.raises(UnreadableImage) as caught:
        hash_file(HashTask(listed, PHASH))
    assert caught.value.kind == ProblemKind.VANISHED


def test_file_deleted_between_listing_and_hashing(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "a.jpg")
    listed = _info(path)
    path.unlink()
    with pytest.raises(UnreadableImage) as caught:
        hash_file(HashTask(listed, PHASH))
    assert (caught.value.kind, caught.value.detail) == (
        ProblemKind.VANISHED,
        "deleted while scanning",
    )


def test_unreadable_image_survives_pickling(tmp_path: Path) -> None:
    failure = _failure(write_text(tmp_path / "t.jpg"))
    copy = pickle.loads(pickle.dumps(failure))
    assert (copy.kind, copy.detail) == (failure.kind, failure.detail)


# --- same pixels ---------------------------------------------------------------------------------


def test_pixel_digest_sees_through_containers_and_metadata(tmp_path: Path) -> None:
    jpeg = write_photo(tmp_path / "a.jpg", seed=9, date_taken="2020:01:02 03:04:05")
    edited = replace_jpeg_exif(jpeg, tmp_path / "edited.jpg", make_exif(artist="someone"))
    png = convert(jpeg, tmp_path / "a.png")
    assert pixel_digest(jpeg) == pixel_digest(edited) == pixel_digest(png)
    assert len(pixel_digest(jpeg)) == digest.DIGEST_BYTES


def test_pixel_digest_tells_near_copies_apart(tmp_path: Path) -> None:
    jpeg = write_photo(tmp_path / "a.jpg", seed=9)
    assert pixel_digest(reencode(jpeg, tmp_path / "q70.jpg", quality=70)) != pixel_digest(jpeg)
    assert pixel_digest(write_photo(tmp_path / "b.jpg", seed=10)) != pixel_digest(jpeg)


def test_pixel_digest_applies_orientation(tmp_path: Path) -> None:
    scene = photo_like(96, 64, seed=11)
    plain = save(scene, tmp_path / "plain.png")
    rotated = write_oriented(tmp_path / "rotated.png", scene, orientation=8)
    sideways = save(orient_for_storage(scene, 8), tmp_path / "sideways.png")
    assert pixel_digest(rotated) == pixel_digest(plain)
    assert pixel_digest(sideways) != pixel_digest(plain)


def test_pixel_digest_keeps_alpha(tmp_path: Path) -> None:
    scene = photo_like(64, 48, seed=12)
    rgba = scene.convert("RGBA")
    rgba.putpixel((0, 0), (1, 2, 3, 0))
    opaque = save(scene, tmp_path / "opaque.png")
    assert pixel_digest(save(rgba, tmp_path / "alpha.png")) != pixel_digest(opaque)


def test_pixel_digest_errors_are_unreadable_image(tmp_path: Path) -> None:
    with pytest.raises(UnreadableImage) as caught:
        pixel_digest(write_text(tmp_path / "t.png"))
    assert caught.value.kind == ProblemKind.NOT_AN_IMAGE
    with pytest.raises(UnreadableImage) as caught:
        pixel_digest(tmp_path / "missing.png")
    assert caught.value.kind == ProblemKind.VANISHED
