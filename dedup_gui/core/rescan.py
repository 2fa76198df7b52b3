"""A rescan's shortcut: reuse the saved groups when nothing they came from changed. No Qt.

``run_scan`` (pipeline.py) asks here whether an earlier scan's groups still hold, and saves
its own groups for the next scan. Saved groups are encoded by ``group_cache``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from dedup_gui.core.gc_pause import gc_paused
from dedup_gui.core.group_cache import (
    decode_groups,
    encode_groups,
    member_positions,
    request_key,
    walk_digest,
)
from dedup_gui.core.matching import Matched
from dedup_gui.core.model import Group, ImageRecord, Problem, ScanRequest, ScanStage
from dedup_gui.core.scanning import WalkedFile
from dedup_gui.core.store import HashStore, SavedGroups

log = logging.getLogger(__name__)


class ScanState(Protocol):
    """What this module reads and sets of the running scan (``pipeline._Scan``)."""

    request: ScanRequest
    store: HashStore
    problems: list[Problem]
    records: list[ImageRecord]
    reused: int
    walk_had_folder_problems: bool

    def enter_stage(self, stage: ScanStage) -> None: ...


def plausible_saved_groups(scan: ScanState) -> tuple[SavedGroups, list[int]] | None:
    """Saved groups of this kind of scan made at the store's generation now, with their
    members' positions; None if there are none (or they are damaged). Two small reads: the
    walk decides the rest (``reuse_saved_groups``)."""
    saved = scan.store.saved_groups(request_key(scan.request))
    if saved is None or saved.generation != scan.store.generation():
        return None
    try:
        return saved, member_positions(saved.groups)
    except ValueError:
        log.warning("saved groups are damaged; grouping again", exc_info=True)
        return None


def same_walk(scan: ScanState, walked: list[WalkedFile], saved: SavedGroups) -> Matched | None:
    """Every walked file as stored, with nothing loaded, if the walk is the one ``saved`` was
    made from (its digest): the store's generation is theirs, so no file changed since."""
    if saved.walk_digest is None or scan.problems or len(saved.file_ids) != 8 * len(walked):
        return None
    if walk_digest(walked) != saved.walk_digest:
        return None
    scan.reused = len(walked)
    return Matched.of_same_walk(walked, saved)


def reuse_saved_groups(
    scan: ScanState, matched: Matched, saved: SavedGroups, positions: list[int]
) -> list[Group] | None:
    """The groups saved by an earlier scan, if nothing they came from changed since; else None.

    Reused only when no file needs hashing, the store's generation is the one they were saved
    at (no hash, file, pixel digest or not-duplicate decision changed) and the walk found the
    same stored files in the same order. After a narrow match, the members' records are read
    at that generation too (or not reused).
    """
    if matched.to_hash:
        return None
    if saved.generation != matched.stored.generation:
        return None
    if saved.file_ids != matched.file_ids():
        return None
    scan.enter_stage(ScanStage.HASHING)
    scan.enter_stage(ScanStage.GROUPING)
    try:
        if matched.is_narrow and not matched.load_full_rows(
            scan.store, scan.request.hashing, positions
        ):
            log.info("the store changed during the scan; grouping again")
            return None
        with gc_paused():  # a record and a member per file, and no cycles among them
            groups = decode_groups(saved.groups, matched.record)
    except (ValueError, IndexError):
        log.warning("saved groups are damaged; grouping again", exc_info=True)
        return None
    scan.enter_stage(ScanStage.VERIFYING)
    return groups


def forget_missing_if_any(scan: ScanState, walked: list[WalkedFile], matched: Matched) -> None:
    """``forget_missing`` after reused groups, skipped when one count shows nothing is missing.

    Every walked file matched a stored row under the roots; if there are no more such rows than
    walked files, none is missing (and no Path need be made for the 100,000 that are there).
    """
    if scan.walk_had_folder_problems:
        return  # a folder we could not list this time may still hold its photos: keep their rows
    roots = [root for root in scan.request.roots if root.exists()]
    if scan.store.count_under(roots) != (len(matched.texts), len(matched.problems)):
        scan.store.forget_missing(roots, {Path(text) for text, *_ in walked})


def save_groups_for_reuse(
    scan: ScanState, walked: list[WalkedFile], matched: Matched, groups: list[Group]
) -> None:
    """Save ``groups`` for the next scan, keyed to the files they came from, in walk order."""
    grouped = {str(record.path) for record in scan.records}
    order = [text for text, *_ in walked if text in grouped]
    ids = scan.store.file_ids()
    if any(text not in ids for text in order):
        return  # another connection dropped a file meanwhile: the next scan groups again
    position = {text: k for k, text in enumerate(order)}
    blob = encode_groups(groups, lambda record: position[str(record.path)])
    file_ids = np.array([ids[text] for text in order], dtype=np.int64).tobytes()
    # Every walked file a record and no problem met: the next scan may skip its loads if it
    # walks the same list (same_walk).
    digest = walk_digest(walked) if len(order) == len(walked) and not scan.problems else None
    key = request_key(scan.request)
    if not scan.store.save_groups(key, file_ids, blob, read=matched.stored, walk_digest=digest):
        log.info("the store changed during the scan; its groups are not saved for reuse")
