"""Reusing a scan's saved groups: the same answer as grouping again, and only while it is."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from dedup_gui.core import group_cache, pipeline
from dedup_gui.core.group_cache import decode_groups, encode_groups, request_key
from dedup_gui.core.model import (
    Group,
    GroupMember,
    ImageRecord,
    Relation,
    ScanRequest,
    Turn,
    WalkOptions,
)
from dedup_gui.core.scanning import FolderNotes, iter_image_files, walk_image_files
from dedup_gui.core.store import open_store
from tests.core.images import write_photo
from tests.core.rescan_library import fail, regrouped, scan, write_library


def test_an_unchanged_rescan_reuses_the_groups_and_they_equal_grouping_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = write_library(tmp_path / "lib")
    db = tmp_path / "db.sqlite3"
    first = scan(tmp_path / "lib", db)
    assert first.groups and any(
        m.relation is Relation.SAME_PIXELS for g in first.groups for m in g.members
    )
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "group_by_distance", fail)
        reused = scan(tmp_path / "lib", db)
    assert reused.groups == first.groups
    assert reused.stats.reused == first.stats.found and reused.stats.hashed == 0
    assert regrouped(tmp_path / "lib", db).groups == reused.groups
    assert lib["a"] in {m.record.path for g in reused.groups for m in g.members}


def test_sidecars_are_read_fresh_after_reuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = write_library(tmp_path / "lib")
    db = tmp_path / "db.sqlite3"
    scan(tmp_path / "lib", db)
    sidecar = lib["a"].with_name("a.jpg.xmp")
    sidecar.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "group_by_distance", fail)
        reused = scan(tmp_path / "lib", db)
    [member] = [m for g in reused.groups for m in g.members if m.record.path == lib["a"]]
    assert member.record.sidecars == (sidecar,)
    assert member.record.facts.rating == 4
    assert regrouped(tmp_path / "lib", db).groups == reused.groups


@pytest.mark.parametrize(
    "change",
    ["touch a file", "delete a file", "add a file", "another threshold", "not duplicates"],
)
def test_any_change_of_an_input_groups_again(tmp_path: Path, change: str) -> None:
    lib = write_library(tmp_path / "lib")
    db = tmp_path / "db.sqlite3"
    first = scan(tmp_path / "lib", db)
    kwargs: dict[str, object] = {}
    if change == "touch a file":
        stat = lib["a_bright"].stat()
        os.utime(lib["a_bright"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    elif change == "delete a file":
        lib["b_copy"].unlink()
    elif change == "add a file":
        shutil.copyfile(lib["b"], tmp_path / "lib" / "b again.jpg")
    elif change == "another threshold":
        kwargs["max_distance"] = 0
    else:
        a_hash = next(m.record.content_hash for g in first.groups for m in g.members[:1])
        other = next(m.record.content_hash for g in first.groups for m in g.members[1:2])
        with open_store(db) as store:
            store.add_not_duplicate(a_hash, other)

    calls: list[int] = []
    real = pipeline.group_by_distance

    def counting(*args: object, **named: object) -> list[Group]:
        calls.append(1)
        return real(*args, **named)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "group_by_distance", counting)
        again = scan(tmp_path / "lib", db, **kwargs)
    assert calls == [1]
    assert again.groups == regrouped(tmp_path / "lib", db, **kwargs).groups
    if change == "delete a file":
        with open_store(db) as store:  # forget_missing still ran
            assert lib["b_copy"] not in store.load_records(ScanRequest(roots=()).hashing)
    if change in ("touch a file", "add a file"):
        assert again.stats.hashed == 1


def test_a_deleted_bad_file_is_forgotten_by_a_reusing_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = write_library(tmp_path / "lib")
    bad = tmp_path / "lib" / "bad.jpg"
    bad.write_bytes(b"not an image")
    db = tmp_path / "db.sqlite3"
    scan(tmp_path / "lib", db)
    scan(tmp_path / "lib", db)  # saves its groups (nothing changed since the first)
    bad.unlink()
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "group_by_distance", fail)
        report = scan(tmp_path / "lib", db)
    assert report.problems == ()
    with open_store(db) as store:
        assert store.stats().problems == 0
        assert lib["a"] in store.load_records(ScanRequest(roots=()).hashing)


def test_groups_are_not_saved_when_another_connection_wrote_meanwhile(tmp_path: Path) -> None:
    write_library(tmp_path / "lib")
    db = tmp_path / "db.sqlite3"
    scan(tmp_path / "lib", db)
    request = ScanRequest(roots=(tmp_path / "lib",), workers=1)
    with open_store(db) as store, open_store(db) as other:
        store._conn.execute("DELETE FROM saved_groups")
        read = store.load_records(request.hashing)
        other.add_not_duplicate(b"a" * 16, b"b" * 16)
        assert not store.save_groups(request_key(request), b"", b"", read=read)
        read = store.load_records(request.hashing)
        assert store.save_groups(request_key(request), b"", b"", read=read)
        saved = store.saved_groups(request_key(request))
        assert saved is not None and saved.generation == store.generation()


def test_the_generation_counts_changes_to_what_grouping_reads(tmp_path: Path) -> None:
    lib = write_library(tmp_path / "lib")
    db = tmp_path / "db.sqlite3"
    scan(tmp_path / "lib", db)
    with open_store(db) as store:
        steps = [
            lambda: store.add_not_duplicate(b"a" * 16, b"b" * 16),
            lambda: store.remove_not_duplicate(b"a" * 16, b"b" * 16),
            lambda: store.put_pixel_digests({b"x" * 16: b"y"}),  # no such content: no change
            lambda: store.forget([lib["b"]]),
        ]
        changed = []
        for step in steps:
            before = store.generation()
            step()
            changed.append(store.generation() != before)
    assert changed == [True, True, False, True]


def test_request_key_leaves_out_only_speed_settings(tmp_path: Path) -> None:
    base = ScanRequest(roots=(tmp_path,))
    assert request_key(base) == request_key(ScanRequest(roots=(tmp_path,), workers=7))
    others = [
        ScanRequest(roots=(tmp_path / "x",)),
        ScanRequest(roots=(tmp_path,), max_distance=3),
        ScanRequest(roots=(tmp_path,), match_turned=False),
        ScanRequest(roots=(tmp_path,), match_crops=False),
        ScanRequest(roots=(tmp_path,), pairs_as_duplicates=True),
        ScanRequest(roots=(tmp_path,), walk=WalkOptions(include_hidden=True)),
        ScanRequest(roots=(tmp_path,), walk=WalkOptions(exclude_patterns=("*x*",))),
    ]
    assert len({request_key(r) for r in [base, *others]}) == 1 + len(others)


def test_encode_and_decode_keep_relations_distances_turns_and_partners() -> None:
    def record(name: str) -> ImageRecord:
        return ImageRecord(Path("/p") / name, 1, 2, name.encode(), b"", 1, 1, "JPEG", None)

    raw, jpeg, near = record("IMG_1.CR2"), record("IMG_1.JPG"), record("x.png")
    groups = [
        Group(
            (
                GroupMember(jpeg, Relation.REFERENCE, 0, Turn.NONE, raw.path),
                GroupMember(raw, Relation.NEAR, 3, Turn.NONE, jpeg.path),
                GroupMember(near, Relation.SAME_PIXELS, 1, Turn.MIRRORED_ROTATED_90),
            )
        )
    ]
    order = [raw, jpeg, near]
    blob = encode_groups(groups, order.index)
    assert decode_groups(blob, order.__getitem__) == groups
    with pytest.raises(ValueError):
        decode_groups(blob[:-8], order.__getitem__)


def test_a_member_matched_through_a_crop_window_stays_cropped() -> None:
    def record(name: str) -> ImageRecord:
        plain = ImageRecord(Path("/p") / name, 1, 2, name.encode(), b"\x01" * 8, 1, 1, "JPEG", None)
        return replace(plain, ladder=b"\x02" * 24)

    whole, cropped, captioned = record("a.jpg"), record("a crop.jpg"), record("a text.jpg")
    groups = [
        Group(
            (
                GroupMember(whole, Relation.REFERENCE, 0),
                GroupMember(cropped, Relation.NEAR, 6, Turn.ROTATED_90, cropped=True),
                GroupMember(captioned, Relation.NEAR, 2, cropped=False),
            )
        )
    ]
    order = [cropped, captioned, whole]
    decoded = decode_groups(encode_groups(groups, order.index), order.__getitem__)
    assert decoded == groups
    assert [m.cropped for m in decoded[0].members] == [False, True, False]
    assert all(type(m.cropped) is bool for m in decoded[0].members)


def test_members_are_built_by_their_slots_while_the_fields_match() -> None:
    # A field added to GroupMember without updating group_cache would silently fall back to
    # the slower GroupMember(...) path.
    assert group_cache._member_maker() is not GroupMember


def test_walk_image_files_matches_iter_image_files_and_notes_sidecar_folders(
    tmp_path: Path,
) -> None:
    write_photo(tmp_path / "a.jpg", width=64, height=48)
    write_photo(tmp_path / "with" / "b.jpg", width=64, height=48)
    (tmp_path / "with" / ".hidden.XMP").write_text("x")  # hidden, but a sidecar is looked for
    notes = FolderNotes()
    raw = list(walk_image_files([tmp_path], WalkOptions(), notes=notes))
    infos = list(iter_image_files([tmp_path], WalkOptions()))
    assert [(Path(t), s, m, n) for t, s, m, n in raw] == [
        (i.path, i.size, i.mtime_ns, i.links) for i in infos
    ]
    assert all(str(Path(text)) == text for text, *_ in raw)
    assert notes.with_sidecars == {str(tmp_path / "with")}
    assert notes.loose == set()
