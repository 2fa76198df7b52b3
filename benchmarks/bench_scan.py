"""Cold-scan speed of `dedup-gui scan` on camera JPEGs, against the decode floor and a naive loop.

Usage: python benchmarks/bench_scan.py [--count 100] [--workers 2] [--corpus DIR]

- floor: "open + Pillow draft 1/8-scale greyscale decode + pHash" in a process pool of the same
  size: the fastest a pHash scan of these files can be without a faster decoder.
- naive: `imagehash.phash(Image.open(p))` in one plain loop (what most scripts do).
- dedup-gui: the real command, start-up and a fresh database included; once as shipped (rotated
  and mirrored copies matched) and once with `--no-turned`. Both hash the turned orientations (the
  store keeps them whatever the switch); the switch only changes the grouping searches.
All runs read the same files with the page cache warm, so disk speed is out of the picture.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imagehash
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from camera_jpegs import make_corpus


def floor_one(path: Path) -> str:
    image = Image.open(path)
    image.draft("L", (image.width // 8, image.height // 8))
    return str(imagehash.phash(image.convert("L")))


def naive_one(path: Path) -> str:
    return str(imagehash.phash(Image.open(path)))


def time_floor(paths: list[Path], workers: int) -> float:
    started = time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        pool.map(floor_one, paths, chunksize=1)
    return time.perf_counter() - started


def time_naive(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        naive_one(path)
    return time.perf_counter() - started


def time_dedup_gui(folder: Path, workers: int, *options: str) -> float:
    """Seconds for one ``dedup-gui scan`` of ``folder`` with a fresh database, start-up included."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        command = [sys.executable, "-m", "dedup_gui", "scan", str(folder), "--json"]
        command += ["--db", str(db), "--workers", str(workers), "-o", os.devnull, *options]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100, help="images per size (12 and 24 MP)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--corpus", type=Path, default=Path(__file__).parent / "out" / "jpegs")
    parser.add_argument("--skip-naive", action="store_true", help="the naive loop is slow")
    args = parser.parse_args()

    paths = make_corpus(args.corpus, args.count, [12, 24])
    for path in paths:  # warm the page cache so every contender reads from memory
        path.read_bytes()
    n = len(paths)
    rows = [("floor (draft 1/8 + pHash)", time_floor(paths, args.workers), args.workers)]
    ours = time_dedup_gui(args.corpus, args.workers)
    rows.append(("dedup-gui scan (cold DB)", ours, args.workers))
    upright = time_dedup_gui(args.corpus, args.workers, "--no-turned")
    rows.append(("dedup-gui scan --no-turned (cold DB)", upright, args.workers))
    if not args.skip_naive:
        rows.append(("naive imagehash.phash(Image.open(p))", time_naive(paths), 1))
    floor_rate = n / rows[0][1]
    cores = os.cpu_count()
    print(f"\n{n} camera JPEGs ({args.count} x 12 MP + {args.count} x 24 MP), {cores} cores")
    print(f"| {'method':<38} | procs | seconds | img/s | x floor |")
    print(f"|{'-' * 40}|-------|---------|-------|---------|")
    for name, seconds, procs in rows:
        rate = n / seconds
        ratio = rate / floor_rate
        print(f"| {name:<38} | {procs:>5} | {seconds:7.1f} | {rate:5.1f} | {ratio:7.2f} |")


if __name__ == "__main__":
    main()
