"""Czkawka and dupeGuru on the accuracy corpus at their defaults, beside dedup-gui's default.

Usage (a venv with dedup-gui, pillow-heif and czkawka; Debian's `dupeguru` package installed):
  /tmp/acc-venv/bin/python benchmarks/accuracy/peers2.py /tmp/acc-corpus [--variants] [--old-peers]

- czkawka: PyPI `czkawka` 0.1.2, PyO3 bindings over czkawka_core 10's similar-images tool at the
  bindings' defaults (Gradient hash 8x8, Lanczos3, similarity 10 = max Hamming distance).
- dupeGuru: Debian's 4.3.1 engine in picture mode ("Contents" scan, filter hardness 95, pictures
  of different dimensions not matched), driven without its window (see ../peers_speed.py).
- dedup-gui: the engine's default (pHash 8, threshold 8, turned copies matched), as score.py
  runs it.
``--variants`` adds settings a user can pick in each peer's window: czkawka at similarity 5 and
15, dupeGuru with "match pictures of different dimensions" on, and at hardness 90; and two
diagnostic rows that bypass each peer's grouping: czkawka's hash with every pair <= 10 kept (its
groups are stars around one parent hash, each hash in one group), dupeGuru's matches before
its grouping (a group keeps only files that match its reference picture).
``--old-peers`` adds imagehash's plain loop and imagededup (peers.py). Groups are scored as a
user sees them: every pair inside a group is a predicted duplicate pair.
"""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from metrics import EXEMPT, Score, Truth, components, group_pairs, score
from peers_speed import czkawka_groups, dupeguru_scan
from score import SUMMARY_HEAD, engine_scores, hash_corpus, summary_row

from dedup_gui.core.model import HashAlgorithm, HashSettings

# The transforms a hash without turned matching cannot see, and the crops: shown first.
FOCUS = ("rotate_90", "rotate_180", "rotate_270", "mirror", "flip", "crop_5", "crop_10", "crop_20")


def _named(groups: list[list[str]]) -> list[list[str]]:
    return [[Path(p).name for p in g] for g in groups]


def _scored(truth: Truth, groups: list[list[str]]) -> Score:
    names = _named(groups)
    return score(truth, group_pairs(names), names)


def ours(images: Path, truth: Truth, workers: int) -> Iterator[tuple[str, Score]]:
    settings = HashSettings(HashAlgorithm.PHASH, 8)
    records = hash_corpus(images, settings, workers)
    yield (
        "dedup-gui default: phash:8 t. <= 8",
        engine_scores(records, truth, settings, [8], True)[8],
    )


def czkawka_hash_pairs(images: Path, limit: int) -> list[tuple[str, str]]:
    """Pairs of files whose czkawka hashes (the bindings' ``hash_image``) differ by <= ``limit``."""
    from czkawka import ImageSimilarity

    finder = ImageSimilarity()
    hashes = {}
    for path in sorted(images.iterdir()):
        try:
            raw = base64.b64decode(finder.hash_image(path) + "==")
        except OSError as exc:  # image-rs cannot open it (HEIC, AVIF)
            print(f"czkawka: {path.name}: {exc}", file=sys.stderr)
            continue
        hashes[path.name] = int.from_bytes(raw, "big")
    names = list(hashes)
    return [
        (a, b) for a, b in combinations(names, 2) if (hashes[a] ^ hashes[b]).bit_count() <= limit
    ]


def czkawka_runs(images: Path, truth: Truth, variants: bool) -> Iterator[tuple[str, Score]]:
    yield "czkawka default: gradient:8 <= 10", _scored(truth, czkawka_groups(images))
    for level in (5, 15) if variants else ():
        yield f"czkawka gradient:8 <= {level}", _scored(truth, czkawka_groups(images, level))
    if variants:  # the same hash with every close pair kept: what its grouping leaves out
        pairs = czkawka_hash_pairs(images, 10)
        yield "czkawka hash, all pairs <= 10", score(truth, pairs, components(truth.entries, pairs))


def dupeguru_runs(images: Path, truth: Truth, variants: bool) -> Iterator[tuple[str, Score]]:
    found = dupeguru_scan(images)
    print(f"dupeGuru collected {found['files']} of {len(truth.entries)} files", file=sys.stderr)
    yield "dupeGuru default: hardness 95", _scored(truth, found["groups"])
    if not variants:
        return
    pairs = [(Path(a).name, Path(b).name) for a, b, _ in found["matches"]]
    yield (
        "dupeGuru 95, matches (no groups)",
        score(truth, pairs, components(truth.entries, pairs)),
    )
    for hardness in (95, 90):
        found = dupeguru_scan(images, hardness, match_scaled=True)
        yield f"dupeGuru {hardness} + diff. dimensions", _scored(truth, found["groups"])


def recall_table(rows: list[tuple[str, Score]]) -> str:
    """Per-transform recall (copy grouped with its original), one column per setting."""
    first = rows[0][1]
    order = [t for t in FOCUS if t in first.copy_recall]
    order += [t for t in first.copy_recall if t not in FOCUS]
    head = "| transform       | " + " | ".join(f"{i + 1:>5}" for i in range(len(rows))) + " |"
    lines = ["\n### Recall per transform (copy grouped with its original)\n", head]
    lines.append("|-----------------|" + "|".join("-------" for _ in rows) + "|")
    for transform in order:
        mark = "*" if transform in EXEMPT else " "
        cells = " | ".join(f"{s.copy_recall[transform]:5.2f}" for _, s in rows)
        lines.append(f"| {transform + mark:<15} | {cells} |")
    lines.append(
        "\nColumns: " + "; ".join(f"{i + 1} = {label}" for i, (label, _) in enumerate(rows))
    )
    lines.append("`*` exempt from the recall >= 0.9 target (crops over 10 %, screenshots).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--variants", action="store_true", help="non-default peer settings too")
    parser.add_argument("--old-peers", action="store_true", help="imagehash loop, imagededup")
    args = parser.parse_args()

    truth = Truth.load(args.corpus)
    images = args.corpus / "images"
    rows = list(ours(images, truth, args.workers))
    rows += czkawka_runs(images, truth, args.variants)
    rows += dupeguru_runs(images, truth, args.variants)
    if args.old_peers:
        from peers import run_peers

        rows += run_peers(images, truth)
    n = len(truth.entries)
    print(f"### Summary ({n} files, {truth.positives()} same-photo pairs)\n")
    print(SUMMARY_HEAD)
    print("\n".join(summary_row(label, s) for label, s in rows))
    print(recall_table(rows))


if __name__ == "__main__":
    main()
