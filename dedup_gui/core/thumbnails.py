"""Small, upright preview images decoded with Pillow, cheaply. No Qt."""

from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.model import ProblemKind
from dedup_gui.core.orientation import ORIENTATION_TAG, upright, valid_orientation

log = logging.getLogger(__name__)

# Errors Pillow's decoders raise on damaged files, besides OSError.
_DECODE_ERRORS = (SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


def make_thumbnail(path: Path, max_px: int) -> Image.Image:
    """Decode ``path`` into an upright RGB or RGBA image no larger than ``max_px`` on each side.

    JPEGs are decoded at a reduced scale (libjpeg's DCT scaling via ``draft``), so a 24 MP photo
    never becomes 72 MB of pixels for a 220 px preview. EXIF orientation is applied to the small
    image. Animated images give their first frame. Images smaller than ``max_px`` are not enlarged.

    Raises:
        UnreadableImage: the file is missing, unreadable, not an image, damaged, or so large that
            Pillow refuses it as a decompression bomb (refused from the header, before decoding).
    """
    if max_px < 1:
        raise ValueError(f"max_px must be positive, not {max_px}")
    try:
        with Image.open(path) as img:
            orientation = _orientation(img)
            # Only JPEG honours draft; it picks the smallest DCT scale still >= the box.
            img.draft("RGB", (max_px, max_px))
            img.thumbnail((max_px, max_px))
            small = _to_rgb_or_rgba(img)
    except FileNotFoundError as exc:
        raise UnreadableImage(ProblemKind.VANISHED.value, "the file no longer exists") from exc
    except PermissionError as exc:
        raise UnreadableImage(ProblemKind.PERMISSION.value, "permission denied") from exc
    except UnidentifiedImageError as exc:
        raise UnreadableImage(
            ProblemKind.NOT_AN_IMAGE.value, "not an image (content is not a known image format)"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise UnreadableImage(ProblemKind.TOO_LARGE.value, "image is too large to show") from exc
    except MemoryError as exc:
        raise UnreadableImage(ProblemKind.TOO_LARGE.value, "not enough memory to show it") from exc
    except (OSError, *_DECODE_ERRORS) as exc:
        raise UnreadableImage(ProblemKind.CORRUPT.value, f"damaged image data ({exc})") from exc
    return upright(small, orientation)


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation, or 1 when absent, out of range or unreadable (shown as stored)."""
    try:
        value = img.getexif().get(ORIENTATION_TAG, 1)
    except (OSError, *_DECODE_ERRORS) as exc:
        # Broken EXIF must not hide a picture that decodes fine.
        log.debug("ignoring unreadable EXIF: %s", exc)
        return 1
    return valid_orientation(value)


def _to_rgb_or_rgba(img: Image.Image) -> Image.Image:
    """An independent RGB copy, or RGBA if the image has any transparency."""
    if img.has_transparency_data:
        return img.convert("RGBA")
    if img.mode == "RGB":
        return img.copy()  # detached from the file, which closes when we return
    return img.convert("RGB")
