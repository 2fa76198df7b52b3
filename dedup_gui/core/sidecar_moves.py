"""Takes a photo's .xmp sidecars along after it moves (Trash or folder), checked first. No Qt.

Which sidecars belong to which photo is ``sidecars.plan_sidecars``'s; this module moves them.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import send2trash

from dedup_gui.core.action_records import Note, TrashedFile
from dedup_gui.core.file_moves import error_kind, move_to_first_free, moved_names, plain_error
from dedup_gui.core.formatting import display_name
from dedup_gui.core.freedesktop_trash import find_trashed, is_freedesktop, trash_locations
from dedup_gui.core.model import ImageRecord, Problem, ProblemKind
from dedup_gui.core.sidecars import Sidecar, paired_name

log = logging.getLogger(__name__)

# Sidecar outcomes journaled but not reported: nothing was left behind that the user must know of.
_STAYS_WITH_PHOTO = "not moved: it stays with its photo, which is still in the folder"
_SIDECAR_GONE = "no longer there; nothing was moved"
STAYS_AWAY = "not put back: its photo was not put back"
_QUIET = frozenset({_STAYS_WITH_PHOTO, _SIDECAR_GONE, STAYS_AWAY})

# Moves one checked sidecar (its lstat, its photo's outcome); raises OSError if it cannot.
SidecarMove = Callable[[Sidecar, os.stat_result, TrashedFile], Path | TrashedFile]


class SidecarMoves:
    """Moves one batch's planned sidecars after their photos, and keeps those that failed."""

    def __init__(
        self,
        plan: Mapping[Path, tuple[Sidecar, ...]],
        move: SidecarMove,
        where: str,
    ) -> None:
        self._plan, self._move, self._where = plan, move, where
        self.failed: list[Problem] = []  # for the user: the photo moved, its sidecar did not

    def rows(self, records: Sequence[ImageRecord]) -> list[ImageRecord | Sidecar]:
        """The journal's rows: each photo, then the sidecars that follow it."""
        rows: list[ImageRecord | Sidecar] = []
        for record in records:
            rows += (record, *self._plan.get(record.path, ()))
        return rows

    def follow(
        self, record: ImageRecord, outcome: TrashedFile | Problem, note: Note
    ) -> TrashedFile | Problem:
        """Moves the sidecars planned after ``record``; ``outcome`` with those that went."""
        went: list[TrashedFile] = []
        for sidecar in self._plan.get(record.path, ()):
            result = self._one(sidecar, outcome)
            note(sidecar.path, result)
            if isinstance(result, TrashedFile):
                went.append(result)
            elif result.detail not in _QUIET:
                self.failed.append(result)
        if went and isinstance(outcome, TrashedFile):
            return dataclasses.replace(outcome, sidecars=tuple(went))
        return outcome

    def _one(self, sidecar: Sidecar, image: TrashedFile | Problem) -> TrashedFile | Problem:
        path = sidecar.path
        if isinstance(image, Problem):
            return quiet_problem(path, _STAYS_WITH_PHOTO)
        # A shared "<stem>.xmp" stays while any photo of that stem is still in the folder.
        if any(os.path.lexists(owner) for owner in sidecar.owners):
            return quiet_problem(path, _STAYS_WITH_PHOTO)
        name, image_name = display_name(path), display_name(image.original)
        left = f"{image_name} is in {self._where}, the sidecar is still in its folder"
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return quiet_problem(path, _SIDECAR_GONE)
        except OSError as exc:
            detail = f"sidecar {name} cannot be checked ({plain_error(exc)}); {left}"
            return Problem(path, error_kind(exc), detail)
        if not stat.S_ISREG(st.st_mode) or (st.st_size, st.st_mtime_ns) != (
            sidecar.size,
            sidecar.mtime_ns,
        ):
            detail = f"sidecar {name} changed a moment ago, so it was not moved; {left}"
            return Problem(path, ProblemKind.VANISHED, detail)
        try:
            moved = self._move(sidecar, st, image)
        except OSError as exc:
            log.warning("cannot move sidecar %r: %s", path, exc)
            where = f"{self._where} ({plain_error(exc)})"
            reason = f"sidecar {name} could not be moved to {where}; {left}"
            return Problem(path, error_kind(exc), reason)
        if isinstance(moved, TrashedFile):
            return moved
        return TrashedFile(path, sidecar.size, moved, None)


def trash_sidecar(sidecar: Sidecar, before: os.stat_result, _: TrashedFile) -> TrashedFile:
    """Sends one sidecar to the Trash; raises OSError if the Trash refuses it."""
    locations = trash_locations(sidecar.path) if is_freedesktop() else []
    send2trash.send2trash(sidecar.path)
    entry = find_trashed(sidecar.path, locations, before) if locations else None
    if entry is None and locations:
        log.warning("trashed %r but could not find it in the Trash", sidecar.path)
    trashed_as, info_file = (entry.trashed_as, entry.info_file) if entry else (None, None)
    return TrashedFile(sidecar.path, sidecar.size, trashed_as, info_file)


def quiet_problem(path: Path, detail: str) -> Problem:
    """A sidecar outcome for the journal only (``detail`` in _QUIET): nothing to tell the user."""
    return Problem(path, ProblemKind.UNSUPPORTED, detail)


def move_sidecar_to(destination: Path) -> SidecarMove:
    """A ``SidecarMove`` into ``destination``; a free name, never over a file."""

    def move_sidecar(sidecar: Sidecar, _: os.stat_result, image: TrashedFile) -> Path:
        names = moved_names(sidecar.path, destination)
        if image.trashed_as is not None:  # first the name that pairs it with a renamed image
            paired = destination / paired_name(sidecar.path, image.original, image.trashed_as)
            names = itertools.chain([paired], names)
        return move_to_first_free(sidecar.path, names)

    return move_sidecar
