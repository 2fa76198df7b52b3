"""Prototype: extra crop-tolerant hash entries per picture, scored as stage-1 keys on the corpus.

Usage:
  python benchmarks/accuracy/crop_entries.py CORPUS [--designs base centre70 ...] [--verify]

Each picture keeps the engine's pHash 8 entries (upright hash, canonical-turn entries, from the
records verify_stage.py caches) and gains a design's extra entries: pHash 8 of windows of its small
upright decode (centred windows, a scale ladder, shifted sub-windows), of a blurred copy, or
imagehash's crop-resistant segment hashes. A pair is a candidate when ANY of its entry pairs is
within the radius (upright entries against upright ones, canonical-turn entries against
canonical-turn ones, segments against segments). Reports candidate recall per transform, the
unrelated candidates among the corpus's 120 distinct pictures (and a normal-fit extrapolation to
100k photos), and with ``--verify`` P / R / F1 when every candidate is checked by verify_stage's
``verify`` (accept 0.85, verdicts cached under /tmp/verify-stage/crop-verdicts.pkl).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).parent))

from metrics import Truth, group_pairs, score
from verify_stage import leader_groups, load, verify

from dedup_gui.core.model import ImageRecord, Turn
from dedup_gui.core.turning import apply_turn, entries

Box = tuple[float, float, float, float]  # left, top, right, bottom as shares of the picture
Hashes = list[tuple[Turn, int]]  # (turn, 64-bit hash) entries of one picture in one space
RADII = (6, 8, 10)
ACCEPT = 0.85  # verify_stage's recommended median-block acceptance
PAIRS_100K = 100_000 * 99_999 / 2
FOCUS = ["crop_5", "crop_10", "crop_20", "watermark", "text_overlay", "screenshot"]


def centred(share: float) -> Box:
    m = (1 - share) / 2
    return (m, m, 1 - m, 1 - m)


def shifted(share: float, dx: float, dy: float) -> Box:
    """A ``share`` window moved from the centre by ``dx``, ``dy`` of the picture's size."""
    x0, y0, _, _ = centred(share)
    return (x0 + dx, y0 + dy, x0 + dx + share, y0 + dy + share)


# Window designs: extra entries are the pHash of each window of the (turned) small picture.
WINDOWS: dict[str, list[Box]] = {
    "base": [],
    "centre70": [centred(0.7)],
    "ladder": [centred(0.9), centred(0.8)],
    "ladder3": [centred(0.9), centred(0.8), centred(0.7)],
    "ladder4": [centred(0.95), centred(0.9), centred(0.85), centred(0.8)],
    "subwin5": [centred(0.7)] + [shifted(0.7, dx, dy) for dx in (-0.1, 0.1) for dy in (-0.1, 0.1)],
}
SPECIAL = ("blur", "crop_resistant")


def to_int(h: bytes) -> int:
    return int.from_bytes(h, "big")


def phash(img: Image.Image) -> int:
    return to_int(np.packbits(imagehash.phash(img, hash_size=8).hash.flatten()).tobytes())


def window_hashes(img: Image.Image, boxes: Sequence[Box]) -> list[int]:
    w, h = img.size
    return [
        phash(img.crop((round(a * w), round(b * h), round(c * w), round(d * h))))
        for a, b, c, d in boxes
    ]


def extras(img: Image.Image, design: str) -> list[int]:
    """The design's extra hashes of ``img`` (already turned as wanted)."""
    if design == "blur":
        return [phash(img.filter(ImageFilter.GaussianBlur(img.width / 64)))]
    return window_hashes(img, WINDOWS[design])


def segments(img: Image.Image) -> list[int]:
    """imagehash's crop-resistant hash as the engine makes it (dhash 8 segments, at most 16)."""
    multi = imagehash.crop_resistant_hash(
        img,
        hash_func=functools.partial(imagehash.dhash, hash_size=8),
        limit_segments=16,
        segmentation_image_size=300,
    )
    return [to_int(np.packbits(s.hash.flatten()).tobytes()) for s in multi.segment_hashes]


def spaces(
    records: Sequence[ImageRecord], smalls: dict[str, Image.Image], design: str
) -> dict[str, list[Hashes]]:
    """Per space (U upright, C canonical turns, S segments), each picture's entries."""
    up: list[Hashes] = []
    canon: list[Hashes] = []
    segs: list[Hashes] = []
    # "-c": extra entries in the canonical turns only (the upright space keeps its one hash);
    # "-u": in the upright space only (turned copies are then found by whole-picture hashes).
    extra_design = design.removesuffix("-c").removesuffix("-u")
    extra_design = extra_design if design != "crop_resistant" else "base"
    for r in records:
        small = smalls[r.path.name]
        up.append([(Turn.NONE, to_int(r.perceptual_hash))])
        if not design.endswith("-c"):
            up[-1] += [(Turn.NONE, h) for h in extras(small, extra_design)]
        canon.append([])
        for turn, h in entries(r.turned, 8) or [(Turn.NONE, r.perceptual_hash)]:
            turned = apply_turn(small, turn)
            more = [] if design.endswith("-u") else extras(turned, extra_design)
            canon[-1] += [(turn, to_int(h))] + [(turn, x) for x in more]
        if design == "crop_resistant":
            segs.append([(Turn.NONE, s) for s in segments(small)] or up[-1][:1])
    out = {"U": up, "C": canon}
    if segs:
        out["S"] = segs
    return out


def min_distance(lists: Sequence[Hashes]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Per pair of pictures: the smallest distance between their entries, and which entries."""
    n, k = len(lists), max(len(x) for x in lists)
    padded = [x + [x[0]] * (k - len(x)) for x in lists]  # repeats change no minimum
    h = np.array([[v for _, v in x] for x in padded], dtype=np.uint64).reshape(-1)
    best = np.full((n, n), 99, dtype=np.int32)
    arg = np.zeros((n, n), dtype=np.int64)
    step = max(1, 4_000_000 // (n * k * k))
    for i0 in range(0, n, step):
        block = h[i0 * k : (i0 + step) * k]
        d = np.bitwise_count(block[:, None] ^ h[None, :]).astype(np.int32)
        d = d.reshape(-1, k, n, k).transpose(0, 2, 1, 3).reshape(-1, n, k * k)
        best[i0 : i0 + step] = d.min(2)
        arg[i0 : i0 + step] = d.argmin(2)
    return best, arg


def entry_distances(lists: Sequence[Hashes], pairs: Sequence[tuple[int, int]]) -> list[int]:
    """Every entry-pair distance over ``pairs`` (for a per-entry-pair fit)."""
    out: list[int] = []
    for i, j in pairs:
        out += [bin(a ^ b).count("1") for _, a in lists[i] for _, b in lists[j]]
    return out


class Design:
    """One design's entries, per-space distances, and the orientations to verify a pair in."""

    def __init__(self, name: str, records: Sequence[ImageRecord], smalls: dict[str, Image.Image]):
        started = time.perf_counter()
        self.name = name
        self.lists = spaces(records, smalls, name)
        self.secs = time.perf_counter() - started
        self.dist = {s: min_distance(v) for s, v in self.lists.items()}
        self.near = np.minimum.reduce([d for d, _ in self.dist.values()])

    def stored(self) -> float:
        """Entries per picture, all spaces (the engine today: upright hash + turned entries)."""
        return sum(len(x) for v in self.lists.values() for x in v) / len(self.lists["U"])

    def orientations(self, i: int, j: int, radius: int) -> list[tuple[Turn, Turn]]:
        out = []
        if self.dist["U"][0][i, j] <= radius or ("S" in self.dist and self.near[i, j] <= radius):
            out.append((Turn.NONE, Turn.NONE))
        d, arg = self.dist["C"]
        if d[i, j] <= radius:
            k = max(len(x) for x in self.lists["C"])
            a, b = divmod(int(arg[i, j]), k)
            li, lj = self.lists["C"][i], self.lists["C"][j]
            pair = (li[min(a, len(li) - 1)][0], lj[min(b, len(lj) - 1)][0])
            if pair not in out:
                out.append(pair)
        return out


# --- measures ------------------------------------------------------------------------------------


def recall_rows(d: Design, records: Sequence[ImageRecord], truth: Truth) -> dict[str, list[float]]:
    """Per transform and radius: share of copies that are a candidate with their original."""
    index = {r.path.name: k for k, r in enumerate(records)}
    originals = truth.original_file()
    hits: dict[str, list[list[bool]]] = {}
    for name, e in truth.entries.items():
        if e["transform"] in ("original", "tile", "burst") or name not in index:
            continue
        i, j = index[name], index[originals[e["original"]]]
        near = d.near[i, j] if i != j else 0
        hits.setdefault(e["transform"], []).append([near <= r for r in RADII])
    return {
        t: [float(np.mean([h[k] for h in v])) for k in range(len(RADII))] for t, v in hits.items()
    }


def distinct_pairs(records: Sequence[ImageRecord], truth: Truth) -> list[tuple[int, int]]:
    """Pairs of the 120 distinct pictures (originals, tiles, bursts) from different sources."""
    kinds = ("original", "tile", "burst")
    pick = [k for k, r in enumerate(records) if truth.entries[r.path.name]["transform"] in kinds]
    src = {k: truth.entries[records[k].path.name]["original"].split("~")[0] for k in pick}
    return [(a, b) for x, a in enumerate(pick) for b in pick[x + 1 :] if src[a] != src[b]]


def normal_tail(values: Sequence[int], radius: int) -> float:
    mu, sd = float(np.mean(values)), float(np.std(values))
    return 0.5 * math.erfc((mu - radius - 0.5) / (sd * math.sqrt(2)))


def unrelated_row(d: Design, pairs: Sequence[tuple[int, int]]) -> dict[str, object]:
    """Observed unrelated candidates, and two extrapolations to 100k photos."""
    mins = [int(d.near[i, j]) for i, j in pairs]
    per_entry: list[int] = []
    entry_pairs = 0
    for lists in d.lists.values():
        per_entry += entry_distances(lists, pairs)
        entry_pairs += sum(len(lists[i]) * len(lists[j]) for i, j in pairs)
    ratio = entry_pairs / len(pairs)  # entry pairs compared per picture pair
    row: dict[str, object] = {"mean": np.mean(mins), "sd": np.std(mins), "k2": ratio}
    for r in (*RADII, 12):
        row[f"seen{r}"] = sum(m <= r for m in mins)
        row[f"fit{r}"] = normal_tail(mins, r) * PAIRS_100K
        row[f"union{r}"] = min(1.0, ratio * normal_tail(per_entry, r)) * PAIRS_100K
    return row


# --- verification --------------------------------------------------------------------------------

Key = tuple[int, int, int, int]


def verdicts_for(
    d: Design,
    records: Sequence[ImageRecord],
    smalls: dict[str, Image.Image],
    radius: int,
    cache: dict[Key, float],
) -> dict[tuple[int, int], float]:
    """Best median-block score per candidate pair at ``radius`` (new verdicts go in ``cache``)."""
    turned: dict[tuple[str, Turn], Image.Image] = {}

    def img(k: int, t: Turn) -> Image.Image:
        name = records[k].path.name
        if (name, t) not in turned:
            turned[(name, t)] = apply_turn(smalls[name], t)
        return turned[(name, t)]

    out = {}
    ii, jj = np.nonzero(np.triu(d.near <= radius, 1))
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        if records[i].content_hash == records[j].content_hash:
            continue  # exact copies: one node in the engine
        scores = []
        for ta, tb in d.orientations(i, j, radius):
            key = (i, j, int(ta), int(tb))
            if key not in cache:
                cache[key] = verify(img(i, ta), img(j, tb)).median_block
            scores.append(cache[key])
        out[(i, j)] = max(scores)
    return out


def verified_score(
    records: Sequence[ImageRecord], scores: dict[tuple[int, int], float], truth: Truth
) -> tuple[str, object]:
    """Candidates (of them between different photos), and the score after verification."""
    photo = [truth.entries[r.path.name]["original"] for r in records]
    other = sum(photo[i] != photo[j] for i, j in scores)
    edges = {p for p, s in scores.items() if s >= ACCEPT}
    groups = leader_groups(records, edges)
    return f"{len(scores)} ({other})", score(truth, group_pairs(groups), groups)


# --- report --------------------------------------------------------------------------------------


def report_recall(designs: Sequence[Design], rows: dict[str, dict[str, list[float]]]) -> None:
    print("\n### Candidate recall (copy within radius of its original, any entry pair)\n")
    head = " | ".join(f"{t} {r}" for t in FOCUS for r in RADII)
    print(f"| design | entries/picture | hash ms | {head} | others min |")
    print("|---|---|---|" + "---|" * (len(FOCUS) * len(RADII) + 1))
    for d in designs:
        rec = rows[d.name]
        cells = " | ".join(f"{rec[t][k]:.2f}" for t in FOCUS for k in range(len(RADII)))
        others = min(v[0] for t, v in rec.items() if t not in FOCUS)
        ms = 1000 * d.secs / len(d.lists["U"])
        print(f"| {d.name} | {d.stored():.2f} | {ms:.1f} | {cells} | {others:.2f} |")


def report_unrelated(designs: Sequence[Design], rows: dict[str, dict[str, object]]) -> None:
    print("\n### Unrelated candidates: 120 distinct pictures, pairs from different sources\n")
    radii = (*RADII, 12)
    cols = " | ".join(f"<= {r} seen / fit / union" for r in radii)
    print(f"| design | min-dist mean | sd | entry pairs per pair | {cols} |")
    print("|---|---|---|---|" + "---|" * len(radii))
    for d in designs:
        u = rows[d.name]
        cells = " | ".join(
            f"{u[f'seen{r}']} / {u[f'fit{r}']:,.0f} / {u[f'union{r}']:,.0f}" for r in radii
        )
        print(f"| {d.name} | {u['mean']:.1f} | {u['sd']:.2f} | {u['k2']:.1f} | {cells} |")


def report_verified(rows: list[tuple[str, int, str, object]]) -> None:
    print(f"\n### Every candidate verified (accept {ACCEPT}), engine leader grouping\n")
    print(
        "| design | radius | candidates (unrelated) | P | R | F1 | purity | burst | tiles |"
        + "".join(f" {t} |" for t in FOCUS)
        + " worst required |"
    )
    print("|---|---|---|---|---|---|---|---|---|" + "---|" * (len(FOCUS) + 1))
    for name, radius, n, sc in rows:
        worst, wr = sc.worst_required()  # type: ignore[attr-defined]
        cells = "".join(f" {sc.copy_recall[t]:.2f} |" for t in FOCUS)  # type: ignore[attr-defined]
        print(
            f"| {name} | {radius} | {n} | {sc.precision:.3f} | {sc.recall:.3f} | {sc.f1:.3f}"  # type: ignore[attr-defined]
            f" | {sc.purity:.3f} | {sc.hard_negatives['burst']} | {sc.hard_negatives['tile']}"  # type: ignore[attr-defined]
            f" |{cells} {wr:.2f} {worst} |"
        )


def main(argv: Sequence[str] | None = None, out: Callable[..., None] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--designs", nargs="+", default=["base", *WINDOWS.keys() - {"base"}])
    parser.add_argument("--verify", nargs="*", default=None, help="designs to verify")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/verify-stage"))
    args = parser.parse_args(argv)
    os.environ.setdefault("DEDUP_GUI_PLUGINS", "pillow_heif.HeifImagePlugin")
    truth = Truth.load(args.corpus)
    args.cache.mkdir(exist_ok=True)
    records, smalls = load(args.corpus, args.cache / "records.pkl")
    designs = [Design(n, records, smalls) for n in args.designs]
    report_recall(designs, {d.name: recall_rows(d, records, truth) for d in designs})
    pairs = distinct_pairs(records, truth)
    out(f"\n{len(pairs)} distinct-picture pairs from different sources")
    report_unrelated(designs, {d.name: unrelated_row(d, pairs) for d in designs})
    if args.verify is None:
        return
    cache_file = args.cache / "crop-verdicts.pkl"
    cache: dict[Key, float] = pickle.loads(cache_file.read_bytes()) if cache_file.exists() else {}
    rows = []
    for d in designs:
        if args.verify and d.name not in args.verify:
            continue
        for radius in RADII:
            scores = verdicts_for(d, records, smalls, radius, cache)
            cache_file.write_bytes(pickle.dumps(cache))
            rows.append((d.name, radius, *verified_score(records, scores, truth)))
    report_verified(rows)


if __name__ == "__main__":
    main()
