"""Plain-words text for sizes, durations, relations and photo facts."""

from __future__ import annotations

import dataclasses
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
    facts_lines,
    format_camera,
    format_exposure,
    format_rating,
    human_count,
    human_dimensions,
    human_duration,
    human_size,
    similarity_percent,
)
from dedup_gui.core.model import NO_FACTS, GroupMember, ImageRecord, PhotoFacts, Relation


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


def test_a_crop_is_described_without_a_percentage() -> None:
    member = dataclasses.replace(_member(Relation.NEAR, 2), cropped=True)
    assert describe_relation(member, 64) == "cropped or captioned copy"


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


@pytest.mark.parametrize(
    ("exposure_s", "text"),
    [
        (1 / 8000, "1/8000 s"),
        (0.004, "1/250 s"),
        (1 / 60, "1/60 s"),
        (0.25, "1/4 s"),
        (0.2999, "1/3 s"),
        (0.3, "0.3 s"),  # cameras switch from fractions to seconds here
        (1 / 3, "0.3 s"),
        (0.5, "0.5 s"),
        (1.0, "1 s"),
        (1.3, "1.3 s"),
        (2.5, "2.5 s"),
        (9.99, "10 s"),
        (30.0, "30 s"),
        (240.0, "4 min"),
        (150.0, "2 min 30 s"),
    ],
)
def test_format_exposure_shutter_speed(exposure_s: float, text: str) -> None:
    assert format_exposure(PhotoFacts(exposure_s=exposure_s)) == text


@pytest.mark.parametrize(
    ("facts", "text"),
    [
        (
            PhotoFacts(exposure_s=0.004, f_number=2.8, iso=400, focal_mm=35.0),
            "1/250 s · f/2.8 · ISO 400 · 35 mm",
        ),
        (PhotoFacts(f_number=0.95, focal_mm=4.25), "f/0.95 · 4.2 mm"),  # fast lens, phone
        (PhotoFacts(f_number=11.0, iso=12800, focal_mm=23.5), "f/11 · ISO 12800 · 24 mm"),
        (PhotoFacts(f_number=5.6, focal_mm=600.0), "f/5.6 · 600 mm"),
        (PhotoFacts(f_number=8.0), "f/8"),
        (PhotoFacts(f_number=9.96), "f/10"),
        (PhotoFacts(iso=0, exposure_s=0.0, f_number=-1.0), None),  # nonsense says nothing
        (NO_FACTS, None),
    ],
)
def test_format_exposure(facts: PhotoFacts, text: str | None) -> None:
    assert format_exposure(facts) == text


def test_format_camera() -> None:
    r5 = PhotoFacts(camera="Canon EOS R5", lens="RF24-70mm F2.8 L IS USM")
    assert format_camera(r5) == "Canon EOS R5 · RF24-70mm F2.8 L IS USM"
    assert format_camera(PhotoFacts(camera="NIKON D850")) == "NIKON D850"
    assert format_camera(PhotoFacts(lens="Sigma 24-70mm f/2.8")) == "Sigma 24-70mm f/2.8"
    assert format_camera(NO_FACTS) is None


@pytest.mark.parametrize(
    ("rating", "label", "text"),
    [
        (3, "Red", "★★★☆☆ · Red"),
        (5, None, "★★★★★"),
        (1, None, "★☆☆☆☆"),
        (-1, None, "Rejected"),
        (-1, "Red", "Rejected · Red"),
        (0, None, None),  # 0 is "not rated" in XMP
        (0, "Select", "Select"),
        (None, "Purple", "Purple"),
        (None, None, None),
    ],
)
def test_format_rating(rating: int | None, label: str | None, text: str | None) -> None:
    assert format_rating(PhotoFacts(rating=rating, label=label)) == text


def _record(facts: PhotoFacts) -> ImageRecord:
    return ImageRecord(
        Path("/p/a.jpg"), 10, 0, b"c" * 16, b"h" * 8, 4, 3, "JPEG", "2021-06-01 12:00:00", facts
    )


def test_facts_lines() -> None:
    full = PhotoFacts(
        camera="Canon EOS R5",
        lens="RF24-70mm F2.8 L IS USM",
        iso=400,
        exposure_s=0.004,
        f_number=2.8,
        focal_mm=35.0,
        has_gps=True,
        colour_profile="Display P3",
        rating=4,
        label="Green",
        has_xmp=True,
    )
    assert facts_lines(_record(full)) == [
        "Canon EOS R5 · RF24-70mm F2.8 L IS USM",
        "1/250 s · f/2.8 · ISO 400 · 35 mm",
        "GPS · Display P3 · ★★★★☆ · Green",
    ]
    assert facts_lines(_record(NO_FACTS)) == []
    edited = PhotoFacts(camera="X100V", has_xmp=True)  # edited, but not rated
    assert facts_lines(_record(edited)) == ["X100V", "XMP"]
    assert facts_lines(_record(PhotoFacts(colour_profile="sRGB IEC61966-2.1"))) == [
        "sRGB IEC61966-2.1"
    ]
