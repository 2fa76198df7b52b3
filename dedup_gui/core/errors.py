"""Errors the engine raises. No Qt."""

from __future__ import annotations

from pathlib import Path


class DedupError(Exception):
    """Base of every error the engine raises on purpose (an environment problem, not a bug)."""


class StoreError(DedupError):
    """The database cannot be opened or used."""


class StoreTooNew(StoreError):
    """The database was written by a newer version of dedup-gui; we refuse to alter it."""

    def __init__(self, path: Path, found_version: int, supported_version: int) -> None:
        super().__init__(
            f"The database {path} was made by a newer version of dedup-gui "
            f"(schema {found_version}, this version knows up to {supported_version}). "
            "Update dedup-gui, or choose another database file."
        )
        self.path = path
        self.found_version = found_version
        self.supported_version = supported_version


class UnreadableImage(DedupError):
    """One file could not be read or decoded as an image.

    ``kind`` is a ``ProblemKind`` value; ``detail`` is a plain-words reason for the user.
    """

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail

    def __reduce__(self) -> tuple[type[UnreadableImage], tuple[str, str]]:
        # Keeps the exception picklable across the worker-process boundary.
        return (type(self), (self.kind, self.detail))
