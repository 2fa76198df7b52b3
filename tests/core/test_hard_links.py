"""Hard links: the walk names them, the report carries them, and they free no space."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from dedup_gui.core import export
from dedup_gui.core.links import (
    ELSEWHERE_NOTE,
    find_linked_elsewhere,
    link_note,
    linked_paths,
    reclaimable_bytes,
)
from dedup_gui.core.model import (
    FileInfo,
    Group,
    GroupMember,
    ImageRecord,
    Relation,
    ScanReport,
    ScanRequest,
    ScanStats,
    WalkOptions,
)
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.scanning import iter_image_files
from dedup_gui.core.store import open_store
from tests.core.images import write_photo


def _walk(
    roots: list[Path], options: WalkOptions | None = None
) -> tuple[list[FileInfo], list[tuple[Path, Path]]]:
    links: list[tuple[Path, Path]] = []
    files = list(
        iter_image_files(
            roots, options or WalkOptions(), on_hard_link=lambda a, b: links.append((a, b))
        )
    )
    return files, links


def test_walk_yields_a_hard_linked_file_once_and_names_its_other_links(tmp_path: Path) -> None:
    a = write_photo(tmp_path / "a.jpg", width=64, height=48)
    os.link(a, tmp_path / "b.jpg")
    (tmp_path / "sub").mkdir()
    os.link(a, tmp_path / "sub" / "c.jpg")
    single = write_photo(tmp_path / "d.jpg", width=64, height=48, seed=1)

    files, links = _walk([tmp_path])

    assert [(f.path, f.links) for f in files] == [(a, 3), (single, 1)]
    assert links == [(a, tmp_path / "b.jpg"), (a, tmp_path / "sub" / "c.jpg")]


def test_walk_does_not_call_a_symlink_or_a_path_met_twice_a_hard_link(tmp_path: Path) -> None:
    a = write_photo(tmp_path / "photos" / "a.jpg", width=64, height=48)
    os.link(a, tmp_path / "elsewhere.jpg")  # a has 2 names, so the walk tracks its identity
    (tmp_path / "photos" / "z_symlink.jpg").symlink_to(a)

    files, links = _walk([tmp_path / "photos", a], WalkOptions(follow_symlinks=True))

    assert [f.path for f in files] == [a]
    assert links == []


def test_walk_without_callback_behaves_as_before(tmp_path: Path) -> None:
    a = write_photo(tmp_path / "a.jpg", width=64, height=48)
    os.link(a, tmp_path / "b.jpg")
    assert [f.path for f in iter_image_files([tmp_path], WalkOptions())] == [a]


def test_links_outside_the_walk_count_as_linked_elsewhere(tmp_path: Path) -> None:
    a = write_photo(tmp_path / "in" / "a.jpg", width=64, height=48)
    b = write_photo(tmp_path / "in" / "b.jpg", width=64, height=48, seed=1)
    (tmp_path / "out").mkdir()
    os.link(a, tmp_path / "out" / "a.jpg")
    os.link(b, tmp_path / "out" / "b.jpg")
    os.link(b, tmp_path / "in" / "b2.jpg")

    files, links = _walk([tmp_path / "in"])
    hard_links = {first: [other] for first, other in links}

    assert hard_links == {b: [tmp_path / "in" / "b2.jpg"]}
    # b has one name in the walk besides its own and one outside: elsewhere too.
    assert find_linked_elsewhere(files, hard_links) == {a, b}


def _photos_with_links(root: Path, outside: Path) -> dict[str, Path]:
    """a and its exact copy c, both hard-linked (a inside the scan, c outside); b and its
    unlinked copy b2."""
    a = write_photo(root / "a.jpg", width=128, height=96, seed=1)
    c = Path(shutil.copyfile(a, root / "c.jpg"))
    (root / "sub").mkdir()
    os.link(a, root / "sub" / "a2.jpg")
    outside.mkdir()
    os.link(c, outside / "c.jpg")
    b = write_photo(root / "b.jpg", width=128, height=96, seed=2)
    b2 = Path(shutil.copyfile(b, root / "b2.jpg"))
    return {"a": a, "a2": root / "sub" / "a2.jpg", "b": b, "b2": b2, "c": c}


def test_scan_report_carries_hard_links_and_links_elsewhere(tmp_path: Path) -> None:
    paths = _photos_with_links(tmp_path / "photos", tmp_path / "outside")
    with open_store(tmp_path / "db.sqlite3") as store:
        report = run_scan(ScanRequest(roots=(tmp_path / "photos",), workers=1), store)

    assert report.stats.found == 4  # a2 is a, not a fifth photo
    assert report.hard_links == ((paths["a"], (paths["a2"],)),)
    assert report.linked_elsewhere == {paths["c"]}
    linked = linked_paths(report)
    assert linked == {paths["a"], paths["c"]}
    by_ref = {frozenset(m.record.path for m in g.members): g for g in report.groups}
    linked_group = by_ref[frozenset({paths["a"], paths["c"]})]
    plain_group = by_ref[frozenset({paths["b"], paths["b2"]})]
    # Whichever of a and c is kept, trashing the other frees nothing.
    assert linked_group.bytes_reclaimable > 0
    assert reclaimable_bytes(linked_group, linked) == 0
    assert reclaimable_bytes(plain_group, linked) == paths["b"].stat().st_size


def _record(path: str, size: int) -> ImageRecord:
    digest = hashlib.blake2b(path.encode(), digest_size=16).digest()
    return ImageRecord(Path(path), size, 1, digest, bytes(8), 10, 10, "JPEG", None)


def _group(*sizes_and_paths: tuple[str, int]) -> Group:
    (first, first_size), *rest = sizes_and_paths
    members = [GroupMember(_record(first, first_size), Relation.REFERENCE, 0)]
    members += [GroupMember(_record(p, s), Relation.EXACT, 0) for p, s in rest]
    return Group(tuple(members))


@pytest.mark.parametrize(
    ("linked", "expected"),
    [
        (set(), 500),  # as Group.bytes_reclaimable
        ({"/x/b.jpg"}, 300),
        ({"/x/b.jpg", "/x/c.jpg"}, 0),
        ({"/x/a.jpg"}, 500),  # a linked reference changes nothing: it is kept anyway
    ],
)
def test_reclaimable_bytes_leaves_out_linked_files(linked: set[str], expected: int) -> None:
    group = _group(("/x/a.jpg", 1000), ("/x/b.jpg", 200), ("/x/c.jpg", 300))
    assert reclaimable_bytes(group, {Path(p) for p in linked}) == expected
    assert group.bytes_reclaimable == 500


def test_json_export_counts_no_space_for_linked_files() -> None:
    group = _group(("/x/a.jpg", 1000), ("/x/b.jpg", 200))
    plain = json.loads(export.to_json([group]))
    linked = json.loads(export.to_json([group], linked={Path("/x/b.jpg")}))
    assert plain["groups"][0]["bytes_reclaimable"] == 200
    assert linked["groups"][0]["bytes_reclaimable"] == 0


def test_report_with_links_stays_hashable_and_picklable() -> None:
    report = ScanReport(
        groups=(_group(("/x/a.jpg", 1), ("/x/b.jpg", 1)),),
        problems=(),
        stats=ScanStats(),
        hard_links=((Path("/x/a.jpg"), (Path("/y/a.jpg"),)),),
        linked_elsewhere=frozenset({Path("/x/b.jpg")}),
    )
    assert pickle.loads(pickle.dumps(report)) == report
    assert hash(report) == hash(pickle.loads(pickle.dumps(report)))
    assert ScanReport((), (), ScanStats()).hard_links == ()


def test_link_note_words() -> None:
    assert link_note([Path("/b")], False) == "hard link: also at 1 other place"
    assert link_note([Path("/b"), Path("/c")], True) == "hard link: also at 2 other places"
    assert link_note([], True) == ELSEWHERE_NOTE
    assert link_note([], False) is None
