"""Rotated and mirrored copies: hash each picture in a canonical orientation. No Qt.

Rather than hashing all 8 orientations and searching 8 times (8x the work and 8 chances of a
false match per pair), each picture is turned to a canonical orientation chosen from its own
low-frequency content: the DCT coefficients a (left/right balance) and b (top/bottom balance)
of a 32x32 greyscale copy. The 8 turns only change their signs or swap them, so exactly one
turn makes ``a >= b >= 0``. Only where that choice is a close call (a or b near 0, or |a| near
|b|, relative to the picture's low-frequency energy) are the other candidates hashed too, so a
copy that tips the other way (cropped, watermarked) still shares an entry. Grouping compares
these entries besides the upright hashes (``grouping.group_by_distance(match_turned=True)``).

``turned`` bytes (``ImageRecord.turned``) are entries of 1 byte ``Turn`` (what was applied to
the displayed picture to reach that orientation) followed by the perceptual hash of the picture
turned that way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from PIL import Image

from dedup_gui.core.model import HashAlgorithm, Turn

# The single transpose doing each turn (checked against mirror-then-rotate in the tests).
_TRANSPOSE = {
    Turn.ROTATED_90: Image.Transpose.ROTATE_270,  # Pillow's angles are counter-clockwise
    Turn.ROTATED_180: Image.Transpose.ROTATE_180,
    Turn.ROTATED_270: Image.Transpose.ROTATE_90,
    Turn.MIRRORED: Image.Transpose.FLIP_LEFT_RIGHT,
    Turn.MIRRORED_ROTATED_90: Image.Transpose.TRANSVERSE,
    Turn.MIRRORED_ROTATED_180: Image.Transpose.FLIP_TOP_BOTTOM,
    Turn.MIRRORED_ROTATED_270: Image.Transpose.TRANSPOSE,
}

_DESCRIPTION = {
    Turn.NONE: "same orientation",
    Turn.ROTATED_90: "rotated 90 degrees clockwise",
    Turn.ROTATED_180: "upside down (rotated 180 degrees)",
    Turn.ROTATED_270: "rotated 90 degrees counter-clockwise",
    Turn.MIRRORED: "mirrored",
    Turn.MIRRORED_ROTATED_90: "mirrored and rotated 90 degrees clockwise",
    Turn.MIRRORED_ROTATED_180: "flipped upside down",
    Turn.MIRRORED_ROTATED_270: "mirrored and rotated 90 degrees counter-clockwise",
}

# How close (in a and b over the low-frequency energy) a canonical decision must be to count as
# ambiguous, so its alternatives are hashed too. Measured on the accuracy corpus
# (benchmarks/accuracy/turn_stability.py): re-encoded, resized, recoloured and turned copies never
# tip the other way; crops, watermarks and captions do, 5% of them at margin 0. At 0.02 (1.14
# entries per image) edited-then-turned copies are found almost as often as edited ones (0.896 vs
# 0.903 at pHash distance 8); wider margins add entries (0.04: 1.40) for next to nothing more.
AMBIGUITY_MARGIN = 0.02

_SIDE = 32  # the analysis copy's side, as pHash's DCT uses at hash size 8
_LOW = 8  # low-frequency block whose energy normalises a and b


def _dct_rows(n: int, k: int) -> npt.NDArray[np.float64]:
    """The first ``k`` orthonormal DCT-II basis rows of length ``n``."""
    x = np.arange(n)
    rows = np.cos(np.pi * (2 * x[None, :] + 1) * np.arange(k)[:, None] / (2 * n))
    rows[0] /= np.sqrt(2)
    return np.asarray(rows * np.sqrt(2 / n), dtype=np.float64)


_DCT = _dct_rows(_SIDE, _LOW)


def compose(first: Turn, then: Turn) -> Turn:
    """The one turn doing ``first`` and then ``then``."""
    # Turn t is R^(t%4) M^(t>=4) (R: clockwise quarter, M: mirror); M R = R^-1 M.
    quarters = then % 4 + (-(first % 4) if then >= 4 else first % 4)
    return Turn(4 * ((first >= 4) ^ (then >= 4)) + quarters % 4)


def inverse(turn: Turn) -> Turn:
    """The turn undoing ``turn``: mirrored turns undo themselves."""
    return turn if turn >= 4 else Turn(-turn % 4)


def between(first: Turn, second: Turn) -> Turn:
    """How picture B is turned relative to picture A, when A turned by ``first`` looks like B
    turned by ``second``: ``first`` then ``inverse(second)``."""
    return _BETWEEN[first][second]


_BETWEEN = [[compose(a, inverse(b)) for b in Turn] for a in Turn]


def apply_turn(img: Image.Image, turn: Turn) -> Image.Image:
    """``img`` turned: ``turn % 4`` clockwise quarter turns after a mirror if ``turn >= 4``."""
    transpose = _TRANSPOSE.get(Turn(turn))
    return img if transpose is None else img.transpose(transpose)


def describe(turn: Turn) -> str:
    """Plain words for the UI: how a member is turned relative to its reference."""
    return _DESCRIPTION[Turn(turn)]


def can_turn(algorithm: HashAlgorithm) -> bool:
    """Whether ``turned_hashes`` is worth computing for ``algorithm``; if not, ``turned`` stays
    empty and grouping compares upright hashes only.

    Not for crop-resistant multi-hashes, nor for colorhash: a colour histogram is the same in
    every orientation, so turned copies match already, and it cannot tell how they are turned.
    """
    return algorithm not in (HashAlgorithm.CROP_RESISTANT, HashAlgorithm.COLORHASH)


def balance(small: Image.Image) -> tuple[float, float]:
    """(a, b): left-right and top-bottom balance of ``small``, over its low-frequency energy.

    Positive a: brighter on the left; positive b: brighter at the top. (0, 0) for a flat picture.
    """
    grey = small if small.mode == "L" else small.convert("L")
    px = np.asarray(grey.resize((_SIDE, _SIDE), Image.Resampling.BILINEAR), dtype=np.float64)
    coef = _DCT @ px @ _DCT.T  # coef[v, u]: v vertical, u horizontal frequency
    energy = float(np.sqrt(np.sum(coef**2) - coef[0, 0] ** 2))
    if energy < 1e-6:
        return 0.0, 0.0
    return float(coef[0, 1]) / energy, float(coef[1, 0]) / energy


def turn_balance(turn: Turn, a: float, b: float) -> tuple[float, float]:
    """The (a, b) of a picture with balance (a, b) once turned by ``turn``."""
    if turn >= 4:
        a = -a  # the left side becomes the right
    for _ in range(turn % 4):
        a, b = -b, a  # clockwise: the bottom comes to the left, the left goes to the top
    return a, b


def canonical_turns(a: float, b: float, margin: float = AMBIGUITY_MARGIN) -> list[Turn]:
    """Turns that bring (a, b) to ``a >= b >= 0``, within ``margin``: 1 to 8 of them."""
    found = []
    for turn in Turn:
        ta, tb = turn_balance(turn, a, b)
        if tb >= -margin and ta - tb >= -margin:  # ta >= 0 follows, within the margin
            found.append(turn)
    return found


def turned_hashes(
    small: Image.Image,
    hash_fn: Callable[[Image.Image], bytes],
    margin: float = AMBIGUITY_MARGIN,
) -> bytes:
    """Entries (Turn byte + hash) of ``small`` turned to each of its canonical orientations.

    Args:
        small: the decoded, EXIF-upright picture that the upright hash is computed from.
        hash_fn: the perceptual hash of a picture (of one length whatever the picture).
        margin: how close a decision must be to also hash its alternative.

    Returns:
        One entry per canonical turn, in Turn order; turns giving a hash already listed are
        left out (a symmetric picture), so the first of those turns is the one reported.
    """
    seen: set[bytes] = set()
    out = bytearray()
    for turn in canonical_turns(*balance(small), margin):
        digest = hash_fn(apply_turn(small, turn))
        if digest not in seen:
            seen.add(digest)
            out.append(turn)
            out += digest
    return bytes(out)


def entries(turned: bytes, hash_len: int) -> list[tuple[Turn, bytes]]:
    """The (turn, hash) entries of ``turned`` bytes with ``hash_len``-byte hashes.

    Raises:
        ValueError: ``turned`` is not made of whole entries, or names no Turn.
    """
    step = hash_len + 1
    if hash_len <= 0 or len(turned) % step:
        raise ValueError(f"{len(turned)} bytes are not entries of 1 + {hash_len} bytes")
    return [(Turn(turned[at]), turned[at + 1 : at + step]) for at in range(0, len(turned), step)]
