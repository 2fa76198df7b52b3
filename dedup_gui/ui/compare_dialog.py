"""Two group members side by side at full resolution, zoomed in sync, facts compared."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from dedup_gui.core.decisions import Mark
from dedup_gui.core.export import path_text
from dedup_gui.core.formatting import (
    describe_relation,
    format_exposure,
    format_rating,
    human_dimensions,
    human_size,
)
from dedup_gui.core.model import NO_FACTS, Group, GroupMember
from dedup_gui.ui import icons
from dedup_gui.ui.card_facts import partner_text, turn_text
from dedup_gui.ui.image_pane import ImageLoaded, ImagePane, ViewState, load_in_background

MarkOf = Callable[[Path], Mark | None]

_FACTS = (
    "File name",
    "Folder",
    "Pixels",
    "File size",
    "Format",
    "Date taken",
    "Modified",
    "Camera",
    "Lens",
    "Exposure",
    "GPS",
    "Colour profile",
    "Rating",
    "Edited (XMP)",
    "Turned",
    "RAW+JPEG pair",
    "Compared with best copy",
    "Mark",
)
# Rows shown only when either side records them: most photos have no rating or pair.
_OPTIONAL = frozenset(
    {"Camera", "Lens", "Exposure", "Colour profile", "Rating", "Turned", "RAW+JPEG pair"}
)
# Rows shown only when some file in the group has any photo facts at all (a folder of
# screenshots has no GPS to compare).
_PHOTO_ONLY = frozenset({"GPS", "Edited (XMP)"})
_NONE = "—"


def member_facts(member: GroupMember, hash_bits: int, mark: Mark | None) -> list[str]:
    """One column of the facts table, in ``_FACTS`` order; "—" for what the file lacks."""
    r = member.record
    f = r.facts
    modified = datetime.fromtimestamp(r.mtime_ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")
    return [
        path_text(Path(r.path.name)),
        path_text(r.path.parent),
        human_dimensions(r.width, r.height),
        f"{human_size(r.size)} ({r.size:,} bytes)",
        r.format,
        r.date_taken or _NONE,
        modified,
        f.camera or _NONE,
        f.lens or _NONE,
        format_exposure(f) or _NONE,
        "Yes" if f.has_gps else "No",
        f.colour_profile or _NONE,
        format_rating(f) or _NONE,
        "Yes" if f.has_xmp or r.sidecars else "No",
        turn_text(member) or _NONE,
        f"with {partner_text(member)}" if member.partner is not None else _NONE,
        describe_relation(member, hash_bits),
        {Mark.KEEP: "Keep", Mark.TRASH: "Trash", None: "Not marked"}[mark],
    ]


class CompareDialog(QDialog):
    """Compares two members of one group; pick either side from the group's members."""

    def __init__(
        self,
        group: Group,
        left: int,
        right: int,
        *,
        mark_of: MarkOf = lambda path: None,
        hash_bits: int = 64,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare photos")
        self._group = group
        self._mark_of = mark_of
        self._hash_bits = hash_bits
        self._state = ViewState(self)
        self._signals = ImageLoaded()  # no Qt parent: tasks may finish after the dialog closed
        self._signals.loaded.connect(self._on_image_loaded)
        self._panes = (ImagePane(self._state), ImagePane(self._state))
        self._pickers = (self._make_picker(left), self._make_picker(right))
        self._zoom_label = QLabel()
        self._state.changed.connect(self._update_zoom_label)
        self._facts = self._make_facts_table()

        layout = QVBoxLayout(self)
        layout.addWidget(self._make_toolbar())
        layout.addWidget(self._make_splitter(), 1)
        layout.addWidget(self._facts)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._fit_to_screen(parent)
        for side in (0, 1):
            self._load(side)
        self._update_facts()
        self._update_zoom_label()

    def _fit_to_screen(self, parent: QWidget | None) -> None:
        screen = (parent or self).screen().availableGeometry()
        self.resize(min(1400, int(screen.width() * 0.92)), min(900, int(screen.height() * 0.92)))

    def _make_picker(self, row: int) -> QComboBox:
        picker = QComboBox()
        for member in self._group.members:
            picker.addItem(path_text(Path(member.record.path.name)))
        picker.setCurrentIndex(row)
        picker.currentIndexChanged.connect(self._on_picker_changed)
        return picker

    def _make_toolbar(self) -> QToolBar:
        bar = QToolBar()
        bar.setIconSize(QSize(20, 20))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        zoom_in = bar.addAction(icons.icon("zoom-in"), "Zoom in")
        zoom_in.setShortcut(QKeySequence.StandardKey.ZoomIn)
        zoom_in.triggered.connect(lambda: self._state.zoom_by(1.25))
        zoom_out = bar.addAction(icons.icon("zoom-out"), "Zoom out")
        zoom_out.setShortcut(QKeySequence.StandardKey.ZoomOut)
        zoom_out.triggered.connect(lambda: self._state.zoom_by(1 / 1.25))
        fit = bar.addAction(icons.icon("zoom-fit"), "Fit")
        fit.setShortcut(QKeySequence("0"))
        fit.triggered.connect(self._state.reset)
        actual = bar.addAction(icons.icon("zoom-original"), "Actual pixels")
        actual.setShortcut(QKeySequence("1"))
        actual.triggered.connect(self._zoom_actual_pixels)
        bar.addSeparator()
        bar.addWidget(self._zoom_label)
        hint = QLabel("   Drag to pan, scroll to zoom; both sides move together.")
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        bar.addWidget(hint)
        return bar

    def _make_splitter(self) -> QSplitter:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for side in (0, 1):
            column = QWidget()
            grid = QGridLayout(column)
            grid.setContentsMargins(0, 0, 0, 0)
            grid.addWidget(self._pickers[side], 0, 0)
            grid.addWidget(self._panes[side], 1, 0)
            splitter.addWidget(column)
        return splitter

    def _make_facts_table(self) -> QTableWidget:
        table = QTableWidget(len(_FACTS), 2)
        table.setVerticalHeaderLabels(list(_FACTS))
        table.setHorizontalHeaderLabels(["Left", "Right"])
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        table.setWordWrap(False)
        row_height = table.fontMetrics().height() + 6
        table.verticalHeader().setDefaultSectionSize(row_height)
        return table

    def _fit_facts_height(self) -> None:
        """As tall as the rows shown, so the pictures get the rest of the dialog."""
        table = self._facts
        shown = sum(not table.isRowHidden(row) for row in range(table.rowCount()))
        header = table.horizontalHeader().sizeHint().height()
        row_height = table.verticalHeader().defaultSectionSize()
        table.setFixedHeight(header + row_height * shown + 2 * table.frameWidth())

    # -- state --------------------------------------------------------------------------------
    def members(self) -> tuple[GroupMember, GroupMember]:
        return (
            self._group.members[self._pickers[0].currentIndex()],
            self._group.members[self._pickers[1].currentIndex()],
        )

    def pane(self, side: int) -> ImagePane:
        return self._panes[side]

    @property
    def view_state(self) -> ViewState:
        return self._state

    def _load(self, side: int) -> None:
        self._panes[side].set_image(None, "Loading…")
        load_in_background(self.members()[side].record.path, self._signals)

    def _on_image_loaded(self, path: Path, image: QImage | None, error: str) -> None:
        for side, member in enumerate(self.members()):
            if member.record.path == path:  # drop results for a side that was re-picked
                self._panes[side].set_image(image, error)
        self._update_zoom_label()

    def _on_picker_changed(self) -> None:
        sender = self.sender()
        for side in (0, 1):
            if self._pickers[side] is sender:
                self._load(side)
        self._update_facts()

    def _zoom_actual_pixels(self) -> None:
        pane = self._panes[0] if self._panes[0].has_image else self._panes[1]
        self._state.set_view(1.0 / pane.fit_scale(), self._state.center)

    def _update_zoom_label(self) -> None:
        pane = self._panes[0]
        percent = round(pane.scale() * 100) if pane.has_image else round(self._state.zoom * 100)
        self._zoom_label.setText(f"  {percent} %  ")

    def _update_facts(self) -> None:
        columns = [
            member_facts(m, self._hash_bits, self._mark_of(m.record.path)) for m in self.members()
        ]
        has_photo_facts = any(m.record.facts != NO_FACTS for m in self._group.members)
        highlight = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        highlight.setAlpha(60)
        for row, name in enumerate(_FACTS):
            texts = (columns[0][row], columns[1][row])
            hidden = (name in _OPTIONAL and texts == (_NONE, _NONE)) or (
                name in _PHOTO_ONLY and not has_photo_facts
            )
            self._facts.setRowHidden(row, hidden)
            differs = texts[0] != texts[1]
            for side in (0, 1):
                item = QTableWidgetItem(texts[side])
                item.setToolTip(texts[side])
                if differs and row > 1:  # names and folders differ by nature; facts matter
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                    item.setBackground(QBrush(highlight))
                self._facts.setItem(row, side, item)
        self._fit_facts_height()

    def shown_facts(self) -> list[str]:
        """Names of the rows the table shows (facts neither side records are hidden)."""
        return [name for row, name in enumerate(_FACTS) if not self._facts.isRowHidden(row)]

    def differing_facts(self) -> list[str]:
        """Names of the facts that differ between the two sides (what the table highlights)."""
        return [
            _FACTS[row]
            for row in range(2, len(_FACTS))
            if not self._facts.isRowHidden(row)
            and self._facts.item(row, 0).text() != self._facts.item(row, 1).text()
        ]
