"""The SQLite library of hashes, bad files and user decisions. No Qt.

SQL lives only in this module and its parts: ``store_schema`` (migrations), ``store_connection``
(transactions, errors), ``store_records`` (rows as records), ``store_rescan`` (snapshots, saved
groups), ``store_journal`` (the action journal) and ``store_checks`` (fine-detail check scores).
Import the store's names from here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from dedup_gui.core.errors import StoreError
from dedup_gui.core.model import (
    NO_FACTS,
    FileInfo,
    HashSettings,
    ImageRecord,
    PhotoFacts,
    Problem,
    ProblemKind,
)
from dedup_gui.core.store_checks import CheckKey, CheckTables
from dedup_gui.core.store_connection import (
    blob_path,
    guarded,
    is_damage,
    optional_path,
    path_blob,
    plain_errors,
    transaction,
)
from dedup_gui.core.store_journal import JournalTables
from dedup_gui.core.store_records import (
    StoredFiles,
    StoredRecords,
    StoredRow,
    StoredSnapshot,
    facts_from_columns,
    stored_file_id,
    stored_record,
)
from dedup_gui.core.store_rescan import RescanTables, SavedGroups
from dedup_gui.core.store_schema import MIGRATIONS, prepare

__all__ = [
    "MIGRATIONS",
    "CheckKey",
    "ContentFacts",
    "HashStore",
    "NotDuplicate",
    "SavedGroups",
    "StoreStats",
    "StoredFiles",
    "StoredRecords",
    "StoredRow",
    "StoredSnapshot",
    "default_db_path",
    "is_damage",
    "open_store",
    "stored_file_id",
    "stored_record",
    "transaction",
]


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
    ladder: bytes = b""


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
    with plain_errors(path):
        conn = sqlite3.connect(path, isolation_level=None)  # explicit transactions; thread check on
        try:
            prepare(conn, path)
        except BaseException:
            conn.close()
            raise
    return HashStore(conn, path)


def _fact_values(facts: PhotoFacts) -> tuple[object, ...]:
    # In PhotoFacts' field order, which is the facts table's column order.
    return tuple(getattr(facts, name) for name in PhotoFacts.__dataclass_fields__)


class HashStore(JournalTables, RescanTables, CheckTables):
    """One thread's connection to the library; made by ``open_store``, closed on ``with`` exit.

    Files, contents, problems and decisions here; the journal's, the rescan's and the check
    scores' tables come from ``JournalTables``, ``RescanTables`` and ``CheckTables``.
    """

    def __enter__(self) -> HashStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @guarded
    def quick_check(self) -> list[str]:
        """SQLite's quick integrity check: what is wrong with the file, or [] if nothing.

        Raises:
            StoreError: the file is too damaged even to check (see ``is_damage``).
        """
        rows = self._conn.execute("PRAGMA quick_check").fetchall()
        return [] if rows == [("ok",)] else [str(row[0]) for row in rows]

    @guarded
    def load_problems(self) -> dict[Path, tuple[int, int, Problem]]:
        """Remembered bad files: path -> (size, mtime_ns, problem)."""
        known_kinds = {kind.value: kind for kind in ProblemKind}
        result: dict[Path, tuple[int, int, Problem]] = {}
        for blob, size, mtime_ns, kind, detail in self._conn.execute(
            "SELECT path, size, mtime_ns, kind, detail FROM problems"
        ):
            if kind in known_kinds:  # a kind since removed from ProblemKind: just check it again
                path = blob_path(blob)
                result[path] = (size, mtime_ns, Problem(path, known_kinds[kind], detail))
        return result

    @guarded
    def known_contents(self, settings: HashSettings) -> frozenset[bytes]:
        """Content hashes that already have a perceptual hash for ``settings``.

        Contents hashed by an older version (no facts, turned hashes or crop ladder yet) are
        left out, so they are decoded again.
        """
        rows = self._conn.execute(
            """SELECT c.content_hash FROM perceptual p JOIN contents c ON c.id = p.content_id
               JOIN facts ON facts.content_id = c.id
               WHERE p.settings_key = ? AND p.turned IS NOT NULL AND p.ladder IS NOT NULL""",
            (settings.key,),
        )
        return frozenset(content_hash for (content_hash,) in rows)

    @guarded
    def lookup_content(self, content_hash: bytes, settings: HashSettings) -> ContentFacts | None:
        """Facts of one content, or None unless it has a perceptual hash for ``settings``."""
        row = self._conn.execute(
            """SELECT c.width, c.height, c.format, c.date_taken, p.hash, p.turned, p.ladder,
                      camera, lens, iso, exposure_s, f_number, focal_mm, has_gps,
                      colour_profile, rating, label, has_xmp
                FROM contents c JOIN perceptual p ON p.content_id = c.id AND p.settings_key = ?
                     AND p.turned IS NOT NULL AND p.ladder IS NOT NULL
                JOIN facts ON facts.content_id = c.id
                WHERE c.content_hash = ?""",
            (settings.key, content_hash),
        ).fetchone()
        if row is None:
            return None
        width, height, fmt, date_taken, perceptual, turned, ladder = row[:7]
        facts = facts_from_columns(row[7:])
        return ContentFacts(width, height, fmt, date_taken, perceptual, facts, turned, ladder)

    @guarded
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
                """INSERT INTO perceptual (content_id, settings_key, hash, turned, ladder)
                   VALUES ((SELECT id FROM contents WHERE content_hash = ?), ?, ?, ?, ?)
                   ON CONFLICT (content_id, settings_key) DO UPDATE SET hash = excluded.hash,
                       turned = excluded.turned, ladder = excluded.ladder""",
                [(r.content_hash, key, r.perceptual_hash, r.turned, r.ladder) for r in records],
            )
            self._conn.executemany(
                """INSERT INTO files (path, size, mtime_ns, content_id)
                   VALUES (?, ?, ?, (SELECT id FROM contents WHERE content_hash = ?))
                   ON CONFLICT (path) DO UPDATE SET size = excluded.size,
                       mtime_ns = excluded.mtime_ns, content_id = excluded.content_id""",
                [(path_blob(r.path), r.size, r.mtime_ns, r.content_hash) for r in records],
            )
            self._conn.executemany(
                "DELETE FROM problems WHERE path = ?", [(path_blob(r.path),) for r in records]
            )

    @guarded
    def put_problems(self, items: Sequence[tuple[FileInfo, Problem]]) -> None:
        """Remember bad files (keyed by ``FileInfo.path``); forgets any hashes of those paths."""
        with self.transaction():
            self._conn.executemany(
                """INSERT INTO problems (path, size, mtime_ns, kind, detail) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (path) DO UPDATE SET size = excluded.size,
                       mtime_ns = excluded.mtime_ns, kind = excluded.kind,
                       detail = excluded.detail""",
                [
                    (
                        path_blob(info.path),
                        info.size,
                        info.mtime_ns,
                        problem.kind.value,
                        problem.detail,
                    )
                    for info, problem in items
                ],
            )
            self._conn.executemany(
                "DELETE FROM files WHERE path = ?", [(path_blob(info.path),) for info, _ in items]
            )

    @guarded
    def forget(self, paths: Iterable[Path]) -> None:
        """Drop what is known about these paths (e.g. after trashing them).

        Their contents stay, so an undo or a moved copy can reuse the hashes.
        """
        blobs = [(path_blob(path),) for path in paths]
        with self.transaction():
            self._conn.executemany("DELETE FROM files WHERE path = ?", blobs)
            self._conn.executemany("DELETE FROM problems WHERE path = ?", blobs)

    @guarded
    def forget_missing(self, roots: Sequence[Path], present: AbstractSet[Path]) -> int:
        """Drop files and problems under ``roots`` (or a root itself) that are not in ``present``.

        Paths are compared as given (part by part, so /a/bc is not under /a/b); pass the same
        roots the walk used. Returns how many rows were dropped.
        """
        # Equal bytes mean equal paths: a cheap first test that spares most Path objects.
        present_blobs = {path_blob(path) for path in present}
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
                f"SELECT path FROM {table} WHERE substr(path, 1, length(?1)) = ?1",
                (path_blob(root),),
            )
            for (blob,) in rows:
                if blob in present_blobs:
                    continue
                path = blob_path(blob)
                if _is_within(path, root) and path not in present:
                    missing.add(blob)
        return missing

    @guarded
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

    @guarded
    def put_pixel_digests(self, digests: Mapping[bytes, bytes]) -> None:
        """Cache decoded-pixel digests by content hash; contents the store lacks are skipped."""
        with self.transaction():
            self._conn.executemany(
                "UPDATE contents SET pixel_digest = ? WHERE content_hash = ?",
                [(digest, content_hash) for content_hash, digest in digests.items()],
            )

    @guarded
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

    @guarded
    def remove_not_duplicate(self, a: bytes, b: bytes) -> None:
        """Forget the decision about ``a`` and ``b`` (in either order), if there was one."""
        low, high = sorted((a, b))
        with self.transaction():
            self._conn.execute(
                "DELETE FROM not_duplicates WHERE hash_a = ? AND hash_b = ?", (low, high)
            )

    @guarded
    def not_duplicates(self) -> frozenset[frozenset[bytes]]:
        """Every remembered pair, as ``grouping.group_by_distance`` takes them."""
        rows = self._conn.execute("SELECT hash_a, hash_b FROM not_duplicates")
        return frozenset(frozenset(pair) for pair in rows)

    @guarded
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
            NotDuplicate(a, b, created_at, optional_path(path_a), optional_path(path_b))
            for a, b, created_at, path_a, path_b in rows
        ]

    @guarded
    def stats(self) -> StoreStats:
        row = self._conn.execute(
            """SELECT (SELECT COUNT(*) FROM files), (SELECT COUNT(*) FROM contents),
                      (SELECT COUNT(*) FROM problems)"""
        ).fetchone()
        return StoreStats(files=row[0], contents=row[1], problems=row[2])


def _is_within(path: Path, root: Path) -> bool:
    """True if ``path`` is ``root`` or below it, comparing whole parts."""
    return path.parts[: len(root.parts)] == root.parts
