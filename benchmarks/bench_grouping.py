"""Speed and peak memory of find_candidate_pairs and group_by_distance on synthetic 64-bit hashes.

Usage: python benchmarks/bench_grouping.py [--sizes 10000 100000 1000000] [--distance 8]
       [--entries 1.14] [--ladder]

The hashes are uniform random, except 10% of them, which sit in planted clusters of 2-5 hashes
made from one random centre with 0-8 bits flipped each. Each size runs in its own process, so
the peak RSS (getrusage ru_maxrss) is that size's alone: after find_candidate_pairs, after
building the ImageRecords that group_by_distance takes (~0.6 KB each, not timed), and at the end.

Then group_by_distance again with ``match_turned=True`` ("turned s"): each record gets ``turned``
entries, ``--entries`` of them on average (1 + a random share with a 2nd, 3rd ... entry). An entry
is the record's hash with a fixed bit permutation and mask, the same for all records, so copies'
entries are as near each other as their hashes; turn bytes are random. As in real photos, 1 in 8
records is canonical upright: its first entry is its upright hash.
The 1.14 default is what the accuracy corpus gives at turning.AMBIGUITY_MARGIN (0.02; measured by
turn_stability.py). Grouping then runs two searches: the upright hashes, as with it off, and the
entries.

With ``--ladder``, group_by_distance a third time with ``match_turned=True, match_crops=True`` (a
scan's defaults; "ladder s"): each record also gets a crop ladder of 3 rungs, each its hash with
another fixed bit permutation and mask, so copies' rungs are as near each other as their hashes.
The peak RSS is then reported before ("turned MB") and after ("ladder MB") that grouping.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dedup_gui.core.grouping import group_by_distance
from dedup_gui.core.hamming import find_candidate_pairs
from dedup_gui.core.model import ImageRecord


def make_hashes(n: int, seed: int = 0) -> np.ndarray:
    """n random 8-byte hashes, 10% of them in clusters of 2-5 within 0-8 flipped bits."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 256, size=(n, 8), dtype=np.uint8)
    clustered = n // 10
    row = 0
    while row < clustered:
        size = min(int(rng.integers(2, 6)), clustered - row)
        centre = np.unpackbits(hashes[row])
        for member in range(row + 1, row + size):
            bits = centre.copy()
            bits[rng.choice(64, size=int(rng.integers(0, 9)), replace=False)] ^= 1
            hashes[member] = np.packbits(bits)
        row += size
    return hashes[rng.permutation(n)]


def make_records(hashes: np.ndarray) -> list[ImageRecord]:
    return [
        ImageRecord(
            path=Path(f"/photos/{k:07d}.jpg"),
            size=100_000 + k % 977,
            mtime_ns=0,
            content_hash=k.to_bytes(16, "big"),
            perceptual_hash=row.tobytes(),
            width=4000,
            height=3000,
            format="JPEG",
            date_taken=None,
        )
        for k, row in enumerate(hashes)
    ]


def with_turned(
    records: list[ImageRecord], hashes: np.ndarray, mean_entries: float
) -> list[ImageRecord]:
    """``records`` with synthetic ``turned`` entries, ``mean_entries`` per record on average."""
    rng = np.random.default_rng(1)
    n = len(hashes)
    extra = np.floor(mean_entries - 1 + rng.random(n)).astype(int)  # mean: mean_entries - 1
    bits = np.unpackbits(hashes, axis=1)
    others = []
    for _ in range(1 + int(extra.max(initial=0))):
        perm, mask = rng.permutation(64), rng.integers(0, 2, 64, dtype=np.uint8)
        others.append(np.packbits(bits[:, perm] ^ mask, axis=1))
    upright = rng.random(n) < 1 / 8
    others[0][upright] = hashes[upright]
    turns = rng.integers(0, 8, size=(n, len(others)), dtype=np.uint8)
    # In place: a second list of 1M records would count in the peak RSS as if grouping used it.
    for k, record in enumerate(records):
        blob = b"".join(bytes([turns[k, e]]) + others[e][k].tobytes() for e in range(1 + extra[k]))
        records[k] = replace(record, turned=blob)
    return records


def with_ladder(records: list[ImageRecord], hashes: np.ndarray) -> list[ImageRecord]:
    """``records`` with synthetic 3-rung ``ladder`` hashes (in place, as ``with_turned``)."""
    rng = np.random.default_rng(2)
    bits = np.unpackbits(hashes, axis=1)
    rungs = []
    for _ in range(3):
        perm, mask = rng.permutation(64), rng.integers(0, 2, 64, dtype=np.uint8)
        rungs.append(np.packbits(bits[:, perm] ^ mask, axis=1))
    ladders = np.concatenate(rungs, axis=1)
    for k, record in enumerate(records):
        records[k] = replace(record, ladder=ladders[k].tobytes())
    return records


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_one(n: int, distance: int, entries: float, ladder: bool) -> dict[str, float]:
    """Times one size in this process."""
    hashes = make_hashes(n)
    started = time.perf_counter()
    i, _, _ = find_candidate_pairs(hashes, distance)
    pairs_s = time.perf_counter() - started
    pairs_rss = peak_rss_mb()
    records = make_records(hashes)
    records_rss = peak_rss_mb()
    started = time.perf_counter()
    groups = group_by_distance(records, distance)
    group_s = time.perf_counter() - started
    group_count = len(groups)
    del groups
    records = with_turned(records, hashes, entries)
    started = time.perf_counter()
    turned_groups = group_by_distance(records, distance, match_turned=True)
    turned_s = time.perf_counter() - started
    turned_rss = peak_rss_mb()
    turned_count = len(turned_groups)
    del turned_groups
    ladder_groups, ladder_s = 0, 0.0
    if ladder:
        records = with_ladder(records, hashes)
        started = time.perf_counter()
        found = group_by_distance(records, distance, match_turned=True, match_crops=True)
        ladder_s = time.perf_counter() - started
        ladder_groups = len(found)
    return {
        "n": n,
        "pairs": len(i),
        "pairs_s": pairs_s,
        "pairs_rss_mb": pairs_rss,
        "records_rss_mb": records_rss,
        "groups": group_count,
        "group_s": group_s,
        "turned_groups": turned_count,
        "turned_s": turned_s,
        "turned_rss_mb": turned_rss,
        "ladder_groups": ladder_groups,
        "ladder_s": ladder_s,
        "rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--distance", type=int, default=8)
    parser.add_argument("--entries", type=float, default=1.14, help="turned entries per record")
    parser.add_argument("--ladder", action="store_true", help="also time match_crops")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.distance, args.entries, args.ladder)))
        return
    print(f"threshold {args.distance} bits of 64; numpy {np.__version__}; {os.cpu_count()} cores")
    print(f"turned: {args.entries} entries per record")
    header = ("n", "pairs", "find_pairs s", "peak RSS MB", "+records MB", "groups", "group_by s")
    header += ("groups", "turned s", "turned MB", "groups", "ladder s", "ladder MB")
    print(
        "{:>9} {:>8} {:>13} {:>12} {:>12} {:>8} {:>11} {:>8} {:>9} {:>10}".format(*header[:10]),
        end="",
    )
    print(" {:>8} {:>9} {:>10}".format(*header[10:]))
    for n in args.sizes:
        command = [sys.executable, __file__, "--one", str(n), "--distance", str(args.distance)]
        command += ["--entries", str(args.entries)] + (["--ladder"] if args.ladder else [])
        result = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
        print(
            f"{result['n']:>9} {result['pairs']:>8} {result['pairs_s']:>13.2f} "
            f"{result['pairs_rss_mb']:>12.0f} {result['records_rss_mb']:>12.0f} "
            f"{result['groups']:>8} {result['group_s']:>11.2f} {result['turned_groups']:>8} "
            f"{result['turned_s']:>9.2f} {result['turned_rss_mb']:>10.0f} "
            f"{result['ladder_groups']:>8} {result['ladder_s']:>9.2f} {result['rss_mb']:>10.0f}"
        )


if __name__ == "__main__":
    main()
