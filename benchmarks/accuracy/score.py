"""Score dedup-gui's real engine (and peers) on the accuracy corpus; prints Markdown tables.

Usage:
  python benchmarks/accuracy/score.py CORPUS [--algorithm phash --hash-size 8]
         [--thresholds 0 2 4 ... 16] [--matrix] [--peers] [--turned on|off|both]
         [--crops on|off|both]

Hashes once per (algorithm, hash size) with ``run_scan`` (a temp DB, the real worker pool and
decoder), then re-groups the stored records with ``group_by_distance`` at each threshold: the
same grouping a scan at that threshold does. Groups become predicted pairs (all pairs inside a
group). ``--matrix`` runs phash 8, dhash 8, whash 8, phash 16; ``--peers`` adds imagehash's
plain loop and imagededup (see peers.py). ``--turned`` groups with rotated/mirrored matching
on (the engine's default, ``ScanRequest.match_turned``), off, or both from the same hashes;
``--crops`` likewise for cropped/captioned/watermarked matching (``ScanRequest.match_crops``,
the crop ladder). Matches through a turn or the ladder are checked in fine detail, as a scan
checks them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from metrics import EXEMPT, Score, Truth, group_pairs, score

from dedup_gui.core.grouping import group_by_distance
from dedup_gui.core.hashing import segment_bytes
from dedup_gui.core.match_check import check_matches
from dedup_gui.core.model import Group, HashAlgorithm, HashSettings, ImageRecord, ScanRequest
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store

MATRIX = [("phash", 8), ("dhash", 8), ("whash", 8), ("phash", 16)]
DEFAULT_THRESHOLDS = [0, 2, 4, 6, 8, 10, 12, 14, 16]


def hash_corpus(images: Path, settings: HashSettings, workers: int) -> list[ImageRecord]:
    """Scan ``images`` with a fresh store; every record the engine stored."""
    os.environ.setdefault("DEDUP_GUI_PLUGINS", "pillow_heif.HeifImagePlugin")
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "acc.sqlite3") as store:
        report = run_scan(
            ScanRequest(roots=(images,), hashing=settings, max_distance=0, workers=workers), store
        )
        for problem in report.problems:
            print(f"problem: {problem.path.name}: {problem.detail}", file=sys.stderr)
        return list(store.load_records(settings).values())


TURNED_CHOICES = {"on": (True,), "off": (False,), "both": (False, True)}


def engine_scores(
    records: list[ImageRecord],
    truth: Truth,
    settings: HashSettings,
    thresholds: list[int],
    match_turned: bool,
    match_crops: bool,
    workers: int = 2,
) -> dict[int, Score]:
    """Scores of grouping ``records`` at each threshold, as a scan with these settings groups
    (members checked in fine detail, as ``run_scan`` does after grouping at that threshold)."""
    out = {}
    for t in thresholds:
        request = ScanRequest(roots=(), hashing=settings, max_distance=t, workers=workers)

        def group(records: list[ImageRecord], t: int = t) -> list[Group]:
            return group_by_distance(
                records,
                t,
                segment_bytes=segment_bytes(settings),
                match_turned=match_turned,
                match_crops=match_crops,
            )

        groups, _ = check_matches(group(records), request, regroup=group)
        names = [[m.record.path.name for m in g.members] for g in groups]
        out[t] = score(truth, group_pairs(names), names)
    return out


def summary_row(label: str, s: Score) -> str:
    worst, worst_r = s.worst_required()
    return (
        f"| {label:<33} | {s.precision:5.3f} | {s.recall:5.3f} | {s.f1:5.3f}"
        f" | {s.orig_copy_f1:5.3f}"
        f" | {s.purity:5.3f} | {s.hard_negatives['burst']:>5} | {s.hard_negatives['tile']:>5}"
        f" | {worst_r:4.2f} {worst:<15} |"
    )


SUMMARY_HEAD = (
    "| setting                           | P     | R     | F1    | F1 o-c | purity | burst | tiles"
    " | worst required recall |\n"
    "|-----------------------------------|-------|-------|-------|--------|--------|-------|-------"
    "|-----------------------|"
)


def transform_table(label: str, scores: dict[int, Score]) -> str:
    """Recall of each transform (copy found with its original) at every threshold."""
    ts = list(scores)
    first = next(iter(scores.values()))
    lines = [f"\n### {label}: recall per transform (copy grouped with its original)\n"]
    lines.append("| transform       | " + " | ".join(f"{t:>4}" for t in ts) + " |")
    lines.append("|-----------------|" + "|".join("------" for _ in ts) + "|")
    for transform in first.copy_recall:
        mark = "*" if transform in EXEMPT else " "
        cells = " | ".join(f"{scores[t].copy_recall[transform]:4.2f}" for t in ts)
        lines.append(f"| {transform + mark:<15} | {cells} |")
    lines.append(
        "| precision       | " + " | ".join(f"{scores[t].precision:4.2f}" for t in ts) + " |"
    )
    lines.append("| F1 (all pairs)  | " + " | ".join(f"{scores[t].f1:4.2f}" for t in ts) + " |")
    lines.append("\n`*` exempt from the recall >= 0.9 target (crops over 10 %, screenshots).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--algorithm", default="phash", choices=[a.value for a in HashAlgorithm])
    parser.add_argument("--hash-size", type=int, default=8)
    parser.add_argument("--thresholds", type=int, nargs="+", default=DEFAULT_THRESHOLDS)
    parser.add_argument("--matrix", action="store_true", help="phash 8, dhash 8, whash 8, phash 16")
    parser.add_argument("--peers", action="store_true", help="also imagehash loop, imagededup")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--turned",
        choices=list(TURNED_CHOICES),
        default="on",
        help="rotated/mirrored matching (on is the engine's default); both: off, then on",
    )
    parser.add_argument(
        "--crops",
        choices=list(TURNED_CHOICES),
        default="on",
        help="cropped/captioned matching (on is the engine's default); both: off, then on",
    )
    args = parser.parse_args()

    truth = Truth.load(args.corpus)
    images = args.corpus / "images"
    settings_list = MATRIX if args.matrix else [(args.algorithm, args.hash_size)]
    summary: list[str] = []
    for algo, size in settings_list:
        settings = HashSettings(HashAlgorithm(algo), size)
        started = time.perf_counter()
        records = hash_corpus(images, settings, args.workers)
        hashed = time.perf_counter() - started
        print(f"{settings.key}: {len(records)} files hashed in {hashed:.1f} s", file=sys.stderr)
        for turned in TURNED_CHOICES[args.turned]:
            for crops in TURNED_CHOICES[args.crops]:
                label = f"dedup-gui {settings.key}{' turned' if turned else ''}"
                label += " crops" if crops else ""
                scores = engine_scores(
                    records, truth, settings, args.thresholds, turned, crops, args.workers
                )
                print(transform_table(label, scores))
                summary += [summary_row(f"{label} <= {t}", s) for t, s in scores.items()]
    if args.peers:
        from peers import run_peers

        for label, s in run_peers(images, truth):
            summary.append(summary_row(label, s))
    n = len(truth.entries)
    print(f"\n### Summary ({n} files, {truth.positives()} same-photo pairs)\n")
    print(SUMMARY_HEAD)
    print("\n".join(summary))


if __name__ == "__main__":
    main()
