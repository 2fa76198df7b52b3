"""Tests of .xmp sidecars: which belong to an image, and that they move and come back with it.

Real files, the real send2trash into the temporary Trash of tests/conftest.py, a real SQLite file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from dedup_gui.core.actions import TrashedFile, move_files, restore_files, trash_files
from dedup_gui.core.journal import (
    FileState,
    StoreJournal,
    check_interrupted,
    close_batch,
    last_undoable,
)
from dedup_gui.core.model import NO_FACTS, ImageRecord, PhotoFacts, Problem
from dedup_gui.core.sidecars import attach_sidecars, find_sidecars, find_sidecars_many
from dedup_gui.core.store import HashStore, open_store
from tests.core.images import write_record_image

on_linux = pytest.mark.skipif(sys.platform != "linux", reason="freedesktop Trash tests")


def xmp(rating: int, label: str = "") -> bytes:
    label_attr = f' xmp:Label="{label}"' if label else ""
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmp:Rating="{rating}"{label_attr}/></rdf:RDF></x:xmpmeta>'
    ).encode()


def write_sidecar(path: Path, rating: int = 3, label: str = "") -> Path:
    path.write_bytes(xmp(rating, label))
    return path


def contents(paths: Sequence[Path]) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


# -- which sidecars belong to an image --------------------------------------------------------


def test_both_naming_schemes_match_case_insensitively(tmp_path: Path) -> None:
    raw = write_record_image(tmp_path / "IMG_1.CR2").path
    jpeg = write_record_image(tmp_path / "IMG_1.JPG", fmt="JPEG").path
    other = write_record_image(tmp_path / "IMG_10.JPG", fmt="JPEG").path
    own = write_sidecar(tmp_path / "img_1.cr2.XMP")
    shared = write_sidecar(tmp_path / "IMG_1.xmp")
    write_sidecar(tmp_path / "IMG_10.JPG.xmp.bak")  # not a sidecar
    write_sidecar(tmp_path / "IMG_1 copy.xmp")  # another stem
    found = find_sidecars_many([raw, jpeg, other])
    assert found == {raw: (own, shared), jpeg: (shared,), other: ()}
    assert find_sidecars(raw) == (own, shared)


def test_a_stem_sidecar_that_is_another_images_own_belongs_to_that_image(tmp_path: Path) -> None:
    plain = write_record_image(tmp_path / "a.JPG", fmt="JPEG").path
    odd = write_record_image(tmp_path / "a.JPG.png").path  # its stem form is a.JPG.xmp
    own = write_sidecar(tmp_path / "a.JPG.xmp")
    assert find_sidecars_many([plain, odd]) == {plain: (own,), odd: ()}


def test_non_utf8_names_are_found(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    image = Path(os.fsdecode(os.path.join(folder, b"caf\xe9.png")))
    write_record_image(image)
    sidecar = Path(os.fsdecode(os.path.join(folder, b"caf\xe9.png.xmp")))
    write_sidecar(sidecar)
    assert find_sidecars(image) == (sidecar,)


def test_an_unlistable_folder_gives_no_sidecars(tmp_path: Path) -> None:
    assert find_sidecars(tmp_path / "gone" / "a.jpg") == ()


def test_attach_sidecars_merges_rating_and_label_name_form_winning(tmp_path: Path) -> None:
    raw = write_record_image(tmp_path / "IMG_1.CR2")
    raw = ImageRecord(**{**_fields(raw), "facts": PhotoFacts(rating=1, label="Blue")})
    jpeg = write_record_image(tmp_path / "IMG_1.JPG", fmt="JPEG")
    lone = write_record_image(tmp_path / "lone.png", seed=2)
    write_sidecar(tmp_path / "IMG_1.CR2.xmp", rating=5)  # no label: the shared one's stays
    write_sidecar(tmp_path / "IMG_1.xmp", rating=2, label="Red")
    got = {r.path: r for r in attach_sidecars([raw, jpeg, lone])}
    assert got[raw.path].facts == PhotoFacts(rating=5, label="Red", has_xmp=True)
    assert got[jpeg.path].facts == PhotoFacts(rating=2, label="Red", has_xmp=True)
    assert got[jpeg.path].sidecars == (tmp_path / "IMG_1.xmp",)
    assert got[lone.path].facts == NO_FACTS and got[lone.path].sidecars == ()


def test_an_unreadable_sidecar_belongs_but_adds_no_facts(tmp_path: Path) -> None:
    image = write_record_image(tmp_path / "a.jpg", fmt="JPEG")
    (tmp_path / "a.xmp").mkdir()  # an entry of that name that cannot be read as a file
    [got] = attach_sidecars([image])
    assert got.sidecars == (tmp_path / "a.xmp",) and got.facts == NO_FACTS


def _fields(record: ImageRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in ImageRecord.__slots__}


# -- trash, move and undo ---------------------------------------------------------------------


@on_linux
def test_trash_takes_the_sidecar_along_and_undo_brings_both_back(
    trash_dir: Path, tmp_path: Path
) -> None:
    image = write_record_image(tmp_path / "shoot" / "IMG_1.JPG", fmt="JPEG")
    sidecar = write_sidecar(tmp_path / "shoot" / "IMG_1.JPG.xmp")
    before = contents([image.path, sidecar])
    report = trash_files([image])
    assert report.failed == () and report.sidecars_failed == ()
    [done] = report.done
    [went] = done.sidecars
    assert report.sidecars_done == (went,)
    assert report.bytes_done == image.size  # photo bytes only
    assert went.original == sidecar and not sidecar.exists()
    assert went.trashed_as == trash_dir / "files" / "IMG_1.JPG.xmp"
    assert went.trashed_as.read_bytes() == before[sidecar]
    assert went.info_file is not None and went.info_file.exists()

    restored = restore_files(report.done)
    assert restored.restored == (image.path,) and restored.sidecars_restored == (sidecar,)
    assert restored.failed == () and restored.sidecars_failed == ()
    assert contents([image.path, sidecar]) == before
    assert not went.info_file.exists()


@on_linux
def test_a_shared_sidecar_stays_while_its_raw_stays(trash_dir: Path, tmp_path: Path) -> None:
    raw = write_record_image(tmp_path / "IMG_1.CR2")
    jpeg = write_record_image(tmp_path / "IMG_1.JPG", seed=1, fmt="JPEG")
    shared = write_sidecar(tmp_path / "IMG_1.xmp")
    report = trash_files([jpeg])
    assert [d.original for d in report.done] == [jpeg.path]
    assert report.sidecars_done == () and report.sidecars_failed == ()
    assert shared.exists() and raw.path.exists()


@on_linux
def test_a_shared_sidecar_goes_with_the_last_of_its_photos(
    trash_dir: Path, tmp_path: Path, store: HashStore
) -> None:
    raw = write_record_image(tmp_path / "IMG_1.CR2")
    jpeg = write_record_image(tmp_path / "IMG_1.JPG", seed=1, fmt="JPEG")
    shared = write_sidecar(tmp_path / "IMG_1.xmp")
    own = write_sidecar(tmp_path / "IMG_1.CR2.xmp", rating=5)
    before = contents([raw.path, jpeg.path, shared, own])
    report = trash_files([raw, jpeg], journal=StoreJournal(store))
    assert [(d.original, [s.original for s in d.sidecars]) for d in report.done] == [
        (raw.path, [own]),
        (jpeg.path, [shared]),
    ]
    assert not shared.exists() and not own.exists()
    # Undo after a restart: the journal gives the same files, sidecars inside their photos.
    assert last_undoable(store) == report.done
    restored = restore_files(last_undoable(store), journal=StoreJournal(store))
    assert set(restored.sidecars_restored) == {shared, own}
    assert contents(list(before)) == before
    assert last_undoable(store) == ()


@on_linux
@pytest.mark.parametrize(("raw_is", "shared_goes"), [("changed", False), ("gone", True)])
def test_a_shared_sidecar_stays_if_a_photo_of_its_batch_stays(
    trash_dir: Path, tmp_path: Path, raw_is: str, shared_goes: bool
) -> None:
    raw = write_record_image(tmp_path / "IMG_1.CR2")
    jpeg = write_record_image(tmp_path / "IMG_1.JPG", seed=1, fmt="JPEG")
    shared = write_sidecar(tmp_path / "IMG_1.xmp")
    if raw_is == "changed":
        write_record_image(raw.path, seed=7)  # not moved: "changed since the scan"
    else:
        raw.path.unlink()  # deleted elsewhere: no photo of that stem stays
    report = trash_files([raw, jpeg])
    assert [d.original for d in report.done] == [jpeg.path]
    assert [s.original for s in report.sidecars_done] == ([shared] if shared_goes else [])
    assert shared.exists() is not shared_goes and report.sidecars_failed == ()


@on_linux
def test_a_photo_that_is_not_moved_keeps_its_sidecar(trash_dir: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    kept = write_record_image(reference / "a.png")
    kept_sidecar = write_sidecar(reference / "a.png.xmp")
    changed = write_record_image(tmp_path / "b.png", seed=1)
    changed_sidecar = write_sidecar(tmp_path / "b.xmp")
    write_record_image(changed.path, seed=9)  # rewritten since the scan
    report = trash_files([kept, changed], protected_roots=[reference])
    assert report.done == () and len(report.failed) == 2
    assert report.sidecars_failed == ()  # nothing to add: the photos' problems say it
    assert kept_sidecar.exists() and changed_sidecar.exists()


@on_linux
def test_a_sidecar_gone_since_the_scan_is_no_problem(trash_dir: Path, tmp_path: Path) -> None:
    image = write_record_image(tmp_path / "a.png")
    sidecar = write_sidecar(tmp_path / "a.xmp")
    [scanned] = attach_sidecars([image])
    assert scanned.sidecars == (sidecar,)
    sidecar.unlink()
    report = trash_files([scanned])
    assert len(report.done) == 1 and report.sidecars_done == ()
    assert report.failed == () and report.sidecars_failed == ()


@on_linux
def test_a_sidecar_changed_a_moment_ago_stays_and_is_reported(
    trash_dir: Path, tmp_path: Path, store: HashStore
) -> None:
    image = write_record_image(tmp_path / "a.png")
    sidecar = write_sidecar(tmp_path / "a.png.xmp", rating=1)

    class EditsSidecar(StoreJournal):
        """An editor rewrites the sidecar while its photo is being moved."""

        def record(self, batch_id: int, path: Path, outcome: TrashedFile | Path | Problem) -> None:
            if path == image.path:
                write_sidecar(sidecar, rating=4, label="Green")
            super().record(batch_id, path, outcome)

    report = trash_files([image], journal=EditsSidecar(store))
    assert [d.original for d in report.done] == [image.path] and report.sidecars_done == ()
    [problem] = report.sidecars_failed
    assert problem.path == sidecar
    assert problem.detail == (
        "sidecar a.png.xmp changed a moment ago, so it was not moved; "
        "a.png is in the Trash, the sidecar is still in its folder"
    )
    assert sidecar.read_bytes() == xmp(4, "Green")
    [undo] = last_undoable(store)  # the photo alone: the sidecar's row says it stayed
    assert undo.original == image.path and undo.sidecars == ()


@on_linux
def test_a_sidecar_the_trash_refuses_is_reported_and_the_photo_still_goes(
    trash_dir: Path, tmp_path: Path
) -> None:
    # A real refusal: the Trash names its entry NAME.trashinfo, 10 bytes longer than NAME.
    # The photo's 244-byte name leaves room for that; its sidecar's 248-byte name does not.
    name = "p" * 240 + ".png"
    image = write_record_image(tmp_path / name)
    sidecar = write_sidecar(tmp_path / (name + ".xmp"))
    report = trash_files([image])
    assert [d.original for d in report.done] == [image.path] and not image.path.exists()
    [problem] = report.sidecars_failed
    assert problem.path == sidecar and sidecar.exists()
    assert problem.detail.startswith(f"sidecar {name}.xmp could not be moved to the Trash (")
    assert problem.detail.endswith(f"{name} is in the Trash, the sidecar is still in its folder")
    assert restore_files(report.done).restored == (image.path,)


@on_linux
def test_odd_names_move_and_come_back(trash_dir: Path, tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path / "odd")
    os.mkdir(folder)
    image = write_record_image(Path(os.fsdecode(os.path.join(folder, b"caf\xe9 \n 1.png"))))
    sidecar = write_sidecar(Path(os.fsdecode(os.path.join(folder, b"caf\xe9 \n 1.XMP"))))
    before = contents([image.path, sidecar])
    report = trash_files([image])
    assert [s.original for s in report.sidecars_done] == [sidecar] and not sidecar.exists()
    assert restore_files(report.done).sidecars_restored == (sidecar,)
    assert contents([image.path, sidecar]) == before


def test_move_files_keeps_sidecars_paired_with_renamed_photos(tmp_path: Path) -> None:
    destination = tmp_path / "aside"
    destination.mkdir()
    (destination / "IMG_1.JPG").write_bytes(b"someone else's")  # ours becomes "IMG_1 (2).JPG"
    image = write_record_image(tmp_path / "shoot" / "IMG_1.JPG", fmt="JPEG")
    own = write_sidecar(tmp_path / "shoot" / "IMG_1.JPG.xmp")
    shared = write_sidecar(tmp_path / "shoot" / "IMG_1.xmp", rating=1)
    before = contents([image.path, own, shared])
    report = move_files([image], destination)
    [done] = report.done
    assert done.trashed_as == destination / "IMG_1 (2).JPG"
    assert [(s.original, s.trashed_as) for s in done.sidecars] == [
        (own, destination / "IMG_1 (2).JPG.xmp"),
        (shared, destination / "IMG_1 (2).xmp"),
    ]
    restored = restore_files(report.done)
    assert set(restored.sidecars_restored) == {own, shared}
    assert contents([image.path, own, shared]) == before


@on_linux
def test_undo_does_not_put_a_sidecar_over_a_new_file(trash_dir: Path, tmp_path: Path) -> None:
    image = write_record_image(tmp_path / "a.png")
    sidecar = write_sidecar(tmp_path / "a.xmp")
    report = trash_files([image])
    write_sidecar(sidecar, rating=5)  # the editor made a new one meanwhile
    restored = restore_files(report.done)
    assert restored.restored == (image.path,) and restored.sidecars_restored == ()
    [problem] = restored.sidecars_failed
    assert problem.path == sidecar and problem.detail.startswith("sidecar a.xmp was not put back")
    assert sidecar.read_bytes() == xmp(5)


# -- the journal: interrupted batches ---------------------------------------------------------


class Killed(BaseException):
    """Not an Exception, so no handler on the way can catch it: like the process dying."""


class CrashAtSidecar(StoreJournal):
    """Dies once a sidecar has moved, before it is journaled: it is left pending."""

    def record(self, batch_id: int, path: Path, outcome: TrashedFile | Path | Problem) -> None:
        if path.suffix == ".xmp":
            raise Killed()
        super().record(batch_id, path, outcome)


@on_linux
def test_an_interrupted_trash_finds_the_pending_sidecar(trash_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    first = write_record_image(tmp_path / "a.png")
    sidecar = write_sidecar(tmp_path / "a.png.xmp")
    second = write_record_image(tmp_path / "b.png", seed=1)
    before = contents([first.path, sidecar, second.path])
    with open_store(db) as store, pytest.raises(Killed):
        trash_files([first, second], journal=CrashAtSidecar(store))
    assert not sidecar.exists() and second.path.exists()

    with open_store(db) as store:
        [batch] = check_interrupted(store)
        assert batch.total == 2
        assert (
            batch.text
            == "An earlier move to the Trash was interrupted: 1 of 2 photos had been moved."
        )
        [moved] = batch.moved
        assert [s.original for s in moved.sidecars] == [sidecar]
        states = [row.state for row in store.batch_files(batch.batch.batch_id)]
        assert states == [FileState.DONE, FileState.DONE, FileState.SKIPPED]
        report = restore_files(batch.moved, journal=StoreJournal(store))
        close_batch(store, batch.batch.batch_id)
        assert report.sidecars_restored == (sidecar,) and check_interrupted(store) == []
    assert contents([first.path, sidecar, second.path]) == before


def test_an_interrupted_move_finds_the_sidecar_under_its_paired_name(tmp_path: Path) -> None:
    destination = tmp_path / "aside"
    destination.mkdir()
    (destination / "a.png").write_bytes(b"someone else's")
    image = write_record_image(tmp_path / "shoot" / "a.png")
    sidecar = write_sidecar(tmp_path / "shoot" / "a.png.xmp")
    db = tmp_path / "library.sqlite3"
    with open_store(db) as store, pytest.raises(Killed):
        move_files([image], destination, journal=CrashAtSidecar(store))
    with open_store(db) as store:
        [batch] = check_interrupted(store)
        [moved] = batch.moved
        assert moved.trashed_as == destination / "a (2).png"
        assert [s.trashed_as for s in moved.sidecars] == [destination / "a (2).png.xmp"]
        assert restore_files(batch.moved).sidecars_restored == (sidecar,)


@on_linux
def test_sidecar_rows_are_pending_before_the_first_move(
    trash_dir: Path, tmp_path: Path, store: HashStore
) -> None:
    image = write_record_image(tmp_path / "a.png")
    sidecar = write_sidecar(tmp_path / "a.xmp")
    seen: list[list[tuple[Path, FileState]]] = []

    class Watched(StoreJournal):
        def record(self, batch_id: int, path: Path, outcome: TrashedFile | Path | Problem) -> None:
            seen.append([(row.path, row.state) for row in store.batch_files(batch_id)])
            super().record(batch_id, path, outcome)

    trash_files([image], journal=Watched(store))
    assert seen[0] == [(image.path, FileState.PENDING), (sidecar, FileState.PENDING)]
    assert seen[1] == [(image.path, FileState.DONE), (sidecar, FileState.PENDING)]
    [undo] = last_undoable(store)
    assert [s.original for s in undo.sidecars] == [sidecar]
