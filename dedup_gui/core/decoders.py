"""Open an image file's bytes in any supported format: Pillow, HEIF/JPEG XL plugins, camera RAW.

The one place that turns bytes into pixels for hashing, thumbnails and the same-pixel digest.
Optional packages (pillow-heif, pillow-jxl-plugin, rawpy) are imported on first use; without
them their formats are plain UNSUPPORTED problems. No Qt.
"""

from __future__ import annotations

import importlib
import io
import logging
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.model import ProblemKind
from dedup_gui.core.orientation import ORIENTATION_TAG, upright, valid_orientation
from dedup_gui.core.scanning import RAW_EXTENSIONS, sniff_image_type

if TYPE_CHECKING:
    import rawpy

log = logging.getLogger(__name__)

# Pillow's own hard limit (2 x its default MAX_IMAGE_PIXELS): ~179 MP, above any camera sensor
# (150 MP medium format) yet far below what would exhaust memory in a worker (~540 MB as RGB).
MAX_PIXELS = 2 * 89_478_485

# Pillow raises all of these on damaged data, depending on the format plugin.
DECODE_ERRORS: tuple[type[Exception], ...] = (
    *(Image.DecompressionBombError, MemoryError, OSError, SyntaxError, ValueError, EOFError),
    *(struct.error, IndexError, KeyError, TypeError, ZeroDivisionError),
)

# Optional Pillow plugins, by the module that registers them: HEIF from pillow-heif or from
# pi-heif (its decode-only build, without the GPL x265 encoder: same API), JPEG XL on import.
_HEIF_MODULES = ("pillow_heif", "pi_heif")
_JXL_MODULE = "pillow_jxl"

_MISSING_PLUGIN = {
    "HEIC": "HEIC support not installed (it needs the pi-heif or pillow-heif package)",
    "AVIF": "AVIF support not installed (it needs Pillow built with libavif)",
    "JXL": "JPEG XL support not installed (it needs the pillow-jxl-plugin package)",
}
_PLUGIN_ID = {"HEIC": "HEIF"}  # our sniffed name -> Pillow's registry name, where they differ
_SUFFIX_FORMAT = {".heic": "HEIC", ".heif": "HEIC", ".avif": "AVIF", ".jxl": "JXL"}

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL_TAG = 36867
_DATETIME_TAG = 306
_EXIF_DATE = re.compile(r"\s*(\d{4})[:\-/.](\d{2})[:\-/.](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")

_registered = False


def register_optional_formats() -> None:
    """Register HEIF (pillow-heif) and JPEG XL (pillow-jxl-plugin) with Pillow where installed.

    Idempotent and cheap after the first call; called by worker initialisers and on the first
    ``open_image`` of any process (the GUI's thumbnail threads too). AVIF is Pillow's own:
    pillow-heif 1.x no longer registers it, so nothing here can replace Pillow's decoder.
    """
    global _registered
    if _registered:
        return
    _registered = True
    heif = next(filter(None, map(_import_plugin, _HEIF_MODULES)), None)
    if heif is not None:
        heif.register_heif_opener()
    _import_plugin(_JXL_MODULE)  # registers JPEG XL as it is imported


def _import_plugin(name: str) -> Any:
    """The module, or None when it is not installed or fails to load (its formats are lost)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        log.info("%s is not installed; its formats are reported as unsupported", name)
    except Exception:  # a broken install costs its formats, not the scan
        log.warning("cannot load the optional Pillow plugin %r", name, exc_info=True)
    return None


@dataclass(slots=True)
class Opened:
    """An image opened from bytes, ready to decode.

    ``image`` holds the pixels as stored (JPEGs not yet decoded, so ``draft`` still works);
    ``upright(image, orientation)`` shows them as displayed. ``metadata`` is the image whose
    ``getexif()`` and ``info`` describe the file: ``image`` itself, or for a camera RAW an
    image carrying the RAW's own EXIF (else its preview's).
    """

    image: Image.Image
    format: str  # Pillow's name ("JPEG", "HEIF") or the RAW's suffix ("DNG", "CR2")
    width: int  # as displayed, after orientation; a RAW's full size, not its preview's
    height: int
    orientation: int  # EXIF orientation 1-8 that turns ``image`` upright
    date_taken: str | None
    metadata: Image.Image
    is_raw: bool = False


@contextmanager
def open_image(data: bytes, path: Path, *, min_px: int) -> Iterator[Opened]:
    """Open ``data`` (the content of ``path``; its suffix picks camera RAW decoding).

    Args:
        data: the whole file.
        path: where it came from: its suffix and messages only, it is not read again.
        min_px: the smallest side the caller needs; a RAW's embedded preview is used when it
            is at least this big, else the RAW is demosaiced (at half size when that suffices).

    Raises:
        UnreadableImage: too large, or a RAW that cannot be read (see ``as_unreadable`` for
            Pillow's errors, which callers map themselves: they also decode later).
        Pillow's errors (``DECODE_ERRORS``, ``UnidentifiedImageError``).
    """
    register_optional_formats()
    fmt = raw_format(data, path.suffix)
    if fmt is not None:
        with _libraw(data, fmt) as raw:
            if raw is not None:  # else LibRaw did not know it: maybe Pillow does
                yield _from_raw(raw, data, fmt, min_px)
                return
    with Image.open(io.BytesIO(data)) as img:
        check_pixels(*img.size)
        orientation, date_taken = read_exif(img)
        width, height = img.size
        if orientation >= 5:
            width, height = height, width
        yield Opened(img, str(img.format), width, height, orientation, date_taken, img)


def check_pixels(width: int, height: int) -> None:
    """Refuse from the header alone what would not fit a worker's memory."""
    if width * height > MAX_PIXELS:
        raise _fail(ProblemKind.TOO_LARGE, f"image is too large ({width} x {height} pixels)")


def full_pixels(data: bytes, path: Path) -> tuple[str, bytes]:
    """What makes two files "the same pixels": a description and the pixel bytes.

    Decodes in full and upright: use it only on few files. A camera RAW gives its sensor data
    (undemosaiced, with its orientation), so two RAWs match when only their metadata differs.
    """
    fmt = raw_format(data, path.suffix)
    if fmt is not None:
        with _libraw(data, fmt) as raw:
            if raw is not None:
                return _sensor_data(raw)
    register_optional_formats()
    with Image.open(io.BytesIO(data)) as img:
        check_pixels(*img.size)
        orientation, _ = read_exif(img)
        img.load()
        pixels = upright(img, orientation)
        mode = _digest_mode(pixels)
        if pixels.mode != mode:
            pixels = pixels.convert(mode)
        return f"{pixels.width}x{pixels.height} {mode}", pixels.tobytes()


def is_wide_grey(img: Image.Image) -> bool:
    """16-bit, 32-bit or float greyscale, which Pillow's resizing and 8-bit converts mishandle."""
    return img.mode in ("I", "F") or img.mode.startswith("I;16")


def wide_grey_to_l(img: Image.Image) -> Image.Image:
    """A wide greyscale image as 8-bit "L", its range scaled (Pillow's convert would clip)."""
    values = np.asarray(img, dtype=np.float32)
    top = float(values.max()) if values.size else 0.0
    if img.mode.startswith("I;16") or top > 255.0:
        values = values / 257.0  # the 16-bit range
    elif img.mode == "F" and top <= 1.0:
        values = values * 255.0
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")


def _digest_mode(img: Image.Image) -> str:
    if img.has_transparency_data:
        return "RGBA"
    if is_wide_grey(img):
        return img.mode  # converting to RGB would clip: different pictures could look equal
    return "RGB"


# --- camera RAW ----------------------------------------------------------------------------------

# LibRaw's sizes.flip -> the EXIF orientation of the same turn (LibRaw reads the orientation
# tag through the table "50132467"; this is its inverse): 3 = 180, 5 = 90 CCW, 6 = 90 CW.
_FLIP_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
# TIFF variants whose first bytes name the camera format; Pillow's EXIF reader wants "II*\0".
_TIFF_LIKE_RAW = {b"IIRO": "ORF", b"IIRS": "ORF", b"MMOR": "ORF", b"IIU\x00": "RW2"}
_DNG_VERSION_TAG = 50706


def raw_format(data: bytes, suffix: str) -> str | None:
    """The camera RAW format of ``data`` ("DNG", "CR2", ...), or None for any other image.

    By content where the format announces itself (CR2, CR3, ORF, RW2, RAF, and any TIFF with
    a DNGVersion tag, whatever its name), else by a RAW ``suffix`` on TIFF-based or unknown
    content (NEF, ARW, PEF, ...): a JPEG named .nef is still a JPEG.
    """
    head = data[:32]
    if head[:4] in _TIFF_LIKE_RAW:
        return _TIFF_LIKE_RAW[head[:4]]
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head[4:12] == b"ftypcrx ":
        return "CR3"
    sniffed = sniff_image_type(head)
    if sniffed == "TIFF":
        if head[8:11] == b"CR\x02":
            return "CR2"
        if _has_dng_version(data):
            return "DNG"
    suffix = suffix.lower()
    if suffix in RAW_EXTENSIONS and sniffed in (None, "TIFF"):
        return suffix[1:].upper()
    return None


def _has_dng_version(data: bytes) -> bool:
    """True if IFD0 of this (classic) TIFF has the DNGVersion tag."""
    endian = "<" if data[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack_from(endian + "I", data, 4)
        (count,) = struct.unpack_from(endian + "H", data, offset)
        for i in range(min(count, 1000)):
            (tag,) = struct.unpack_from(endian + "H", data, offset + 2 + 12 * i)
            if tag == _DNG_VERSION_TAG:
                return True
    except struct.error:  # offsets past the end: not a TIFF we can read, let Pillow say so
        return False
    return False


@contextmanager
def _libraw(data: bytes, fmt: str) -> Iterator[rawpy.RawPy | None]:
    """``data`` opened by LibRaw (nothing decoded yet); None if LibRaw does not know it."""
    try:
        import rawpy  # optional, and a 13 MB import: only once a RAW turns up
    except ImportError:
        raise _fail(
            ProblemKind.UNSUPPORTED,
            f"camera RAW support not installed (it needs the rawpy package to read {fmt} files)",
        ) from None
    try:
        # A BytesIO read whole returns ``data`` itself: rawpy keeps it, no copy.
        raw = rawpy.imread(io.BytesIO(data))
    except rawpy.LibRawFileUnsupportedError:
        yield None
        return
    except rawpy.LibRawError as exc:
        raise _libraw_problem(exc, fmt) from exc
    with raw:
        try:
            check_pixels(raw.sizes.width, raw.sizes.height)
            yield raw
        except rawpy.LibRawError as exc:
            raise _libraw_problem(exc, fmt) from exc


def _from_raw(raw: rawpy.RawPy, data: bytes, fmt: str, min_px: int) -> Opened:
    """A RAW's preview when big enough, else its demosaiced image, with the RAW's facts."""
    sizes = raw.sizes
    flip = _FLIP_ORIENTATION.get(sizes.flip, 1)
    width, height = (sizes.height, sizes.width) if flip >= 5 else (sizes.width, sizes.height)
    preview = _preview(raw, min_px)
    if preview is not None:
        image, orientation = preview, flip
        if flip >= 5 and (image.width > image.height) != (sizes.width > sizes.height):
            orientation = 1  # a preview the camera already turned upright
    else:
        half = min(sizes.width, sizes.height) // 2 >= min_px
        # user_flip=0: turned by the caller after it has shrunk the image, as for JPEGs.
        rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8, user_flip=0)
        image, orientation = Image.fromarray(rgb), flip
    metadata = _raw_metadata(data, preview)
    exif = _exif_of(metadata)
    date_taken = _exif_date(exif) if exif is not None else None
    return Opened(image, fmt, width, height, orientation, date_taken, metadata, is_raw=True)


def _preview(raw: rawpy.RawPy, min_px: int) -> Image.Image | None:
    """The embedded preview, decoded (JPEGs scaled by libjpeg), if it has ``min_px`` a side."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except rawpy.LibRawError as exc:  # none, or of a kind LibRaw cannot extract
        log.debug("no RAW preview: %r", exc)
        return None
    img: Image.Image
    try:
        if isinstance(thumb.data, bytes):  # ThumbFormat.JPEG
            img = Image.open(io.BytesIO(thumb.data))
        else:  # ThumbFormat.BITMAP: RGB, (height, width, 3)
            img = Image.fromarray(np.ascontiguousarray(thumb.data, dtype=np.uint8))
        if min(img.size) < min_px:
            return None
        img.draft("RGB", (min_px, min_px))
        img.load()
    except DECODE_ERRORS as exc:  # a damaged preview: the sensor data may still decode
        log.debug("unusable RAW preview: %r", exc)
        return None
    return img


def _raw_metadata(data: bytes, preview: Image.Image | None) -> Image.Image:
    """An image whose EXIF is the RAW's own (TIFF-based RAWs), else its preview's."""
    head = data[:4]
    if head in _TIFF_LIKE_RAW:
        data = (b"II*\x00" if head[:2] == b"II" else b"MM\x00*") + data[4:]
    if sniff_image_type(data[:32]) == "TIFF":
        holder = Image.new("L", (1, 1))
        holder.info["exif"] = data  # Pillow reads IFD0 and the Exif IFD from the whole file
        exif = _exif_of(holder)
        if exif:
            return holder
    return preview if preview is not None else Image.new("L", (1, 1))


def _sensor_data(raw: rawpy.RawPy) -> tuple[str, bytes]:
    """The undemosaiced sensor values and how they are turned: equal means the same shot."""
    sizes = raw.sizes
    visible = raw.raw_image_visible
    return f"{sizes.width}x{sizes.height} RAW flip {sizes.flip}", visible.tobytes()


def _raw_unsupported(fmt: str) -> UnreadableImage:
    return _fail(
        ProblemKind.UNSUPPORTED,
        f"cannot read this {fmt} camera RAW file (damaged, or of a kind LibRaw does not know)",
    )


def _libraw_problem(exc: Exception, fmt: str) -> UnreadableImage:
    import rawpy

    if isinstance(exc, (rawpy.LibRawFileUnsupportedError, rawpy.LibRawNotImplementedError)):
        return _raw_unsupported(fmt)
    too_big = (rawpy.LibRawTooBigError, rawpy.LibRawUnsufficientMemoryError)
    if isinstance(exc, (*too_big, rawpy.LibRawMemPoolOverflowError)):
        return _fail(ProblemKind.TOO_LARGE, f"camera RAW image ({fmt}) is too large to decode")
    reason = exc.args[0] if exc.args else type(exc).__name__
    if isinstance(reason, bytes):
        reason = reason.decode("ascii", "replace")
    if isinstance(exc, rawpy.LibRawIOError):
        return _fail(ProblemKind.CORRUPT, f"the {fmt} file is truncated or damaged ({reason})")
    return _fail(ProblemKind.CORRUPT, f"damaged camera RAW data in this {fmt} file ({reason})")


# --- EXIF ----------------------------------------------------------------------------------------


def read_exif(img: Image.Image) -> tuple[int, str | None]:
    """(orientation 1-8, date taken) from EXIF; damaged EXIF counts as none, never as an error."""
    exif = _exif_of(img)
    if exif is None:
        return 1, None
    try:
        orientation = exif.get(ORIENTATION_TAG, 1)
    except DECODE_ERRORS:
        orientation = 1
    return valid_orientation(orientation), _exif_date(exif)


def _exif_of(img: Image.Image) -> Image.Exif | None:
    try:
        return img.getexif()
    except DECODE_ERRORS as exc:
        log.debug("ignoring unreadable EXIF: %r", exc)
        return None


def _exif_date(exif: Image.Exif) -> str | None:
    try:
        taken = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL_TAG) or exif.get(_DATETIME_TAG)
    except DECODE_ERRORS as exc:
        log.debug("ignoring unreadable EXIF date: %r", exc)
        return None
    return normalise_exif_date(taken)


def normalise_exif_date(value: object) -> str | None:
    """EXIF date ("2021:06:01 12:00:00", or with - / . separators) as "2021-06-01 12:00:00".

    Returns None for missing, blank ("    :  :  "), zero or otherwise impossible dates.
    """
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    match = _EXIF_DATE.match(value.replace("\x00", ""))
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        parsed = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


# --- errors --------------------------------------------------------------------------------------


def _fail(kind: ProblemKind, detail: str) -> UnreadableImage:
    return UnreadableImage(kind.value, detail)  # a plain str: it is pickled and stored


def as_unreadable(exc: BaseException, data: bytes, path: Path) -> UnreadableImage:
    """The user-facing reason for a decoding failure of ``data`` (the content of ``path``)."""
    if isinstance(exc, UnreadableImage):
        return exc
    if isinstance(exc, Image.DecompressionBombError):
        size = _header_size(data)
        if size is None:
            return _fail(ProblemKind.TOO_LARGE, "image is too large")
        return _fail(ProblemKind.TOO_LARGE, f"image is too large ({size[0]} x {size[1]} pixels)")
    if isinstance(exc, MemoryError):
        return _fail(ProblemKind.TOO_LARGE, "not enough memory to decode")
    if isinstance(exc, UnidentifiedImageError):
        return _unidentified(data, path)
    log.debug("decoding %r failed", path, exc_info=exc)
    if "truncated" in str(exc):
        return _fail(ProblemKind.CORRUPT, "the file is truncated (an incomplete copy?)")
    return _fail(ProblemKind.CORRUPT, f"damaged image data ({str(exc)[:80] or type(exc).__name__})")


def _unidentified(data: bytes, path: Path) -> UnreadableImage:
    """Why Pillow did not recognise the content: damaged, unsupported here, or no image at all."""
    raw = raw_format(data, path.suffix)
    if raw is not None:  # LibRaw did not know it either
        return _raw_unsupported(raw)
    sniffed = sniff_image_type(data[:32])
    if sniffed is not None and _PLUGIN_ID.get(sniffed, sniffed) in Image.OPEN:
        # Pillow turns a damaged header (e.g. a PNG chunk's bad CRC) into "cannot identify".
        return _fail(ProblemKind.CORRUPT, f"damaged {sniffed} file (its header cannot be read)")
    fmt = sniffed or _SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt in _MISSING_PLUGIN:
        return _fail(ProblemKind.UNSUPPORTED, _MISSING_PLUGIN[fmt])
    return _fail(ProblemKind.NOT_AN_IMAGE, "not an image (content is not a known image format)")


def _header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, for messages only."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    pos = 2 if data.startswith(b"\xff\xd8") else len(data)
    while pos + 9 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return None
