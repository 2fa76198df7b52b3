"""HashStore's SQL for remembered fine-detail check scores (see match_check.py). No Qt."""

from __future__ import annotations

import math
from collections.abc import Iterable

from dedup_gui.core.store_connection import StoreConnection, guarded

# (reference content hash, member content hash, turn, cropped): what one check depends on, as
# ``match_check`` makes it. The turn is a ``model.Turn`` value.
CheckKey = tuple[bytes, bytes, int, bool]


class CheckTables(StoreConnection):
    """The part of ``HashStore`` that remembers fine-detail check scores by content pair."""

    @guarded
    def check_scores(self, keys: Iterable[CheckKey], version: int) -> dict[CheckKey, float]:
        """The remembered scores of these pairs made by verifier ``version``; others are left
        out (never checked, failed to decode, or scored by another version)."""
        scores: dict[CheckKey, float] = {}
        # One primary-key probe per pair: a changed rescan asks for every checked pair of the
        # library (thousands at most), a find for a few; the table may hold many more.
        sql = """SELECT score FROM match_checks WHERE reference = ? AND member = ?
                 AND turn = ? AND cropped = ? AND version = ?"""
        for key in keys:
            reference, member, turn, cropped = key
            row = self._conn.execute(sql, (reference, member, int(turn), int(cropped), version))
            found = row.fetchone()
            if found is not None:
                scores[key] = float(found[0])
        return scores

    @guarded
    def save_check_scores(self, items: Iterable[tuple[CheckKey, float]], version: int) -> None:
        """Remember these scores of verifier ``version`` in one transaction, replacing any of
        another version (a NaN score is skipped); drops the scores of member contents no file
        has any more.

        Verdicts are kept while their member's content is a file in the library: a scan's
        member, or the library photo a find's query matched (the query photo itself is never
        stored, so the reference side cannot decide). Contents of forgotten files stay (undo,
        moves), and so would their verdicts without this.
        """
        # SQLite stores NaN as NULL: such a score (none is known) is left to be made again.
        rows = [
            (reference, member, int(turn), int(cropped), score, version)
            for (reference, member, turn, cropped), score in items
            if math.isfinite(score)
        ]
        if not rows:
            return
        with self.transaction():
            # Before the inserts: a scan may check members whose rows are still to be written
            # (hashing writes in batches); the next save judges them.
            self._conn.execute(
                """DELETE FROM match_checks WHERE NOT EXISTS (
                       SELECT 1 FROM contents c JOIN files f ON f.content_id = c.id
                       WHERE c.content_hash = match_checks.member)"""
            )
            self._conn.executemany(
                """INSERT INTO match_checks (reference, member, turn, cropped, score, version)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (reference, member, turn, cropped) DO UPDATE SET
                       score = excluded.score, version = excluded.version""",
                rows,
            )
