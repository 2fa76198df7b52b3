"""The user's keep/trash marks per file, and which copy to keep by default. No Qt."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dedup_gui.core.grouping import best_first_key
from dedup_gui.core.kinds import group_kind
from dedup_gui.core.model import Group, GroupKind, GroupMember, ImageRecord
from dedup_gui.core.scanning import RAW_EXTENSIONS


class Mark(str, Enum):
    KEEP = "keep"
    TRASH = "trash"


@dataclass(frozen=True, slots=True)
class KeepRule:
    """How copies to keep are chosen, in this order: a protected copy, then one in a preferred
    folder, then a RAW, then an edited one, then the best copy (see ``keep_key``)."""

    protected_roots: tuple[Path, ...] = ()  # reference folders: never marked for trash
    preferred_folders: tuple[Path, ...] = ()  # earlier folders are preferred to later ones
    prefer_raw: bool = False
    prefer_edited: bool = False  # has XMP (embedded or a sidecar): worked on in an editor
    prefer_resolution: bool = True  # False: the original (oldest) copy, whatever its size
    # False: a RAW and its JPEG (GroupMember.partner) are one photo, kept or trashed together.
    pairs_as_duplicates: bool = False


def is_protected(path: Path, protected_roots: Sequence[Path]) -> bool:
    """True if ``path`` is one of ``protected_roots`` or lies under one, comparing whole parts.

    Pure path logic ("/photos/ref" does not protect "/photos/reference"); no file system access,
    so links are not resolved here.
    """
    # Path equality (and so `in parents`) follows the platform's case rules.
    return any(root == path or root in path.parents for root in protected_roots)


def is_raw(record: ImageRecord) -> bool:
    """True for camera RAW files (by suffix, as the walk knows them)."""
    return record.path.suffix.lower() in RAW_EXTENSIONS


def is_edited(record: ImageRecord) -> bool:
    """True if the file has XMP, embedded or in a sidecar: a photo editor worked on it."""
    return record.facts.has_xmp or bool(record.sidecars)


def oldest_first_key(record: ImageRecord) -> tuple[int, str, int, int, int, str]:
    """Sort key whose smallest value is the original copy, whatever its resolution.

    For ``prefer_resolution=False``: people turn resolution off when a copy was enlarged or
    exported bigger than the original. The earliest date taken (copies keep it or lose it),
    then the oldest file (a copy is written after its original), then the largest file (the
    least compressed), then the shortest path, then the path itself.
    """
    path = str(record.path)
    has_no_date = 0 if record.date_taken else 1
    date = record.date_taken or ""
    return (has_no_date, date, record.mtime_ns, -record.size, len(path), path)


def keep_key(record: ImageRecord, rule: KeepRule) -> tuple[int | str, ...]:
    """Sort key whose smallest value is the copy ``rule`` keeps."""
    folder_rank = next(
        (
            k
            for k, folder in enumerate(rule.preferred_folders)
            if is_protected(record.path, [folder])
        ),
        len(rule.preferred_folders),
    )
    quality = best_first_key(record) if rule.prefer_resolution else oldest_first_key(record)
    return (
        int(not is_protected(record.path, rule.protected_roots)),
        folder_rank,
        int(rule.prefer_raw and not is_raw(record)),
        int(rule.prefer_edited and not is_edited(record)),
        *quality,
    )


def suggest_keeper(group: Group, rule: KeepRule) -> GroupMember:
    """The member to keep, by ``keep_key``: never depends on the members' order."""
    return min(group.members, key=lambda m: keep_key(m.record, rule))


class Decisions:
    """The user's marks, keyed by path. Mutable; lives on the GUI thread; no Qt.

    Invariants: a path under a protected root is never marked TRASH; unless the rule says
    ``pairs_as_duplicates``, a RAW and its JPEG (partners seen in the groups given to
    ``apply_rule`` or ``learn_pairs``) always carry the same mark: one photo, as in Lightroom
    Classic, which stacks the pair and deletes both together.
    """

    def __init__(self, rule: KeepRule = KeepRule()) -> None:
        self._rule = rule
        self._marks: dict[Path, Mark] = {}
        self._partners: dict[Path, Path] = {}
        # Paths the user marked or unmarked, as opposed to the rule: a new rule leaves their
        # groups alone (``reapply_rule``).
        self._by_hand: set[Path] = set()

    @property
    def rule(self) -> KeepRule:
        return self._rule

    @rule.setter
    def rule(self, rule: KeepRule) -> None:
        """Sets the rule; files that just became protected lose any TRASH mark (become KEEP),
        and so does the partner of a kept file (a pair is not split by a rule change)."""
        self._rule = rule
        for path, mark in list(self._marks.items()):
            if mark is Mark.TRASH and self._is_protected(path):
                self._marks[path] = Mark.KEEP
        if not rule.pairs_as_duplicates:
            for path, mark in list(self._marks.items()):
                partner = self._partners.get(path)
                if mark is Mark.KEEP and partner is not None and partner in self._marks:
                    self._marks[partner] = Mark.KEEP

    def learn_pairs(self, groups: Iterable[Group]) -> None:
        """Remembers the RAW+JPEG partners in ``groups`` (``GroupMember.partner``)."""
        for group in groups:
            for member in group.members:
                if member.partner is not None:
                    self._partners[member.record.path] = member.partner
                    self._partners[member.partner] = member.record.path

    def partner_of(self, path: Path) -> Path | None:
        """The RAW or JPEG marked together with ``path``; None if none, or if the rule treats
        pairs as duplicates (then each file is marked on its own)."""
        if self._rule.pairs_as_duplicates:
            return None
        return self._partners.get(path)

    def apply_rule(self, groups: Iterable[Group]) -> None:
        """Marks each group's suggested keeper KEEP, and the others TRASH.

        Protected members, and the partner of any kept member (unless pairs are duplicates),
        are KEEP too. In a SIMILAR group (maybe different shots, such as a burst) the others
        are left unmarked instead: the user decides, so no photo is lost by accident.
        """
        for group in groups:
            self.learn_pairs([group])
            keeper = suggest_keeper(group, self._rule)
            kept = {
                m.record.path
                for m in group.members
                if m is keeper or self._is_protected(m.record.path)
            }
            kept |= {p for p in (self.partner_of(path) for path in list(kept)) if p is not None}
            similar = group_kind(group) is GroupKind.SIMILAR
            for member in group.members:
                path = member.record.path
                self._by_hand.discard(path)
                if path in kept:
                    self._marks[path] = Mark.KEEP
                elif similar:
                    self._marks.pop(path, None)
                else:
                    self._marks[path] = Mark.TRASH

    def reapply_rule(self, groups: Iterable[Group]) -> list[Group]:
        """After the rule changed: marks again the groups the rule marked and the user did not
        touch since. A group with no mark (never marked, or cleared) stays unmarked; a group
        with a member the user marked or unmarked by hand keeps all its marks.

        Returns:
            The groups marked again.
        """
        redo = [
            g
            for g in groups
            if any(m.record.path in self._marks for m in g.members)
            and not any(m.record.path in self._by_hand for m in g.members)
        ]
        self.apply_rule(redo)
        return redo

    def mark_of(self, path: Path) -> Mark | None:
        """The mark on ``path``; None if it is unmarked."""
        return self._marks.get(path)

    def set_mark(self, path: Path, mark: Mark | None) -> bool:
        """Sets (or with None removes) a mark, on ``path`` and its partner (see ``partner_of``);
        refuses TRASH when either is protected.

        Returns:
            False, with nothing changed, if TRASH was asked for a protected path (or the
            partner of one); else True.
        """
        paths = self._with_partner(path)
        if mark is Mark.TRASH and any(self._is_protected(p) for p in paths):
            return False
        for p in paths:
            if mark is None:
                self._marks.pop(p, None)
            else:
                self._marks[p] = mark
        self._by_hand.update(paths)
        return True

    def toggle(self, path: Path) -> Mark | None:
        """Flips KEEP and TRASH (an unmarked file becomes TRASH); a protected file stays KEEP.
        The partner (see ``partner_of``) gets the same new mark.

        Returns:
            The new mark.
        """
        paths = self._with_partner(path)
        if any(self._is_protected(p) for p in paths):
            new = Mark.KEEP
        else:
            new = Mark.KEEP if self._marks.get(path) is Mark.TRASH else Mark.TRASH
        for p in paths:
            self._marks[p] = new
        self._by_hand.update(paths)
        return new

    def clear(self, groups: Iterable[Group] | None = None) -> None:
        """Unmarks every file, or only the members of ``groups``."""
        if groups is None:
            self._marks.clear()
            self._by_hand.clear()
            return
        self.forget(m.record.path for g in groups for m in g.members)

    def marked_for_trash(self, groups: Iterable[Group]) -> list[ImageRecord]:
        """Members of ``groups`` marked TRASH, in group order, each file once."""
        seen: set[Path] = set()
        records: list[ImageRecord] = []
        for group in groups:
            for member in group.members:
                path = member.record.path
                if path in seen or self._marks.get(path) is not Mark.TRASH:
                    continue
                if self._is_protected(path):  # defence in depth; the invariant says never
                    continue
                seen.add(path)
                records.append(member.record)
        return records

    def groups_without_keeper(self, groups: Iterable[Group]) -> list[Group]:
        """Groups whose every member is marked TRASH: trashing them needs explicit confirmation."""
        return [
            g
            for g in groups
            if all(self._marks.get(m.record.path) is Mark.TRASH for m in g.members)
        ]

    def forget(self, paths: Iterable[Path]) -> None:
        """Drops the marks (and pair links) of these paths (e.g. files that were trashed)."""
        for path in paths:
            self._marks.pop(path, None)
            self._by_hand.discard(path)
            partner = self._partners.pop(path, None)
            if partner is not None and self._partners.get(partner) == path:
                del self._partners[partner]

    def _with_partner(self, path: Path) -> tuple[Path, ...]:
        partner = self.partner_of(path)
        return (path,) if partner is None else (path, partner)

    def _is_protected(self, path: Path) -> bool:
        return is_protected(path, self._rule.protected_roots)
