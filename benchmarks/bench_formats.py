"""Cold-scan speed per file format (JPEG, PNG, WebP, HEIC, AVIF, DNG RAW) against the naive loop.

Usage: python benchmarks/bench_formats.py [--count 40] [--workers 2] [--out DIR]
       [--formats jpeg png webp heic heic-thumb avif dng dng-nopreview]

The same ``count`` camera-like 12 MP pictures (camera_jpegs.camera_picture: the 12 MP pictures
of bench_scan's corpus) are saved once in each format, with the camera's EXIF, into
``OUT/<format>/``; files already there are kept (making them takes ~5 min the first time,
mostly the HEIC encoder). Then, per format folder, page cache warm:

- dedup-gui: the real ``dedup-gui scan``, start-up and a fresh database included;
- naive: one plain loop, what a script does: ``imagehash.phash(Image.open(p))`` (pillow-heif
  registered for HEIC; AVIF is Pillow's own), and for RAW
  ``imagehash.phash(Image.fromarray(rawpy.imread(p).postprocess()))``.

Encoders: PNG compress_level 1 and WebP method 1 (decoding costs the same whatever the encoder's
effort), HEIC q80 with x265's ultrafast preset (the default preset takes ~80 s a picture),
AVIF q80 speed 8; "HEIC + thumbnail" embeds a 320 px thumbnail as phones do (a scan at 8x8
pHash decodes that instead of the picture; the naive loop decodes the picture). DNGs come from
tests/core/format_files.write_dng: a 16-bit RGGB mosaic, with a full-size JPEG preview as
cameras embed, or without one (then the RAW must be demosaiced).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import imagehash
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.core.format_files
from bench_scan import time_dedup_gui
from camera_jpegs import camera_exif, camera_picture, date_taken

from tests.core.format_files import write_dng

Writer = Callable[[Path, Image.Image, int], None]


def _pillow(fmt: str, **options: object) -> Writer:
    def write(path: Path, picture: Image.Image, i: int) -> None:
        picture.save(path, fmt, exif=camera_exif(i).tobytes(), **options)

    return write


def _dng(preview: bool) -> Writer:
    def write(path: Path, picture: Image.Image, i: int) -> None:
        write_dng(path, picture, preview=preview, exif_date=date_taken(i), camera="BenchCam Model1")

    return write


_X265_FAST = {"preset": "ultrafast"}  # x265's default preset takes ~80 s per 12 MP picture

# name -> (suffix, writer, label in the table)
FORMATS: dict[str, tuple[str, Writer, str]] = {
    "jpeg": (".jpg", _pillow("JPEG", quality=90), "JPEG q90"),
    "png": (".png", _pillow("PNG", compress_level=1), "PNG"),
    "webp": (".webp", _pillow("WEBP", quality=80, method=1), "WebP q80"),
    "heic": (".heic", _pillow("HEIF", quality=80, enc_params=_X265_FAST), "HEIC q80"),
    "heic-thumb": (
        ".heic",
        _pillow("HEIF", quality=80, enc_params=_X265_FAST, thumbnails=[320]),
        "HEIC q80 + 320 px thumbnail",
    ),
    "avif": (".avif", _pillow("AVIF", quality=80, speed=8), "AVIF q80"),
    "dng": (".dng", _dng(preview=True), "DNG + full-size JPEG preview"),
    "dng-nopreview": (".dng", _dng(preview=False), "DNG, no preview (demosaic)"),
}


def _register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def _make_one(job: tuple[Path, int, tuple[str, ...]]) -> None:
    """Picture ``i`` in every format of ``names`` it is still missing in."""
    out, i, names = job
    _register_heif()
    missing = [n for n in names if not (out / n / f"IMG_{i:04d}{FORMATS[n][0]}").exists()]
    if not missing:
        return
    picture = camera_picture(12, i)
    for name in missing:
        suffix, write, _ = FORMATS[name]
        path = out / name / f"IMG_{i:04d}{suffix}"
        partial = path.with_name(f".partial-{path.name}")  # a killed run leaves no half file
        write(partial, picture, i)
        partial.rename(path)


def make_formats(out: Path, count: int, names: list[str], workers: int) -> dict[str, list[Path]]:
    """The corpus: ``count`` pictures per format, made where missing; format -> its files."""
    for name in names:
        (out / name).mkdir(parents=True, exist_ok=True)
    jobs = [(out, i, tuple(names)) for i in range(count)]
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        pool.map(_make_one, jobs, chunksize=1)
    return {n: [out / n / f"IMG_{i:04d}{FORMATS[n][0]}" for i in range(count)] for n in names}


def naive_raw(path: Path) -> str:
    import rawpy

    with rawpy.imread(str(path)) as raw:
        return str(imagehash.phash(Image.fromarray(raw.postprocess())))


def naive_pillow(path: Path) -> str:
    return str(imagehash.phash(Image.open(path)))


def time_naive(paths: list[Path], one: Callable[[Path], str]) -> float:
    started = time.perf_counter()
    for path in paths:
        one(path)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="pictures per format (12 MP)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "formats")
    parser.add_argument("--formats", nargs="+", choices=list(FORMATS), default=list(FORMATS))
    args = parser.parse_args()

    started = time.perf_counter()
    corpus = make_formats(args.out, args.count, args.formats, args.workers)
    print(f"corpus ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    _register_heif()
    n = args.count
    print(f"\n{n} camera-like 12 MP pictures per format, {os.cpu_count()} cores")
    print(f"| {'format':<30} | MB/file | dedup-gui img/s | naive img/s | x naive |")
    print(f"|{'-' * 32}|---------|-----------------|-------------|---------|")
    for name, paths in corpus.items():
        size_mb = sum(p.stat().st_size for p in paths) / n / 1e6
        for path in paths:  # warm the page cache so both contenders read from memory
            path.read_bytes()
        ours = n / time_dedup_gui(args.out / name, args.workers)
        naive = n / time_naive(paths, naive_raw if name.startswith("dng") else naive_pillow)
        label, ratio = FORMATS[name][2], ours / naive
        print(f"| {label:<30} | {size_mb:7.1f} | {ours:15.1f} | {naive:11.2f} | {ratio:7.1f} |")
    print(f"\ndedup-gui: {args.workers} worker processes; naive: 1 process.")


if __name__ == "__main__":
    main()
