"""The user's keep/trash marks per file, and which copy to keep by default. No Qt."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dedup_gui.core.grouping import best_first_key
from dedup_gui.core.model import Group, GroupMember, ImageRecord


class Mark(str, Enum):
    KEEP = "keep"
    TRASH = "trash"


@dataclass(frozen=True, slots=True)
class KeepRule:
    """How copies to keep are chosen."""

    protected_roots: tuple[Path, ...] = ()  # reference folders: never marked for trash


def is_protected(path: Path, protected_roots: Sequence[Path]) -> bool:
    """True if ``path`` is one of ``protected_roots`` or lies under one, comparing whole parts.

    Pure path logic ("/photos/ref" does not protect "/photos/reference"); no file system access,
    so links are not resolved here.
    """
    # Path equality (and so `in parents`) follows the platform's case rules.
    return any(root == path or root in path.parents for root in protected_roots)


def suggest_keeper(group: Group, rule: KeepRule) -> GroupMember:
    """The member to keep: one in a protected folder if any, then the best by ``best_first_key``."""
    return min(
        group.members,
        key=lambda m: (
            not is_protected(m.record.path, rule.protected_roots),
            best_first_key(m.record),
        ),
    )


class Decisions:
    """The user's marks, keyed by path. Mutable; lives on the GUI thread; no Qt.

    Invariant: a path under a protected root is never marked TRASH.
    """

    def __init__(self, rule: KeepRule = KeepRule()) -> None:
        self._rule = rule
        self._marks: dict[Path, Mark] = {}

    @property
    def rule(self) -> KeepRule:
        return self._rule

    @rule.setter
    def rule(self, rule: KeepRule) -> None:
        """Sets the rule; files that just became protected lose any TRASH mark (become KEEP)."""
        self._rule = rule
        for path, mark in self._marks.items():
            if mark is Mark.TRASH and self._is_protected(path):
                self._marks[path] = Mark.KEEP

    def apply_rule(self, groups: Iterable[Group]) -> None:
        """Marks the suggested keeper of each group KEEP and the others TRASH (protected: KEEP)."""
        for group in groups:
            keeper = suggest_keeper(group, self._rule)
            for member in group.members:
                path = member.record.path
                keep = member is keeper or self._is_protected(path)
                self._marks[path] = Mark.KEEP if keep else Mark.TRASH

    def mark_of(self, path: Path) -> Mark | None:
        """The mark on ``path``; None if it is unmarked."""
        return self._marks.get(path)

    def set_mark(self, path: Path, mark: Mark | None) -> bool:
        """Sets (or with None removes) a mark; refuses TRASH on a protected path.

        Returns:
            False, with nothing changed, if TRASH was asked for a protected path; else True.
        """
        if mark is None:
            self._marks.pop(path, None)
            return True
        if mark is Mark.TRASH and self._is_protected(path):
            return False
        self._marks[path] = mark
        return True

    def toggle(self, path: Path) -> Mark | None:
        """Flips KEEP and TRASH (an unmarked file becomes TRASH); a protected file stays KEEP.

        Returns:
            The new mark.
        """
        if self._is_protected(path):
            new = Mark.KEEP
        else:
            new = Mark.KEEP if self._marks.get(path) is Mark.TRASH else Mark.TRASH
        self._marks[path] = new
        return new

    def clear(self, groups: Iterable[Group] | None = None) -> None:
        """Unmarks every file, or only the members of ``groups``."""
        if groups is None:
            self._marks.clear()
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
        """Drops the marks of these paths (e.g. files that were trashed)."""
        for path in paths:
            self._marks.pop(path, None)

    def _is_protected(self, path: Path) -> bool:
        return is_protected(path, self._rule.protected_roots)
