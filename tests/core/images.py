"""Test helpers that make real image files with Pillow: photo-like scenes, copies and bad inputs.

Import from any test as ``from tests.core.images import photo_like, write_photo, ...`` (run pytest
from the repository root, ``python -m pytest``, so the root is on ``sys.path``).

Why not flat colours: a perceptual hash of a flat or two-colour image is nearly all zeros, so any
two such images "match". ``photo_like`` draws smooth gradients, soft shapes and seeded noise, so
pHash behaves as on real photos: re-encodes and resizes stay close, different seeds are far apart.

Everything is deterministic for a given ``seed``; the scene is drawn in relative coordinates, so
``photo_like(1024, 768, seed=3)`` is the same picture as ``photo_like(512, 384, seed=3)``, only
bigger (the noise differs, as in two exposures).

Typical use::

    original = write_photo(tmp_path / "a.jpg", seed=1, date_taken="2021:06:01 12:00:00")
    reencode(original, tmp_path / "a_q70.jpg", quality=70)   # pHash distance usually 0
    brighten(original, tmp_path / "a_bright.jpg")           # near, but 2-4 bits away
    resize(original, tmp_path / "a_half.jpg", scale=0.5)
    convert(original, tmp_path / "a.png")                 # format from the suffix
    write_oriented(tmp_path / "rot.jpg", photo_like(seed=1), orientation=6)
    replace_jpeg_exif(original, tmp_path / "a_meta.jpg", make_exif(date_taken=None, artist="x"))
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from dedup_gui.core.digest import file_content_hash
from dedup_gui.core.model import ImageRecord

__all__ = [
    "ORIENTATION_TAG",
    "SAVE_FORMATS",
    "animated_gif",
    "brighten",
    "convert",
    "crop",
    "hamming",
    "make_exif",
    "odd_names",
    "orient_for_storage",
    "photo_like",
    "reencode",
    "replace_jpeg_exif",
    "resize",
    "save",
    "write_huge_header_jpeg",
    "write_huge_header_png",
    "write_oriented",
    "write_photo",
    "write_png_bad_crc",
    "write_random_bytes",
    "write_record_image",
    "write_text",
    "write_truncated",
]

ORIENTATION_TAG = 0x0112
_DATETIME_TAG = 306
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL_TAG = 36867
_ARTIST_TAG = 315

# Pillow format names by file suffix (lower case, with the dot).
SAVE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".gif": "GIF",
}

# Transpose that turns the DISPLAYED picture into the STORED pixels for an EXIF orientation,
# i.e. the inverse of what ImageOps.exif_transpose applies when reading.
_STORE_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # exif_transpose applies ROTATE_270 for 6
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,  # exif_transpose applies ROTATE_90 for 8
}


# --- photo-like pixels ---------------------------------------------------------------------------


def photo_like(
    width: int = 256, height: int = 192, seed: int = 0, *, noise: float = 4.0
) -> Image.Image:
    """An RGB image that looks (to a perceptual hash) like a photo.

    Args:
        width, height: size in pixels.
        seed: picks the scene. Seeds 0-9 are pairwise at least 22 of 64 pHash bits apart
            (typically ~32); other seeds are random scenes too, but unchecked.
        noise: standard deviation of the per-pixel Gaussian noise, in 0-255 levels.
    """
    rng = random.Random(seed)
    img = _gradient_background(width, height, rng)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(6, 10)):
        _draw_shape(draw, width, height, rng)
    # Soft edges, as a lens gives; the radius scales so resized copies stay alike.
    img = img.filter(ImageFilter.GaussianBlur(radius=max(width, height) / 300))
    if noise > 0:
        img = add_grain(img, noise, seed)
    return img


def add_grain(img: Image.Image, sigma: float, seed: int) -> Image.Image:
    """Seeded Gaussian grain; a 251x241 tile repeated, so a 6 MP image costs milliseconds."""
    rng = np.random.default_rng(seed)
    tile = np.rint(rng.standard_normal((241, 251, 3), dtype=np.float32) * sigma).astype(np.int16)
    reps = (-(-img.height // 241), -(-img.width // 251), 1)
    grain = np.tile(tile, reps)[: img.height, : img.width]
    pixels = np.asarray(img, dtype=np.int16) + grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _gradient_background(width: int, height: int, rng: random.Random) -> Image.Image:
    """Low-frequency colour field: a 4x3 grid of random colours, upscaled smoothly."""
    grid = np.array(
        [[[rng.randint(0, 255) for _ in range(3)] for _ in range(4)] for _ in range(3)], np.uint8
    )
    return Image.fromarray(grid, "RGB").resize((width, height), Image.Resampling.BICUBIC)


def _draw_shape(draw: ImageDraw.ImageDraw, width: int, height: int, rng: random.Random) -> None:
    colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
    x0, y0 = rng.uniform(-0.1, 0.9) * width, rng.uniform(-0.1, 0.9) * height
    x1, y1 = x0 + rng.uniform(0.1, 0.5) * width, y0 + rng.uniform(0.1, 0.5) * height
    kind = rng.choice(("ellipse", "rectangle", "polygon"))
    if kind == "ellipse":
        draw.ellipse((x0, y0, x1, y1), fill=colour)
    elif kind == "rectangle":
        draw.rectangle((x0, y0, x1, y1), fill=colour)
    else:
        points = [(rng.uniform(x0, x1), rng.uniform(y0, y1)) for _ in range(rng.randint(3, 6))]
        draw.polygon(points, fill=colour)


# --- EXIF ----------------------------------------------------------------------------------------


def make_exif(
    *,
    orientation: int | None = None,
    date_taken: str | datetime | None = None,
    date_time: str | datetime | None = None,
    artist: str | None = None,
) -> Image.Exif:
    """EXIF block for ``save(..., exif=...)``.

    Args:
        orientation: tag 0x0112 (1-8; any int is written, to test out-of-range values).
        date_taken: DateTimeOriginal (36867, in the Exif IFD). A ``datetime`` is formatted the
            EXIF way ("YYYY:MM:DD HH:MM:SS"); a string is written as given (to test garbage).
        date_time: DateTime (306, in IFD0), the fallback date.
        artist: tag 315; handy to change metadata without changing pixels.
    """
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION_TAG] = orientation
    if date_time is not None:
        exif[_DATETIME_TAG] = _exif_date(date_time)
    if artist is not None:
        exif[_ARTIST_TAG] = artist
    if date_taken is not None:
        exif.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL_TAG] = _exif_date(date_taken)
    return exif


def _exif_date(value: str | datetime) -> str:
    return value.strftime("%Y:%m:%d %H:%M:%S") if isinstance(value, datetime) else value


def orient_for_storage(displayed: Image.Image, orientation: int) -> Image.Image:
    """The stored pixels that, with EXIF ``orientation``, display as ``displayed``."""
    transpose = _STORE_TRANSPOSE.get(orientation)
    return displayed.copy() if transpose is None else displayed.transpose(transpose)


# --- writing files -------------------------------------------------------------------------------


def save(
    img: Image.Image,
    path: Path,
    *,
    quality: int = 90,
    exif: Image.Exif | None = None,
    fmt: str | None = None,
) -> Path:
    """Save ``img`` in the format its suffix names (or ``fmt``), creating parent folders.

    JPEG and WebP use ``quality``; ``exif`` is written where the format supports it
    (JPEG, PNG, WebP, TIFF). GIF is palette-quantised by Pillow; BMP drops alpha.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = fmt or SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"no format for suffix {path.suffix!r}: pass fmt=")
    kwargs: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP"):
        kwargs["quality"] = quality
    if exif is not None and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        kwargs["exif"] = exif.tobytes()
    if fmt in ("JPEG", "BMP") and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img.save(path, fmt, **kwargs)
    return path


def write_photo(
    path: Path,
    *,
    width: int = 256,
    height: int = 192,
    seed: int = 0,
    quality: int = 90,
    orientation: int | None = None,
    date_taken: str | datetime | None = None,
) -> Path:
    """Write ``photo_like(width, height, seed)`` to ``path`` (format from the suffix).

    With ``orientation``, the stored pixels are transposed so that the file DISPLAYS as the
    plain scene (and displayed size stays ``width`` x ``height``), as cameras do.
    """
    img = photo_like(width, height, seed)
    if orientation is None and date_taken is None:
        return save(img, path, quality=quality)
    return write_oriented(
        path, img, orientation=orientation or 1, quality=quality, date_taken=date_taken
    )


def write_oriented(
    path: Path,
    displayed: Image.Image,
    *,
    orientation: int,
    quality: int = 90,
    date_taken: str | datetime | None = None,
) -> Path:
    """Write pixels transposed for ``orientation`` plus the tag that undoes it on display."""
    stored = orient_for_storage(displayed, orientation)
    return save(
        stored,
        path,
        quality=quality,
        exif=make_exif(orientation=orientation, date_taken=date_taken),
    )


def reencode(src: Path, dst: Path, *, quality: int = 70) -> Path:
    """Decode ``src`` and save it again (lossy for JPEG/WebP), keeping its EXIF."""
    with Image.open(src) as img:
        exif = img.getexif()
        return save(img.copy(), dst, quality=quality, exif=exif if len(exif) else None)


def resize(src: Path, dst: Path, *, scale: float = 0.5, quality: int = 90) -> Path:
    """Scaled copy of ``src`` (Lanczos), keeping its EXIF."""
    with Image.open(src) as img:
        exif = img.getexif()
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        small = img.resize(size, Image.Resampling.LANCZOS)
    return save(small, dst, quality=quality, exif=exif if len(exif) else None)


def crop(src: Path, dst: Path, *, fraction: float = 0.06, quality: int = 90) -> Path:
    """Copy with ``fraction`` of width and height trimmed evenly from the borders.

    Measured pHash distances (64 bits, 640x480, seeds 1-5): 3% -> 0-4, 6% -> 4-10, 10% -> 6-16.
    """
    with Image.open(src) as img:
        dx, dy = round(img.width * fraction / 2), round(img.height * fraction / 2)
        cropped = img.crop((dx, dy, img.width - dx, img.height - dy))
    return save(cropped, dst, quality=quality)


def brighten(src: Path, dst: Path, *, factor: float = 1.2, quality: int = 90) -> Path:
    """Brightness-edited copy: a near duplicate that is NOT pHash-identical.

    Re-encodes and resizes usually keep pHash distance 0 (even JPEG quality 10); factor 1.2
    measured 2-4 bits of 64 (640x480, seeds 1-5), 1.5 measured 4-10.
    """
    with Image.open(src) as img:
        edited = ImageEnhance.Brightness(img).enhance(factor)
    return save(edited, dst, quality=quality)


def convert(src: Path, dst: Path, *, quality: int = 90) -> Path:
    """Copy of ``src`` in the format named by ``dst``'s suffix (PNG/TIFF/BMP: lossless pixels)."""
    with Image.open(src) as img:
        exif = img.getexif()
        return save(img.copy(), dst, quality=quality, exif=exif if len(exif) else None)


def replace_jpeg_exif(src: Path, dst: Path, exif: Image.Exif | None) -> Path:
    """Copy a JPEG with its EXIF segment replaced (or removed), WITHOUT re-encoding.

    The compressed image data is copied byte for byte, so the decoded pixels are identical
    while the file bytes differ: the "metadata edited" copy (same pixels, other content hash).
    """
    data = src.read_bytes()
    if data[:2] != b"\xff\xd8":
        raise ValueError(f"{src} is not a JPEG")
    segments, pos = [], 2
    # Walk the marker segments before the scan data; drop APP1 "Exif" ones.
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] != 0xDA:
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        segment = data[pos : pos + 2 + length]
        if not (data[pos + 1] == 0xE1 and segment[4:10] == b"Exif\x00\x00"):
            segments.append(segment)
        pos += 2 + length
    new_app1 = b""
    if exif is not None:
        payload = exif.tobytes()  # starts with b"Exif\x00\x00"
        new_app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(b"\xff\xd8" + new_app1 + b"".join(segments) + data[pos:])
    return dst


def animated_gif(
    path: Path, *, frames: int = 3, width: int = 128, height: int = 96, seed: int = 0
) -> Path:
    """Animated GIF whose first frame is ``photo_like(width, height, seed)``."""
    images = [photo_like(width, height, seed + i * 1000) for i in range(frames)]
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


# --- bad inputs ----------------------------------------------------------------------------------


def write_truncated(src: Path, dst: Path, *, keep: float = 0.5) -> Path:
    """Copy of the first ``keep`` fraction of ``src``'s bytes (a download cut short)."""
    data = src.read_bytes()
    dst.write_bytes(data[: max(1, int(len(data) * keep))])
    return dst


def write_random_bytes(path: Path, *, size: int = 4096, seed: int = 0) -> Path:
    """Seeded random bytes (e.g. named ``.jpg``); never starts with a known image signature."""
    data = bytearray(random.Random(seed).randbytes(size))
    data[0] = 0x00  # no image format starts with NUL, so this cannot sniff as an image by chance
    path.write_bytes(bytes(data))
    return path


def write_text(path: Path, text: str = "This is not a picture.\n") -> Path:
    """A plain text file (e.g. named ``.jpg``)."""
    path.write_text(text, encoding="utf-8")
    return path


def write_png_bad_crc(
    path: Path, *, chunk: bytes = b"IHDR", width: int = 64, height: int = 48, seed: int = 0
) -> Path:
    """A PNG whose ``chunk`` has a wrong CRC.

    Pillow checks the CRC of the chunks it reads while opening (IHDR and other header chunks;
    it raises SyntaxError "broken PNG file"), but not of IDAT, whose zlib data has its own check.
    """
    save(photo_like(width, height, seed), path)
    data = bytearray(path.read_bytes())
    at = data.find(chunk)
    length = struct.unpack(">I", data[at - 4 : at])[0]
    crc_at = at + 4 + length
    data[crc_at : crc_at + 4] = bytes(b ^ 0xFF for b in data[crc_at : crc_at + 4])
    path.write_bytes(bytes(data))
    return path


def write_huge_header_png(path: Path, *, width: int = 50_000, height: int = 50_000) -> Path:
    """A tiny PNG file whose header claims ``width`` x ``height`` pixels (a decompression bomb).

    Only the header is big: decoding it for real would need gigabytes, so a decoder must refuse
    it from the header. The IDAT holds one compressed row.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    idat = zlib.compress(b"\x00" + b"\x00" * 3 * min(width, 1024))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    path.write_bytes(png)
    return path


def write_huge_header_jpeg(path: Path, *, width: int = 50_000, height: int = 50_000) -> Path:
    """A small JPEG whose SOF header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    buf = io.BytesIO()
    photo_like(64, 48, seed=0).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")  # baseline SOF0: marker, length(2), precision(1), height, width
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


# --- comparing hashes ----------------------------------------------------------------------------


def hamming(a: bytes, b: bytes) -> int:
    """Number of differing bits between two equally long byte strings."""
    if len(a) != len(b):
        raise ValueError(f"lengths differ: {len(a)} != {len(b)}")
    return int.from_bytes(bytes(x ^ y for x, y in zip(a, b, strict=True)), "big").bit_count()


def odd_names() -> list[str | bytes]:
    """File names that trip naive code: spaces, newline, emoji, and (on POSIX) non-UTF-8 bytes.

    The bytes entry is meant for ``os.path.join(os.fsencode(folder), name)`` or
    ``Path(os.fsdecode(...))`` (Python maps the bad byte to a lone surrogate).
    """
    names: list[str | bytes] = ["with space.jpg", "new\nline.jpg", "emoji 📷.jpg", "ünïcödé.png"]
    if os.name == "posix":
        names.append(b"latin1-\xe9t\xe9.jpg")
    return names


def write_record_image(path: Path, seed: int = 0, fmt: str = "PNG") -> ImageRecord:
    """A small real 64 x 64 image (any suffix: a .CR2 here is a PNG inside) and the record a
    scan would have made of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (seed * 37 % 256, 90, 200 - seed % 200)).save(path, fmt)
    st = os.lstat(path)
    digest = file_content_hash(path)
    return ImageRecord(path, st.st_size, st.st_mtime_ns, digest, bytes(8), 64, 64, fmt, None)
