"""Fine-detail check scores remembered by content pair: a changed rescan decodes no pair again."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from dedup_gui.core import match_check
from dedup_gui.core import store_schema as schema_module
from dedup_gui.core.group_cache import request_key
from dedup_gui.core.model import Group, HashSettings, ImageRecord, ScanReport, ScanRequest, Turn
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import MIGRATIONS, HashStore, StoreStats, open_store
from dedup_gui.core.turning import apply_turn
from tests.core.images import save, write_photo
from tests.core.test_match_check import write_quarters

_CHECK_LOG = "dedup_gui.core.match_check"
_KEY = (b"r" * 16, b"m" * 16, int(Turn.ROTATED_90), False)


def scan(lib: Path, db: Path) -> tuple[ScanReport, bool]:
    """The scan's report, and whether it saved its groups for reuse (only a scan that made
    every check does)."""
    request = ScanRequest(roots=(lib,), workers=2)
    with open_store(db) as store:
        report = run_scan(request, store)
        saved = store.saved_groups(request_key(request))
        is_saved = saved is not None and saved.generation == store.generation()
    return report, is_saved


def shape(groups: tuple[Group, ...]) -> list[dict[str, tuple[Turn, bool]]]:
    return [{m.record.path.name: (m.turn, m.cropped) for m in g.members} for g in groups]


def spoil(path: Path) -> None:
    """Garbage of the same size and mtime: the store still takes it for the file it hashed,
    but decoding it fails."""
    st = path.stat()
    path.write_bytes(b"\x00" * st.st_size)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def write_copies(lib: Path) -> None:
    """A photo, its smaller copy turned a quarter, and its copy cropped by 10 % (off-centre)."""
    # Seed 5 at 320x240: the crop's upright hash is 20 bits from the photo's (test_crop_ladder).
    original = write_photo(lib / "photo.jpg", width=320, height=240, seed=5)
    with Image.open(original) as img:
        picture = img.convert("RGB")
    # Smaller, so the photo is the group's reference and the crop is matched against it.
    turned = apply_turn(picture.resize((240, 180), Image.Resampling.LANCZOS), Turn.ROTATED_90)
    save(turned, lib / "photo turned.jpg", quality=90)
    save(picture.crop((19, 10, 307, 226)), lib / "photo crop.jpg", quality=85)


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, Path, ScanReport]:
    """(folder, database, first scan's report) of ``write_copies``, scanned once."""
    lib, db = tmp_path / "lib", tmp_path / "db.sqlite3"
    write_copies(lib)
    report, is_saved = scan(lib, db)
    assert is_saved
    (group,) = report.groups
    kinds = {(m.turn != Turn.NONE, m.cropped) for m in group.members[1:]}
    assert kinds == {(True, False), (False, True)}  # one turned, one cropped: both checked
    return lib, db, report


def test_a_changed_rescan_decodes_no_checked_pair_again(
    library: tuple[Path, Path, ScanReport], caplog: pytest.LogCaptureFixture
) -> None:
    lib, db, first = library
    spoil(lib / "photo turned.jpg")
    spoil(lib / "photo crop.jpg")
    write_photo(lib / "other.jpg", width=320, height=240, seed=2)  # the library changed
    with caplog.at_level(logging.DEBUG, logger=_CHECK_LOG):
        again, is_saved = scan(lib, db)
    assert again.stats.hashed == 1  # only the new photo: the rescan grouped again
    assert shape(again.groups) == shape(first.groups)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # nothing decoded
    assert "2 of 2 checks remembered" in caplog.text
    assert is_saved  # every check made: the groups are saved for the next rescan


def test_scores_of_another_verifier_version_are_not_used(
    library: tuple[Path, Path, ScanReport],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lib, db, first = library
    spoil(lib / "photo turned.jpg")
    spoil(lib / "photo crop.jpg")
    write_photo(lib / "other.jpg", width=320, height=240, seed=2)
    monkeypatch.setattr(match_check, "CHECK_VERSION", match_check.CHECK_VERSION + 1)
    with caplog.at_level(logging.WARNING, logger=_CHECK_LOG):
        again, is_saved = scan(lib, db)
    # Checked again: the garbage cannot be decoded, so the hashes' verdict stands, unsaved.
    assert sum("cannot check" in r.message for r in caplog.records) == 2
    assert shape(again.groups) == shape(first.groups)
    assert not is_saved


def test_a_remembered_rejection_keeps_look_alikes_apart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lib, db = tmp_path / "lib", tmp_path / "db.sqlite3"
    quarters = write_quarters(lib)  # alike turned, in outline only: every check refuses
    first, _ = scan(lib, db)
    assert first.groups == ()
    for path in quarters:
        spoil(path)  # checked again, they would stay grouped (a pair that fails is kept)
    write_photo(lib / "other.jpg", width=320, height=240, seed=2)
    with caplog.at_level(logging.INFO, logger=_CHECK_LOG):
        again, is_saved = scan(lib, db)
    assert again.groups == ()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("not a turned copy" in r.message for r in caplog.records) == 6
    assert is_saved


# --- the store's table ---------------------------------------------------------------------------


def library_file(store: HashStore, content_hash: bytes) -> None:
    """A stored file of this content, so its scores are kept."""
    name = Path(f"/lib/{content_hash.hex()}.jpg")
    record = ImageRecord(name, 1, 1, content_hash, b"\x00" * 8, 8, 8, "JPEG", None)
    store.put_records([record], HashSettings())


def test_scores_are_read_back_only_for_their_version(store: HashStore) -> None:
    other = (b"r" * 16, b"x" * 16, int(Turn.NONE), True)
    library_file(store, _KEY[1])
    library_file(store, other[1])
    store.save_check_scores([(_KEY, 0.75), (other, 0.25)], 1)
    assert store.check_scores([_KEY, other, (b"?", b"?", 0, False)], 1) == {
        _KEY: 0.75,
        other: 0.25,
    }
    assert store.check_scores([_KEY], 2) == {}
    store.save_check_scores([(_KEY, 0.5)], 2)  # scored again by a new verifier: replaced
    assert store.check_scores([_KEY, other], 2) == {_KEY: 0.5}
    assert store.check_scores([_KEY, other], 1) == {other: 0.25}
    store.save_check_scores([(other, float("nan"))], 2)  # SQLite would make it NULL
    assert store.check_scores([other], 2) == {}


def test_scores_of_members_no_file_has_are_dropped_on_the_next_save(tmp_path: Path) -> None:
    lib, db = tmp_path / "lib", tmp_path / "db.sqlite3"
    write_copies(lib)
    scan(lib, db)
    with open_store(db) as store:
        rows = dict(_rows(store))
        assert len(rows) == 2  # the turned copy's and the crop's
        store.forget([lib / "photo crop.jpg"])
        store.save_check_scores([(_KEY, 0.9)], 1)
        kept = dict(_rows(store))
        assert store.stats() == StoreStats(files=2, contents=3, problems=0)  # contents stay
    # The crop's score went with its last file; the turned copy's stays. _KEY's member is no
    # file either, but a row is judged on the save after its own (its file may be unwritten).
    assert set(kept) == {key for key in rows if key[3] is False} | {_KEY}


def _rows(store: HashStore) -> list[tuple[tuple[bytes, bytes, int, bool], float]]:
    conn: sqlite3.Connection = store._conn  # the test reads the table itself
    rows = conn.execute("SELECT reference, member, turn, cropped, score FROM match_checks")
    return [((ref, mem, turn, bool(cropped)), score) for ref, mem, turn, cropped, score in rows]


def test_a_v6_database_opens_as_v7_with_no_scores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "db.sqlite3"
    lib = tmp_path / "lib"
    write_photo(lib / "photo.jpg", width=320, height=240, seed=5)  # alone: nothing to check
    with monkeypatch.context() as patch:
        patch.setattr(schema_module, "MIGRATIONS", MIGRATIONS[:6])
        scan(lib, db)  # as version 6 left it: a record and saved groups, no scores
        with open_store(db) as store:
            assert store._conn.execute("PRAGMA user_version").fetchone() == (6,)
            records = dict(store.load_records(HashSettings()).items())
            assert len(records) == 1
    with open_store(db) as store:
        conn: sqlite3.Connection = store._conn
        assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),) == (7,)
        assert dict(store.load_records(HashSettings()).items()) == records  # kept
        assert store.check_scores([_KEY], match_check.CHECK_VERSION) == {}
        store.save_check_scores([(_KEY, 0.5)], match_check.CHECK_VERSION)
        assert store.check_scores([_KEY], match_check.CHECK_VERSION) == {_KEY: 0.5}
