"""Build the accuracy corpus: real photographs from installed wheels, their copies, hard negatives.

Usage: python benchmarks/accuracy/make_corpus.py OUT_DIR [--workers 2]

Needs scikit-image, scikit-learn, matplotlib (for their bundled photographs; nothing is fetched)
and pillow-heif (HEIC). Deterministic: no randomness, fixed encoder settings. Writes every image
flat into OUT_DIR/images/ (some peers do not recurse) and OUT_DIR/manifest.json mapping each file
name to {"original": id, "transform": name, "is_negative_of": [ids], "ignore_against": id|null}.
Files sharing an ``original`` are the same photograph; ``is_negative_of`` names hard negatives
(burst frames, non-overlapping tiles); ``ignore_against`` is the photo a negative was cut from
(a large crop of it: neither a duplicate nor clearly not one, so the scorer skips those pairs).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import shutil
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pillow_heif
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

pillow_heif.register_heif_opener()


def _site() -> Path:
    import sklearn  # only to find the wheel's files

    return Path(sklearn.__file__).parent.parent


# (id, path inside site-packages). Photographs only: skimage's synthetic images are left out.
SOURCES: list[tuple[str, str]] = [
    ("astronaut", "skimage/data/astronaut.png"),
    ("brick", "skimage/data/brick.png"),
    ("camera", "skimage/data/camera.png"),
    ("chelsea", "skimage/data/chelsea.png"),
    ("coffee", "skimage/data/coffee.png"),
    ("coins", "skimage/data/coins.png"),
    ("grass", "skimage/data/grass.png"),
    ("gravel", "skimage/data/gravel.png"),
    ("hubble", "skimage/data/hubble_deep_field.jpg"),
    ("ihc", "skimage/data/ihc.png"),
    ("moon", "skimage/data/moon.png"),
    ("motorcycle", "skimage/data/motorcycle_left.png"),
    ("retina", "skimage/data/retina.jpg"),
    ("rocket", "skimage/data/rocket.jpg"),
    ("china", "sklearn/datasets/images/china.jpg"),
    ("flower", "sklearn/datasets/images/flower.jpg"),
    ("hopper", "matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
]
STEREO_RIGHT = ("motorcycle_right", "skimage/data/motorcycle_left.png".replace("left", "right"))
MAX_SIDE = 640  # the corpus stays small; every source is a few hundred pixels already

# --- encoding helpers ----------------------------------------------------------------------------


def _exif(date: str, description: str, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x0132] = date  # DateTime
    exif[0x010E] = description  # ImageDescription
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[36867] = date  # DateTimeOriginal
    return exif.tobytes()


def jpeg(img: Image.Image, quality: int = 92, exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    img.save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def _segments(data: bytes) -> tuple[list[bytes], bytes]:
    """A JPEG's marker segments before the scan data, and the rest (scan + EOI)."""
    pos, segments = 2, []
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:  # up to start-of-scan
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        segments.append(data[pos : pos + 2 + length])
        pos += 2 + length
    return segments, data[pos:]


def replace_exif(data: bytes, exif: bytes | None) -> bytes:
    """The same JPEG with its APP1 Exif segment replaced (or dropped): pixels untouched."""
    segments, rest = _segments(data)
    kept = [s for s in segments if not (s[1] == 0xE1 and s[4:10] == b"Exif\x00\x00")]
    if exif is not None:
        kept.insert(1, b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif)
    return b"\xff\xd8" + b"".join(kept) + rest


# --- pixel transforms ----------------------------------------------------------------------------


def _crop(img: Image.Image, percent: float) -> Image.Image:
    """Remove ``percent`` of width and of height, unevenly between the sides."""
    w, h = img.size
    dw, dh = w * percent / 100, h * percent / 100
    return img.crop((round(dw * 0.6), round(dh * 0.4), w - round(dw * 0.4), h - round(dh * 0.6)))


def _gamma(img: Image.Image, gamma: float) -> Image.Image:
    lut = [round(255 * (i / 255) ** gamma) for i in range(256)]
    return img.point(lut * len(img.getbands()))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(10, size))


def _watermark(img: Image.Image) -> Image.Image:
    base = img.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = base.size
    draw.text(
        (w * 0.55, h * 0.85), "(c) PhotoStock", font=_font(h // 16), fill=(255, 255, 255, 140)
    )
    draw.ellipse((w * 0.04, h * 0.04, w * 0.14, h * 0.04 + w * 0.1), fill=(255, 255, 255, 110))
    return Image.alpha_composite(base, layer).convert("RGB")


def _caption(img: Image.Image) -> Image.Image:
    out = img.convert("RGB")
    draw = ImageDraw.Draw(out)
    w, h = out.size
    font = _font(h // 11)
    for y, text in ((h * 0.03, "WHEN THE SCAN"), (h * 0.84, "FINDS EVERY COPY")):
        draw.text((w * 0.08, y), text, font=font, fill="white", stroke_width=2, stroke_fill="black")
    return out


def _screenshot(img: Image.Image) -> Image.Image:
    """A viewer window showing the photo at ~60 %: title bar, grey border, then re-encoded."""
    w, h = img.size
    shown = img.convert("RGB").resize((round(w * 0.6), round(h * 0.6)), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (shown.width + 40, shown.height + 70), (236, 236, 236))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, canvas.width, 30), fill=(48, 48, 52))
    draw.text((10, 8), "IMG_0001.JPG - Photos", font=_font(13), fill="white")
    canvas.paste(shown, (20, 45))
    return canvas


def _reupload(img: Image.Image, rounds: int = 5) -> bytes:
    """Each round a service scales to 90 % and re-encodes at quality 75, dropping metadata."""
    current = img.convert("RGB")
    data = b""
    for _ in range(rounds):
        w, h = current.size
        current = current.resize((round(w * 0.9), round(h * 0.9)), Image.Resampling.BICUBIC)
        data = jpeg(current, 75)
        current = Image.open(io.BytesIO(data)).convert("RGB")
    return data


def _scaled(img: Image.Image, factor: float) -> Image.Image:
    w, h = img.size
    return img.resize(
        (max(8, round(w * factor)), max(8, round(h * factor))), Image.Resampling.LANCZOS
    )


def _thumb(img: Image.Image, side: int) -> Image.Image:
    out = img.copy()
    out.thumbnail((side, side), Image.Resampling.LANCZOS)
    return out


# Stored pixels for EXIF orientation n so that a viewer applying n shows the upright photo.
_STORE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}

Maker = Callable[[Image.Image, bytes], tuple[str, bytes]]  # (pixels, original file) -> (ext, bytes)


def _px(f: Callable[[Image.Image], Image.Image], quality: int = 92) -> Maker:
    return lambda img, _orig: ("jpg", jpeg(f(img).convert("RGB"), quality))


def _oriented(n: int) -> Maker:
    def make(img: Image.Image, _orig: bytes) -> tuple[str, bytes]:
        stored = img.transpose(_STORE_FOR_ORIENTATION[n])
        return "jpg", jpeg(stored, 92, _exif("2020:05:01 10:00:00", "oriented", n))

    return make


TRANSFORMS: dict[str, Maker] = {
    "exact_copy": lambda _img, orig: ("jpg", orig),
    "meta_changed": lambda _img, orig: (
        "jpg",
        replace_exif(orig, _exif("2023:12:24 18:30:00", "edited in a photo manager")),
    ),
    "meta_stripped": lambda _img, orig: ("jpg", replace_exif(orig, None)),
    **{f"jpeg_q{q}": _px(lambda i: i, q) for q in (90, 70, 50, 30)},
    "resize_50": _px(lambda i: _scaled(i, 0.5)),
    "resize_25": _px(lambda i: _scaled(i, 0.25)),
    "thumb_128": _px(lambda i: _thumb(i, 128), 85),
    "png": lambda img, _o: ("png", encode(img, "PNG")),
    "webp": lambda img, _o: ("webp", encode(img, "WEBP", quality=80)),
    "tiff": lambda img, _o: ("tif", encode(img, "TIFF", compression="tiff_lzw")),
    "heic": lambda img, _o: ("heic", encode(img.convert("RGB"), "HEIF", quality=70)),
    "avif": lambda img, _o: ("avif", encode(img.convert("RGB"), "AVIF", quality=60)),
    "bright_up": _px(lambda i: ImageEnhance.Brightness(i).enhance(1.25)),
    "bright_down": _px(lambda i: ImageEnhance.Brightness(i).enhance(0.75)),
    "contrast_up": _px(lambda i: ImageEnhance.Contrast(i).enhance(1.35)),
    "contrast_down": _px(lambda i: ImageEnhance.Contrast(i).enhance(0.7)),
    "gamma_0.7": _px(lambda i: _gamma(i, 0.7)),
    "gamma_1.4": _px(lambda i: _gamma(i, 1.4)),
    "greyscale": _px(lambda i: i.convert("L")),
    "crop_5": _px(lambda i: _crop(i, 5)),
    "crop_10": _px(lambda i: _crop(i, 10)),
    "crop_20": _px(lambda i: _crop(i, 20)),
    "watermark": _px(_watermark),
    "text_overlay": _px(_caption),
    "blur": _px(lambda i: i.filter(ImageFilter.GaussianBlur(2))),
    "sharpen": _px(lambda i: i.filter(ImageFilter.UnsharpMask(2, 150, 3))),
    "screenshot": _px(_screenshot, 85),
    "reupload_x5": lambda img, _o: ("jpg", _reupload(img)),
    **{f"exif_orient_{n}": _oriented(n) for n in (2, 3, 6, 8)},
    "rotate_90": _px(lambda i: i.transpose(Image.Transpose.ROTATE_90)),
    "rotate_180": _px(lambda i: i.transpose(Image.Transpose.ROTATE_180)),
    "rotate_270": _px(lambda i: i.transpose(Image.Transpose.ROTATE_270)),
    "mirror": _px(ImageOps.mirror),
    "flip": _px(ImageOps.flip),
}


# --- per source ----------------------------------------------------------------------------------


def _load(rel: str) -> Image.Image:
    with Image.open(_site() / rel) as src:
        img = src.convert("RGB") if src.mode not in ("L", "RGB") else src.copy()
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return img


def _entry(original: str, transform: str, negative_of: list[str], ignore: str | None) -> dict:
    return {
        "original": original,
        "transform": transform,
        "is_negative_of": negative_of,
        "ignore_against": ignore,
    }


def _tiles(name: str, img: Image.Image) -> list[tuple[str, bytes, dict]]:
    """2 x 2 non-overlapping quarters: hard negatives of each other, unrelated to the rest."""
    w, h = img.size
    boxes = [(x, y, x + w // 2, y + h // 2) for y in (0, h // 2) for x in (0, w // 2)]
    ids = [f"{name}~tile{k}" for k in range(len(boxes))]
    out = []
    for k, box in enumerate(boxes):
        others = [i for i in ids if i != ids[k]]
        out.append((f"{ids[k]}.jpg", jpeg(img.crop(box), 90), _entry(ids[k], "tile", others, name)))
    return out


def _bursts(name: str, img: Image.Image) -> list[tuple[str, bytes, dict]]:
    """Two frames of one scene: the camera moved ~6 % sideways, tilted 1.5 degrees, exposure
    changed a little. Each is a large crop of the source photo, so pairs with it are skipped."""
    w, h = img.size
    cw, ch = round(w * 0.85), round(h * 0.85)
    a = img.crop((0, round(h * 0.05), cw, round(h * 0.05) + ch))
    moved = img.rotate(1.5, resample=Image.Resampling.BICUBIC)
    x0 = round(w * 0.06)
    b = moved.crop((x0, round(h * 0.08), x0 + cw, round(h * 0.08) + ch))
    b = ImageEnhance.Brightness(b).enhance(1.06)
    ia, ib = f"{name}~burstA", f"{name}~burstB"
    return [
        (f"{ia}.jpg", jpeg(a, 90), _entry(ia, "burst", [ib], name)),
        (f"{ib}.jpg", jpeg(b, 90), _entry(ib, "burst", [ia], name)),
    ]


def make_source(job: tuple[str, str, str]) -> list[tuple[str, dict]]:
    """Write one source's original, copies and negatives; return their manifest rows."""
    name, rel, out_dir = job
    out = Path(out_dir)
    img = _load(rel)
    original = jpeg(img, 95, _exif("2019:07:14 12:34:56", f"{name} original"))
    upright = Image.open(io.BytesIO(original))
    upright.load()
    files: list[tuple[str, bytes, dict]] = [
        (f"{name}.jpg", original, _entry(name, "original", [], None))
    ]
    for transform, make in TRANSFORMS.items():
        ext, data = make(upright, original)
        files.append((f"{name}__{transform}.{ext}", data, _entry(name, transform, [], None)))
    if min(img.size) >= 300:
        files += _tiles(name, img) + _bursts(name, img)
    if name == "motorcycle":  # the real stereo pair: same scene, two viewpoints
        right = jpeg(_load(STEREO_RIGHT[1]), 95)
        files.append(
            ("motorcycle_right.jpg", right, _entry("motorcycle_right", "burst", [name], None))
        )
    for filename, data, _ in files:
        (out / "images" / filename).write_bytes(data)
    return [(filename, entry) for filename, _, entry in files]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    images = args.out_dir / "images"
    if images.exists():
        shutil.rmtree(images)  # a stale file would be scored without a manifest row
    images.mkdir(parents=True)
    jobs = [(name, rel, str(args.out_dir)) for name, rel in SOURCES]
    with multiprocessing.get_context("forkserver").Pool(args.workers) as pool:
        rows = [row for rows in pool.map(make_source, jobs, chunksize=1) for row in rows]
    manifest = dict(sorted(rows))
    (args.out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    kinds: dict[str, int] = {}
    for entry in manifest.values():
        kind = entry["transform"] if entry["transform"] in ("original", "tile", "burst") else "copy"
        kinds[kind] = kinds.get(kind, 0) + 1
    elapsed = time.perf_counter() - started
    print(f"{len(manifest)} files in {images} ({kinds}) in {elapsed:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
