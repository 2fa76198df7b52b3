"""The action journal: what each trash, move or restore did, so none is lost to a crash. No Qt.

``actions`` tells a ``Journal`` about a batch before its first file moves and after each file;
``StoreJournal`` keeps that in the store. At start, ``check_interrupted`` works out what really
happened to the files of a batch that never finished, and ``last_undoable`` gives "Restore last
trashed" its files even after the app was closed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from dedup_gui.core.actions import TrashedFile, moved_names
from dedup_gui.core.digest import file_content_hash
from dedup_gui.core.formatting import display_path, human_count
from dedup_gui.core.freedesktop_trash import find_trashed, is_freedesktop, trash_locations
from dedup_gui.core.model import ImageRecord, Problem
from dedup_gui.core.sidecars import Sidecar, belongs_to, is_sidecar, paired_name

if TYPE_CHECKING:  # the store imports this module's records
    from dedup_gui.core.store import HashStore

log = logging.getLogger(__name__)

BatchKind = Literal["trash", "move", "restore"]


class FileState(str, Enum):
    """Where one file of a batch stands. Values are stored."""

    PENDING = "pending"  # written before the batch starts; the file has not been handled yet
    DONE = "done"  # moved away (trash, move) or put back (restore)
    FAILED = "failed"  # left where it was; ``detail`` says why
    SKIPPED = "skipped"  # never tried: the batch was stopped or cut short before it
    RESTORED = "restored"  # moved away, then put back by a later restore batch


@dataclass(frozen=True, slots=True)
class JournalFile:
    """One file's row. ``path`` is the photo's own place (where a restore puts it back)."""

    path: Path
    size: int
    mtime_ns: int | None  # None for restore rows: a TrashedFile does not carry it
    content_hash: bytes | None
    moved_to: Path | None = None  # the file in the Trash or the moved-to path, once known
    info_file: Path | None = None  # its .trashinfo
    state: FileState = FileState.PENDING
    detail: str = ""
    row_id: int = 0  # the store's id; 0 before the row is written


@dataclass(frozen=True, slots=True)
class JournalBatch:
    """One user action: a trash, move or restore of some files."""

    batch_id: int
    kind: BatchKind
    destination: Path | None  # the folder of a move
    started_at: float  # seconds since the epoch
    finished_at: float | None  # None while running, or if it was cut short
    owner_pid: int | None = None  # the process that ran it, on host owner_host
    owner_host: str | None = None

    @property
    def is_running_elsewhere(self) -> bool:
        """True while another live process on this machine is still working on this batch.

        A second instance of the app must not report (and offer to undo) a batch the first is
        in the middle of. A reused pid only delays the report to a later start.
        """
        if self.owner_pid is None or self.owner_host != platform.node():
            return False
        if self.owner_pid == os.getpid():
            return False  # ours: anything unfinished from this process was cut short
        try:
            os.kill(self.owner_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # alive, owned by another user
        return True


class Journal(Protocol):
    """What ``actions`` tells about a batch. ``begin`` must be durable before it returns."""

    def begin(
        self,
        kind: BatchKind,
        items: Sequence[ImageRecord | TrashedFile | Sidecar],
        destination: Path | None,
    ) -> int: ...

    def record(self, batch_id: int, path: Path, outcome: TrashedFile | Path | Problem) -> None: ...

    def finish(self, batch_id: int) -> None: ...


class StoreJournal:
    """A ``Journal`` kept in the store: one small transaction per call."""

    def __init__(self, store: HashStore) -> None:
        self._store = store

    def begin(
        self,
        kind: BatchKind,
        items: Sequence[ImageRecord | TrashedFile | Sidecar],
        destination: Path | None,
    ) -> int:
        return self._store.begin_batch(kind, destination, [_pending(item) for item in items])

    def record(self, batch_id: int, path: Path, outcome: TrashedFile | Path | Problem) -> None:
        if isinstance(outcome, Problem):
            self._store.record_file(batch_id, path, FileState.FAILED, detail=outcome.detail)
        elif isinstance(outcome, TrashedFile):
            moved_to, info = outcome.trashed_as, outcome.info_file
            self._store.record_file(batch_id, path, FileState.DONE, moved_to, info)
        else:  # the path a restore put the file back at
            self._store.record_file(batch_id, path, FileState.DONE)

    def finish(self, batch_id: int) -> None:
        self._store.finish_batch(batch_id)


def _pending(item: ImageRecord | TrashedFile | Sidecar) -> JournalFile:
    if isinstance(item, ImageRecord | Sidecar):
        return JournalFile(item.path, item.size, item.mtime_ns, item.content_hash)
    return JournalFile(item.original, item.size, None, None, item.trashed_as, item.info_file)


def trashed_file(row: JournalFile) -> TrashedFile:
    """What ``restore_files`` needs to put the file of a DONE trash or move row back."""
    return TrashedFile(row.path, row.size, row.moved_to, row.info_file)


def trashed_files(rows: Sequence[JournalFile]) -> tuple[TrashedFile, ...]:
    """``trashed_file`` of each row, with each sidecar row inside the photo it went along with.

    ``actions`` writes a photo's row, then the rows of the sidecars that follow it; a sidecar row
    whose photo is not the last before it in ``rows`` (that photo was already put back) stands
    alone, so it can still be restored.
    """
    photos: list[TrashedFile] = []
    last_photo: TrashedFile | None = None
    for row in rows:
        trashed = trashed_file(row)
        if not is_sidecar(row.path):
            last_photo = trashed
        elif last_photo is not None and belongs_to(row.path, last_photo.original):
            last_photo = dataclasses.replace(last_photo, sidecars=(*last_photo.sidecars, trashed))
            photos[-1] = last_photo
            continue
        photos.append(trashed)
    return tuple(photos)


def last_undoable(store: HashStore) -> tuple[TrashedFile, ...]:
    """The files of the newest finished trash or move that are still away, for undo."""
    return trashed_files(store.last_undoable_files())


# -- interrupted batches ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InterruptedBatch:
    """A trash or move that was cut short (crash, power cut) after moving some files."""

    batch: JournalBatch
    total: int  # photos the batch set out to move (their sidecars not counted)
    # Those that really were moved, with their sidecars inside, so they can be put back.
    moved: tuple[TrashedFile, ...]

    @property
    def text(self) -> str:
        """ "An earlier move to the Trash was interrupted: 12 of 40 photos had been moved." """
        if self.batch.kind == "trash" or self.batch.destination is None:
            where = "the Trash"
        else:
            where = display_path(self.batch.destination)
        count = human_count(self.total, "photo")
        moved = sum(not is_sidecar(f.original) for f in self.moved)
        return f"An earlier move to {where} was interrupted: {moved} of {count} had been moved."


def check_interrupted(store: HashStore) -> list[InterruptedBatch]:
    """Finds batches that never finished and settles each file's state from the disk.

    A pending file still at its place was not moved; one found in the Trash (its .trashinfo
    names it, same content) or in the move's folder was. Batches with nothing left to decide
    (a restore, or nothing moved) are closed here; the others stay open until ``close_batch``,
    so the user is asked again at the next start if they did not choose.
    """
    found: list[InterruptedBatch] = []
    for batch in store.unfinished_batches():
        if batch.is_running_elsewhere:
            continue
        rows = _settle_batch(store, batch)
        done = [row for row in store.batch_files(batch.batch_id) if row.state is FileState.DONE]
        log.info(
            "batch %d (%s) was interrupted: %d of %d done",
            batch.batch_id,
            batch.kind,
            len(done),
            len(rows),
        )
        if batch.kind == "restore" or not done:
            store.finish_batch(batch.batch_id)
        else:
            photos = sum(not is_sidecar(row.path) for row in rows)
            found.append(InterruptedBatch(batch, photos, trashed_files(done)))
    return found


def _settle_batch(store: HashStore, batch: JournalBatch) -> list[JournalFile]:
    """Settles the batch's pending rows from the disk, in order; returns its rows."""
    rows = store.batch_files(batch.batch_id)
    photo: JournalFile | None = None  # the latest photo row, as settled: its sidecars follow it
    for row in rows:
        if row.state is FileState.PENDING:
            state, moved_to, info_file, detail = _settle(batch, row, photo)
            store.settle_file(row.row_id, state, moved_to, info_file, detail)
            row = dataclasses.replace(row, state=state, moved_to=moved_to or row.moved_to)
        if not is_sidecar(row.path):
            photo = row
    return rows


def close_batch(store: HashStore, batch_id: int) -> None:
    """The user chose (put back or keep): the batch is no longer reported as interrupted."""
    store.finish_batch(batch_id)


_NOT_REACHED = "not moved: the batch stopped before this file"
_LOST_TRACK = "not at its place, and not found where it was being moved to"


def _settle(
    batch: JournalBatch, row: JournalFile, photo: JournalFile | None
) -> tuple[FileState, Path | None, Path | None, str]:
    """(state, moved_to, info_file, detail) of a file left pending by an interrupted batch.

    ``photo`` is the row before (settled), whose sidecar ``row`` may be.
    """
    if batch.kind == "restore":
        is_back = os.path.lexists(row.path) and not (
            row.moved_to is not None and os.path.lexists(row.moved_to)
        )
        if is_back:
            return FileState.DONE, row.moved_to, row.info_file, ""
        return FileState.SKIPPED, row.moved_to, row.info_file, "not put back"
    if _is_still_at_place(row):
        return FileState.SKIPPED, None, None, _NOT_REACHED
    if batch.kind == "trash":
        found = _find_in_trash(row)
    else:
        found = _find_in_folder(row, batch.destination, photo)
    if found is None:
        return FileState.FAILED, None, None, _LOST_TRACK
    return FileState.DONE, found[0], found[1], ""


def _is_still_at_place(row: JournalFile) -> bool:
    try:
        st = os.lstat(row.path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and (st.st_size, st.st_mtime_ns) == (row.size, row.mtime_ns)


def _find_in_trash(row: JournalFile) -> tuple[Path, Path | None] | None:
    if not is_freedesktop():
        return None  # TODO: look in the macOS / Windows Trash; for now the file is reported
    # The file is gone, its folder is not: same drive, so the same Trash folders.
    locations = trash_locations(row.path.parent)
    # HACK: no inode to match (the file was never stat-ed by this process); -1 matches none,
    # so find_trashed picks the newest entry for this path and size. The content check decides.
    unknown = os.stat_result((0, -1, -1, 0, 0, 0, row.size, 0, 0, 0))
    entry = find_trashed(row.path, locations, unknown)
    if entry is None or not _has_content(entry.trashed_as, row):
        return None
    return entry.trashed_as, entry.info_file


def _find_in_folder(
    row: JournalFile, folder: Path | None, photo: JournalFile | None
) -> tuple[Path, Path | None] | None:
    if folder is None:
        return None
    if (
        photo is not None
        and photo.state is FileState.DONE
        and photo.moved_to is not None
        and belongs_to(row.path, photo.path)
    ):
        # move_files first tries the name that pairs the sidecar with its renamed photo.
        paired = folder / paired_name(row.path, photo.path, photo.moved_to)
        if _has_content(paired, row):
            return paired, None
    # move_files takes the first free name in this sequence, so ours is before the first gap.
    for candidate in moved_names(row.path, folder):
        if not os.path.lexists(candidate):
            return None
        if _has_content(candidate, row):
            return candidate, None
    return None


def _has_content(path: Path, row: JournalFile) -> bool:
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size != row.size:
            return False
        return row.content_hash is None or file_content_hash(path) == row.content_hash
    except OSError:
        return False
