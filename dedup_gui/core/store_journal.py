"""HashStore's SQL for the action journal (its records and their meaning: journal.py). No Qt."""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

from dedup_gui.core.journal import BatchKind, FileState, JournalBatch, JournalFile
from dedup_gui.core.store_connection import (
    StoreConnection,
    blob_path,
    guarded,
    optional_blob,
    optional_path,
    path_blob,
)

log = logging.getLogger(__name__)


class JournalTables(StoreConnection):
    """The part of ``HashStore`` that keeps the action journal: batches and their files."""

    @guarded
    def begin_batch(
        self, kind: BatchKind, destination: Path | None, files: Sequence[JournalFile]
    ) -> int:
        """Write a batch and one pending row per file in one transaction; returns its id."""
        now = time.time()
        with self.transaction():
            cursor = self._conn.execute(
                """INSERT INTO batches (kind, destination, started_at, owner_pid, owner_host)
                   VALUES (?, ?, ?, ?, ?)""",
                (kind, optional_blob(destination), now, os.getpid(), platform.node()),
            )
            batch_id = int(cursor.lastrowid or 0)
            self._conn.executemany(
                """INSERT INTO batch_files (batch_id, path, moved_to, info_file, size, mtime_ns,
                       content_hash, state, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)""",
                [
                    (
                        batch_id,
                        path_blob(f.path),
                        optional_blob(f.moved_to),
                        optional_blob(f.info_file),
                        f.size,
                        f.mtime_ns,
                        f.content_hash,
                        now,
                    )
                    for f in files
                ],
            )
        return batch_id

    @guarded
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
                (batch_id, path_blob(path)),
            ).fetchone()
            if row is None:
                log.warning("no pending journal row for %r in batch %d", path, batch_id)
                return
            self._settle_file(row[0], state, moved_to, info_file, detail)

    @guarded
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
                optional_blob(moved_to),
                optional_blob(info_file),
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

    @guarded
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

    @guarded
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
                optional_path(destination),
                started_at,
                finished_at,
                owner_pid,
                owner_host,
            )
            for batch_id, kind, destination, started_at, finished_at, owner_pid, owner_host in rows
        ]

    @guarded
    def batch_files(self, batch_id: int) -> list[JournalFile]:
        """The batch's file rows, in the order the batch works through them."""
        rows = self._conn.execute(
            """SELECT path, size, mtime_ns, content_hash, moved_to, info_file, state, detail, id
               FROM batch_files WHERE batch_id = ? ORDER BY id""",
            (batch_id,),
        )
        return [self._journal_file(*row) for row in rows]

    @guarded
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
            blob_path(path),
            size,
            mtime_ns,
            content_hash,
            optional_path(moved_to),
            optional_path(info_file),
            FileState(state),
            detail,
            row_id,
        )
