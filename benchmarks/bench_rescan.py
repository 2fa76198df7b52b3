"""Warm rescan of an unchanged 100,000-file tree against a bare walk, plus cold-scan peak memory.

Usage: python benchmarks/bench_rescan.py [--files 100000] [--distinct 1000] [--tree DIR]
                                         [--workers N] [--runs 3] [--profile] [--reuse-db]

The tree (made once, reused while its marker file says it has the same shape) holds ``--files``
tiny images in nested folders (100 files a folder, 10 folders a parent): ``--distinct`` 32x32
images, half JPEG and half PNG, each copied many times with a different comment in the file
(a JPEG COM segment, a PNG tEXt chunk). So every file has its own content hash and is decoded
on the cold scan, but copies of one image have the same pixels: each image makes a group, and
every copy is a same-pixels candidate. That is the worst case for grouping and pixel checks,
not a typical photo library.

Rows (page cache warm; each scan phase in its own process, so its peak RSS is its own):
- bare walk: os.scandir recursion + stat of each file with an image extension (best of 3).
- engine walk: ``iter_image_files`` alone (sorts, filters, de-duplicates links).
- cold scan: ``run_scan`` into a fresh database, once. Peak RSS of the main process
  (getrusage RUSAGE_SELF) and of the largest worker. Workers are forked by the forkserver, not
  by us, so RUSAGE_CHILDREN never counts them; on Linux their VmHWM is read from /proc instead.
- warm rescan: ``run_scan`` again on the unchanged tree (best of 3), asserting nothing was
  hashed; split by stage from the progress feed. Target: <= 1.5x the bare walk. Its first
  stage alone ("walk + reuse": walk, load the store, match each file) is the part the target's
  estimate measured; grouping and the same-pixels check come on top.
``--profile`` prints the top functions (cProfile, cumulative) of one more warm rescan;
``--reuse-db`` keeps the database of an earlier run of the same tree and skips the cold scan.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import resource
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dedup_gui.core.model import HashSettings, ScanProgress, ScanRequest, ScanStage
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.scanning import IMAGE_EXTENSIONS, iter_image_files
from dedup_gui.core.store import open_store

_OUT = Path(__file__).resolve().parent / "out"
_PER_FOLDER = 100
_FOLDERS_PER_PARENT = 10
_MARKER = ".bench_rescan_tree"  # hidden: neither walk lists it


# -- the tree ----------------------------------------------------------------------------------
def _base_image(seed: int) -> bytes:
    """A 32x32 image with smooth structure (so pHashes differ), JPEG for even seeds, else PNG."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8))
    image = small.resize((32, 32), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, format="JPEG" if seed % 2 == 0 else "PNG", quality=90)
    return out.getvalue()


def _with_comment(data: bytes, text: bytes) -> bytes:
    """The same image with a comment added: other bytes, same pixels."""
    if data.startswith(b"\xff\xd8"):  # JPEG: a COM segment right after SOI
        return data[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + data[2:]
    chunk = b"tEXt" + b"Comment\x00" + text  # PNG: a tEXt chunk right after IHDR
    crc = struct.pack(">I", zlib.crc32(chunk))
    ihdr_end = 8 + 25  # signature, then IHDR: length, type, 13 data bytes, CRC
    return data[:ihdr_end] + struct.pack(">I", len(chunk) - 4) + chunk + crc + data[ihdr_end:]


def make_tree(root: Path, files: int, distinct: int) -> float:
    """Write the tree unless it is there already; returns the seconds spent writing it."""
    shape = f"{files} {distinct}\n"
    marker = root / _MARKER
    if marker.exists() and marker.read_text() == shape:
        return 0.0
    started = time.perf_counter()
    bases = [_base_image(seed) for seed in range(distinct)]
    for k in range(files):
        folder_no = k // _PER_FOLDER
        folder = root / f"p{folder_no // _FOLDERS_PER_PARENT:03d}" / f"f{folder_no:04d}"
        if k % _PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        base = bases[k % distinct]
        suffix = ".jpg" if base.startswith(b"\xff\xd8") else ".png"
        (folder / f"img_{k:06d}{suffix}").write_bytes(_with_comment(base, b"copy %d" % k))
    marker.write_text(shape)
    return time.perf_counter() - started


# -- walks -------------------------------------------------------------------------------------
def bare_walk(root: Path) -> int:
    """os.scandir recursion and one stat per image file: the floor any rescan must list."""
    found: list[tuple[str, int, int]] = []
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                    st = entry.stat(follow_symlinks=False)
                    found.append((entry.path, st.st_size, st.st_mtime_ns))
    return len(found)


def engine_walk(root: Path) -> int:
    return sum(1 for _ in iter_image_files([root], ScanRequest(roots=(root,)).walk))


def best_of(runs: int, fn: Any, *args: Any) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - started)
    return best, result


# -- memory ------------------------------------------------------------------------------------
class _DescendantPeak(threading.Thread):
    """Samples the VmHWM (peak RSS) of this process's descendants from /proc (Linux only)."""

    def __init__(self, interval_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self._interval_s = interval_s
        self._stop_event = threading.Event()
        self.peak_kib: dict[int, int] = {}

    def run(self) -> None:
        while not self._stop_event.wait(self._interval_s):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    stat = Path(f"/proc/{name}/stat").read_text()
                except OSError:
                    continue
                parents[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
        for pid in parents:
            if pid != os.getpid() and self._descends(pid, parents):
                self._read_hwm(pid)

    @staticmethod
    def _descends(pid: int, parents: dict[int, int]) -> bool:
        while pid in parents and pid > 1:
            pid = parents[pid]
            if pid == os.getpid():
                return True
        return False

    def _read_hwm(self, pid: int) -> None:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                kib = int(line.split()[1])
                self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), kib)


def _rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


# -- the scan phases (each run in a child process) ---------------------------------------------
class _StageClock:
    """Seconds from the start of a scan to the first progress report of each stage."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}

    def __call__(self, progress: ScanProgress) -> None:
        self.first.setdefault(progress.stage.value, progress.elapsed_s)

    def spans(self) -> dict[str, float]:
        order = [s.value for s in ScanStage if s.value in self.first]
        return {a: self.first[b] - self.first[a] for a, b in itertools.pairwise(order)}


def _scan(request: ScanRequest, db: Path) -> tuple[float, Any, dict[str, float]]:
    clock = _StageClock()
    with open_store(db) as store:
        started = time.perf_counter()
        report = run_scan(request, store, progress=clock)
        seconds = time.perf_counter() - started
    return seconds, report.stats, clock.spans()


def phase_cold(request: ScanRequest, db: Path) -> dict[str, Any]:
    sampler = _DescendantPeak() if Path("/proc/self/status").exists() else None
    if sampler is not None:
        sampler.start()
    seconds, stats, spans = _scan(request, db)
    workers_mib = _rss_mib(resource.RUSAGE_CHILDREN)
    if sampler is not None:
        sampler.stop()
        workers_mib = max(sampler.peak_kib.values(), default=0) / 1024
    return {
        "seconds": seconds,
        "found": stats.found,
        "hashed": stats.hashed,
        "problems": stats.problems,
        "spans": spans,
        "rss_main_mib": _rss_mib(resource.RUSAGE_SELF),
        "rss_worker_mib": workers_mib,
    }


def phase_warm(request: ScanRequest, db: Path, runs: int, profile: bool) -> dict[str, Any]:
    times, spans = [], {}
    for _ in range(runs):
        seconds, stats, run_spans = _scan(request, db)
        assert stats.hashed == 0 and stats.reused == stats.found, stats  # decoded nothing
        if seconds < min(times, default=float("inf")):
            spans = run_spans
        times.append(seconds)
    with open_store(db) as store:
        load_s, _ = best_of(1, store.load_records, HashSettings())
    result = {"times": times, "spans": spans, "load_records_s": load_s}
    result["rss_main_mib"] = _rss_mib(resource.RUSAGE_SELF)
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(_scan, request, db)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        result["profile"] = text.getvalue()
    return result


def _child(phase: str, args: argparse.Namespace, db: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--db",
        str(db),
        "--tree",
        str(args.tree),
    ]
    command += ["--workers", str(args.workers), "--runs", str(args.runs)]
    command += ["--profile"] if args.profile else []
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE)
    return dict(json.loads(done.stdout))


# -- the table ---------------------------------------------------------------------------------
def _print_table(
    args: argparse.Namespace, n: int, walks: dict[str, float], cold: Any, warm: Any
) -> None:
    bare, warm_s = walks["bare"], min(warm["times"])
    load = os.getloadavg()[0]
    print(
        f"\n{n} files, {args.distinct} distinct images; {os.cpu_count()} cores, {args.workers} "
        f"workers; load average {load:.2f} (other processes make every row slower)"
    )
    print(f"| {'what':<40} | {'seconds':>8} | {'x bare walk':>11} | {'peak RSS MiB':>22} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 13}|{'-' * 24}|")
    rows = [
        ("bare walk (scandir + stat, best of 3)", bare, ""),
        ("engine walk (iter_image_files)", walks["engine"], ""),
        ("warm rescan: walk + reuse (1st stage)", warm["spans"].get("walking", 0.0), ""),
        (
            f"warm rescan: run_scan (best of {len(warm['times'])})",
            warm_s,
            f"main {warm['rss_main_mib']:.0f}",
        ),
    ]
    if cold is not None:
        rss = f"main {cold['rss_main_mib']:.0f}, worker {cold['rss_worker_mib']:.0f}"
        rows.append(("cold scan: run_scan", cold["seconds"], rss))
    for name, seconds, rss in rows:
        print(f"| {name:<40} | {seconds:8.2f} | {seconds / bare:11.2f} | {rss:>22} |")
    target = "met" if warm_s <= 1.5 * bare else "NOT met"
    runs = ", ".join(f"{t:.2f}" for t in warm["times"])
    print(
        f"\nwarm run_scan / bare walk = {warm_s / bare:.2f} (target <= 1.5: {target}); runs {runs}"
    )
    spans = ", ".join(f"{k} {v:.2f}" for k, v in warm["spans"].items())
    print(f"warm stages (s): {spans}; load_records alone {warm['load_records_s']:.2f}")
    if cold is not None:
        print(
            f"cold scan: {cold['found']} found, {cold['hashed']} hashed, "
            f"{cold['problems']} problems; stages (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in cold["spans"].items())
        )
    if "profile" in warm:
        print("\n" + warm["profile"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=1000, help="distinct images among them")
    parser.add_argument("--tree", type=Path, help="where the tree is (made if missing)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=3, help="warm rescans; the best counts")
    parser.add_argument("--profile", action="store_true", help="cProfile one more warm rescan")
    parser.add_argument("--reuse-db", action="store_true", help="skip the cold scan if done before")
    parser.add_argument("--phase", choices=["cold", "warm"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.tree = args.tree or _OUT / f"rescan_tree_{args.files}_{args.distinct}"
    request = ScanRequest(roots=(args.tree.resolve(),), workers=args.workers)
    if args.phase is not None:
        if args.phase == "cold":
            print(json.dumps(phase_cold(request, args.db)))
        else:
            print(json.dumps(phase_warm(request, args.db, args.runs, args.profile)))
        return
    made_s = make_tree(args.tree, args.files, args.distinct)
    if made_s:
        print(f"made the tree {args.tree} in {made_s:.0f} s")
    engine_walk(args.tree)  # warm the page and dentry caches
    bare_s, n = best_of(3, bare_walk, args.tree)
    walks = {"bare": bare_s, "engine": best_of(3, engine_walk, args.tree)[0]}
    db = _OUT / f"bench_rescan_{args.tree.resolve().name}.sqlite3"
    cold = None
    if not (args.reuse_db and db.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        cold = _child("cold", args, db)
    warm = _child("warm", args, db)
    _print_table(args, n, walks, cold, warm)


if __name__ == "__main__":
    main()
