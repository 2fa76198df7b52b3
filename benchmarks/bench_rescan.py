"""Warm rescan of an unchanged 100,000-file tree against a bare walk, plus cold-scan peak memory.

Usage: python benchmarks/bench_rescan.py [--files 100000] [--kind worst|typical|both]
                                         [--distinct 1000] [--grouped-percent 5] [--tree DIR]
                                         [--workers N] [--runs 3] [--profile] [--reuse-db]

Two trees (each made once, reused while its marker file says it has the same shape), both of
``--files`` tiny images in nested folders (100 files a folder, 10 folders a parent), half JPEG
and half PNG:
- worst (``rescan_tree_<files>_<distinct>``): ``--distinct`` 32x32 images, each copied many
  times with a different comment in the file (a JPEG COM segment, a PNG tEXt chunk). So every
  file has its own content hash and is decoded on the cold scan, but copies of one image have
  the same pixels: each image makes a group, every file is a member and every copy is a
  same-pixels candidate. The worst case for grouping, pixel checks and rebuilding groups.
- typical (``rescan_tree_<files>_typical<percent>``): every image distinct (an 8x8 random
  grid scaled to 32x32: no two within the distance threshold, unlike 4x4 grids), except that
  ``--grouped-percent`` of the files (5 by default) are in pairs: an image and one copy of it,
  at a random other place in the tree, half of the copies byte-identical (one content, as a
  copied file) and half with a comment added (same pixels). A library in which one photo in 40
  was copied once; the issue's target does not say every file is a duplicate.

Rows (page cache warm; each scan phase in its own process, so its peak RSS is its own):
- bare walk: os.scandir recursion + stat of each file with an image extension (best of 3).
- engine walk: ``iter_image_files`` alone (sorts, filters, de-duplicates links).
- cold scan: ``run_scan`` into a fresh database, once. Peak RSS of the main process
  (getrusage RUSAGE_SELF) and of the largest worker. Workers are forked by the forkserver, not
  by us, so RUSAGE_CHILDREN never counts them; on Linux their VmHWM is read from /proc instead.
- warm rescan: ``run_scan`` again on the unchanged tree (best of 3), asserting nothing was
  hashed. Target: <= 1.5x the bare walk; the ratio of CPU seconds is printed too, as other
  processes on a shared machine stretch wall times more than CPU times. Split by step, timed
  around the pipeline's own steps (its module functions, wrapped in the benchmark's process
  only): walk; match (load what the store knows of each file and match the walk against it:
  the part the target's estimate measured); groups (reuse the saved groups: read their
  members' records, build the groups; or hash, group and label again); forget
  (forget_missing's check); sidecars; the rest (hard links, report). Also the store's loads
  alone: the full ``load_records`` and, where the store has it, the narrow one a rescan uses.
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
from dedup_gui.core import pipeline
from dedup_gui.core.group_cache import request_key
from dedup_gui.core.model import HashSettings, ScanProgress, ScanRequest, ScanStage
from dedup_gui.core.scanning import IMAGE_EXTENSIONS, iter_image_files
from dedup_gui.core.store import open_store

_OUT = Path(__file__).resolve().parent / "out"
_PER_FOLDER = 100
_FOLDERS_PER_PARENT = 10
_MARKER = ".bench_rescan_tree"  # hidden: neither walk lists it


# -- the tree ----------------------------------------------------------------------------------
def _base_image(seed: int, grid: int = 4) -> bytes:
    """A 32x32 image with smooth structure (so pHashes differ), JPEG for even seeds, else PNG.

    From a ``grid`` x ``grid`` random image: 4x4 ones are often within 8 bits of another
    (539 of 4.5 million pairs of 3,000), 8x8 ones were never (their closest pair: 22 bits).
    """
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, size=(grid, grid, 3), dtype=np.uint8))
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


def _file_path(root: Path, k: int, data: bytes) -> Path:
    """Where the k-th file of a tree goes (its folder made with the folder's first file)."""
    folder_no = k // _PER_FOLDER
    folder = root / f"p{folder_no // _FOLDERS_PER_PARENT:03d}" / f"f{folder_no:04d}"
    if k % _PER_FOLDER == 0:
        folder.mkdir(parents=True, exist_ok=True)
    suffix = ".jpg" if data.startswith(b"\xff\xd8") else ".png"
    return folder / f"img_{k:06d}{suffix}"


def make_tree(root: Path, files: int, distinct: int) -> float:
    """Write the worst-case tree unless it is there already; returns the seconds spent."""
    shape = f"{files} {distinct}\n"
    marker = root / _MARKER
    if marker.exists() and marker.read_text() == shape:
        return 0.0
    started = time.perf_counter()
    bases = [_base_image(seed) for seed in range(distinct)]
    for k in range(files):
        base = bases[k % distinct]
        _file_path(root, k, base).write_bytes(_with_comment(base, b"copy %d" % k))
    marker.write_text(shape)
    return time.perf_counter() - started


def make_typical_tree(root: Path, files: int, grouped_percent: float) -> float:
    """Write the typical tree unless it is there already; returns the seconds spent.

    ``grouped_percent`` of the files are pairs (an image and its copy, at random places), the
    rest distinct images; even copies are the same bytes, odd ones carry a comment.
    """
    pairs = round(files * grouped_percent / 100) // 2
    shape = f"typical {files} {pairs}\n"
    marker = root / _MARKER
    if marker.exists() and marker.read_text() == shape:
        return 0.0
    started = time.perf_counter()
    images = files - pairs
    # Slot order[j] holds image j for j < images, then the copy of image j - images.
    order = np.random.default_rng(0).permutation(files).tolist()
    image_at = {slot: j if j < images else j - images for j, slot in enumerate(order)}
    is_copy = {slot for j, slot in enumerate(order) if j >= images}
    for k in range(files):
        image = image_at[k]
        data = _base_image(image, grid=8)
        if k in is_copy and image % 2:
            data = _with_comment(data, b"copy %d" % k)
        _file_path(root, k, data).write_bytes(data)
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


def best_of(runs: int, fn: Any, *args: Any, clock: Any = time.perf_counter) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = clock()
        result = fn(*args)
        best = min(best, clock() - started)
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


# The pipeline's steps, timed by wrapping its module functions (in this process only): of each
# tuple of names the first the pipeline has (older versions have others). Several entries may
# add up to one step.
_STEPS = (
    ("walk", ("_walk",)),
    ("match", ("plausible_saved_groups", "_plausible_saved_groups")),
    ("match", ("same_walk", "_same_walk")),
    ("match", ("_match", "Matched")),
    ("groups", ("reuse_saved_groups", "_saved_groups")),
    ("groups", ("_hash_and_group",)),
    ("forget", ("forget_missing_if_any", "_forget_missing_if_any")),
    ("sidecars", ("_with_sidecars",)),
)


class _StepClock:
    """Seconds spent in each of the pipeline's steps (``_STEPS``) during one scan."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        for label, names in _STEPS:
            name = next((name for name in names if hasattr(pipeline, name)), None)
            if name is not None:
                setattr(pipeline, name, self._timed(label, getattr(pipeline, name)))

    def _timed(self, label: str, step: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                self.seconds[label] = self.seconds.get(label, 0.0) + spent

        return timed


_STEP_CLOCK: _StepClock | None = None


def _scan(request: ScanRequest, db: Path) -> tuple[float, Any, dict[str, float]]:
    """One ``run_scan``: its seconds, stats, and seconds by stage (progress) and by step; also
    its CPU seconds ("cpu": a warm rescan runs in this process alone)."""
    global _STEP_CLOCK
    if _STEP_CLOCK is None:
        _STEP_CLOCK = _StepClock()
    _STEP_CLOCK.seconds = {}
    clock = _StageClock()
    with open_store(db) as store:
        started, cpu_started = time.perf_counter(), time.process_time()
        report = pipeline.run_scan(request, store, progress=clock)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    steps = dict(_STEP_CLOCK.seconds)
    steps["rest"] = seconds - sum(steps.values())
    spans = {**clock.spans(), **{f"step {k}": v for k, v in steps.items()}, "cpu": cpu}
    return seconds, report.stats, spans


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
    times, spans, cpu_times = [], {}, []
    with open_store(db) as store:
        saved = store.saved_groups(request_key(request))
    groups = None
    if saved is not None:  # how many groups and members the last scan saved
        sizes = np.frombuffer(saved.groups, dtype=np.int64)
        groups = [int(sizes[0]), int(sizes[1 : 1 + int(sizes[0])].sum())]
    for _ in range(runs):
        seconds, stats, run_spans = _scan(request, db)
        assert stats.hashed == 0 and stats.reused == stats.found, stats  # decoded nothing
        if seconds < min(times, default=float("inf")):
            spans = run_spans
        times.append(seconds)
        cpu_times.append(run_spans.pop("cpu"))
    with open_store(db) as store:
        loads = {"load_records": best_of(1, store.load_records, HashSettings())[0]}
        if hasattr(store, "load_file_stats"):  # the narrow load a rescan does first
            loads["load_file_stats"] = best_of(1, store.load_file_stats, HashSettings())[0]
    result = {"times": times, "cpu_times": cpu_times, "spans": spans, "loads": loads}
    result["groups"] = groups
    result["rss_main_mib"] = _rss_mib(resource.RUSAGE_SELF)
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(_scan, request, db)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        result["profile"] = text.getvalue()
    return result


def _child(phase: str, args: argparse.Namespace, tree: Path, db: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--phase", phase, "--db", str(db), "--tree", str(tree)]
    command += ["--workers", str(args.workers), "--runs", str(args.runs)]
    command += ["--profile"] if args.profile else []
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE)
    return dict(json.loads(done.stdout))


# -- the table ---------------------------------------------------------------------------------
def _print_table(
    args: argparse.Namespace, title: str, n: int, walks: dict[str, float], cold: Any, warm: Any
) -> None:
    bare, warm_s = walks["bare"], min(warm["times"])
    load = os.getloadavg()[0]
    grouped = ""
    if warm["groups"] is not None:
        count, members = warm["groups"]
        grouped = f"; {count} groups holding {members} files ({100 * members / max(n, 1):.1f} %)"
    print(
        f"\n{title}: {n} files{grouped}; {os.cpu_count()} cores, {args.workers} workers; "
        f"load average {load:.2f} (other processes make every row slower)"
    )
    print(f"| {'what':<40} | {'seconds':>8} | {'x bare walk':>11} | {'peak RSS MiB':>22} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 13}|{'-' * 24}|")
    rows = [
        ("bare walk (scandir + stat, best of 3)", bare, ""),
        ("engine walk (iter_image_files)", walks["engine"], ""),
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
    cpu, bare_cpu = min(warm["cpu_times"]), walks["bare_cpu"]
    print(
        f"CPU seconds (what a busy machine changes least): bare walk {bare_cpu:.2f}, warm "
        f"run_scan {cpu:.2f} = {cpu / bare_cpu:.2f}x"
    )
    steps = {k[5:]: v for k, v in warm["spans"].items() if k.startswith("step ")}
    stages = {k: v for k, v in warm["spans"].items() if not k.startswith("step ")}
    print("warm steps (s): " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    print("warm stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    print("store loads alone (s): " + ", ".join(f"{k} {v:.2f}" for k, v in warm["loads"].items()))
    if cold is not None:
        print(
            f"cold scan: {cold['found']} found, {cold['hashed']} hashed, "
            f"{cold['problems']} problems; stages (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in cold["spans"].items() if " " not in k)
        )
    if "profile" in warm:
        print("\n" + warm["profile"])


def _bench_tree(args: argparse.Namespace, kind: str) -> None:
    """Make (or reuse) one tree and its database, measure, print its table."""
    if kind == "worst":
        name = f"rescan_tree_{args.files}_{args.distinct}"
        title = f"worst case ({args.distinct} distinct images, every file in a group)"
    else:
        name = f"rescan_tree_{args.files}_typical{args.grouped_percent:g}"
        title = f"typical library ({args.grouped_percent:g} % of files in pairs)"
    tree = args.tree or _OUT / name
    if kind == "worst":
        made_s = make_tree(tree, args.files, args.distinct)
    else:
        made_s = make_typical_tree(tree, args.files, args.grouped_percent)
    if made_s:
        print(f"made the tree {tree} in {made_s:.0f} s")
    engine_walk(tree)  # warm the page and dentry caches
    bare_s, n = best_of(3, bare_walk, tree)
    walks = {"bare": bare_s, "engine": best_of(3, engine_walk, tree)[0]}
    walks["bare_cpu"] = best_of(3, bare_walk, tree, clock=time.process_time)[0]
    db = _OUT / f"bench_rescan_{tree.resolve().name}.sqlite3"
    cold = None
    if not (args.reuse_db and db.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        cold = _child("cold", args, tree, db)
    warm = _child("warm", args, tree, db)
    _print_table(args, title, n, walks, cold, warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--kind", choices=["worst", "typical", "both"], default="both")
    parser.add_argument("--distinct", type=int, default=1000, help="worst: distinct images")
    parser.add_argument(
        "--grouped-percent", type=float, default=5.0, help="typical: files in pairs"
    )
    parser.add_argument("--tree", type=Path, help="where the tree is (made if missing; one kind)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=3, help="warm rescans; the best counts")
    parser.add_argument("--profile", action="store_true", help="cProfile one more warm rescan")
    parser.add_argument("--reuse-db", action="store_true", help="skip the cold scan if done before")
    parser.add_argument("--phase", choices=["cold", "warm"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase is not None:
        request = ScanRequest(roots=(args.tree.resolve(),), workers=args.workers)
        if args.phase == "cold":
            print(json.dumps(phase_cold(request, args.db)))
        else:
            print(json.dumps(phase_warm(request, args.db, args.runs, args.profile)))
        return
    if args.tree is not None and args.kind == "both":
        parser.error("--tree names one tree: give --kind worst or --kind typical with it")
    for kind in ("worst", "typical") if args.kind == "both" else (args.kind,):
        _bench_tree(args, kind)


if __name__ == "__main__":
    main()
