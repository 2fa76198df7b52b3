"""The SQLite library of hashes, bad files and user decisions: the only module with SQL. No Qt."""

from __future__ import annotations

import functools
import json
import logging
import operator
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import platformdirs

from dedup_gui.core.errors import StoreError, StoreTooNew
from dedup_gui.core.frozen import slot_setters
from dedup_gui.core.gc_pause import gc_paused
from dedup_gui.core.journal import BatchKind, FileState, JournalBatch, JournalFile
from dedup_gui.core.model import (
    NO_FACTS,
    FileInfo,
    HashSettings,
    ImageRecord,
    PhotoFacts,
    Problem,
    ProblemKind,
)

log = logging.getLogger(__name__)

# Append-only: step N (1-based) takes a database from user_version N-1 to N. Never edit a step
# that has shipped; add one. Each step runs in one transaction together with its version bump.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # Each distinct file content once; its facts do not depend on the hash settings.
        """CREATE TABLE contents (
            id INTEGER PRIMARY KEY,
            content_hash BLOB NOT NULL UNIQUE,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            format TEXT NOT NULL,
            date_taken TEXT,
            pixel_digest BLOB
        )""",
        # Keyed by HashSettings.key, so hashes made with other settings are never mixed.
        """CREATE TABLE perceptual (
            content_id INTEGER NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
            settings_key TEXT NOT NULL,
            hash BLOB NOT NULL,
            PRIMARY KEY (content_id, settings_key)
        ) WITHOUT ROWID""",
        # Paths are BLOBs of os.fsencode(path): file names need not be valid UTF-8.
        """CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            path BLOB NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            content_id INTEGER NOT NULL REFERENCES contents(id)
        )""",
        "CREATE INDEX files_by_content ON files(content_id)",
        # Remembered bad files: an unchanged one is not decoded again on rescan.
        """CREATE TABLE problems (
            path BLOB NOT NULL PRIMARY KEY,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL
        ) WITHOUT ROWID""",
        # By content hash, so a decision survives renames and moves. BLOBs compare with memcmp,
        # like Python bytes, so the CHECK agrees with sorted().
        """CREATE TABLE not_duplicates (
            hash_a BLOB NOT NULL,
            hash_b BLOB NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (hash_a, hash_b),
            CHECK (hash_a < hash_b)
        ) WITHOUT ROWID""",
    ),
    (
        # The action journal (journal.py): one row per user action, written before it starts;
        # finished_at stays NULL until it ends, so a crash leaves it to be checked at start.
        """CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('trash', 'move', 'restore')),
            destination BLOB,
            started_at REAL NOT NULL,
            finished_at REAL,
            owner_pid INTEGER,  -- the process doing it: another running instance is not a crash
            owner_host TEXT
        )""",
        "CREATE INDEX batches_unfinished ON batches(id) WHERE finished_at IS NULL",
        # One row per file, pending before the batch starts; path and moved_to are the file's
        # own place and where it went (the file in the Trash, or the moved-to path).
        """CREATE TABLE batch_files (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
            path BLOB NOT NULL,
            moved_to BLOB,
            info_file BLOB,
            size INTEGER NOT NULL,
            mtime_ns INTEGER,
            content_hash BLOB,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'done', 'failed', 'skipped', 'restored')),
            detail TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX batch_files_by_batch ON batch_files(batch_id)",
        "CREATE INDEX batch_files_by_path ON batch_files(path)",
    ),
    (
        # What photographers choose by (model.PhotoFacts), read from the file's own bytes, so
        # kept per content. A content without a row was hashed by an older version: it is
        # decoded once more (load_records and known_contents leave it out).
        """CREATE TABLE facts (
            content_id INTEGER PRIMARY KEY REFERENCES contents(id) ON DELETE CASCADE,
            camera TEXT,
            lens TEXT,
            iso INTEGER,
            exposure_s REAL,
            f_number REAL,
            focal_mm REAL,
            has_gps INTEGER NOT NULL,
            colour_profile TEXT,
            rating INTEGER,
            label TEXT,
            has_xmp INTEGER NOT NULL
        )""",
        # Hashes of the picture turned to its canonical orientation (core/turning.py); NULL for
        # hashes made before they existed, which are then made again.
        "ALTER TABLE perceptual ADD COLUMN turned BLOB",
    ),
    (
        # A counter bumped by every change to what grouping reads (files, hashes, facts, pixel
        # digests, not-duplicate decisions), by triggers, so no writer can forget it. A scan's
        # groups saved at one count are still right at that count (core/group_cache.py).
        "CREATE TABLE generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
        "INSERT INTO generation (id, n) VALUES (1, 0)",
        *(
            f"""CREATE TRIGGER {table}_{event.lower()}_bumps AFTER {event} ON {table}
                BEGIN UPDATE generation SET n = n + 1; END"""
            for table in ("files", "contents", "perceptual", "facts", "not_duplicates")
            for event in ("INSERT", "UPDATE", "DELETE")
        ),
        # The last groups of each kind of scan (core/group_cache.py: request_key), with the
        # generation they were made at and the files they were made from (files.id, walk order).
        """CREATE TABLE saved_groups (
            request_key BLOB PRIMARY KEY,
            generation INTEGER NOT NULL,
            saved_at REAL NOT NULL,
            file_ids BLOB NOT NULL,
            groups BLOB NOT NULL
        )""",
    ),
    (
        # A digest of the walk the groups were made from, when every file it found was a stored
        # record (group_cache.walk_digest): a rescan that walks the same list at the same
        # generation reads no file's row but its group members'. NULL: no such shortcut.
        "ALTER TABLE saved_groups ADD COLUMN walk_digest BLOB",
    ),
)

# How many kinds of scan keep their saved groups (about 1 MB per 100,000 files each).
_SAVED_GROUPS_KEPT = 4


# Primary SQLite result codes caused by the machine, not by our code, in plain words.
_ENVIRONMENT_REASONS = {
    3: "permission denied",  # SQLITE_PERM
    5: "it is in use by another program (try again once that has finished)",  # SQLITE_BUSY
    6: "it is in use by another program (try again once that has finished)",  # SQLITE_LOCKED
    7: "not enough memory",  # SQLITE_NOMEM
    8: "the file is read-only",  # SQLITE_READONLY
    10: "the disk could not be read or written",  # SQLITE_IOERR
    11: "the file is damaged",  # SQLITE_CORRUPT
    13: "the disk is full",  # SQLITE_FULL
    14: "the file cannot be opened",  # SQLITE_CANTOPEN
    15: "the file is locked in an unsupported way (is it on a network drive?)",  # SQLITE_PROTOCOL
    26: "the file is not a database",  # SQLITE_NOTADB
}

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class ContentFacts:
    """What the store knows about one file content under one set of hash settings."""

    width: int
    height: int
    format: str
    date_taken: str | None
    perceptual_hash: bytes
    facts: PhotoFacts = NO_FACTS
    turned: bytes = b""


@dataclass(frozen=True, slots=True)
class NotDuplicate:
    """A user decision "these two contents are not duplicates", with one known path per side."""

    hash_a: bytes  # the smaller content hash
    hash_b: bytes
    created_at: float  # seconds since the epoch
    path_a: Path | None  # None when no known file has that content any more
    path_b: Path | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    files: int
    contents: int
    problems: int


def default_db_path() -> Path:
    """Where the library lives unless the user chooses another file."""
    return platformdirs.user_data_path("dedup-gui") / "library.sqlite3"


def open_store(path: Path) -> HashStore:
    """Open the store at ``path``, creating or upgrading it; use it in this thread only.

    Raises:
        StoreTooNew: the file was written by a newer dedup-gui; it is left untouched.
        StoreError: the file or its folder cannot be created or opened, or it is not a database.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StoreError(f"Cannot create the folder of the database {path}: {reason}.") from exc
    with _plain_errors(path):
        conn = sqlite3.connect(path, isolation_level=None)  # explicit transactions; thread check on
        try:
            _prepare(conn, path)
        except BaseException:
            conn.close()
            raise
    return HashStore(conn, path)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the body as one write transaction: committed on success, rolled back on any exception.

    BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so a transaction
    never fails half-way for lack of it. Inside another transaction this becomes a savepoint, so
    callers can group several store calls into one commit.
    """
    if conn.in_transaction:
        conn.execute("SAVEPOINT nested")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                conn.execute("ROLLBACK TO nested")
                conn.execute("RELEASE nested")
            raise
        conn.execute("RELEASE nested")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("PRAGMA busy_timeout = 5000")  # wait for another connection's write lock
    # Read the version before any PRAGMA that writes (journal_mode does), so a too-new file
    # is refused byte-for-byte untouched.
    _check_not_too_new(conn, path)
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        log.warning(
            "SQLite refused WAL mode for %s (got %r); readers may wait for writers", path, mode
        )
    conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no committed data
    conn.execute("PRAGMA foreign_keys = ON")
    while _user_version(conn) < len(MIGRATIONS):
        with transaction(conn):
            # Read again under the write lock: another connection may have migrated meanwhile.
            current = _check_not_too_new(conn, path)
            if current < len(MIGRATIONS):
                for statement in MIGRATIONS[current]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {current + 1:d}")  # PRAGMA can't bind ?
                log.info("Upgraded the database %s to schema %d", path, current + 1)


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _check_not_too_new(conn: sqlite3.Connection, path: Path) -> int:
    found = _user_version(conn)
    if found > len(MIGRATIONS):
        raise StoreTooNew(path, found, len(MIGRATIONS))
    return found


# SQLITE_CORRUPT and SQLITE_NOTADB: the file itself is bad, as opposed to the disk or a lock.
_DAMAGE_CODES = frozenset({11, 26})
_DAMAGE_WORDS = ("malformed", "not a database")  # the same, for Python < 3.11 (no error codes)


def is_damage(exc: StoreError) -> bool:
    """True if ``exc`` says the database file is damaged or not a database at all.

    Permission, lock, disk-full and too-new errors are not damage: moving the file aside
    would not help, and could lose a user's data.
    """
    cause = exc.__cause__
    if isinstance(exc, StoreTooNew) or not isinstance(cause, sqlite3.Error):
        return False
    code = getattr(cause, "sqlite_errorcode", None)
    if code is None:
        return any(words in str(cause) for words in _DAMAGE_WORDS)
    return code & 0xFF in _DAMAGE_CODES


@contextmanager
def _plain_errors(path: Path) -> Iterator[None]:
    """Turn SQLite errors the machine caused into StoreError; let bugs (bad SQL...) through."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
        if code is None:
            is_environment = type(exc) in (sqlite3.OperationalError, sqlite3.DatabaseError)
            reason = str(exc) if is_environment else None
        else:
            reason = _ENVIRONMENT_REASONS.get(code & 0xFF)  # extended code -> primary code
        if reason is None:
            raise
        raise StoreError(f"Cannot use the database {path}: {reason}.") from exc


def _guarded(
    method: Callable[Concatenate[HashStore, P], R],
) -> Callable[Concatenate[HashStore, P], R]:
    @functools.wraps(method)
    def wrapper(self: HashStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with _plain_errors(self.path):
            return method(self, *args, **kwargs)

    return wrapper


def _fact_values(facts: PhotoFacts) -> tuple[object, ...]:
    # In PhotoFacts' field order, which is the facts table's column order.
    return tuple(getattr(facts, name) for name in PhotoFacts.__dataclass_fields__)


def _blob(path: Path) -> bytes:
    return os.fsencode(str(path))


def _path(blob: bytes) -> Path:
    return Path(os.fsdecode(blob))


# os.fsdecode of a path blob without its Python-level checks, for maps over 100,000 rows.
_decode_path = operator.methodcaller(
    "decode", sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
)
_FIRST = operator.itemgetter(0)


# (path, size, mtime_ns, file id, content_hash, perceptual_hash, width, height, format,
#  date_taken, turned, *the PhotoFacts fields); the first four alone in a file-stats row.
_RecordRow = tuple[Any, ...]
_RECORD_COLUMNS = """f.size, f.mtime_ns, f.id, c.content_hash, p.hash,
                     c.width, c.height, c.format, c.date_taken, p.turned,
                     camera, lens, iso, exposure_s, f_number, focal_mm, has_gps,
                     colour_profile, rating, label, has_xmp
                     FROM files f
                     JOIN contents c ON c.id = f.content_id
                     JOIN perceptual p ON p.content_id = f.content_id AND p.settings_key = ?
                          AND p.turned IS NOT NULL
                     JOIN facts ON facts.content_id = f.content_id"""
_RECORD_SELECT = "SELECT f.path, " + _RECORD_COLUMNS
# Group members by file id: their paths are known already (NULL spares a bytes object each).
_MEMBER_SELECT = (
    "SELECT NULL, " + _RECORD_COLUMNS + " WHERE f.id IN (SELECT value FROM json_each(?))"
)
# The files _RECORD_SELECT gives, but only what tells an unchanged file: half its time, and the
# EXISTS tests are cheaper than the joins (each table has one row per key at most).
_FILE_STATS_SELECT = """SELECT f.path, f.size, f.mtime_ns, f.id FROM files f
                        WHERE EXISTS (SELECT 1 FROM perceptual p WHERE p.content_id = f.content_id
                                      AND p.settings_key = ? AND p.turned IS NOT NULL)
                        AND EXISTS (SELECT 1 FROM facts WHERE facts.content_id = f.content_id)"""


def _record_by_init(path: Path, row: _RecordRow) -> ImageRecord:
    """An ImageRecord from a ``_RECORD_SELECT`` row (the row's own path is not parsed)."""
    _, size, mtime_ns, _, content, perceptual, width, height, fmt, date_taken, turned = row[:11]
    return ImageRecord(
        path,
        size,
        mtime_ns,
        content,
        perceptual,
        width,
        height,
        fmt,
        date_taken,
        _facts(row[11:]),
        turned,
    )


_RECORD_FIELDS = (
    *("path", "size", "mtime_ns", "content_hash", "perceptual_hash", "width", "height"),
    *("format", "date_taken", "facts", "turned", "sidecars"),
)


def _record_maker() -> Callable[[Path, _RecordRow], ImageRecord]:
    """``_record_by_init``, or the same built by its slots while ImageRecord's fields are the
    ones this knows (core/frozen.py): a rescan builds a record per group member."""
    setters = slot_setters(ImageRecord, _RECORD_FIELDS)
    if setters is None:
        return _record_by_init
    set_path, set_size, set_mtime, set_content, set_hash, set_width = setters[:6]
    set_height, set_format, set_date, set_facts, set_turned, set_sidecars = setters[6:]
    new = object.__new__

    def record(path: Path, row: _RecordRow) -> ImageRecord:
        made: ImageRecord = new(ImageRecord)
        set_path(made, path)
        set_size(made, row[1])
        set_mtime(made, row[2])
        set_content(made, row[4])
        set_hash(made, row[5])
        set_width(made, row[6])
        set_height(made, row[7])
        set_format(made, row[8])
        set_date(made, row[9])
        set_facts(made, _facts(row[11:]))
        set_turned(made, row[10])
        set_sidecars(made, ())
        return made

    return record


_record = _record_maker()


# NO_FACTS as the facts columns hold it: every optional one NULL, both flags 0.
_NO_FACT_VALUES = (None,) * 6 + (0,) + (None,) * 3 + (0,)


def _facts(values: Sequence[Any]) -> PhotoFacts:
    """PhotoFacts from its columns (SQLite gives 0/1 for the two flags)."""
    if tuple(values) == _NO_FACT_VALUES:  # one C-level compare: this runs once per file
        return NO_FACTS  # most photos without EXIF share one object, not 100,000 equal ones
    camera, lens, iso, exposure_s, f_number, focal_mm, gps, profile, rating, label, xmp = values
    return PhotoFacts(
        camera,
        lens,
        iso,
        exposure_s,
        f_number,
        focal_mm,
        bool(gps),
        profile,
        rating,
        label,
        bool(xmp),
    )


class StoredSnapshot:
    """Rows of known files keyed by path text, read in one snapshot of the store.

    ``generation`` and ``data_version`` are the store's when the rows were read (see
    ``HashStore.save_groups``).
    """

    __slots__ = ("_rows", "data_version", "generation")

    def __init__(self, rows: dict[str, _RecordRow], generation: int, data_version: int) -> None:
        self._rows = rows
        self.generation = generation
        self.data_version = data_version

    def unchanged(self, text: str, size: int, mtime_ns: int) -> StoredRow | None:
        """The row stored for path ``text`` if its size and mtime are these, else None."""
        row = self._rows.get(text)
        if row is None or row[1] != size or row[2] != mtime_ns:
            return None
        return row

    def row_getter(self) -> Callable[[str], StoredRow | None]:
        """``text -> row or None`` whatever the row's size and mtime (``row[1]``, ``row[2]``):
        ``unchanged`` without a call of its own, for loops over every walked file."""
        return self._rows.get


class StoredFiles(StoredSnapshot):
    """What tells an unchanged file (``load_file_stats``): no record can be built from a row.

    A rescan whose groups are reused needs records only for the group members
    (``HashStore.load_member_rows``).
    """

    __slots__ = ()

    def __len__(self) -> int:
        return len(self._rows)


class StoredRecords(StoredSnapshot, Mapping[Path, ImageRecord]):
    """Stored records keyed by path text; each ``ImageRecord`` is built only when asked for.

    A rescan asks once for every walked path. Building all records up front cost a second Path
    per file, and parsing paths was most of the time of loading 100,000 rows; here a record
    takes the caller's own Path (equal text, so an equal path). ``values()`` and ``items()``
    build them all, as before.
    """

    __slots__ = ()

    def __getitem__(self, path: Path) -> ImageRecord:
        row = self._rows[str(path)]  # str() of a Path is cached: forget_missing reuses it
        return _record(path, row)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, Path) and str(path) in self._rows

    def __iter__(self) -> Iterator[Path]:
        return (Path(text) for text in self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def values(self) -> ValuesView[ImageRecord]:
        return self._materialised().values()

    def items(self) -> ItemsView[Path, ImageRecord]:
        return self._materialised().items()

    def _materialised(self) -> dict[Path, ImageRecord]:
        records: dict[Path, ImageRecord] = {}
        with gc_paused():
            for text, row in self._rows.items():
                path = Path(text)
                records[path] = _record(path, row)
        return records


# A row of a StoredSnapshot, opaque to callers but for ``stored_file_id`` and ``stored_record``.
StoredRow = _RecordRow


def stored_file_id(row: StoredRow) -> int:
    """The store's id of the file a ``StoredSnapshot.unchanged`` row is about."""
    return int(row[3])


def stored_record(path: Path, row: StoredRow) -> ImageRecord:
    """The record of the file at ``path`` from its ``StoredRecords.unchanged`` row or its
    ``HashStore.load_member_rows`` row (not from a ``StoredFiles`` row: it has too little)."""
    return _record(path, row)


@dataclass(frozen=True, slots=True)
class SavedGroups:
    """A scan's groups as ``group_cache`` encoded them, and what they were made from."""

    generation: int
    file_ids: bytes  # files.id of the scanned files, int64 native order, in walk order
    groups: bytes
    walk_digest: bytes | None = None  # see MIGRATIONS step 5


class HashStore:
    """One thread's connection to the library; made by ``open_store``, closed on ``with`` exit."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    def __enter__(self) -> HashStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; calling it again does nothing."""
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several store calls into one commit (see module-level ``transaction``)."""
        with _plain_errors(self.path), transaction(self._conn):
            yield

    @_guarded
    def quick_check(self) -> list[str]:
        """SQLite's quick integrity check: what is wrong with the file, or [] if nothing.

        Raises:
            StoreError: the file is too damaged even to check (see ``is_damage``).
        """
        rows = self._conn.execute("PRAGMA quick_check").fetchall()
        return [] if rows == [("ok",)] else [str(row[0]) for row in rows]

    @_guarded
    def load_records(self, settings: HashSettings) -> StoredRecords:
        """Every known file that has a perceptual hash for ``settings``, in one query.

        Looking up one path is cheap; a record is only built when it is looked up (or when
        ``values()``/``items()`` build them all).
        """
        # Millions of values, no cycles: the collector would walk the growing heap again and again.
        with gc_paused(), self._read_snapshot():
            generation = self._generation()
            data_version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            rows = self._conn.execute(_RECORD_SELECT, (settings.key,)).fetchall()
            # Keyed by text, which costs a decode; a Path would cost a parse (many times more).
            by_text = dict(zip(map(_decode_path, map(_FIRST, rows)), rows, strict=True))
        return StoredRecords(by_text, generation, data_version)

    @_guarded
    def load_file_stats(self, settings: HashSettings) -> StoredFiles:
        """The files ``load_records`` would give, with only what tells an unchanged one."""
        with gc_paused(), self._read_snapshot():
            generation = self._generation()
            data_version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            rows = self._conn.execute(_FILE_STATS_SELECT, (settings.key,)).fetchall()
            by_text = dict(zip(map(_decode_path, map(_FIRST, rows)), rows, strict=True))
        return StoredFiles(by_text, generation, data_version)

    @_guarded
    def load_member_rows(
        self, settings: HashSettings, file_ids: Sequence[int], generation: int
    ) -> dict[int, StoredRow] | None:
        """Full rows (for ``stored_record``) of these files by id, read at ``generation``.

        None if the store's generation is another one now: then the rows might not be the
        ones the caller's earlier reads agreed with. A file without a record is left out.
        """
        with gc_paused(), self._read_snapshot():
            if self._generation() != generation:
                return None
            # One query for any number of ids: a JSON array is one bound value (SQLite has
            # JSON built in since 3.38, and in most builds before).
            wanted = json.dumps([int(file_id) for file_id in file_ids])
            rows = self._conn.execute(_MEMBER_SELECT, (settings.key, wanted)).fetchall()
        return {row[3]: row for row in rows}

    @contextmanager
    def _read_snapshot(self) -> Iterator[None]:
        """Reads in one snapshot: no other connection's commit lands between them."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")  # deferred: a read transaction, takes no write lock
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def _generation(self) -> int:
        return int(self._conn.execute("SELECT n FROM generation").fetchone()[0])

    @_guarded
    def saved_groups(self, request_key: bytes) -> SavedGroups | None:
        """The groups ``save_groups`` saved under ``request_key``, if any."""
        row = self._conn.execute(
            """SELECT generation, file_ids, groups, walk_digest FROM saved_groups
               WHERE request_key = ?""",
            (request_key,),
        ).fetchone()
        return None if row is None else SavedGroups(*row)

    @_guarded
    def save_groups(
        self,
        request_key: bytes,
        file_ids: bytes,
        groups: bytes,
        *,
        read: StoredSnapshot,
        walk_digest: bytes | None = None,
    ) -> bool:
        """Save a scan's groups, made from ``read`` and this connection's writes since.

        Saved only if no other connection wrote in between (PRAGMA data_version counts only
        their commits): then the store's generation now is the state the groups were made
        from. Returns whether they were saved. Only a few kinds of scan are kept.
        """
        with self.transaction():  # BEGIN IMMEDIATE: nobody writes between the checks and ours
            data_version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            if data_version != read.data_version:
                return False
            self._conn.execute(
                """INSERT INTO saved_groups
                       (request_key, generation, saved_at, file_ids, groups, walk_digest)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (request_key) DO UPDATE SET generation = excluded.generation,
                       saved_at = excluded.saved_at, file_ids = excluded.file_ids,
                       groups = excluded.groups, walk_digest = excluded.walk_digest""",
                (request_key, self._generation(), time.time(), file_ids, groups, walk_digest),
            )
            self._conn.execute(
                """DELETE FROM saved_groups WHERE request_key NOT IN
                   (SELECT request_key FROM saved_groups ORDER BY saved_at DESC LIMIT ?)""",
                (_SAVED_GROUPS_KEPT,),
            )
        return True

    @_guarded
    def generation(self) -> int:
        """The count of changes to what grouping reads (see MIGRATIONS step 4)."""
        return self._generation()

    @_guarded
    def file_ids(self) -> dict[str, int]:
        """Every known file's id, by path text."""
        rows = self._conn.execute("SELECT path, id FROM files").fetchall()
        return {os.fsdecode(blob): file_id for blob, file_id in rows}

    @_guarded
    def count_under(self, roots: Sequence[Path]) -> tuple[int, int]:
        """How many files and remembered problems have a path whose bytes start with a root's.

        An upper bound of what ``forget_missing`` looks at (/a/bc counts for /a/b): a walk that
        found as many of them, each stored, leaves it nothing to drop.
        """
        prefixes = sorted({_blob(root) for root in roots})
        if not prefixes:
            return 0, 0
        # One placeholder per root: the SQL text is ours, only the count varies.
        test = " OR ".join("substr(path, 1, length(?)) = ?" for _ in prefixes)
        values = [value for prefix in prefixes for value in (prefix, prefix)]
        counts = []
        for table in ("files", "problems"):  # one of our two literals, never input
            query = f"SELECT count(*) FROM {table} WHERE {test}"
            counts.append(int(self._conn.execute(query, values).fetchone()[0]))
        return counts[0], counts[1]

    @_guarded
    def load_problems(self) -> dict[Path, tuple[int, int, Problem]]:
        """Remembered bad files: path -> (size, mtime_ns, problem)."""
        known_kinds = {kind.value: kind for kind in ProblemKind}
        result: dict[Path, tuple[int, int, Problem]] = {}
        for blob, size, mtime_ns, kind, detail in self._conn.execute(
            "SELECT path, size, mtime_ns, kind, detail FROM problems"
        ):
            if kind in known_kinds:  # a kind since removed from ProblemKind: just check it again
                path = _path(blob)
                result[path] = (size, mtime_ns, Problem(path, known_kinds[kind], detail))
        return result

    @_guarded
    def known_contents(self, settings: HashSettings) -> frozenset[bytes]:
        """Content hashes that already have a perceptual hash for ``settings``."""
        rows = self._conn.execute(
            """SELECT c.content_hash FROM perceptual p JOIN contents c ON c.id = p.content_id
               JOIN facts ON facts.content_id = c.id
               WHERE p.settings_key = ? AND p.turned IS NOT NULL""",
            (settings.key,),
        )
        return frozenset(content_hash for (content_hash,) in rows)

    @_guarded
    def lookup_content(self, content_hash: bytes, settings: HashSettings) -> ContentFacts | None:
        """Facts of one content, or None unless it has a perceptual hash for ``settings``."""
        row = self._conn.execute(
            """SELECT c.width, c.height, c.format, c.date_taken, p.hash, p.turned,
                      camera, lens, iso, exposure_s, f_number, focal_mm, has_gps,
                      colour_profile, rating, label, has_xmp
                FROM contents c JOIN perceptual p ON p.content_id = c.id AND p.settings_key = ?
                     AND p.turned IS NOT NULL
                JOIN facts ON facts.content_id = c.id
                WHERE c.content_hash = ?""",
            (settings.key, content_hash),
        ).fetchone()
        if row is None:
            return None
        width, height, fmt, date_taken, perceptual, turned = row[:6]
        return ContentFacts(width, height, fmt, date_taken, perceptual, _facts(row[6:]), turned)

    @_guarded
    def put_records(self, records: Sequence[ImageRecord], settings: HashSettings) -> None:
        """Store hashed files in one transaction; a path whose content changed moves to the new one.

        Also forgets any remembered problem of those paths. Callers batch (~500 records a call).
        """
        key = settings.key
        with self.transaction():
            # The database enforces one row per content: no look-before-insert race.
            self._conn.executemany(
                """INSERT INTO contents (content_hash, width, height, format, date_taken)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (content_hash) DO UPDATE SET width = excluded.width,
                       height = excluded.height, format = excluded.format,
                       date_taken = excluded.date_taken""",
                [(r.content_hash, r.width, r.height, r.format, r.date_taken) for r in records],
            )
            self._conn.executemany(
                """INSERT INTO facts (content_id, camera, lens, iso, exposure_s, f_number,
                       focal_mm, has_gps, colour_profile, rating, label, has_xmp)
                   VALUES ((SELECT id FROM contents WHERE content_hash = ?),
                           ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (content_id) DO UPDATE SET camera = excluded.camera,
                       lens = excluded.lens, iso = excluded.iso,
                       exposure_s = excluded.exposure_s, f_number = excluded.f_number,
                       focal_mm = excluded.focal_mm, has_gps = excluded.has_gps,
                       colour_profile = excluded.colour_profile, rating = excluded.rating,
                       label = excluded.label, has_xmp = excluded.has_xmp""",
                [(r.content_hash, *_fact_values(r.facts)) for r in records],
            )
            self._conn.executemany(
                """INSERT INTO perceptual (content_id, settings_key, hash, turned)
                   VALUES ((SELECT id FROM contents WHERE content_hash = ?), ?, ?, ?)
                   ON CONFLICT (content_id, settings_key) DO UPDATE SET hash = excluded.hash,
                       turned = excluded.turned""",
                [(r.content_hash, key, r.perceptual_hash, r.turned) for r in records],
            )
            self._conn.executemany(
                """INSERT INTO files (path, size, mtime_ns, content_id)
                   VALUES (?, ?, ?, (SELECT id FROM contents WHERE content_hash = ?))
                   ON CONFLICT (path) DO UPDATE SET size = excluded.size,
                       mtime_ns = excluded.mtime_ns, content_id = excluded.content_id""",
                [(_blob(r.path), r.size, r.mtime_ns, r.content_hash) for r in records],
            )
            self._conn.executemany(
                "DELETE FROM problems WHERE path = ?", [(_blob(r.path),) for r in records]
            )

    @_guarded
    def put_problems(self, items: Sequence[tuple[FileInfo, Problem]]) -> None:
        """Remember bad files (keyed by ``FileInfo.path``); forgets any hashes of those paths."""
        with self.transaction():
            self._conn.executemany(
                """INSERT INTO problems (path, size, mtime_ns, kind, detail) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (path) DO UPDATE SET size = excluded.size,
                       mtime_ns = excluded.mtime_ns, kind = excluded.kind,
                       detail = excluded.detail""",
                [
                    (_blob(info.path), info.size, info.mtime_ns, problem.kind.value, problem.detail)
                    for info, problem in items
                ],
            )
            self._conn.executemany(
                "DELETE FROM files WHERE path = ?", [(_blob(info.path),) for info, _ in items]
            )

    @_guarded
    def forget(self, paths: Iterable[Path]) -> None:
        """Drop what is known about these paths (e.g. after trashing them).

        Their contents stay, so an undo or a moved copy can reuse the hashes.
        """
        blobs = [(_blob(path),) for path in paths]
        with self.transaction():
            self._conn.executemany("DELETE FROM files WHERE path = ?", blobs)
            self._conn.executemany("DELETE FROM problems WHERE path = ?", blobs)

    @_guarded
    def forget_missing(self, roots: Sequence[Path], present: AbstractSet[Path]) -> int:
        """Drop files and problems under ``roots`` (or a root itself) that are not in ``present``.

        Paths are compared as given (part by part, so /a/bc is not under /a/b); pass the same
        roots the walk used. Returns how many rows were dropped.
        """
        # Equal bytes mean equal paths: a cheap first test that spares most Path objects.
        present_blobs = {_blob(path) for path in present}
        dropped = 0
        with self.transaction():
            for table in ("files", "problems"):
                missing = self._missing_under(table, roots, present, present_blobs)
                gone = [(blob,) for blob in missing]
                # The table name is one of our two literals, never input.
                self._conn.executemany(f"DELETE FROM {table} WHERE path = ?", gone)
                dropped += len(gone)
        return dropped

    def _missing_under(
        self,
        table: str,
        roots: Sequence[Path],
        present: AbstractSet[Path],
        present_blobs: AbstractSet[bytes],
    ) -> set[bytes]:
        missing: set[bytes] = set()
        for root in roots:
            # The byte-prefix test in SQL is only a fast pre-filter (it also matches /a/bc for
            # /a/b); the part-by-part test below decides.
            rows = self._conn.execute(
                f"SELECT path FROM {table} WHERE substr(path, 1, length(?1)) = ?1", (_blob(root),)
            )
            for (blob,) in rows:
                if blob in present_blobs:
                    continue
                path = _path(blob)
                if _is_within(path, root) and path not in present:
                    missing.add(blob)
        return missing

    @_guarded
    def pixel_digests(self, content_hashes: Iterable[bytes]) -> dict[bytes, bytes]:
        """Cached decoded-pixel digests of these contents, for those that have one.

        One pass over the (few) cached digests instead of one SELECT per content: a rescan
        asks for every same-pixels candidate of the library at once.
        """
        wanted = set(content_hashes)
        if not wanted:
            return {}
        rows = self._conn.execute(
            "SELECT content_hash, pixel_digest FROM contents WHERE pixel_digest IS NOT NULL"
        )
        return {content_hash: digest for content_hash, digest in rows if content_hash in wanted}

    @_guarded
    def put_pixel_digests(self, digests: Mapping[bytes, bytes]) -> None:
        """Cache decoded-pixel digests by content hash; contents the store lacks are skipped."""
        with self.transaction():
            self._conn.executemany(
                "UPDATE contents SET pixel_digest = ? WHERE content_hash = ?",
                [(digest, content_hash) for content_hash, digest in digests.items()],
            )

    @_guarded
    def add_not_duplicate(self, a: bytes, b: bytes) -> None:
        """Remember that contents ``a`` and ``b`` are not duplicates (in either order).

        Raises:
            ValueError: ``a == b``; a content is always a copy of itself.
        """
        if a == b:
            raise ValueError("a content cannot be 'not a duplicate' of itself")
        low, high = sorted((a, b))
        with self.transaction():
            self._conn.execute(
                """INSERT INTO not_duplicates (hash_a, hash_b, created_at) VALUES (?, ?, ?)
                   ON CONFLICT (hash_a, hash_b) DO NOTHING""",
                (low, high, time.time()),
            )

    @_guarded
    def remove_not_duplicate(self, a: bytes, b: bytes) -> None:
        """Forget the decision about ``a`` and ``b`` (in either order), if there was one."""
        low, high = sorted((a, b))
        with self.transaction():
            self._conn.execute(
                "DELETE FROM not_duplicates WHERE hash_a = ? AND hash_b = ?", (low, high)
            )

    @_guarded
    def not_duplicates(self) -> frozenset[frozenset[bytes]]:
        """Every remembered pair, as ``grouping.group_by_distance`` takes them."""
        rows = self._conn.execute("SELECT hash_a, hash_b FROM not_duplicates")
        return frozenset(frozenset(pair) for pair in rows)

    @_guarded
    def list_not_duplicates(self) -> list[NotDuplicate]:
        """Every remembered pair with one known path per side, newest first."""
        # One known path per side (the smallest, to be stable), via the files_by_content index.
        rows = self._conn.execute(
            """SELECT n.hash_a, n.hash_b, n.created_at,
                   (SELECT f.path FROM files f JOIN contents c ON c.id = f.content_id
                    WHERE c.content_hash = n.hash_a ORDER BY f.path LIMIT 1),
                   (SELECT f.path FROM files f JOIN contents c ON c.id = f.content_id
                    WHERE c.content_hash = n.hash_b ORDER BY f.path LIMIT 1)
               FROM not_duplicates n ORDER BY n.created_at DESC, n.hash_a, n.hash_b"""
        )
        return [
            NotDuplicate(a, b, created_at, _optional_path(path_a), _optional_path(path_b))
            for a, b, created_at, path_a, path_b in rows
        ]

    @_guarded
    def stats(self) -> StoreStats:
        row = self._conn.execute(
            """SELECT (SELECT COUNT(*) FROM files), (SELECT COUNT(*) FROM contents),
                      (SELECT COUNT(*) FROM problems)"""
        ).fetchone()
        return StoreStats(files=row[0], contents=row[1], problems=row[2])

    # -- the action journal (records and their meaning: journal.py) ---------------------------
    @_guarded
    def begin_batch(
        self, kind: BatchKind, destination: Path | None, files: Sequence[JournalFile]
    ) -> int:
        """Write a batch and one pending row per file in one transaction; returns its id."""
        now = time.time()
        with self.transaction():
            cursor = self._conn.execute(
                """INSERT INTO batches (kind, destination, started_at, owner_pid, owner_host)
                   VALUES (?, ?, ?, ?, ?)""",
                (kind, self._optional_blob(destination), now, os.getpid(), platform.node()),
            )
            batch_id = int(cursor.lastrowid or 0)
            blob = self._optional_blob
            self._conn.executemany(
                """INSERT INTO batch_files (batch_id, path, moved_to, info_file, size, mtime_ns,
                       content_hash, state, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)""",
                [
                    (
                        batch_id,
                        _blob(f.path),
                        blob(f.moved_to),
                        blob(f.info_file),
                        f.size,
                        f.mtime_ns,
                        f.content_hash,
                        now,
                    )
                    for f in files
                ],
            )
        return batch_id

    @_guarded
    def record_file(
        self,
        batch_id: int,
        path: Path,
        state: FileState,
        moved_to: Path | None = None,
        info_file: Path | None = None,
        detail: str = "",
    ) -> None:
        """Set the outcome of the batch's first pending row for ``path`` (one transaction)."""
        with self.transaction():
            row = self._conn.execute(
                """SELECT id FROM batch_files WHERE batch_id = ? AND path = ? AND state = 'pending'
                   ORDER BY id LIMIT 1""",
                (batch_id, _blob(path)),
            ).fetchone()
            if row is None:
                log.warning("no pending journal row for %r in batch %d", path, batch_id)
                return
            self._settle_file(row[0], state, moved_to, info_file, detail)

    @_guarded
    def settle_file(
        self,
        row_id: int,
        state: FileState,
        moved_to: Path | None,
        info_file: Path | None,
        detail: str,
    ) -> None:
        """Set the state of one row by id (used when checking an interrupted batch)."""
        with self.transaction():
            self._settle_file(row_id, state, moved_to, info_file, detail)

    def _settle_file(
        self,
        row_id: int,
        state: FileState,
        moved_to: Path | None,
        info_file: Path | None,
        detail: str,
    ) -> None:
        now = time.time()
        self._conn.execute(
            """UPDATE batch_files SET state = ?, moved_to = coalesce(?, moved_to),
                   info_file = coalesce(?, info_file), detail = ?, updated_at = ?
               WHERE id = ?""",
            (
                state.value,
                self._optional_blob(moved_to),
                self._optional_blob(info_file),
                detail,
                now,
                row_id,
            ),
        )
        kind, path, where = self._conn.execute(
            """SELECT b.kind, f.path, f.moved_to FROM batch_files f
               JOIN batches b ON b.id = f.batch_id WHERE f.id = ?""",
            (row_id,),
        ).fetchone()
        if state is FileState.DONE and kind == "restore" and where is not None:
            # Put back: the row of the batch that moved it away may not be undone twice.
            self._conn.execute(
                """UPDATE batch_files SET state = 'restored', updated_at = ?
                   WHERE state = 'done' AND path = ? AND moved_to = ?
                     AND batch_id IN (SELECT id FROM batches WHERE kind != 'restore')""",
                (now, path, where),
            )

    @_guarded
    def finish_batch(self, batch_id: int) -> None:
        """Mark the batch finished; its files still pending were never reached: 'skipped'."""
        now = time.time()
        with self.transaction():
            self._conn.execute(
                """UPDATE batch_files SET state = 'skipped', updated_at = ?,
                       detail = 'stopped before this file'
                   WHERE batch_id = ? AND state = 'pending'""",
                (now, batch_id),
            )
            self._conn.execute(
                "UPDATE batches SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                (now, batch_id),
            )

    @_guarded
    def unfinished_batches(self) -> list[JournalBatch]:
        """Batches that were started and never finished (the app crashed or was killed)."""
        rows = self._conn.execute(
            """SELECT id, kind, destination, started_at, finished_at, owner_pid, owner_host
               FROM batches WHERE finished_at IS NULL ORDER BY id"""
        )
        return [
            JournalBatch(
                batch_id,
                kind,
                _optional_path(destination),
                started_at,
                finished_at,
                owner_pid,
                owner_host,
            )
            for batch_id, kind, destination, started_at, finished_at, owner_pid, owner_host in rows
        ]

    @_guarded
    def batch_files(self, batch_id: int) -> list[JournalFile]:
        """The batch's file rows, in the order the batch works through them."""
        rows = self._conn.execute(
            """SELECT path, size, mtime_ns, content_hash, moved_to, info_file, state, detail, id
               FROM batch_files WHERE batch_id = ? ORDER BY id""",
            (batch_id,),
        )
        return [self._journal_file(*row) for row in rows]

    @_guarded
    def last_undoable_files(self) -> list[JournalFile]:
        """The 'done' rows of the newest finished trash or move batch that still has any."""
        row = self._conn.execute(
            """SELECT b.id FROM batches b
               WHERE b.finished_at IS NOT NULL AND b.kind != 'restore' AND EXISTS
                   (SELECT 1 FROM batch_files f WHERE f.batch_id = b.id AND f.state = 'done')
               ORDER BY b.id DESC LIMIT 1"""
        ).fetchone()
        if row is None:
            return []
        return [f for f in self.batch_files(row[0]) if f.state is FileState.DONE]

    @staticmethod
    def _journal_file(
        path: bytes,
        size: int,
        mtime_ns: int | None,
        content_hash: bytes | None,
        moved_to: bytes | None,
        info_file: bytes | None,
        state: str,
        detail: str,
        row_id: int,
    ) -> JournalFile:
        return JournalFile(
            _path(path),
            size,
            mtime_ns,
            content_hash,
            _optional_path(moved_to),
            _optional_path(info_file),
            FileState(state),
            detail,
            row_id,
        )

    @staticmethod
    def _optional_blob(path: Path | None) -> bytes | None:
        return None if path is None else _blob(path)


def _optional_path(blob: bytes | None) -> Path | None:
    return None if blob is None else _path(blob)


def _is_within(path: Path, root: Path) -> bool:
    """True if ``path`` is ``root`` or below it, comparing whole parts."""
    return path.parts[: len(root.parts)] == root.parts
