"""Finds where send2trash put a file in a freedesktop.org Trash, so it can be restored. No Qt.

Mirrors send2trash's own choice of Trash folder and entry name (``send2trash/plat_other.py``),
and also the names GLib's ``g_file_trash`` uses, since send2trash prefers GIO when PyGObject is
installed. Spec: https://specifications.freedesktop.org/trash-spec/trashspec-latest.html
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

_INFO_SUFFIX = ".trashinfo"
# A runaway guard: nobody has ten thousand trashed files of the same name.
_MAX_PROBES = 10_000


@dataclass(frozen=True, slots=True)
class TrashLocation:
    """One Trash folder a file may go to, and the folder its ``Path=`` entries are relative to."""

    trash_dir: Path
    topdir: Path


@dataclass(frozen=True, slots=True)
class TrashEntry:
    """A trashed file: its copy in ``Trash/files`` and its ``Trash/info`` description."""

    trashed_as: Path
    info_file: Path


@dataclass(frozen=True, slots=True)
class TrashInfo:
    """The parsed content of a ``.trashinfo`` file."""

    path: bytes  # percent-decoded; absolute, or relative to the Trash's topdir
    deletion_date: str  # "YYYY-MM-DDThh:mm:ss", compares correctly as text


def is_freedesktop() -> bool:
    """True where send2trash uses a freedesktop.org Trash (Linux, the BSDs), not macOS/Windows."""
    return sys.platform not in ("darwin", "win32", "cygwin")


def home_trash_location() -> TrashLocation:
    """The home Trash as send2trash computes it (it reads XDG_DATA_HOME once, at import)."""
    try:
        from send2trash import plat_other
    except (ImportError, AttributeError):  # pragma: no cover - only off freedesktop platforms
        data_home = os.path.expanduser(os.environb.get(b"XDG_DATA_HOME", b"~/.local/share"))
    else:
        data_home = plat_other.XDG_DATA_HOME
    return TrashLocation(Path(os.fsdecode(data_home)) / "Trash", Path(os.fsdecode(data_home)))


def trash_locations(path: Path) -> list[TrashLocation]:
    """Every Trash folder send2trash (or GIO) may move ``path`` to. Call it before trashing.

    The home Trash is always a candidate: send2trash falls back to it when moving across
    devices. Files on another device than the home folder go to ``$topdir/.Trash/$uid`` (if it
    is a real, sticky folder) or ``$topdir/.Trash-$uid``.
    """
    home = home_trash_location()
    locations = [home]
    try:
        path_dev = os.lstat(path).st_dev
        home_dev = os.lstat(os.path.realpath(os.path.expanduser("~"))).st_dev
    except OSError:
        return locations
    if path_dev != home_dev:
        topdir = _mount_point(path)
        uid = str(os.getuid())
        shared = topdir / ".Trash"
        if _is_sticky_real_dir(shared):
            locations.append(TrashLocation(shared / uid, topdir))
        locations.append(TrashLocation(topdir / f".Trash-{uid}", topdir))
    return locations


def topdir_of(info_file: Path) -> Path:
    """The folder that relative ``Path=`` entries in ``info_file`` are relative to."""
    trash_dir = info_file.parent.parent
    home = home_trash_location()
    if trash_dir == home.trash_dir:
        return home.topdir
    if trash_dir.parent.name == ".Trash":  # $topdir/.Trash/$uid
        return trash_dir.parent.parent
    return trash_dir.parent  # $topdir/.Trash-$uid


def find_trashed(
    original: Path, locations: list[TrashLocation], before: os.stat_result
) -> TrashEntry | None:
    """Finds the Trash entry just made for ``original``.

    Args:
        original: the path the file had before it was trashed.
        locations: from ``trash_locations(original)``, computed before trashing.
        before: ``os.lstat(original)`` taken just before trashing.

    Returns:
        The entry whose file is the very same inode (a same-device move), else the entry for
        this path and size with the newest DeletionDate (a copy across devices); None if none.
    """
    best: tuple[tuple[str, int], TrashEntry] | None = None
    for location in locations:
        for entry in _entries_named_like(original.name, location.trash_dir):
            try:
                st = os.lstat(entry.trashed_as)
                info = read_trash_info(entry.info_file)
                info_mtime_ns = os.stat(entry.info_file).st_mtime_ns
            except (OSError, ValueError):
                continue
            if not info_points_to(info, original, location.topdir):
                continue
            if (st.st_dev, st.st_ino) == (before.st_dev, before.st_ino):
                return entry
            # Same second, same path: the info file written last is the newest.
            rank = (info.deletion_date, info_mtime_ns)
            if st.st_size == before.st_size and (best is None or rank > best[0]):
                best = (rank, entry)
    return best[1] if best else None


def read_trash_info(info_file: Path) -> TrashInfo:
    """Parses a ``.trashinfo`` file.

    Raises:
        OSError: it cannot be read.
        ValueError: it is not a valid trash info file.
    """
    lines = Path(info_file).read_bytes().splitlines()
    if not lines or lines[0].strip() != b"[Trash Info]":
        raise ValueError(f"not a trash info file: {info_file!r}")
    values: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if line.startswith(b"["):
            break  # the spec allows later groups; only [Trash Info] is ours to read
        key, sep, value = line.partition(b"=")
        if sep:
            values.setdefault(key.strip(), value.strip())
    if b"Path" not in values:
        raise ValueError(f"trash info without Path: {info_file!r}")
    date = values.get(b"DeletionDate", b"").decode("ascii", "replace")
    return TrashInfo(unquote_to_bytes(values[b"Path"]), date)


def info_points_to(info: TrashInfo, original: Path, topdir: Path) -> bool:
    """True if the info's ``Path=`` names ``original`` (relative paths are against ``topdir``)."""
    recorded = info.path
    if not recorded.startswith(b"/"):
        recorded = os.path.join(os.fsencode(topdir), recorded)
    recorded = os.path.normpath(recorded)
    absolute = os.path.abspath(original)
    # send2trash may write the path relative to topdir as seen through resolved links.
    resolved = os.path.join(os.path.realpath(os.path.dirname(absolute)), original.name)
    return recorded in (os.fsencode(absolute), os.path.normpath(os.fsencode(resolved)))


def _entries_named_like(name: str, trash_dir: Path) -> Iterator[TrashEntry]:
    """Existing entries with the names send2trash or GIO would give a file called ``name``.

    Both take the first free name in a numbered sequence, so a run of taken names ending at the
    first free one holds the newest entry.
    """
    files_dir, info_dir = trash_dir / "files", trash_dir / "info"
    # Counter 0 is the plain name in both schemes: probe it once.
    for naming, first in ((_send2trash_name, 0), (_gio_name, 1)):
        for counter in range(first, _MAX_PROBES):
            entry_name = naming(name, counter)
            trashed_as = files_dir / entry_name
            info_file = info_dir / (entry_name + _INFO_SUFFIX)
            if not (os.path.lexists(trashed_as) or os.path.lexists(info_file)):
                break
            yield TrashEntry(trashed_as, info_file)


def _send2trash_name(name: str, counter: int) -> str:
    # plat_other.trash_move: "photo.jpg", "photo 1.jpg", "photo 2.jpg", ...
    if counter == 0:
        return name
    base, ext = os.path.splitext(name)
    return f"{base} {counter}{ext}"


def _gio_name(name: str, counter: int) -> str:
    # GLib get_unique_filename(): "photo.jpg", "photo.2.jpg", "photo.3.jpg"; split at FIRST dot.
    if counter == 0:
        return name
    number = counter + 1
    stem, dot, rest = name.partition(".")
    return f"{stem}.{number}.{rest}" if dot else f"{name}.{number}"


def _mount_point(path: Path) -> Path:
    # As send2trash's find_mount_point: resolve links, then climb until a mount point.
    current = os.path.realpath(path)
    while not os.path.ismount(current):
        current = os.path.dirname(current)
    return Path(current)


def _is_sticky_real_dir(path: Path) -> bool:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode) and bool(mode & stat.S_ISVTX)
