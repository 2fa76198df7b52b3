"""The results: groups on the left, the selected group's photos side by side on the right."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dedup_gui.core.decisions import Mark
from dedup_gui.core.formatting import display_name, human_count, human_size
from dedup_gui.core.kinds import describe_kind
from dedup_gui.core.links import reclaimable_bytes
from dedup_gui.core.model import Group, GroupKind
from dedup_gui.ui import icons
from dedup_gui.ui.delegates import MemberDelegate, configure_group_view, configure_member_view
from dedup_gui.ui.group_filter import GroupFilterBar, GroupFilterModel
from dedup_gui.ui.models import GroupListModel, GroupRole, MemberModel, MemberRole

_THUMBNAIL_ROLES = {
    int(Qt.ItemDataRole.DecorationRole),
    int(GroupRole.THUMBNAIL),
    int(GroupRole.THUMBNAIL_ERROR),
}
KEY_HINT = "Space: keep ⇄ trash   ·   K: keep   ·   T: trash   ·   ← →: photos   ·   Enter: compare"


def summary_text(groups: int, duplicates: int, reclaimable: int) -> str:
    """ "12 groups, 15 duplicates, 1.4 GB reclaimable" """
    return (
        f"{human_count(groups, 'group')}, {human_count(duplicates, 'duplicate')}, "
        f"{human_size(reclaimable)} reclaimable"
    )


class ReviewPanel(QWidget):
    """Browse groups and mark each photo KEEP or TRASH, by mouse or keyboard."""

    compare_requested = Signal(int)  # member row
    open_requested = Signal(object)  # Path
    reveal_requested = Signal(object)  # Path
    dismiss_group_requested = Signal()  # the current group is not duplicates
    dismiss_member_requested = Signal(int)  # this member is not a duplicate of the others
    message = Signal(str)  # a short note for the status bar

    def __init__(
        self, groups: GroupListModel, members: MemberModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._groups = groups
        self._members = members
        # The view shows the groups through the "Show:" filter; rows in this panel's API
        # (select_group) stay GroupListModel rows.
        self.group_filter = GroupFilterModel(groups, self)
        self.filter_bar = GroupFilterBar(groups)
        self.filter_bar.kind_chosen.connect(self.set_kind_filter)
        self.group_view = self._make_group_view()
        self.member_view = self._make_member_view()
        self.summary = QLabel()
        font = self.summary.font()
        font.setBold(True)
        self.summary.setFont(font)
        self.group_title = QLabel()
        self.group_title.setTextFormat(Qt.TextFormat.PlainText)
        title_font = self.group_title.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
        title_font.setBold(True)
        self.group_title.setFont(title_font)
        self.group_details = QLabel()
        self.group_details.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.dismiss_button = QPushButton(icons.icon("not-duplicate"), "Not duplicates")
        self.dismiss_button.setToolTip(
            "These photos are not copies of each other: hide this group and never group "
            "them together again (Preferences lists these decisions)"
        )
        self.dismiss_button.clicked.connect(self.dismiss_group_requested)
        self.compare_button = QPushButton(icons.icon("compare"), "Compare…")
        self.compare_button.setToolTip("Compare the selected photo with the best copy (Enter)")
        self.compare_button.clicked.connect(self._request_compare_current)

        # The group list is a widget of its own, for the window to place (in its sidebar);
        # this panel itself is the member area.
        self.group_column = self._make_group_column()
        self._build_member_area()

        for signal in (groups.modelReset, groups.rowsRemoved):
            signal.connect(self._sync_members)
            signal.connect(self._update_summary)
        groups.modelReset.connect(self._select_first_group)
        groups.dataChanged.connect(self._on_groups_data_changed)
        self._update_summary()
        self._update_group_header()

    # -- layout -------------------------------------------------------------------------------
    def _make_group_view(self) -> QListView:
        view = QListView()
        view.setModel(self.group_filter)
        configure_group_view(view)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._on_group_view_context_menu)
        view.selectionModel().currentRowChanged.connect(self._on_group_current_changed)
        view.installEventFilter(self)
        return view

    def _make_member_view(self) -> QListView:
        view = QListView()
        view.setModel(self._members)
        configure_member_view(view)
        view.setSpacing(10)
        # One current photo: the keys and the compare button act on it.
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.viewport().installEventFilter(self)  # clicks on the KEEP/TRASH badge
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._on_member_view_context_menu)
        view.doubleClicked.connect(lambda index: self.compare_requested.emit(index.row()))
        view.installEventFilter(self)
        return view

    def _make_group_column(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(10, 6, 6, 0)
        layout.setSpacing(6)
        layout.addWidget(self.summary)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.group_view, 1)
        return column

    def _build_member_area(self) -> None:
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.group_title)
        titles.addWidget(self.group_details)
        header.addLayout(titles, 1)
        header.addWidget(self.compare_button)
        header.addWidget(self.dismiss_button)
        hint = QLabel(KEY_HINT)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(line)
        layout.addWidget(self.member_view, 1)
        layout.addWidget(hint)

    # -- groups -------------------------------------------------------------------------------
    def current_group(self) -> Group | None:
        return self._members.group()

    def select_group(self, row: int) -> None:
        """Makes GroupListModel row ``row`` current; shows all groups first if it is hidden."""
        if not 0 <= row < self._groups.rowCount():
            return
        if self.group_filter.row_of_source(row) < 0:
            self.filter_bar.set_kind(None)  # its kind is filtered out: show every kind
        self._select_shown(self.group_filter.row_of_source(row))

    def _select_shown(self, shown_row: int) -> None:
        if 0 <= shown_row < self.group_filter.rowCount():
            index = self.group_filter.index(shown_row, 0)
            self.group_view.setCurrentIndex(index)
            self.group_view.scrollTo(index)

    def set_kind_filter(self, kind: GroupKind | None) -> None:
        """Shows only groups of ``kind`` (None: all). Marks stay; the current group stays
        current if it is still shown, else the first shown group becomes current."""
        if self.filter_bar.kind() != kind:
            self.filter_bar.set_kind(kind)  # comes back here through kind_chosen
            return
        self.group_filter.set_kind(kind)
        if not self.group_view.currentIndex().isValid():
            self._select_first_group()

    def _group_at_view(self, index: QModelIndex) -> Group | None:
        if not index.isValid():
            return None
        return self._groups.group_at(self.group_filter.mapToSource(index).row())

    def _select_first_group(self) -> None:
        self._select_shown(0)
        if self.group_filter.rowCount() == 0:
            self._members.set_group(None)
            self._update_group_header()

    def _on_group_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._members.set_group(self._group_at_view(current))
        self._select_member(0)
        self._update_group_header()

    def _sync_members(self) -> None:
        """After rows were removed or a group shrank, show what the current row holds now."""
        index = self.group_view.currentIndex()
        if not index.isValid() and self.group_filter.rowCount():
            self._select_shown(0)  # the current group went away: show the next one
            return
        group = self._group_at_view(index)
        if group is not self._members.group():
            row = max(self.member_view.currentIndex().row(), 0)
            self._members.set_group(group)
            self._select_member(min(row, self._members.rowCount() - 1))
            self._update_group_header()

    def _on_groups_data_changed(
        self, top: QModelIndex, bottom: QModelIndex, roles: list[int] | None = None
    ) -> None:
        # Thumbnail arrivals change nothing here; a group that shrank (all roles) does.
        if roles and set(roles) <= _THUMBNAIL_ROLES:
            return
        self._sync_members()
        self._update_summary()

    def _update_summary(self) -> None:
        self.summary.setText(summary_text(*self._groups.summary()))

    def _update_group_header(self) -> None:
        group = self._members.group()
        self.dismiss_button.setEnabled(group is not None)
        self.compare_button.setEnabled(group is not None)
        if group is None:
            self.group_title.setText("No group selected")
            self.group_details.clear()
            return
        self.group_title.setText(display_name(group.reference.record.path))
        reclaimable = reclaimable_bytes(group, self._groups.linked)  # hard links free nothing
        kind = self.group_view.currentIndex().data(GroupRole.KIND)
        what = describe_kind(GroupKind(kind)) if kind else "Photos that look the same"
        self.group_details.setText(
            f"{what}: {human_count(len(group.members), 'photo')}  ·  "
            f"{human_size(reclaimable)} reclaimable by keeping one"
        )

    # -- members ------------------------------------------------------------------------------
    def current_member_row(self) -> int:
        return self.member_view.currentIndex().row()

    def _select_member(self, row: int) -> None:
        if 0 <= row < self._members.rowCount():
            self.member_view.selectionModel().setCurrentIndex(
                self._members.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )

    def _request_compare_current(self) -> None:
        self.compare_requested.emit(max(self.current_member_row(), 0))

    def set_mark(self, row: int, mark: Mark) -> None:
        if not 0 <= row < self._members.rowCount():
            return
        if not self._members.setData(self._members.index(row), mark, MemberRole.MARK):
            self.message.emit("This photo is in a protected folder; it is always kept.")

    def toggle(self, row: int) -> None:
        if not 0 <= row < self._members.rowCount():
            return
        self._members.toggle(row)
        if self._members.data(self._members.index(row), MemberRole.IS_PROTECTED):
            self.message.emit("This photo is in a protected folder; it is always kept.")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and watched in (self.group_view, self.member_view):
            assert isinstance(event, QKeyEvent)
            return self._handle_key(event, from_groups=watched is self.group_view)
        if event.type() == QEvent.Type.MouseButtonPress and watched is self.member_view.viewport():
            assert isinstance(event, QMouseEvent)
            return self._handle_badge_click(event)
        return super().eventFilter(watched, event)

    def _handle_badge_click(self, event: QMouseEvent) -> bool:
        """A left click on a card's KEEP/TRASH badge flips the mark."""
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        pos = event.position().toPoint()
        index = self.member_view.indexAt(pos)
        if not index.isValid():
            return False
        # The delegate paints the card 2 px inside the item rect.
        card = self.member_view.visualRect(index).adjusted(2, 2, -2, -2)
        if not MemberDelegate.badge_rect(card, self.member_view.font()).contains(pos):
            return False
        self._select_member(index.row())
        self.toggle(index.row())
        return True

    def _handle_key(self, event: QKeyEvent, *, from_groups: bool) -> bool:
        """Marks and moves between photos from either list, so hands stay on the keyboard."""
        row = self.current_member_row()
        key = event.key()
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if key == Qt.Key.Key_Space:
            self.toggle(row)
        elif key == Qt.Key.Key_K:
            self.set_mark(row, Mark.KEEP)
        elif key == Qt.Key.Key_T:
            self.set_mark(row, Mark.TRASH)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and row >= 0:
            self.compare_requested.emit(row)
        elif from_groups and key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = -1 if key == Qt.Key.Key_Left else 1
            self._select_member(min(max(row + step, 0), self._members.rowCount() - 1))
        else:
            return False
        return True

    # -- context menus ------------------------------------------------------------------------
    def _on_member_view_context_menu(self, pos: QPoint) -> None:
        index = self.member_view.indexAt(pos)
        if not index.isValid():
            return
        row = index.row()
        path: Path = self._members.record_at(row).path
        menu = QMenu(self)
        menu.addAction(icons.icon("keep"), "Keep\tK", lambda: self.set_mark(row, Mark.KEEP))
        menu.addAction(
            icons.icon("trash"), "Mark for Trash\tT", lambda: self.set_mark(row, Mark.TRASH)
        )
        menu.addSeparator()
        menu.addAction(
            icons.icon("compare"), "Compare…\tEnter", lambda: self.compare_requested.emit(row)
        )
        menu.addAction(icons.icon("open"), "Open", lambda: self.open_requested.emit(path))
        menu.addAction(
            icons.icon("reveal"), "Show in file manager", lambda: self.reveal_requested.emit(path)
        )
        menu.addSeparator()
        menu.addAction(
            icons.icon("not-duplicate"),
            "Not a duplicate of the others",
            lambda: self.dismiss_member_requested.emit(row),
        )
        menu.exec(self.member_view.viewport().mapToGlobal(pos))

    def _on_group_view_context_menu(self, pos: QPoint) -> None:
        index = self.group_view.indexAt(pos)
        if not index.isValid():
            return
        self.group_view.setCurrentIndex(index)
        group = self._group_at_view(index)
        assert group is not None
        path: Path = group.reference.record.path
        menu = QMenu(self)
        menu.addAction(icons.icon("open"), "Open best copy", lambda: self.open_requested.emit(path))
        menu.addAction(
            icons.icon("reveal"), "Show in file manager", lambda: self.reveal_requested.emit(path)
        )
        menu.addSeparator()
        menu.addAction(icons.icon("not-duplicate"), "Not duplicates", self.dismiss_group_requested)
        menu.exec(self.group_view.viewport().mapToGlobal(pos))
