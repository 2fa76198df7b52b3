"""Plain-words text for sizes, durations and relations."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from dedup_gui.core.errors import StoreError
from dedup_gui.core.formatting import (
    describe_error,
    describe_relation,
    display_name,
    display_path,
    human_count,
    human_dimensions,
    human_duration,
    human_size,
    similarity_percent,
)
from dedup_gui.core.model import GroupMember, ImageRecord, Relation


@pytest.mark.parametrize(
    ("num_bytes", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1.0 kB"),
        (1_450, "1.4 kB"),
        (99_949, "99.9 kB"),
        (99_950, "100 kB"),
        (999_499, "999 kB"),
        (999_999, "1.0 MB"),  # would be "1000 kB": carried to the next unit
        (1_400_000_000, "1.4 GB"),
        (230_000_000_000, "230 GB"),
        (5 * 10**15, "5.0 PB"),
        (5 * 10**18, "5000 PB"),
        (-2_500, "-2.5 kB"),
    ],
)
def test_human_size(num_bytes: int, text: str) -> None:
    assert human_size(num_bytes) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "under 1 s"),
        (0.4, "under 1 s"),
        (-3, "under 1 s"),
        (1.4, "1 s"),
        (45, "45 s"),
        (59.6, "1 min"),
        (200, "3 min 20 s"),
        (3600, "1 h 00 min"),
        (7_500, "2 h 05 min"),
        (math.inf, "unknown"),
        (math.nan, "unknown"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def _member(relation: Relation, distance: int) -> GroupMember:
    record = ImageRecord(Path("/p/a.jpg"), 10, 0, b"c" * 16, b"h" * 8, 4, 3, "JPEG", None)
    return GroupMember(record, relation, distance)


@pytest.mark.parametrize(
    ("relation", "distance", "text"),
    [
        (Relation.REFERENCE, 0, "best copy"),
        (Relation.EXACT, 0, "exact copy"),
        (Relation.SAME_PIXELS, 0, "same pixels"),
        (Relation.NEAR, 0, "looks identical (distance 0)"),
        (Relation.NEAR, 1, "98 % similar (distance 1)"),
        (Relation.NEAR, 8, "87 % similar (distance 8)"),
        (Relation.NEAR, 64, "0 % similar (distance 64)"),
    ],
)
def test_describe_relation(relation: Relation, distance: int, text: str) -> None:
    assert describe_relation(_member(relation, distance), 64) == text


def test_similarity_never_reads_100_unless_identical() -> None:
    assert similarity_percent(1, 256) == 99
    assert similarity_percent(0, 256) == 100
    assert similarity_percent(3, 0) == 0  # unknown bit count: no made-up percentage


def test_dimensions_and_counts() -> None:
    assert human_dimensions(4000, 3000) == "4000 × 3000"
    assert human_dimensions(0, 3000) == "?"
    assert human_count(1, "photo") == "1 photo"
    assert human_count(12_345, "photo") == "12,345 photos"
    assert human_count(2, "copy", "copies") == "2 copies"


def test_display_path_makes_undecodable_bytes_and_controls_showable() -> None:
    odd = Path(os.fsdecode(b"/photos/caf\xe9\nx.jpg"))
    assert display_path(odd) == "/photos/caf\ufffd\ufffdx.jpg"
    assert display_name(odd) == "caf\ufffd\ufffdx.jpg"
    assert display_name(Path("/")) == "/"
    assert display_path(Path("/ok/ü 📷.jpg")) == "/ok/ü 📷.jpg"


def test_describe_error() -> None:
    assert describe_error(StoreError("The database is damaged.")) == "The database is damaged."
    missing = FileNotFoundError(2, "No such file or directory", os.fsdecode(b"/x/caf\xe9"))
    assert describe_error(missing) == "No such file or directory: /x/caf\ufffd"
    assert describe_error(OSError(28, "No space left on device")) == "No space left on device"
    bug = describe_error(KeyError("k"))
    assert "KeyError" in bug and "bug" in bug
