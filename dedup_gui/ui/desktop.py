"""Hand files to the desktop: open in the default viewer, show in the file manager."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtDBus import (
    QDBusConnection,
    QDBusMessage,
    QDBusPendingCall,
    QDBusPendingCallWatcher,
)
from PySide6.QtGui import QDesktopServices

log = logging.getLogger(__name__)

_FM_SERVICE = "org.freedesktop.FileManager1"
_FM_PATH = "/org/freedesktop/FileManager1"


def qt_path_text(path: Path) -> str | None:
    """``path`` as a str Qt can hold, or None when its bytes are not valid UTF-8.

    Qt stores file names as UTF-16 text; a name with stray bytes cannot cross into Qt intact.
    """
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return str(path)


def file_url(path: Path) -> QUrl | None:
    text = qt_path_text(path)
    return None if text is None else QUrl.fromLocalFile(text)


def open_file(path: Path) -> bool:
    """Opens ``path`` in the desktop's default app; False if that could not start."""
    url = file_url(path)
    return url is not None and QDesktopServices.openUrl(url)


class FileRevealer(QObject):
    """Shows a file selected in the file manager, without blocking the GUI.

    Asks the freedesktop FileManager1 D-Bus service (Nautilus, Dolphin, Nemo, Thunar...) to
    select the file; the call is asynchronous because activating the service may take
    seconds. If it fails or no session bus exists, the containing folder is opened instead.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._watchers: set[QDBusPendingCallWatcher] = set()

    def reveal(self, path: Path) -> bool:
        url = file_url(path)
        if url is None:
            return False
        bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            return self._open_folder(path)
        # A raw message, not QDBusInterface: that one introspects the service synchronously.
        message = QDBusMessage.createMethodCall(_FM_SERVICE, _FM_PATH, _FM_SERVICE, "ShowItems")
        message.setArguments([[url.toString()], ""])
        call: QDBusPendingCall = bus.asyncCall(message)
        watcher = QDBusPendingCallWatcher(call, self)
        self._watchers.add(watcher)
        watcher.finished.connect(lambda w=watcher, p=path: self._on_watcher_finished(w, p))
        return True

    def _on_watcher_finished(self, watcher: QDBusPendingCallWatcher, path: Path) -> None:
        self._watchers.discard(watcher)
        reply = watcher.reply()
        watcher.deleteLater()
        if reply.type() == QDBusMessage.MessageType.ErrorMessage:
            log.info("FileManager1 unavailable (%s); opening the folder", reply.errorMessage())
            self._open_folder(path)

    @staticmethod
    def _open_folder(path: Path) -> bool:
        url = file_url(path.parent)
        return url is not None and QDesktopServices.openUrl(url)
