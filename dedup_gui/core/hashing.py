"""Read an image file once; digest its bytes and compute its perceptual hash. No Qt.

Runs inside worker processes: everything a pool needs is a top-level, picklable function.
Files are opened by ``decoders.open_image`` (Pillow, HEIF/AVIF/JPEG XL, camera RAW).

Extra Pillow plugins beyond the optional ones ``decoders`` knows are named, comma-separated, in
the environment variable ``DEDUP_GUI_PLUGINS``; ``configured_plugins`` reads it in the scanning
process and ``init_worker`` imports those modules in each worker, where they register formats.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import logging
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import imagehash
import numpy as np
from PIL import Image

from dedup_gui.core import digest
from dedup_gui.core.crop_ladder import RUNGS, can_ladder, ladder_hashes
from dedup_gui.core.decoders import (
    DECODE_ERRORS,
    as_unreadable,
    full_pixels,
    is_wide_grey,
    open_image,
    register_optional_formats,
    wide_grey_to_l,
)
from dedup_gui.core.decoders import MAX_PIXELS as MAX_PIXELS  # re-exported: tests, callers
from dedup_gui.core.decoders import normalise_exif_date as normalise_exif_date
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.model import (
    NO_FACTS,
    FileInfo,
    HashAlgorithm,
    HashSettings,
    ImageRecord,
    PhotoFacts,
    ProblemKind,
    ScanRequest,
)
from dedup_gui.core.orientation import upright
from dedup_gui.core.photo_facts import read_facts
from dedup_gui.core.turning import can_turn, turned_hashes
from dedup_gui.core.workers import WorkerPool, default_worker_count

log = logging.getLogger(__name__)

A = TypeVar("A")
R = TypeVar("R")

# Crop-resistant hashing: imagehash segments a 300x300 greyscale copy. Only the largest segments
# are kept, so a busy photo does not store (and compare) hundreds of segment hashes.
_CROP_SEGMENTATION_PX = 300
_CROP_MAX_SEGMENTS = 16

# Content hashes whose perceptual hash (for this scan's settings) the store already holds. Set
# once per worker process by ``init_worker``; module state because a pool initializer has no
# other way to hand data to later tasks without re-sending it with each one.
_known_contents: frozenset[bytes] = frozenset()

PLUGINS_ENV = "DEDUP_GUI_PLUGINS"


@dataclass(frozen=True, slots=True)
class HashTask:
    info: FileInfo
    settings: HashSettings


@dataclass(frozen=True, slots=True)
class HashResult:
    """What one file yielded. All but ``content_hash`` are None when decoding was skipped
    because the content was already known; the caller then takes them from the store."""

    content_hash: bytes
    perceptual_hash: bytes | None
    width: int | None  # as displayed, after EXIF orientation
    height: int | None
    format: str | None  # Pillow's format name, or a camera RAW's ("DNG", "CR2", ...)
    date_taken: str | None  # "YYYY-MM-DD HH:MM:SS"
    facts: PhotoFacts | None = None
    turned: bytes | None = None  # see ImageRecord.turned
    ladder: bytes | None = None  # see ImageRecord.ladder


def decoded_record(info: FileInfo, result: HashResult) -> ImageRecord:
    """The record of a file whose pixels ``hash_file`` decoded (every field of ``result`` set)."""
    assert result.perceptual_hash is not None
    assert result.width is not None and result.height is not None
    return ImageRecord(
        path=info.path,
        size=info.size,
        mtime_ns=info.mtime_ns,
        content_hash=result.content_hash,
        perceptual_hash=result.perceptual_hash,
        width=result.width,
        height=result.height,
        format=result.format or "?",
        date_taken=result.date_taken,
        facts=result.facts or NO_FACTS,
        turned=result.turned or b"",
        ladder=result.ladder or b"",
    )


def init_worker(known_contents: frozenset[bytes], plugins: Sequence[str] = ()) -> None:
    """Process-pool initializer (also fine to call in-process).

    Imports the Pillow ``plugins`` (module names, see ``configured_plugins``), remembers which
    contents need no decoding, pins Pillow's decompression-bomb limit and silences its warning
    (images over the limit are refused outright instead).
    """
    global _known_contents
    _known_contents = known_contents
    load_plugins(plugins)  # first, so a plugin cannot loosen the limit set below
    register_optional_formats()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow raises above twice this
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)


def configured_plugins(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """Module names listed in ``DEDUP_GUI_PLUGINS`` that can be imported here.

    Read in the scanning process and handed to the workers: a forkserver keeps the environment
    it started with, so a worker may not see the variable as it is now. Names that cannot be
    found are logged once here and left out, so files of that format become UNSUPPORTED
    problems rather than failing every worker.
    """
    found = []
    for name in (part.strip() for part in environ.get(PLUGINS_ENV, "").split(",")):
        if not name:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # a missing parent package, or a name like "a..b"
            spec = None
        if spec is None:
            log.warning("%s: no module named %r; that plugin is not used", PLUGINS_ENV, name)
        else:
            found.append(name)
    return tuple(found)


def checking_pool(
    fn: Callable[[A], R], request: ScanRequest, tasks: int, *, files_per_task: int = 1
) -> WorkerPool[A, R]:
    """A worker pool for decoding after hashing (same-pixels digests, turned checks).

    Its workers load the same extra formats as the hashing workers; it has no more processes
    than ``tasks``, and each task gets the per-file time limit for each file it decodes.
    """
    return WorkerPool(
        fn,
        workers=min(request.workers or default_worker_count(), tasks),
        timeout_s=files_per_task * request.per_file_timeout_s,
        initializer=load_plugins,
        initargs=(configured_plugins(),),
    )


def load_plugins(modules: Sequence[str]) -> None:
    """Import each Pillow plugin module (importing registers its formats); failures are logged."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # a broken plugin costs its formats, not the scan
            log.warning("cannot load the Pillow plugin %r", name, exc_info=True)


# --- hash sizes ----------------------------------------------------------------------------------


def _colorhash_binbits(hash_size: int) -> int:
    """colorhash has 14 bins of ``binbits`` bits; half the hash size gives 56 bits at size 8,
    close to the 64 of the other algorithms, so one distance threshold fits them all."""
    return max(1, hash_size // 2)


def _whash_scale(hash_size: int) -> int:
    # Fixed, so the hash does not depend on how far the decoder scaled the image down
    # (imagehash's default follows the input size).
    return max(64, 4 * hash_size)


def hash_bytes(settings: HashSettings) -> int:
    """Length in bytes of one hash (of one segment, for crop-resistant hashing).

    Raises:
        ValueError: settings imagehash cannot use (too small, or wavelet size not a power of 2).
    """
    size = settings.hash_size
    if size < 2:
        raise ValueError(f"hash_size must be at least 2, not {size}")
    if settings.algorithm is HashAlgorithm.WHASH and size & (size - 1):
        raise ValueError(f"whash needs a power-of-2 hash_size, not {size}")
    if settings.algorithm is HashAlgorithm.COLORHASH:
        return (14 * _colorhash_binbits(size) + 7) // 8
    return (size * size + 7) // 8


def segment_bytes(settings: HashSettings) -> int | None:
    """Bytes per segment hash for multi-hash algorithms (crop-resistant), else None."""
    if settings.algorithm is HashAlgorithm.CROP_RESISTANT:
        return hash_bytes(settings)
    return None


def _working_px(settings: HashSettings) -> int:
    """Smallest side worth decoding: ``_hash_px``, raised so that the smallest crop-ladder
    window (70 %) has that many pixels too, as much to average as the whole picture.

    Measured on the accuracy corpus (512 px JPEGs, which libjpeg would otherwise decode at
    64 px): at 92 px (pHash 8) the ladder finds crop_10 and crop_5 copies as often as the
    prototype's 256 px decode did (benchmarks/RESULTS-crop.md); at 64 px one more crop_10 was
    missed. It changes only JPEGs (and HEIF, RAW previews) under about 740 px a side: bigger
    ones decode at 1/8 to more than this anyway, and other formats are only box-reduced.
    """
    px = _hash_px(settings)
    if can_ladder(settings.algorithm):
        return math.ceil(px / min(RUNGS))
    return px


def _hash_px(settings: HashSettings) -> int:
    """Smallest side worth hashing: twice what the algorithm resizes to, so its final
    Lanczos resize still has pixels to average (crop-resistant: its 300 px segmentation)."""
    size = settings.hash_size
    algorithm = settings.algorithm
    if algorithm is HashAlgorithm.CROP_RESISTANT:
        return _CROP_SEGMENTATION_PX
    if algorithm is HashAlgorithm.PHASH:
        return 2 * 4 * size
    if algorithm is HashAlgorithm.WHASH:
        return 2 * _whash_scale(size)
    if algorithm is HashAlgorithm.COLORHASH:
        return 128  # colour fractions; more pixels change nothing
    # dhash/ahash resize to only ~hash_size, but at 2x that up to 3 of 64 bits differed from a
    # full decode (3000x2000 photos); at 64 px at most 2 did, for no measurable cost.
    return max(64, 2 * (size + 1))


# --- hashing -------------------------------------------------------------------------------------


def hash_file(task: HashTask) -> HashResult:
    """Read ``task.info.path`` once; digest it; decode and hash it unless its content is known.

    Raises:
        UnreadableImage: with a ``ProblemKind`` saying why (empty, changed, corrupt, ...).
    """
    hash_bytes(task.settings)  # invalid settings are a bug: fail before touching the file
    data = _read(task.info.path, task.info)
    content = digest.content_hash(data)
    if content in _known_contents:
        return HashResult(content, None, None, None, None, None)
    path = task.info.path
    try:
        with open_image(data, path, min_px=_working_px(task.settings)) as opened:
            small = _decode_small(opened.image, task.settings)
            # After decoding: a PNG's XMP or EXIF may follow its pixel data.
            facts = read_facts(opened.metadata)
    except DECODE_ERRORS as exc:
        raise as_unreadable(exc, data, path) from exc
    small = upright(small, opened.orientation)
    return HashResult(
        content,
        _perceptual_hash(small, task.settings),
        opened.width,
        opened.height,
        opened.format,
        opened.date_taken,
        facts,
        _turned_hashes(small, task.settings),
        _ladder_hashes(small, task.settings),
    )


def _turned_hashes(small: Image.Image, settings: HashSettings) -> bytes:
    """Hashes of the picture in its canonical orientation(s), for rotated/mirrored copies."""
    if not can_turn(settings.algorithm):
        return b""
    return turned_hashes(small, lambda img: _perceptual_hash(img, settings))


def _ladder_hashes(small: Image.Image, settings: HashSettings) -> bytes:
    """Hashes of the centred windows of the upright picture, for cropped and captioned copies."""
    if not can_ladder(settings.algorithm):
        return b""
    return ladder_hashes(small, lambda img: _perceptual_hash(img, settings))


def _read(path: Path, listed: FileInfo | None = None) -> bytes:
    """The whole file; refused if it no longer matches what the walk ``listed``."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if listed and (st.st_size, st.st_mtime_ns) != (listed.size, listed.mtime_ns):
                raise _fail(ProblemKind.VANISHED, "changed while scanning")
            data = f.read()
    except FileNotFoundError:
        raise _fail(ProblemKind.VANISHED, "deleted while scanning") from None
    except PermissionError:
        raise _fail(ProblemKind.PERMISSION, "permission denied") from None
    except IsADirectoryError:
        raise _fail(ProblemKind.VANISHED, "replaced by a folder while scanning") from None
    except OSError as exc:
        raise _fail(ProblemKind.UNREADABLE, f"cannot read: {exc.strerror}") from exc
    if len(data) != st.st_size:  # written to while we read it
        raise _fail(ProblemKind.VANISHED, "changed while scanning")
    if not data:
        raise _fail(ProblemKind.EMPTY, "empty file (0 bytes)")
    return data


def _fail(kind: ProblemKind, detail: str) -> UnreadableImage:
    return UnreadableImage(kind.value, detail)  # a plain str: it is pickled and stored


def _decode_small(img: Image.Image, settings: HashSettings) -> Image.Image:
    """Decode the first frame only as large as the algorithm needs, as L or RGB."""
    px = _working_px(settings)
    mode = "RGB" if settings.algorithm is HashAlgorithm.COLORHASH else "L"
    if img.format in ("JPEG", "MPO", "HEIF"):
        # libjpeg scales by 1/2..1/8 while decoding (DCT scaling): a 24 MP photo decodes as
        # 0.4 MP, several times faster and with 1/64 of the memory. pillow-heif decodes an
        # embedded thumbnail instead, when one at least this big is a scaled copy of the image.
        img.draft(mode, (px, px))
    img.load()
    flat = _flatten(img, mode)
    # A box reduce down to just ``_hash_px`` shifted pHash bits (up to 4 of 64 measured), so
    # keep twice that (more than ``px`` too); JPEGs scaled by draft() are usually small enough.
    factor = min(flat.width, flat.height) // (2 * _hash_px(settings))
    return flat.reduce(factor) if factor >= 2 else flat


def _flatten(img: Image.Image, mode: str) -> Image.Image:
    """``img`` as 8-bit ``mode``: transparency over white, 16-bit and float scaled to 0-255."""
    if is_wide_grey(img):
        img = wide_grey_to_l(img)
    elif img.has_transparency_data:
        # What a viewer shows on a light background; hidden colour under alpha 0 is ignored.
        rgba = img.convert("RGBA")
        img = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img.alpha_composite(rgba)
    return img if img.mode == mode else img.convert(mode)


def _perceptual_hash(img: Image.Image, settings: HashSettings) -> bytes:
    size = settings.hash_size
    if settings.algorithm is HashAlgorithm.CROP_RESISTANT:
        multi = imagehash.crop_resistant_hash(
            img,
            hash_func=functools.partial(imagehash.dhash, hash_size=size),
            limit_segments=_CROP_MAX_SEGMENTS,
            segmentation_image_size=_CROP_SEGMENTATION_PX,
        )
        return b"".join(_pack(h) for h in multi.segment_hashes)
    return _pack(_SINGLE_HASHES[settings.algorithm](img, size))


_SINGLE_HASHES: dict[HashAlgorithm, Callable[[Image.Image, int], imagehash.ImageHash]] = {
    HashAlgorithm.PHASH: lambda img, size: imagehash.phash(img, hash_size=size),
    HashAlgorithm.DHASH: lambda img, size: imagehash.dhash(img, hash_size=size),
    HashAlgorithm.AHASH: lambda img, size: imagehash.average_hash(img, hash_size=size),
    HashAlgorithm.WHASH: lambda img, size: imagehash.whash(
        img, hash_size=size, image_scale=_whash_scale(size)
    ),
    HashAlgorithm.COLORHASH: lambda img, size: imagehash.colorhash(
        img, binbits=_colorhash_binbits(size)
    ),
}


def _pack(h: imagehash.ImageHash) -> bytes:
    """Big-endian bits, zero-padded to whole bytes."""
    return bytes(np.packbits(np.asarray(h.hash, dtype=bool).flatten()).tobytes())


# --- same-pixel check ----------------------------------------------------------------------------


def pixel_digest(path: Path) -> bytes:
    """Digest of the fully decoded, EXIF-oriented pixels, with their size and mode.

    Equal digests mean the same picture pixel for pixel, whatever the container or metadata
    (a JPEG with edited EXIF, a lossless PNG of a JPEG; for camera RAWs the sensor data).
    Decodes at full size: use it only on candidates already known to have equal dimensions.

    Raises:
        UnreadableImage: as ``hash_file`` does.
    """
    data = _read(path)
    try:
        description, pixels = full_pixels(data, path)
    except DECODE_ERRORS as exc:
        raise as_unreadable(exc, data, path) from exc
    hasher = hashlib.blake2b(digest_size=digest.DIGEST_BYTES)
    hasher.update(f"{description}\n".encode())
    hasher.update(pixels)
    return hasher.digest()
