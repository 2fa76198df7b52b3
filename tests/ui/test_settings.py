"""Settings persist through a real QSettings INI file and build the scan request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings
from pytestqt.qtbot import QtBot

from dedup_gui.core.decisions import KeepRule
from dedup_gui.core.model import ScanRequest
from dedup_gui.ui.settings import (
    SETTINGS_VERSION,
    FolderEntry,
    Settings,
    Similarity,
)


def _open(path: Path) -> Settings:
    return Settings(QSettings(str(path), QSettings.Format.IniFormat))


@pytest.fixture
def ini(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


def test_defaults(ini: Path) -> None:
    settings = _open(ini)
    assert settings.folders() == []
    assert settings.similarity() is Similarity.SIMILAR
    assert settings.auto_mark() is True
    assert settings.include_hidden() is False
    assert settings.min_size_bytes() == 0
    assert settings.window_geometry() is None
    assert settings.settings_version == SETTINGS_VERSION


def test_round_trip_through_the_file(ini: Path) -> None:
    odd = Path(os.fsdecode(b"/photos/caf\xe9 \xf0\x9f\x93\xb7"))  # non-UTF-8 byte, then emoji
    entries = [
        FolderEntry(Path("/photos/2023"), include_subfolders=True, is_protected=False),
        FolderEntry(Path("/photos/originals"), include_subfolders=False, is_protected=True),
        FolderEntry(odd, include_subfolders=True, is_protected=True),
    ]
    settings = _open(ini)
    settings.set_folders(entries)
    settings.set_similarity(Similarity.LOOSELY_SIMILAR)
    settings.set_include_hidden(True)
    settings.set_follow_symlinks(True)
    settings.set_min_size_bytes(20_000)
    settings.set_auto_mark(False)
    settings.set_window_geometry(QByteArray(b"\x01\x02geometry"))
    settings.set_window_state(QByteArray(b"state"))
    settings.set_splitter_state("main", QByteArray(b"split"))
    settings.sync()
    del settings

    again = _open(ini)
    assert again.folders() == entries
    assert again.similarity() is Similarity.LOOSELY_SIMILAR
    assert again.include_hidden() and again.follow_symlinks()
    assert again.min_size_bytes() == 20_000
    assert again.auto_mark() is False
    assert again.window_geometry() == QByteArray(b"\x01\x02geometry")
    assert again.window_state() == QByteArray(b"state")
    assert again.splitter_state("main") == QByteArray(b"split")
    assert again.splitter_state("other") is None


def test_removing_folders_shrinks_the_list(ini: Path) -> None:
    settings = _open(ini)
    settings.set_folders([FolderEntry(Path(f"/p{i}")) for i in range(3)])
    settings.set_folders([FolderEntry(Path("/p1"))])
    assert _open(ini).folders() == [FolderEntry(Path("/p1"))]


def test_garbage_values_fall_back_to_defaults(ini: Path) -> None:
    raw = QSettings(str(ini), QSettings.Format.IniFormat)
    raw.setValue("scan/max_distance", "seven")
    raw.setValue("scan/min_size_bytes", -5)
    raw.sync()
    settings = _open(ini)
    assert settings.similarity() is Similarity.SIMILAR
    assert settings.min_size_bytes() == 0
    raw.setValue("scan/max_distance", 5)  # a number, but not one of the four choices
    assert settings.similarity() is Similarity.SIMILAR


def test_newer_settings_version_is_left_alone(ini: Path) -> None:
    raw = QSettings(str(ini), QSettings.Format.IniFormat)
    raw.setValue("settings_version", SETTINGS_VERSION + 5)
    raw.sync()
    assert _open(ini).settings_version == SETTINGS_VERSION + 5


def test_scan_request_and_keep_rule(ini: Path, tmp_path: Path) -> None:
    settings = _open(ini)
    deep, shallow = tmp_path / "all", tmp_path / "only [top]"
    settings.set_folders(
        [FolderEntry(deep, is_protected=True), FolderEntry(shallow, include_subfolders=False)]
    )
    settings.set_similarity(Similarity.VERY_SIMILAR)
    settings.set_min_size_bytes(1000)
    request = settings.scan_request()
    assert isinstance(request, ScanRequest)
    assert request.roots == (deep, shallow)
    assert request.max_distance == 4
    assert request.walk.min_size_bytes == 1000
    assert request.walk.shallow_roots == (shallow,)
    assert settings.keep_rule() == KeepRule(protected_roots=(deep,))


def test_similarity_labels_are_plain_words() -> None:
    assert [(s.label, int(s)) for s in Similarity] == [
        ("Identical", 0),
        ("Very similar", 4),
        ("Similar", 8),
        ("Loosely similar", 12),
    ]


def test_walk_with_subfolders_off_yields_only_top_files(ini: Path, tmp_path: Path) -> None:
    from dedup_gui.core.scanning import iter_image_files

    top = tmp_path / "top [1]"
    (top / "sub" / "deeper").mkdir(parents=True)
    for name in ("a.jpg", "sub/b.jpg", "sub/deeper/c.jpg"):
        (top / name).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    settings = _open(ini)
    entries = [FolderEntry(top, include_subfolders=False)]
    found = {i.path for i in iter_image_files([top], settings.walk_options(entries))}
    assert found == {top / "a.jpg"}
    entries = [FolderEntry(top, include_subfolders=True)]
    found = {i.path for i in iter_image_files([top], settings.walk_options(entries))}
    assert len(found) == 3


def test_preferences_dialog_saves_options_and_forgets_decisions(
    qtbot: QtBot, ini: Path, tmp_path: Path
) -> None:
    from dedup_gui.core.store import open_store
    from dedup_gui.ui.settings_dialog import SettingsDialog

    db = tmp_path / "library.sqlite3"
    with open_store(db) as store:
        store.add_not_duplicate(b"\x01" * 16, b"\x02" * 16)
        store.add_not_duplicate(b"\x03" * 16, b"\x04" * 16)
    settings = _open(ini)
    dialog = SettingsDialog(settings, db)
    qtbot.addWidget(dialog)
    assert dialog.pairs.rowCount() == 2
    assert "no file now" in dialog.pairs.item(0, 0).text()  # contents with no known file

    dialog.pairs.selectRow(0)
    dialog.forget_selected()
    assert dialog.pairs.rowCount() == 1
    dialog.forget_all()
    assert dialog.pairs.rowCount() == 0 and not dialog.forget_all_button.isEnabled()
    with open_store(db) as store:
        assert store.list_not_duplicates() == []

    dialog.include_hidden.setChecked(True)
    dialog.min_size_kb.setValue(50)
    dialog.auto_mark.setChecked(False)
    dialog.accept()
    assert settings.include_hidden() and not settings.auto_mark()
    assert settings.min_size_bytes() == 50_000


def test_photographer_switches_reach_scan_request_and_keep_rule(ini: Path) -> None:
    settings = _open(ini)
    request, rule = settings.scan_request([]), settings.keep_rule([])
    assert (request.match_turned, request.match_crops, request.pairs_as_duplicates) == (
        True,
        True,
        False,
    )
    assert rule == KeepRule()  # defaults are core's: one source for app and CLI
    settings.set_match_turned(False)
    settings.set_match_crops(False)
    settings.set_pairs_as_duplicates(True)
    settings.set_prefer_raw(True)
    settings.set_prefer_edited(True)
    settings.set_prefer_resolution(False)
    odd = Path(os.fsdecode(b"/photos/caf\xe9"))  # not UTF-8: stored as bytes
    settings.set_preferred_folders([Path("/photos/best"), odd])
    settings.sync()

    again = _open(ini)
    request = again.scan_request([FolderEntry(Path("/p"), is_protected=True)])
    assert (request.match_turned, request.match_crops, request.pairs_as_duplicates) == (
        False,
        False,
        True,
    )
    assert again.keep_rule([FolderEntry(Path("/p"), is_protected=True)]) == KeepRule(
        protected_roots=(Path("/p"),),
        preferred_folders=(Path("/photos/best"), odd),
        prefer_raw=True,
        prefer_edited=True,
        prefer_resolution=False,
        pairs_as_duplicates=True,
    )


def test_upgrade_from_version_1_keeps_old_values(ini: Path) -> None:
    old = QSettings(str(ini), QSettings.Format.IniFormat)
    old.setValue("settings_version", 1)
    old.setValue("scan/max_distance", int(Similarity.VERY_SIMILAR))
    old.setValue("scan/include_hidden", True)
    old.setValue("keep/auto_mark", False)
    old.sync()
    del old

    settings = _open(ini)
    assert settings.settings_version == SETTINGS_VERSION == 2
    assert settings.similarity() is Similarity.VERY_SIMILAR
    assert settings.include_hidden() is True
    assert settings.auto_mark() is False
    # Version 1 kept the copy with the most pixels: written down as the new switch, on.
    assert settings.qsettings.value("keep/prefer_resolution") in (True, "true")
    assert settings.keep_rule([]).prefer_resolution is True
    assert settings.match_turned() is True and settings.match_crops() is True
    assert settings.pairs_as_duplicates() is False
