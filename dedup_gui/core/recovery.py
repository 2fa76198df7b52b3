"""Open the store; a damaged database is moved aside and a fresh one started. No Qt."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from dedup_gui.core.errors import StoreError
from dedup_gui.core.export import path_text
from dedup_gui.core.store import HashStore, is_damage, open_store

log = logging.getLogger(__name__)

# SQLite's companions of a database file: moved with it, or the new database would adopt them.
_COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def open_store_or_recover(path: Path) -> tuple[HashStore, str | None]:
    """Open the store at ``path``; if the file is damaged, move it aside and start afresh.

    Damaged means SQLite calls the file corrupt or "not a database", on opening or in its quick
    check. The file (with its -wal/-shm) is renamed to ``NAME.broken-YYYYmmdd-HHMMSS`` next to
    it, never deleted: it may still hold decisions someone wants to rescue.

    Returns:
        The store, and None, or a plain message for the user saying what was moved where.

    Raises:
        StoreTooNew: a newer dedup-gui wrote the file; it is left untouched.
        StoreError: any other reason the database cannot be used (permission, disk full, in
            use...), or a damaged file that could not be moved aside.
    """
    damage = _open_or_diagnose(path)
    if isinstance(damage, HashStore):
        return damage, None
    moved_to = _move_aside(path, damage)
    store = open_store(path)
    message = (
        f"The database {path_text(path)} {damage}, so dedup-gui started a new, empty one; "
        f"the old file was moved to {path_text(moved_to)}. "
        "Photos will be hashed again on the next scan."
    )
    log.warning("%s", message)
    return store, message


def _open_or_diagnose(path: Path) -> HashStore | str:
    """The opened store if it is sound, else what is wrong with the file, in plain words."""
    try:
        store = open_store(path)  # StoreTooNew and other errors that are not damage: raised
    except StoreError as exc:
        if not is_damage(exc):
            raise
        log.warning("cannot open %s: %r", path, exc.__cause__)
        return _plain_damage(exc)
    try:
        problems = store.quick_check()
    except StoreError as exc:
        store.close()
        if not is_damage(exc):
            raise
        log.warning("quick_check of %s failed: %r", path, exc.__cause__)
        return _plain_damage(exc)
    if not problems:
        return store
    store.close()
    log.warning("quick_check of %s found: %s", path, "; ".join(problems[:10]))
    return "is damaged"


def _plain_damage(exc: StoreError) -> str:
    return "is not a database file" if "not a database" in str(exc) else "is damaged"


def _move_aside(path: Path, damage: str) -> Path:
    """Rename ``path`` and its companions to a free ``NAME.broken-<time>[-N]``; returns it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    number = 1
    # Two recoveries within a second (or a clock set back) must not overwrite an earlier copy.
    while any(_exists(Path(f"{target}{s}")) for s in ("", *_COMPANION_SUFFIXES)):
        number += 1
        target = path.with_name(f"{path.name}.broken-{stamp}-{number}")
    try:
        os.rename(path, target)
        for suffix in _COMPANION_SUFFIXES:
            companion = Path(f"{path}{suffix}")
            if _exists(companion):
                os.rename(companion, f"{target}{suffix}")
    except OSError as exc:
        raise StoreError(
            f"The database {path_text(path)} {damage} and could not be moved aside "
            f"({exc.strerror or exc}). Move or delete it, then try again."
        ) from exc
    return target


def _exists(path: Path) -> bool:
    return os.path.lexists(path)  # a dangling symlink still occupies the name
