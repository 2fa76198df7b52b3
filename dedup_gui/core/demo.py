"""A small sample photo library with planted duplicates, for `dedup-gui --demo`. No Qt.

The pictures are drawn with Pillow (sky, sun, hills, water, a town, flowers...), so they look
like photos at thumbnail size and their perceptual hashes behave like real ones. Every copy
kind the app must find is planted once; everything is deterministic.
"""

from __future__ import annotations

import math
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps
from PIL.TiffImagePlugin import IFDRational

DEMO_FOLDER_NAME = "Demo photos"

_ORIENTATION_TAG = 0x0112
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL_TAG = 36867
_MAKE_TAG, _MODEL_TAG = 0x010F, 0x0110

_RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class _Scene:
    """How one picture is drawn; every number is relative to the picture size."""

    sky_top: _RGB
    sky_bottom: _RGB
    ground: _RGB
    horizon: float  # 0 = top, 1 = bottom
    sun: tuple[float, float, float] | None  # x, y, radius
    kind: str  # "hills", "town", "sea", "flowers", "forest"
    seed: int


# Scenes were chosen so that their pHashes are far apart (tests/core/test_demo.py checks it).
_SCENES: dict[str, _Scene] = {
    "beach": _Scene(
        (70, 140, 220), (190, 225, 245), (230, 205, 150), 0.55, (0.78, 0.2, 0.07), "sea", 11
    ),
    "hills": _Scene((40, 90, 170), (170, 200, 230), (60, 110, 70), 0.45, None, "hills", 12),
    "town": _Scene(
        (120, 160, 210), (235, 210, 180), (120, 100, 90), 0.7, (0.2, 0.25, 0.05), "town", 13
    ),
    "poppies": _Scene((150, 190, 230), (220, 235, 240), (70, 130, 50), 0.3, None, "flowers", 14),
    "tower": _Scene((20, 30, 70), (200, 110, 80), (35, 30, 40), 0.8, (0.5, 0.62, 0.1), "town", 15),
    "sunset": _Scene(
        (60, 30, 90), (250, 150, 60), (30, 20, 30), 0.62, (0.35, 0.58, 0.12), "sea", 16
    ),
    "harbour": _Scene(
        (100, 150, 200), (200, 220, 235), (50, 80, 110), 0.38, (0.85, 0.12, 0.05), "town", 17
    ),
    "forest": _Scene((180, 200, 180), (120, 150, 110), (40, 70, 35), 0.15, None, "forest", 18),
    "dunes": _Scene(
        (90, 150, 220), (240, 220, 190), (215, 160, 90), 0.42, (0.15, 0.15, 0.06), "hills", 19
    ),
    "snow": _Scene((150, 170, 200), (230, 235, 245), (240, 242, 248), 0.5, None, "hills", 20),
    "lake": _Scene((70, 120, 190), (190, 210, 230), (40, 90, 140), 0.55, None, "hills", 21),
    "meadow": _Scene((100, 150, 210), (200, 220, 235), (90, 140, 60), 0.5, None, "flowers", 22),
}


def make_demo_library(folder: Path) -> Path:
    """Build the sample library inside ``folder`` and return its root folder.

    Planted: exact copies (one in a nested backup folder), a re-encode, a resize, a PNG
    conversion, a WebP conversion, a copy with edited metadata only, an EXIF-rotated copy, an
    export turned a quarter and a mirrored one, a cropped copy and a captioned one, a burst of
    two frames a second apart, camera facts (lens, exposure, GPS) and a rated .xmp sidecar, plus
    one damaged file and a text file, so the problems list and the walk's filtering show too.
    """
    root = folder / DEMO_FOLDER_NAME
    summer, phone, camera = root / "2023 Summer", root / "Phone export", root / "Camera"
    backup, wallpapers = root / "Backup" / "2023" / "Summer", root / "Wallpapers"
    for sub in (summer, phone, camera, backup, wallpapers):
        sub.mkdir(parents=True, exist_ok=True)
    _plant_copies(summer, phone, camera, backup, wallpapers)
    _plant_rotated(phone, camera)
    _plant_photographers(root, summer, camera)
    _plant_edits(summer, phone, root / "Exports")
    _write_damaged(camera / "DSC_1050.jpg")
    (root / "notes.txt").write_text("Holiday pictures, sorted in 2023.\n", encoding="utf-8")
    return root


def _plant_copies(summer: Path, phone: Path, camera: Path, backup: Path, wallpapers: Path) -> None:
    beach = _save_jpeg(_draw("beach", 1200, 800), summer / "beach.jpg", date="2023:07:14 10:21:07")
    shutil.copy2(beach, summer / "beach (1).jpg")  # exact copy, same folder
    shutil.copy2(beach, backup / "beach.jpg")  # exact copy, nested backup folder

    hills = _draw("hills", 1200, 800)
    hills_path = _save_jpeg(
        hills, summer / "green hills.jpg", quality=94, date="2023:07:18 07:45:30"
    )
    _reencode(hills_path, summer / "green hills (edited).jpg", quality=60)  # re-encode

    town = _save_jpeg(_draw("town", 1200, 800), camera / "old town.jpg", date="2023:08:02 16:10:44")
    _resize(town, phone / "IMG_0412.jpg", 0.5)  # resize

    poppies = _draw("poppies", 1000, 750)
    poppies_path = _save_jpeg(poppies, camera / "poppies.jpg", date="2023:06:05 12:00:01")
    with Image.open(poppies_path) as img:
        img.save(phone / "IMG_0420.png", "PNG")  # lossless conversion: same pixels

    harbour = _save_jpeg(_draw("harbour", 1000, 667), camera / "harbour.jpg")
    with Image.open(harbour) as img:
        img.save(wallpapers / "harbour.webp", "WEBP", quality=80)  # lossy conversion

    dunes = _save_jpeg(_draw("dunes", 1000, 667), phone / "dunes.jpg", date="2023:07:30 18:02:11")
    # The same compressed picture with other metadata, as a photo organiser leaves it.
    _with_other_exif(dunes, wallpapers / "dunes.jpg", date="2024:01:02 09:00:00")


def _plant_rotated(phone: Path, camera: Path) -> None:
    tower = _draw("tower", 800, 1200)  # a portrait-format photo...
    _save_jpeg(tower, phone / "IMG_0413.jpg", date="2023:08:03 21:30:12")
    # ...and the camera's copy: pixels stored sideways plus the EXIF tag that turns them upright.
    _save_jpeg(
        tower.transpose(Image.Transpose.ROTATE_90),
        camera / "DSC_1043.jpg",
        orientation=6,
        date="2023:08:03 21:30:12",
    )


def _plant_photographers(root: Path, summer: Path, camera: Path) -> None:
    """What a photographer's folders add: turned exports, a burst, camera facts, a rating."""
    exports = root / "Exports"
    exports.mkdir(exist_ok=True)
    snow = _draw("snow", 1000, 667)
    _save_jpeg(snow, root / "winter morning.jpg", date="2023:01:21 08:12:40", facts=True)
    # Exported turned a quarter clockwise, and a mirrored copy: no EXIF tag turns them back.
    _save_jpeg(
        snow.transpose(Image.Transpose.ROTATE_270), exports / "winter morning 2.jpg", quality=80
    )
    sunset = _draw("sunset", 1000, 667)
    _save_jpeg(sunset, summer / "sunset.jpg", date="2023:07:21 21:04:10", facts=True)
    _save_jpeg(ImageOps.mirror(sunset), exports / "sunset mirrored.jpg", quality=85)
    # A burst: the next frame a second later, the camera moved a little. Similar, not a copy.
    forest = _draw("forest", 1000, 667)
    forest_path = camera / "forest path.jpg"
    _save_jpeg(forest, forest_path, date="2023:09:10 15:30:05", facts=True)
    moved = forest.crop((40, 20, 1000, 667)).resize((1000, 667), Image.Resampling.LANCZOS)
    _save_jpeg(moved, camera / "forest path 2.jpg", date="2023:09:10 15:30:06", facts=True)
    # A rating and colour label given in Lightroom, kept in a sidecar beside the photo.
    forest_path.with_suffix(".xmp").write_text(_XMP_RATED, encoding="utf-8")


def _plant_edits(summer: Path, phone: Path, exports: Path) -> None:
    """A copy with its edges trimmed, and one shared with a caption across the bottom."""
    lake = _draw("lake", 1000, 667)
    _save_jpeg(lake, summer / "lake.jpg", date="2023:07:25 19:40:02")
    _save_jpeg(lake.crop((90, 50, 910, 600)), exports / "lake (cropped).jpg", quality=85)
    meadow = _draw("meadow", 1000, 667)
    _save_jpeg(meadow, phone / "meadow.jpg", date="2023:06:11 11:15:36")
    captioned = meadow.copy()
    draw = ImageDraw.Draw(captioned)
    draw.rectangle((0, 600, 1000, 667), fill=(250, 250, 250))
    draw.text((24, 612), "Summer in the meadow - see you soon!", fill=(30, 30, 30), font_size=36)
    _save_jpeg(captioned, exports / "meadow shared.jpg", quality=80)


_XMP_RATED = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmp:Rating="4" xmp:Label="Green"/>
 </rdf:RDF>
</x:xmpmeta>
"""


# -- drawing ----------------------------------------------------------------------------------


def _draw(name: str, width: int, height: int) -> Image.Image:
    scene = _SCENES[name]
    rng = random.Random(scene.seed)
    img = _sky(width, height, scene)
    draw = ImageDraw.Draw(img)
    horizon_y = scene.horizon * height
    if scene.sun is not None:
        x, y, r = scene.sun
        radius = r * min(width, height) * 1.5
        draw.ellipse(
            (x * width - radius, y * height - radius, x * width + radius, y * height + radius),
            fill=(255, 236, 170),
        )
    painter = {"hills": _hills, "town": _town, "sea": _sea, "flowers": _flowers, "forest": _forest}[
        scene.kind
    ]
    painter(draw, width, height, horizon_y, scene, rng)
    img = img.filter(ImageFilter.GaussianBlur(radius=max(width, height) / 500))
    return _grain(img, scene.seed)


def _sky(width: int, height: int, scene: _Scene) -> Image.Image:
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    top, bottom = np.array(scene.sky_top, np.float32), np.array(scene.sky_bottom, np.float32)
    rows = top + (bottom - top) * t  # (height, 3)
    pixels = np.repeat(rows[:, None, :], width, axis=1)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _shade(colour: _RGB, factor: float) -> _RGB:
    r, g, b = (max(0, min(255, round(c * factor))) for c in colour)
    return (r, g, b)


def _ridge(width: int, base_y: float, amplitude: float, rng: random.Random) -> list[float]:
    """A smooth skyline: a few sine waves with random phases, one value per 8 px."""
    waves = [
        (rng.uniform(1, 4), rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 1.0)) for _ in range(3)
    ]
    return [
        base_y - amplitude * sum(w * math.sin(f * math.pi * x / width + p) for f, p, w in waves) / 2
        for x in range(0, width + 8, 8)
    ]


def _fill_below(draw: ImageDraw.ImageDraw, ys: list[float], height: int, fill: _RGB) -> None:
    points = [(i * 8.0, y) for i, y in enumerate(ys)]
    draw.polygon([*points, (points[-1][0], float(height)), (0.0, float(height))], fill=fill)


def _hills(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: float,
    scene: _Scene,
    rng: random.Random,
) -> None:
    for layer in range(3):
        ys = _ridge(width, horizon + layer * height * 0.12, height * (0.18 - layer * 0.04), rng)
        _fill_below(draw, ys, height, _shade(scene.ground, 0.7 + layer * 0.25))


def _sea(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: float,
    scene: _Scene,
    rng: random.Random,
) -> None:
    water = _shade(scene.sky_top, 0.8)
    draw.rectangle((0, horizon, width, height), fill=water)
    for _ in range(25):  # light on the waves
        y = rng.uniform(horizon, horizon + (height - horizon) * 0.6)
        x = rng.uniform(0, width)
        draw.line(
            (x, y, x + rng.uniform(0.05, 0.2) * width, y),
            fill=_shade(water, 1.3),
            width=max(1, height // 200),
        )
    shore = _ridge(width, horizon + (height - horizon) * 0.55, height * 0.05, rng)
    _fill_below(draw, shore, height, scene.ground)


def _town(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: float,
    scene: _Scene,
    rng: random.Random,
) -> None:
    x = -rng.uniform(0, 0.05) * width
    while x < width:
        w = rng.uniform(0.05, 0.14) * width
        top = horizon - rng.uniform(0.1, 0.45) * height
        wall = _shade(scene.ground, rng.uniform(0.7, 1.4))
        draw.rectangle((x, top, x + w, height), fill=wall)
        draw.polygon([(x, top), (x + w / 2, top - w * 0.4), (x + w, top)], fill=_shade(wall, 0.6))
        for wy in np.arange(top + w * 0.2, height - w * 0.2, w * 0.35):
            for wx in (x + w * 0.2, x + w * 0.6):
                lit = (250, 220, 140) if rng.random() < 0.4 else _shade(wall, 0.5)
                draw.rectangle((wx, wy, wx + w * 0.18, wy + w * 0.15), fill=lit)
        x += w
    draw.rectangle(
        (0, horizon + (height - horizon) * 0.5, width, height), fill=_shade(scene.ground, 0.5)
    )


def _flowers(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: float,
    scene: _Scene,
    rng: random.Random,
) -> None:
    draw.rectangle((0, horizon, width, height), fill=scene.ground)
    for _ in range(60):
        y = rng.uniform(horizon, height)
        size = (y - horizon) / (height - horizon) * 0.06 * width + 4
        x = rng.uniform(0, width)
        draw.ellipse((x - size, y - size * 0.8, x + size, y + size * 0.8), fill=(210, 40, 35))
        draw.ellipse((x - size / 4, y - size / 4, x + size / 4, y + size / 4), fill=(30, 20, 20))


def _forest(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: float,
    scene: _Scene,
    rng: random.Random,
) -> None:
    draw.rectangle((0, horizon, width, height), fill=_shade(scene.ground, 1.2))
    # A path narrowing into the distance, between trunks.
    draw.polygon(
        [
            (width * 0.35, height),
            (width * 0.65, height),
            (width * 0.52, horizon * 2.5),
            (width * 0.48, horizon * 2.5),
        ],
        fill=(150, 120, 80),
    )
    for _ in range(14):
        x = rng.uniform(0, width)
        w = rng.uniform(0.02, 0.06) * width
        if abs(x - width / 2) < width * 0.12:
            continue
        draw.rectangle((x, 0, x + w, height * rng.uniform(0.8, 1.0)), fill=(60, 45, 30))
        draw.ellipse(
            (x - w * 3, -height * 0.1, x + w * 4, height * rng.uniform(0.3, 0.5)),
            fill=_shade(scene.ground, rng.uniform(0.8, 1.4)),
        )


def _grain(img: Image.Image, seed: int) -> Image.Image:
    """Mild sensor noise from a repeated tile, so big pictures cost milliseconds."""
    rng = np.random.default_rng(seed)
    tile = np.rint(rng.standard_normal((97, 101, 3), dtype=np.float32) * 3).astype(np.int16)
    reps = (-(-img.height // 97), -(-img.width // 101), 1)
    noisy = np.asarray(img, dtype=np.int16) + np.tile(tile, reps)[: img.height, : img.width]
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


# -- writing ----------------------------------------------------------------------------------


def _save_jpeg(
    img: Image.Image,
    path: Path,
    *,
    quality: int = 90,
    date: str | None = None,
    orientation: int | None = None,
    facts: bool = False,
) -> Path:
    exif = Image.Exif()
    exif[_MAKE_TAG], exif[_MODEL_TAG] = "Demo Camera Co.", "DC-1"
    if orientation is not None:
        exif[_ORIENTATION_TAG] = orientation
    if date is not None:
        exif.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL_TAG] = date
    if facts:
        _add_camera_facts(exif)
    img.save(path, "JPEG", quality=quality, exif=exif.tobytes())
    return path


def _add_camera_facts(exif: Image.Exif) -> None:
    """Lens, exposure and a GPS position, as a camera with a phone link records them."""
    details = exif.get_ifd(_EXIF_IFD)
    details[0xA434] = "DC 24-70mm F2.8"  # LensModel
    details[0x8827] = 200  # ISO
    details[0x829A] = IFDRational(1, 250)  # ExposureTime
    details[0x829D] = IFDRational(28, 10)  # FNumber
    details[0x920A] = IFDRational(35, 1)  # FocalLength
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (IFDRational(46), IFDRational(31), IFDRational(12))
    gps[3], gps[4] = "E", (IFDRational(7), IFDRational(57), IFDRational(48))


def _reencode(src: Path, dst: Path, *, quality: int) -> Path:
    with Image.open(src) as img:
        img.save(dst, "JPEG", quality=quality, exif=img.getexif().tobytes())
    return dst


def _resize(src: Path, dst: Path, scale: float) -> Path:
    with Image.open(src) as img:
        upright = ImageOps.exif_transpose(img)
        size = (round(upright.width * scale), round(upright.height * scale))
        upright.resize(size, Image.Resampling.LANCZOS).save(dst, "JPEG", quality=85)
    return dst


def _with_other_exif(src: Path, dst: Path, *, date: str) -> Path:
    """Copy of a JPEG with its EXIF segment replaced; the compressed picture data is untouched."""
    data = src.read_bytes()
    pos, kept = 2, []
    # Walk the marker segments before the scan data (SOS, 0xDA); drop the APP1 "Exif" one.
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos : pos + 2 + length]
        if not (data[pos + 1] == 0xE1 and segment[4:10] == b"Exif\x00\x00"):
            kept.append(segment)
        pos += 2 + length
    exif = Image.Exif()
    exif[_MAKE_TAG], exif[_MODEL_TAG] = "Photo Organiser", "Library export"
    exif.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL_TAG] = date
    payload = exif.tobytes()
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    dst.write_bytes(data[:2] + app1 + b"".join(kept) + data[pos:])
    return dst


def _write_damaged(path: Path) -> None:
    """A photo cut off half way, as an interrupted copy leaves it."""
    _save_jpeg(_draw("hills", 600, 400).transpose(Image.Transpose.FLIP_LEFT_RIGHT), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
