"""Small, upright preview images decoded with Pillow (and rawpy for camera RAW), cheaply. No Qt."""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image

from dedup_gui.core.decoders import (
    DECODE_ERRORS,
    as_unreadable,
    is_wide_grey,
    open_image,
    wide_grey_to_l,
)
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.model import ProblemKind
from dedup_gui.core.orientation import upright

log = logging.getLogger(__name__)


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
    if max_px < 1:
        raise ValueError(f"max_px must be positive, not {max_px}")
    data = _read(path)
    try:
        with open_image(data, path, min_px=max_px) as opened:
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
