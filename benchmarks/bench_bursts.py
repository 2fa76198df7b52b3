"""Crop matching on a burst-heavy library: camera-like bursts of real photos, scanned three ways.

Usage (the accuracy venv of README "Accuracy": scikit-image, scikit-learn, matplotlib,
pillow-heif, dedup-gui installed with -e):

  python benchmarks/bench_bursts.py make OUT [--unrelated 200] [--workers 2]   # ~5 min, ~1.5 GB
  python benchmarks/bench_bursts.py run OUT     # three `dedup-gui scan --json` runs, then score
  python benchmarks/bench_bursts.py score OUT   # score the runs again (no scan)

Each scan runs the real CLI (``cli.main``, fresh --db, 2 workers) in its own process, with
logging at INFO and ``match_check._score_all`` wrapped to count, time and keep every fine-detail
check's score (behaviour unchanged). Results: OUT/runs/SETTING/ and a table on stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import multiprocessing
import random
import shutil
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

sys.path.insert(0, str(Path(__file__).parent / "accuracy"))
import make_corpus as mc  # the accuracy corpus's sources and helpers

SETTINGS: dict[str, list[str]] = {
    "default": [],
    "no-crops": ["--no-crops"],
    "no-turned-no-crops": ["--no-turned", "--no-crops"],
}
LONG_SIDES = (3000, 3264, 3648, 4000)  # camera-like long sides (12-16 MP at 4:3)
COPY_KINDS = ("exact", "crop_10", "caption", "resize_50")
REGION_TOL = 0.005  # a window counts as inside another with this much slack (share of size)

Window = tuple[float, float, float, float, float]  # centre x, y, width, height (source px), deg


# --- building the library ------------------------------------------------------------------------


def _load(rel: str) -> Image.Image:
    with Image.open(mc._site() / rel) as src:
        return src.convert("RGB")


def _render(
    src: Image.Image, win: Window, size: tuple[int, int], rng: np.random.Generator
) -> Image.Image:
    """The window of ``src`` (turned by its angle) resampled to ``size``, with sensor noise."""
    cx, cy, ww, _, deg = win
    out_w, out_h = size
    k, t = ww / out_w, math.radians(deg)
    cos, sin = k * math.cos(t), k * math.sin(t)
    data = (
        cos, -sin, cx - cos * out_w / 2 + sin * out_h / 2,
        sin, cos, cy - sin * out_w / 2 - cos * out_h / 2,
    )  # fmt: skip
    img = src.transform(size, Image.Transform.AFFINE, data, Image.Resampling.BICUBIC)
    noisy = np.asarray(img, np.int16) + rng.integers(-3, 4, (out_h, out_w, 3), dtype=np.int16)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _out_size(src: Image.Image, long_side: int) -> tuple[int, int]:
    w, h = src.size
    return (
        (long_side, round(long_side * h / w)) if w >= h else (round(long_side * w / h), long_side)
    )


def _walk_windows(src: Image.Image, rng: random.Random) -> list[Window]:
    """8-12 windows of 80-90 % of the photo, each moved 1-6 % from the last, zoom +-1.5 %,
    tilt within +-0.8 degrees: a hand-held burst. Bounces off the photo's edges."""
    w, h = src.size
    share = rng.uniform(0.80, 0.90)
    x, y = rng.uniform(share / 2 + 0.01, 1 - share / 2 - 0.01), rng.uniform(0.45, 0.55)
    heading = rng.uniform(0, 2 * math.pi)
    out: list[Window] = []
    for _ in range(rng.randint(8, 12)):
        s = min(0.90, max(0.80, share * (1 + rng.uniform(-0.015, 0.015))))
        out.append((x * w, y * h, s * w, s * h, rng.uniform(-0.8, 0.8)))
        step, heading = rng.uniform(0.01, 0.06), heading + rng.uniform(-0.7, 0.7)
        x, y = x + step * math.cos(heading), y + step * math.sin(heading)
        lo, hi = s / 2 + 0.012, 1 - s / 2 - 0.012  # room for the tilt's corners
        if not lo <= x <= hi:
            x, heading = min(hi, max(lo, x)), math.pi - heading
        if not lo <= y <= hi:
            y, heading = min(hi, max(lo, y)), -heading
    return out


def _crop_window(win: Window) -> Window:
    """The window of make_corpus's 10 % crop (box 6 %-96 % by 4 %-94 %) of a frame."""
    cx, cy, ww, hh, deg = win
    dx, dy, t = 0.01 * ww, -0.01 * hh, math.radians(deg)
    return (
        cx + dx * math.cos(t) - dy * math.sin(t),
        cy + dx * math.sin(t) + dy * math.cos(t),
        0.9 * ww, 0.9 * hh, deg,
    )  # fmt: skip


def _copy(kind: str, frame: Image.Image, data: bytes) -> bytes:
    if kind == "exact":
        return data
    exif = Image.open(io.BytesIO(data)).info.get("exif")
    if kind == "crop_10":
        return mc.jpeg(mc._crop(frame, 10), 90, exif)
    if kind == "caption":
        return mc.jpeg(mc._caption(frame), 88)
    half = frame.resize((frame.width // 2, frame.height // 2), Image.Resampling.LANCZOS)
    return mc.jpeg(half, 90, exif)


def make_burst(job: tuple[int, int, str, str, str]) -> dict[str, dict[str, Any]]:
    """Write one burst of a source photo and copies of 4 of its frames; return manifest rows."""
    number, burst, name, rel, out_dir = job
    rng, nrng = random.Random(f"burst-{name}-{burst}"), np.random.default_rng(number)
    src = _load(rel)
    size = _out_size(src, rng.choice(LONG_SIDES))
    windows = _walk_windows(src, rng)
    copies = dict(zip(rng.sample(range(len(windows)), len(COPY_KINDS)), COPY_KINDS, strict=True))
    rows: dict[str, dict[str, Any]] = {}
    for k, win in enumerate(windows):
        img = ImageEnhance.Brightness(_render(src, win, size, nrng)).enhance(
            rng.uniform(0.95, 1.05)
        )
        day, minute = 1 + number % 28, number // 28  # one burst a minute, frames 1 s apart
        stamp = f"2021:06:{day:02d} 09:{minute:02d}:{k:02d}"
        data = mc.jpeg(img, 90, mc._exif(stamp, f"{name} burst {burst} frame {k}"))
        base = f"{name}_b{burst}_{k:02d}"
        files = [(f"{base}.jpg", data, "frame", win)]
        if k in copies:
            kind = copies[k]
            copy_win = _crop_window(win) if kind == "crop_10" else win
            files.append((f"{base}__{kind}.jpg", _copy(kind, img, data), kind, copy_win))
        for filename, blob, kind, w in files:
            (Path(out_dir) / "images" / filename).write_bytes(blob)
            rows[filename] = {
                **{"source": name, "burst": burst, "frame": k, "kind": kind, "window": list(w)},
                "of": f"{base}.jpg",
            }
    return rows


def make_unrelated(job: tuple[int, str]) -> dict[str, dict[str, Any]]:
    """A collage of 3-4 small windows (20-40 %) of different sources: no source's photo and no
    burst frame is a region of it, nor it of them."""
    number, out_dir = job
    rng, nrng = random.Random(f"unrelated-{number}"), np.random.default_rng(10_000 + number)
    picks = rng.sample(mc.SOURCES, 4)
    cw, ch = rng.choice(((640, 480), (480, 640), (640, 427)))
    canvas = Image.new("RGB", (cw, ch))
    split = rng.uniform(0.3, 0.7)
    cells = [(0, 0, round(cw * split), ch)]
    right = (round(cw * split), 0, cw, ch)
    if rng.random() < 0.6:  # two or three cells on the right
        mid = round(ch * rng.uniform(0.3, 0.7))
        cells += [(right[0], 0, cw, mid), (right[0], mid, cw, ch)]
    else:
        cells.append(right)
    for (x0, y0, x1, y1), (_, rel) in zip(cells, picks, strict=False):
        src = _load(rel)
        share = rng.uniform(0.2, 0.4)
        pw, ph = round(src.width * share), round(src.height * share)
        px, py = rng.randint(0, src.width - pw), rng.randint(0, src.height - ph)
        patch = ImageOps.fit(src.crop((px, py, px + pw, py + ph)), (x1 - x0, y1 - y0))
        canvas.paste(ImageOps.mirror(patch) if rng.random() < 0.5 else patch, (x0, y0))
    canvas = ImageEnhance.Color(canvas).enhance(rng.uniform(0.7, 1.3))
    side = rng.choice(LONG_SIDES)
    win: Window = (cw / 2, ch / 2, cw, ch, 0.0)
    img = _render(canvas, win, _out_size(canvas, side), nrng)
    filename = f"unrelated_{number:03d}.jpg"
    stamp = f"2022:03:{1 + number % 28:02d} {8 + number % 12:02d}:{number % 60:02d}:00"
    (Path(out_dir) / "images" / filename).write_bytes(mc.jpeg(img, 90, mc._exif(stamp, "other")))
    return {filename: {"source": None, "kind": "unrelated", "window": None}}


def make(out: Path, bursts_per_photo: int, unrelated: int, workers: int) -> None:
    started = time.perf_counter()
    images = out / "images"
    if images.exists():
        shutil.rmtree(images)  # a stale file would be scanned without a manifest row
    images.mkdir(parents=True)
    bursts = [
        (len(mc.SOURCES) * b + n, b, name, rel, str(out))
        for b in range(bursts_per_photo)
        for n, (name, rel) in enumerate(mc.SOURCES)
    ]
    others = [(n, str(out)) for n in range(unrelated)]
    manifest: dict[str, dict[str, Any]] = {}
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        for rows in pool.imap_unordered(make_burst, bursts):
            manifest.update(rows)
        for rows in pool.imap_unordered(make_unrelated, others, chunksize=4):
            manifest.update(rows)
    (out / "manifest.json").write_text(json.dumps(dict(sorted(manifest.items())), indent=1))
    size = sum(p.stat().st_size for p in images.iterdir())
    kinds: dict[str, int] = {}
    for row in manifest.values():
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    print(
        f"{len(manifest)} files, {size / 1e9:.2f} GB, {kinds}, "
        f"{time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )


# --- scanning ------------------------------------------------------------------------------------


def _scan_child(out: Path, runs: Path, setting: str) -> None:
    """One scan through the real CLI, instrumented; writes OUT/runs/SETTING/."""
    from dedup_gui import cli
    from dedup_gui.core import match_check, pipeline

    run = runs / setting
    logging.basicConfig(
        level=logging.INFO, filename=run / "scan.log", format="%(name)s %(message)s"
    )
    checks: list[dict[str, Any]] = []
    stages: dict[str, float] = {}
    score_all = match_check._score_all

    def counted(pairs: Any, *rest: Any) -> Any:  # (pairs, request, cancel[, cache])
        started = time.perf_counter()
        scores = score_all(pairs, *rest)
        checks.append({"seconds": time.perf_counter() - started, "pairs": [
            [str(p.reference), str(p.member), p.turn.name, p.cropped, scores.get(key)]
            for key, p in pairs.items()
        ]})  # fmt: skip
        return scores

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                stages[name] = stages.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    match_check._score_all = counted
    pipeline.hash_changed = timed("hashing", pipeline.hash_changed)
    pipeline.check_matches = timed("verifying", pipeline.check_matches)
    pipeline.label_same_pixels_fully = timed("same_pixels", pipeline.label_same_pixels_fully)
    argv = ["scan", str(out / "images"), "--json", "--db", str(run / "scan.sqlite3")]
    argv += ["--workers", "2", "-o", str(run / "scan.json"), *SETTINGS[setting]]
    code = cli.main(argv)
    done = {"code": str(Path(cli.__file__).parent), "stages": stages, "rounds": checks}
    (run / "checks.json").write_text(json.dumps(done, indent=1))
    sys.exit(code)


def run_all(out: Path, runs: Path) -> None:
    """Scan with each setting in turn (never two at once), then score.

    The scans import dedup_gui as this interpreter does: PYTHONPATH=DIR (a ``git archive`` of a
    commit) measures that commit instead of an editable install's working tree.
    """
    for setting in SETTINGS:
        run = runs / setting
        if run.exists():
            shutil.rmtree(run)
        run.mkdir(parents=True)
        started = time.perf_counter()
        with (run / "stderr.txt").open("wb") as err:
            cmd = [sys.executable, __file__, "_scan", str(out), setting, "--runs", str(runs)]
            subprocess.run(cmd, check=True, stderr=err)
        wall = time.perf_counter() - started
        (run / "wall.json").write_text(json.dumps({"wall_s": wall}))
        print(f"{setting}: {wall:.1f} s", file=sys.stderr)
    score(out, runs)


# --- scoring -------------------------------------------------------------------------------------


def _inside(inner: list[float], outer: list[float]) -> bool:
    """Whether every corner of window ``inner`` lies in window ``outer`` (with REGION_TOL)."""
    ox, oy, ow, oh, odeg = outer
    ix, iy, iw, ih, ideg = inner
    ti, to = math.radians(ideg), math.radians(odeg)
    for sx, sy in ((-1, -1), (-1, 1), (1, -1), (1, 1)):
        dx, dy = sx * iw / 2, sy * ih / 2
        px = ix + dx * math.cos(ti) - dy * math.sin(ti) - ox
        py = iy + dx * math.sin(ti) + dy * math.cos(ti) - oy
        u, v = px * math.cos(to) + py * math.sin(to), -px * math.sin(to) + py * math.cos(to)
        if abs(u) > ow * (0.5 + REGION_TOL) or abs(v) > oh * (0.5 + REGION_TOL):
            return False
    return True


def pair_kind(a: dict[str, Any], b: dict[str, Any]) -> str:
    """'copy' (one frame), 'region' (one window inside the other), 'other frame' or 'unrelated'."""
    if a["source"] is None or b["source"] is None or a["source"] != b["source"]:
        return "unrelated"
    if a["of"] == b["of"]:
        return "copy"
    if _inside(a["window"], b["window"]) or _inside(b["window"], a["window"]):
        return "region"
    return "other frame"


def _pairs_in(
    groups: list[dict[str, Any]],
) -> tuple[list[tuple[str, str]], list[tuple[str, str, bool]]]:
    """(every pair inside a group, each member with its reference and ``cropped``), by name."""
    every, to_reference = [], []
    for group in groups:
        names = [Path(m["path"]).name for m in group["members"]]
        every += list(combinations(names, 2))
        to_reference += [
            (names[0], Path(m["path"]).name, m["cropped"]) for m in group["members"][1:]
        ]
    return every, to_reference


def _checks(run: Path, manifest: dict[str, dict[str, Any]]) -> dict[str, Any]:
    done = json.loads((run / "checks.json").read_text())
    rows = [pair for r in done["rounds"] for pair in r["pairs"]]
    seconds = sum(r["seconds"] for r in done["rounds"])
    by_kind: dict[str, list[float]] = {}
    for ref, member, turn, cropped, value in rows:
        kind = pair_kind(manifest[Path(ref).name], manifest[Path(member).name])
        key = f"{_check_kind(turn, cropped)} {kind}"
        by_kind.setdefault(key, []).append(-1.0 if value is None else value)
    return {"count": len(rows), "seconds": seconds, "stages": done["stages"], "by_kind": by_kind}


def score_setting(run: Path, manifest: dict[str, dict[str, Any]]) -> dict[str, Any]:
    groups = json.loads((run / "scan.json").read_text())["groups"]
    every, to_reference = _pairs_in(groups)
    kinds: dict[str, int] = {}
    for a, b in every:
        kind = pair_kind(manifest[a], manifest[b])
        kinds[kind] = kinds.get(kind, 0) + 1
    cropped: dict[str, int] = {}
    near: dict[str, int] = {}  # members joined through the upright hash only: never checked
    for a, b, is_cropped in to_reference:
        counts = cropped if is_cropped else near
        kind = pair_kind(manifest[a], manifest[b])
        counts[kind] = counts.get(kind, 0) + 1
    together = {frozenset(p) for p in every}
    found = {kind: 0 for kind in COPY_KINDS}
    for name, row in manifest.items():
        if row["kind"] in COPY_KINDS:
            found[row["kind"]] += frozenset((name, row["of"])) in together
    return {
        "wall_s": json.loads((run / "wall.json").read_text())["wall_s"],
        "groups": len(groups),
        "grouped_files": sum(len(g["members"]) for g in groups),
        "pairs": kinds,
        "cropped_members": cropped,
        "near_members": near,
        "copies_found": found,
        "checks": _checks(run, manifest),
    }


def offset(a: list[float], b: list[float]) -> str:
    """How window ``b`` is moved from window ``a``: shift and zoom as shares, tilt in degrees."""
    return (
        f"shift {100 * (b[0] - a[0]) / a[2]:+.1f} % / {100 * (b[1] - a[1]) / a[3]:+.1f} %, "
        f"zoom {100 * (b[2] / a[2] - 1):+.1f} %, tilt {b[4] - a[4]:+.2f} deg"
    )


def _check_kind(turn: str, is_cropped: bool) -> str:
    return "cropped" if is_cropped else "near" if turn == "NONE" else "turned"


def details(run: Path, manifest: dict[str, dict[str, Any]]) -> None:
    """Print each crop check that accepted different frames or rejected a copy or a region,
    and each other check that rejected a copy, with its score and the windows' offset."""
    setting = run.name
    done = json.loads((run / "checks.json").read_text())
    for ref, member, turn, is_cropped, value in (p for r in done["rounds"] for p in r["pairs"]):
        a, b = manifest[Path(ref).name], manifest[Path(member).name]
        kind = pair_kind(a, b)
        wrong = (kind in ("other frame", "unrelated")) == (value is not None and value >= 0.85)
        if (wrong or kind == "region") and (is_cropped or kind == "copy"):
            where = offset(a["window"], b["window"]) if a["window"] and b["window"] else ""
            print(
                f"{setting}: {_check_kind(turn, is_cropped)} check {kind} "
                f"{Path(member).name} of {Path(ref).name}: {value:.3f} {where}"
            )


def _summary(scores: list[float]) -> str:
    accepted = sum(s >= 0.85 for s in scores)
    top = sorted(scores, reverse=True)[:3]
    return f"{len(scores)} ({accepted} accepted; top {', '.join(f'{s:.2f}' for s in top)})"


COLUMNS = (
    "setting", "wall s", "hashing s", "verifying s", "same-pixels s", "groups", "files grouped",
    "pairs in groups: copy / region / other frame / unrelated",
    "cropped members: copy / region / other frame / unrelated",
    "other frames joined unchecked", "copies found: exact, crop_10, caption, resize_50",
    "checks", "check s (2 workers)", "checks per 1000 frames",
)  # fmt: skip
_ORDER = ("copy", "region", "other frame", "unrelated")


def _row(setting: str, r: dict[str, Any], frames: int) -> list[str]:
    ch, stages = r["checks"], r["checks"]["stages"]
    return [
        setting,
        f"{r['wall_s']:.1f}",
        *(f"{stages.get(k, 0.0):.1f}" for k in ("hashing", "verifying", "same_pixels")),
        str(r["groups"]),
        str(r["grouped_files"]),
        " / ".join(str(r["pairs"].get(k, 0)) for k in _ORDER),
        " / ".join(str(r["cropped_members"].get(k, 0)) for k in _ORDER),
        str(r["near_members"].get("other frame", 0)),
        ", ".join(str(r["copies_found"][k]) for k in COPY_KINDS),
        str(ch["count"]),
        f"{ch['seconds']:.1f}",
        f"{1000 * ch['count'] / frames:.0f}",
    ]


def score(out: Path, runs: Path) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    frames = sum(row["kind"] == "frame" for row in manifest.values())
    results = {s: score_setting(runs / s, manifest) for s in SETTINGS if (runs / s).exists()}
    (runs / "results.json").write_text(json.dumps(results, indent=1))
    print("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS))
    for setting, r in results.items():
        print("| " + " | ".join(_row(setting, r, frames)) + " |")
    for setting, r in results.items():
        for kind, values in sorted(r["checks"]["by_kind"].items()):
            print(f"{setting}: checks {kind}: {_summary(values)}")
        details(runs / setting, manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("make", "run", "score", "_scan"))
    parser.add_argument("out", type=Path)
    parser.add_argument("setting", nargs="?", choices=tuple(SETTINGS))
    parser.add_argument("--runs", type=Path, help="where scans write (default OUT/runs)")
    parser.add_argument("--bursts-per-photo", type=int, default=3)
    parser.add_argument("--unrelated", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    runs = args.runs or args.out / "runs"
    if args.command == "make":
        make(args.out, args.bursts_per_photo, args.unrelated, args.workers)
    elif args.command == "run":
        run_all(args.out, runs)
    elif args.command == "score":
        score(args.out, runs)
    else:
        _scan_child(args.out, runs, args.setting)


if __name__ == "__main__":
    main()
