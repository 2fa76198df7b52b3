"""The library's schema as append-only migrations, and the upgrade that applies them. No Qt."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from dedup_gui.core.errors import StoreTooNew
from dedup_gui.core.store_connection import transaction

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
    (
        # Hashes of centred windows of the picture (core/crop_ladder.py), for cropped and
        # captioned copies; NULL for hashes made before they existed, which are then made again
        # (as for a NULL ``turned``). Empty, not NULL, for algorithms without a ladder.
        "ALTER TABLE perceptual ADD COLUMN ladder BLOB",
    ),
    (
        # Fine-detail check scores of turned and cropped matches (core/match_check.py), so a
        # pair is decoded and scored once, not on every rescan that groups again. Keyed by
        # content hashes, not contents.id: a find's query photo is checked but never stored.
        # A score of another verifier version is ignored (and replaced when checked again);
        # rows whose member content no file has any more are dropped as new ones are saved.
        # Not under the generation triggers: a score is what checking would find anyway.
        """CREATE TABLE match_checks (
            reference BLOB NOT NULL,  -- the group reference's content hash
            member BLOB NOT NULL,  -- the checked member's content hash
            turn INTEGER NOT NULL,  -- model.Turn: how the member is the reference turned
            cropped INTEGER NOT NULL,  -- 1: matched through a centred window
            score REAL NOT NULL,
            version INTEGER NOT NULL,  -- match_check.CHECK_VERSION that scored it
            PRIMARY KEY (reference, member, turn, cropped)
        ) WITHOUT ROWID""",
    ),
)


def prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Set the connection's pragmas and bring the file to the newest schema.

    Raises:
        StoreTooNew: the file was written by a newer dedup-gui; it is left untouched.
    """
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
