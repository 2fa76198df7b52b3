"""Starts the window: QApplication, logging, the bug dialog, demo mode; `run_app` is the entry."""

from __future__ import annotations

import ctypes
import logging
import logging.handlers
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from dedup_gui.core.errors import DedupError

if TYPE_CHECKING:  # PySide6 is imported inside run_app, where a failure can be reported
    from PySide6.QtWidgets import QApplication

    from dedup_gui.ui.main_window import MainWindow

log = logging.getLogger(__name__)

# Debian/Ubuntu name a library's package after its soname ("libxcb-icccm.so.4" is in
# libxcb-icccm4); these few differ from that rule.
_PACKAGE_EXCEPTIONS = {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0"}
_XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
    "libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0"
)
_SONAME = re.compile(r"(lib[\w.+-]+?\.so(?:\.\d+)*)")


def package_for(soname: str) -> str:
    """The Debian/Ubuntu package that usually ships ``soname`` (e.g. libEGL.so.1 -> libegl1)."""
    if soname in _PACKAGE_EXCEPTIONS:
        return _PACKAGE_EXCEPTIONS[soname]
    name, _, version = soname.partition(".so")
    version = version.lstrip(".").split(".")[0]
    name = name.lower()
    if not version:
        return name
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def qt_missing_message(error: str) -> str:
    """A plain message naming the system package to install, from a loader error text."""
    match = _SONAME.search(error)
    package = package_for(match.group(1)) if match else _XCB_PACKAGES
    if package.startswith(("libxcb", "libxkbcommon-x11")):
        # The loader names only the first missing one; Qt's X11 plugin needs all of these.
        package = " ".join(dict.fromkeys([package, *_XCB_PACKAGES.split()]))
    return (
        f"dedup-gui: the window cannot start: Qt could not load ({error}).\n"
        f"Install the missing system library; on Debian/Ubuntu: sudo apt install {package}\n"
        "(Scanning without the window still works: dedup-gui scan FOLDER.)"
    )


NO_DISPLAY_MESSAGE = (
    "dedup-gui: no display to show the window on (neither DISPLAY nor WAYLAND_DISPLAY is set).\n"
    "Start it from a desktop session, or scan without a window: dedup-gui scan FOLDER --json"
)


def no_display() -> bool:
    """True on Linux/BSD when there is no X11 or Wayland session and no platform was chosen.

    Qt would abort the process with a message about plugins, which misleads more than it helps.
    """
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    return not any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    )


def xcb_plugin_error() -> str | None:
    """Why Qt's X11 (xcb) plugin cannot load, if Qt would pick it; None if it can (or won't).

    A platform plugin that fails to load makes Qt abort the process, which nobody can catch,
    so its shared libraries are loaded here first (ctypes resolves every dependency) and a
    failure is reported in plain words instead. Qt >= 6.5 needs libxcb-cursor0 and a few
    other xcb libraries that minimal systems lack.
    """
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if (os.environ.get("WAYLAND_DISPLAY") and not platform) or (
        platform and not platform.startswith("xcb")
    ):
        return None
    try:
        import PySide6
    except ImportError as exc:
        return str(exc)
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return None  # a system Qt elsewhere: let Qt decide
    try:
        ctypes.CDLL(str(plugin))
        # Loaded by Qt at run time, not linked, so the plugin's load does not prove it is there.
        # Load it the way Qt will (find_library would miss the copy a desktop bundle ships).
        ctypes.CDLL("libxcb-cursor.so.0")
    except OSError as exc:
        return str(exc)
    return None


def configure_logging() -> Path | None:
    """Logs to stderr and to a file in the user's log folder; returns that file, if any."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    log_file: Path | None = None
    try:
        import platformdirs

        log_dir = platformdirs.user_log_path("dedup-gui")
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / "dedup-gui.log"
        # Bounded: a long-lived install must not grow a log without end.
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
            )
        )
    except OSError:
        log_file = None
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    return log_file


def show_bug(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: TracebackType | None,
    log_file: Path | None = None,
) -> None:
    """sys.excepthook: log the bug, then show it with its traceback (the app keeps running)."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    log.critical("unexpected error (a bug):\n%s", details)
    from PySide6.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is None:
        return
    box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong", "")
    box.setText(
        "An unexpected error happened. This is a bug in dedup-gui; your photos were not "
        "changed by it.\n\nYou can keep working, but saving your work and restarting is safest."
    )
    where = f"\n\nThe log is in {log_file}." if log_file else ""
    box.setInformativeText(f"{exc_type.__name__}: {exc}{where}")
    box.setDetailedText(details)
    box.exec()


def run_app(
    folders: Sequence[Path] = (), *, demo: bool = False, db_path: Path | None = None
) -> int:
    """Runs the window until it closes; returns the exit code.

    Args:
        folders: added to the folder list and scanned right away.
        demo: build a sample library in a temporary folder (removed on exit) and scan it;
            the user's settings and database are not touched.
        db_path: the database file; default is the user's data folder.
    """
    if no_display():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 1
    plugin_error = xcb_plugin_error()
    if plugin_error is not None:
        print(qt_missing_message(plugin_error), file=sys.stderr)
        return 1
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        print(qt_missing_message(str(exc)), file=sys.stderr)
        return 1
    log_file = configure_logging()
    sys.excepthook = lambda t, e, tb: show_bug(t, e, tb, log_file)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    demo_dir = tempfile.TemporaryDirectory(prefix="dedup-gui-demo-") if demo else nullcontext()
    with demo_dir as tmp:
        try:
            window, notice = _make_window(app, folders, Path(tmp) if tmp else None, db_path)
        except DedupError as exc:  # e.g. a database from a newer version: refused, untouched
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(None, "Cannot open the photo database", str(exc))
            return 1
        window.show()
        if notice is not None:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.warning(window, "The photo database was damaged", notice)
        code = app.exec()
        # Before the demo folder goes: the window's threads may still read from it.
        window.deleteLater()
        del window
        app.processEvents()
    return code


def _make_window(
    app: QApplication, folders: Sequence[Path], demo_dir: Path | None, db_path: Path | None
) -> tuple[MainWindow, str | None]:
    """The window, plus a notice for the user if a damaged database had to be set aside.

    Raises:
        DedupError: the database cannot be used (too new, unreadable folder, ...).
    """
    from PySide6.QtCore import QSettings

    from dedup_gui.core.recovery import open_store_or_recover
    from dedup_gui.core.store import default_db_path
    from dedup_gui.ui import icons
    from dedup_gui.ui.main_window import APP_TITLE, MainWindow
    from dedup_gui.ui.settings import APPLICATION, ORGANIZATION, Settings

    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APP_TITLE)
    app.setDesktopFileName("dedup-gui")  # matches resources/dedup-gui.desktop (Wayland icon)
    app.setWindowIcon(icons.app_icon())
    if demo_dir is not None:
        from dedup_gui.core.demo import make_demo_library

        # The demo gets its own settings and database, so it leaves no trace for real use.
        settings = Settings(QSettings(str(demo_dir / "settings.ini"), QSettings.Format.IniFormat))
        library = make_demo_library(demo_dir)
        folders = [*folders, library]
        db_path = db_path or demo_dir / "demo.sqlite3"
    else:
        settings = Settings()
    db_path = db_path or default_db_path()
    # Checked once here, before any worker opens it: a damaged file is moved aside (never
    # deleted) and a fresh one made; a newer version's file raises and stays untouched.
    store, notice = open_store_or_recover(db_path)
    store.close()
    window = MainWindow(settings, db_path)
    if folders:
        window.add_folders(list(folders))
        window.start_scan()
    return window, notice
