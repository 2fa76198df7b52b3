"""Plain-words text for sizes, durations and how a photo relates to its group. No Qt."""

from __future__ import annotations

import math
import os
from pathlib import Path

from dedup_gui.core.errors import DedupError
from dedup_gui.core.model import GroupMember, Relation

# Decimal units, as GNOME Files, KDE Dolphin and macOS Finder show them; a user comparing our
# "1.4 GB" with their file manager should see the same number.
_UNITS = ("kB", "MB", "GB", "TB", "PB")


def human_size(num_bytes: int) -> str:
    """A byte count as people read it: "0 bytes", "1 byte", "512 bytes", "1.4 MB", "230 GB".

    One decimal under 100 of a unit, none above (precision nobody needs only adds noise).
    """
    if num_bytes < 0:
        return "-" + human_size(-num_bytes)
    if num_bytes < 1000:
        return "1 byte" if num_bytes == 1 else f"{num_bytes} bytes"
    value = float(num_bytes)
    for unit in _UNITS:
        value /= 1000
        text = f"{value:.1f}" if value < 99.95 else f"{value:.0f}"
        # 999,999 bytes round to "1000 kB": carry on to the next unit instead.
        if float(text) < 1000 or unit == _UNITS[-1]:
            return f"{text} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def human_duration(seconds: float) -> str:
    """A duration for progress and ETA text: "under 1 s", "45 s", "3 min 20 s", "2 h 05 min".

    Infinite or NaN (an ETA not yet estimable) gives "unknown".
    """
    if not math.isfinite(seconds):
        return "unknown"
    if seconds < 1:
        return "under 1 s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def similarity_percent(distance: int, hash_bits: int) -> int:
    """How alike two hashes are, 0-100: the share of equal bits, rounded down.

    Rounded down so that only a distance of 0 reads "100 %": users take 100 % literally.
    """
    if hash_bits <= 0:
        return 100 if distance == 0 else 0
    share = max(0.0, 1.0 - distance / hash_bits)
    return math.floor(share * 100)


def describe_relation(member: GroupMember, hash_bits: int) -> str:
    """How a group member relates to the group's reference, in plain words.

    Args:
        member: the member to describe.
        hash_bits: bits in one perceptual hash (64 for an 8x8 pHash), to turn the Hamming
            distance into a percentage.

    Returns:
        "best copy", "exact copy", "same pixels", or e.g. "98 % similar (distance 1)".
    """
    if member.relation is Relation.REFERENCE:
        return "best copy"
    if member.relation is Relation.EXACT:
        return "exact copy"
    if member.relation is Relation.SAME_PIXELS:
        return "same pixels"
    if member.distance == 0:
        return "looks identical (distance 0)"
    percent = similarity_percent(member.distance, hash_bits)
    return f"{percent} % similar (distance {member.distance})"


def human_dimensions(width: int, height: int) -> str:
    """Pixel size as "4000 × 3000"; "?" when unknown (0)."""
    if width <= 0 or height <= 0:
        return "?"
    return f"{width} × {height}"


def human_count(count: int, singular: str, plural: str | None = None) -> str:
    """A count with its noun: "1 photo", "2 photos", "12,345 photos"."""
    word = singular if count == 1 else (plural or singular + "s")
    return f"{count:,} {word}"


# Control characters (a newline in a file name is legal on Linux) would break one-line labels.
_CONTROL = {c: "\ufffd" for c in [*range(0x20), 0x7F]}


def display_path(path: Path) -> str:
    """A path as text to show: undecodable bytes and control characters become U+FFFD.

    ``os.fsdecode`` keeps undecodable bytes as lone surrogates, which Qt cannot display (and
    PySide may refuse); this is the one place they are turned into something showable.
    """
    return os.fsencode(path).decode("utf-8", errors="replace").translate(_CONTROL)


def display_name(path: Path) -> str:
    """The last part of ``path``, as ``display_path`` shows it."""
    return display_path(Path(path.name)) if path.name else display_path(path)


def describe_error(exc: BaseException) -> str:
    """Plain words for an error that ended a background job, for a status line or dialog.

    Our own errors already carry a message for the user; an OSError names its reason and file;
    anything else is a bug, said as such (the caller logs the traceback).
    """
    if isinstance(exc, DedupError):
        return str(exc)
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc.filename, (str, bytes)):
            return f"{reason}: {display_path(Path(os.fsdecode(exc.filename)))}"
        return reason
    return f"An unexpected error stopped the work ({type(exc).__name__}: {exc}). This is a bug."
