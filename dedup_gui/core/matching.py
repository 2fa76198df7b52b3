"""Walked files matched against the store: unchanged ones, remembered bad ones, the rest. No Qt."""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from dedup_gui.core.gc_pause import gc_paused
from dedup_gui.core.model import FileInfo, HashSettings, ImageRecord, Problem
from dedup_gui.core.scanning import WalkedFile
from dedup_gui.core.store import (
    HashStore,
    SavedGroups,
    StoredFiles,
    StoredRow,
    StoredSnapshot,
    stored_file_id,
    stored_record,
)

_PATH_TEXT = operator.itemgetter(0)
_NO_ROW: StoredRow = ()  # a file whose row was not read (yet)


class Matched:
    """The walk's files split by what the store knows of them, in walk order.

    No Path or ImageRecord is made for an unchanged file until it is asked for: a rescan whose
    groups are reused (core/group_cache.py) needs records only for group members. With
    ``narrow``, only what tells an unchanged file is loaded (about half the time of a full
    load); records can then be made only for the files ``load_full_rows`` was given.
    """

    def __init__(
        self,
        store: HashStore,
        settings: HashSettings,
        walked: list[WalkedFile],
        *,
        narrow: bool = False,
    ) -> None:
        self.is_narrow = narrow
        self.stored: StoredSnapshot = (
            store.load_file_stats(settings) if narrow else store.load_records(settings)
        )
        known_problems = store.load_problems()
        self.texts: list[str] = []  # unchanged files with a stored record: their paths
        self._rows: list[StoredRow] = []  # ...and their rows
        self.problems: list[Problem] = []  # unchanged files remembered as bad
        self.to_hash: list[FileInfo] = []  # new or changed files
        self._children: dict[str, Callable[[str], Path]] = {}  # folder -> its Path's child maker
        self._saved_ids: bytes | None = None  # of_same_walk: the ids, as saved
        # StoredSnapshot.unchanged inlined (and its appends bound): this loop runs per file.
        row_of = self.stored.row_getter()
        add_text, add_row = self.texts.append, self._rows.append
        with gc_paused():
            for text, size, mtime_ns, links in walked:
                row = row_of(text)
                if row is not None and row[1] == size and row[2] == mtime_ns:
                    add_text(text)
                    add_row(row)
                    continue
                path = Path(text)
                remembered = known_problems.get(path) if known_problems else None
                if remembered is not None and remembered[:2] == (size, mtime_ns):
                    self.problems.append(remembered[2])
                else:
                    self.to_hash.append(FileInfo(path, size, mtime_ns, links))

    @classmethod
    def of_same_walk(cls, walked: list[WalkedFile], saved: SavedGroups) -> Matched:
        """Every walked file unchanged and stored, as when ``saved`` was saved (their walk
        digests are equal): nothing is loaded, and the files' ids are the saved ones."""
        matched = cls.__new__(cls)
        matched.is_narrow = True
        matched.stored = StoredFiles({}, saved.generation, -1)  # -1: never saved from
        matched.texts = list(map(_PATH_TEXT, walked))
        matched._saved_ids = saved.file_ids
        matched._rows = [_NO_ROW] * len(walked)  # until load_full_rows
        matched.problems, matched.to_hash, matched._children = [], [], {}
        return matched

    def load_full_rows(
        self, store: HashStore, settings: HashSettings, positions: Sequence[int]
    ) -> bool:
        """Read the full rows of the unchanged files at ``positions`` (narrow only).

        Read at the generation the narrow rows were, or not at all: returns False if the
        store changed since (then nothing was replaced).
        """
        assert self.is_narrow, "a full load has every row already"
        rows = self._rows
        if self._saved_ids is None:
            ids = [stored_file_id(rows[k]) for k in positions]
        else:
            ids = np.frombuffer(self._saved_ids, dtype=np.int64)[positions].tolist()
        full = store.load_member_rows(settings, ids, self.stored.generation)
        if full is None or len(full) != len(set(ids)):
            return False  # a file lost its record: the generation moved, so no reuse anyway
        for k, file_id in zip(positions, ids, strict=True):
            rows[k] = full[file_id]
        return True

    def record(self, k: int) -> ImageRecord:
        """The stored record of the k-th unchanged file."""
        return stored_record(self._path(self.texts[k]), self._rows[k])

    def records(self) -> list[ImageRecord]:
        """The stored records of all unchanged files (a full load only)."""
        assert not self.is_narrow, "narrow rows make no records"
        with gc_paused():
            pairs = zip(self.texts, self._rows, strict=True)
            return [stored_record(self._path(text), row) for text, row in pairs]

    def _path(self, text: str) -> Path:
        """``Path(text)`` for a walked file, made from its folder's Path, made once."""
        folder, name = os.path.split(text)
        child = self._children.get(folder)
        if child is None:
            # HACK: pathlib's private _make_child_relpath (3.10 to 3.13) adds a name from a
            # listing without parsing the folder again: 5x faster than Path(text), which was
            # the most of a rescan's time after the walk. A plain join where it is missing.
            parent = Path(folder)
            child = self._children[folder] = getattr(parent, "_make_child_relpath", parent.joinpath)
        return child(name)

    def file_ids(self) -> bytes:
        """The store's ids of the unchanged files, as ``SavedGroups.file_ids`` holds them."""
        if self._saved_ids is not None:
            return self._saved_ids
        ids = np.fromiter(map(stored_file_id, self._rows), dtype=np.int64, count=len(self._rows))
        return ids.tobytes()
