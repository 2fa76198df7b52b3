"""HashStore's reads of known files in one snapshot, and the groups a rescan may reuse. No Qt."""

from __future__ import annotations

import json
import operator
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dedup_gui.core.gc_pause import gc_paused
from dedup_gui.core.model import HashSettings
from dedup_gui.core.store_connection import StoreConnection, guarded, path_blob
from dedup_gui.core.store_records import (
    FILE_STATS_SELECT,
    MEMBER_SELECT,
    RECORD_SELECT,
    StoredFiles,
    StoredRecords,
    StoredRow,
    StoredSnapshot,
)

# How many kinds of scan keep their saved groups (about 1 MB per 100,000 files each).
_SAVED_GROUPS_KEPT = 4

# os.fsdecode of a path blob without its Python-level checks, for maps over 100,000 rows.
_decode_path = operator.methodcaller(
    "decode", sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
)
_FIRST = operator.itemgetter(0)


@dataclass(frozen=True, slots=True)
class SavedGroups:
    """A scan's groups as ``group_cache`` encoded them, and what they were made from."""

    generation: int
    file_ids: bytes  # files.id of the scanned files, int64 native order, in walk order
    groups: bytes
    walk_digest: bytes | None = None  # see store_schema.MIGRATIONS step 5


class RescanTables(StoreConnection):
    """The part of ``HashStore`` a scan uses to skip unchanged files and reuse saved groups."""

    @guarded
    def load_records(self, settings: HashSettings) -> StoredRecords:
        """Every known file that has a perceptual hash for ``settings``, in one query.

        Looking up one path is cheap; a record is only built when it is looked up (or when
        ``values()``/``items()`` build them all).
        """
        # Millions of values, no cycles: the collector would walk the growing heap again and again.
        with gc_paused(), self._read_snapshot():
            generation = self._generation()
            data_version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            rows = self._conn.execute(RECORD_SELECT, (settings.key,)).fetchall()
            # Keyed by text, which costs a decode; a Path would cost a parse (many times more).
            by_text = dict(zip(map(_decode_path, map(_FIRST, rows)), rows, strict=True))
        return StoredRecords(by_text, generation, data_version)

    @guarded
    def load_file_stats(self, settings: HashSettings) -> StoredFiles:
        """The files ``load_records`` would give, with only what tells an unchanged one."""
        with gc_paused(), self._read_snapshot():
            generation = self._generation()
            data_version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            rows = self._conn.execute(FILE_STATS_SELECT, (settings.key,)).fetchall()
            by_text = dict(zip(map(_decode_path, map(_FIRST, rows)), rows, strict=True))
        return StoredFiles(by_text, generation, data_version)

    @guarded
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
            rows = self._conn.execute(MEMBER_SELECT, (settings.key, wanted)).fetchall()
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

    @guarded
    def saved_groups(self, request_key: bytes) -> SavedGroups | None:
        """The groups ``save_groups`` saved under ``request_key``, if any."""
        row = self._conn.execute(
            """SELECT generation, file_ids, groups, walk_digest FROM saved_groups
               WHERE request_key = ?""",
            (request_key,),
        ).fetchone()
        return None if row is None else SavedGroups(*row)

    @guarded
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

    @guarded
    def generation(self) -> int:
        """The count of changes to what grouping reads (see store_schema.MIGRATIONS step 4)."""
        return self._generation()

    @guarded
    def file_ids(self) -> dict[str, int]:
        """Every known file's id, by path text."""
        rows = self._conn.execute("SELECT path, id FROM files").fetchall()
        return {os.fsdecode(blob): file_id for blob, file_id in rows}

    @guarded
    def count_under(self, roots: Sequence[Path]) -> tuple[int, int]:
        """How many files and remembered problems have a path whose bytes start with a root's.

        An upper bound of what ``forget_missing`` looks at (/a/bc counts for /a/b): a walk that
        found as many of them, each stored, leaves it nothing to drop.
        """
        prefixes = sorted({path_blob(root) for root in roots})
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
