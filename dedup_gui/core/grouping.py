"""Groups image records into near-duplicate groups by perceptual-hash distance. No Qt."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dedup_gui.core.cancel import CancelToken, NeverCancelled
from dedup_gui.core.hamming import (
    Ints,
    Pairs,
    as_words,
    distinct_pairs,
    no_pairs,
    pack_words,
    runs,
    spread,
    unique_rows,
)
from dedup_gui.core.hash_tables import nearest_per_pair
from dedup_gui.core.ladder_search import CROPPED, LADDER_MAX_DISTANCE, ladder_pairs
from dedup_gui.core.model import Group, GroupMember, ImageRecord, Relation, Turn
from dedup_gui.core.turning import between, inverse

BestFirstKey = tuple[int, int, int, str, int, str]

_CANCEL_EVERY = 4096  # reference nodes between cancel checks

# _BETWEEN[s][t]: how B is turned relative to A when A turned by s looks like B turned by t.
_BETWEEN = np.array([[between(s, t) for t in Turn] for s in Turn], dtype=np.int64)
_INVERSE = np.array([*(inverse(t) for t in Turn), CROPPED], dtype=np.int64)
_TURNS = tuple(Turn)  # by value; indexing is cheaper than Turn(value) per member


def best_first_key(record: ImageRecord) -> BestFirstKey:
    """Sort key whose smallest value is the best copy to keep.

    Highest resolution first, then the largest file, then the oldest date taken (records
    without one after those with one), then the shortest path, then the path itself so the
    order never depends on input order.
    """
    path = str(record.path)
    # "YYYY-MM-DD HH:MM:SS" sorts chronologically as text.
    has_no_date = 0 if record.date_taken else 1
    return (-record.pixels, -record.size, has_no_date, record.date_taken or "", len(path), path)


def group_by_distance(
    records: Sequence[ImageRecord],
    max_distance: int,
    *,
    segment_bytes: int | None = None,
    match_turned: bool = False,
    match_crops: bool = False,
    not_duplicates: AbstractSet[frozenset[bytes]] = frozenset(),
    cancel: CancelToken = NeverCancelled(),  # noqa: B008 - immutable null object
) -> list[Group]:
    """Groups exact copies and images whose perceptual hashes are within ``max_distance``.

    No chaining: nodes (sets of exact copies) are visited best copy first; each one not yet
    grouped becomes a reference and takes every ungrouped node within ``max_distance`` of
    itself. So every member is within the threshold of its group's reference.

    Args:
        records: the hashed images.
        max_distance: the largest Hamming distance (in bits) that counts as near.
        segment_bytes: for multi-hash algorithms, the length of each segment hash;
            two records are near if any segment of one is near any segment of the other.
        match_turned: also group copies rotated or mirrored: two records are near if their
            upright hashes are (as with it off), or if any of their ``turned`` entries are (a
            record without entries counts its upright hash as a Turn.NONE one); at the smaller
            distance. Each member gets its ``turn`` relative to the reference. Nothing near
            with it off is apart with it on. Ignored for multi-hashes (``segment_bytes``).
        match_crops: also group cropped, watermarked and captioned copies: two records are
            also near if their upright hashes and ``ladder`` rungs are (``ladder_search``),
            within ``LADDER_MAX_DISTANCE`` at most. Such a member, unless near without the
            ladder, gets ``cropped=True`` and turn NONE, to be verified in fine detail.
            Ignored for multi-hashes.
        not_duplicates: pairs of content hashes the user said are different images.
        cancel: checked between stages and every few thousand nodes.

    Returns:
        Groups of at least two members, most reclaimable bytes first, then by reference path.

    Raises:
        ValueError: hashes of different lengths without ``segment_bytes``, or a hash whose
            length is not a multiple of ``segment_bytes``.
    """
    if max_distance < 0:
        raise ValueError(f"max_distance must be >= 0, not {max_distance}")
    nodes = _Nodes(records)
    cancel.check()
    turns = None
    turned = match_turned and any(r.turned for r in nodes.best)
    crops = match_crops and any(r.ladder for r in nodes.best)
    if segment_bytes is not None:
        node_class, pairs = _segment_classes(nodes.best, segment_bytes, max_distance, cancel)
    elif turned or crops:
        node_class, pairs, turns = _entry_classes(nodes.best, max_distance, (turned, crops), cancel)
    else:
        node_class, pairs = _hash_classes(nodes.best, max_distance, cancel)
    cancel.check()
    groups = _leader_groups(nodes, node_class, (pairs, turns), not_duplicates, cancel)
    groups.sort(key=lambda g: (-g.bytes_reclaimable, str(g.reference.record.path)))
    return groups


class _Nodes:
    """Records with equal content as one node each: its best copy, and all copies if several."""

    def __init__(self, records: Sequence[ImageRecord]) -> None:
        node_of: dict[bytes, int] = {}
        self.best: list[ImageRecord] = []
        self.copies: dict[int, list[ImageRecord]] = {}  # only nodes with several records
        for record in records:
            k = node_of.setdefault(record.content_hash, len(self.best))
            if k == len(self.best):
                self.best.append(record)
            else:
                self.copies.setdefault(k, [self.best[k]]).append(record)
        for k, copies in self.copies.items():
            copies.sort(key=best_first_key)
            self.best[k] = copies[0]

    def records(self, k: int) -> list[ImageRecord]:
        """Node k's records, best first."""
        return self.copies.get(k) or [self.best[k]]


def _hash_classes(
    best: list[ImageRecord], max_distance: int, cancel: CancelToken
) -> tuple[Ints, Pairs]:
    """Each node's class of equal perceptual hashes, and the near pairs of classes.

    A node without a perceptual hash gets a class of its own: it is near nothing.
    """
    hashed = [k for k, r in enumerate(best) if r.perceptual_hash]
    lengths = {len(best[k].perceptual_hash) for k in hashed}
    if len(lengths) > 1:
        raise ValueError(f"perceptual hashes differ in length: {sorted(lengths)} bytes")
    node_class = np.arange(len(best), dtype=np.int64)  # unhashed nodes keep these
    if not hashed:
        return node_class, no_pairs()
    hashes = [best[k].perceptual_hash for k in hashed]
    words, hashed_class = unique_rows(as_words(hashes, lengths.pop()))
    node_class += len(words)
    node_class[hashed] = hashed_class
    return node_class, distinct_pairs(words, max_distance, cancel)


def _segment_classes(
    best: list[ImageRecord], segment_bytes: int, max_distance: int, cancel: CancelToken
) -> tuple[Ints, Pairs]:
    """As _hash_classes, for multi-hashes: near if any segment is near any other segment."""
    classes: dict[bytes, int] = {}
    node_class = np.array(
        [
            classes.setdefault(r.perceptual_hash, len(classes)) if r.perceptual_hash else -1
            for r in best
        ],
        dtype=np.int64,
    )
    unhashed = node_class < 0
    node_class[unhashed] = len(classes) + np.arange(np.count_nonzero(unhashed))
    pairs = _segment_class_pairs(list(classes), segment_bytes, max_distance, cancel)
    return node_class, pairs


def _segment_class_pairs(
    hashes: list[bytes], segment_bytes: int, max_distance: int, cancel: CancelToken
) -> Pairs:
    """Pairs of multi-hashes with some segment near, at their smallest segment distance."""
    if segment_bytes <= 0:
        raise ValueError(f"segment_bytes must be > 0, not {segment_bytes}")
    segments: dict[bytes, int] = {}  # distinct segment -> its id
    owned: set[tuple[int, int]] = set()  # (segment id, hash class)
    for owner, full in enumerate(hashes):
        if len(full) % segment_bytes:
            raise ValueError(
                f"a {len(full)}-byte hash is not made of {segment_bytes}-byte segments"
            )
        for at in range(0, len(full), segment_bytes):
            owned.add((segments.setdefault(full[at : at + segment_bytes], len(segments)), owner))
    if not owned:
        return no_pairs()
    seg_of, owner_of = np.array(sorted(owned), dtype=np.int64).T
    distinct = distinct_pairs(as_words(list(segments), segment_bytes), max_distance, cancel)
    starts, counts = runs(seg_of)  # every segment id has an owner, so run k is segment k
    left, right, dist = spread(np.ascontiguousarray(owner_of), starts, counts, distinct)
    keep = left != right  # a hash is trivially near itself
    i, j, dist = np.minimum(left, right)[keep], np.maximum(left, right)[keep], dist[keep]
    return nearest_per_pair(i, j, dist, len(hashes))


def _entry_classes(
    best: list[ImageRecord], max_distance: int, kinds: tuple[bool, bool], cancel: CancelToken
) -> tuple[Ints, Pairs, Ints]:
    """As _hash_classes, comparing upright hashes as usual, and ``turned`` entries and
    ``ladder`` rungs too if ``kinds`` (turned, crops) say so.

    A class per distinct (upright hash, entries, ladder). Also returns, per pair (i, j), the
    turn that makes class j from class i, or CROPPED for a pair near only through the ladder.
    """
    lengths = {len(r.perceptual_hash) for r in best if r.perceptual_hash}
    if len(lengths) > 1:
        raise ValueError(f"perceptual hashes differ in length: {sorted(lengths)} bytes")
    classes: dict[tuple[bytes, bytes, bytes], int] = {}
    node_class = np.array([_class_of(r, classes, kinds) for r in best], dtype=np.int64)
    unhashed = node_class < 0
    node_class[unhashed] = len(classes) + np.arange(np.count_nonzero(unhashed))
    if not classes:
        return node_class, no_pairs(), np.empty(0, np.int64)
    # Upright hashes are compared with upright hashes, entries with entries. Entries alone
    # would lose copies: a hash's bits (pHash's median split) depend on the orientation, so
    # in the canonical one a copy can be a bit or two further than upright (turn_stability.py:
    # at distance 8, entries alone find 0.896 of edited copies, upright hashes 0.903). Two
    # searches rather than one over both leave fewer chances of a false match, and cost less:
    # the search time grows faster than the number of hashes.
    uprights, entries, ladders = zip(*classes, strict=True)
    hash_len = lengths.pop()
    blobs = [bytes([Turn.NONE]) + h if h else b"" for h in uprights]
    found = [_entry_pairs(blobs, hash_len, max_distance, cancel)]
    if kinds[0]:
        found.append(_entry_pairs(list(entries), hash_len, max_distance, cancel))
    if kinds[1]:
        radius = min(max_distance, LADDER_MAX_DISTANCE)
        li, lj, ld = ladder_pairs(uprights, ladders, hash_len, radius, cancel)
        found.append((li, lj, ld, np.full(len(li), CROPPED, np.int64)))
    oi, oj, dist, turn = (np.concatenate(parts) for parts in zip(*found, strict=True))
    key = oi * len(classes) + oj
    # Near without the ladder wins (no fine check needed), then the nearest, then the lowest
    # Turn (NONE first).
    by_key = np.lexsort((turn, dist, turn == CROPPED, key))
    first = by_key[runs(key[by_key])[0]]
    return node_class, (oi[first], oj[first], dist[first]), turn[first]


def _class_of(
    record: ImageRecord, classes: dict[tuple[bytes, bytes, bytes], int], kinds: tuple[bool, bool]
) -> int:
    """The class of ``record``'s hashes, -1 if it has none. Its entries (if ``kinds[0]``) are
    its ``turned`` ones, or if it has none (not computed), its upright hash as a NONE entry;
    its ladder counts if ``kinds[1]``."""
    upright = record.perceptual_hash
    entries = record.turned or (bytes([Turn.NONE]) + upright if upright else b"")
    key = (upright, entries if kinds[0] else b"", record.ladder if kinds[1] else b"")
    return classes.setdefault(key, len(classes)) if any(key) else -1


def _entry_pairs(
    blobs: list[bytes], hash_len: int, max_distance: int, cancel: CancelToken
) -> tuple[Ints, Ints, npt.NDArray[np.int32], Ints]:
    """(i, j, distance, turn) for entries of blob i near entries of blob j, i < j: blob j
    shows blob i turned by ``turn``. A pair may come several times, at different distances."""
    step = hash_len + 1
    counts = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    if np.any(counts % step):
        raise ValueError(f"turned hashes are not entries of 1 + {hash_len} bytes")
    table = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(-1, step)
    if np.any(table[:, 0] >= len(Turn)):
        raise ValueError("turned hashes name a turn that does not exist")
    if not len(table):
        return (*no_pairs(), np.empty(0, np.int64))
    owner = np.repeat(np.arange(len(blobs)), counts // step)
    words, entry_segment = unique_rows(pack_words(table[:, 1:]))
    near = distinct_pairs(words, max_distance, cancel)
    order = np.argsort(entry_segment, kind="stable")
    starts, sizes = runs(entry_segment[order])  # every segment has an entry: run k is segment k
    left, right, dist = spread(order, starts, sizes, near)
    oi, oj = owner[left], owner[right]
    keep = oi != oj  # entries of one picture are trivially near each other
    left, right, oi, oj, dist = left[keep], right[keep], oi[keep], oj[keep], dist[keep]
    turn = _BETWEEN[table[left, 0], table[right, 0]]
    swapped = oi > oj
    turn[swapped] = _INVERSE[turn[swapped]]
    return np.minimum(oi, oj), np.maximum(oi, oj), dist, turn


def _leader_groups(
    nodes: _Nodes,
    node_class: Ints,
    near: tuple[Pairs, Ints | None],
    not_duplicates: AbstractSet[frozenset[bytes]],
    cancel: CancelToken,
) -> list[Group]:
    """Leader clustering: the best ungrouped node takes its ungrouped neighbours."""
    pairs, turns = near
    neighbours = _adjacency(pairs, turns)
    ranked = _ranked_nodes(nodes, node_class, pairs)
    class_of = dict(zip(ranked, node_class[ranked].tolist(), strict=True))
    ungrouped: dict[int, list[int]] = {}  # class -> its nodes, less some already grouped
    for k in ranked:
        ungrouped.setdefault(class_of[k], []).append(k)
    is_apart = _apart_test(nodes.best, not_duplicates)
    grouped = bytearray(len(nodes.best))
    groups: list[Group] = []
    for count, ref in enumerate(ranked):
        if count % _CANCEL_EVERY == 0:
            cancel.check()
        if grouped[ref]:
            continue
        grouped[ref] = 1
        taken: list[tuple[int, int, int]] = []
        for cls, dist, turn in [(class_of[ref], 0, 0), *neighbours.get(class_of[ref], ())]:
            kept_apart = []
            for k in ungrouped.get(cls, ()):
                if grouped[k]:
                    continue
                if is_apart(ref, k):
                    kept_apart.append(k)
                else:
                    grouped[k] = 1
                    taken.append((k, dist, turn))
            ungrouped[cls] = kept_apart  # drops the grouped, so each is walked past once
        if taken or ref in nodes.copies:
            groups.append(_make_group(nodes, ref, taken))
    return groups


def _adjacency(pairs: Pairs, turns: Ints | None) -> dict[int, list[tuple[int, int, int]]]:
    """Near classes of each class that has any, with their distance and turn (relative to it)."""
    ci, cj, dist = (a.tolist() for a in pairs)
    neighbours: dict[int, list[tuple[int, int, int]]] = {}
    if turns is None:
        for a, b, d in zip(ci, cj, dist, strict=True):
            neighbours.setdefault(a, []).append((b, d, 0))
            neighbours.setdefault(b, []).append((a, d, 0))
        return neighbours
    back = _INVERSE[turns].tolist()
    for a, b, d, t, u in zip(ci, cj, dist, turns.tolist(), back, strict=True):
        neighbours.setdefault(a, []).append((b, d, t))
        neighbours.setdefault(b, []).append((a, d, u))
    return neighbours


def _ranked_nodes(nodes: _Nodes, node_class: Ints, pairs: Pairs) -> list[int]:
    """Nodes that could join a group, best first. Most nodes of a big scan can't: skip them."""
    classes = int(node_class.max()) + 1 if len(node_class) else 0
    near = np.bincount(np.concatenate(pairs[:2]), minlength=classes) > 0
    shared = np.bincount(node_class, minlength=classes) > 1
    could_group = near[node_class] | shared[node_class]
    could_group[list(nodes.copies)] = True
    return sorted(np.flatnonzero(could_group).tolist(), key=lambda k: best_first_key(nodes.best[k]))


def _apart_test(
    best: list[ImageRecord], not_duplicates: AbstractSet[frozenset[bytes]]
) -> Callable[[int, int], bool]:
    """Whether the user said two nodes are different images."""
    apart: dict[bytes, set[bytes]] = {}
    for pair in not_duplicates:
        if len(pair) == 2:
            a, b = pair
            apart.setdefault(a, set()).add(b)
            apart.setdefault(b, set()).add(a)
    if not apart:
        return lambda ref, other: False
    return lambda ref, other: best[other].content_hash in apart.get(best[ref].content_hash, ())


def _make_group(nodes: _Nodes, ref: int, taken: list[tuple[int, int, int]]) -> Group:
    best, *copies = nodes.records(ref)
    near = [(d, r) for k, d, _ in taken for r in nodes.records(k)]
    turns = {r.path: _TURNS[t] for k, _, t in taken if 0 < t < CROPPED for r in nodes.records(k)}
    cropped = {r.path for k, _, t in taken if t == CROPPED for r in nodes.records(k)}
    return make_group(best, copies, near, turns=turns, cropped=cropped)


def make_group(
    reference: ImageRecord,
    exact: Iterable[ImageRecord],
    near: Iterable[tuple[int, ImageRecord]],
    *,
    turns: Mapping[Path, Turn] | None = None,
    cropped: AbstractSet[Path] = frozenset(),
) -> Group:
    """The one way members are labelled, for scans and for queries alike.

    Args:
        reference: the group's reference (a scan's best copy, or a query's photo).
        exact: files with the reference's content, labelled EXACT at distance 0.
        near: (distance, record) of the other files, labelled NEAR; listed nearest first,
            then best copy first. ``pixels.label_same_pixels`` may relabel some later.
        turns: by path, how a near file is the reference turned; NONE if not listed.
        cropped: paths of near files matched through the crop ladder (to be verified).
    """
    turn_of = turns or {}
    members = [GroupMember(reference, Relation.REFERENCE, 0)]
    members += [GroupMember(r, Relation.EXACT, 0) for r in sorted(exact, key=best_first_key)]
    ranked = sorted(((d, best_first_key(r), r) for d, r in near), key=lambda item: item[:2])
    members += [
        GroupMember(r, Relation.NEAR, d, turn_of.get(r.path, Turn.NONE), cropped=r.path in cropped)
        for d, _, r in ranked
    ]
    return Group(tuple(members))
