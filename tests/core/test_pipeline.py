"""run_scan end to end: real images in tmp_path, a real SQLite file, real worker processes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.model import (
    Group,
    ProblemKind,
    Relation,
    ScanProgress,
    ScanRequest,
    ScanStage,
)
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store
from tests.core.images import (
    brighten,
    convert,
    make_exif,
    reencode,
    replace_jpeg_exif,
    resize,
    write_photo,
    write_random_bytes,
    write_text,
    write_truncated,
)


def _library(root: Path) -> dict[str, Path]:
    """Two originals with every kind of copy, plus one unrelated photo."""
    a = write_photo(root / "a.jpg", width=640, height=480, seed=1, date_taken="2020:01:02 03:04:05")
    b = write_photo(root / "sub" / "b.jpg", width=640, height=480, seed=2)
    paths = {
        "a": a,
        "b": b,
        "a_exact": root / "copies" / "a copy.jpg",
        "a_q60": reencode(a, root / "copies" / "a_q60.jpg", quality=60),
        "a_bright": brighten(a, root / "copies" / "a_bright.jpg", factor=1.2),
        "a_half": resize(a, root / "copies" / "a_half.jpg", scale=0.5),
        "a_png": convert(a, root / "copies" / "a.png"),
        "a_meta": replace_jpeg_exif(a, root / "copies" / "a_meta.jpg", make_exif(artist="x")),
        "b_webp": convert(b, root / "b.webp"),
        "c": write_photo(root / "c.jpg", width=640, height=480, seed=3),
    }
    paths["a_exact"].parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(a, paths["a_exact"])
    return paths


def _scan(root: Path, db: Path, **kwargs: object) -> tuple:
    updates: list[ScanProgress] = []
    request = ScanRequest(roots=(root,), workers=2, **kwargs)  # type: ignore[arg-type]
    with open_store(db) as store:
        report = run_scan(request, store, progress=updates.append)
    return report, updates


def _group_of(groups: tuple[Group, ...], path: Path) -> Group:
    return next(g for g in groups if any(m.record.path == path for m in g.members))


def test_copies_group_with_their_original_and_others_stay_apart(tmp_path: Path) -> None:
    lib = _library(tmp_path / "lib")
    report, updates = _scan(tmp_path / "lib", tmp_path / "db.sqlite3")

    assert not report.cancelled and report.problems == ()
    assert report.stats.found == 10 and report.stats.hashed == 10
    group_a = _group_of(report.groups, lib["a"])
    members = {m.record.path: m for m in group_a.members}
    assert set(members) == {
        lib[k] for k in ("a", "a_exact", "a_q60", "a_bright", "a_half", "a_png", "a_meta")
    }
    # Equal resolution, so the largest file wins the reference: the lossless PNG conversion.
    assert group_a.reference.record.path == lib["a_png"]
    for name in ("a", "a_exact", "a_meta"):  # decoded pixels equal the PNG's
        assert members[lib[name]].relation is Relation.SAME_PIXELS
    assert members[lib["a_bright"]].relation is Relation.NEAR
    assert members[lib["a_bright"]].distance > 0
    assert all(m.distance <= 8 for m in group_a.members)
    assert {m.record.path for m in _group_of(report.groups, lib["b"]).members} == {
        lib["b"],
        lib["b_webp"],
    }
    assert all(lib["c"] not in {m.record.path for m in g.members} for g in report.groups)
    assert updates[-1].stage is ScanStage.DONE
    assert [u.stage for u in updates].index(ScanStage.HASHING) > 0


def test_exact_copies_are_labelled_exact(tmp_path: Path) -> None:
    original = write_photo(tmp_path / "lib" / "x.jpg", seed=11)
    shutil.copyfile(original, tmp_path / "lib" / "x copy.jpg")
    report, _ = _scan(tmp_path / "lib", tmp_path / "db.sqlite3")
    [group] = report.groups
    assert [m.relation for m in group.members] == [Relation.REFERENCE, Relation.EXACT]
    assert group.bytes_reclaimable == original.stat().st_size


def test_rescan_of_unchanged_files_decodes_nothing(tmp_path: Path) -> None:
    _library(tmp_path / "lib")
    db = tmp_path / "db.sqlite3"
    first, _ = _scan(tmp_path / "lib", db)
    second, _ = _scan(tmp_path / "lib", db)

    assert second.stats.hashed == 0 and second.stats.decoded == 0
    assert second.stats.reused == first.stats.found
    assert [len(g.members) for g in second.groups] == [len(g.members) for g in first.groups]
    assert second.groups[0].members == first.groups[0].members


def test_moved_file_reuses_its_perceptual_hash(tmp_path: Path) -> None:
    lib = _library(tmp_path / "lib")
    db = tmp_path / "db.sqlite3"
    _scan(tmp_path / "lib", db)
    moved = tmp_path / "lib" / "renamed" / "moved c.jpg"
    moved.parent.mkdir()
    os.rename(lib["c"], moved)

    report, _ = _scan(tmp_path / "lib", db)

    assert report.stats.hashed == 1  # the moved file was read...
    assert report.stats.decoded == 0  # ...but not decoded: its content was known
    with open_store(db) as store:
        assert moved in store.load_records(ScanRequest(roots=()).hashing)
        assert lib["c"] not in store.load_records(ScanRequest(roots=()).hashing)


def test_bad_files_become_problems_and_the_scan_finishes(tmp_path: Path) -> None:
    lib = _library(tmp_path / "lib")
    bad = tmp_path / "lib" / "bad"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    write_text(bad / "notes.jpg")
    write_random_bytes(bad / "noise.jpg")
    write_truncated(lib["c"], bad / "cut.jpg")

    report, _ = _scan(tmp_path / "lib", tmp_path / "db.sqlite3")

    kinds = {p.path.name: p.kind for p in report.problems}
    assert kinds == {
        "empty.jpg": ProblemKind.EMPTY,
        "notes.jpg": ProblemKind.NOT_AN_IMAGE,
        "noise.jpg": ProblemKind.NOT_AN_IMAGE,
        "cut.jpg": ProblemKind.CORRUPT,
    }
    assert all(p.detail for p in report.problems)
    assert _group_of(report.groups, lib["a"])  # the good files were still grouped


def test_remembered_problems_are_not_decoded_again(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    write_photo(root / "ok.jpg", seed=5)
    write_text(root / "notes.jpg")
    db = tmp_path / "db.sqlite3"
    _scan(root, db)
    report, _ = _scan(root, db)
    assert report.stats.hashed == 0
    assert [p.kind for p in report.problems] == [ProblemKind.NOT_AN_IMAGE]


def test_cancelled_scan_keeps_what_was_hashed(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    for seed in range(30):
        write_photo(root / f"p{seed:02d}.jpg", seed=seed)
    db = tmp_path / "db.sqlite3"
    cancel = CancelToken()

    def on_progress(update: ScanProgress) -> None:
        if update.hashed >= 3:
            cancel.cancel()

    with open_store(db) as store:
        report = run_scan(
            ScanRequest(roots=(root,), workers=1),
            store,
            progress=on_progress,
            cancel=cancel,
            progress_interval_s=0,  # every update, so the test can cancel at an exact count
        )
    assert report.cancelled and report.groups == ()
    assert 3 <= report.stats.hashed < 30

    again, _ = _scan(root, db)
    assert not again.cancelled
    assert again.stats.reused == report.stats.hashed
    assert again.stats.hashed == 30 - report.stats.hashed


def test_hashes_of_other_settings_are_not_mixed(tmp_path: Path) -> None:
    from dedup_gui.core.model import HashAlgorithm, HashSettings

    _library(tmp_path / "lib")
    db = tmp_path / "db.sqlite3"
    _scan(tmp_path / "lib", db)
    report, _ = _scan(tmp_path / "lib", db, hashing=HashSettings(HashAlgorithm.DHASH, 8))
    assert report.stats.reused == 0 and report.stats.decoded == 10


@pytest.mark.parametrize("threshold, expect_near", [(0, False), (10, True)])
def test_threshold_decides_near_duplicates(
    tmp_path: Path, threshold: int, expect_near: bool
) -> None:
    lib = _library(tmp_path / "lib")
    report, _ = _scan(tmp_path / "lib", tmp_path / "db.sqlite3", max_distance=threshold)
    grouped = {m.record.path for g in report.groups for m in g.members}
    assert (lib["a_bright"] in grouped) is expect_near
    assert lib["a_exact"] in grouped  # exact copies group at any threshold
