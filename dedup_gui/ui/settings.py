"""Typed access to the user's settings (QSettings); builds the ScanRequest on the GUI thread."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from dedup_gui.core.decisions import KeepRule
from dedup_gui.core.model import ScanRequest, WalkOptions

log = logging.getLogger(__name__)

# Defaults come from the core records, so the app and `dedup-gui scan` agree.
_SCAN_DEFAULTS = ScanRequest(roots=())
_KEEP_DEFAULTS = KeepRule()

ORGANIZATION = "dedup-gui"
APPLICATION = "dedup-gui"
SETTINGS_VERSION = 2  # bump with a step in Settings._upgrade when a key changes meaning


class Similarity(IntEnum):
    """How alike two photos must look to be grouped; the value is the max hash distance."""

    IDENTICAL = 0
    VERY_SIMILAR = 4
    SIMILAR = 8
    LOOSELY_SIMILAR = 12

    @property
    def label(self) -> str:
        return _SIMILARITY_LABELS[self]

    @property
    def description(self) -> str:
        return _SIMILARITY_DESCRIPTIONS[self]


_SIMILARITY_LABELS = {
    Similarity.IDENTICAL: "Identical",
    Similarity.VERY_SIMILAR: "Very similar",
    Similarity.SIMILAR: "Similar",
    Similarity.LOOSELY_SIMILAR: "Loosely similar",
}
_SIMILARITY_DESCRIPTIONS = {
    Similarity.IDENTICAL: "Exact copies, and copies that look pixel-for-pixel the same.",
    Similarity.VERY_SIMILAR: "Also re-saved and resized copies.",
    Similarity.SIMILAR: "Also lightly edited copies. Recommended.",
    Similarity.LOOSELY_SIMILAR: "Also near shots of the same scene; check groups carefully.",
}


@dataclass(frozen=True, slots=True)
class FolderEntry:
    """A folder the user added, with its per-folder choices."""

    path: Path
    include_subfolders: bool = True
    is_protected: bool = False  # a reference folder: shown in groups, never marked for trash


class Settings:
    """The app's persistent choices, with defaults, over one QSettings object.

    Pass a QSettings (e.g. an INI file in a temporary folder) to keep tests and the demo away
    from the user's real settings.
    """

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._q = qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)
        self._upgrade()

    @property
    def qsettings(self) -> QSettings:
        return self._q

    def _upgrade(self) -> None:
        found = self._int("settings_version", 0)
        if found > SETTINGS_VERSION:
            log.warning(
                "settings were written by a newer version (%d); reading what we know", found
            )
            return
        # Version 0 -> 1: nothing to convert (1 is the first version with settings).
        if 0 < found < 2:
            self._upgrade_to_2()
        if found < SETTINGS_VERSION:
            self._q.setValue("settings_version", SETTINGS_VERSION)

    def _upgrade_to_2(self) -> None:
        """Version 1 -> 2 adds the photographers' switches (#5). Version 1 kept the copy with
        the most pixels; that choice is now "Prefer larger resolution", so it is written down as
        on, and a later change of that default cannot silently change an old user's marks."""
        if not self._q.contains("keep/prefer_resolution"):
            self._q.setValue("keep/prefer_resolution", True)

    @property
    def settings_version(self) -> int:
        return self._int("settings_version", 0)

    def sync(self) -> None:
        self._q.sync()

    # -- typed primitives (QSettings' INI backend gives strings back) -------------------------
    def _int(self, key: str, default: int) -> int:
        try:
            return int(str(self._q.value(key, default)))
        except (TypeError, ValueError):
            return default

    def _bool(self, key: str, default: bool) -> bool:
        value = self._q.value(key, default)
        if isinstance(value, str):
            return value.lower() in ("true", "1", "yes")
        return bool(value)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._q.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def _paths(self, key: str) -> list[Path]:
        paths: list[Path] = []
        count = self._q.beginReadArray(key)
        try:
            for i in range(count):
                self._q.setArrayIndex(i)
                raw = self._q.value("path")
                if isinstance(raw, QByteArray) and not raw.isEmpty():
                    paths.append(Path(os.fsdecode(bytes(raw.data()))))
        finally:
            self._q.endArray()
        return paths

    def _set_paths(self, key: str, paths: Sequence[Path]) -> None:
        self._q.remove(key)
        self._q.beginWriteArray(key, len(paths))
        for i, path in enumerate(paths):
            self._q.setArrayIndex(i)
            # Stored as bytes: a folder name need not be valid UTF-8.
            self._q.setValue("path", QByteArray(os.fsencode(path)))
        self._q.endArray()

    # -- folders ------------------------------------------------------------------------------
    def folders(self) -> list[FolderEntry]:
        entries: list[FolderEntry] = []
        count = self._q.beginReadArray("folders")
        try:
            for i in range(count):
                self._q.setArrayIndex(i)
                raw = self._q.value("path")
                if not isinstance(raw, QByteArray) or raw.isEmpty():
                    continue
                entries.append(
                    FolderEntry(
                        # Stored as bytes: a folder name need not be valid UTF-8.
                        path=Path(os.fsdecode(bytes(raw.data()))),
                        include_subfolders=self._bool("include_subfolders", True),
                        is_protected=self._bool("protected", False),
                    )
                )
        finally:
            self._q.endArray()
        return entries

    def set_folders(self, entries: Sequence[FolderEntry]) -> None:
        self._q.remove("folders")
        self._q.beginWriteArray("folders", len(entries))
        for i, entry in enumerate(entries):
            self._q.setArrayIndex(i)
            self._q.setValue("path", QByteArray(os.fsencode(entry.path)))
            self._q.setValue("include_subfolders", entry.include_subfolders)
            self._q.setValue("protected", entry.is_protected)
        self._q.endArray()

    # -- scanning -----------------------------------------------------------------------------
    def similarity(self) -> Similarity:
        value = self._int("scan/max_distance", Similarity.SIMILAR)
        try:
            return Similarity(value)
        except ValueError:
            return Similarity.SIMILAR

    def set_similarity(self, similarity: Similarity) -> None:
        self._q.setValue("scan/max_distance", int(similarity))

    def include_hidden(self) -> bool:
        return self._bool("scan/include_hidden", False)

    def set_include_hidden(self, value: bool) -> None:
        self._q.setValue("scan/include_hidden", value)

    def follow_symlinks(self) -> bool:
        return self._bool("scan/follow_symlinks", False)

    def set_follow_symlinks(self, value: bool) -> None:
        self._q.setValue("scan/follow_symlinks", value)

    def min_size_bytes(self) -> int:
        return max(0, self._int("scan/min_size_bytes", 0))

    def set_min_size_bytes(self, value: int) -> None:
        self._q.setValue("scan/min_size_bytes", max(0, value))

    def match_turned(self) -> bool:
        """Also group copies rotated by 90/180/270 degrees or mirrored."""
        return self._bool("scan/match_turned", _SCAN_DEFAULTS.match_turned)

    def set_match_turned(self, value: bool) -> None:
        self._q.setValue("scan/match_turned", value)

    def match_crops(self) -> bool:
        """Also group cropped, captioned and watermarked copies (checked in detail)."""
        return self._bool("scan/match_crops", _SCAN_DEFAULTS.match_crops)

    def set_match_crops(self, value: bool) -> None:
        self._q.setValue("scan/match_crops", value)

    def pairs_as_duplicates(self) -> bool:
        """A RAW file and its same-named JPEG may be marked as duplicates of each other."""
        return self._bool("scan/pairs_as_duplicates", _SCAN_DEFAULTS.pairs_as_duplicates)

    def set_pairs_as_duplicates(self, value: bool) -> None:
        self._q.setValue("scan/pairs_as_duplicates", value)

    def walk_options(self, entries: Sequence[FolderEntry] | None = None) -> WalkOptions:
        entries = self.folders() if entries is None else entries
        return WalkOptions(
            follow_symlinks=self.follow_symlinks(),
            include_hidden=self.include_hidden(),
            shallow_roots=tuple(e.path for e in entries if not e.include_subfolders),
            min_size_bytes=self.min_size_bytes(),
        )

    def scan_request(self, entries: Sequence[FolderEntry] | None = None) -> ScanRequest:
        """What to scan: the given folders (default: the saved list) with the saved options."""
        entries = self.folders() if entries is None else entries
        return ScanRequest(
            roots=tuple(e.path for e in entries),
            walk=self.walk_options(entries),
            max_distance=int(self.similarity()),
            match_turned=self.match_turned(),
            match_crops=self.match_crops(),
            pairs_as_duplicates=self.pairs_as_duplicates(),
        )

    # -- keep rule ----------------------------------------------------------------------------
    def keep_rule(self, entries: Sequence[FolderEntry] | None = None) -> KeepRule:
        """The rule that picks each group's keeper: protected folders (from ``entries``,
        default the saved list) and the saved preferences."""
        entries = self.folders() if entries is None else entries
        return KeepRule(
            protected_roots=tuple(e.path for e in entries if e.is_protected),
            preferred_folders=tuple(self.preferred_folders()),
            prefer_raw=self.prefer_raw(),
            prefer_edited=self.prefer_edited(),
            prefer_resolution=self.prefer_resolution(),
            pairs_as_duplicates=self.pairs_as_duplicates(),
        )

    def prefer_raw(self) -> bool:
        return self._bool("keep/prefer_raw", _KEEP_DEFAULTS.prefer_raw)

    def set_prefer_raw(self, value: bool) -> None:
        self._q.setValue("keep/prefer_raw", value)

    def prefer_edited(self) -> bool:
        """Prefer copies with XMP (edited in a photo editor)."""
        return self._bool("keep/prefer_edited", _KEEP_DEFAULTS.prefer_edited)

    def set_prefer_edited(self, value: bool) -> None:
        self._q.setValue("keep/prefer_edited", value)

    def prefer_resolution(self) -> bool:
        return self._bool("keep/prefer_resolution", _KEEP_DEFAULTS.prefer_resolution)

    def set_prefer_resolution(self, value: bool) -> None:
        self._q.setValue("keep/prefer_resolution", value)

    def preferred_folders(self) -> list[Path]:
        """Folders whose copies are kept first, most preferred first."""
        return self._paths("keep/preferred_folders")

    def set_preferred_folders(self, folders: Sequence[Path]) -> None:
        self._set_paths("keep/preferred_folders", folders)

    def auto_mark(self) -> bool:
        """Pre-mark copies for trash (by the keep rule) after each scan."""
        return self._bool("keep/auto_mark", True)

    def set_auto_mark(self, value: bool) -> None:
        self._q.setValue("keep/auto_mark", value)

    # -- window -------------------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def set_window_geometry(self, geometry: QByteArray) -> None:
        self._q.setValue("window/geometry", geometry)

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def set_window_state(self, state: QByteArray) -> None:
        self._q.setValue("window/state", state)

    def splitter_state(self, name: str) -> QByteArray | None:
        return self._bytes(f"window/splitter_{name}")

    def set_splitter_state(self, name: str, state: QByteArray) -> None:
        self._q.setValue(f"window/splitter_{name}", state)

    def last_dialog_folder(self) -> Path | None:
        raw = self._q.value("window/last_dialog_folder")
        return Path(str(raw)) if raw else None

    def set_last_dialog_folder(self, folder: Path) -> None:
        self._q.setValue("window/last_dialog_folder", str(folder))
