"""Tests of the SQLite store, on real database files in tmp_path."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from dedup_gui.core import store_records
from dedup_gui.core import store_schema as store_module
from dedup_gui.core.errors import StoreError, StoreTooNew
from dedup_gui.core.model import (
    NO_FACTS,
    FileInfo,
    HashAlgorithm,
    HashSettings,
    ImageRecord,
    PhotoFacts,
    Problem,
    ProblemKind,
)
from dedup_gui.core.store import (
    MIGRATIONS,
    ContentFacts,
    HashStore,
    StoreStats,
    default_db_path,
    open_store,
    stored_record,
)

PHASH8 = HashSettings(HashAlgorithm.PHASH, 8)
NON_UTF8 = Path(os.fsdecode(b"/tmp/x/caf\xe9.jpg"))


def digest(label: str) -> bytes:
    return hashlib.blake2b(label.encode(), digest_size=16).digest()


def record(path: Path | str, content: str = "a", **changes: Any) -> ImageRecord:
    base = ImageRecord(
        path=Path(path),
        size=1000,
        mtime_ns=1_700_000_000_000_000_000,
        content_hash=digest(content),
        perceptual_hash=digest("p" + content)[:8],
        width=640,
        height=480,
        format="JPEG",
        date_taken="2021-06-01 12:00:00",
    )
    return replace(base, **changes)


def problem_item(
    path: Path | str, kind: ProblemKind = ProblemKind.CORRUPT
) -> tuple[FileInfo, Problem]:
    path = Path(path)
    return FileInfo(path, 10, 20), Problem(path, kind, f"{kind.value} file")


@contextmanager
def raw(db: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection, to look at or damage the file behind the store's back."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def count_rows(db: Path, table: str) -> int:
    with raw(db) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def user_version(db: Path) -> int:
    with raw(db) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "folder" / "library.sqlite3"


@pytest.fixture
def store(db: Path) -> Iterator[HashStore]:
    with open_store(db) as opened:
        yield opened


# --- opening, schema, migrations -----------------------------------------------------------


def test_default_db_path_is_in_the_user_data_folder() -> None:
    path = default_db_path()
    assert path.name == "library.sqlite3"
    assert path.parent == platformdirs.user_data_path("dedup-gui")


def test_open_creates_folders_sets_version_and_wal(db: Path) -> None:
    with open_store(db) as store:
        assert store.stats() == StoreStats(files=0, contents=0, problems=0)
    assert user_version(db) == len(MIGRATIONS)
    with raw(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persists in the file


def test_reopening_keeps_data_and_runs_no_migration_twice(db: Path) -> None:
    with open_store(db) as store:
        store.put_records([record("/p/a.jpg")], PHASH8)
    with open_store(db) as store:
        assert list(store.load_records(PHASH8)) == [Path("/p/a.jpg")]


def test_a_new_migration_runs_once_and_atomically(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(db).close()
    broken = (*MIGRATIONS, ("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"))
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):  # bad SQL is a bug, not a StoreError
        open_store(db)
    assert user_version(db) == len(MIGRATIONS)
    with raw(db) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "extra" not in tables  # the DDL before the failure was rolled back too

    fixed = (*MIGRATIONS, ("CREATE TABLE extra (x INTEGER)",))
    monkeypatch.setattr(store_module, "MIGRATIONS", fixed)
    open_store(db).close()
    open_store(db).close()  # a second open must not try to create the table again
    assert count_rows(db, "extra") == 0
    assert user_version(db) == len(MIGRATIONS) + 1


def test_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite3"
    with raw(db) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute("PRAGMA user_version = 999")
    before = db.read_bytes()
    with pytest.raises(StoreTooNew) as caught:
        open_store(db)
    assert (caught.value.found_version, caught.value.supported_version) == (999, len(MIGRATIONS))
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.sqlite3"]  # no -wal, no -shm


def test_garbage_file_raises_store_error_with_plain_words(tmp_path: Path) -> None:
    db = tmp_path / "garbage.sqlite3"
    db.write_bytes(b"this is a holiday photo, not a database\n" * 200)
    before = db.read_bytes()
    with pytest.raises(StoreError, match="not a database") as caught:
        open_store(db)
    assert not isinstance(caught.value, StoreTooNew)
    assert db.read_bytes() == before


def test_a_folder_in_place_of_the_file_raises_store_error(tmp_path: Path) -> None:
    (tmp_path / "library.sqlite3").mkdir()
    with pytest.raises(StoreError, match="cannot be opened"):
        open_store(tmp_path / "library.sqlite3")


def test_a_damaged_database_raises_store_error(tmp_path: Path) -> None:
    db = tmp_path / "damaged.sqlite3"
    with open_store(db) as store:
        store.put_records([record(f"/p/{i}.jpg", f"c{i}") for i in range(2000)], PHASH8)
    with raw(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    data[page_size * 2 :] = b"\xa5" * (len(data) - page_size * 2)  # keep header and schema page
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged"), open_store(db) as store:
        store.load_records(PHASH8)


# --- records --------------------------------------------------------------------------------


def test_records_round_trip_including_a_non_utf8_path(store: HashStore) -> None:
    records = [
        record(NON_UTF8, "a"),
        record("/photos/b.png", "b", format="PNG", date_taken=None, width=3, height=7),
    ]
    store.put_records(records, PHASH8)
    assert store.load_records(PHASH8) == {r.path: r for r in records}


def test_one_content_is_stored_once_for_two_paths(store: HashStore, db: Path) -> None:
    store.put_records([record("/p/a.jpg", "same"), record("/q/copy.jpg", "same")], PHASH8)
    assert count_rows(db, "contents") == 1
    assert count_rows(db, "perceptual") == 1
    assert store.stats() == StoreStats(files=2, contents=1, problems=0)


def test_putting_a_known_content_again_keeps_one_row(store: HashStore, db: Path) -> None:
    store.put_records([record("/p/a.jpg", "same")], PHASH8)
    store.put_records([record("/p/a.jpg", "same"), record("/p/b.jpg", "same")], PHASH8)
    assert count_rows(db, "contents") == 1
    assert set(store.load_records(PHASH8)) == {Path("/p/a.jpg"), Path("/p/b.jpg")}


def test_a_changed_file_points_at_its_new_content(store: HashStore) -> None:
    store.put_records([record("/p/a.jpg", "old")], PHASH8)
    edited = record("/p/a.jpg", "new", size=2000, mtime_ns=5, width=10, height=20)
    store.put_records([edited], PHASH8)
    assert store.load_records(PHASH8) == {edited.path: edited}
    assert store.stats() == StoreStats(files=1, contents=2, problems=0)  # old content may stay


@pytest.mark.parametrize(
    "other",
    [HashSettings(HashAlgorithm.DHASH, 8), HashSettings(HashAlgorithm.PHASH, 16)],
    ids=["dhash:8", "phash:16"],
)
def test_hashes_of_other_settings_are_never_returned(store: HashStore, other: HashSettings) -> None:
    phashed = record("/p/a.jpg", "a")
    store.put_records([phashed], PHASH8)
    assert store.load_records(other) == {}
    assert store.known_contents(other) == frozenset()
    assert store.lookup_content(phashed.content_hash, other) is None

    other_hash = record("/p/a.jpg", "a", perceptual_hash=b"\x01" * 32)
    store.put_records([other_hash], other)
    assert store.load_records(other) == {other_hash.path: other_hash}
    assert store.load_records(PHASH8) == {phashed.path: phashed}  # untouched by the other key


def test_known_contents_and_lookup_content(store: HashStore) -> None:
    stored = record("/p/a.jpg", "a", date_taken=None)
    store.put_records([stored], PHASH8)
    assert store.known_contents(PHASH8) == frozenset({stored.content_hash})
    assert store.lookup_content(stored.content_hash, PHASH8) == ContentFacts(
        width=640,
        height=480,
        format="JPEG",
        date_taken=None,
        perceptual_hash=stored.perceptual_hash,
    )
    assert store.lookup_content(digest("unknown"), PHASH8) is None


def test_a_failed_transaction_stores_nothing(store: HashStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put_records([record("/p/a.jpg")], PHASH8)
        store.put_problems([problem_item("/p/bad.jpg")])
        raise RuntimeError("stop")
    assert store.stats() == StoreStats(files=0, contents=0, problems=0)


def test_a_nested_failure_rolls_back_only_its_own_part(store: HashStore) -> None:
    with store.transaction():
        store.put_records([record("/p/a.jpg", "a")], PHASH8)
        with pytest.raises(RuntimeError), store.transaction():
            store.put_records([record("/p/b.jpg", "b")], PHASH8)
            raise RuntimeError("stop")
    assert list(store.load_records(PHASH8)) == [Path("/p/a.jpg")]


def test_load_records_of_100_000_files_in_one_call(store: HashStore) -> None:
    records = [
        ImageRecord(
            Path(f"/photos/{i // 1000}/IMG_{i:06d}.jpg"),
            size=i,
            mtime_ns=i,
            content_hash=i.to_bytes(16, "big"),
            perceptual_hash=i.to_bytes(8, "big"),
            width=640,
            height=480,
            format="JPEG",
            date_taken=None,
        )
        for i in range(100_000)
    ]
    for start in range(0, len(records), 10_000):  # batched like a scan, a little coarser
        store.put_records(records[start : start + 10_000], PHASH8)
    loaded = store.load_records(PHASH8)
    assert len(loaded) == 100_000
    assert loaded[Path("/photos/99/IMG_099999.jpg")] == records[-1]


# --- problems, forgetting -------------------------------------------------------------------


def test_problems_round_trip_and_are_cleared_by_put_records(store: HashStore) -> None:
    info, problem = problem_item(NON_UTF8, ProblemKind.TOO_LARGE)
    store.put_problems([(info, problem), problem_item("/p/empty.jpg", ProblemKind.EMPTY)])
    loaded = store.load_problems()
    assert loaded[NON_UTF8] == (info.size, info.mtime_ns, problem)
    assert loaded[Path("/p/empty.jpg")][2].kind is ProblemKind.EMPTY

    store.put_records([record(NON_UTF8)], PHASH8)  # the file was fixed
    assert set(store.load_problems()) == {Path("/p/empty.jpg")}


def test_put_problems_forgets_the_hashes_of_that_path(store: HashStore) -> None:
    store.put_records([record("/p/a.jpg")], PHASH8)
    store.put_problems([problem_item("/p/a.jpg")])  # the file got damaged
    assert store.load_records(PHASH8) == {}
    assert set(store.load_problems()) == {Path("/p/a.jpg")}


def test_a_problem_kind_this_version_does_not_know_is_skipped(store: HashStore, db: Path) -> None:
    store.put_problems([problem_item("/p/bad.jpg")])
    with raw(db) as conn:
        conn.execute("UPDATE problems SET kind = 'from_the_future'")
    assert store.load_problems() == {}


def test_forget_drops_files_and_problems(store: HashStore) -> None:
    store.put_records([record("/p/a.jpg", "a"), record(NON_UTF8, "b")], PHASH8)
    store.put_problems([problem_item("/p/bad.jpg")])
    store.forget([NON_UTF8, Path("/p/bad.jpg"), Path("/p/never-seen.jpg")])
    assert list(store.load_records(PHASH8)) == [Path("/p/a.jpg")]
    assert store.load_problems() == {}
    assert store.stats().contents == 2  # contents stay for undo and moved copies


def test_forget_missing_compares_whole_path_parts(store: HashStore) -> None:
    kept, gone = Path("/a/b/kept.jpg"), Path("/a/b/sub/gone.jpg")
    sibling = Path("/a/bc/not-under-root.jpg")  # /a/bc shares the string prefix /a/b
    store.put_records([record(p, p.name) for p in (kept, gone, sibling)], PHASH8)
    store.put_problems([problem_item("/a/b/gone-bad.jpg"), problem_item("/a/bc/bad.jpg")])

    assert store.forget_missing([Path("/a/b")], {kept}) == 2
    assert set(store.load_records(PHASH8)) == {kept, sibling}
    assert set(store.load_problems()) == {Path("/a/bc/bad.jpg")}


def test_forget_missing_includes_the_root_itself_and_non_utf8_paths(store: HashStore) -> None:
    root = NON_UTF8.parent
    store.put_records([record(NON_UTF8, "a"), record(root, "b")], PHASH8)
    assert store.forget_missing([root], set()) == 2
    assert store.load_records(PHASH8) == {}
    assert store.forget_missing([root], set()) == 0


# --- pixel digests, not-duplicates ----------------------------------------------------------


def test_pixel_digests_round_trip_and_survive_a_record_update(store: HashStore) -> None:
    a, b = record("/p/a.jpg", "a"), record("/p/b.jpg", "b")
    store.put_records([a, b], PHASH8)
    assert store.pixel_digests([a.content_hash, b.content_hash]) == {}
    store.put_pixel_digests({a.content_hash: b"pixels-a", digest("not stored"): b"ignored"})
    store.put_records([a], PHASH8)  # re-hashing the content must not wipe its pixel digest
    assert store.pixel_digests([a.content_hash, b.content_hash, digest("not stored")]) == {
        a.content_hash: b"pixels-a"
    }


def test_not_duplicates_ignore_order(store: HashStore) -> None:
    a, b, c = digest("a"), digest("b"), digest("c")
    store.add_not_duplicate(a, b)
    store.add_not_duplicate(b, a)  # the same decision again
    store.add_not_duplicate(c, a)
    assert store.not_duplicates() == frozenset({frozenset({a, b}), frozenset({a, c})})
    store.remove_not_duplicate(b, a)
    assert store.not_duplicates() == frozenset({frozenset({a, c})})
    with pytest.raises(ValueError):
        store.add_not_duplicate(a, a)


def test_list_not_duplicates_shows_a_known_path_per_side(store: HashStore) -> None:
    photo = record(NON_UTF8, "a")
    store.put_records([photo, record("/z/copy.jpg", "a")], PHASH8)
    gone = digest("trashed long ago")
    store.add_not_duplicate(gone, photo.content_hash)
    [entry] = store.list_not_duplicates()
    assert {entry.hash_a, entry.hash_b} == {gone, photo.content_hash}
    assert entry.hash_a < entry.hash_b
    paths = {entry.hash_a: entry.path_a, entry.hash_b: entry.path_b}
    assert paths == {photo.content_hash: NON_UTF8, gone: None}  # smallest path of that content
    assert entry.created_at > 1_600_000_000


# --- threads --------------------------------------------------------------------------------


def test_another_thread_reads_with_its_own_connection_while_one_writes(
    store: HashStore, db: Path
) -> None:
    store.put_records([record("/p/committed.jpg", "a")], PHASH8)
    seen: list[object] = []

    def read() -> None:
        try:
            with open_store(db) as reader:
                seen.append(set(reader.load_records(PHASH8)))
        except Exception as exc:  # reported to the test thread below
            seen.append(exc)

    with store.transaction():  # holds the write lock and uncommitted rows
        store.put_records([record("/p/uncommitted.jpg", "b")], PHASH8)
        reader_thread = threading.Thread(target=read)
        reader_thread.start()
        reader_thread.join(timeout=30)
    assert seen == [{Path("/p/committed.jpg")}]
    with open_store(db) as later:
        assert len(later.load_records(PHASH8)) == 2


def test_a_connection_refuses_use_from_another_thread(store: HashStore) -> None:
    errors: list[BaseException] = []

    def use() -> None:
        try:
            store.stats()
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    other = threading.Thread(target=use)
    other.start()
    other.join(timeout=30)
    assert len(errors) == 1 and isinstance(errors[0], sqlite3.ProgrammingError)


def test_a_writer_commits_while_a_reader_holds_a_snapshot(store: HashStore, db: Path) -> None:
    # Without WAL the commit would wait for the reader's lock and fail after busy_timeout.
    store.put_records([record("/p/before.jpg", "a")], PHASH8)
    with raw(db) as reader:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 1
        store.put_records([record("/p/after.jpg", "b")], PHASH8)
        assert reader.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 1  # its snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 2


# --- schema v3: photo facts and turned hashes ----------------------------------------------------


def test_photo_facts_and_turned_hashes_round_trip(tmp_path: Path) -> None:
    facts = PhotoFacts(
        camera="Canon EOS R5",
        lens="RF24-70mm F2.8 L IS USM",
        iso=400,
        exposure_s=0.004,
        f_number=2.8,
        focal_mm=35.0,
        has_gps=True,
        colour_profile="Display P3",
        rating=4,
        label="Red",
        has_xmp=True,
    )
    rich = record("/p/rich.jpg", "rich", facts=facts, turned=b"\x02" + b"\x11" * 8)
    plain = record("/p/plain.jpg", "plain")
    with open_store(tmp_path / "db.sqlite3") as store:
        store.put_records([rich, plain], PHASH8)
        loaded = store.load_records(PHASH8)
        looked_up = store.lookup_content(digest("rich"), PHASH8)
    assert loaded[Path("/p/rich.jpg")] == rich
    assert loaded[Path("/p/rich.jpg")].facts.has_gps is True  # a bool, not SQLite's 1
    assert loaded[Path("/p/plain.jpg")] == plain
    assert loaded[Path("/p/plain.jpg")].facts is NO_FACTS
    assert looked_up is not None
    assert (looked_up.facts, looked_up.turned) == (facts, rich.turned)


def test_contents_hashed_before_v3_are_decoded_again(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with open_store(db) as store:
        store.put_records([record("/p/old.jpg", "old")], PHASH8)
    with sqlite3.connect(db) as conn:  # as a version 2 database left it
        conn.execute("DELETE FROM facts")
        conn.execute("UPDATE perceptual SET turned = NULL")
    with open_store(db) as store:
        assert len(store.load_records(PHASH8)) == 0
        assert store.known_contents(PHASH8) == frozenset()
        assert store.lookup_content(digest("old"), PHASH8) is None


# --- schema v6: crop ladders ---------------------------------------------------------------------

LADDER = bytes(range(24))  # three 8-byte rungs


def test_crop_ladders_round_trip_in_every_loader(store: HashStore) -> None:
    laddered = record("/p/ladder.jpg", "ladder", ladder=LADDER, turned=b"\x00" + b"\x22" * 8)
    plain = record("/p/plain.jpg", "plain")  # no ladder (e.g. colorhash): empty, not missing
    store.put_records([laddered, plain], PHASH8)
    loaded = store.load_records(PHASH8)
    assert loaded[Path("/p/ladder.jpg")] == laddered
    assert loaded[Path("/p/plain.jpg")] == plain
    assert loaded[Path("/p/plain.jpg")].ladder == b""
    looked_up = store.lookup_content(digest("ladder"), PHASH8)
    assert looked_up is not None and looked_up.ladder == LADDER
    assert store.known_contents(PHASH8) == {digest("ladder"), digest("plain")}
    file_ids = store.file_ids()
    rows = store.load_member_rows(PHASH8, list(file_ids.values()), store.generation())
    assert rows is not None
    ladder_id = file_ids[str(Path("/p/ladder.jpg"))]
    assert stored_record(Path("/p/ladder.jpg"), rows[ladder_id]) == laddered
    # A new hash replaces the old ladder too.
    store.put_records([replace(laddered, ladder=LADDER[::-1])], PHASH8)
    assert store.load_records(PHASH8)[Path("/p/ladder.jpg")].ladder == LADDER[::-1]


def test_records_are_built_by_their_slots_while_the_fields_match() -> None:
    # A field added to ImageRecord without updating store_records would silently fall back
    # to the slower ImageRecord(...) path.
    assert store_records._record is not store_records._record_by_init
    row = (None, 1, 2, 3, b"c", b"p", 4, 5, "PNG", None, b"t", b"l", *([None] * 6), 0)
    row += (None, None, None, 0)
    built = store_records._record(Path("/x.png"), row)
    assert built == store_records._record_by_init(Path("/x.png"), row)
    assert (built.turned, built.ladder, built.facts) == (b"t", b"l", NO_FACTS)


def test_a_v5_database_opens_as_v6_and_its_contents_are_decoded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "db.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:5])
        open_store(db).close()
    assert user_version(db) == 5
    with raw(db) as conn:  # what version 5 wrote: a hash, turned entries and facts, no ladder
        conn.execute(
            "INSERT INTO contents (content_hash, width, height, format) VALUES (?, 8, 8, 'PNG')",
            (digest("old"),),
        )
        conn.execute(
            "INSERT INTO perceptual (content_id, settings_key, hash, turned) VALUES (1, ?, ?, ?)",
            (PHASH8.key, b"\x01" * 8, b"\x00" + b"\x01" * 8),
        )
        conn.execute("INSERT INTO facts (content_id, has_gps, has_xmp) VALUES (1, 0, 0)")
        conn.execute(
            "INSERT INTO files (path, size, mtime_ns, content_id) VALUES (?, 1, 2, 1)",
            (os.fsencode("/p/old.png"),),
        )
    with open_store(db) as store:
        assert user_version(db) == len(MIGRATIONS) >= 6
        assert store.stats() == StoreStats(files=1, contents=1, problems=0)  # kept, not dropped
        assert len(store.load_records(PHASH8)) == 0
        assert len(store.load_file_stats(PHASH8)) == 0
        assert store.known_contents(PHASH8) == frozenset()
        assert store.lookup_content(digest("old"), PHASH8) is None
        # Hashed again: it is a record once more, with its ladder.
        again = record("/p/old.png", "old", ladder=LADDER)
        store.put_records([again], PHASH8)
        assert store.load_records(PHASH8)[Path("/p/old.png")] == again
