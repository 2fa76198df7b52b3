"""Walk folders and list the image files in them, by extension or by content. No Qt."""

from __future__ import annotations

import fnmatch
import logging
import operator
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from dedup_gui.core.model import FileInfo, Problem, ProblemKind, WalkOptions

log = logging.getLogger(__name__)

RAW_EXTENSIONS = frozenset(
    {".cr2", ".cr3", ".nef", ".nrw", ".arw", ".dng", ".orf", ".raf", ".rw2", ".pef", ".srw", ".x3f"}
)
# Suffixes (lower case) yielded without opening the file; the decoder finds out what they are.
IMAGE_EXTENSIONS = RAW_EXTENSIONS | {
    *(".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"),
    *(".heic", ".heif", ".hif", ".avif", ".jxl"),  # .hif: HEIF as Canon and Sony cameras name it
}

# Suffixes never opened to sniff: common in photo folders (sidecars, videos) or plainly not images.
NON_IMAGE_EXTENSIONS = frozenset(
    {
        *(".txt", ".md", ".log", ".csv", ".json", ".xml", ".html", ".htm", ".ini", ".cfg"),
        # .thm is a JPEG, but a camera's thumbnail of a video, not a photo of its own.
        *(".xmp", ".aae", ".pp3", ".dop", ".thm", ".lrv", ".db", ".sqlite", ".lnk", ".url"),
        *(".mp4", ".mov", ".avi", ".mkv", ".m4v", ".wmv", ".mts", ".m2ts", ".3gp", ".webm"),
        *(".mp3", ".wav", ".aac", ".m4a", ".flac", ".ogg"),
        *(".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".rtf"),
        *(".zip", ".rar", ".7z", ".tar", ".gz", ".bz2", ".xz", ".iso", ".dmg"),
        *(".exe", ".dll", ".so", ".py", ".js", ".css", ".sh", ".bat"),
    }
)

# Folders skipped even with include_hidden: OS recycle bins, NAS thumbnail caches, archive debris.
# Compared case-insensitively (the Windows/NAS ones come from case-insensitive file systems).
SYSTEM_FOLDERS = frozenset(
    name.casefold()
    for name in (
        "$RECYCLE.BIN",
        "System Volume Information",
        "@eaDir",
        "#recycle",
        "lost+found",
        ".thumbnails",
        "__MACOSX",
    )
)
_TRASH_PREFIX = ".trash"  # .Trash, .Trash-1000, .Trashes
_SIDECAR_SUFFIX = ".xmp"  # as sidecars.SIDECAR_SUFFIX (which imports this module)
_IS_WINDOWS = os.name == "nt"

SNIFF_BYTES = 32
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})


def sniff_image_type(head: bytes) -> str | None:
    """Name the image format a file's first bytes announce ("JPEG", "PNG", ...), else None.

    Recognises JPEG, PNG, GIF, BMP, TIFF, WebP, HEIC, AVIF and JPEG XL; 32 bytes are enough.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JXL"
    # "BM" alone is too weak (plenty of text starts so); also require a known DIB header size.
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    return None


def _sniff_ftyp(head: bytes) -> str | None:
    """HEIF family: the major brand at 8, compatible brands from 16 (as far as ``head`` goes)."""
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, len(head) - 3, 4)]
    if any(b in _AVIF_BRANDS for b in brands):
        return "AVIF"
    if any(b in _HEIF_BRANDS for b in brands):
        return "HEIC"
    return None  # MP4, MOV, 3GP, ... share the container


def is_image_name(name: str) -> bool:
    """True when the file name's extension is a known image (or camera RAW) type."""
    return _suffix(name) in IMAGE_EXTENSIONS


def _ignore_problem(_: Problem) -> None:
    pass


def _ignore_folder(_: Path) -> None:
    pass


def _ignore_hard_link(_first: Path, _other: Path) -> None:
    pass


# (path text, size, mtime_ns, links): a FileInfo before its Path is made. A rescan of 100,000
# unchanged files needs few Path objects, and parsing one costs as much as the file's stat.
WalkedFile = tuple[str, int, int, int]


class FolderNotes:
    """What a walk saw in the folders it listed, besides the image files it yielded."""

    def __init__(self) -> None:
        # Folders listed holding a name ending in .xmp (any case, hidden or excluded too):
        # only there can an image have a sidecar (see core/sidecars.py).
        self.with_sidecars: set[str] = set()
        self.loose: set[str] = set()  # folders of files given as roots (not listed)


def iter_image_files(
    roots: Sequence[Path],
    options: WalkOptions,
    *,
    on_problem: Callable[[Problem], None] = _ignore_problem,
    on_folder: Callable[[Path], None] = _ignore_folder,
    on_hard_link: Callable[[Path, Path], None] = _ignore_hard_link,
) -> Iterator[FileInfo]:
    """Yield the image files under ``roots`` (folders, walked recursively, or single files).

    Order is deterministic: roots in the given order; in each folder its files by name, then
    its subfolders by name. Paths are absolute (not resolved: a symlinked root keeps its name).
    A file reachable twice (hard links, overlapping roots) is yielded once, at its first path;
    ``FileInfo.links`` says how many names (hard links) it has in all.

    Args:
        roots: folders or files to scan.
        options: hidden files, symlinks, exclude patterns, minimum size, and the roots whose
            subfolders are left out (``shallow_roots``).
        on_problem: receives folders and files that could not be read; the walk goes on.
        on_folder: called with each folder as it is entered, for progress display.
        on_hard_link: called with (first path, other path) for each further hard link of a
            yielded file met later in this walk (symlinks and the same path twice are not).
    """
    walk = walk_image_files(
        roots, options, on_problem=on_problem, on_folder=on_folder, on_hard_link=on_hard_link
    )
    for text, size, mtime_ns, links in walk:
        yield FileInfo(Path(text), size, mtime_ns, links)


def walk_image_files(
    roots: Sequence[Path],
    options: WalkOptions,
    *,
    on_problem: Callable[[Problem], None] = _ignore_problem,
    on_folder: Callable[[Path], None] = _ignore_folder,
    on_hard_link: Callable[[Path, Path], None] = _ignore_hard_link,
    notes: FolderNotes | None = None,
) -> Iterator[WalkedFile]:
    """``iter_image_files`` as plain tuples, with no Path made per file.

    The path text is the one ``FileInfo.path`` would hold (``str(Path(text)) == text``).
    ``notes``, if given, is filled with the folders holding .xmp files and those of root files.
    """
    walker = _Walker(
        options,
        on_problem,
        on_folder,
        on_hard_link,
        track_all_files=len(roots) > 1 or options.follow_symlinks,
        notes=notes or FolderNotes(),
    )
    shallow = {Path(os.path.abspath(root)) for root in options.shallow_roots}
    for root in roots:
        absolute = Path(os.path.abspath(root))
        yield from walker.walk_root(absolute, recursive=absolute not in shallow)


class _Walker:
    """State of one walk: folders and multiply-linked files already seen."""

    def __init__(
        self,
        options: WalkOptions,
        on_problem: Callable[[Problem], None],
        on_folder: Callable[[Path], None],
        on_hard_link: Callable[[Path, Path], None],
        *,
        track_all_files: bool,
        notes: FolderNotes,
    ) -> None:
        self._options = options
        self._on_problem = on_problem
        self._on_folder = on_folder
        self._on_hard_link = on_hard_link
        self._notes = notes
        # With several roots, one may hold another, and a followed symlink reaches a file a
        # second time, so then every file's identity is remembered; otherwise only hard-linked
        # files (st_nlink > 1) can show up twice. (A symlink and its target listed as two
        # "exact copies" could send the real photo to the Trash while the link is kept.)
        self._track_all_files = track_all_files
        self._seen_folders: set[tuple[int, int]] = set()
        self._seen_files: dict[tuple[int, int], str] = {}  # identity -> path yielded

    def _problem(self, path: str | Path, kind: ProblemKind, detail: str) -> None:
        self._on_problem(Problem(Path(path), kind, detail))

    def _os_problem(self, path: str | Path, exc: OSError, what: str) -> None:
        if isinstance(exc, FileNotFoundError):
            self._problem(path, ProblemKind.VANISHED, f"{what} disappeared during the scan")
        elif isinstance(exc, PermissionError):
            self._problem(
                path, ProblemKind.PERMISSION, f"permission denied: cannot read this {what}"
            )
        else:
            self._problem(path, ProblemKind.UNREADABLE, f"cannot read this {what}: {exc.strerror}")

    def walk_root(self, root: Path, *, recursive: bool = True) -> Iterator[WalkedFile]:
        try:
            st = os.stat(root)  # follows a symlinked root: the user picked it on purpose
        except FileNotFoundError:
            self._problem(root, ProblemKind.VANISHED, "not found")
            return
        except OSError as exc:
            self._os_problem(root, exc, "folder")
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self._walk_folder(root, st, recursive=recursive)
        elif stat.S_ISREG(st.st_mode) and root.suffix.lower() not in NON_IMAGE_EXTENSIONS:
            found = self._accept_file(str(root), root.name, st)
            if found is not None:
                self._notes.loose.add(os.path.dirname(found[0]))
                yield found

    def _walk_folder(
        self, root: Path, st: os.stat_result, *, recursive: bool
    ) -> Iterator[WalkedFile]:
        key = _identity(str(root), st)
        if key in self._seen_folders:  # already walked as part of an earlier root
            return
        self._seen_folders.add(key)
        stack = [str(root)]
        while stack:
            folder = stack.pop()
            self._on_folder(Path(folder))
            subfolders: list[str] = []
            yield from self._folder_files(folder, subfolders, descend=recursive)
            stack.extend(reversed(subfolders))  # popped in name order

    def _folder_files(
        self, folder: str, subfolders: list[str], *, descend: bool
    ) -> Iterator[WalkedFile]:
        """The folder's image files, by name; its subfolders to enter go to ``subfolders``.

        Each file is stat-ed as it is yielded, so one removed meanwhile is a problem, not a
        file that is gone.

        One loop with the common case (a plain image file) inlined: a rescan spends most of
        its time here, and each call per file costs as much as a quarter of the file's stat.
        """
        entries = self._list(folder)
        if entries is None:
            return
        skip_hidden = not self._options.include_hidden
        skip_links = not self._options.follow_symlinks
        patterns = self._options.exclude_patterns
        min_size = self._options.min_size_bytes
        # Windows needs a hidden-attribute test; tracked files need an identity: the slow path.
        plain = not (_IS_WINDOWS or self._track_all_files)
        for entry in entries:
            name = entry.name
            # Only P or p lower-cases to "p": a cheap test before the exact one sidecars use.
            if name[-1:] in "pP" and name.lower().endswith(_SIDECAR_SUFFIX):
                self._notes.with_sidecars.add(folder)
            if name[:1] == "." and skip_hidden:
                continue
            folded = name.casefold()
            if folded in SYSTEM_FOLDERS or folded.startswith(_TRASH_PREFIX):
                continue
            if patterns and self._is_excluded(name, entry.path):
                continue
            try:
                if skip_links and entry.is_symlink():
                    continue  # a link is not a copy taking space; a linked folder may loop
                if entry.is_dir():
                    # Not entered (nor marked seen) below a shallow root: another root may hold it.
                    if descend and self._enter_folder(entry):
                        subfolders.append(entry.path)
                    continue
                if not entry.is_file():
                    continue  # sockets, devices, FIFOs (opening one to sniff would block)...
            except OSError as exc:
                log.debug("cannot classify %r: %s", entry.path, exc)
                continue
            if plain and _suffix(name) in IMAGE_EXTENSIONS:
                try:
                    st = entry.stat()
                except OSError as exc:
                    self._os_problem(entry.path, exc, "file")
                    continue
                if st.st_nlink <= 1:  # links > 1 need the identity test of _accept_file
                    if st.st_size >= min_size:
                        yield (entry.path, st.st_size, st.st_mtime_ns, 1)
                    continue
                one = self._accept_file(entry.path, name, st, True)
            else:
                one = self._file_entry(entry)
            if one is not None:
                yield one

    def _list(self, folder: str) -> list[os.DirEntry[str]] | None:
        try:
            with os.scandir(folder) as it:
                return sorted(it, key=_ENTRY_NAME)
        except NotADirectoryError:  # replaced by a file since it was listed
            self._problem(folder, ProblemKind.VANISHED, "folder disappeared during the scan")
        except OSError as exc:
            self._os_problem(folder, exc, "folder")
        return None

    def _is_excluded(self, name: str, path: str) -> bool:
        return any(
            fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(path, pattern)
            for pattern in self._options.exclude_patterns
        )

    def _enter_folder(self, entry: os.DirEntry[str]) -> bool:
        # "*/exports/*" should prune the folder "/x/exports" itself, not only its files.
        with_sep = entry.path + os.sep
        if any(fnmatch.fnmatch(with_sep, p) for p in self._options.exclude_patterns):
            return False
        if not self._options.include_hidden and _has_hidden_attribute(entry):
            return False
        try:
            key = _identity(entry.path, entry.stat())
        except OSError as exc:
            self._os_problem(entry.path, exc, "folder")
            return False
        if key in self._seen_folders:  # a symlink loop, or a root inside another root
            return False
        self._seen_folders.add(key)
        return True

    def _file_entry(self, entry: os.DirEntry[str]) -> WalkedFile | None:
        name = entry.name
        suffix = _suffix(name)
        if suffix in NON_IMAGE_EXTENSIONS:
            return None  # decided before any stat or open: these are the bulk of non-images
        try:
            st = entry.stat()
        except OSError as exc:
            if suffix in IMAGE_EXTENSIONS:
                self._os_problem(entry.path, exc, "file")
            return None
        if _IS_WINDOWS and not self._options.include_hidden and _has_hidden_attribute(entry):
            return None
        return self._accept_file(entry.path, name, st, suffix in IMAGE_EXTENSIONS)

    def _accept_file(
        self, path: str, name: str, st: os.stat_result, is_image: bool | None = None
    ) -> WalkedFile | None:
        if st.st_size < self._options.min_size_bytes:
            return None
        if is_image is None:
            is_image = is_image_name(name)
        if not is_image and not self._sniff(path):
            return None
        links = max(st.st_nlink, 1)  # 0 from DirEntry.stat() on Windows: not counted there
        if self._track_all_files or links > 1:
            try:
                key = _identity(path, st)
            except OSError as exc:
                self._os_problem(path, exc, "file")
                return None
            first = self._seen_files.get(key)
            if first is not None:
                if links > 1 and _distinct_names(first, path):
                    self._on_hard_link(Path(first), Path(path))
                return None
            self._seen_files[key] = path
        return (path, st.st_size, st.st_mtime_ns, links)

    def _sniff(self, path: str) -> bool:
        try:
            with open(path, "rb") as f:
                head = f.read(SNIFF_BYTES)
        except FileNotFoundError:
            return False  # an unknown file that went away: no reason to think it was an image
        except OSError as exc:
            # It may be an image without an extension; say so rather than skip it silently.
            self._os_problem(path, exc, "file")
            return False
        return sniff_image_type(head) is not None


_ENTRY_NAME = operator.attrgetter("name")


def _suffix(name: str) -> str:
    """``os.path.splitext(name)[1].lower()``, in a third of the time for the usual name."""
    dot = name.rfind(".")
    if dot > 0 and name[dot - 1] != ".":
        return name[dot:].lower()
    return os.path.splitext(name)[1].lower()  # "..jpg", "a..jpg": its rules on leading dots


def _identity(path: str, st: os.stat_result) -> tuple[int, int]:
    """(st_dev, st_ino) of a file or folder.

    On Windows ``DirEntry.stat()`` reports inode and device as 0, so ask ``os.stat`` there.
    """
    if st.st_ino == 0 and st.st_dev == 0:
        st = os.stat(path)
    return (st.st_dev, st.st_ino)


def _distinct_names(first: str, other: str) -> bool:
    """True if two paths to one file are two hard links, not one path met twice (overlapping
    roots) nor a followed symlink (which adds no name to the file's link count)."""
    return first != other and not os.path.islink(first) and not os.path.islink(other)


def _has_hidden_attribute(entry: os.DirEntry[str]) -> bool:
    """Windows' "hidden" attribute (free on Windows: scandir caches the stat). False elsewhere."""
    if os.name != "nt":
        return False
    try:
        attributes: int = getattr(entry.stat(), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attributes & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2))
