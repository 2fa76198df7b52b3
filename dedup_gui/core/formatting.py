"""Plain-words text for sizes, durations, photo facts and group relations. No Qt."""

from __future__ import annotations

import math
import os
from pathlib import Path

from dedup_gui.core.errors import DedupError
from dedup_gui.core.model import GroupMember, ImageRecord, PhotoFacts, Relation

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
        "best copy", "exact copy", "same pixels", "cropped or captioned copy",
        or e.g. "98 % similar (distance 1)".
    """
    if member.relation is Relation.REFERENCE:
        return "best copy"
    if member.relation is Relation.EXACT:
        return "exact copy"
    if member.relation is Relation.SAME_PIXELS:
        return "same pixels"
    if member.cropped:
        # Its distance is to a window of the other picture, not to the whole: no percentage.
        return "cropped or captioned copy"
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


# -- photo facts ----------------------------------------------------------------------------------
_FACT_SEPARATOR = " · "
# Cameras show times under 0.3 s as fractions (1/4, 1/250) and longer ones in seconds (0.3",
# 0.5", 2", 30"); photographers read them that way, so we do too.
_FRACTION_BELOW_S = 0.3


def format_exposure(facts: PhotoFacts) -> str | None:
    """Exposure as a photographer writes it: "1/250 s · f/2.8 · ISO 400 · 35 mm".

    Parts the file does not record are left out; None when it records none of them.
    """
    parts = []
    if facts.exposure_s is not None and facts.exposure_s > 0:
        parts.append(_shutter_speed(facts.exposure_s))
    if facts.f_number is not None and facts.f_number > 0:
        parts.append(f"f/{_photo_number(facts.f_number)}")
    if facts.iso is not None and facts.iso > 0:
        parts.append(f"ISO {facts.iso}")
    if facts.focal_mm is not None and facts.focal_mm > 0:
        parts.append(f"{_photo_number(facts.focal_mm)} mm")
    return _FACT_SEPARATOR.join(parts) or None


def _shutter_speed(seconds: float) -> str:
    """Shutter speed as cameras show it: "1/250 s", "1/4 s", "0.3 s", "2.5 s", "30 s", "4 min"."""
    if seconds < _FRACTION_BELOW_S:
        return f"1/{round(1 / seconds)} s"
    if seconds < 10:
        return f"{seconds:.1f}".removesuffix(".0") + " s"
    if seconds < 60:
        return f"{round(seconds)} s"
    return human_duration(seconds)


def _photo_number(value: float) -> str:
    """Two significant digits under 10 (f/2.8, f/0.95, 4.2 mm), whole numbers above (f/11)."""
    if value >= 9.95:
        return str(round(value))
    return f"{value:.2g}" if value >= 1 else f"{value:.2f}".rstrip("0").rstrip(".")


def format_camera(facts: PhotoFacts) -> str | None:
    """Camera and lens: "Canon EOS R5 · RF24-70mm F2.8 L IS USM"; None when neither is known."""
    return _FACT_SEPARATOR.join(p for p in (facts.camera, facts.lens) if p) or None


_STARS = 5


def format_rating(facts: PhotoFacts) -> str | None:
    """The photographer's rating and label: "★★★☆☆ · Red", "Rejected", "Select".

    0 means "not rated" in XMP, so it shows no stars; None when there is nothing to show.
    """
    parts = []
    if facts.rating is not None and facts.rating < 0:
        parts.append("Rejected")
    elif facts.rating:
        stars = min(facts.rating, _STARS)
        parts.append("★" * stars + "☆" * (_STARS - stars))
    if facts.label:
        parts.append(facts.label)
    return _FACT_SEPARATOR.join(parts) or None


def facts_lines(record: ImageRecord) -> list[str]:
    """The photo facts a member card shows under its file lines, most telling first.

    Camera and lens, then exposure, then one line of flags ("GPS · Display P3 · ★★★★☆").
    Lines with nothing to say are left out. The date is not repeated here: the card already
    shows it (with its oldest/newest highlight).
    """
    facts = record.facts
    flags = [
        "GPS" if facts.has_gps else None,
        facts.colour_profile,
        format_rating(facts) or ("XMP" if facts.has_xmp else None),
    ]
    lines = [
        format_camera(facts),
        format_exposure(facts),
        _FACT_SEPARATOR.join(f for f in flags if f) or None,
    ]
    return [line for line in lines if line]
