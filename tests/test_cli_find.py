"""`dedup-gui find` and `import-check` as a user runs them: a real subprocess and real files."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dedup_gui.core.journal import last_undoable
from dedup_gui.core.model import ScanRequest
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store
from tests.core.images import reencode, resize, write_photo


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dedup_gui", *map(str, args), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass(frozen=True)
class Library:
    photos: Path
    db: Path


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("library")
    photos = root / "Photos"
    write_photo(photos / "a.jpg", width=320, height=240, seed=1)
    write_photo(photos / "b.jpg", width=320, height=240, seed=2, quality=95)
    write_photo(photos / "c.jpg", width=320, height=240, seed=3)
    db = root / "library.sqlite3"
    with open_store(db) as store:
        assert run_scan(ScanRequest(roots=(photos,), workers=2), store).stats.found == 3
    return Library(photos, db)


@pytest.fixture
def card(library: Library, tmp_path: Path) -> Path:
    """New photos: an exact copy of a, a re-encode and a resize of b, and a new one."""
    card = tmp_path / "Card"
    card.mkdir()
    shutil.copyfile(library.photos / "a.jpg", card / "a exact.jpg")
    reencode(library.photos / "b.jpg", card / "b q60.jpg", quality=60)
    resize(library.photos / "b.jpg", card / "b small.jpg", scale=0.5)
    write_photo(card / "d new.jpg", width=320, height=240, seed=4)
    return card


def test_find_json_lists_each_photos_copies_and_exits_0(library: Library, card: Path) -> None:
    result = _run("find", card, "--json", "--db", library.db)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    answers = {
        Path(p["path"]).name: (
            p["status"],
            [(Path(c["path"]).name, c["relation"]) for c in p["copies"]],
        )
        for p in document["photos"]
    }
    assert answers == {
        "a exact.jpg": ("found", [("a.jpg", "exact")]),
        "b q60.jpg": ("found", [("b.jpg", "near")]),
        "b small.jpg": ("found", [("b.jpg", "near")]),
        "d new.jpg": ("new", []),
    }
    copies = [c for p in document["photos"] for c in p["copies"]]
    assert {(c["turn"], c["cropped"]) for c in copies} == {("none", False)}
    small = next(p for p in document["photos"] if p["path"].endswith("b small.jpg"))
    assert (small["width"], small["copies"][0]["width"]) == (160, 320)
    assert document["library_photos"] == 3 and document["problems"] == []
    with open_store(library.db) as store:
        assert store.stats().files == 3  # the photos asked about were not added


def test_find_a_new_photo_exits_1_and_says_new(library: Library, card: Path) -> None:
    result = _run("find", card / "d new.jpg", "--db", library.db)
    assert result.returncode == 1, result.stderr
    assert f"{card / 'd new.jpg'}: new" in result.stdout
    assert "0 found, 1 new" in result.stdout


def test_find_csv_has_a_row_per_copy_and_per_new_photo(library: Library, card: Path) -> None:
    result = _run("find", card, "--csv", "--db", library.db)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted((Path(r["photo"]).name, r["status"], r["relation"]) for r in rows) == [
        ("a exact.jpg", "found", "exact"),
        ("b q60.jpg", "found", "near"),
        ("b small.jpg", "found", "near"),
        ("d new.jpg", "new", ""),
    ]


def test_find_a_library_photo_finds_its_copies_not_itself(library: Library, card: Path) -> None:
    shutil.copyfile(library.photos / "c.jpg", card / "c again.jpg")
    result = _run("find", library.photos / "c.jpg", "--json", "--db", library.db)
    assert result.returncode == 1, result.stderr  # its only copy is outside the library
    [photo] = json.loads(result.stdout)["photos"]
    assert photo["status"] == "new" and photo["copies"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["find", "{tmp}/nope.jpg"], "no such file or folder"),
        (["find", "{card}", "--db", "{tmp}/none.sqlite3"], "no library database"),
        (["import-check", "{card}/a exact.jpg"], "not a folder"),
        (["import-check", "{card}", "--trash", "--move-to", "{tmp}"], "not allowed with"),
    ],
)
def test_usage_errors_exit_2(
    library: Library, card: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    filled = [a.format(tmp=tmp_path, card=card) for a in args]
    result = _run(*filled, *(["--db", library.db] if "--db" not in filled else []))
    assert result.returncode == 2
    assert message in result.stderr


def test_import_check_splits_the_folder_and_moves_nothing_by_default(
    library: Library, card: Path
) -> None:
    result = _run("import-check", card, "--json", "--db", library.db)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    names = {
        k: sorted(Path(p["path"]).name for p in document[k]) for k in ("present", "similar", "new")
    }
    assert names == {
        "present": ["a exact.jpg"],
        "similar": ["b q60.jpg", "b small.jpg"],
        "new": ["d new.jpg"],
    }
    assert "moved" not in document
    assert len(list(card.iterdir())) == 4


def test_import_check_move_to_moves_only_the_new_folders_copies(
    library: Library, card: Path, tmp_path: Path
) -> None:
    dupes = tmp_path / "Dupes"
    result = _run("import-check", card, "--move-to", dupes, "--db", library.db)

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in dupes.iterdir()) == ["a exact.jpg"]
    assert sorted(p.name for p in card.iterdir()) == ["b q60.jpg", "b small.jpg", "d new.jpg"]
    assert sorted(p.name for p in library.photos.iterdir()) == ["a.jpg", "b.jpg", "c.jpg"]
    assert "Moved 1 photo " in result.stdout
    with open_store(library.db) as store:  # journaled: the window's Restore can undo it
        assert [f.original for f in last_undoable(store)] == [card / "a exact.jpg"]


def test_import_check_trash_with_similar_and_a_vanished_library_copy(
    library: Library, card: Path, tmp_path: Path
) -> None:
    # A library copy deleted since the scan vouches for nothing: that photo stays.
    gone = tmp_path / "gone"
    shutil.copytree(library.photos, gone)
    db = tmp_path / "db.sqlite3"
    with open_store(db) as store:
        run_scan(ScanRequest(roots=(gone,), workers=2), store)
    (gone / "a.jpg").unlink()

    result = _run("import-check", card, "--trash", "--include-similar", "--json", "--db", db)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert sorted(Path(m["path"]).name for m in document["moved"]) == ["b q60.jpg", "b small.jpg"]
    assert [(Path(p["path"]).name, p["kind"]) for p in document["not_moved"]] == [
        ("a exact.jpg", "copy_gone")
    ]
    assert sorted(p.name for p in card.iterdir()) == ["a exact.jpg", "d new.jpg"]
    assert (gone / "b.jpg").exists()
