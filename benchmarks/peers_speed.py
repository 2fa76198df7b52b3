"""Cold-scan speed of Czkawka and dupeGuru beside `dedup-gui scan`, the decode floor, naive loop.

Usage (a venv with czkawka, Pillow and imagehash; dupeGuru from Debian's `dupeguru` package):
  /tmp/peers-venv/bin/python benchmarks/peers_speed.py --corpus /tmp/bench_jpegs [--count 100]
      [--workers 2] [--dedup-gui /work/venv/bin/dedup-gui]

- czkawka: PyPI `czkawka` (third-party PyO3 bindings over czkawka_core 10's similar-images tool)
  at its defaults: Gradient hash 8x8, Lanczos3 resize, similarity 10, no cache; rayon uses every
  core. Timed in-process (the library has no start-up worth counting).
- dupeGuru: Debian's dupeGuru 4.3.1 engine in picture mode, driven without its window: the
  app's own Qt photo class (QImage decode, 15x15 colour blocks), "Contents" (fuzzy block) scan,
  filter hardness 95, "match pictures of different dimensions" off, a fresh picture cache and
  digest DB each run. Run with the system Python that the package targets, start-up included.
- dedup-gui: the installed command with a fresh database, start-up included.
- floor and naive: as in bench_scan.py (imported from it).
The top of this module imports only the standard library: the dupeGuru child (``--dupeguru-child``)
runs it under Debian's /usr/bin/python3, which has PyQt5 and dupeGuru but not Pillow.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

DUPEGURU_PYTHON = "/usr/bin/python3"
DUPEGURU_HOME = "/usr/share/dupeguru"
# dupeGuru's picture-mode defaults (qt/preferences.py reset(), qt/app.py _update_options()).
DUPEGURU_FILTER_HARDNESS = 95

T = TypeVar("T")


def _dupeguru_child(folder: str, out: str, cache_dir: str, hardness: str, scaled: str) -> None:
    """Scan ``folder`` with dupeGuru's picture engine; write files, groups, matches to ``out``."""
    sys.path.insert(0, DUPEGURU_HOME)
    import core.pe.photo
    from core import engine, fs
    from core.directories import Directories
    from core.exclude import ExcludeList
    from core.pe.scanner import ScannerPE
    from core.scanner import ScanType
    from qt.pe.photo import File

    core.pe.photo.PLAT_SPECIFIC_PHOTO_CLASS = File  # what qt.app.DupeGuru._setup() does
    fs.filesdb.connect(os.path.join(cache_dir, "hash_cache.db"))
    directories = Directories(ExcludeList())
    directories.add_path(Path(folder))
    files = list(directories.get_files(fileclasses=[File]))
    scanner = ScannerPE()
    scanner.scan_type = ScanType.FUZZYBLOCK
    scanner.min_match_percentage = int(hardness)
    scanner.match_scaled = scaled == "1"
    scanner.mix_file_kind = True
    scanner.cache_path = os.path.join(cache_dir, "cached_pictures.db")
    matches: dict[tuple[str, str], int] = {}
    get_groups = engine.get_groups

    def recording_get_groups(found: list) -> list:  # the matches before dupeGuru groups them
        matches.update({(str(m.first.path), str(m.second.path)): m.percentage for m in found})
        return get_groups(found)

    engine.get_groups = recording_get_groups  # get_groups recurses on orphans: a dict dedups
    groups = scanner.get_dupe_groups(files)
    fs.filesdb.commit()
    fs.filesdb.close()
    # json escapes surrogateescape'd bytes as \udcXX, which json.loads gives back unchanged.
    names = [[str(f.path) for f in g] for g in groups]
    pairs = [[a, b, percentage] for (a, b), percentage in matches.items()]
    result = {"files": len(files), "groups": names, "matches": pairs}
    Path(out).write_text(json.dumps(result))


def dupeguru_scan(
    folder: Path, hardness: int = DUPEGURU_FILTER_HARDNESS, match_scaled: bool = False
) -> dict:
    """dupeGuru's picture scan of ``folder`` from a cold cache and digest DB.

    The defaults are the app's: filter hardness 95, pictures of different dimensions not matched.
    Returns ``files`` (how many it collected), ``groups`` (lists of paths, as its window shows
    them) and ``matches`` ([path, path, percentage] found before grouping).
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "groups.json"
        command = [DUPEGURU_PYTHON, __file__, "--dupeguru-child", str(folder), str(out), tmp]
        command += [str(hardness), "1" if match_scaled else "0"]
        subprocess.run(command, check=True)
        return json.loads(out.read_text())


def czkawka_groups(folder: Path, similarity: int | None = None) -> list[list[str]]:
    """Czkawka's similar-image groups under ``folder``; None: the PyPI bindings' default (10)."""
    from czkawka import ImageSimilarity

    finder = ImageSimilarity()
    finder.set_directories([folder])
    if similarity is not None:
        finder.set_similarity(similarity)
    return [[os.fspath(p) for p in group] for group in finder.find_similar()]


def timed(function: Callable[..., T], *args: object) -> tuple[float, T]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def time_dedup_gui(command: str, folder: Path, workers: int) -> float:
    """Seconds for one installed ``dedup-gui scan`` with a fresh database, start-up included."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        args = [command, "scan", str(folder), "--json", "--db", str(db)]
        args += ["--workers", str(workers), "-o", os.devnull]
        started = time.perf_counter()
        subprocess.run(args, check=True)
        return time.perf_counter() - started


def _rows(args: argparse.Namespace, paths: list[Path]) -> list[tuple[str, float, str]]:
    from bench_scan import time_floor, time_naive

    w = str(args.workers)
    rows = [("floor (draft 1/8 + pHash)", time_floor(paths, args.workers), w)]
    rows.append(
        ("dedup-gui scan (cold DB)", time_dedup_gui(args.dedup_gui, args.corpus, args.workers), w)
    )
    seconds, groups = timed(czkawka_groups, args.corpus)
    print(f"czkawka: {len(groups)} groups", file=sys.stderr)
    rows.append(("czkawka 0.1.2 (czkawka_core 10, no cache)", seconds, "all"))
    seconds, found = timed(dupeguru_scan, args.corpus)
    print(f"dupeGuru: {found['files']} files, {len(found['groups'])} groups", file=sys.stderr)
    rows.append(("dupeGuru 4.3.1 picture mode (cold cache)", seconds, "1+2"))
    if not args.skip_naive:
        rows.append(("naive imagehash.phash(Image.open(p))", time_naive(paths), "1"))
    return rows


def main() -> None:
    if len(sys.argv) == 7 and sys.argv[1] == "--dupeguru-child":
        _dupeguru_child(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="images per size (12 and 24 MP)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--corpus", type=Path, default=Path(__file__).parent / "out" / "jpegs")
    parser.add_argument("--dedup-gui", default="/work/venv/bin/dedup-gui", help="installed command")
    parser.add_argument("--skip-naive", action="store_true", help="the naive loop is slow")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).parent))
    from camera_jpegs import make_corpus

    paths = make_corpus(args.corpus, args.count, [12, 24])
    for path in paths:  # warm the page cache so every contender reads from memory
        path.read_bytes()
    rows = _rows(args, paths)
    n = len(paths)
    floor_rate = n / rows[0][1]
    print(
        f"\n{n} camera JPEGs ({args.count} x 12 MP + {args.count} x 24 MP), {os.cpu_count()} cores"
    )
    print(f"| {'method':<42} | procs | seconds | img/s | x floor |")
    print(f"|{'-' * 44}|-------|---------|-------|---------|")
    for name, seconds, procs in rows:
        rate = n / seconds
        print(
            f"| {name:<42} | {procs:>5} | {seconds:7.1f} | {rate:5.1f} | {rate / floor_rate:7.2f} |"
        )


if __name__ == "__main__":
    main()
