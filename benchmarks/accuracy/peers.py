"""Peers on the accuracy corpus: imagehash's plain all-pairs loop and imagededup's hashing methods.

imagehash documents no threshold; its bundled example (find_similar_images.py) groups images
whose hashes are equal, i.e. distance 0, and <= 10 is the common rule of thumb (imagededup's
default), so both are run. imagededup is scored with its documented default
max_distance_threshold=10. Its package imports torch at import time only for its CNN method;
installed with ``pip install --no-deps imagededup tqdm`` (the dependency pulls multi-GB CUDA
wheels), its two torch-only modules are replaced by empty stand-ins before import: the hashing
code that runs is imagededup's own, unchanged.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import imagehash
import pillow_heif
from metrics import Score, Truth, components, score
from PIL import Image

pillow_heif.register_heif_opener()


def imagehash_loop(
    images: Path, truth: Truth, thresholds: list[int]
) -> Iterator[tuple[str, Score]]:
    hashes = {}
    for path in sorted(images.iterdir()):
        try:
            hashes[path.name] = imagehash.phash(Image.open(path))
        except Exception as exc:  # what the plain loop meets: it skips the file
            print(f"imagehash: {path.name}: {exc}", file=sys.stderr)
    for t in thresholds:
        pairs = [(a, b) for a, b in combinations(hashes, 2) if hashes[a] - hashes[b] <= t]
        yield f"imagehash phash loop <= {t}", score(truth, pairs, components(hashes, pairs))


def _import_imagededup_hashing() -> types.ModuleType | None:
    for name, attrs in {
        "imagededup.utils.models": {"CustomModel": None},
        "imagededup.methods.cnn": {"CNN": None},
    }.items():
        stub = types.ModuleType(name)
        stub.__dict__.update(attrs)
        sys.modules.setdefault(name, stub)
    try:
        from imagededup.methods import hashing
    except ImportError as exc:
        print(f"imagededup not available: {exc}", file=sys.stderr)
        return None
    return hashing


def imagededup_runs(images: Path, truth: Truth) -> Iterator[tuple[str, Score]]:
    hashing = _import_imagededup_hashing()
    if hashing is None:
        return
    for cls in (hashing.PHash, hashing.DHash, hashing.WHash, hashing.AHash):
        found = cls(verbose=False).find_duplicates(image_dir=images, max_distance_threshold=10)
        pairs = {tuple(sorted((a, b))) for a, dups in found.items() for b in dups}
        label = f"imagededup {cls.__name__} <= 10"
        yield label, score(truth, sorted(pairs), components(found, pairs))


def run_peers(images: Path, truth: Truth) -> Iterator[tuple[str, Score]]:
    yield from imagehash_loop(images, truth, [0, 10])
    yield from imagededup_runs(images, truth)
