"""Tests of trashing, moving and restoring real files, with the real send2trash.

The Trash is the temporary one tests/conftest.py points XDG_DATA_HOME at, never the user's.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
import send2trash
from PIL import Image

from dedup_gui.core.actions import (
    CHANGED,
    TRASH_UNAVAILABLE,
    TrashedFile,
    move_files,
    restore_files,
    trash_files,
)
from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.digest import file_content_hash
from dedup_gui.core.freedesktop_trash import (
    TrashInfo,
    TrashLocation,
    find_trashed,
    info_points_to,
    read_trash_info,
)
from dedup_gui.core.model import ImageRecord, ProblemKind

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="freedesktop Trash tests")


def make_image(path: Path, seed: int = 0, px: int = 64) -> ImageRecord:
    """Writes a small real PNG and returns the record a scan would have made of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (px, px), (seed * 40 % 256, 90, 200 - seed % 200)).save(path, "PNG")
    return record_of(path)


def record_of(path: Path) -> ImageRecord:
    st = os.lstat(path)
    digest = file_content_hash(path)
    return ImageRecord(path, st.st_size, st.st_mtime_ns, digest, b"\0" * 8, 64, 64, "PNG", None)


def assert_in_trash(done: TrashedFile, trash: Path, content: bytes) -> None:
    assert done.trashed_as is not None and done.info_file is not None
    assert done.trashed_as == trash / "files" / done.trashed_as.name
    assert done.trashed_as.read_bytes() == content
    assert done.info_file == trash / "info" / (done.trashed_as.name + ".trashinfo")
    text = done.info_file.read_text()
    assert text.startswith("[Trash Info]\n")
    assert f"Path={quote(os.fsencode(done.original))}\n" in text
    assert "DeletionDate=" in text


def test_trash_moves_the_file_and_writes_its_trashinfo(trash_dir: Path, tmp_path: Path) -> None:
    record = make_image(tmp_path / "photos" / "a.png")
    content = record.path.read_bytes()
    counts: list[tuple[int, int]] = []
    report = trash_files([record], progress=lambda done, total: counts.append((done, total)))
    assert report.failed == () and not report.cancelled
    assert not record.path.exists()
    [done] = report.done
    assert (done.original, done.size, report.bytes_done) == (record.path, record.size, record.size)
    assert_in_trash(done, trash_dir, content)
    assert counts[0] == (0, 1) and counts[-1] == (1, 1)


def test_changed_files_are_not_trashed(trash_dir: Path, tmp_path: Path) -> None:
    same_size = make_image(tmp_path / "same_size.png")
    data = bytearray(same_size.path.read_bytes())
    data[-20] ^= 0xFF  # same size, different bytes, and the scan's mtime put back
    same_size.path.write_bytes(bytes(data))
    os.utime(same_size.path, ns=(same_size.mtime_ns, same_size.mtime_ns))
    touched = make_image(tmp_path / "touched.png", seed=1)
    os.utime(touched.path, ns=(touched.mtime_ns + 10**9, touched.mtime_ns + 10**9))

    report = trash_files([same_size, touched])
    assert report.done == ()
    assert [(p.path, p.kind, p.detail) for p in report.failed] == [
        (same_size.path, ProblemKind.VANISHED, CHANGED),
        (touched.path, ProblemKind.VANISHED, CHANGED),
    ]
    assert same_size.path.read_bytes() == bytes(data) and touched.path.exists()


def test_a_vanished_file_is_reported_and_the_rest_go_on(trash_dir: Path, tmp_path: Path) -> None:
    records = [make_image(tmp_path / f"{n}.png", seed=n) for n in range(3)]
    records[1].path.unlink()
    report = trash_files(records)
    assert [d.original for d in report.done] == [records[0].path, records[2].path]
    [problem] = report.failed
    assert (problem.path, problem.kind) == (records[1].path, ProblemKind.VANISHED)
    assert all(d.trashed_as is not None and d.trashed_as.exists() for d in report.done)


def test_protected_files_are_never_touched(trash_dir: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    inside = make_image(reference / "sub" / "a.png")
    (tmp_path / "alias").symlink_to(reference)  # the same folder reached through a link
    via_link = record_of(tmp_path / "alias" / "sub" / "a.png")
    report = trash_files([inside, via_link], protected_roots=[reference])
    assert report.done == ()
    assert [(p.path, p.kind) for p in report.failed] == [
        (inside.path, ProblemKind.PROTECTED),
        (via_link.path, ProblemKind.PROTECTED),
    ]
    assert inside.path.exists()


def test_a_symlink_is_not_trashed_and_its_target_stays(trash_dir: Path, tmp_path: Path) -> None:
    target = make_image(tmp_path / "target.png")
    link = tmp_path / "link.png"
    link.symlink_to(target.path)
    report = trash_files([dataclasses.replace(target, path=link)])
    assert report.done == () and report.failed[0].kind == ProblemKind.UNSUPPORTED
    assert link.is_symlink() and target.path.read_bytes()


def test_restore_puts_files_back_byte_identical(trash_dir: Path, tmp_path: Path) -> None:
    records = [make_image(tmp_path / "p" / f"{n}.png", seed=n) for n in range(2)]
    contents = [r.path.read_bytes() for r in records]
    trashed = trash_files(records).done
    report = restore_files(trashed)
    assert report.failed == () and report.restored == tuple(r.path for r in records)
    for record, content, done in zip(records, contents, trashed, strict=True):
        assert record.path.read_bytes() == content
        assert os.stat(record.path).st_mtime_ns == record.mtime_ns
        assert done.info_file is not None and not done.info_file.exists()
        assert done.trashed_as is not None and not done.trashed_as.exists()


def test_restore_refuses_an_occupied_path(trash_dir: Path, tmp_path: Path) -> None:
    record = make_image(tmp_path / "a.png")
    content = record.path.read_bytes()
    [done] = trash_files([record]).done
    newcomer = make_image(tmp_path / "a.png", seed=5).path.read_bytes()
    report = restore_files([done])
    assert report.restored == () and report.failed[0].path == record.path
    assert report.failed[0].kind is ProblemKind.ALREADY_EXISTS
    assert record.path.read_bytes() == newcomer
    assert done.trashed_as is not None and done.trashed_as.read_bytes() == content
    assert done.info_file is not None and done.info_file.exists()


def test_restore_recreates_a_removed_folder(trash_dir: Path, tmp_path: Path) -> None:
    record = make_image(tmp_path / "gone" / "deeper" / "a.png")
    content = record.path.read_bytes()
    trashed = trash_files([record]).done
    shutil.rmtree(tmp_path / "gone")
    assert restore_files(trashed).restored == (record.path,)
    assert record.path.read_bytes() == content


ODD_NAMES = [
    "with space.png",
    "emoji 📷.png",
    "100% done.png",
    "two\nlines.png",
    os.fsdecode(b"caf\xe9 latin1.png"),  # not valid UTF-8: a surrogate-escaped str
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_names_round_trip(trash_dir: Path, tmp_path: Path, name: str) -> None:
    record = make_image(tmp_path / name)
    content = record.path.read_bytes()
    [done] = trash_files([record]).done
    assert_in_trash(done, trash_dir, content)
    assert restore_files([done]).restored == (record.path,)
    assert record.path.read_bytes() == content


def test_same_name_twice_finds_each_entry(trash_dir: Path, tmp_path: Path) -> None:
    # Same path trashed twice, and the same name from another folder: each undo gets its own.
    first = make_image(tmp_path / "x" / "IMG_1.png", seed=1)
    first_content = first.path.read_bytes()
    [done_first] = trash_files([first]).done
    second = make_image(tmp_path / "x" / "IMG_1.png", seed=2)
    other = make_image(tmp_path / "y" / "IMG_1.png", seed=3)
    done_second, done_other = trash_files([second, other]).done
    entries = {done_first.trashed_as, done_second.trashed_as, done_other.trashed_as}
    assert len(entries) == 3 and None not in entries
    assert done_other.trashed_as is not None and done_other.trashed_as.name != "IMG_1.png"
    assert restore_files([done_first]).restored == (first.path,)
    assert first.path.read_bytes() == first_content


def test_move_files_keeps_names_unique_and_restores(tmp_path: Path) -> None:
    dest = tmp_path / "moved"
    dest.mkdir()
    (dest / "a.png").write_bytes(b"already here")
    records = [make_image(tmp_path / d / "a.png", seed=n) for n, d in enumerate("xyz")]
    contents = [r.path.read_bytes() for r in records]
    report = move_files(records, dest)
    assert [d.trashed_as for d in report.done] == [dest / f"a ({n}).png" for n in (2, 3, 4)]
    assert all(d.info_file is None for d in report.done)
    assert (dest / "a.png").read_bytes() == b"already here"
    assert restore_files(report.done).restored == tuple(r.path for r in records)
    assert [r.path.read_bytes() for r in records] == contents
    assert sorted(p.name for p in dest.iterdir()) == ["a.png"]


def test_move_files_across_devices(tmp_path: Path) -> None:
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another device")
    dest = Path(tempfile.mkdtemp(prefix="dedup-gui-test-", dir="/dev/shm"))
    try:
        record = make_image(tmp_path / "a.png")
        content = record.path.read_bytes()
        [done] = move_files([record], dest).done
        assert done.trashed_as == dest / "a.png" and not record.path.exists()
        assert done.trashed_as.read_bytes() == content
        assert os.stat(done.trashed_as).st_mtime_ns == record.mtime_ns
        assert restore_files([done]).restored == (record.path,)
        assert record.path.read_bytes() == content and not any(dest.iterdir())
    finally:
        shutil.rmtree(dest)


@pytest.mark.parametrize("error", [OSError("no trash"), send2trash.TrashPermissionError("x")])
def test_when_send2trash_fails_the_file_stays(
    trash_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError
) -> None:
    def refuse(path: object) -> None:
        raise error

    monkeypatch.setattr(send2trash, "send2trash", refuse)
    record = make_image(tmp_path / "a.png")
    report = trash_files([record])
    assert report.done == ()
    assert [(p.path, p.detail) for p in report.failed] == [(record.path, TRASH_UNAVAILABLE)]
    assert file_content_hash(record.path) == record.content_hash


def test_an_unusable_trash_fails_for_real(trash_dir: Path, tmp_path: Path) -> None:
    # A plain file where the Trash folder should be: send2trash cannot create Trash/files.
    aside = trash_dir.with_name("Trash.aside")
    if trash_dir.exists():
        trash_dir.rename(aside)
    trash_dir.write_bytes(b"not a folder")
    try:
        record = make_image(tmp_path / "a.png")
        report = trash_files([record])
    finally:
        trash_dir.unlink()
        if aside.exists():
            aside.rename(trash_dir)
    assert report.done == ()
    assert [(p.path, p.detail) for p in report.failed] == [(record.path, TRASH_UNAVAILABLE)]
    assert file_content_hash(record.path) == record.content_hash


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_a_read_only_folder_fails_for_real(trash_dir: Path, tmp_path: Path) -> None:
    record = make_image(tmp_path / "ro" / "a.png")
    os.chmod(record.path.parent, 0o555)
    try:
        report = trash_files([record])
    finally:
        os.chmod(record.path.parent, 0o755)
    assert report.done == () and report.failed[0].path == record.path
    assert file_content_hash(record.path) == record.content_hash


class CancelAfter(CancelToken):
    """A real token, cancelled from "another thread" once ``files`` files were started."""

    def __init__(self, files: int) -> None:
        super().__init__()
        self._left = files

    @property
    def is_cancelled(self) -> bool:
        if self._left == 0:
            self.cancel()
        self._left -= 1
        return super().is_cancelled


def test_cancel_stops_between_files(trash_dir: Path, tmp_path: Path) -> None:
    records = [make_image(tmp_path / f"{n}.png", seed=n) for n in range(3)]
    report = trash_files(records, cancel=CancelAfter(1))
    assert report.cancelled and [d.original for d in report.done] == [records[0].path]
    assert records[1].path.exists() and records[2].path.exists()
    restored = restore_files(report.done, cancel=CancelAfter(0))
    assert restored.cancelled and restored.restored == () and not records[0].path.exists()


def test_restore_without_a_known_location_asks_for_a_hand(tmp_path: Path) -> None:
    report = restore_files([TrashedFile(tmp_path / "a.png", 10, None, None)])
    assert report.restored == () and "by hand" in report.failed[0].detail


def test_restore_refuses_a_trash_entry_that_changed(trash_dir: Path, tmp_path: Path) -> None:
    record = make_image(tmp_path / "a.png")
    [done] = trash_files([record]).done
    assert done.trashed_as is not None
    done.trashed_as.write_bytes(b"something else")
    report = restore_files([done])
    assert report.restored == () and not record.path.exists()
    assert done.trashed_as.read_bytes() == b"something else"


def test_gio_names_and_relative_paths_are_found(tmp_path: Path) -> None:
    # GIO names a second "a.b.png" "a.2.b.png" and writes paths relative to a drive's topdir.
    trash = tmp_path / ".Trash-1000"
    (trash / "files").mkdir(parents=True)
    (trash / "info").mkdir()
    original = tmp_path / "pics" / "a.b.png"
    for name, rel in (("a.b.png", "pics/other.png"), ("a.2.b.png", "pics/a.b.png")):
        (trash / "files" / name).write_bytes(b"12345")
        text = f"[Trash Info]\nPath={quote(rel)}\nDeletionDate=2024-01-02T03:04:05\n"
        (trash / "info" / f"{name}.trashinfo").write_text(text)
    before = os.stat(trash / "files" / "a.b.png")  # same size, another inode: a copied file
    entry = find_trashed(original, [TrashLocation(trash, tmp_path)], before)
    assert entry is not None and entry.trashed_as == trash / "files" / "a.2.b.png"
    info = read_trash_info(entry.info_file)
    assert info == TrashInfo(b"pics/a.b.png", "2024-01-02T03:04:05")
    assert info_points_to(info, original, tmp_path)
    assert not info_points_to(info, original, tmp_path / "pics")


def test_a_file_on_another_drive_goes_to_its_trash_folder_and_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # send2trash puts files on other mounts into $topdir/.Trash-$uid; undo must find them there.
    import subprocess

    drive = tmp_path / "drive"
    drive.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(drive)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("needs permission to mount a tmpfs (run as root)")
    try:
        monkeypatch.setenv("HOME", str(tmp_path))  # the home Trash is on another device
        record = make_image(drive / "photos" / "a.png")
        original = record.path.read_bytes()

        [done] = trash_files([record]).done

        trash = drive / f".Trash-{os.getuid()}"
        assert done.trashed_as == trash / "files" / "a.png" and done.trashed_as.is_file()
        assert done.info_file == trash / "info" / "a.png.trashinfo"
        assert not record.path.exists()
        report = restore_files([done])
        assert report.restored == (record.path,)
        assert record.path.read_bytes() == original and not done.info_file.exists()
    finally:
        subprocess.run(["umount", str(drive)], check=False)
