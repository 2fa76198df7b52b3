"""Installs and removes the app's menu entry and icons in the user's XDG data folder. No Qt."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dedup_gui.core.errors import DedupError

log = logging.getLogger(__name__)

APP_ID = "dedup-gui"  # the .desktop file's and the icon's name; Qt's desktopFileName too
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)  # as rendered into resources/icons/hicolor
# Marks an entry as written by us, so removing never deletes one a package or the user made.
MARKER_KEY = "X-DedupGui-InstalledBy"
# Desktop Entry spec, "The Exec key": an argument with one of these must be quoted.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


class DesktopEntryError(DedupError):
    """The menu entry cannot be written (e.g. the program's path cannot be put in one)."""


def resources_dir() -> Path:
    """dedup_gui/resources when installed (wheel or bundle); resources/ in a checkout.

    The same rule as ui/icons.py, without importing Qt.
    """
    package = Path(__file__).resolve().parent
    installed = package / "resources"
    return installed if installed.is_dir() else package.parent / "resources"


def data_home() -> Path:
    """$XDG_DATA_HOME, or ~/.local/share when it is unset or relative (the spec says to
    ignore a relative one)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """The command that starts this very program: the bundle, an AppImage, or the script."""
    if getattr(sys, "frozen", False):  # PyInstaller and similar: the binary itself
        return [os.path.abspath(sys.executable)]
    if os.environ.get("APPIMAGE"):  # the mounted path changes each run; the image does not
        return [os.environ["APPIMAGE"]]
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == APP_ID and argv0.is_file():
        return [os.path.abspath(argv0)]
    script = shutil.which(APP_ID)
    if script is not None:
        return [os.path.abspath(script)]
    return [os.path.abspath(sys.executable), "-m", "dedup_gui"]


def exec_value(command: Sequence[str]) -> str:
    """``command`` as the value of an Exec key, each argument quoted as the spec requires.

    Raises:
        DesktopEntryError: an argument is not valid UTF-8 or holds a control character,
            which a .desktop file cannot carry.
    """
    parts = []
    for arg in command:
        _check_representable(arg)
        arg = arg.replace("%", "%%")  # field codes start with %
        if _RESERVED.intersection(arg):
            arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        parts.append(arg)
    # The string-value escape is applied on top of the quoting rule: each \ becomes \\.
    return " ".join(parts).replace("\\", "\\\\")


def _check_representable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # surrogate-escaped bytes from a non-UTF-8 file name
        raise DesktopEntryError(
            f"The program's path {text!r} is not valid UTF-8, which a menu entry cannot hold; "
            "move dedup-gui to a folder with a plain name and try again."
        ) from None
    if any(ord(c) < 32 for c in text):
        raise DesktopEntryError(f"The program's path {text!r} holds a control character.")


def entry_text(template: str, command: Sequence[str]) -> str:
    """resources/dedup-gui.desktop with Exec and TryExec pointing at ``command``."""
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_value(command)} %F"
        elif line.startswith("TryExec="):
            _check_representable(command[0])
            line = "TryExec=" + command[0].replace("\\", "\\\\")
        lines.append(line)
    lines.append(f"{MARKER_KEY}={APP_ID} --install-desktop-entry")
    return "\n".join(lines) + "\n"


def _planned_files(command: Sequence[str], home: Path) -> dict[Path, bytes]:
    """Every file to install, by destination, with its content."""
    resources = resources_dir()
    template = (resources / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    files = {
        home / "applications" / f"{APP_ID}.desktop": entry_text(template, command).encode(),
    }
    hicolor = resources / "icons" / "hicolor"
    for size in ICON_SIZES:
        source = hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        if source.is_file():
            files[_icon_path(home, f"{size}x{size}", "png")] = source.read_bytes()
    svg = hicolor / "scalable" / "apps" / f"{APP_ID}.svg"
    files[_icon_path(home, "scalable", "svg")] = svg.read_bytes()
    return files


def _icon_path(home: Path, size_dir: str, suffix: str) -> Path:
    return home / "icons" / "hicolor" / size_dir / "apps" / f"{APP_ID}.{suffix}"


def install_desktop_entry(
    command: Sequence[str] | None = None, home: Path | None = None
) -> list[Path]:
    """Writes the menu entry and icons; files already up to date are left untouched.

    Args:
        command: what the entry runs; default: this program (see ``launch_command``).
        home: the XDG data folder; default ``data_home()``.

    Returns:
        The files written (empty when everything was already in place).

    Raises:
        DesktopEntryError: the command cannot be written into an entry.
        OSError: a folder cannot be created or written.
    """
    home = home or data_home()
    written = []
    for path, content in _planned_files(command or launch_command(), home).items():
        if path.is_file() and path.read_bytes() == content:
            continue
        _write_atomically(path, content)
        written.append(path)
    if written:
        # Desktops keep an icon cache keyed on the theme folder's mtime: make it stale.
        os.utime(home / "icons" / "hicolor")
        log.info("installed the desktop entry: %s", ", ".join(map(str, written)))
    return written


def _write_atomically(path: Path, content: bytes) -> None:
    """A menu never sees half a file: write beside it, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def remove_desktop_entry(home: Path | None = None) -> list[Path]:
    """Removes what ``install_desktop_entry`` wrote; returns the files removed.

    An entry without our marker (made by a package or by hand) is left alone.
    """
    home = home or data_home()
    removed = []
    entry = home / "applications" / f"{APP_ID}.desktop"
    if entry.is_file():
        if f"\n{MARKER_KEY}=" in entry.read_text(encoding="utf-8", errors="replace"):
            entry.unlink()
            removed.append(entry)
        else:
            log.warning("%s was not installed by dedup-gui; left in place", entry)
    icons = [_icon_path(home, f"{s}x{s}", "png") for s in ICON_SIZES]
    for icon in [*icons, _icon_path(home, "scalable", "svg")]:
        if icon.is_file():
            icon.unlink()
            removed.append(icon)
    return removed


def run_cli(*, install: bool) -> int:
    """``dedup-gui --install-desktop-entry`` / ``--remove-desktop-entry``; returns the exit code."""
    try:
        changed = install_desktop_entry() if install else remove_desktop_entry()
    except (DedupError, OSError) as exc:
        print(f"dedup-gui: {exc}", file=sys.stderr)
        return 1
    if install:
        entry = _shown(str(data_home() / "applications" / f"{APP_ID}.desktop"))
        state = "installed" if changed else "already up to date"
        print(f"Menu entry {state}: {entry} runs {_shown(' '.join(launch_command()))}")
    elif changed:
        print(f"Removed the menu entry and icons ({len(changed)} files).")
    else:
        print("Nothing to remove: no menu entry installed by dedup-gui.")
    return 0


def _shown(text: str) -> str:
    """``text`` printable on any terminal, even with bytes that are not UTF-8 in it."""
    return os.fsencode(text).decode("utf-8", "replace")
