"""Check turned and cropped group members against their reference in fine detail. No Qt.

Turned matching compares hashes of pictures turned to a canonical orientation, which match on
outline alone: the four quarters of a round photo are quarter discs, each one its neighbour
turned. Crop matching compares hashes of centred windows, which also match overlapping frames
of one scene (a burst) and tiles. ``verify.similarity`` tells real rotated or mirrored copies
from those look-alikes; ``verify.crop_similarity`` also finds a crop as a region of the other
picture. At the default threshold and stricter ones every other near member is checked too
(``CHECK_NEAR_MAX_DISTANCE``): frames of a burst can be a few bits apart.

Scores are remembered by content pair (``CheckCache``, the store): a rescan that groups again
after any change would otherwise decode and score every such pair again, and a library of
bursts has thousands of them.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from dedup_gui.core.cancel import CancelToken, NeverCancelled
from dedup_gui.core.hashing import checking_pool
from dedup_gui.core.model import Group, GroupMember, ImageRecord, Relation, ScanRequest, Turn
from dedup_gui.core.store_checks import CheckKey
from dedup_gui.core.turning import inverse
from dedup_gui.core.verify import ACCEPT, Grey, crop_similarity, similarity, small_grey
from dedup_gui.core.workers import TaskFailed

log = logging.getLogger(__name__)

# The version of what ``score_match`` measures: remembered scores of another version are not
# used. Bump it when the score of a pair may change (verify.similarity, crop_similarity,
# small_grey, turning); a new ACCEPT needs no bump, as it is applied to remembered scores too.
CHECK_VERSION = 1

# Up to this threshold (the default, "Similar") near members matched upright are checked as
# well, not only turned and cropped ones. Two frames of a burst of a still subject can be 4 bits
# apart (the accuracy corpus's stereo pair is) and would then be "Same picture", their copies
# pre-marked for the Trash; checked, they are apart. On the corpus this took precision from
# 0.997 to 1.000 and bursts called duplicates from 1/18 to 0/18, losing no copy of any
# transform. A wider threshold ("Loosely similar", 12) asks for near shots of one scene, which
# the check would take away, so there only turned and cropped members are checked. The cost is
# two small decodes per near member, once: verdicts are remembered by content pair.
CHECK_NEAR_MAX_DISTANCE = 8


class CheckCache(Protocol):
    """Where scores are remembered by content pair: ``store.HashStore``, in its own thread."""

    def check_scores(self, keys: Iterable[CheckKey], version: int) -> Mapping[CheckKey, float]:
        """Remembered scores of ``version`` for those of ``keys`` that have one."""
        ...

    def save_check_scores(self, items: Iterable[tuple[CheckKey, float]], version: int) -> None:
        """Remember (key, score) pairs of ``version``."""
        ...


class CheckCounter(Protocol):
    """Told how many checks must be decoded and made, and when each one is (scan progress)."""

    def add_checks(self, count: int) -> None:
        """``count`` more checks are to be made (their scores are not remembered)."""
        ...

    def check_done(self) -> None:
        """One of them was made (or could not be)."""
        ...


class MatchPair(NamedTuple):
    """One check, made in a worker: is ``member`` ``reference``, turned and maybe cropped?"""

    reference: Path
    member: Path
    turn: Turn  # how the member is the reference turned
    cropped: bool  # matched through a centred window: search for one inside the other

    @property
    def kind(self) -> str:
        """What the member was matched as, in words for the log."""
        if self.cropped:
            return "turned and cropped" if self.turn != Turn.NONE else "cropped"
        return "turned" if self.turn != Turn.NONE else "near"


# Checks are made once per (reference content, member content, turn, cropped): exact copies
# share one, and a score is remembered by it.
_Key = CheckKey


def needs_check(member: GroupMember, *, near: bool = False) -> bool:
    """Whether the hashes alone do not make ``member`` a copy: it was matched turned or
    through a centred window, or (with ``near``) it is a near member at all."""
    if member.turn != Turn.NONE or member.cropped:
        return True
    return near and member.relation is Relation.NEAR


def score_match(pair: MatchPair) -> float:
    """``verify.crop_similarity`` (cropped or upright) or ``verify.similarity`` (turned) of a
    reference and a member turned back to the reference's way.

    Raises:
        UnreadableImage, OSError: either file cannot be read or decoded.
    """
    reference = _reference_grey(pair.reference)
    member = small_grey(pair.member, inverse(pair.turn))
    # An upright near member may be a small crop too (5 % crops are often within 8 bits);
    # crop_similarity's quick check settles every other copy without a crop search.
    measure = crop_similarity if pair.cropped or pair.turn == Turn.NONE else similarity
    return measure(reference, member)


@functools.lru_cache(maxsize=8)
def _reference_grey(path: Path) -> Grey:
    """``small_grey(path)``, remembered in this worker for the next few checks.

    Pairs are queued group by group, so a reference checked against several members (a burst's
    frames, a photo's copies) is decoded once per worker rather than once per member: the
    decode costs more than the comparison. The pool's workers last one round of checks, so
    nothing is remembered across scans. Read-only: every check shares the array.
    """
    grey = small_grey(path)
    grey.flags.writeable = False
    return grey


def check_matches(
    groups: Sequence[Group],
    request: ScanRequest,
    *,
    regroup: Callable[[list[ImageRecord]], list[Group]] | None = None,
    cache: CheckCache | None = None,
    counter: CheckCounter | None = None,
    cancel: CancelToken | None = None,
) -> tuple[list[Group], bool]:
    """Groups less the turned and cropped members that do not match their reference in detail.

    Members that ``needs_check`` (near ones too at thresholds up to
    ``CHECK_NEAR_MAX_DISTANCE``) are decoded with their reference in worker processes and
    removed below ``verify.ACCEPT``; those kept keep their ``turn`` and ``cropped``. A group left
    with one member is dropped (one left as a RAW+JPEG pair only is ``pairs.apply_pairs``' to
    drop, which runs after). A pair that cannot be decoded now keeps the hashes' verdict
    (logged).

    Args:
        regroup: groups the removed members among themselves, as the scan grouped them all
            (``group_by_distance`` with the same settings); their groups are checked the same
            way, until nothing is removed. A removed member may still be a real copy of another
            removed one (two turned copies of one tile both taken by another tile). None: the
            removed members stay ungrouped.
        cache: remembered scores (the store, used in this thread only): a pair it has a score
            for is not decoded; new scores are saved to it, in one transaction per round (also
            on cancel). A pair that cannot be decoded is not saved: it is tried again next time.
        counter: told of the checks to make and made, for a progress display.

    Returns:
        The groups, most reclaimable bytes first, and whether every check was made (scored now
        or remembered): False when some file could not be decoded, so the groups are not worth
        saving for reuse.

    Raises:
        Cancelled: from ``cancel``.
    """
    cancel = cancel or NeverCancelled()
    out: list[Group] = []
    is_complete = is_changed = True
    todo = list(groups)
    # Ends: every round's groups have references, which are never removed, so each round's
    # removed members are fewer than the last round's.
    while todo:
        kept, removed, is_checked = _check_once(todo, request, cancel, cache, counter)
        out += kept
        is_complete = is_complete and is_checked
        if not removed:
            is_changed = todo is not groups
            break
        todo = regroup(removed) if regroup is not None else []
    if is_changed:
        out.sort(key=lambda g: (-g.bytes_reclaimable, str(g.reference.record.path)))
    return out, is_complete


def check_answers(
    groups: Sequence[Group],
    request: ScanRequest,
    *,
    cache: CheckCache | None = None,
    cancel: CancelToken | None = None,
) -> list[Group]:
    """``query.find``'s answers less the turned and cropped look-alikes, in order, none dropped.

    A query's group keeps its reference (the query photo) even when no copy is left: that
    answer means "new". ``cache`` as for ``check_matches``.
    """
    cancel = cancel or NeverCancelled()
    kept, _, _ = _check_once(list(groups), request, cancel, cache, None, min_members=1)
    return kept


def _key(reference: ImageRecord, member: GroupMember) -> _Key:
    return (reference.content_hash, member.record.content_hash, Turn(member.turn), member.cropped)


def _check_once(
    groups: list[Group],
    request: ScanRequest,
    cancel: CancelToken,
    cache: CheckCache | None,
    counter: CheckCounter | None,
    *,
    min_members: int = 2,
) -> tuple[list[Group], list[ImageRecord], bool]:
    """(groups less their look-alikes, the removed members' records, every check made).

    Groups left with fewer than ``min_members`` members are dropped.
    """
    near = request.max_distance <= CHECK_NEAR_MAX_DISTANCE
    pairs: dict[_Key, MatchPair] = {}
    for group in groups:
        reference = group.reference.record
        for m in (m for m in group.members if needs_check(m, near=near)):
            pair = MatchPair(reference.path, m.record.path, Turn(m.turn), m.cropped)
            pairs.setdefault(_key(reference, m), pair)
    if not pairs:
        return groups, [], True
    scores = _score_all(pairs, request, cancel, cache, counter)
    rejected = {key for key, score in scores.items() if score < ACCEPT}
    for key in rejected:
        pair = pairs[key]
        log.info(
            "not a %s copy (fine detail %.2f < %.2f): %r of %r",
            pair.kind,
            scores[key],
            ACCEPT,
            os.fsdecode(pair.member),
            os.fsdecode(pair.reference),
        )
    is_complete = len(scores) == len(pairs)
    if not rejected:
        return groups, [], is_complete
    kept: list[Group] = []
    removed: list[ImageRecord] = []
    for group in groups:
        reference = group.reference.record
        members: list[GroupMember] = []
        for m in group.members:
            if needs_check(m, near=near) and _key(reference, m) in rejected:
                removed.append(m.record)
            else:
                members.append(m)
        if len(members) == len(group.members):
            kept.append(group)
        elif len(members) >= min_members:
            kept.append(dataclasses.replace(group, members=tuple(members)))
    return kept, removed, is_complete


def _score_all(
    pairs: dict[_Key, MatchPair],
    request: ScanRequest,
    cancel: CancelToken,
    cache: CheckCache | None,
    counter: CheckCounter | None,
) -> dict[_Key, float]:
    """Scores by key, remembered or made now; a pair that fails to decode has none."""
    scores = {} if cache is None else dict(cache.check_scores(pairs, CHECK_VERSION))
    todo = {key: pair for key, pair in pairs.items() if key not in scores}
    if len(todo) < len(pairs):
        log.debug("%d of %d checks remembered", len(pairs) - len(todo), len(pairs))
    if not todo:
        return scores
    made: dict[_Key, float] = {}
    if counter is not None:
        counter.add_checks(len(todo))
    try:
        _score_new(todo, request, cancel, made, counter)
    finally:
        # Also when cancelled: what was scored is not scored again (the hashes are kept too).
        if cache is not None and made:
            cache.save_check_scores(made.items(), CHECK_VERSION)
    scores.update(made)
    return scores


def _score_new(
    pairs: dict[_Key, MatchPair],
    request: ScanRequest,
    cancel: CancelToken,
    scores: dict[_Key, float],
    counter: CheckCounter | None,
) -> None:
    """Score ``pairs`` in worker processes into ``scores``, as they come (so a cancel keeps
    what was made); a pair that fails to decode gets none."""
    key_of = {pair: key for key, pair in pairs.items()}
    with checking_pool(score_match, request, len(key_of), files_per_task=2) as pool:
        for pair, outcome in pool.imap_unordered(iter(key_of), cancel=cancel):
            if isinstance(outcome, TaskFailed):
                log.warning(
                    "cannot check the %s copy %r of %r (%s); kept as the hashes match",
                    pair.kind,
                    os.fsdecode(pair.member),
                    os.fsdecode(pair.reference),
                    outcome.detail,
                )
            else:
                scores[key_of[pair]] = outcome
            if counter is not None:
                counter.check_done()
