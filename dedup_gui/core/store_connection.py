"""SQLite plumbing the store modules share: transactions, plain errors, path blobs. No Qt."""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from dedup_gui.core.errors import StoreError, StoreTooNew

# Primary SQLite result codes caused by the machine, not by our code, in plain words.
_ENVIRONMENT_REASONS = {
    3: "permission denied",  # SQLITE_PERM
    5: "it is in use by another program (try again once that has finished)",  # SQLITE_BUSY
    6: "it is in use by another program (try again once that has finished)",  # SQLITE_LOCKED
    7: "not enough memory",  # SQLITE_NOMEM
    8: "the file is read-only",  # SQLITE_READONLY
    10: "the disk could not be read or written",  # SQLITE_IOERR
    11: "the file is damaged",  # SQLITE_CORRUPT
    13: "the disk is full",  # SQLITE_FULL
    14: "the file cannot be opened",  # SQLITE_CANTOPEN
    15: "the file is locked in an unsupported way (is it on a network drive?)",  # SQLITE_PROTOCOL
    26: "the file is not a database",  # SQLITE_NOTADB
}

# SQLITE_CORRUPT and SQLITE_NOTADB: the file itself is bad, as opposed to the disk or a lock.
_DAMAGE_CODES = frozenset({11, 26})
_DAMAGE_WORDS = ("malformed", "not a database")  # the same, for Python < 3.11 (no error codes)

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound="StoreConnection")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the body as one write transaction: committed on success, rolled back on any exception.

    BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so a transaction
    never fails half-way for lack of it. Inside another transaction this becomes a savepoint, so
    callers can group several store calls into one commit.
    """
    if conn.in_transaction:
        conn.execute("SAVEPOINT nested")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                conn.execute("ROLLBACK TO nested")
                conn.execute("RELEASE nested")
            raise
        conn.execute("RELEASE nested")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def is_damage(exc: StoreError) -> bool:
    """True if ``exc`` says the database file is damaged or not a database at all.

    Permission, lock, disk-full and too-new errors are not damage: moving the file aside
    would not help, and could lose a user's data.
    """
    cause = exc.__cause__
    if isinstance(exc, StoreTooNew) or not isinstance(cause, sqlite3.Error):
        return False
    code = getattr(cause, "sqlite_errorcode", None)
    if code is None:
        return any(words in str(cause) for words in _DAMAGE_WORDS)
    return code & 0xFF in _DAMAGE_CODES


@contextmanager
def plain_errors(path: Path) -> Iterator[None]:
    """Turn SQLite errors the machine caused into StoreError; let bugs (bad SQL...) through."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
        if code is None:
            is_environment = type(exc) in (sqlite3.OperationalError, sqlite3.DatabaseError)
            reason = str(exc) if is_environment else None
        else:
            reason = _ENVIRONMENT_REASONS.get(code & 0xFF)  # extended code -> primary code
        if reason is None:
            raise
        raise StoreError(f"Cannot use the database {path}: {reason}.") from exc


class StoreConnection:
    """One thread's connection to the library and the file it was opened from.

    The base of ``store.HashStore``: each store module adds the methods of its tables.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    def close(self) -> None:
        """Close the connection; calling it again does nothing."""
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several store calls into one commit (see module-level ``transaction``)."""
        with plain_errors(self.path), transaction(self._conn):
            yield


def guarded(method: Callable[Concatenate[C, P], R]) -> Callable[Concatenate[C, P], R]:
    """A store method whose SQLite errors the machine caused become ``StoreError``."""

    @functools.wraps(method)
    def wrapper(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with plain_errors(self.path):
            return method(self, *args, **kwargs)

    return wrapper


def path_blob(path: Path) -> bytes:
    """A path as stored: the bytes of ``os.fsencode`` (file names need not be valid UTF-8)."""
    return os.fsencode(str(path))


def blob_path(blob: bytes) -> Path:
    """The path a ``path_blob`` stored."""
    return Path(os.fsdecode(blob))


def optional_blob(path: Path | None) -> bytes | None:
    return None if path is None else path_blob(path)


def optional_path(blob: bytes | None) -> Path | None:
    return None if blob is None else blob_path(blob)
