"""The main window: layout, drag and drop, and wiring of panels, models and controllers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dedup_gui.core.decisions import Decisions
from dedup_gui.core.formatting import human_count
from dedup_gui.core.model import ScanProgress, ScanReport
from dedup_gui.ui import icons, not_duplicates
from dedup_gui.ui.action_controller import ActionController
from dedup_gui.ui.cleanup import CleanupFlow
from dedup_gui.ui.compare_dialog import CompareDialog
from dedup_gui.ui.desktop import FileRevealer, open_file
from dedup_gui.ui.drop_zone import (
    ALL_HANDLED_MESSAGE,
    READY_MESSAGE,
    SCANNING_MESSAGE,
    DropZone,
    classify_drop,
)
from dedup_gui.ui.export_file import ask_export_path, export_text
from dedup_gui.ui.find_controller import FindController, FindResult
from dedup_gui.ui.folder_panel import FolderPanel
from dedup_gui.ui.interrupted_batch import InterruptedBanner, InterruptedBatches
from dedup_gui.ui.models import GroupListModel, MemberModel
from dedup_gui.ui.problems_panel import ProblemsView
from dedup_gui.ui.review_panel import ReviewPanel
from dedup_gui.ui.scan_controller import ScanController
from dedup_gui.ui.scan_panel import ScanPanel
from dedup_gui.ui.settings import Settings, Similarity
from dedup_gui.ui.settings_dialog import SettingsDialog
from dedup_gui.ui.thumbnail_loader import ThumbnailLoader
from dedup_gui.ui.window_actions import build_menus, build_toolbar, make_actions, show_about

APP_TITLE = "Duplicate Photos"
_PAGE_WELCOME, _PAGE_REVIEW = 0, 1
_PHOTO_FILTER = (
    "Photos (*.jpg *.jpeg *.png *.heic *.heif *.webp *.avif *.tif *.tiff *.gif *.bmp *.dng);;"
    "All files (*)"
)

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Wires the panels to the models and controllers; decisions live in core."""

    def __init__(
        self,
        settings: Settings,
        db_path: Path,
        *,
        thumbnails: ThumbnailLoader | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(icons.app_icon())
        self.setAcceptDrops(True)
        self._settings = settings
        self._db_path = db_path
        self._last_report: ScanReport | None = None
        self.decisions = Decisions(settings.keep_rule())
        self.thumbnails = thumbnails or ThumbnailLoader(self)
        self.groups = GroupListModel(self.decisions, self.thumbnails, self)
        self.members = MemberModel(self.decisions, self.thumbnails, self)
        self.scan_controller = ScanController(db_path, self)
        self.find_controller = FindController(db_path, self)
        # The worker also forgets moved files in the store, with its own connection.
        self.action_controller = ActionController(self, db_path=db_path)
        self.cleanup = CleanupFlow(
            self.action_controller,
            self.groups,
            self.decisions,
            lambda title, text: self.confirm(title, text),
            self,
        )
        self._revealer = FileRevealer(self)
        self.actions_ = make_actions(self)
        self._build_layout()
        build_toolbar(self, self.actions_)
        build_menus(self, self.actions_)
        self.interrupted = InterruptedBatches(db_path, self.cleanup, self.interrupted_banner, self)
        self._connect_actions()
        self._connect_panels()
        self._load_settings()
        self.interrupted.check()  # a batch cut short by a crash, and undo from the last run
        self._update_state()

    # -- layout -------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.folder_panel = FolderPanel()
        self.drop_zone = DropZone()
        self.scan_panel = ScanPanel()
        self.scan_panel.hide()
        self.interrupted_banner = InterruptedBanner()
        self.review = ReviewPanel(self.groups, self.members)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.drop_zone)
        self.pages.addWidget(self.review)
        right = QWidget()
        layout = QVBoxLayout(right)
        layout.setContentsMargins(6, 10, 10, 6)
        layout.addWidget(self.interrupted_banner)
        layout.addWidget(self.scan_panel)
        layout.addWidget(self.pages, 1)
        # Sidebar: folders above, groups below; the photos of a group get the rest.
        self.sidebar = QWidget()
        column = QVBoxLayout(self.sidebar)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.folder_panel)
        column.addWidget(self.review.group_column, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([380, 900])  # room for a file name beside its kind
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self.problems_view = ProblemsView()
        self.problems_dock = QDockWidget("Problems", self)
        self.problems_dock.setObjectName("problems_dock")
        self.problems_dock.setWidget(self.problems_view)
        self.problems_dock.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.problems_dock)
        self.problems_dock.hide()

    def _connect_actions(self) -> None:
        a = self.actions_
        a.add_folder.triggered.connect(self.ask_for_folder)
        a.scan.triggered.connect(self.start_scan)
        a.find.triggered.connect(self.ask_for_photos)
        a.apply_rule.triggered.connect(self.apply_rule)
        a.clear_marks.triggered.connect(self.clear_marks)
        a.trash.triggered.connect(self.trash_marked)
        a.move.triggered.connect(self.move_marked)
        a.restore.triggered.connect(self.cleanup.restore_last)
        a.export.triggered.connect(self.export_groups)
        a.problems.toggled.connect(self._on_problems_toggled)
        self.problems_dock.visibilityChanged.connect(a.problems.setChecked)
        a.preferences.triggered.connect(self.show_preferences)
        a.about.triggered.connect(self.show_about)
        a.quit.triggered.connect(self.close)

    def _connect_panels(self) -> None:
        self.drop_zone.add_folder_requested.connect(self.ask_for_folder)
        self.folder_panel.add_requested.connect(self.ask_for_folder)
        self.folder_panel.scan_requested.connect(self.start_scan)
        self.folder_panel.folders_changed.connect(self._on_folder_panel_folders_changed)
        self.folder_panel.similarity_changed.connect(self._on_folder_panel_similarity_changed)
        self.scan_panel.cancel_requested.connect(self.scan_controller.cancel)

        self.scan_controller.started.connect(self._on_scan_started)
        self.scan_controller.progressed.connect(self._on_scan_progressed)
        self.scan_controller.completed.connect(self._on_scan_completed)
        self.scan_controller.failed.connect(self._on_scan_failed)
        self.find_controller.started.connect(self._update_state)
        self.find_controller.completed.connect(self._on_find_completed)
        self.find_controller.failed.connect(self._on_find_failed)
        # The library changed: the next query loads its index again.
        for changed in (
            self.scan_controller.completed,
            self.action_controller.trashed,
            self.action_controller.restored,
        ):
            changed.connect(self.find_controller.invalidate)

        self.review.compare_requested.connect(self.compare_member)
        self.review.open_requested.connect(self.open_path)
        self.review.reveal_requested.connect(self.reveal_path)
        self.review.dismiss_group_requested.connect(self.dismiss_current_group)
        self.review.dismiss_member_requested.connect(self.dismiss_member)
        self.review.message.connect(self.show_message)
        self.problems_view.open_requested.connect(self.open_path)
        self.problems_view.reveal_requested.connect(self.reveal_path)

        self.cleanup.message.connect(lambda text: self.show_message(text, 0))
        self.interrupted.message.connect(lambda text: self.show_message(text, 0))
        self.cleanup.busy_changed.connect(self._update_state)
        self.cleanup.undo_available.connect(self._update_state)
        self.action_controller.progressed.connect(self._on_action_progressed)
        # Not dataChanged: a group that shrank changes no button, and thumbnails arrive often.
        for signal in (self.groups.modelReset, self.groups.rowsRemoved):
            signal.connect(self._update_state)

    def _on_problems_toggled(self, visible: bool) -> None:
        self.problems_dock.setVisible(visible)
        if visible and self.problems_dock.height() > self.height() // 3:
            # A dock opens at half the window by default; a few rows are enough.
            self.resizeDocks([self.problems_dock], [180], Qt.Orientation.Vertical)

    def confirm(self, title: str, text: str) -> bool:
        """Asks a yes/no question; tests replace this attribute to answer without a dialog."""
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    # -- settings -----------------------------------------------------------------------------
    def _load_settings(self) -> None:
        self.folder_panel.set_folders(self._settings.folders())
        self.folder_panel.set_similarity(self._settings.similarity())
        geometry = self._settings.window_geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        state = self._settings.window_state()
        if state is not None:
            self.restoreState(state)
        saved = self._settings.splitter_state("main")
        if saved is not None:
            self.splitter.restoreState(saved)

    def _save_settings(self) -> None:
        self._settings.set_folders(self.folder_panel.folders())
        self._settings.set_similarity(self.folder_panel.similarity())
        self._settings.set_window_geometry(self.saveGeometry())
        self._settings.set_window_state(self.saveState())
        self._settings.set_splitter_state("main", self.splitter.saveState())
        self._settings.sync()

    def _on_folder_panel_folders_changed(self) -> None:
        entries = self.folder_panel.folders()
        self._settings.set_folders(entries)
        self.decisions.rule = self._settings.keep_rule(entries)  # protected folders may change
        self.members.refresh()
        self._update_state()

    def _on_folder_panel_similarity_changed(self, value: int) -> None:
        self._settings.set_similarity(Similarity(value))

    # -- folders and drops --------------------------------------------------------------------
    def add_folders(self, folders: Sequence[Path]) -> list[Path]:
        return self.folder_panel.add_folders([Path(f).absolute() for f in folders])

    def ask_for_folder(self) -> None:
        start = self._settings.last_dialog_folder() or Path.home()
        chosen = QFileDialog.getExistingDirectory(self, "Add a photo folder", str(start))
        if chosen:
            folder = Path(chosen)
            self._settings.set_last_dialog_folder(folder.parent)
            if not self.add_folders([folder]):
                self.show_message(f"{folder} is already in the list.")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        verdict = classify_drop(event.mimeData())
        if verdict.is_accepted:
            event.acceptProposedAction()
            self.drop_zone.set_highlighted(True)
        else:
            event.ignore()
            self.show_message(verdict.hint or "")

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_zone.set_highlighted(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_zone.set_highlighted(False)
        verdict = classify_drop(event.mimeData())
        if not verdict.is_accepted:
            event.ignore()
            return
        event.acceptProposedAction()
        if verdict.photos:
            self.find_copies(verdict.photos, how="dropped")
            return
        self.add_folders(verdict.folders)
        if self.scan_controller.is_running:
            self.show_message("Added; the folders will be scanned with the next scan.")
        else:
            self.start_scan()

    # -- scanning -----------------------------------------------------------------------------
    def start_scan(self) -> bool:
        entries = self.folder_panel.folders()
        if not entries or self.scan_controller.is_running:
            return False
        self._save_settings()
        self.decisions.rule = self._settings.keep_rule(entries)
        self.scan_controller.start(self._settings.scan_request(entries))
        self._update_state()
        return True

    def _on_scan_started(self) -> None:
        self.scan_panel.start()
        self.scan_panel.show()
        self._update_state()

    def _on_scan_progressed(self, progress: ScanProgress) -> None:
        self.scan_panel.update_progress(progress)

    def _on_scan_completed(self, report: ScanReport) -> None:
        self.scan_panel.hide()
        if report.cancelled:
            self.show_message(
                f"Scan stopped. {human_count(report.stats.hashed, 'photo')} read so far are "
                "remembered, so the next scan is quicker.",
                0,
            )
            self._update_state()
            return
        self._last_report = report
        self.decisions.clear()
        self.decisions.learn_pairs(report.groups)  # marks follow pairs even without auto-mark
        if self._settings.auto_mark():
            self.decisions.apply_rule(report.groups)
        self.thumbnails.clear()
        self.groups.set_links(report, members=self.members)
        self.groups.set_groups(report.groups)
        self.problems_view.set_problems(report.problems)
        found = human_count(report.stats.found, "photo")
        log.info(
            "Scan finished: %s checked, %d groups, %d problems",
            found,
            len(report.groups),
            len(report.problems),
        )
        if report.groups:
            self.show_message(f"Scan finished: {found} checked.", 0)
        else:
            self.drop_zone.set_message(
                "No duplicates found",
                f"{found} checked; none of them look alike. Drop more folders to scan them too.",
            )
            self.show_message(f"Scan finished: {found} checked, no duplicates.", 0)
        self._update_state()

    def _on_scan_failed(self, text: str) -> None:
        self.scan_panel.hide()
        self._update_state()
        QMessageBox.warning(self, "The scan stopped", text)

    # -- finding copies of photos -------------------------------------------------------------
    def ask_for_photos(self) -> None:
        start = self._settings.last_dialog_folder() or Path.home()
        chosen, _ = QFileDialog.getOpenFileNames(
            self, "Find copies of photos", str(start), _PHOTO_FILTER
        )
        if chosen:
            self._settings.set_last_dialog_folder(Path(chosen[0]).parent)
            self.find_copies([Path(p) for p in chosen], how="chose")

    def find_copies(self, photos: Sequence[Path], *, how: str) -> bool:
        """Looks the photos up in the library in the background; the answer replaces the view."""
        if self.find_controller.is_running:
            self.show_message("Still looking for the last photos' copies; try again in a moment.")
            return False
        request = self._settings.scan_request(self.folder_panel.folders())
        self.find_controller.start([Path(p).absolute() for p in photos], request, how=how)
        self.show_message(f"Looking for copies of {human_count(len(photos), 'photo')}…", 0)
        return True

    def _on_find_completed(self, result: FindResult) -> None:
        report = result.as_report()
        self._last_report = report  # export, problems and the empty page follow the answer
        self.decisions.clear()  # the library's copies are shown, not proposed for the Trash
        self.thumbnails.clear()
        self.groups.set_links(report, members=self.members)
        self.groups.set_groups(report.groups)
        self.problems_view.set_problems(report.problems)
        if not report.groups:
            self.drop_zone.set_message("Not in your library", result.summary())
        self.show_message(result.summary(), 0)
        self._update_state()

    def _on_find_failed(self, text: str) -> None:
        self._update_state()
        QMessageBox.warning(self, "Could not look for copies", text)

    def _on_action_progressed(self, done: int, total: int) -> None:
        self.show_message(f"Moving photos… {done:,} of {total:,}", 0)

    # -- marks and actions --------------------------------------------------------------------
    def apply_rule(self) -> None:
        self.decisions.apply_rule(self.groups.groups())
        self.members.refresh()
        self.show_message("Marked the best copy in each group to keep, the others for the Trash.")

    def clear_marks(self) -> None:
        self.decisions.clear()
        self.members.refresh()
        self.show_message("All marks cleared.")

    def trash_marked(self) -> bool:
        return self.cleanup.trash_marked(self.decisions.rule.protected_roots)

    def move_marked(self) -> bool:
        chosen = QFileDialog.getExistingDirectory(self, "Move marked photos to")
        if not chosen:
            return False
        return self.cleanup.move_marked(Path(chosen), self.decisions.rule.protected_roots)

    def compare_member(self, row: int) -> None:
        group = self.members.group()
        if group is None or len(group.members) < 2:
            return
        # The chosen photo on the right, the best copy (or, for the best copy, the next) left.
        right = row if row > 0 else 1
        dialog = CompareDialog(
            group,
            0,
            right,
            mark_of=self.decisions.mark_of,
            hash_bits=self.members.hash_bits,
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def dismiss_current_group(self) -> None:
        group = self.members.group()
        if group is not None and self._remember(not_duplicates.group_pairs(group)):
            self.groups.remove_paths({m.record.path for m in group.members})

    def dismiss_member(self, row: int) -> None:
        group = self.members.group()
        if group is not None and 0 <= row < len(group.members):
            member = group.members[row]
            if self._remember(not_duplicates.member_pairs(group, member)):
                self.groups.remove_paths({member.record.path})

    def _remember(self, pairs: set[tuple[bytes, bytes]]) -> bool:
        error = not_duplicates.remember(self._db_path, pairs)
        if error is not None:
            QMessageBox.warning(self, "Could not remember this", error)
            return False
        self.show_message("Hidden; these photos will not be grouped together again.")
        return True

    def open_path(self, path: Path) -> None:
        if not open_file(path):
            self.show_message(f"Could not open {path.name}.")

    def reveal_path(self, path: Path) -> None:
        if not self._revealer.reveal(path):
            self.show_message(f"Could not show {path.name} in the file manager.")

    def export_groups(self) -> None:
        chosen = ask_export_path(self)
        if chosen is not None:
            self.export_to(chosen[0], as_json=chosen[1])

    def export_to(self, path: Path, *, as_json: bool) -> bool:
        """Writes the groups now shown to ``path`` (CSV, or JSON with problems and stats)."""
        groups = self.groups.groups()
        try:
            path.write_text(export_text(groups, self._last_report, as_json=as_json), "utf-8")
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}: {exc.strerror}")
            return False
        self.show_message(f"Exported {human_count(len(groups), 'group')} to {path}.")
        return True

    def show_preferences(self) -> None:
        if SettingsDialog(self._settings, self._db_path, self).exec():
            # The keep rule may have changed: the same flow as a protected folder's change,
            # and the groups the rule marked follow the new rule (hand marks stay).
            old_rule = self.decisions.rule
            self.decisions.rule = self._settings.keep_rule(self.folder_panel.folders())
            if self.decisions.rule != old_rule:
                redone = self.decisions.reapply_rule(self.groups.groups())
                if redone:
                    self.show_message(
                        f"Marks follow the new rule in {human_count(len(redone), 'group')}; "
                        "marks you set by hand are unchanged."
                    )
            self.members.refresh()

    def show_about(self) -> None:
        show_about(self, APP_TITLE, self._db_path)

    # -- state --------------------------------------------------------------------------------
    def _update_state(self) -> None:
        scanning = self.scan_controller.is_running
        moving = self.action_controller.is_running
        has_folders = bool(self.folder_panel.folders())
        has_groups = self.groups.rowCount() > 0
        a = self.actions_
        a.scan.setEnabled(has_folders and not scanning)
        a.add_folder.setEnabled(not scanning)
        a.find.setEnabled(not self.find_controller.is_running)
        self.drop_zone.add_button.setEnabled(not scanning)
        self.folder_panel.set_scanning(scanning)
        for action in (a.apply_rule, a.clear_marks, a.export):
            action.setEnabled(has_groups and not scanning)
        for action in (a.trash, a.move):
            action.setEnabled(has_groups and not scanning and not moving)
        a.restore.setEnabled(self.cleanup.can_undo and not moving)
        problems = len(self._last_report.problems) if self._last_report else 0
        a.problems.setEnabled(problems > 0)
        a.problems.setText(f"Problems ({problems})" if problems else "Problems")
        self.sidebar.setVisible(has_folders or has_groups)
        self.review.group_column.setVisible(has_groups)
        self.pages.setCurrentIndex(_PAGE_REVIEW if has_groups else _PAGE_WELCOME)
        if scanning and not has_groups:
            self.drop_zone.set_message(*SCANNING_MESSAGE)
        elif has_folders and not has_groups and self._last_report is None:
            self.drop_zone.set_message(*READY_MESSAGE)
        elif not has_groups and self._last_report is not None and self._last_report.groups:
            # The scan found groups and the user has dealt with all of them.
            self.drop_zone.set_message(*ALL_HANDLED_MESSAGE)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Cancel first, then wait: never block on a scan that was not told to stop.
        self.scan_controller.shutdown()
        self.find_controller.shutdown()
        self.action_controller.shutdown()
        self.thumbnails.shutdown()
        self._save_settings()
        event.accept()
