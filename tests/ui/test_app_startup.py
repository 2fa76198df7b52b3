"""What the window does with a damaged or too-new database at start."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dedup_gui.core.errors import StoreTooNew
from dedup_gui.ui.app import _make_window


def test_a_damaged_database_is_set_aside_and_the_user_told(
    qtbot: QtBot, qapp: object, tmp_path: Path
) -> None:
    db = tmp_path / "library.sqlite3"
    db.write_bytes(b"this is not a database, just some bytes " * 100)

    window, notice = _make_window(qapp, [], None, db)  # type: ignore[arg-type]
    qtbot.addWidget(window)

    assert notice is not None and "broken" in notice
    set_aside = [p for p in tmp_path.iterdir() if p.name.startswith("library.sqlite3.broken-")]
    assert len(set_aside) == 1
    assert set_aside[0].read_bytes().startswith(b"this is not a database")
    with sqlite3.connect(db) as conn:  # a fresh, working database took its place
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_database_from_a_newer_version_is_refused_untouched(qapp: object, tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    before = db.read_bytes()

    with pytest.raises(StoreTooNew):
        _make_window(qapp, [], None, db)  # type: ignore[arg-type]
    assert db.read_bytes() == before


def test_without_a_display_the_app_says_so_instead_of_aborting() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    result = subprocess.run(
        [sys.executable, "-m", "dedup_gui"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "no display" in result.stderr and "dedup-gui scan" in result.stderr
