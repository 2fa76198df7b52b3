"""Test helpers that write real HEIC, AVIF, JPEG XL and DNG (camera RAW) files at test time.

Each takes the picture as it should DISPLAY and stores it the way cameras do: pixels as shot
plus an orientation tag that turns them upright. Import from any test::

    from tests.core.format_files import write_dng, write_heic
    raw = write_dng(tmp_path / "IMG_1.dng", photo_like(384, 256, seed=1), orientation=6)
    jpeg = write_photo(tmp_path / "IMG_1.jpg", width=384, height=256, seed=1)  # its partner

DNGs are built by hand (a small TIFF writer below, no extra package): a 2x2 RGGB Bayer mosaic of
the picture in linear light, which LibRaw demosaics back to it, plus, with ``preview=True``, the
full-size JPEG preview that cameras embed. ``write_heic`` needs pillow-heif, ``write_jxl``
pillow-jxl-plugin (tests using it should ``pytest.importorskip("pillow_jxl")``).
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from tests.core.images import make_exif, orient_for_storage

__all__ = ["DNG_WHITE_LEVEL", "write_avif", "write_dng", "write_heic", "write_jxl", "write_tiff16"]

DNG_WHITE_LEVEL = 4095  # 12-bit sensor values, as most cameras record

# TIFF field types: (code, struct format of one value)
_SHORT, _LONG, _RATIONAL, _SRATIONAL, _ASCII, _BYTE = 3, 4, 5, 10, 2, 1
_FORMATS = {_BYTE: "B", _ASCII: "B", _SHORT: "H", _LONG: "I", _RATIONAL: "II", _SRATIONAL: "ii"}

# XYZ (D65) -> linear sRGB: with it, DNG's ColorMatrix1 says "the sensor sees sRGB primaries",
# so LibRaw's colour conversion gives back the picture's colours.
_XYZ_TO_SRGB = (
    (3.2406, -1.5372, -0.4986),
    (-0.9689, 1.8758, 0.0415),
    (0.0557, -0.2040, 1.0570),
)

Entry = tuple[int, int, list[int] | bytes]  # tag, type, values (or raw bytes for ASCII/BYTE)


def write_heic(path: Path, picture: Image.Image, *, orientation: int = 1, **exif: str) -> Path:
    """HEIC via pillow-heif; ``exif`` takes ``make_exif``'s keywords (e.g. ``date_taken``)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    return _save(path, picture, "HEIF", orientation, exif, quality=90)


def write_avif(path: Path, picture: Image.Image, *, orientation: int = 1, **exif: str) -> Path:
    """AVIF with Pillow's own encoder (Pillow 11.2+ built with libavif)."""
    return _save(path, picture, "AVIF", orientation, exif, quality=90)


def write_jxl(path: Path, picture: Image.Image, *, orientation: int = 1, **exif: str) -> Path:
    """JPEG XL via pillow-jxl-plugin."""
    import pillow_jxl  # noqa: F401 - importing registers the format

    return _save(path, picture, "JXL", orientation, exif, quality=90)


def _save(
    path: Path,
    picture: Image.Image,
    fmt: str,
    orientation: int,
    exif: dict[str, str],
    **options: object,
) -> Path:
    stored = orient_for_storage(picture.convert("RGB"), orientation)
    tags = make_exif(orientation=orientation if orientation != 1 else None, **exif)
    path.parent.mkdir(parents=True, exist_ok=True)
    stored.save(path, fmt, exif=tags.tobytes(), **options)
    return path


def write_tiff16(path: Path, picture: Image.Image) -> Path:
    """An uncompressed 16-bit-per-sample TIFF (RGB, or grey for an "L" picture), as scanners
    and raw converters write; Pillow itself cannot write 16-bit RGB."""
    values = np.asarray(picture, dtype=np.uint16) * 257  # 0-255 -> 0-65535
    samples = 1 if values.ndim == 2 else values.shape[2]
    data = values.astype("<u2").tobytes()
    height, width = values.shape[:2]
    writer = _TiffWriter()
    writer.finish(
        [
            (256, _LONG, [width]),
            (257, _LONG, [height]),
            (258, _SHORT, [16] * samples),
            (259, _SHORT, [1]),
            (262, _SHORT, [2 if samples == 3 else 1]),  # RGB or BlackIsZero
            (273, _LONG, data),
            (277, _SHORT, [samples]),
            (278, _LONG, [height]),
            (279, _LONG, [len(data)]),
            (284, _SHORT, [1]),
        ],
        path,
    )
    return path


# --- DNG -----------------------------------------------------------------------------------------


def write_dng(
    path: Path,
    picture: Image.Image,
    *,
    preview: bool = True,
    orientation: int = 1,
    exif_date: str | None = None,
    camera: str | None = None,
) -> Path:
    """A DNG that LibRaw decodes to ``picture`` (as displayed, after ``orientation``).

    Args:
        picture: RGB picture as displayed; its size is the RAW's displayed size. Even sides
            keep the Bayer pattern whole.
        preview: embed a full-size JPEG preview (stored unrotated, as cameras do); without
            it LibRaw finds no preview and the RAW must be demosaiced.
        orientation: EXIF orientation (1-8) in IFD0; LibRaw reports it as ``sizes.flip``.
        exif_date: DateTimeOriginal, EXIF style ("2021:06:01 12:00:00").
        camera: written as Make/Model ("Canon EOS R5" -> Make "Canon", Model "EOS R5").
    """
    stored = orient_for_storage(picture.convert("RGB"), orientation)
    make, _, model = (camera or "Test Camera").partition(" ")
    model = model or make
    ifd0: list[Entry] = [
        (271, _ASCII, make.encode()),
        (272, _ASCII, model.encode()),
        (274, _SHORT, [orientation]),
        (50706, _BYTE, bytes([1, 4, 0, 0])),  # DNGVersion
        (50707, _BYTE, bytes([1, 1, 0, 0])),  # DNGBackwardVersion
        (50708, _ASCII, f"{make} {model}".encode()),  # UniqueCameraModel
        (50721, _SRATIONAL, _rationals([v for row in _XYZ_TO_SRGB for v in row])),
        (50728, _RATIONAL, _rationals([1.0, 1.0, 1.0])),  # AsShotNeutral: no white balance
        (50778, _SHORT, [21]),  # CalibrationIlluminant1: D65
    ]
    raw_ifd = _cfa_ifd(stored)
    writer = _TiffWriter()
    if exif_date is not None:
        exif_ifd = writer.add_ifd([(36867, _ASCII, exif_date.encode())])
        ifd0.append((34665, _LONG, [exif_ifd]))
    if preview:
        # Cameras keep a small IFD0 image and the raw in a SubIFD; here IFD0 is the preview.
        ifd0 += _jpeg_ifd(writer, stored)
        ifd0.append((330, _LONG, [writer.add_ifd(raw_ifd)]))  # SubIFDs
    else:
        ifd0 += raw_ifd
    writer.finish(ifd0, path)
    return path


def _rationals(values: list[float]) -> list[int]:
    out: list[int] = []
    for value in values:
        out += [round(value * 10_000), 10_000]
    return out


def _cfa_ifd(stored: Image.Image) -> list[Entry]:
    """Tags and data of an uncompressed 16-bit RGGB mosaic of ``stored`` in linear light."""
    srgb = np.asarray(stored, dtype=np.float64) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    height, width = linear.shape[:2]
    mosaic = np.empty((height, width), dtype=np.float64)
    mosaic[0::2, 0::2] = linear[0::2, 0::2, 0]  # R
    mosaic[0::2, 1::2] = linear[0::2, 1::2, 1]  # G
    mosaic[1::2, 0::2] = linear[1::2, 0::2, 1]  # G
    mosaic[1::2, 1::2] = linear[1::2, 1::2, 2]  # B
    data = np.round(mosaic * DNG_WHITE_LEVEL).astype("<u2").tobytes()
    return [
        (254, _LONG, [0]),  # NewSubfileType: the full-resolution image
        (256, _LONG, [width]),
        (257, _LONG, [height]),
        (258, _SHORT, [16]),
        (259, _SHORT, [1]),  # no compression
        (262, _SHORT, [32803]),  # PhotometricInterpretation: CFA
        (273, _LONG, data),  # StripOffsets: replaced by the data's offset when written
        (277, _SHORT, [1]),
        (278, _LONG, [height]),
        (279, _LONG, [len(data)]),
        (284, _SHORT, [1]),
        (33421, _SHORT, [2, 2]),  # CFARepeatPatternDim
        (33422, _BYTE, bytes([0, 1, 1, 2])),  # CFAPattern: R G / G B
        (50714, _SHORT, [0]),  # BlackLevel
        (50717, _SHORT, [DNG_WHITE_LEVEL]),  # WhiteLevel
    ]


def _jpeg_ifd(writer: _TiffWriter, stored: Image.Image) -> list[Entry]:
    """Tags of a baseline-JPEG preview (DNG's Compression 7, YCbCr) of ``stored``."""
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=92)
    jpeg = buffer.getvalue()
    return [
        (254, _LONG, [1]),  # NewSubfileType: a reduced-resolution copy
        (256, _LONG, [stored.width]),
        (257, _LONG, [stored.height]),
        (258, _SHORT, [8, 8, 8]),
        (259, _SHORT, [7]),  # JPEG
        (262, _SHORT, [6]),  # YCbCr
        (273, _LONG, jpeg),
        (277, _SHORT, [3]),
        (278, _LONG, [stored.height]),
        (279, _LONG, [len(jpeg)]),
        (284, _SHORT, [1]),
    ]


class _TiffWriter:
    """Little-endian TIFF laid out as: header, then IFDs each followed by their data.

    An entry of tag 273 (StripOffsets) given ``bytes`` is the strip itself: it is written after
    its IFD and the entry gets its offset.
    """

    def __init__(self) -> None:
        self._buffer = bytearray(b"II*\x00\x00\x00\x00\x00")

    def add_ifd(self, entries: list[Entry]) -> int:
        """Write one IFD (and its data) and return its offset, for a pointer tag."""
        entries = sorted(entries, key=lambda entry: entry[0])
        start = len(self._buffer) + (len(self._buffer) & 1)
        data_at = start + 2 + 12 * len(entries) + 4
        table = bytearray(struct.pack("<H", len(entries)))
        extra = bytearray()
        for tag, kind, values in entries:
            if tag == 273 and isinstance(values, bytes):
                payload, values = values, [data_at + len(extra)]
                extra += payload + b"\x00" * (len(payload) & 1)
            packed = _pack(kind, values)
            count = len(packed) if kind in (_BYTE, _ASCII) else len(values) // len(_FORMATS[kind])
            if len(packed) <= 4:
                field = packed.ljust(4, b"\x00")
            else:
                field = struct.pack("<I", data_at + len(extra))
                extra += packed + b"\x00" * (len(packed) & 1)
            table += struct.pack("<HHI", tag, kind, count) + field
        table += struct.pack("<I", 0)  # no next IFD
        self._buffer += b"\x00" * (start - len(self._buffer)) + table + extra
        return start

    def finish(self, ifd0: list[Entry], path: Path) -> None:
        self._buffer[4:8] = struct.pack("<I", self.add_ifd(ifd0))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(self._buffer))


def _pack(kind: int, values: list[int] | bytes) -> bytes:
    if kind == _ASCII:
        return bytes(values) + b"\x00"
    if kind == _BYTE:
        return bytes(values)
    return struct.pack(f"<{len(values)}{_FORMATS[kind][0]}", *values)
