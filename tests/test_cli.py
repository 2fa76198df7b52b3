"""`dedup-gui scan` as a user runs it: a real subprocess, real files, output parsed back."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.core.images import reencode, write_photo


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dedup_gui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    original = write_photo(
        root / "beach.jpg", width=512, height=384, seed=7, date_taken="2019:08:01 10:00:00"
    )
    shutil.copyfile(original, root / "beach copy.jpg")
    reencode(original, root / "old" / "beach_small.jpg", quality=55)
    write_photo(root / "forest.jpg", width=512, height=384, seed=8)
    return root


def test_scan_json_lists_groups_with_member_facts(library: Path, tmp_path: Path) -> None:
    result = _run("scan", library, "--json", "--db", tmp_path / "db.sqlite3")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    document = json.loads(result.stdout)
    [group] = document["groups"]
    names = [Path(m["path"]).name for m in group["members"]]
    assert sorted(names) == ["beach copy.jpg", "beach.jpg", "beach_small.jpg"]
    reference = group["members"][0]
    assert reference["relation"] == "reference" and reference["distance"] == 0
    assert (reference["width"], reference["height"], reference["format"]) == (512, 384, "JPEG")
    assert reference["date_taken"] == "2019-08-01 10:00:00"
    relations = {Path(m["path"]).name: m["relation"] for m in group["members"]}
    assert relations["beach_small.jpg"] == "near"
    assert {relations["beach copy.jpg"], relations["beach.jpg"]} == {"reference", "exact"}
    assert document["stats"]["found"] == 4 and document["problems"] == []


def test_scan_csv_has_one_row_per_member(library: Path, tmp_path: Path) -> None:
    result = _run("scan", library, "--csv", "--db", tmp_path / "db.sqlite3")

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3 and {r["group"] for r in rows} == {"1"}
    assert {"path", "size", "width", "height", "format", "date_taken", "distance"} <= set(rows[0])


def test_plain_output_is_a_readable_summary(library: Path, tmp_path: Path) -> None:
    result = _run("scan", library, "--db", tmp_path / "db.sqlite3")
    assert result.returncode == 0, result.stderr
    assert "Group 1 (Same picture): 3 photos" in result.stdout  # an exact copy and a re-encode
    assert "1 groups, 2 duplicates" in result.stdout


def test_missing_folder_is_a_clear_usage_error(tmp_path: Path) -> None:
    result = _run("scan", tmp_path / "nope", "--db", tmp_path / "db.sqlite3")
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr


def test_database_from_a_newer_version_is_refused(library: Path, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "future.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    result = _run("scan", library, "--db", db)
    assert result.returncode == 1
    assert "newer version" in result.stderr


def test_summary_names_turned_copies(tmp_path: Path) -> None:
    root = tmp_path / "turned"
    original = write_photo(root / "sea.jpg", width=512, height=384, seed=3)
    with Image.open(original) as img:
        img.transpose(Image.Transpose.ROTATE_270).save(root / "sea portrait.jpg", quality=80)
    result = _run("scan", root, "--db", tmp_path / "db.sqlite3", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "sea portrait.jpg  (rotated 90 degrees clockwise)" in result.stdout
    off = _run("scan", root, "--db", tmp_path / "db.sqlite3", "--workers", "1", "--no-turned")
    assert "0 groups" in off.stdout


def test_summary_names_cropped_copies_unless_no_crops(tmp_path: Path) -> None:
    root = tmp_path / "cropped"
    original = write_photo(root / "field.jpg", width=640, height=480, seed=4)
    with Image.open(original) as img:
        img.crop((64, 40, 576, 424)).save(root / "field cropped.jpg", quality=85)  # 80 %
    result = _run("scan", root, "--db", tmp_path / "db.sqlite3", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "field cropped.jpg  (cropped or captioned)" in result.stdout
    off = _run("scan", root, "--db", tmp_path / "db.sqlite3", "--workers", "1", "--no-crops")
    assert "0 groups" in off.stdout
