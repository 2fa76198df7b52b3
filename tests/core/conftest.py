"""Fixtures the core tests share."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from dedup_gui.core.store import HashStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HashStore]:
    """A real library file in ``tmp_path``, open for the test."""
    with open_store(tmp_path / "library.sqlite3") as opened:
        yield opened
