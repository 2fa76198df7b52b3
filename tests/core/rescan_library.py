"""A small library with two groups, and the scans the rescan tests compare.

Shared by test_group_cache.py (saved groups reused) and test_narrow_rescan.py (what is loaded).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dedup_gui.core.model import Group, ScanReport, ScanRequest
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store
from tests.core.images import brighten, convert, write_photo


def write_library(root: Path, singles: int = 0) -> dict[str, Path]:
    """Photo a with a PNG (same pixels) and a brightened copy; b with a byte copy in sub/; and
    ``singles`` photos like no other, in singles/."""
    a = write_photo(root / "a.jpg", width=128, height=96, seed=1)
    paths = {
        "a": a,
        "a_png": convert(a, root / "copies" / "a.png"),  # same pixels
        "a_bright": brighten(a, root / "copies" / "a_bright.jpg", factor=1.2),
        "b": write_photo(root / "b.jpg", width=128, height=96, seed=2),
        "b_copy": root / "sub" / "b copy.jpg",
    }
    paths["b_copy"].parent.mkdir()
    shutil.copyfile(paths["b"], paths["b_copy"])
    for k in range(singles):
        paths[f"single{k}"] = write_photo(
            root / "singles" / f"s{k}.jpg", width=128, height=96, seed=100 + k
        )
    return paths


def scan(root: Path, db: Path, **kwargs: object) -> ScanReport:
    request = ScanRequest(roots=(root,), workers=1, **kwargs)  # type: ignore[arg-type]
    with open_store(db) as store:
        return run_scan(request, store)


def regrouped(root: Path, db: Path, **kwargs: object) -> ScanReport:
    """The reference answer: the scan with the saved groups deleted, so it groups again."""
    with open_store(db) as store:
        store._conn.execute("DELETE FROM saved_groups")
    return scan(root, db, **kwargs)


def fail(*_: object, **__: object) -> list[Group]:
    """Stands in for a function a test says must not be called."""
    raise AssertionError("called")
