"""Upright thumbnails and view images decoded with Pillow (rawpy for camera RAW). No Qt."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PIL import Image

from dedup_gui.core.decoders import (
    DECODE_ERRORS,
    as_unreadable,
    is_wide_grey,
    open_image,
    raw_format,
    wide_grey_to_l,
)
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.model import ProblemKind
from dedup_gui.core.orientation import upright

log = logging.getLogger(__name__)

# Cameras embed previews a little smaller than the sensor's visible area (6000 x 4000 for a
# 6024 x 4020 sensor, say): such a preview counts as full size for a view.
_FULL_PREVIEW_SHARE = 0.9


def make_thumbnail(path: Path, max_px: int) -> Image.Image:
    """Decode ``path`` into an upright RGB or RGBA image no larger than ``max_px`` on each side.

    JPEGs are decoded at a reduced scale (libjpeg's DCT scaling via ``draft``), so a 24 MP photo
    never becomes 72 MB of pixels for a 220 px preview; a camera RAW shows its embedded preview
    (or a half-size demosaic when it has none big enough). EXIF orientation is applied to the
    small image. Animated images give their first frame. Smaller images are not enlarged.

    Raises:
        UnreadableImage: the file is missing, unreadable, not an image, damaged, of a format
            this machine cannot decode, or so large that it is refused from its header.
    """
    _check_box(max_px)
    data = _read(path)
    return _decode_shrunk(data, path, max_px, min_px=max_px)


def make_view_image(path: Path, max_px: int) -> Image.Image:
    """Decode ``path`` for a full-size view: upright RGB or RGBA, at most ``max_px`` a side.

    As ``make_thumbnail``, but a camera RAW's embedded preview is used only when it is (nearly)
    as big as the RAW itself or as ``max_px``; otherwise the RAW is demosaiced, so the view
    shows the sensor's real resolution.

    Raises:
        UnreadableImage: as ``make_thumbnail``.
    """
    _check_box(max_px)
    data = _read(path)
    return _decode_shrunk(data, path, max_px, min_px=_view_min_px(data, path, max_px))


def _check_box(max_px: int) -> None:
    if max_px < 1:
        raise ValueError(f"max_px must be positive, not {max_px}")


def _decode_shrunk(data: bytes, path: Path, max_px: int, *, min_px: int) -> Image.Image:
    try:
        with open_image(data, path, min_px=min_px) as opened:
            img = opened.image
            # Only JPEG and HEIF honour draft; it picks the smallest scale still >= the box.
            img.draft("RGB", (max_px, max_px))
            if is_wide_grey(img):  # scans: Pillow cannot shrink 16-bit grey, and would clip it
                img = wide_grey_to_l(img)
            img.thumbnail((max_px, max_px))
            small = _to_rgb_or_rgba(img)
    except DECODE_ERRORS as exc:
        raise _shown_as(as_unreadable(exc, data, path)) from exc
    return upright(small, opened.orientation)


def _view_min_px(data: bytes, path: Path, max_px: int) -> int:
    """The preview size a view needs: a RAW's full size (less margins), else ``max_px``."""
    if raw_format(data, path.suffix) is None:
        return max_px  # only RAWs look at it
    short_side = _raw_short_side(data)
    if short_side is None:
        return max_px  # open_image reports what is wrong with it
    return max(1, min(max_px, int(short_side * _FULL_PREVIEW_SHARE)))


def _raw_short_side(data: bytes) -> int | None:
    """The shorter side of a RAW's sensor image, from its header (nothing is decoded)."""
    try:
        import rawpy
    except ImportError:
        return None
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            return min(raw.sizes.width, raw.sizes.height)
    except rawpy.LibRawError:
        return None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise UnreadableImage(ProblemKind.VANISHED.value, "the file no longer exists") from exc
    except PermissionError as exc:
        raise UnreadableImage(ProblemKind.PERMISSION.value, "permission denied") from exc
    except OSError as exc:
        raise UnreadableImage(ProblemKind.UNREADABLE.value, f"cannot read: {exc.strerror}") from exc


def _shown_as(problem: UnreadableImage) -> UnreadableImage:
    """The hashing wording, but about showing rather than decoding."""
    if problem.kind == ProblemKind.TOO_LARGE.value:
        return UnreadableImage(problem.kind, "image is too large to show")
    return problem


def _to_rgb_or_rgba(img: Image.Image) -> Image.Image:
    """An independent RGB copy, or RGBA if the image has any transparency."""
    if img.has_transparency_data:
        return img.convert("RGBA")
    if img.mode == "RGB":
        return img.copy()  # detached from the file, which closes when we return
    return img.convert("RGB")
