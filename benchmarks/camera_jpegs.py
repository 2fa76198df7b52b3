"""Make camera-sized, photo-like JPEGs with EXIF, for the speed benchmarks.

Usage: python benchmarks/camera_jpegs.py OUT_DIR [--count N] [--megapixels 12 24]
Files already present are kept, so the corpus is made once and reused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

# Camera-like frame sizes (3:2) for the megapixel counts people meet.
_SIZES = {12: (4240, 2832), 24: (6000, 4000)}


def photo_like(seed: int, size: tuple[int, int]) -> Image.Image:
    """Smooth structure (like a scene) plus fine noise (like sensor grain and texture)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(12, 18, 3), dtype=np.uint8)
    base = Image.fromarray(small).resize((size[0] // 8, size[1] // 8), Image.Resampling.BICUBIC)
    image = base.resize(size, Image.Resampling.BILINEAR)
    grain = rng.integers(-12, 13, size=(size[1], size[0], 1), dtype=np.int16)
    pixels = np.clip(np.asarray(image, dtype=np.int16) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def camera_picture(mp: int, i: int) -> Image.Image:
    """Picture ``i`` of the ``mp`` megapixel corpus (the same pixels every time)."""
    return photo_like(mp * 100_000 + i, _SIZES[mp])


def date_taken(i: int) -> str:
    """Picture ``i``'s DateTimeOriginal, EXIF style."""
    return f"2024:05:{1 + i % 28:02d} 12:00:00"


def camera_exif(i: int) -> Image.Exif:
    """EXIF as a camera writes it: make, model and DateTimeOriginal."""
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x0110] = "Model 1"  # Model
    exif.get_ifd(0x8769)[0x9003] = date_taken(i)  # DateTimeOriginal
    return exif


def make_corpus(out: Path, count: int, megapixels: list[int]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for mp in megapixels:
        for i in range(count):
            path = out / f"IMG_{mp}MP_{i:04d}.jpg"
            paths.append(path)
            if not path.exists():
                camera_picture(mp, i).save(path, quality=90, exif=camera_exif(i))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=100, help="images per size")
    parser.add_argument("--megapixels", type=int, nargs="+", default=[12, 24], choices=[12, 24])
    args = parser.parse_args()
    paths = make_corpus(args.out, args.count, args.megapixels)
    print(f"{len(paths)} images in {args.out}")


if __name__ == "__main__":
    main()
