"""Stored rows as ImageRecords, and snapshots of those rows keyed by path text. No Qt."""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, Mapping, Sequence, ValuesView
from pathlib import Path
from typing import Any

from dedup_gui.core.frozen import slot_setters
from dedup_gui.core.gc_pause import gc_paused
from dedup_gui.core.model import NO_FACTS, ImageRecord, PhotoFacts

# (path, size, mtime_ns, file id, content_hash, perceptual_hash, width, height, format,
#  date_taken, turned, ladder, *the PhotoFacts fields); the first four alone in a file-stats
#  row. NULL ``turned`` or ``ladder``: hashed by an older version, so not a record yet.
_RecordRow = tuple[Any, ...]
_RECORD_COLUMNS = """f.size, f.mtime_ns, f.id, c.content_hash, p.hash,
                     c.width, c.height, c.format, c.date_taken, p.turned, p.ladder,
                     camera, lens, iso, exposure_s, f_number, focal_mm, has_gps,
                     colour_profile, rating, label, has_xmp
                     FROM files f
                     JOIN contents c ON c.id = f.content_id
                     JOIN perceptual p ON p.content_id = f.content_id AND p.settings_key = ?
                          AND p.turned IS NOT NULL AND p.ladder IS NOT NULL
                     JOIN facts ON facts.content_id = f.content_id"""
RECORD_SELECT = "SELECT f.path, " + _RECORD_COLUMNS
# Group members by file id: their paths are known already (NULL spares a bytes object each).
MEMBER_SELECT = (
    "SELECT NULL, " + _RECORD_COLUMNS + " WHERE f.id IN (SELECT value FROM json_each(?))"
)
# The files RECORD_SELECT gives, but only what tells an unchanged file: half its time, and the
# EXISTS tests are cheaper than the joins (each table has one row per key at most).
FILE_STATS_SELECT = """SELECT f.path, f.size, f.mtime_ns, f.id FROM files f
                        WHERE EXISTS (SELECT 1 FROM perceptual p WHERE p.content_id = f.content_id
                                      AND p.settings_key = ? AND p.turned IS NOT NULL
                                      AND p.ladder IS NOT NULL)
                        AND EXISTS (SELECT 1 FROM facts WHERE facts.content_id = f.content_id)"""


def _record_by_init(path: Path, row: _RecordRow) -> ImageRecord:
    """An ImageRecord from a ``RECORD_SELECT`` row (the row's own path is not parsed)."""
    _, size, mtime_ns, _, content, perceptual, width, height, fmt, date_taken = row[:10]
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
        facts_from_columns(row[_FACTS_AT:]),
        turned=row[10],
        ladder=row[11],
    )


_RECORD_FIELDS = (
    *("path", "size", "mtime_ns", "content_hash", "perceptual_hash", "width", "height"),
    *("format", "date_taken", "facts", "turned", "ladder", "sidecars"),
)
_FACTS_AT = 12  # where the PhotoFacts columns start in a row


def _record_maker() -> Callable[[Path, _RecordRow], ImageRecord]:
    """``_record_by_init``, or the same built by its slots while ImageRecord's fields are the
    ones this knows (core/frozen.py): a rescan builds a record per group member."""
    setters = slot_setters(ImageRecord, _RECORD_FIELDS)
    if setters is None:
        return _record_by_init
    set_path, set_size, set_mtime, set_content, set_hash, set_width = setters[:6]
    set_height, set_format, set_date, set_facts, set_turned, set_ladder, set_sidecars = setters[6:]
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
        set_facts(made, facts_from_columns(row[_FACTS_AT:]))
        set_turned(made, row[10])
        set_ladder(made, row[11])
        set_sidecars(made, ())
        return made

    return record


_record = _record_maker()


# NO_FACTS as the facts columns hold it: every optional one NULL, both flags 0.
_NO_FACT_VALUES = (None,) * 6 + (0,) + (None,) * 3 + (0,)


def facts_from_columns(values: Sequence[Any]) -> PhotoFacts:
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
