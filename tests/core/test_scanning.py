"""Tests for the folder walk: what counts as an image, what is skipped, what is a problem."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dedup_gui.core.model import FileInfo, Problem, ProblemKind, WalkOptions
from dedup_gui.core.scanning import iter_image_files, sniff_image_type
from tests.core.images import convert, odd_names, write_photo, write_text

POSIX = os.name == "posix"


def _walk(
    *roots: Path, options: WalkOptions | None = None
) -> tuple[list[Path], list[Problem], list[Path]]:
    problems: list[Problem] = []
    folders: list[Path] = []
    found = [
        info.path
        for info in iter_image_files(
            roots, options or WalkOptions(), on_problem=problems.append, on_folder=folders.append
        )
    ]
    return found, problems, folders


def _names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def _touch_image(path: Path) -> Path:
    """A file with an image extension; its content is irrelevant to the walk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 not decoded by the walk")
    return path


# --- what counts as an image ---------------------------------------------------------------------


def test_extension_and_content_sniffing(tmp_path: Path) -> None:
    jpeg = write_photo(tmp_path / "photo.jpg", width=64, height=48)
    convert(jpeg, tmp_path / "UPPER.PNG")
    convert(jpeg, tmp_path / "png_named.jpg")  # a PNG inside: yielded, the decoder finds out
    (tmp_path / "no_extension").write_bytes(jpeg.read_bytes())
    (tmp_path / "odd.dat").write_bytes((tmp_path / "UPPER.PNG").read_bytes())
    (tmp_path / "jpeg_in.txt").write_bytes(jpeg.read_bytes())  # .txt is never opened
    (tmp_path / "clip.mp4").write_bytes(jpeg.read_bytes())
    write_text(tmp_path / "text.jpg")  # yielded: the decoder reports it later
    write_text(tmp_path / "readme")  # sniffed, and not an image
    (tmp_path / "shot.CR2").write_bytes(b"raw data")

    found, problems, _ = _walk(tmp_path)

    assert _names(found, tmp_path) == [
        "UPPER.PNG",
        "no_extension",
        "odd.dat",
        "photo.jpg",
        "png_named.jpg",
        "shot.CR2",
        "text.jpg",
    ]
    assert problems == []


def test_file_info_has_stat_facts(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "a.jpg", width=64, height=48)
    st = path.stat()
    assert list(iter_image_files([tmp_path], WalkOptions())) == [
        FileInfo(path, st.st_size, st.st_mtime_ns)
    ]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe1\x00\x10Exif", "JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"GIF89a\x10\x00", "GIF"),
        (b"GIF87a\x10\x00", "GIF"),
        (b"BM" + bytes(12) + (40).to_bytes(4, "little"), "BMP"),
        (b"BM is how this text file starts", None),
        (b"II*\x00\x08\x00\x00\x00", "TIFF"),
        (b"MM\x00*\x00\x00\x00\x08", "TIFF"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "HEIC"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "AVIF"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),  # MP4 video
        (b"\xff\x0a\xfa\x7f", "JXL"),
        (b"hello", None),
        (b"", None),
    ],
)
def test_sniff_image_type(head: bytes, expected: str | None) -> None:
    assert sniff_image_type(head) == expected


def test_root_may_be_a_file(tmp_path: Path) -> None:
    photo = _touch_image(tmp_path / "a.jpg")
    notes = write_text(tmp_path / "notes.txt")
    found, problems, _ = _walk(photo, notes)
    assert found == [photo]
    assert problems == []


def test_order_is_files_by_name_then_subfolders_by_name(tmp_path: Path) -> None:
    for name in ("b/2.jpg", "b/1.jpg", "a/x/9.jpg", "a/0.jpg", "z.jpg", "c.jpg"):
        _touch_image(tmp_path / name)
    found, _, folders = _walk(tmp_path)
    assert _names(found, tmp_path) == [
        "c.jpg",
        "z.jpg",
        "a/0.jpg",
        "a/x/9.jpg",
        "b/1.jpg",
        "b/2.jpg",
    ]
    assert folders == [tmp_path, tmp_path / "a", tmp_path / "a" / "x", tmp_path / "b"]


# --- skipping ------------------------------------------------------------------------------------


SYSTEM = ["$RECYCLE.BIN", "System Volume Information", "@eaDir", "#recycle", ".Trash-1000"]
SYSTEM += [".Trashes", "lost+found", ".thumbnails", "__MACOSX", "@EADIR"]


def test_hidden_and_system_folders_are_skipped(tmp_path: Path) -> None:
    _touch_image(tmp_path / "keep.jpg")
    _touch_image(tmp_path / ".hidden.jpg")
    _touch_image(tmp_path / ".hidden_dir" / "a.jpg")
    for folder in SYSTEM:
        _touch_image(tmp_path / folder / "x.jpg")

    found, _, _ = _walk(tmp_path)
    assert _names(found, tmp_path) == ["keep.jpg"]

    found, _, _ = _walk(tmp_path, options=WalkOptions(include_hidden=True))
    assert _names(found, tmp_path) == [".hidden.jpg", "keep.jpg", ".hidden_dir/a.jpg"]


def test_a_hidden_root_is_still_walked(tmp_path: Path) -> None:
    photo = _touch_image(tmp_path / ".photos" / "a.jpg")
    assert _walk(tmp_path / ".photos")[0] == [photo]


def test_exclude_patterns_match_name_and_full_path(tmp_path: Path) -> None:
    _touch_image(tmp_path / "a.jpg")
    _touch_image(tmp_path / "a_thumb.jpg")
    _touch_image(tmp_path / "exports" / "b.jpg")
    _touch_image(tmp_path / "exports" / "deep" / "c.jpg")
    _touch_image(tmp_path / "keep" / "d.jpg")

    options = WalkOptions(exclude_patterns=("*_thumb.jpg", "*/exports/*"))
    found, _, folders = _walk(tmp_path, options=options)

    assert _names(found, tmp_path) == ["a.jpg", "keep/d.jpg"]
    assert tmp_path / "exports" not in folders  # pruned, not walked and filtered


def test_min_size_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "small.jpg").write_bytes(b"x" * 10)
    (tmp_path / "big.jpg").write_bytes(b"x" * 1000)

    found, _, _ = _walk(tmp_path)
    assert _names(found, tmp_path) == ["big.jpg", "empty.jpg", "small.jpg"]

    found, _, _ = _walk(tmp_path, options=WalkOptions(min_size_bytes=10))
    assert _names(found, tmp_path) == ["big.jpg", "small.jpg"]


# --- links ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not POSIX, reason="symlinks need privileges on Windows")
def test_symlinked_folder_not_followed_by_default(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    _touch_image(root / "a.jpg")
    _touch_image(outside / "b.jpg")
    (root / "link").symlink_to(outside, target_is_directory=True)

    assert _names(_walk(root)[0], root) == ["a.jpg"]
    following = _walk(root, options=WalkOptions(follow_symlinks=True))[0]
    assert _names(following, root) == ["a.jpg", "link/b.jpg"]


@pytest.mark.skipif(not POSIX, reason="symlinks need privileges on Windows")
def test_symlink_loops_end_with_follow_symlinks(tmp_path: Path) -> None:
    _touch_image(tmp_path / "a.jpg")
    _touch_image(tmp_path / "sub" / "b.jpg")
    (tmp_path / "sub" / "up").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "sub" / "self").symlink_to(tmp_path / "sub", target_is_directory=True)

    found, problems, _ = _walk(tmp_path, options=WalkOptions(follow_symlinks=True))

    assert _names(found, tmp_path) == ["a.jpg", "sub/b.jpg"]
    assert problems == []


@pytest.mark.skipif(not POSIX, reason="symlinks need privileges on Windows")
def test_symlinked_files_skipped_unless_following(tmp_path: Path) -> None:
    target = _touch_image(tmp_path / "elsewhere" / "t.jpg")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.jpg").symlink_to(target)
    (root / "dangling.jpg").symlink_to(tmp_path / "missing.jpg")

    assert _walk(root) == ([], [], [root])
    found, problems, _ = _walk(root, options=WalkOptions(follow_symlinks=True))
    assert _names(found, root) == ["link.jpg"]
    assert problems == []


@pytest.mark.skipif(not POSIX, reason="symlinks need privileges on Windows")
def test_followed_symlink_and_its_target_are_one_file(tmp_path: Path) -> None:
    # Listed twice they would look like exact copies, and trashing the "copy" that is the
    # target would lose the photo the kept link points to.
    target = _touch_image(tmp_path / "b_target.jpg")
    (tmp_path / "a_link.jpg").symlink_to(target)

    found, _, _ = _walk(tmp_path, options=WalkOptions(follow_symlinks=True))
    assert _names(found, tmp_path) == ["a_link.jpg"]


def test_hard_linked_file_counted_once(tmp_path: Path) -> None:
    original = _touch_image(tmp_path / "b" / "original.jpg")
    os.link(original, tmp_path / "a_link.jpg")
    os.link(original, tmp_path / "b" / "z_link.jpg")
    _touch_image(tmp_path / "other.jpg")

    found, _, _ = _walk(tmp_path)

    # The first path in walk order wins: the root's files come before b/'s.
    assert _names(found, tmp_path) == ["a_link.jpg", "other.jpg"]


def test_overlapping_roots_yield_each_file_once(tmp_path: Path) -> None:
    a = _touch_image(tmp_path / "a.jpg")
    b = _touch_image(tmp_path / "sub" / "b.jpg")
    found, _, _ = _walk(tmp_path / "sub", tmp_path, b)
    assert found == [b, a]


# --- problems ------------------------------------------------------------------------------------


def test_missing_root_is_a_problem(tmp_path: Path) -> None:
    found, problems, _ = _walk(tmp_path / "nope")
    assert found == []
    assert [(p.path, p.kind) for p in problems] == [(tmp_path / "nope", ProblemKind.VANISHED)]


def test_entries_vanishing_mid_walk_become_problems(tmp_path: Path) -> None:
    _touch_image(tmp_path / "a.jpg")
    _touch_image(tmp_path / "b.jpg")
    _touch_image(tmp_path / "sub" / "c.jpg")
    _touch_image(tmp_path / "sub" / "deeper" / "d.jpg")
    problems: list[Problem] = []
    walk: Iterator[FileInfo] = iter_image_files(
        [tmp_path], WalkOptions(), on_problem=problems.append
    )

    first = next(walk)  # the folder is listed; a.jpg is yielded; b.jpg not stat-ed yet
    (tmp_path / "b.jpg").unlink()
    shutil.rmtree(tmp_path / "sub")
    rest = list(walk)

    assert first.path == tmp_path / "a.jpg"
    assert rest == []
    assert [(p.path, p.kind) for p in problems] == [
        (tmp_path / "b.jpg", ProblemKind.VANISHED),
        (tmp_path / "sub", ProblemKind.VANISHED),
    ]
    assert all("disappeared" in p.detail for p in problems)


def test_folder_vanishing_after_listing_its_parent(tmp_path: Path) -> None:
    _touch_image(tmp_path / "a" / "1.jpg")
    _touch_image(tmp_path / "b" / "2.jpg")
    problems: list[Problem] = []
    walk = iter_image_files([tmp_path], WalkOptions(), on_problem=problems.append)

    assert next(walk).path == tmp_path / "a" / "1.jpg"  # b is on the stack, not yet listed
    shutil.rmtree(tmp_path / "b")

    assert list(walk) == []
    assert [(p.path, p.kind) for p in problems] == [(tmp_path / "b", ProblemKind.VANISHED)]


@pytest.mark.skipif(not POSIX or os.geteuid() == 0, reason="root ignores permission bits")
def test_unreadable_folder_is_a_problem_and_the_walk_goes_on(tmp_path: Path) -> None:
    _touch_image(tmp_path / "locked" / "a.jpg")
    after = _touch_image(tmp_path / "open" / "b.jpg")
    (tmp_path / "locked").chmod(0)
    try:
        found, problems, _ = _walk(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert found == [after]
    assert [(p.path, p.kind) for p in problems] == [(tmp_path / "locked", ProblemKind.PERMISSION)]


# --- names ---------------------------------------------------------------------------------------


def test_odd_names_round_trip(tmp_path: Path) -> None:
    expected = []
    for name in odd_names():
        raw = os.path.join(os.fsencode(tmp_path), os.fsencode(name))
        with open(raw, "wb") as f:
            f.write(b"\xff\xd8\xff")
        expected.append(Path(os.fsdecode(raw)))

    found, problems, _ = _walk(tmp_path)

    assert sorted(found) == sorted(expected)
    assert problems == []
    for path in found:
        assert os.path.exists(path)  # the str form (surrogates and all) names the real file


def test_shallow_root_yields_only_its_own_files_and_a_nested_root_is_still_walked(
    tmp_path: Path,
) -> None:
    top = tmp_path / "top [1]"
    for name in ("a.jpg", "sub/b.jpg", "sub/deeper/c.jpg", "other/d.jpg"):
        _touch_image(top / name)

    found, _, _ = _walk(top, options=WalkOptions(shallow_roots=(top,)))
    assert _names(found, top) == ["a.jpg"]

    both = list(iter_image_files([top, top / "sub"], WalkOptions(shallow_roots=(top,))))
    assert _names([i.path for i in both], top) == ["a.jpg", "sub/b.jpg", "sub/deeper/c.jpg"]
