"""open_store_or_recover on real files: damaged databases move aside, others are left alone."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dedup_gui.core.errors import StoreError, StoreTooNew
from dedup_gui.core.model import HashSettings
from dedup_gui.core.recovery import open_store_or_recover
from dedup_gui.core.store import HashStore, open_store
from tests.core.images import photo_like, save
from tests.core.test_store import record

REPO = Path(__file__).parents[2]
PHASH8 = HashSettings()


def _filled_db(path: Path, count: int = 2000) -> Path:
    with open_store(path) as store:
        store.put_records([record(f"/p/{i}.jpg", f"c{i}") for i in range(count)], PHASH8)
    return path  # closed: the WAL is checkpointed into the file and removed


def _broken_copies(folder: Path, name: str) -> list[Path]:
    """The moved-aside databases (not their -wal/-shm companions)."""
    found = folder.glob(f"{name}.broken-*")
    return sorted(p for p in found if not p.name.endswith(("-wal", "-shm", "-journal")))


def _assert_fresh(store: HashStore) -> None:
    with store:
        assert store.stats().files == 0
        store.put_records([record("/new.jpg")], PHASH8)  # and usable
        assert store.quick_check() == []


def test_a_sound_database_opens_with_no_message(tmp_path: Path) -> None:
    db = _filled_db(tmp_path / "library.sqlite3", count=10)
    store, message = open_store_or_recover(db)
    with store:
        assert message is None
        assert store.stats().files == 10
    assert _broken_copies(tmp_path, db.name) == []


def test_a_new_database_is_created_with_no_message(tmp_path: Path) -> None:
    store, message = open_store_or_recover(tmp_path / "sub" / "library.sqlite3")
    assert message is None
    _assert_fresh(store)


def test_a_garbage_file_is_moved_aside_and_a_fresh_database_started(tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    garbage = b"this is a holiday photo, not a database\n" * 200
    db.write_bytes(garbage)

    store, message = open_store_or_recover(db)

    _assert_fresh(store)
    [moved] = _broken_copies(tmp_path, db.name)
    assert moved.read_bytes() == garbage  # kept byte for byte, never deleted
    assert moved.name[len("library.sqlite3.broken-") :].replace("-", "").isdigit()
    assert message is not None
    assert str(db) in message and str(moved) in message
    assert "not a database" in message


def test_a_truncated_database_is_moved_aside(tmp_path: Path) -> None:
    db = _filled_db(tmp_path / "library.sqlite3")
    half = db.read_bytes()[: db.stat().st_size // 2]
    db.write_bytes(half)

    store, message = open_store_or_recover(db)

    _assert_fresh(store)
    [moved] = _broken_copies(tmp_path, db.name)
    assert moved.read_bytes() == half
    assert message is not None and "damaged" in message


def _damage_an_index(db: Path) -> None:
    """Overwrite an index page: opening reads only the header and schema, so it succeeds."""
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        [root] = conn.execute(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'files_by_content'"
        ).fetchone()
    conn.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * page_size : root * page_size] = b"\xa5" * page_size
    db.write_bytes(bytes(data))


def test_damage_that_only_the_quick_check_finds_is_moved_aside(tmp_path: Path) -> None:
    db = _filled_db(tmp_path / "library.sqlite3")
    _damage_an_index(db)
    with open_store(db) as store:  # the premise: opening alone does not notice
        assert store.quick_check() != []

    store, message = open_store_or_recover(db)

    _assert_fresh(store)
    assert len(_broken_copies(tmp_path, db.name)) == 1
    assert message is not None and "damaged" in message


def test_companion_files_move_with_the_damaged_database(tmp_path: Path) -> None:
    db = _filled_db(tmp_path / "library.sqlite3")
    _damage_an_index(db)
    # Another program still has it open, so its -wal and -shm stay after we close ours.
    other = sqlite3.connect(db)
    try:
        other.execute("PRAGMA journal_mode = WAL")
        assert Path(f"{db}-wal").exists()

        store, _ = open_store_or_recover(db)

        [moved] = _broken_copies(tmp_path, db.name)
        assert Path(f"{moved}-wal").exists() and Path(f"{moved}-shm").exists()
        _assert_fresh(store)  # the new database adopted no stale log
    finally:
        other.close()


def test_two_recoveries_in_the_same_second_keep_both_copies(tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    for content in (b"first garbage" * 50, b"second garbage" * 50):
        db.write_bytes(content)
        for suffix in ("-wal", "-shm"):  # left by the fresh database of the first round
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        store, _ = open_store_or_recover(db)
        store.close()
    copies = {p.read_bytes() for p in _broken_copies(tmp_path, db.name)}
    assert {b"first garbage" * 50, b"second garbage" * 50} <= copies


def test_a_database_from_a_newer_version_is_not_touched(tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    before = db.read_bytes()

    with pytest.raises(StoreTooNew):
        open_store_or_recover(db)

    assert db.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [db.name]  # not moved, no -wal, no -shm


def test_an_unusable_path_that_is_not_damage_is_reported_not_moved(tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    db.mkdir()  # a folder where the file should be: "cannot be opened", not "damaged"
    with pytest.raises(StoreError, match="cannot be opened"):
        open_store_or_recover(db)
    assert db.is_dir() and _broken_copies(tmp_path, db.name) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_damaged_file_that_cannot_be_moved_is_a_plain_store_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may rename in a read-only folder")
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "library.sqlite3").write_bytes(b"garbage" * 100)
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="could not be moved aside"):
            open_store_or_recover(folder / "library.sqlite3")
    finally:
        folder.chmod(0o755)


def test_the_cli_recovers_and_says_so_on_stderr(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    save(photo_like(seed=1), photos / "a.jpg")
    save(photo_like(seed=1), photos / "a.png")
    db = tmp_path / "library.sqlite3"
    db.write_bytes(b"not a database" * 100)

    done = subprocess.run(
        [sys.executable, "-m", "dedup_gui", "scan", str(photos), "--json", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )

    assert done.returncode == 0, done.stderr
    [moved] = _broken_copies(tmp_path, db.name)
    assert f"dedup-gui: The database {db} is not a database file" in done.stderr
    assert str(moved) in done.stderr
    assert '"reference"' in done.stdout  # and the scan went on into the new database
