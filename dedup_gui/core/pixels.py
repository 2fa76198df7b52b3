"""Tell "same pixels" copies from near-duplicates by comparing decoded pixels. No Qt.

Only members already grouped with their reference, nearly equal in hash and equal in dimensions
are candidates: decoding every file in full would cost far more than the whole scan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from dedup_gui.core.cancel import CancelToken, NeverCancelled
from dedup_gui.core.hashing import checking_pool, pixel_digest
from dedup_gui.core.model import Group, GroupMember, ImageRecord, Relation, ScanRequest, Turn
from dedup_gui.core.store import HashStore
from dedup_gui.core.workers import TaskFailed

# JPEGs are hashed from a reduced (draft) decode and other formats from a full one, so a lossless
# PNG of a JPEG can hash up to 2 bits away from it although every pixel is equal.
_SAME_PIXELS_MAX_DISTANCE = 2


def _is_candidate(member: GroupMember, reference: ImageRecord) -> bool:
    record = member.record
    return (
        member.relation is Relation.NEAR
        # A turned copy's pixels differ from the reference's as displayed: decoding both in
        # full could at best find a symmetric picture, and "same pixels" would hide the turn.
        and member.turn is Turn.NONE
        and member.distance <= _SAME_PIXELS_MAX_DISTANCE
        and (record.width, record.height) == (reference.width, reference.height)
        and record.content_hash != reference.content_hash
    )


def label_same_pixels(
    groups: Sequence[Group],
    store: HashStore,
    request: ScanRequest,
    *,
    cancel: CancelToken | None = None,
) -> list[Group]:
    """Relabel NEAR members whose decoded pixels equal their reference's as SAME_PIXELS.

    Pixel digests are cached in the store by content hash, so a rescan decodes nothing again.
    A file that cannot be decoded now simply stays NEAR.
    """
    return label_same_pixels_fully(groups, store, request, cancel=cancel)[0]


def label_same_pixels_fully(
    groups: Sequence[Group],
    store: HashStore,
    request: ScanRequest,
    *,
    cancel: CancelToken | None = None,
) -> tuple[list[Group], bool]:
    """``label_same_pixels``, also saying whether every candidate's digest was known.

    False when some file could not be decoded now: trying again later may label it otherwise,
    so such groups are not worth saving for reuse.
    """
    cancel = cancel or NeverCancelled()
    needed: dict[bytes, Path] = {}
    for group in groups:
        reference = group.reference.record
        candidates = [m for m in group.members if _is_candidate(m, reference)]
        if candidates:
            needed.setdefault(reference.content_hash, reference.path)
            for member in candidates:
                needed.setdefault(member.record.content_hash, member.record.path)
    if not needed:
        return list(groups), True
    digests = store.pixel_digests(needed)
    missing = {h: p for h, p in needed.items() if h not in digests}
    if missing:
        fresh = _compute_digests(missing, request, cancel)
        store.put_pixel_digests(fresh)
        digests.update(fresh)
    return [_relabel(group, digests) for group in groups], len(digests) == len(needed)


def _compute_digests(
    paths_by_hash: dict[bytes, Path], request: ScanRequest, cancel: CancelToken
) -> dict[bytes, bytes]:
    hash_by_path = {path: content for content, path in paths_by_hash.items()}
    digests: dict[bytes, bytes] = {}
    with checking_pool(pixel_digest, request, len(hash_by_path)) as pool:
        for path, outcome in pool.imap_unordered(iter(hash_by_path), cancel=cancel):
            if not isinstance(outcome, TaskFailed):
                digests[hash_by_path[path]] = outcome
    return digests


def _relabel(group: Group, digests: dict[bytes, bytes]) -> Group:
    reference = group.reference.record
    ref_digest = digests.get(reference.content_hash)
    if ref_digest is None:
        return group
    members = tuple(
        dataclasses.replace(m, relation=Relation.SAME_PIXELS)
        if _is_candidate(m, reference) and digests.get(m.record.content_hash) == ref_digest
        else m
        for m in group.members
    )
    return dataclasses.replace(group, members=members)
