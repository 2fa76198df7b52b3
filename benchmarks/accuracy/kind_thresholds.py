"""Measure pHash distances of copies and of hard negatives, to choose the "same picture" limit.

Usage: python benchmarks/accuracy/kind_thresholds.py CORPUS [--limits 2 4 6 8 10]

CORPUS is the accuracy corpus (make_corpus.py): CORPUS/images and CORPUS/manifest.json. Every
file is hashed once with the engine's own ``hashing.hash_file`` (phash 8, EXIF orientation
applied). Each copy is measured against its photo's original file; each hard negative (burst
frames, non-overlapping tiles, the stereo pair) against the file it is a negative of. Two
distances per pair: "upright" is the engine's plain hash distance; "turned" is the smallest
distance over the 8 rotations/mirrors of the copy (imagehash's phash on the EXIF-upright image),
i.e. what rotation matching sees. Prints Markdown tables: distance spread per transform, and the
share of each transform (and of negatives) at or under each candidate limit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import imagehash
import pillow_heif
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).parent))

from metrics import NEGATIVE_KINDS, Truth

from dedup_gui.core.hashing import HashTask, hash_file, init_worker
from dedup_gui.core.model import FileInfo, HashSettings

pillow_heif.register_heif_opener()

_TURNS = (
    None,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.TRANSVERSE,
)
# Copies that are not "the same picture" by design: kept in the table, marked, left out of the
# choice (crops over 10 % and screenshots are exempt from the recall targets as well).
EXEMPT = frozenset({"crop_20", "screenshot"})


def engine_hash(path: Path) -> int:
    st = path.stat()
    result = hash_file(HashTask(FileInfo(path, st.st_size, st.st_mtime_ns), HashSettings()))
    assert result.perceptual_hash is not None
    return int.from_bytes(result.perceptual_hash, "big")


def turned_hashes(path: Path) -> list[imagehash.ImageHash]:
    with Image.open(path) as src:
        img = ImageOps.exif_transpose(src).convert("RGB")
    img.thumbnail((64, 64), Image.Resampling.LANCZOS)  # as the engine decodes small
    return [imagehash.phash(img if t is None else img.transpose(t)) for t in _TURNS]


def measure(corpus: Path) -> dict[str, list[tuple[int, int]]]:
    """Transform (or negative kind) -> (upright, turned) distances of its pairs."""
    truth = Truth.load(corpus)
    images = corpus / "images"
    names = sorted(truth.entries)
    upright = {n: engine_hash(images / n) for n in names}
    turned = {n: turned_hashes(images / n) for n in names}
    originals = truth.original_file()
    out: dict[str, list[tuple[int, int]]] = {}

    def add(kind: str, a: str, b: str) -> None:
        plain = (upright[a] ^ upright[b]).bit_count()
        best = min(turned[a][0] - h for h in turned[b])
        out.setdefault(kind, []).append((plain, int(best)))

    for name, entry in truth.entries.items():
        transform = entry["transform"]
        if transform not in ("original", *NEGATIVE_KINDS):
            add(transform, originals[entry["original"]], name)
    for kind in NEGATIVE_KINDS:
        label = f"NEG {kind}"
        for a, b in sorted(truth.hard_negative_pairs(kind)):
            add(label, a, b)
    return out


def _spread(values: Sequence[int]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    p10 = ordered[round(0.1 * (len(ordered) - 1))]
    med = statistics.median(ordered)
    return f"{ordered[0]:>3} | {p10:>3} | {med:>5.1f} | {p90:>3} | {ordered[-1]:>3}"


def table(dists: dict[str, list[tuple[int, int]]], limits: list[int], column: int) -> str:
    head = "| pairs            |   n | min | p10 |   med | p90 | max | " + " | ".join(
        f"<={t:<2}" for t in limits
    )
    lines = [head + " |", "|" + "---|" * (7 + len(limits))]
    for kind, pairs in dists.items():
        values = [p[column] for p in pairs]
        shares = " | ".join(f"{sum(v <= t for v in values) / len(values):4.2f}" for t in limits)
        mark = "*" if kind in EXEMPT else " "
        lines.append(f"| {kind + mark:<16} | {len(values):>3} | {_spread(values)} | {shares} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--limits", type=int, nargs="+", default=[2, 4, 6, 8, 10, 12])
    args = parser.parse_args()
    os.environ.setdefault("DEDUP_GUI_PLUGINS", "pillow_heif.HeifImagePlugin")
    init_worker(frozenset(), ("pillow_heif.HeifImagePlugin",))
    dists = measure(args.corpus)
    print("### Upright distance (engine hash_file, phash 8)\n")
    print(table(dists, args.limits, 0))
    print("\n### Best-turn distance (min over 8 rotations/mirrors, imagehash phash 8)\n")
    print(table(dists, args.limits, 1))
    print("\n`*` not expected to be the same picture (crop over 10 %, screenshot).")


if __name__ == "__main__":
    main()
