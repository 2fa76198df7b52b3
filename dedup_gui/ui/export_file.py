"""Saving the groups as a CSV or JSON file chosen by the user."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from dedup_gui.core import export
from dedup_gui.core.links import linked_paths
from dedup_gui.core.model import Group, ScanReport


def ask_export_path(parent: QWidget) -> tuple[Path, bool] | None:
    """Asks where to save; returns (path, as_json), or None if the user cancelled."""
    chosen, chosen_filter = QFileDialog.getSaveFileName(
        parent, "Export groups", "duplicate-groups.csv", "CSV (*.csv);;JSON (*.json)"
    )
    if not chosen:
        return None
    path = Path(chosen)
    suffix = path.suffix.lower() or (".json" if "JSON" in chosen_filter else ".csv")
    return path, suffix == ".json"


def export_text(groups: Sequence[Group], report: ScanReport | None, *, as_json: bool) -> str:
    """CSV: one row per photo. JSON: the groups, plus the scan's problems and stats if known."""
    if not as_json:
        return export.to_csv(groups)
    if report is None:
        return export.to_json(groups)
    return export.to_json(groups, report.problems, report.stats, linked=linked_paths(report))
