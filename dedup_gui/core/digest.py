"""Content digests: the one definition of "same bytes" used by scanning and by actions. No Qt."""

from __future__ import annotations

import hashlib
from pathlib import Path

DIGEST_BYTES = 16  # BLAKE2b-128: collisions are out of reach for any photo library, and it is fast
_CHUNK_BYTES = 1 << 20


def content_hash(data: bytes) -> bytes:
    """Digest of bytes already in memory."""
    return hashlib.blake2b(data, digest_size=DIGEST_BYTES).digest()


def file_content_hash(path: Path) -> bytes:
    """Digest of a file's bytes, read in chunks so a 100 MB RAW does not sit in memory twice.

    Raises:
        OSError: the file cannot be read (vanished, permission denied, ...).
    """
    digest = hashlib.blake2b(digest_size=DIGEST_BYTES)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.digest()
