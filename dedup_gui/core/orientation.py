"""EXIF orientation: the one table that turns stored pixels upright, for hashes and thumbnails.

No Qt.
"""

from __future__ import annotations

from PIL import Image

ORIENTATION_TAG = 0x0112

# The transpose that displays the stored pixels for each EXIF orientation (as
# ImageOps.exif_transpose does, but applicable to an already reduced image).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def valid_orientation(value: object) -> int:
    """``value`` if it is a real orientation (1-8); else 1, as viewers treat out-of-range tags."""
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright(img: Image.Image, orientation: int) -> Image.Image:
    """``img`` as it is displayed for this orientation."""
    transpose = _UPRIGHT.get(orientation)
    return img if transpose is None else img.transpose(transpose)


def swaps_sides(orientation: int) -> bool:
    """Orientations 5-8 turn the picture a quarter: displayed width and height swap."""
    return orientation >= 5
