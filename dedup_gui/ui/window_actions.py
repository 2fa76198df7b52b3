"""The main window's commands (QActions) and where they appear: toolbar and menus."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QSizePolicy, QToolBar, QWidget

from dedup_gui import __version__
from dedup_gui.ui import icons


@dataclass(frozen=True, slots=True)
class WindowActions:
    add_folder: QAction
    scan: QAction
    find: QAction
    apply_rule: QAction
    clear_marks: QAction
    trash: QAction
    move: QAction
    restore: QAction
    export: QAction
    problems: QAction
    preferences: QAction
    about: QAction
    quit: QAction


def _action(
    window: QMainWindow,
    icon: str | None,
    text: str,
    tip: str,
    shortcut: QKeySequence | QKeySequence.StandardKey | str = "",
) -> QAction:
    action = QAction(text, window)
    if icon:
        action.setIcon(icons.icon(icon))
    action.setToolTip(tip + (f" ({QKeySequence(shortcut).toString()})" if shortcut else ""))
    action.setStatusTip(tip)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    return action


def make_actions(window: QMainWindow) -> WindowActions:
    """Creates the actions, unconnected; the window wires their ``triggered`` signals."""
    key = QKeySequence.StandardKey
    actions = WindowActions(
        add_folder=_action(window, "folder-add", "Add Folder…", "Add a folder to scan", "Ctrl+O"),
        scan=_action(window, "scan", "Scan", "Look for duplicates in the folders", "F5"),
        find=_action(
            window,
            None,
            "Find Copies of a Photo…",
            "Choose photos and see whether the scanned library already has them",
            QKeySequence.StandardKey.Find,
        ),
        apply_rule=_action(
            window,
            "apply-rule",
            "Apply Rule",
            "In every group, keep the best copy and mark the others for the Trash",
            "Ctrl+R",
        ),
        clear_marks=_action(window, "clear", "Clear Marks", "Remove all keep/trash marks"),
        trash=_action(
            window, "trash", "Move to Trash", "Move the photos marked for Trash", "Ctrl+Delete"
        ),
        move=_action(
            window,
            "export",
            "Move Marked to Folder…",
            "Move the marked photos into a folder (for drives without a Trash)",
        ),
        restore=_action(window, "undo", "Restore", "Put the last trashed photos back", key.Undo),
        export=_action(
            window, "export", "Export…", "Save the groups as a CSV or JSON file", "Ctrl+E"
        ),
        problems=_action(window, "problems", "Problems", "Files that could not be read"),
        preferences=_action(
            window, "settings", "Preferences…", "Scanning options and remembered decisions"
        ),
        about=_action(window, "info", "About", "About this app"),
        quit=_action(window, None, "Quit", "Close the window", key.Quit),
    )
    actions.problems.setCheckable(True)
    actions.preferences.setMenuRole(QAction.MenuRole.PreferencesRole)
    actions.quit.setMenuRole(QAction.MenuRole.QuitRole)
    return actions


def build_toolbar(window: QMainWindow, actions: WindowActions) -> QToolBar:
    bar = QToolBar("Main toolbar", window)
    bar.setObjectName("main_toolbar")  # saveState() needs it
    bar.setMovable(False)
    bar.setIconSize(QSize(22, 22))
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    bar.addAction(actions.add_folder)
    bar.addAction(actions.scan)
    bar.addSeparator()
    bar.addAction(actions.apply_rule)
    bar.addAction(actions.clear_marks)
    bar.addSeparator()
    bar.addAction(actions.trash)
    bar.addAction(actions.restore)
    spacer = QWidget()
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    bar.addWidget(spacer)
    bar.addAction(actions.problems)
    bar.addAction(actions.export)
    bar.addAction(actions.preferences)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return bar


def build_menus(window: QMainWindow, actions: WindowActions) -> None:
    menus = window.menuBar()
    file_menu = menus.addMenu("&File")
    file_menu.addAction(actions.add_folder)
    file_menu.addAction(actions.scan)
    file_menu.addAction(actions.find)
    file_menu.addSeparator()
    file_menu.addAction(actions.export)
    file_menu.addSeparator()
    file_menu.addAction(actions.quit)
    edit_menu = menus.addMenu("&Edit")
    edit_menu.addAction(actions.apply_rule)
    edit_menu.addAction(actions.clear_marks)
    edit_menu.addSeparator()
    edit_menu.addAction(actions.trash)
    edit_menu.addAction(actions.move)
    edit_menu.addAction(actions.restore)
    edit_menu.addSeparator()
    edit_menu.addAction(actions.preferences)
    view_menu = menus.addMenu("&View")
    view_menu.addAction(actions.problems)
    help_menu = menus.addMenu("&Help")
    help_menu.addAction(actions.about)


def show_about(window: QMainWindow, title: str, db_path: Path) -> None:
    QMessageBox.about(
        window,
        f"About {title}",
        f"<h3>{title} {__version__}</h3><p>Finds duplicate and near-duplicate photos, keeps "
        "the best copy and sends the others to the Trash, with undo.</p>"
        f"<p>Database: {db_path}</p>",
    )
