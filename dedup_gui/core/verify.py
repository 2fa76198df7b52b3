"""Compare two small decodes in fine detail: the same picture, maybe resized or cropped? No Qt.

Perceptual hashes compare outlines, so pictures alike only in outline can match: the four
quarters of a round photo (a fundus image) turned onto each other, or the overlapping frames of
a burst through the crop ladder's windows. Here both pictures are band-passed (fine detail, not
outline), aligned, split into 6 x 6 blocks, and scored by the median of the blocks'
correlations: a caption or watermark spoils a few blocks, not the median; flat blocks (a black
surround) do not vote. ``similarity`` aligns within a few pixels and 2 % of scale;
``crop_similarity`` also searches for either picture as a region of the other (crops, borders).
Ported from the measured prototype benchmarks/accuracy/verify_stage.py (RESULTS-verify.md,
RESULTS-crop.md), with its numbers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from dedup_gui.core.decoders import (
    DECODE_ERRORS,
    as_unreadable,
    is_wide_grey,
    open_image,
    wide_grey_to_l,
)
from dedup_gui.core.model import Turn
from dedup_gui.core.orientation import upright
from dedup_gui.core.turning import apply_turn

Grey = npt.NDArray[np.uint8]
_Floats = npt.NDArray[np.float32]

# Median block correlation at or above which two pictures are the same photo. From the
# prototype's measurement on the accuracy corpus (benchmarks/RESULTS-verify.md): every copy of
# a required transform scored >= 0.89, the retina quarter tiles 0.14, the highest false
# candidate (a stereo pair) 0.755; 0.85 gave the best scores of 0.80 / 0.85 / 0.90.
ACCEPT = 0.85
# A quick check scoring this needs no crop search: the prototype's strictest setting, so the
# search runs for everything a looser quick check might have let through.
FAST_ACCEPT = 0.9

SMALL_PX = 256  # the decode's long side
_COARSE_PX = 64  # the crop search's long side (of the outer picture): outline, fast
_FINE_PX = 160  # the comparison's long side (of the outer picture)
_GRID = 6  # blocks per side
_SHIFT_PX = 3  # alignment searched at the comparison's size, around the placement
_NUDGES = (-0.02, -0.01, 0.0, 0.01, 0.02)  # scale searched around the placement
# The inner picture's width as a share of the outer's, searched for crops: down to 78 % covers
# crop_20 and screenshot borders in the corpus; 2 % steps are within the fine check's nudges.
_CROP_SCALES = tuple(round(1.0 - 0.02 * k, 2) for k in range(12))
_SAME_SHAPE = 0.03  # aspect ratios this close (relative) may be one picture, uncropped
_MIN_COVER = 0.7  # the inner picture's height as a share of the outer's, at least
_FLAT = 0.5  # a block's band-pass RMS under which it has no texture to compare
_DRAFTABLE = ("JPEG", "MPO")  # formats whose decoder can scale down while decoding


def small_grey(path: Path, turn: Turn = Turn.NONE) -> Grey:
    """``path`` decoded small (long side at most ``SMALL_PX``), grey, as displayed (EXIF
    orientation applied), then turned by ``turn``.

    Raises:
        UnreadableImage: the file cannot be decoded (mapped as hashing maps it).
        OSError: it cannot be read (the worker pool maps these).
    """
    data = path.read_bytes()
    try:
        with open_image(data, path, min_px=SMALL_PX) as opened:
            img = opened.image
            if img.format in _DRAFTABLE:
                img.draft("L", (SMALL_PX, SMALL_PX))
            img = wide_grey_to_l(img) if is_wide_grey(img) else img.convert("L")
            img = upright(img, opened.orientation)
    except DECODE_ERRORS as exc:
        raise as_unreadable(exc, data, path) from exc
    img.thumbnail((SMALL_PX, SMALL_PX), Image.Resampling.BOX)
    return np.asarray(apply_turn(img, turn), dtype=np.uint8)


def similarity(a: Grey, b: Grey) -> float:
    """Median band-pass correlation of 6 x 6 blocks of ``a`` and ``b`` at their best alignment.

    The smaller in shape is placed inside the other at 98-100 % of its width and within a few
    pixels of its top-left corner. About 1 means the same picture; unrelated pictures score
    near 0; ``ACCEPT`` is the threshold. 0.0 when the pictures cannot be aligned at all.
    """
    return _quick(_Picture(a), _Picture(b))


def crop_similarity(a: Grey, b: Grey) -> float:
    """``similarity``, allowing either picture to be a region of the other (a crop, a border).

    The quick check of ``similarity`` first; below ``FAST_ACCEPT``, either picture is searched
    for inside the other at 78-100 % of its width (low-passed, at 64 px), and the best placement
    is scored as ``similarity`` scores. Same scale as ``similarity``: ``ACCEPT`` is the threshold.
    """
    pa, pb = _Picture(a), _Picture(b)
    # The quick check aligns corners, so it can only pass pictures of one shape (a crop of
    # another shape is searched for at once, as in the prototype).
    if abs(pa.aspect - pb.aspect) < _SAME_SHAPE * pa.aspect:
        quick = _quick(pa, pb)
        if quick >= FAST_ACCEPT:
            return quick
    fit = _coarse_fit(pa, pb)
    if fit is None:
        return 0.0
    best = _refine(*fit)
    return 0.0 if best is None else _median_block(*best)


class _Picture:
    """One decode and its resized, filtered copies, each made once per comparison."""

    def __init__(self, px: Grey) -> None:
        self._px = px
        self._made: dict[tuple[tuple[int, int], str], _Floats] = {}
        self.aspect = px.shape[1] / px.shape[0]

    def fit(self, long_side: int) -> tuple[int, int]:
        """(width, height) with the long side scaled to ``long_side``."""
        h, w = self._px.shape[:2]
        k = long_side / max(w, h)
        return max(8, round(w * k)), max(8, round(h * k))

    def band(self, size: tuple[int, int]) -> _Floats:
        """Resized to ``size``, fine detail only: what a re-encode keeps and an outline
        look-alike does not have."""
        return self._filtered(size, "band")

    def low(self, size: tuple[int, int]) -> _Floats:
        """Resized to ``size``, lightly low-passed: outline, for the crop search."""
        return self._filtered(size, "low")

    def _filtered(self, size: tuple[int, int], kind: str) -> _Floats:
        made = self._made.get((size, kind))
        if made is None:
            img = Image.fromarray(self._px).resize(
                size, Image.Resampling.BILINEAR, reducing_gap=2.0
            )
            x = np.asarray(img, dtype=np.float32)
            made = _blur(x, 0.8) - _blur(x, 3.0) if kind == "band" else _blur(x, 1.0)
            self._made[(size, kind)] = made
        return made


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where the inner picture sits in the outer one."""

    scale: float  # inner width / outer width
    x: float  # inner's top-left, as a share of the outer's width and height
    y: float


_CORNER = _Placement(1.0, 0.0, 0.0)


def _quick(a: _Picture, b: _Picture) -> float:
    best = _refine(a, b, _CORNER) or _refine(b, a, _CORNER)
    return 0.0 if best is None else _median_block(*best)


def _coarse_fit(a: _Picture, b: _Picture) -> tuple[_Picture, _Picture, _Placement] | None:
    """(outer, inner, placement): the best low-pass correlating placement of either picture as
    a region of the other; None if neither fits inside the other at any searched scale."""
    best: tuple[float, _Picture, _Picture, _Placement] | None = None
    for outer, inner, scales in ((a, b, _CROP_SCALES), (b, a, _CROP_SCALES[1:])):
        # (scale 1 is the same placement either way round)
        ow, oh = outer.fit(_COARSE_PX)
        o = outer.low((ow, oh))
        for c in scales:
            tw = round(c * ow)
            th = round(tw / inner.aspect)
            if th > oh or th < _MIN_COVER * oh or tw < 8:
                continue
            ncc = _ncc_map(o, inner.low((tw, th)))
            y, x = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
            if best is None or ncc[y, x] > best[0]:
                best = (float(ncc[y, x]), outer, inner, _Placement(c, x / ow, y / oh))
    return None if best is None else best[1:]


def _refine(outer: _Picture, inner: _Picture, at: _Placement) -> tuple[_Floats, _Floats] | None:
    """(region of outer, inner) band-passed at ``_FINE_PX``, at the placement near ``at``
    (scale +-2 %, at most 100 %; +-3 px) correlating best; None if none fits."""
    ow, oh = outer.fit(_FINE_PX)
    o = outer.band((ow, oh))
    x0, y0 = round(at.x * ow), round(at.y * oh)
    best: tuple[float, _Floats, _Floats] | None = None
    for c in (at.scale + d for d in _NUDGES):
        tw = round(c * ow)
        th = round(tw / inner.aspect)
        xa, ya = max(0, x0 - _SHIFT_PX), max(0, y0 - _SHIFT_PX)
        xb, yb = min(ow - tw, x0 + _SHIFT_PX), min(oh - th, y0 + _SHIFT_PX)
        if c > 1.0 or min(tw, th) < _GRID or xb < xa or yb < ya:
            continue
        t = inner.band((tw, th))
        ncc = _ncc_map(o[ya : yb + th, xa : xb + tw], t)
        y, x = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
        if best is None or ncc[y, x] > best[0]:
            top, left = ya + int(y), xa + int(x)
            best = (float(ncc[y, x]), o[top : top + th, left : left + tw], t)
    return None if best is None else best[1:]


def _blur(x: _Floats, sigma: float) -> _Floats:
    """Gaussian blur as scipy.ndimage.gaussian_filter does it by default (edges mirrored,
    kernel to 4 sigma), in numpy: scipy is only an indirect dependency, without type hints."""
    radius = int(4.0 * sigma + 0.5)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x.astype(np.float64), radius, mode="symmetric")
    # Each pass as one product over sliding windows: the crop search blurs a few dozen small
    # arrays per pair, and a Python loop over the taps cost most of its time.
    windows = np.lib.stride_tricks.sliding_window_view
    rows = windows(padded, kernel.size, axis=0) @ kernel
    cols = windows(rows, kernel.size, axis=1) @ kernel
    return np.asarray(cols, np.float32)


def _ncc_map(outer: _Floats, inner: _Floats) -> _Floats:
    """Pearson correlation of ``inner`` at every position inside ``outer``."""
    th, tw = inner.shape
    win = np.lib.stride_tricks.sliding_window_view(outer, (th, tw))
    t = inner - inner.mean()
    tn = float(np.sqrt((t * t).sum())) + 1e-6
    num = np.einsum("yxij,ij->yx", win, t)
    s1 = win.sum((2, 3))
    s2 = np.einsum("yxij,yxij->yx", win, win)
    var = np.maximum(s2 - s1 * s1 / (th * tw), 0)
    return np.asarray(num / (np.sqrt(var) * tn + 1e-6), np.float32)


def _median_block(p: _Floats, q: _Floats) -> float:
    h, w = p.shape
    ys = np.linspace(0, h, _GRID + 1).astype(int)
    xs = np.linspace(0, w, _GRID + 1).astype(int)
    cors = []
    for (y0, y1), (x0, x1) in itertools.product(itertools.pairwise(ys), itertools.pairwise(xs)):
        u = p[y0:y1, x0:x1] - p[y0:y1, x0:x1].mean()
        v = q[y0:y1, x0:x1] - q[y0:y1, x0:x1].mean()
        su, sv = float(np.sqrt((u * u).mean())), float(np.sqrt((v * v).mean()))
        if su < _FLAT and sv < _FLAT:
            continue  # flat in both (sky, black surround): says nothing either way
        cors.append(float((u * v).mean() / (su * sv + 1e-6)))
    return float(np.median(cors)) if cors else 0.0
