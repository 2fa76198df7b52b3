"""What trashing, moving and restoring did: the records their reports are made of. No Qt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dedup_gui.core.model import Problem


@dataclass(frozen=True, slots=True)
class TrashedFile:
    """A file ``actions`` moved away, and where to, so it can be put back."""

    original: Path
    size: int
    trashed_as: Path | None  # the file inside the Trash (Trash/files/NAME), or the moved-to path
    info_file: Path | None  # its Trash/info/NAME.trashinfo; None for move_files or if not found
    sidecars: tuple[TrashedFile, ...] = ()  # its .xmp sidecars that went along; restored with it


@dataclass(frozen=True, slots=True)
class ActionReport:
    """What a trash or move did. ``done`` and ``failed`` are photos; sidecars are counted apart."""

    done: tuple[TrashedFile, ...]
    failed: tuple[Problem, ...]
    cancelled: bool = False
    # Sidecars that stayed behind although their photo moved (changed, or refused by the Trash).
    sidecars_failed: tuple[Problem, ...] = ()

    @property
    def bytes_done(self) -> int:
        """Bytes of the photos moved (their sidecars not counted)."""
        return sum(f.size for f in self.done)

    @property
    def sidecars_done(self) -> tuple[TrashedFile, ...]:
        """The sidecars that went along with the photos in ``done``."""
        return tuple(s for f in self.done for s in f.sidecars)


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore did. ``restored`` and ``failed`` are photos; sidecars are counted apart."""

    restored: tuple[Path, ...]
    failed: tuple[Problem, ...]
    cancelled: bool = False
    sidecars_restored: tuple[Path, ...] = ()
    sidecars_failed: tuple[Problem, ...] = ()  # left away although their photo came back


Note = Callable[[Path, TrashedFile | Path | Problem], None]  # journals one file's outcome
