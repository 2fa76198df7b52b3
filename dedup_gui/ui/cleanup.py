"""Acting on marks: confirm, move to the Trash (or a folder) off the GUI thread, undo."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from dedup_gui.core.actions import ActionReport, RestoreReport, TrashedFile
from dedup_gui.core.decisions import Decisions
from dedup_gui.core.formatting import display_name, human_count, human_size
from dedup_gui.core.model import Group, ImageRecord, Problem
from dedup_gui.ui.action_controller import ActionController
from dedup_gui.ui.models import GroupListModel, regroup

Confirm = Callable[[str, str], bool]  # (title, question) -> the user said yes
_MAX_LISTED_FAILURES = 3


def failures_text(failed: Sequence[Problem]) -> str:
    """ "2 could not be moved: a.jpg: changed since the scan; b.jpg: …" """
    listed = "; ".join(f"{display_name(p.path)}: {p.detail}" for p in failed[:_MAX_LISTED_FAILURES])
    more = len(failed) - _MAX_LISTED_FAILURES
    return f"{len(failed)} could not be moved: {listed}" + (
        f"; and {more} more" if more > 0 else ""
    )


def trashed_text(report: ActionReport, where: str = "Trash") -> str:
    """ "212 photos (1.4 GB) moved to Trash; 2 could not be moved: …" """
    size = human_size(report.bytes_done)
    text = f"{human_count(len(report.done), 'photo')} ({size})"
    if report.sidecars_done:
        text += f" and {human_count(len(report.sidecars_done), '.xmp sidecar')}"
    text += f" moved to {where}"
    if report.cancelled:
        text += " before you stopped it"
    if report.failed:
        text += "; " + failures_text(report.failed)
    return text + _sidecar_failures(report.sidecars_failed)


def _sidecar_failures(problems: Sequence[Problem]) -> str:
    # Each detail is a whole sentence naming the photo and where each one is now.
    return "".join(f"; {p.detail}" for p in problems)


class CleanupFlow(QObject):
    """Moves marked photos away after confirmation, updates the models, and undoes the last batch.

    ``confirm`` asks the user a yes/no question; tests replace it to answer without a dialog.
    """

    message = Signal(str)  # a result for the status bar
    busy_changed = Signal(bool)
    undo_available = Signal(bool)

    def __init__(
        self,
        controller: ActionController,
        groups: GroupListModel,
        decisions: Decisions,
        confirm: Confirm,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._groups = groups
        self._decisions = decisions
        self.confirm = confirm
        self._destination: str = "Trash"
        self._last_batch: tuple[TrashedFile, ...] = ()
        # The groups shown before the last batch moved; None if it came from an earlier run.
        self._groups_before: tuple[Group, ...] | None = None
        self._is_undoing_last = False
        controller.trashed.connect(self._on_controller_trashed)
        controller.restored.connect(self._on_controller_restored)
        controller.failed.connect(self._on_controller_failed)

    @property
    def can_undo(self) -> bool:
        return bool(self._last_batch)

    # -- trash / move -------------------------------------------------------------------------
    def records_to_move(self) -> list[ImageRecord] | None:
        """The marked files, after the extra question for groups with no copy kept.

        Returns None if the user cancelled; groups whose every photo is marked are skipped
        unless the user confirms them explicitly.
        """
        groups = self._groups.groups()
        records = self._decisions.marked_for_trash(groups)
        if not records:
            self.message.emit(
                "Nothing is marked for the Trash. Mark copies with T or Space, "
                "or use “Apply rule to all groups”."
            )
            return None
        unkept = self._decisions.groups_without_keeper(groups)
        if unkept and not self.confirm(
            "Remove every copy?",
            f"In {human_count(len(unkept), 'group')} every photo is marked, so no copy of "
            "that picture would be kept.\n\nMove all of them anyway?\n\n"
            "Choose No to keep those groups as they are and move only the others.",
        ):
            skipped = {m.record.path for g in unkept for m in g.members}
            records = [r for r in records if r.path not in skipped]
            if not records:
                self.message.emit(
                    "Nothing moved: every marked photo was in a group with no copy kept."
                )
                return None
        return records

    def _confirmed_records(
        self, title: str, where: str, note: str = ""
    ) -> list[ImageRecord] | None:
        """The marked photos to move once the user said yes; None if busy, none, or a no.

        ``where`` ends the question ("the Trash", a folder); the size counts only what moving
        frees: a hard-linked file's bytes stay under its other names.
        """
        if self._controller.is_running:
            return None
        records = self.records_to_move()
        if records is None:
            return None
        linked = self._groups.linked
        freed = sum(r.size for r in records if r.path not in linked)
        question = f"Move {human_count(len(records), 'photo')} ({human_size(freed)}) to {where}?"
        if any(r.sidecars for r in records):
            # A shared IMG_1.xmp stays while another photo of that name stays (core/sidecars.py).
            question += "\nTheir .xmp sidecar files go with them."
        return records if self.confirm(title, question + note) else None

    def trash_marked(self, protected_roots: Sequence[Path]) -> bool:
        """Asks, then sends the marked photos to the Trash in the background."""
        records = self._confirmed_records(
            "Move to Trash?",
            "the Trash",
            "\n\nYou can put them back with “Restore last trashed” or from the Trash.",
        )
        if records is None:
            return False
        self._start("Trash")
        self._controller.trash(records, tuple(protected_roots))
        return True

    def move_marked(self, destination: Path, protected_roots: Sequence[Path]) -> bool:
        """Like trash_marked, into ``destination`` (for drives without a Trash)."""
        records = self._confirmed_records("Move to folder?", str(destination))
        if records is None:
            return False
        self._start(str(destination))
        self._controller.move(records, destination, tuple(protected_roots))
        return True

    def _start(self, destination: str) -> None:
        self._destination = destination
        self._groups_before = self._groups.groups()
        self.busy_changed.emit(True)
        self.undo_available.emit(False)

    def _on_controller_trashed(self, report: ActionReport) -> None:
        self.busy_changed.emit(False)
        paths = {f.original for f in report.done}
        self._groups.remove_paths(paths)
        self._decisions.forget(paths)
        if report.done:
            self._last_batch = report.done
        self.undo_available.emit(self.can_undo)
        self.message.emit(trashed_text(report, self._destination))

    # -- undo ---------------------------------------------------------------------------------
    def set_undoable(self, files: Sequence[TrashedFile]) -> None:
        """Offers ``files`` (from the journal: an earlier run's last batch) to restore_last."""
        if self._controller.is_running:
            return  # the batch being moved now becomes the one to undo
        self._last_batch = tuple(files)
        self._groups_before = None
        self.undo_available.emit(self.can_undo)

    def restore_last(self) -> bool:
        if not self.can_undo:
            return False
        return self._restore(self._last_batch, is_last=True)

    def restore_files(self, files: Sequence[TrashedFile]) -> bool:
        """Puts back other files than the last batch's (those of an interrupted batch)."""
        return bool(files) and self._restore(tuple(files), is_last=False)

    def _restore(self, files: tuple[TrashedFile, ...], *, is_last: bool) -> bool:
        if self._controller.is_running:
            self.message.emit("Still moving files; try again when that is done.")
            return False
        self._is_undoing_last = is_last
        self.busy_changed.emit(True)
        self.undo_available.emit(False)
        self._controller.restore(files)
        return True

    def _on_controller_restored(self, report: RestoreReport) -> None:
        self.busy_changed.emit(False)
        restored = set(report.restored)
        still_gone = {f.original for f in self._last_batch} - restored
        regrouped = self._is_undoing_last and self._groups_before is not None
        if restored and self._groups_before is not None and self._is_undoing_last:
            self._show_groups_as_before(self._groups_before, still_gone)
        # Whatever could not be restored stays available to try again.
        self._last_batch = tuple(f for f in self._last_batch if f.original in still_gone)
        self.undo_available.emit(self.can_undo)
        text = f"{human_count(len(restored), 'photo')} put back"
        if report.sidecars_restored:
            text += f" with {human_count(len(report.sidecars_restored), '.xmp sidecar')}"
        if restored and not regrouped:
            text += " (scan again to see them in their groups)"
        if report.failed:
            text += "; " + failures_text(report.failed).replace("moved", "put back")
        self.message.emit(text + _sidecar_failures(report.sidecars_failed))

    def _show_groups_as_before(self, before: tuple[Group, ...], still_gone: set[Path]) -> None:
        """Shows the groups as they were before the move, less files that are still away.

        HACK: groups hidden as "not duplicates" after the move come back too, until the next
        scan; undo is meant right after a move.
        """
        groups = []
        for group in before:
            kept = [m for m in group.members if m.record.path not in still_gone]
            if len(kept) >= 2:
                groups.append(group if len(kept) == len(group.members) else regroup(group, kept))
        groups.sort(key=lambda g: -g.bytes_reclaimable)
        self._groups.set_groups(groups)

    def _on_controller_failed(self, text: str) -> None:
        self.busy_changed.emit(False)
        self.undo_available.emit(self.can_undo)
        self.message.emit(f"Could not finish: {text}")
