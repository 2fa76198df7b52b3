"""Prototype of a second-stage verifier (crops, overlays, turned look-alikes), scored on the corpus.

Usage:
  python benchmarks/accuracy/verify_stage.py CORPUS [--loose 16] [--certain 8 -1] [--accept 0.5]

Stage 1: the engine's pHash 8 records (hashed once through ``run_scan``, as score.py does); a pair
is a candidate when its upright hashes, or any pair of its canonical-turn entries, are within
``--loose`` bits. Stage 2: pairs within ``--certain`` bits upright are accepted unchecked (-1:
verify everything); the others are decoded small (greyscale, 256 px) in the candidate's canonical
turn, and ``verify`` decides: is one picture, at some scale 0.78-1, a region of the other (crops,
screenshot borders), with fine detail matching in most of the picture (overlays cover a part)?
Groups are made as the engine makes them (leader clustering, best copy first, no chaining), from
accepted pairs only. Prints Markdown tables; numpy, scipy and Pillow only.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy.ndimage import gaussian_filter

sys.path.insert(0, str(Path(__file__).parent))

import itertools

from metrics import Score, Truth, group_pairs, score

from dedup_gui.core.decoders import open_image
from dedup_gui.core.grouping import best_first_key
from dedup_gui.core.model import HashAlgorithm, HashSettings, ImageRecord, Turn
from dedup_gui.core.orientation import upright
from dedup_gui.core.turning import apply_turn, entries

Array = npt.NDArray[np.float32]
SETTINGS = HashSettings(HashAlgorithm.PHASH, 8)
SMALL_PX = 256  # the verifier's decode: long side
COARSE_PX = 64  # coarse search: long side of the outer picture
FINE_PX = 160  # fine check: long side of the outer picture
SCALES = np.round(np.arange(1.0, 0.77, -0.02), 3)  # inner field as a share of the outer's width
GRID = 6  # fine check: GRID x GRID blocks


# --- stage 1: hashes and candidates --------------------------------------------------------------


def load(corpus: Path, cache: Path) -> tuple[list[ImageRecord], dict[str, Image.Image]]:
    """The engine's records and a small upright greyscale copy of every file (cached)."""
    if cache.exists():
        with cache.open("rb") as f:
            return pickle.load(f)  # type: ignore[no-any-return]
    from score import hash_corpus

    records = hash_corpus(corpus / "images", SETTINGS, workers=2)
    smalls = {r.path.name: decode_small(r.path) for r in records}
    with cache.open("wb") as f:
        pickle.dump((records, smalls), f)
    return records, smalls


def decode_small(path: Path) -> Image.Image:
    """Upright greyscale copy, long side at most SMALL_PX."""
    with open_image(path.read_bytes(), path, min_px=SMALL_PX) as opened:
        img = opened.image
        if img.format in ("JPEG", "MPO", "HEIF"):
            img.draft("L", (SMALL_PX, SMALL_PX))
        img = img.convert("L")
        img = upright(img, opened.orientation)
    img.thumbnail((SMALL_PX, SMALL_PX), Image.Resampling.BOX)
    return img


def _bits(hashes: Sequence[bytes]) -> npt.NDArray[np.uint8]:
    return np.unpackbits(
        np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(len(hashes), -1), 1
    )


def _distances(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
    ai, bi = a.astype(np.int32), b.astype(np.int32)
    return (ai @ (1 - bi).T + (1 - ai) @ bi.T).astype(np.int32)


@dataclass(frozen=True)
class Candidate:
    i: int
    j: int
    upright: int  # upright distance
    turned: int  # best distance between canonical-turn entries
    turns: tuple[Turn, Turn]  # the entries' turns: i turned by [0] looks like j turned by [1]


def candidates(records: Sequence[ImageRecord], loose: int) -> list[Candidate]:
    """Every pair within ``loose`` bits, upright or between turned entries (all pairs: small)."""
    up = _distances(*(2 * [_bits([r.perceptual_hash for r in records])]))
    owner, turns, hashes = [], [], []
    for k, r in enumerate(records):
        for turn, h in entries(r.turned, 8) or [(Turn.NONE, r.perceptual_hash)]:
            owner.append(k)
            turns.append(turn)
            hashes.append(h)
    bits = _bits(hashes)
    td = _distances(bits, bits)
    own = np.array(owner)
    n = len(records)
    best = np.full((n, n), 99, dtype=np.int32)
    arg: dict[tuple[int, int], tuple[Turn, Turn]] = {}
    for x, y in zip(*np.nonzero(td <= loose), strict=True):
        i, j = own[x], own[y]
        if i < j and td[x, y] < best[i, j]:
            best[i, j] = td[x, y]
            arg[(i, j)] = (turns[x], turns[y])
    out = []
    near = (np.minimum(up, best) <= loose) & np.triu(np.ones((n, n), dtype=bool), 1)
    for i, j in zip(*np.nonzero(near), strict=True):
        if records[i].content_hash == records[j].content_hash:
            continue  # exact copies: one node in the engine, never verified
        out.append(
            Candidate(int(i), int(j), int(up[i, j]), int(best[i, j]), arg.get((i, j), (0, 0)))
        )
    return out


# --- stage 2: the verifier -----------------------------------------------------------------------


_CACHE: dict[tuple[int, tuple[int, int], str], Array] = {}  # (id(image), size, filter)


def _f(img: Image.Image, size: tuple[int, int], kind: str = "") -> Array:
    """``img`` resized to ``size`` as floats, low-passed ("low") or band-passed ("band")."""
    key = (id(img), size, kind)
    got = _CACHE.get(key)
    if got is None:
        got = np.asarray(img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), np.float32)
        if kind == "low":
            got = np.asarray(gaussian_filter(got, 1.0), np.float32)
        elif kind == "band":
            got = _bandpass(got)
        _CACHE[key] = got
    return got


def _fit(img: Image.Image, long_side: int) -> tuple[int, int]:
    w, h = img.size
    k = long_side / max(w, h)
    return max(8, round(w * k)), max(8, round(h * k))


def _ncc_map(outer: Array, inner: Array) -> Array:
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


@dataclass(frozen=True)
class Fit:
    ncc: float  # coarse, low-pass correlation
    swap: bool  # True: the first picture is the inner one
    scale: float  # inner width / outer width, in the outer's pixels
    x: float  # inner's top-left in the outer, as a share of the outer's size
    y: float


def coarse_fit(a: Image.Image, b: Image.Image) -> Fit | None:
    """Best placement of either picture as a region (scale 0.78-1) of the other, at 64 px."""
    best: Fit | None = None
    for swap, (outer, inner) in ((False, (a, b)), (True, (b, a))):
        ow, oh = _fit(outer, COARSE_PX)
        o = _f(outer, (ow, oh), "low")
        aspect = inner.width / inner.height
        for c in SCALES if not swap else SCALES[1:]:  # scale 1 is the same either way
            tw = round(c * ow)
            th = round(tw / aspect)
            if th > oh or th < 0.7 * oh or tw < 8:
                continue
            t = _f(inner, (tw, th), "low")
            m = _ncc_map(o, t)
            y, x = np.unravel_index(int(np.argmax(m)), m.shape)
            if best is None or m[y, x] > best.ncc:
                best = Fit(float(m[y, x]), swap, float(c), x / ow, y / oh)
    return best


def _bandpass(x: Array) -> Array:
    return np.asarray(gaussian_filter(x, 0.8) - gaussian_filter(x, 3.0), np.float32)


@dataclass(frozen=True)
class Verdict:
    coarse: float
    fine: float  # band-pass correlation of the whole overlap
    median_block: float  # median band-pass correlation of GRID x GRID blocks
    good_blocks: float  # share of textured blocks correlating >= 0.5


def fine_check(a: Image.Image, b: Image.Image, fit: Fit) -> Verdict:
    """Refine ``fit`` at FINE_PX (scale +-2 %, +-3 px) and compare fine detail block by block."""
    outer, inner = (b, a) if fit.swap else (a, b)
    ow, oh = _fit(outer, FINE_PX)
    o = _f(outer, (ow, oh), "band")
    aspect = inner.width / inner.height
    best: tuple[float, Array, Array] | None = None
    for c in fit.scale + np.array([-0.02, -0.01, 0.0, 0.01, 0.02]):
        tw = round(c * ow)
        th = round(tw / aspect)
        if c > 1.0 or th > oh:
            continue
        t = _f(inner, (tw, th), "band")
        x0, y0 = round(fit.x * ow), round(fit.y * oh)
        xa, ya = max(0, x0 - 3), max(0, y0 - 3)
        xb, yb = min(ow - tw, x0 + 3), min(oh - th, y0 + 3)
        if xb < xa or yb < ya:
            continue
        m = _ncc_map(o[ya : yb + th, xa : xb + tw], t)
        y, x = np.unravel_index(int(np.argmax(m)), m.shape)
        if best is None or m[y, x] > best[0]:
            best = (float(m[y, x]), o[ya + y : ya + y + th, xa + x : xa + x + tw], t)
    if best is None:
        return Verdict(fit.ncc, 0.0, 0.0, 0.0)
    fine, region, t = best
    return Verdict(fit.ncc, fine, *_blocks(region, t))


def _blocks(p: Array, q: Array) -> tuple[float, float]:
    h, w = p.shape
    ys = np.linspace(0, h, GRID + 1).astype(int)
    xs = np.linspace(0, w, GRID + 1).astype(int)
    cors, textured = [], 0
    for y0, y1 in itertools.pairwise(ys):
        for x0, x1 in itertools.pairwise(xs):
            u = p[y0:y1, x0:x1] - p[y0:y1, x0:x1].mean()
            v = q[y0:y1, x0:x1] - q[y0:y1, x0:x1].mean()
            su, sv = float(np.sqrt((u * u).mean())), float(np.sqrt((v * v).mean()))
            if su < 0.5 and sv < 0.5:
                continue  # flat in both (sky, black surround): says nothing either way
            textured += 1
            cors.append(float((u * v).mean() / (su * sv + 1e-6)))
    if not cors:
        return 0.0, 0.0
    arr = np.array(cors)
    return float(np.median(arr)), float((arr >= 0.5).sum() / textured)


FAST_ACCEPT = 0.9  # median block correlation that needs no crop search (the strictest setting)


def verify(a: Image.Image, b: Image.Image) -> Verdict:
    """How well ``b`` matches ``a`` or a region of it (or the other way round), in fine detail.

    First the two as they are (scale +-2 %, shift +-3 px at FINE_PX); only if that is not
    clearly a match, the coarse crop search, then the same fine check at its best placement.
    """
    if abs(a.width / a.height - b.width / b.height) < 0.03 * a.width / a.height:
        quick = fine_check(a, b, Fit(1.0, False, 1.0, 0.0, 0.0))
        if quick.median_block >= FAST_ACCEPT:
            return quick
    fit = coarse_fit(a, b)
    if fit is None:
        return Verdict(0.0, 0.0, 0.0, 0.0)
    return fine_check(a, b, fit)


def pair_images(
    smalls: dict[str, Image.Image],
    records: Sequence[ImageRecord],
    c: Candidate,
    loose: int,
    turned: dict[tuple[str, Turn], Image.Image],
) -> list[tuple[Image.Image, Image.Image]]:
    """The candidate's pictures in each orientation where its hashes came within ``loose``."""
    na, nb = records[c.i].path.name, records[c.j].path.name
    out = []
    if c.upright <= loose:
        out.append((smalls[na], smalls[nb]))
    if c.turned <= loose and c.turns != (Turn.NONE, Turn.NONE):
        pair = []
        for name, turn in ((na, c.turns[0]), (nb, c.turns[1])):
            if (name, turn) not in turned:
                turned[(name, turn)] = apply_turn(smalls[name], turn)
            pair.append(turned[(name, turn)])
        out.append((pair[0], pair[1]))
    return out


def verify_all(
    smalls: dict[str, Image.Image],
    records: Sequence[ImageRecord],
    cands: Sequence[Candidate],
    loose: int,
) -> tuple[dict[tuple[int, int], Verdict], float]:
    """Best verdict per candidate pair (by median block correlation); seconds spent."""
    out: dict[tuple[int, int], Verdict] = {}
    turned: dict[tuple[str, Turn], Image.Image] = {}
    started = time.perf_counter()
    for c in cands:
        verdicts = [verify(a, b) for a, b in pair_images(smalls, records, c, loose, turned)]
        out[(c.i, c.j)] = max(verdicts, key=lambda v: v.median_block)
    return out, time.perf_counter() - started


# --- grouping and scoring ------------------------------------------------------------------------


def leader_groups(records: Sequence[ImageRecord], edges: set[tuple[int, int]]) -> list[list[str]]:
    """Groups as the engine makes them: exact copies are one node; nodes best copy first; each
    ungrouped node becomes a reference and takes the ungrouped nodes it has an accepted pair
    with (no chaining)."""
    node: dict[bytes, int] = {}
    for k, r in enumerate(records):
        node.setdefault(r.content_hash, k)
    members: dict[int, list[int]] = {}
    for k, r in enumerate(records):
        members.setdefault(node[r.content_hash], []).append(k)
    near: dict[int, set[int]] = {}
    for i, j in edges:
        a, b = node[records[i].content_hash], node[records[j].content_hash]
        if a != b:
            near.setdefault(a, set()).add(b)
            near.setdefault(b, set()).add(a)
    order = sorted(members, key=lambda k: best_first_key(records[k]))
    grouped: set[int] = set()
    groups = []
    for ref in order:
        if ref in grouped:
            continue
        taken = [ref] + [k for k in order if k in near.get(ref, ()) and k not in grouped]
        grouped.update(taken)
        names = [records[m].path.name for k in taken for m in members[k]]
        if len(names) > 1:
            groups.append(names)
    return groups


@dataclass(frozen=True)
class Setting:
    loose: int  # stage-1 distance for candidates (upright or turned)
    certain: int  # upright distance accepted without stage 2 (-1: verify all)
    accept: float  # stage 2: median block correlation needed (2.0: stage 2 off, hashes only)

    @property
    def label(self) -> str:
        if self.accept > 1:
            return f"hashes only, turned <= {self.loose}"
        check = "verify all" if self.certain < 0 else f"<= {self.certain} certain"
        return f"<= {self.loose}, {check}, accept {self.accept:.2f}"


def run_setting(
    records: Sequence[ImageRecord],
    cands: Sequence[Candidate],
    verdicts: dict[tuple[int, int], Verdict],
    s: Setting,
    truth: Truth,
) -> tuple[Score, int]:
    """Score of one setting, and how many pairs its stage 2 checks."""
    edges, checked = set(), 0
    for c in cands:
        if min(c.upright, c.turned) > s.loose:
            continue
        if s.accept > 1 or c.upright <= s.certain:
            edges.add((c.i, c.j))
            continue
        checked += 1
        if verdicts[(c.i, c.j)].median_block >= s.accept:
            edges.add((c.i, c.j))
    groups = leader_groups(records, edges)
    return score(truth, group_pairs(groups), groups), checked


# --- report --------------------------------------------------------------------------------------

TRANSFORMS = ["crop_5", "crop_10", "crop_20", "watermark", "text_overlay", "screenshot"]
TURNS = ["rotate_90", "rotate_180", "rotate_270", "mirror", "flip"]


def summary(rows: list[tuple[Setting, Score, int]]) -> str:
    head = (
        "| setting | checked | P | R | F1 | purity | burst | tiles | worst required |"
        + "".join(f" {t} |" for t in TRANSFORMS)
        + " turns min |\n|"
        + "---|" * (10 + len(TRANSFORMS))
    )
    lines = [head]
    for s, sc, checked in rows:
        worst, wr = sc.worst_required()
        cells = "".join(f" {sc.copy_recall[t]:.2f} |" for t in TRANSFORMS)
        turns = min(sc.copy_recall[t] for t in TURNS)
        lines.append(
            f"| {s.label} | {checked} | {sc.precision:.3f} | {sc.recall:.3f} | {sc.f1:.3f}"
            f" | {sc.purity:.3f} | {sc.hard_negatives['burst']} | {sc.hard_negatives['tile']}"
            f" | {wr:.2f} {worst} |{cells} {turns:.2f} |"
        )
    return "\n".join(lines)


def unrelated(records: Sequence[ImageRecord], cands: Sequence[Candidate], truth: Truth) -> str:
    """Candidates between different photographs, per loose threshold, and per 100k photos."""
    ent = truth.entries
    names = [r.path.name for r in records]
    photo = [ent[n]["original"] for n in names]
    total = sum(
        1 for i in range(len(names)) for j in range(i + 1, len(names)) if photo[i] != photo[j]
    )
    lines = [f"unrelated pairs in the corpus: {total}"]
    for loose in (8, 12, 16, 20):
        near = [c for c in cands if min(c.upright, c.turned) <= loose and photo[c.i] != photo[c.j]]
        sources = {
            tuple(sorted((photo[c.i].split("~")[0], photo[c.j].split("~")[0]))) for c in near
        }
        share = len(near) / total
        lines.append(
            f"<= {loose}: {len(near)} unrelated candidates ({share:.2e} of unrelated pairs, from"
            f" {len(sources)} source-photo pairs) -> {share * 100_000 * 99_999 / 2:,.0f} per 100k"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--loose", type=int, default=20, help="widest stage-1 distance tried")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/verify-stage"))
    args = parser.parse_args()
    os.environ.setdefault("DEDUP_GUI_PLUGINS", "pillow_heif.HeifImagePlugin")
    truth = Truth.load(args.corpus)
    args.cache.mkdir(exist_ok=True)
    records, smalls = load(args.corpus, args.cache / "records.pkl")
    cands = candidates(records, args.loose)
    verdict_file = args.cache / f"verdicts-{args.loose}.pkl"
    if verdict_file.exists():
        verdicts, secs = pickle.loads(verdict_file.read_bytes())
    else:
        verdicts, secs = verify_all(smalls, records, cands, args.loose)
        verdict_file.write_bytes(pickle.dumps((verdicts, secs)))
    print(
        f"{len(cands)} candidates <= {args.loose}; verified all in {secs:.0f} s,"
        f" {1000 * secs / len(cands):.1f} ms per pair (1 process)"
    )
    settings = [Setting(8, 8, 2.0), Setting(10, 10, 2.0)]
    for loose in (16, args.loose):
        for certain in (8, -1):
            settings += [Setting(loose, certain, a) for a in (0.8, 0.85, 0.9)]
    rows = [(s, *run_setting(records, cands, verdicts, s, truth)) for s in settings]
    print(summary(rows))
    print(unrelated(records, cands, truth))


if __name__ == "__main__":
    main()
