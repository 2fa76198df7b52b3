"""Sends scanned files to the Trash (or a folder) once they prove unchanged, and back. No Qt.

Nothing here deletes a photo: a file that cannot go to the Trash stays where it is. The records
are ``action_records``'s, the no-overwrite moves ``file_moves``'s, sidecars ``sidecar_moves``'s.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import send2trash

# "X as X": re-exported; journal, ui, cli and tests import these from here.
from dedup_gui.core.action_records import ActionReport as ActionReport
from dedup_gui.core.action_records import Note
from dedup_gui.core.action_records import RestoreReport as RestoreReport
from dedup_gui.core.action_records import TrashedFile as TrashedFile
from dedup_gui.core.cancel import CancelToken, NeverCancelled, ProgressThrottle
from dedup_gui.core.decisions import is_protected
from dedup_gui.core.digest import file_content_hash
from dedup_gui.core.file_moves import (
    error_kind,
    move_no_overwrite,
    move_to_first_free,
    plain_error,
)
from dedup_gui.core.file_moves import moved_names as moved_names
from dedup_gui.core.formatting import display_name, display_path
from dedup_gui.core.freedesktop_trash import (
    find_trashed,
    info_points_to,
    is_freedesktop,
    read_trash_info,
    topdir_of,
    trash_locations,
)
from dedup_gui.core.model import ImageRecord, Problem, ProblemKind
from dedup_gui.core.sidecar_moves import (
    STAYS_AWAY,
    SidecarMoves,
    move_sidecar_to,
    quiet_problem,
    trash_sidecar,
)
from dedup_gui.core.sidecars import Sidecar, plan_sidecars

if TYPE_CHECKING:  # journal.py builds on this module; only its types are needed here
    from dedup_gui.core.journal import BatchKind, Journal

log = logging.getLogger(__name__)

CHANGED = "changed since the scan, not moved"
TRASH_UNAVAILABLE = "the Trash cannot be used on this drive; use Move to folder instead"
_PROTECTED = "in a protected folder, which is never changed"
_OCCUPIED = "another file now has this name; the moved copy was left where it is"


def _ignore(done: int, total: int) -> None:
    """The null progress callback."""


Item = TypeVar("Item", ImageRecord, TrashedFile)  # what a batch works through
R = TypeVar("R", TrashedFile, Path)  # what it makes of one item that worked


def trash_files(
    records: Sequence[ImageRecord],
    *,
    protected_roots: Sequence[Path] = (),
    progress: Callable[[int, int], None] = _ignore,
    cancel: CancelToken = NeverCancelled(),  # noqa: B008 - immutable null object
    journal: Journal | None = None,
) -> ActionReport:
    """Sends each file to the Trash if it is still exactly the file that was scanned.

    A file that changed, vanished, is a symbolic link or lies under a protected root is left
    alone and reported; so is one the Trash refuses (there is no fallback to deleting). Its
    .xmp sidecars go along (see ``sidecars.plan_sidecars``), each in ``TrashedFile.sidecars``.

    Args:
        records: the files to trash, as scanned.
        protected_roots: reference folders; nothing under them is touched.
        progress: called with (files handled, total), throttled.
        cancel: checked between files; a cancelled report holds what was done until then.
        journal: told about the batch (sidecars too) before the first file moves and after each.
    """
    sidecars = SidecarMoves(plan_sidecars([r.path for r in records]), trash_sidecar, "the Trash")

    def one(record: ImageRecord, note: Note) -> TrashedFile | Problem:
        checked = _verify(record, protected_roots)
        outcome = checked if isinstance(checked, Problem) else _trash_one(record, checked)
        note(record.path, outcome)
        return sidecars.follow(record, outcome, note)

    done, failed, cancelled = _run_batch(
        records, one, progress, cancel, journal, "trash", rows=sidecars.rows(records)
    )
    log.info("trashed %d files, %d failed, cancelled=%s", len(done), len(failed), cancelled)
    return ActionReport(tuple(done), tuple(failed), cancelled, tuple(sidecars.failed))


def move_files(
    records: Sequence[ImageRecord],
    destination: Path,
    *,
    protected_roots: Sequence[Path] = (),
    progress: Callable[[int, int], None] = _ignore,
    cancel: CancelToken = NeverCancelled(),  # noqa: B008 - immutable null object
    journal: Journal | None = None,
) -> ActionReport:
    """Moves each unchanged file into ``destination``: the fallback where the Trash can't be used.

    Same checks as ``trash_files``, sidecars included. Names stay unique (``name (2).jpg``, and
    its sidecar ``name (2).jpg.xmp``); nothing is ever overwritten. ``TrashedFile.trashed_as``
    is the new path, so ``restore_files`` can undo it.
    """
    unusable: Problem | None = None
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("cannot create %r: %s", destination, exc)
        reason = (
            f"the folder to move into cannot be created ({plain_error(exc)}); nothing was moved"
        )
        unusable = Problem(destination, error_kind(exc), reason)

    sidecars = SidecarMoves(
        plan_sidecars([r.path for r in records]),
        move_sidecar_to(destination),
        display_path(destination),
    )

    def one(record: ImageRecord, note: Note) -> TrashedFile | Problem:
        outcome = _move_one(record, destination, protected_roots, unusable)
        note(record.path, outcome)
        return sidecars.follow(record, outcome, note)

    done, failed, cancelled = _run_batch(
        records, one, progress, cancel, journal, "move", destination, rows=sidecars.rows(records)
    )
    return ActionReport(tuple(done), tuple(failed), cancelled, tuple(sidecars.failed))


def _move_one(
    record: ImageRecord,
    destination: Path,
    protected_roots: Sequence[Path],
    unusable: Problem | None,
) -> TrashedFile | Problem:
    if unusable is not None:  # still one outcome per file, so the journal has them all
        return Problem(record.path, unusable.kind, unusable.detail)
    checked = _verify(record, protected_roots)
    if isinstance(checked, Problem):
        return checked
    try:
        target = move_to_first_free(record.path, moved_names(record.path, destination))
    except OSError as exc:
        log.warning("cannot move %r: %s", record.path, exc)
        return Problem(record.path, error_kind(exc), f"could not be moved ({plain_error(exc)})")
    return TrashedFile(record.path, record.size, target, None)


def restore_files(
    files: Sequence[TrashedFile],
    *,
    progress: Callable[[int, int], None] = _ignore,
    cancel: CancelToken = NeverCancelled(),  # noqa: B008 - immutable null object
    journal: Journal | None = None,
) -> RestoreReport:
    """Puts trashed or moved files back where they were, never over an existing file.

    A removed parent folder is recreated; the ``.trashinfo`` is deleted once the file is back.
    Each file's sidecars come back after it, to their exact names; not if the file stays away.
    """
    sidecars_restored: list[Path] = []
    sidecars_failed: list[Problem] = []

    def one(item: TrashedFile, note: Note) -> Path | Problem:
        outcome = _restore_one(item)
        note(item.original, outcome)
        for sidecar in item.sidecars:
            back = _restore_one(sidecar) if isinstance(outcome, Path) else None
            if back is None:  # journaled only: the photo's own problem says it all
                note(sidecar.original, quiet_problem(sidecar.original, STAYS_AWAY))
                continue
            note(sidecar.original, back)
            if isinstance(back, Path):
                sidecars_restored.append(back)
            else:
                name = display_name(sidecar.original)
                detail = f"sidecar {name} was not put back: {back.detail}"
                sidecars_failed.append(Problem(back.path, back.kind, detail))
        return outcome

    rows = [row for item in files for row in (item, *item.sidecars)]
    restored, failed, cancelled = _run_batch(
        files, one, progress, cancel, journal, "restore", rows=rows
    )
    log.info("restored %d files, %d failed, cancelled=%s", len(restored), len(failed), cancelled)
    return RestoreReport(
        tuple(restored), tuple(failed), cancelled, tuple(sidecars_restored), tuple(sidecars_failed)
    )


def _run_batch(
    items: Sequence[Item],
    one: Callable[[Item, Note], R | Problem],
    progress: Callable[[int, int], None],
    cancel: CancelToken,
    journal: Journal | None,
    kind: BatchKind,
    destination: Path | None = None,
    *,
    rows: Sequence[ImageRecord | TrashedFile | Sidecar],
) -> tuple[list[R], list[Problem], bool]:
    """Works through ``items``; ``one`` handles an item and tells ``note`` each file's outcome.

    ``rows`` are the files the journal expects: the items, each followed by its sidecars.
    """
    # Written before the first move: a crash from here on leaves a batch to check at start.
    batch_id = journal.begin(kind, rows, destination) if journal is not None else 0

    def note(path: Path, outcome: TrashedFile | Path | Problem) -> None:
        if journal is not None:
            journal.record(batch_id, path, outcome)

    done: list[R] = []
    failed: list[Problem] = []
    cancelled = False
    total = len(items)
    throttled = ProgressThrottle[tuple[int, int]](lambda counts: progress(*counts))
    throttled((0, total), force=True)
    for index, item in enumerate(items):
        if cancel.is_cancelled:
            cancelled = True
            break
        outcome = one(item, note)
        if isinstance(outcome, Problem):
            failed.append(outcome)
        else:
            done.append(outcome)
        throttled((index + 1, total), force=index + 1 == total)
    # Not in a finally: a batch cut short by an exception stays open, to be checked at start.
    if journal is not None:
        journal.finish(batch_id)
    return done, failed, cancelled


def _verify(record: ImageRecord, protected_roots: Sequence[Path]) -> os.stat_result | Problem:
    """The file's lstat if it is still the scanned file and may be moved, else why not."""
    path = record.path
    if _is_protected(path, protected_roots):
        return Problem(path, ProblemKind.PROTECTED, _PROTECTED)
    try:
        # lstat: the record's path is what was scanned; never act on whatever a link points at.
        st = os.lstat(path)
    except FileNotFoundError:
        return Problem(path, ProblemKind.VANISHED, "no longer there; nothing was moved")
    except OSError as exc:
        return Problem(path, error_kind(exc), f"cannot be checked ({plain_error(exc)}); not moved")
    if stat.S_ISLNK(st.st_mode):
        reason = "is a shortcut (symbolic link) to another file; not moved"
        return Problem(path, ProblemKind.UNSUPPORTED, reason)
    unchanged = (st.st_size, st.st_mtime_ns) == (record.size, record.mtime_ns)
    if not (stat.S_ISREG(st.st_mode) and unchanged):
        return Problem(path, ProblemKind.VANISHED, CHANGED)
    try:
        digest = file_content_hash(path)
    except OSError as exc:
        return Problem(path, error_kind(exc), f"cannot be read ({plain_error(exc)}); not moved")
    if digest != record.content_hash:
        return Problem(path, ProblemKind.VANISHED, CHANGED)
    return st


def _is_protected(path: Path, protected_roots: Sequence[Path]) -> bool:
    if is_protected(path, protected_roots):
        return True
    # Also through links: a folder link may lead from elsewhere into a reference folder.
    real_roots = [Path(os.path.realpath(root)) for root in protected_roots]
    return bool(real_roots) and is_protected(Path(os.path.realpath(path)), real_roots)


def _trash_one(record: ImageRecord, before: os.stat_result) -> TrashedFile | Problem:
    path = record.path
    # Where it may land must be worked out while the file is still in place.
    locations = trash_locations(path) if is_freedesktop() else []
    try:
        send2trash.send2trash(path)
    except OSError as exc:
        log.warning("send2trash refused %r: %s", path, exc)
        return _trash_problem(path, exc)
    entry = find_trashed(path, locations, before) if locations else None
    if entry is None and locations:
        log.warning("trashed %r but could not find it in the Trash; undo is not possible", path)
    return TrashedFile(
        path, record.size, entry.trashed_as if entry else None, entry.info_file if entry else None
    )


def _trash_problem(path: Path, exc: OSError) -> Problem:
    if isinstance(exc, send2trash.TrashPermissionError):
        return Problem(path, ProblemKind.UNSUPPORTED, TRASH_UNAVAILABLE)
    if exc.errno == errno.ENOENT:
        return Problem(path, ProblemKind.VANISHED, "no longer there; nothing was moved")
    if exc.errno in (errno.EACCES, errno.EPERM):
        reason = "no permission to move this file; it was left where it is"
        return Problem(path, ProblemKind.PERMISSION, reason)
    return Problem(path, ProblemKind.UNSUPPORTED, TRASH_UNAVAILABLE)


def _restore_one(item: TrashedFile) -> Path | Problem:
    original, source = item.original, item.trashed_as
    if source is None:
        reason = "where it went is unknown; restore it from the Trash by hand"
        return Problem(original, ProblemKind.UNREADABLE, reason)
    mismatch = _entry_mismatch(item, source)
    if mismatch is not None:
        return Problem(original, ProblemKind.VANISHED, mismatch)
    if os.path.lexists(original):
        return Problem(original, ProblemKind.ALREADY_EXISTS, _OCCUPIED)
    try:
        original.parent.mkdir(parents=True, exist_ok=True)
        move_no_overwrite(source, original)
    except FileExistsError:
        return Problem(original, ProblemKind.ALREADY_EXISTS, _OCCUPIED)
    except OSError as exc:
        log.warning("cannot restore %r from %r: %s", original, source, exc)
        return Problem(original, error_kind(exc), f"could not be put back ({plain_error(exc)})")
    if item.info_file is not None:
        try:
            item.info_file.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # the file is back; a stale entry only clutters the Trash
            log.warning("restored %r but could not remove %r: %s", original, item.info_file, exc)
    return original


def _entry_mismatch(item: TrashedFile, source: Path) -> str | None:
    """Why ``source`` is not (or no longer) the file that was moved away, or None if it is."""
    try:
        st = os.lstat(source)
    except FileNotFoundError:
        return "no longer in the Trash or the folder it was moved to; nothing was put back"
    except OSError as exc:
        return f"cannot be reached ({plain_error(exc)}); nothing was put back"
    if not stat.S_ISREG(st.st_mode) or st.st_size != item.size:
        return "the copy found is not the one that was moved; restore it by hand"
    if item.info_file is None:
        return None
    try:
        info = read_trash_info(item.info_file)
    except (OSError, ValueError):
        return "its Trash entry is missing or damaged; restore it from the Trash by hand"
    if not info_points_to(info, item.original, topdir_of(item.info_file)):
        return "its Trash entry now belongs to another file; restore it from the Trash by hand"
    return None
