"""Rescans that reuse saved groups and load little: nothing but the members' rows when the walk
is the saved one (its digest), file stats and the members' rows when groups hold few files."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from dedup_gui.core import pipeline
from dedup_gui.core.frozen import slot_setters
from dedup_gui.core.group_cache import encode_groups, member_positions, walk_digest
from dedup_gui.core.model import (
    Group,
    GroupMember,
    ImageRecord,
    Relation,
    ScanProgress,
    ScanReport,
    ScanRequest,
    ScanStage,
    Turn,
)
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import HashStore, open_store
from tests.core.rescan_library import fail, regrouped, scan, write_library

_SINGLES = 8  # distinct photos: with the 5 grouped ones, groups hold 5 of 13 files (< half)


def _members(report: ScanReport) -> set[Path]:
    return {m.record.path for g in report.groups for m in g.members}


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[dict[str, Path], Path, ScanReport]:
    lib = write_library(tmp_path / "lib", singles=_SINGLES)
    db = tmp_path / "db.sqlite3"
    first = scan(tmp_path / "lib", db)
    assert len(_members(first)) == 5 and first.stats.found == 5 + _SINGLES  # singles stay so
    return lib, db, first


def _without_walk_digest(db: Path) -> None:
    with open_store(db) as store:  # as saved by a scan that met a problem
        store._conn.execute("UPDATE saved_groups SET walk_digest = NULL")


def test_the_same_walk_loads_nothing_but_members_and_equals_grouping_again(
    scanned: tuple[dict[str, Path], Path, ScanReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    lib, db, first = scanned
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "group_by_distance", fail)
        for load in ("load_records", "load_file_stats", "load_problems"):
            patch.setattr(HashStore, load, fail)
        reused = scan(lib["a"].parent, db)
    assert reused.groups == first.groups
    assert reused.stats.reused == first.stats.found and reused.stats.hashed == 0
    assert regrouped(lib["a"].parent, db).groups == reused.groups


def test_a_sparse_rescan_loads_no_full_records_and_equals_grouping_again(
    scanned: tuple[dict[str, Path], Path, ScanReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    lib, db, first = scanned
    _without_walk_digest(db)
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "group_by_distance", fail)
        patch.setattr(HashStore, "load_records", fail)  # the narrow load only
        reused = scan(lib["a"].parent, db)
    assert reused.groups == first.groups
    assert reused.stats.reused == first.stats.found and reused.stats.hashed == 0
    assert regrouped(lib["a"].parent, db).groups == reused.groups


def test_no_walk_digest_is_saved_while_a_walked_file_is_bad(tmp_path: Path) -> None:
    lib = write_library(tmp_path / "lib", singles=_SINGLES)
    (tmp_path / "lib" / "bad.jpg").write_bytes(b"not an image")
    db = tmp_path / "db.sqlite3"
    first = scan(tmp_path / "lib", db)
    again = scan(tmp_path / "lib", db)  # reuses the groups (a remembered problem)...
    assert again.groups == first.groups and again.problems == first.problems != ()
    with open_store(db) as store:
        [saved] = store._conn.execute("SELECT walk_digest FROM saved_groups").fetchall()
    assert saved == (None,)  # ...but through the narrow load, which finds the bad file
    (tmp_path / "lib" / "bad.jpg").unlink()
    assert scan(lib["a"].parent, db).problems == ()


def test_the_full_load_gives_the_same_groups(
    scanned: tuple[dict[str, Path], Path, ScanReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    lib, db, first = scanned
    _without_walk_digest(db)
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "group_by_distance", fail)
        patch.setattr(HashStore, "load_file_stats", fail)
        patch.setattr(pipeline, "_NARROW_BELOW", 0.0)  # groups are never "few": load it all
        reused = scan(lib["a"].parent, db)
    assert reused.groups == first.groups


@pytest.mark.parametrize("change", ["touch a single", "delete a single", "add a copy"])
def test_a_change_after_a_narrow_load_groups_again_from_full_records(
    scanned: tuple[dict[str, Path], Path, ScanReport], change: str
) -> None:
    lib, db, _ = scanned
    root = lib["a"].parent
    if change == "touch a single":
        stat = lib["single3"].stat()
        os.utime(lib["single3"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    elif change == "delete a single":
        lib["single3"].unlink()
    else:
        shutil.copyfile(lib["single3"], root / "single3 copy.jpg")
    again = scan(root, db)
    assert again.groups == regrouped(root, db).groups
    assert (lib["single3"] in _members(again)) is (change == "add a copy")
    with open_store(db) as store:  # forget_missing held
        known = store.load_records(ScanRequest(roots=()).hashing)
        assert (lib["single3"] in known) is (change != "delete a single")
        assert len(known) == again.stats.found


@pytest.mark.parametrize("digest", [True, False])
def test_a_store_change_before_the_members_are_read_groups_again(
    scanned: tuple[dict[str, Path], Path, ScanReport], digest: bool
) -> None:
    lib, db, first = scanned
    if not digest:
        _without_walk_digest(db)
    [group] = [g for g in first.groups if lib["a"] in {m.record.path for m in g.members}]
    reference, member = group.members[0].record, group.members[-1].record
    other = open_store(db)

    def decide_at_grouping(progress: ScanProgress) -> None:
        # Another connection's decision lands between the narrow load and the members' read.
        if progress.stage is ScanStage.GROUPING and other.generation() == generation:
            other.add_not_duplicate(reference.content_hash, member.content_hash)

    request = ScanRequest(roots=(lib["a"].parent,), workers=1)
    with open_store(db) as store:
        generation = store.generation()
        report = run_scan(request, store, progress=decide_at_grouping, progress_interval_s=0)
    other.close()
    assert _generation(db) != generation  # the decision was made during the scan
    assert report.groups != first.groups  # not the saved groups, read after the decision
    assert report.groups == regrouped(lib["a"].parent, db).groups


def _generation(db: Path) -> int:
    with open_store(db) as store:
        return store.generation()


def test_member_positions_include_partners_and_reject_damage() -> None:
    def record(name: str) -> ImageRecord:
        return ImageRecord(Path("/p") / name, 1, 2, name.encode(), b"", 1, 1, "JPEG", None)

    raw, jpeg, other, ref = record("IMG_1.CR2"), record("IMG_1.JPG"), record("o"), record("r")
    groups = [
        Group(
            (
                GroupMember(jpeg, Relation.REFERENCE, 0, Turn.NONE, raw.path),
                GroupMember(raw, Relation.NEAR, 3, Turn.NONE, jpeg.path),
            )
        ),
        Group(
            (
                GroupMember(ref, Relation.REFERENCE, 0),
                GroupMember(other, Relation.NEAR, 1),
            )
        ),
    ]
    order = [other, raw, record("alone"), jpeg, ref]
    blob = encode_groups(groups, order.index)
    assert member_positions(blob) == [0, 1, 3, 4]
    with pytest.raises(ValueError):
        member_positions(blob[:-8])


def test_slot_setters_only_for_exactly_the_known_fields() -> None:
    names = tuple(field.name for field in dataclasses.fields(GroupMember))
    assert slot_setters(GroupMember, names) is not None
    assert slot_setters(GroupMember, names[:-1]) is None  # a field this does not know
    assert slot_setters(GroupMember, names[::-1]) is None

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError(self.value)

    assert slot_setters(Checked, ("value",)) is None  # its __init__ does more than set fields

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        value: int

    assert slot_setters(NoSlots, ("value",)) is None


def test_records_built_by_slots_equal_records_built_by_init(tmp_path: Path) -> None:
    record = ImageRecord(
        tmp_path / "a.jpg", 10, 20, b"c" * 16, b"p" * 8, 64, 48, "JPEG", "2024-01-02 03:04:05"
    )
    with open_store(tmp_path / "db.sqlite3") as store:
        store.put_records([record], ScanRequest(roots=()).hashing)
        [loaded] = store.load_records(ScanRequest(roots=()).hashing).values()
    assert loaded == record and hash(loaded) == hash(record) and repr(loaded) == repr(record)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.size = 1  # type: ignore[misc]


def test_walk_digest_depends_on_the_files_only() -> None:
    walked = [("/p/a.jpg", 10, 20, 1), ("/p/b\udcff.jpg", 11, 21, 2)]  # a non-UTF-8 name too
    copy = [(text[:], size, mtime_ns, links) for text, size, mtime_ns, links in walked]
    held = [text for text, *_ in walked]  # more references to the same strings
    assert walk_digest(walked) == walk_digest(copy) and held
    changed = [walked[0], ("/p/b\udcff.jpg", 11, 22, 2)]
    assert walk_digest(changed) != walk_digest(walked) != walk_digest(walked[::-1])
