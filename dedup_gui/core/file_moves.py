"""Moves a file to a free name, never over another file, and words OS errors plainly. No Qt."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from dedup_gui.core.model import ProblemKind

_COPY_CHUNK_BYTES = 1 << 20
_MAX_NAME_TRIES = 10_000


def moved_names(source: Path, folder: Path) -> Iterator[Path]:
    """The names ``move_files`` tries for ``source`` in ``folder``, in order: NAME, "NAME (2)"..."""
    stem, suffix = source.stem, source.suffix
    for number in range(1, _MAX_NAME_TRIES + 1):
        yield folder / (source.name if number == 1 else f"{stem} ({number}){suffix}")


def move_to_first_free(source: Path, names: Iterable[Path]) -> Path:
    """Moves ``source`` to the first of ``names`` that is free; never over a file."""
    for target in names:
        try:
            move_no_overwrite(source, target)
        except FileExistsError:
            continue
        return target
    raise FileExistsError(errno.EEXIST, "no free name in the folder", str(source.parent))


def move_no_overwrite(source: Path, target: Path) -> None:
    """Moves a regular file; raises FileExistsError rather than replace anything at ``target``.

    A hard link then unlink is atomic in refusing an existing target, which rename() is not.
    """
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "already exists", str(target))
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_then_remove(source, target)
            return
        # No hard links on this filesystem (FAT, exFAT, many network shares).
        # HACK: a file created at target between the check above and this rename would be
        # replaced; there is no portable no-replace rename in the standard library.
        os.rename(source, target)
        return
    try:
        os.unlink(source)
    except OSError:
        os.unlink(target)  # undo the link: the file stays where it was, once
        raise


def _copy_then_remove(source: Path, target: Path) -> None:
    """Moves across devices: copy to a new file (never an existing one), sync, then remove."""
    created = False
    try:
        with open(source, "rb") as src, open(target, "xb") as dst:
            created = True
            while chunk := src.read(_COPY_CHUNK_BYTES):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        os.utime(target, ns=(os.stat(source).st_atime_ns, os.stat(source).st_mtime_ns))
        if os.stat(target).st_size != os.stat(source).st_size:
            raise OSError(errno.EIO, "the copy is incomplete", str(target))
    except BaseException:
        if created:
            target.unlink(missing_ok=True)
        raise
    os.unlink(source)


def error_kind(exc: OSError) -> ProblemKind:
    """The Problem kind an OSError makes of a file."""
    if isinstance(exc, PermissionError):
        return ProblemKind.PERMISSION
    if isinstance(exc, FileNotFoundError):
        return ProblemKind.VANISHED
    if isinstance(exc, FileExistsError):
        return ProblemKind.ALREADY_EXISTS
    return ProblemKind.UNREADABLE


def plain_error(exc: OSError) -> str:
    """The OS's own short words for an error ("Permission denied"), never a path."""
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return "unexpected error"
