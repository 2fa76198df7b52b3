"""core.query: copies of given photos in a real scanned library (real images, store, workers)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dedup_gui.core import hamming
from dedup_gui.core.cancel import Cancelled, CancelToken
from dedup_gui.core.grouping import group_by_distance
from dedup_gui.core.hamming import HashIndex
from dedup_gui.core.model import (
    Group,
    HashAlgorithm,
    HashSettings,
    ImageRecord,
    ProblemKind,
    Relation,
    ScanRequest,
    Turn,
)
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.query import LibraryIndex, drop_stale_copies, find_copies, hash_photos
from dedup_gui.core.store import open_store
from tests.core.images import convert, reencode, resize, write_photo, write_text

SETTINGS = HashSettings()


@dataclass(frozen=True)
class Setup:
    library: Path
    new: Path
    db: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """A scanned library (a, a copy, b, c) and a folder of new photos copied off a camera."""
    root = tmp_path_factory.mktemp("query")
    library, new = root / "Photos", root / "Card"
    a = write_photo(library / "a.jpg", width=320, height=240, seed=1)
    (library / "old").mkdir()
    shutil.copyfile(a, library / "old" / "a copy.jpg")
    b = write_photo(library / "b.jpg", width=320, height=240, seed=2, quality=95)
    write_photo(library / "c.jpg", width=320, height=240, seed=3)
    new.mkdir()
    shutil.copyfile(a, new / "a exact.jpg")
    reencode(b, new / "b q60.jpg", quality=60)
    resize(b, new / "b small.jpg", scale=0.5)
    convert(a, new / "a.png")
    write_photo(new / "d new.jpg", width=320, height=240, seed=4)
    db = root / "library.sqlite3"
    with open_store(db) as store:
        report = run_scan(ScanRequest(roots=(library,), workers=2), store)
    assert report.stats.found == 4 and not report.problems
    return Setup(library, new, db)


def by_name(groups: list[Group]) -> dict[str, dict[str, Relation]]:
    """Query photo name -> {library copy name: relation}."""
    return {
        g.reference.record.path.name: {m.record.path.name: m.relation for m in g.members[1:]}
        for g in groups
    }


def test_copies_are_found_with_the_scans_relations(setup: Setup) -> None:
    records, problems = hash_photos([setup.new], SETTINGS, workers=2)
    assert problems == []
    with open_store(setup.db) as store:
        index = LibraryIndex.load(store, SETTINGS)
        groups = find_copies(index, records, store, 8, workers=2)
        assert store.stats().files == 4  # nothing of the queries was added

    assert [g.reference.relation for g in groups] == [Relation.REFERENCE] * 5
    assert by_name(groups) == {
        "a exact.jpg": {"a.jpg": Relation.EXACT, "a copy.jpg": Relation.EXACT},
        "a.png": {"a.jpg": Relation.SAME_PIXELS, "a copy.jpg": Relation.SAME_PIXELS},
        "b q60.jpg": {"b.jpg": Relation.NEAR},
        "b small.jpg": {"b.jpg": Relation.NEAR},
        "d new.jpg": {},  # new: its group holds only itself
    }
    assert all(g.reference.record.path.parent == setup.new for g in groups)


def test_query_labels_match_a_scan_of_the_same_photos(setup: Setup) -> None:
    # One code path: a query's answer is the group a scan would make around that photo.
    records, _ = hash_photos([setup.new / "b small.jpg"], SETTINGS, workers=1)
    with open_store(setup.db) as store:
        library = list(store.load_records(SETTINGS).values())
    [found] = LibraryIndex(library, SETTINGS).find(records, 8)
    [scanned] = [g for g in group_by_distance([*library, *records], 8) if "b.jpg" in str(g.members)]
    distances = {m.record.path: (m.relation, m.distance) for m in scanned.members}
    [copy] = found.members[1:]
    assert copy.record.path.name == "b.jpg"
    # In the scan b.jpg (bigger) is the reference and the small one NEAR at the same distance.
    assert distances[records[0].path] == (Relation.NEAR, copy.distance)
    assert copy.relation is Relation.NEAR


def test_a_photo_inside_the_library_finds_its_other_copies_not_itself(setup: Setup) -> None:
    records, _ = hash_photos([setup.library / "a.jpg"], SETTINGS, workers=1)
    with open_store(setup.db) as store:
        index = LibraryIndex.load(store, SETTINGS)
    [group] = index.find(records, 8)
    assert group.reference.record.path == setup.library / "a.jpg"
    assert [(m.record.path.name, m.relation) for m in group.members[1:]] == [
        ("a copy.jpg", Relation.EXACT)
    ]
    [alone] = index.find(records, 8, excluded_roots=[setup.library / "old"])
    assert len(alone.members) == 1


def test_not_duplicates_are_respected(setup: Setup) -> None:
    records, _ = hash_photos([setup.new / "b q60.jpg"], SETTINGS, workers=1)
    with open_store(setup.db) as store:
        index = LibraryIndex.load(store, SETTINGS)
    b = next(r for r in index.records if r.path.name == "b.jpg")
    assert len(index.find(records, 8)[0].members) == 2
    apart = frozenset({frozenset({b.content_hash, records[0].content_hash})})
    assert len(index.find(records, 8, not_duplicates=apart)[0].members) == 1


def test_unusable_files_are_problems_and_nothing_is_stored(tmp_path: Path) -> None:
    text = write_text(tmp_path / "notes.txt")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    photo = write_photo(tmp_path / "sub" / "p.jpg", seed=9)
    seen: list[tuple[int, int]] = []
    records, problems = hash_photos(
        [text, broken, tmp_path / "sub"], SETTINGS, workers=1, progress=lambda *p: seen.append(p)
    )
    assert [r.path for r in records] == [photo]
    kinds = {p.path.name: p.kind for p in problems}
    assert kinds == {"notes.txt": ProblemKind.NOT_AN_IMAGE, "broken.jpg": ProblemKind.CORRUPT}
    assert seen[-1] == (2, 2)


def test_cancel_stops_hashing(tmp_path: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        hash_photos([write_photo(tmp_path / "p.jpg")], SETTINGS, workers=1, cancel=token)


def test_stale_copies_are_dropped_before_acting(setup: Setup, tmp_path: Path) -> None:
    query = shutil.copyfile(setup.library / "c.jpg", tmp_path / "c.jpg")
    gone = shutil.copyfile(query, tmp_path / "gone.jpg")
    link = tmp_path / "link.jpg"
    os.symlink(query, link)
    [record] = hash_photos([query], SETTINGS, workers=1)[0]
    copies = [_like(record, p) for p in (setup.library / "c.jpg", gone, link)]
    gone.unlink()
    [group] = LibraryIndex(copies, SETTINGS).find([record], 8)
    assert len(group.members) == 4
    # The deleted copy and the symlink to the query photo itself are no copies to rely on.
    kept = drop_stale_copies(group)
    assert [m.record.path for m in kept.members] == [query, setup.library / "c.jpg"]


def _like(record: ImageRecord, path: Path) -> ImageRecord:
    st = os.stat(path)
    return ImageRecord(
        path,
        st.st_size,
        st.st_mtime_ns,
        record.content_hash,
        record.perceptual_hash,
        record.width,
        record.height,
        record.format,
        record.date_taken,
    )


# -- the index on synthetic hashes ------------------------------------------------------------


def _record(k: int, perceptual: bytes, content: bytes | None = None) -> ImageRecord:
    return ImageRecord(
        Path(f"/lib/{k}.jpg"),
        1000 + k,
        0,
        content or k.to_bytes(16, "big"),
        perceptual,
        64,
        48,
        "JPEG",
        None,
    )


def _flip(h: bytes, bits: list[int]) -> bytes:
    value = int.from_bytes(h, "big")
    for bit in bits:
        value ^= 1 << bit
    return value.to_bytes(len(h), "big")


@pytest.mark.parametrize("search", ["chosen", "indexed", "brute"])
@pytest.mark.parametrize(
    ("n", "queries", "nbytes", "threshold"),
    [(3000, 40, 8, 8), (600, 25, 32, 10), (800, 300, 4, 3), (500, 10, 8, 0)],
)
def test_hash_index_equals_brute_force(
    monkeypatch: pytest.MonkeyPatch, search: str, n: int, queries: int, nbytes: int, threshold: int
) -> None:
    if search != "chosen":
        monkeypatch.setattr(hamming, "_NS_SCAN", 10**9 if search == "indexed" else 0)
    rng = np.random.default_rng(n + queries)
    index = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    index[n // 2 : n // 2 + 30] = index[0]  # many equal hashes
    bits = np.unpackbits(index[rng.integers(0, n, queries)], axis=1)
    for row in bits:
        row[rng.choice(nbytes * 8, int(rng.integers(0, threshold + 3)), replace=False)] ^= 1
    asked = np.packbits(bits, axis=1)
    dist = np.unpackbits(asked[:, None, :] ^ index[None, :, :], axis=2).sum(axis=2)
    near = zip(*np.nonzero(dist <= threshold), strict=True)
    expected = {(q, k, int(dist[q, k])) for q, k in near}
    assert len(expected) > queries // 2  # the data has answers, not only misses
    q, k, d = HashIndex(index).pairs_with(asked, threshold)
    assert len(q) == len(expected)
    assert set(zip(q.tolist(), k.tolist(), d.tolist(), strict=True)) == expected


def test_hash_index_rejects_other_hash_lengths() -> None:
    with pytest.raises(ValueError, match="queries must be"):
        HashIndex(np.zeros((3, 8), np.uint8)).pairs_with(np.zeros((1, 4), np.uint8), 8)


def test_empty_library_answers_everything_new() -> None:
    [group] = LibraryIndex([], SETTINGS).find([_record(1, bytes(8))], 8)
    assert len(group.members) == 1


def test_near_copies_come_nearest_first_and_exact_ones_by_content() -> None:
    base = bytes(range(8))
    library = [
        _record(1, _flip(base, [1, 2, 3])),
        _record(2, _flip(base, [5])),
        _record(3, _flip(base, list(range(20)))),  # too far
        _record(4, b"", content=b"q" * 16),  # same content, hash unknown: still exact
    ]
    query = _record(9, base, content=b"q" * 16)
    [group] = LibraryIndex(library, SETTINGS).find([query], 8)
    assert [(m.record.path.name, m.relation, m.distance) for m in group.members] == [
        ("9.jpg", Relation.REFERENCE, 0),
        ("4.jpg", Relation.EXACT, 0),
        ("2.jpg", Relation.NEAR, 1),
        ("1.jpg", Relation.NEAR, 3),
    ]


def test_crop_resistant_segments_match_at_their_nearest() -> None:
    settings = HashSettings(HashAlgorithm.CROP_RESISTANT, 8)
    seg = [bytes([k] * 8) for k in (1, 2, 3, 4)]
    library = [_record(1, seg[0] + seg[1]), _record(2, seg[2] + seg[3])]
    query = _record(9, _flip(seg[3], [0, 9]) + bytes([0xF0] * 8) + _flip(seg[1], [4]))
    [group] = LibraryIndex(library, settings).find([query], 8)
    assert [(m.record.path.name, m.distance) for m in group.members[1:]] == [
        ("1.jpg", 1),
        ("2.jpg", 2),
    ]


def test_turned_copies_are_found_with_their_turn(setup: Setup, tmp_path: Path) -> None:
    with Image.open(setup.library / "c.jpg") as c:
        c.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "c sideways.jpg", quality=90)
    records, problems = hash_photos([tmp_path / "c sideways.jpg"], SETTINGS, workers=1)
    assert not problems
    with open_store(setup.db) as store:
        index = LibraryIndex.load(store, SETTINGS)
        found = find_copies(index, records, store, 8, workers=1)
        upright_only = find_copies(index, records, store, 8, workers=1, match_turned=False)
    [group] = found
    assert [(m.record.path.name, m.turn) for m in group.members[1:]] == [
        ("c.jpg", Turn.ROTATED_90)  # PIL's ROTATE_90 is anticlockwise: c is that turned back
    ]
    assert len(upright_only[0].members) == 1
