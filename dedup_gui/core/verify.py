"""Compare two small decodes in fine detail: is one the other, re-encoded or resized? No Qt.

Perceptual hashes compare outlines, so pictures alike only in outline can match: the four
quarters of a round photo (a fundus image) turned onto each other. Here both pictures are
band-passed (fine detail, not outline), aligned within a few pixels and 2 % of scale, split
into 6 x 6 blocks, and scored by the median of the blocks' correlations: a caption spoils a few
blocks, not the median; flat blocks (a black surround) do not vote.
Ported from the measured prototype benchmarks/accuracy/verify_stage.py (its quick check; the
crop search there is for crops, which turned matching does not need).
"""

from __future__ import annotations

import itertools
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

SMALL_PX = 256  # the decode's long side
_FINE_PX = 160  # the comparison's long side (of the outer picture)
_GRID = 6  # blocks per side
_SHIFT_PX = 3  # alignment searched at the comparison's size
_SCALES = (1.0, 0.99, 0.98)  # the inner picture's width as a share of the outer's
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
    best = _best_alignment(a, b)
    if best is None:
        best = _best_alignment(b, a)
    if best is None:
        return 0.0
    return _median_block(*best)


def _best_alignment(outer_px: Grey, inner_px: Grey) -> tuple[_Floats, _Floats] | None:
    """(region of outer, inner) band-passed, at the placement correlating best; None if the
    inner picture does not fit inside the outer one at any tried scale."""
    ow, oh = _fit(outer_px.shape, _FINE_PX)
    outer = _bandpass(_resized(outer_px, (ow, oh)))
    aspect = inner_px.shape[1] / inner_px.shape[0]
    best: tuple[float, _Floats, _Floats] | None = None
    for scale in _SCALES:
        tw = round(scale * ow)
        th = round(tw / aspect)
        if th > oh or min(tw, th) < _GRID:
            continue
        inner = _bandpass(_resized(inner_px, (tw, th)))
        window = outer[: min(oh, th + _SHIFT_PX), : min(ow, tw + _SHIFT_PX)]
        ncc = _ncc_map(window, inner)
        y, x = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
        if best is None or ncc[y, x] > best[0]:
            best = (float(ncc[y, x]), outer[y : y + th, x : x + tw], inner)
    return None if best is None else best[1:]


def _fit(shape: tuple[int, ...], long_side: int) -> tuple[int, int]:
    h, w = shape[:2]
    k = long_side / max(w, h)
    return max(8, round(w * k)), max(8, round(h * k))


def _resized(px: Grey, size: tuple[int, int]) -> _Floats:
    img = Image.fromarray(px).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(img, dtype=np.float32)


def _bandpass(x: _Floats) -> _Floats:
    # Fine detail only: what a re-encode keeps and an outline look-alike does not have.
    return _blur(x, 0.8) - _blur(x, 3.0)


def _blur(x: _Floats, sigma: float) -> _Floats:
    """Gaussian blur as scipy.ndimage.gaussian_filter does it by default (edges mirrored,
    kernel to 4 sigma), in numpy: scipy is only an indirect dependency, without type hints."""
    radius = int(4.0 * sigma + 0.5)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x, radius, mode="symmetric").astype(np.float32)
    h, w = x.shape
    rows = sum(k * padded[i : i + h, :] for i, k in enumerate(kernel))
    cols = sum(k * rows[:, i : i + w] for i, k in enumerate(kernel))
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
