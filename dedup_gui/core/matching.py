"""Walked files matched against the store: unchanged ones, remembered bad ones, the rest. No Qt."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dedup_gui.core.gc_pause import gc_paused
from dedup_gui.core.model import FileInfo, HashSettings, ImageRecord, Problem
from dedup_gui.core.scanning import WalkedFile
from dedup_gui.core.store import (
    HashStore,
    StoredRecords,
    StoredRow,
    stored_file_id,
    stored_record,
)


class Matched:
    """The walk's files split by what the store knows of them, in walk order.

    No Path or ImageRecord is made for an unchanged file until it is asked for: a rescan whose
    groups are reused (core/group_cache.py) needs records only for group members.
    """

    def __init__(self, store: HashStore, settings: HashSettings, walked: list[WalkedFile]) -> None:
        self.stored: StoredRecords = store.load_records(settings)
        known_problems = store.load_problems()
        self.texts: list[str] = []  # unchanged files with a stored record: their paths
        self._rows: list[StoredRow] = []  # ...and their rows
        self.problems: list[Problem] = []  # unchanged files remembered as bad
        self.to_hash: list[FileInfo] = []  # new or changed files
        self._children: dict[str, Callable[[str], Path]] = {}  # folder -> its Path's child maker
        unchanged = self.stored.unchanged
        with gc_paused():
            for text, size, mtime_ns, links in walked:
                row = unchanged(text, size, mtime_ns)
                if row is not None:
                    self.texts.append(text)
                    self._rows.append(row)
                    continue
                path = Path(text)
                remembered = known_problems.get(path) if known_problems else None
                if remembered is not None and remembered[:2] == (size, mtime_ns):
                    self.problems.append(remembered[2])
                else:
                    self.to_hash.append(FileInfo(path, size, mtime_ns, links))

    def record(self, k: int) -> ImageRecord:
        """The stored record of the k-th unchanged file."""
        return stored_record(self._path(self.texts[k]), self._rows[k])

    def records(self) -> list[ImageRecord]:
        """The stored records of all unchanged files."""
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
        ids = np.fromiter(map(stored_file_id, self._rows), dtype=np.int64, count=len(self._rows))
        return ids.tobytes()
