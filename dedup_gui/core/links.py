"""Hard links among scanned files: which copies free no space when trashed. No Qt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

from dedup_gui.core.formatting import human_count
from dedup_gui.core.model import FileInfo, Group, ScanReport

ELSEWHERE_NOTE = "hard-linked elsewhere (trashing frees no space)"


def linked_paths(report: ScanReport) -> frozenset[Path]:
    """The scanned files that another name keeps on disk, so trashing them frees nothing."""
    return frozenset(first for first, _ in report.hard_links) | report.linked_elsewhere


def reclaimable_bytes(group: Group, linked: AbstractSet[Path]) -> int:
    """Space freed by keeping only the reference (and its RAW+JPEG partner), not counting the
    files in ``linked``.

    ``Group.bytes_reclaimable`` cannot know about links; use this wherever they are known
    (``linked`` as from ``linked_paths``).
    """
    kept = group.kept_partner
    return sum(
        m.record.size
        for m in group.members[1:]
        if m.record.path not in linked and m.record.path != kept
    )


def find_linked_elsewhere(
    files: Iterable[FileInfo], hard_links: Mapping[Path, Sequence[Path]]
) -> frozenset[Path]:
    """The files with more names (``FileInfo.links``) than the walk met: the others lie outside
    the scanned folders, or were left out of the scan (hidden, excluded)."""
    return frozenset(
        info.path for info in files if info.links > 1 + len(hard_links.get(info.path, ()))
    )


def link_note(others: Sequence[Path], is_linked_elsewhere: bool) -> str | None:
    """What a member card says about a file's hard links, or None if it has none.

    Args:
        others: the file's other names seen in the scan (from ``ScanReport.hard_links``).
        is_linked_elsewhere: it has names outside the scan (``ScanReport.linked_elsewhere``).
    """
    if others:
        return f"hard link: also at {human_count(len(others), 'other place')}"
    if is_linked_elsewhere:
        return ELSEWHERE_NOTE
    return None
