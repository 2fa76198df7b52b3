"""`dedup-gui scan` counts no space to reclaim for hard-linked copies (a real subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.core.images import write_photo


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dedup_gui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _linked_library(tmp_path: Path) -> Path:
    """a and its exact copy c: a has a second name in the scan, c one outside it. Whichever
    is kept, trashing the other frees nothing."""
    root = tmp_path / "photos"
    a = write_photo(root / "a.jpg", width=128, height=96, seed=3)
    c = shutil.copyfile(a, root / "c.jpg")
    (root / "sub").mkdir()
    os.link(a, root / "sub" / "a2.jpg")
    (tmp_path / "outside").mkdir()
    os.link(c, tmp_path / "outside" / "c.jpg")
    return root


def test_json_reclaims_nothing_from_hard_linked_copies(tmp_path: Path) -> None:
    root = _linked_library(tmp_path)
    result = _run("scan", root, "--json", "--db", tmp_path / "db.sqlite3", "--workers", "1")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    [group] = document["groups"]
    assert sorted(Path(m["path"]).name for m in group["members"]) == ["a.jpg", "c.jpg"]
    assert group["bytes_reclaimable"] == 0


def test_summary_reclaims_nothing_from_hard_linked_copies(tmp_path: Path) -> None:
    root = _linked_library(tmp_path)
    result = _run("scan", root, "--db", tmp_path / "db.sqlite3", "--workers", "1")

    assert result.returncode == 0, result.stderr
    assert "Group 1 (Exact copies): 2 photos, 0 bytes reclaimable" in result.stdout
    assert "1 duplicates, 0 bytes reclaimable" in result.stdout
