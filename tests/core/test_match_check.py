"""Turned and cropped matches checked in fine detail: real copies stay, look-alikes go."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from dedup_gui.core import digest
from dedup_gui.core.grouping import group_by_distance, make_group
from dedup_gui.core.match_check import CHECK_VERSION, check_answers, check_matches
from dedup_gui.core.model import (
    Group,
    GroupMember,
    HashSettings,
    ImageRecord,
    Relation,
    ScanProgress,
    ScanRequest,
    ScanStage,
    Turn,
)
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.query import LibraryIndex, find_copies, hash_photos
from dedup_gui.core.store import HashStore, open_store
from dedup_gui.core.turning import apply_turn, compose, inverse
from dedup_gui.core.verify import ACCEPT
from tests.core.images import add_grain, photo_like, resize, save, write_photo

_CHECK_LOG = "dedup_gui.core.match_check"


def turned_copy(src: Path, dst: Path, turn: Turn, *, quality: int = 90) -> Path:
    with Image.open(src) as img:
        return save(apply_turn(img.convert("RGB"), turn), dst, quality=quality)


def names(groups: tuple[Group, ...] | list[Group]) -> list[set[str]]:
    return [{m.record.path.name for m in g.members} for g in groups]


def scan(root: Path, db: Path, **kwargs: object) -> tuple:
    request = ScanRequest(roots=(root,), workers=2, **kwargs)  # type: ignore[arg-type]
    with open_store(db) as store:
        return run_scan(request, store), list(store.load_records(HashSettings()).values())


def round_picture(side: int = 512, seed: int = 0) -> Image.Image:
    """A textured disc on black whose brightness depends on the radius only (as a fundus
    photo's): its quarters are quarter discs alike in outline, each its neighbour turned,
    with different fine texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] + 0.5
    r = np.hypot(x - side / 2, y - side / 2) / (side / 2)
    noise = Image.fromarray((rng.random((side, side)) * 255).astype(np.uint8))
    texture = (np.asarray(noise.filter(ImageFilter.GaussianBlur(2)), np.float32) - 127.5) * 3
    pixels = np.where(r < 0.94, np.clip(200 - 120 * r**2 + texture, 0, 255), 0)
    return Image.fromarray(pixels.astype(np.uint8)).convert("RGB")


def write_quarters(folder: Path) -> list[Path]:
    picture = round_picture()
    half = picture.width // 2
    corners = [(0, 0), (half, 0), (0, half), (half, half)]
    return [
        save(picture.crop((x, y, x + half, y + half)), folder / f"q{k}.jpg", quality=90)
        for k, (x, y) in enumerate(corners)
    ]


def record(path: Path) -> ImageRecord:
    """Enough of a scan's record for check_matches: path, content and size."""
    data = path.read_bytes()
    with Image.open(path) as img:
        width, height = img.size
    return ImageRecord(
        path, len(data), 0, digest.content_hash(data), b"", width, height, "JPEG", None
    )


# --- in a scan -----------------------------------------------------------------------------------


def test_rotated_and_mirrored_copies_stay_grouped_with_their_turn(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    original = write_photo(lib / "original.jpg", width=320, height=240, seed=1)
    truth = {"original.jpg": Turn.NONE}
    for turn in list(Turn)[1:]:
        turned_copy(original, lib / f"{turn.name}.jpg", turn)
        truth[f"{turn.name}.jpg"] = turn
    small = resize(original, tmp_path / "small.jpg", scale=0.5, quality=70)  # outside the scan
    turned_copy(small, lib / "small_rotated_90.jpg", Turn.ROTATED_90, quality=60)
    truth["small_rotated_90.jpg"] = Turn.ROTATED_90
    report, _ = scan(lib, tmp_path / "db.sqlite3")
    (group,) = report.groups
    turns = {m.record.path.name: m.turn for m in group.members}
    assert set(turns) == set(truth)
    ref_turn = truth[group.reference.record.path.name]
    for name, turn in turns.items():
        assert turn is compose(inverse(ref_turn), truth[name]), name


def test_quarters_of_a_round_picture_are_not_grouped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lib = tmp_path / "lib"
    write_quarters(lib)
    db = tmp_path / "db.sqlite3"
    with caplog.at_level(logging.INFO, logger=_CHECK_LOG):
        report, records = scan(lib, db)
    # The hashes alone group them: turned, the quarter discs match.
    assert names(group_by_distance(records, 8, match_turned=True)) == [
        {"q0.jpg", "q1.jpg", "q2.jpg", "q3.jpg"}
    ]
    assert report.groups == ()
    # q3 takes the other three, all refused; regrouped, q0 takes two, then q1 the last one.
    assert sum("not a turned copy" in r.message for r in caplog.records) == 6
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=_CHECK_LOG):
        again, _ = scan(lib, db)
    assert again.groups == ()
    assert not caplog.records  # the saved (checked) groups were reused: nothing checked again


def test_a_file_gone_before_the_check_keeps_the_hashes_verdict(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    original = write_photo(lib / "a.jpg", width=320, height=240, seed=1)
    rotated = turned_copy(original, lib / "a_rotated.jpg", Turn.ROTATED_90)
    (lib / "b.jpg").write_bytes(original.read_bytes())  # an exact copy: a group either way

    def delete_when_checking(update: ScanProgress) -> None:
        if update.stage is ScanStage.VERIFYING:
            rotated.unlink(missing_ok=True)

    request = ScanRequest(roots=(lib,), workers=2)
    with open_store(tmp_path / "db.sqlite3") as store:
        report = run_scan(request, store, progress=delete_when_checking)
    assert not report.cancelled
    assert names(report.groups) == [{"a.jpg", "b.jpg", "a_rotated.jpg"}]


# --- check_matches on its own --------------------------------------------------------------------


def test_members_taken_by_a_look_alike_are_regrouped_among_themselves(tmp_path: Path) -> None:
    q0, _, _, q3 = write_quarters(tmp_path)
    q0_turned = turned_copy(q0, tmp_path / "q0_turned.jpg", Turn.ROTATED_270)
    # As grouping would have it: q3 took q0 and q0's turned copy, both only alike in outline.
    taken = make_group(
        record(q3),
        [],
        [(2, record(q0)), (2, record(q0_turned))],
        turns={q0: Turn.ROTATED_180, q0_turned: Turn.ROTATED_90},
    )
    asked: list[set[str]] = []

    def regroup(removed: list[ImageRecord]) -> list[Group]:
        asked.append({r.path.name for r in removed})
        first, second = sorted(removed, key=lambda r: r.path.name)
        return [make_group(first, [], [(0, second)], turns={second.path: Turn.ROTATED_270})]

    request = ScanRequest(roots=(tmp_path,), workers=1)
    groups, is_complete = check_matches([taken], request, regroup=regroup)
    assert asked == [{"q0.jpg", "q0_turned.jpg"}]  # once: the regrouped pair holds
    assert names(groups) == [{"q0.jpg", "q0_turned.jpg"}]
    assert groups[0].members[1].turn is Turn.ROTATED_270
    assert is_complete


@pytest.mark.parametrize(("turn", "cropped"), [(Turn.ROTATED_90, False), (Turn.NONE, True)])
def test_a_pair_that_cannot_be_decoded_is_kept_and_reported_incomplete(
    tmp_path: Path, turn: Turn, cropped: bool
) -> None:
    original = write_photo(tmp_path / "a.jpg", width=160, height=120, seed=4)
    copy = turned_copy(original, tmp_path / "a_copy.jpg", turn)
    group = Group(
        (
            GroupMember(record(original), Relation.REFERENCE, 0),
            GroupMember(record(copy), Relation.NEAR, 0, turn, cropped=cropped),
        )
    )
    copy.write_bytes(b"not an image any more")
    request = ScanRequest(roots=(tmp_path,), workers=1)
    groups, is_complete = check_matches([group], request)
    assert groups == [group]
    assert not is_complete


def test_a_pair_that_cannot_be_decoded_is_not_remembered(tmp_path: Path, store: HashStore) -> None:
    original = write_photo(tmp_path / "a.jpg", width=160, height=120, seed=4)
    good = turned_copy(original, tmp_path / "a_good.jpg", Turn.ROTATED_90)
    bad = turned_copy(original, tmp_path / "a_bad.jpg", Turn.ROTATED_180)
    reference, good_record, bad_record = record(original), record(good), record(bad)
    group = Group(
        (
            GroupMember(reference, Relation.REFERENCE, 0),
            GroupMember(good_record, Relation.NEAR, 0, Turn.ROTATED_90),
            GroupMember(bad_record, Relation.NEAR, 0, Turn.ROTATED_180),
        )
    )
    bad.write_bytes(b"not an image any more")
    request = ScanRequest(roots=(tmp_path,), workers=1)
    assert check_matches([group], request, cache=store) == ([group], False)
    good_key = (reference.content_hash, good_record.content_hash, Turn.ROTATED_90, False)
    bad_key = (reference.content_hash, bad_record.content_hash, Turn.ROTATED_180, False)
    remembered = store.check_scores([good_key, bad_key], CHECK_VERSION)
    assert list(remembered) == [good_key]  # the failed pair is tried again next time
    assert remembered[good_key] >= ACCEPT


def test_find_copies_answers_no_look_alike_quarter(tmp_path: Path) -> None:
    lib, card = tmp_path / "lib", tmp_path / "card"
    q0, *_ = write_quarters(lib)
    for path in lib.iterdir():
        if path != q0:
            path.unlink()
    quarters = write_quarters(card)  # the same quarters, off another card: q1-q3 look like q0
    db = tmp_path / "db.sqlite3"
    scan(lib, db)
    records, _ = hash_photos(quarters, HashSettings(), workers=2)
    with open_store(db) as store:
        index = LibraryIndex.load(store, HashSettings())
        unchecked = index.find(records, 8)
        answers = find_copies(index, records, store, 8, workers=2)
    found = {g.reference.record.path.name: {m.record.path for m in g.members[1:]} for g in answers}
    # The hashes alone answer q0's look-alikes with q0; checked, only q0 itself is a copy.
    assert sum(len(g.members) > 1 for g in unchecked) > 1
    assert found == {"q0.jpg": {q0}, "q1.jpg": set(), "q2.jpg": set(), "q3.jpg": set()}


def test_find_copies_again_decodes_no_checked_pair(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lib, card = tmp_path / "lib", tmp_path / "card"
    write_quarters(lib)
    quarters = write_quarters(card)  # the same quarters: each has its twin and 3 look-alikes
    db = tmp_path / "db.sqlite3"
    scan(lib, db)
    records, _ = hash_photos(quarters, HashSettings(), workers=2)
    with open_store(db) as store:
        index = LibraryIndex.load(store, HashSettings())
        first = find_copies(index, records, store, 8, workers=2)
        for path in quarters:  # the scores are remembered: the query photos are not decoded
            path.write_bytes(b"gone")
        with caplog.at_level(logging.WARNING, logger=_CHECK_LOG):
            again = find_copies(index, records, store, 8, workers=2)
    # Each quarter's answer is its twin in the library; checked again, its look-alikes would
    # stay (a pair that fails to decode is kept).
    twins = [[m.record.path.name for m in g.members] for g in first]
    assert twins == [[f"q{k}.jpg", f"q{k}.jpg"] for k in range(4)]
    assert again == first
    assert not caplog.records


# --- cropped members -----------------------------------------------------------------------------


def font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def watermarked(picture: Image.Image) -> Image.Image:
    """A stock photo's marks: a translucent name bottom right, a translucent logo top left."""
    base = picture.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = base.size
    draw.text((w * 0.55, h * 0.85), "(c) PhotoStock", font=font(h // 16), fill=(255, 255, 255, 140))
    draw.ellipse((w * 0.04, h * 0.04, w * 0.14, h * 0.04 + w * 0.1), fill=(255, 255, 255, 110))
    return Image.alpha_composite(base, layer).convert("RGB")


def captioned(picture: Image.Image) -> Image.Image:
    """A meme's caption: outlined capitals over the top and the bottom of the picture."""
    out = picture.convert("RGB")
    draw = ImageDraw.Draw(out)
    w, h = out.size
    for y, text in ((h * 0.03, "WHEN THE SCAN"), (h * 0.84, "FINDS EVERY COPY")):
        draw.text(
            (w * 0.08, y),
            text,
            font=font(h // 11),
            fill="white",
            stroke_width=2,
            stroke_fill="black",
        )
    return out


def cropped_group(reference: Path, members: list[tuple[Path, Turn]]) -> Group:
    """As the crop ladder would group them: every member matched through a centred window."""
    return Group(
        (
            GroupMember(record(reference), Relation.REFERENCE, 0),
            *(GroupMember(record(p), Relation.NEAR, 4, turn, cropped=True) for p, turn in members),
        )
    )


def test_crops_and_marked_copies_stay_and_look_alikes_go(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    picture = photo_like(400, 300, seed=1)
    original = save(picture, tmp_path / "original.jpg")
    crop = save(picture.crop((24, 12, 384, 282)), tmp_path / "crop.jpg", quality=85)  # 10 %
    kept = [
        (crop, Turn.NONE),
        (save(watermarked(picture), tmp_path / "watermarked.jpg"), Turn.NONE),
        (save(captioned(picture), tmp_path / "captioned.jpg"), Turn.NONE),
        (turned_copy(crop, tmp_path / "crop_turned.jpg", Turn.ROTATED_90), Turn.ROTATED_90),
    ]
    other = write_photo(tmp_path / "other.jpg", width=400, height=300, seed=2)
    other_copy = tmp_path / "other_copy.jpg"
    other_copy.write_bytes(other.read_bytes())  # the same content: checked once
    scene = photo_like(470, 320, seed=3)  # a burst: the camera moved 15 % sideways
    frame_a = save(scene.crop((0, 10, 400, 310)), tmp_path / "frame_a.jpg")
    frame_b = save(scene.crop((60, 10, 460, 310)), tmp_path / "frame_b.jpg")
    tall = photo_like(400, 600, seed=4)  # two tiles of one picture, side by side
    top = save(tall.crop((0, 0, 400, 300)), tmp_path / "top.jpg")
    bottom = save(tall.crop((0, 300, 400, 600)), tmp_path / "bottom.jpg")
    groups = [
        cropped_group(original, [*kept, (other, Turn.NONE), (other_copy, Turn.NONE)]),
        cropped_group(frame_a, [(frame_b, Turn.NONE)]),
        cropped_group(top, [(bottom, Turn.NONE)]),
    ]
    request = ScanRequest(roots=(tmp_path,), workers=2)
    with caplog.at_level(logging.INFO, logger=_CHECK_LOG):
        checked, is_complete = check_matches(groups, request)
    assert is_complete
    (group,) = checked
    assert group.members == groups[0].members[:5]  # as they were: still flagged cropped
    refused = [r.message for r in caplog.records if "not a cropped copy" in r.message]
    assert len(refused) == 3  # other (once for both copies), frame_b, bottom


def test_a_cropped_look_alike_leaves_a_query_answer_with_its_photo(tmp_path: Path) -> None:
    query = write_photo(tmp_path / "query.jpg", width=400, height=300, seed=1)
    other = write_photo(tmp_path / "other.jpg", width=400, height=300, seed=2)
    answer = cropped_group(query, [(other, Turn.NONE)])
    request = ScanRequest(roots=(), workers=1)
    assert names(check_answers([answer], request)) == [{"query.jpg"}]


def burst_frames(folder: Path) -> tuple[Path, Path]:
    """Two frames of one scene, as a hand-held burst takes them: the second moved 2 % and
    tilted 0.7 degrees, with its own sensor noise. Within 4 pHash bits of each other."""
    scene = photo_like(700, 500, seed=1, noise=0)
    first = add_grain(scene.crop((0, 0, 600, 400)), 4, 1)
    tilted = scene.rotate(0.7, resample=Image.Resampling.BICUBIC)
    second = add_grain(tilted.crop((12, 4, 612, 404)), 4, 2)
    return save(first, folder / "frame 1.jpg"), save(second, folder / "frame 2.jpg")


def test_near_members_are_checked_at_the_default_threshold_not_at_loose(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    first, _ = burst_frames(photos)
    resize(first, photos / "frame 1 small.jpg", scale=0.5)

    report, _ = scan(photos, tmp_path / "a.sqlite3", max_distance=8)
    # The resized copy passes the check; the next frame of the burst does not.
    assert names(report.groups) == [{"frame 1.jpg", "frame 1 small.jpg"}]

    # "Loosely similar" asks for near shots of one scene: the frame is shown, unchecked.
    report, _ = scan(photos, tmp_path / "b.sqlite3", max_distance=12)
    assert names(report.groups) == [{"frame 1.jpg", "frame 1 small.jpg", "frame 2.jpg"}]


def test_a_scan_reports_its_checks_and_a_rescan_has_none_to_make(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    original = write_photo(lib / "original.jpg", width=320, height=240, seed=1)
    for turn in (Turn.ROTATED_90, Turn.MIRRORED):
        turned_copy(original, lib / f"{turn.name}.jpg", turn)
    (lib / "other.jpg").write_bytes(b"")  # a problem: the rescan groups again, from memory
    seen: list[ScanProgress] = []
    request = ScanRequest(roots=(lib,), workers=2)
    with open_store(tmp_path / "db.sqlite3") as store:
        run_scan(request, store, progress=seen.append)
        checking = [p for p in seen if p.stage is ScanStage.VERIFYING]
        assert checking[-1].to_check == 2 and checking[-1].checked <= 2
        assert seen[-1].checked == 2  # the last snapshot counts every check made
        write_photo(lib / "new.jpg", width=320, height=240, seed=7)  # forces a regroup
        seen.clear()
        run_scan(request, store, progress=seen.append)
        assert {(p.to_check, p.checked) for p in seen} == {(0, 0)}  # all remembered


def test_find_copies_checks_near_answers_as_a_scan_at_the_same_threshold(tmp_path: Path) -> None:
    lib, card = tmp_path / "lib", tmp_path / "card"
    lib.mkdir()
    card.mkdir()
    first, second = burst_frames(lib)
    second.rename(card / second.name)
    scan(lib, tmp_path / "db.sqlite3")
    records, _ = hash_photos([card / second.name], HashSettings(), workers=2)
    with open_store(tmp_path / "db.sqlite3") as store:
        index = LibraryIndex.load(store, HashSettings())
        strict = find_copies(index, records, store, 8, workers=2)
        loose = find_copies(index, records, store, 12, workers=2)
    assert [len(g.members) for g in strict] == [1]  # checked: the next frame is no copy
    assert [[m.record.path for m in g.members[1:]] for g in loose] == [[first]]  # unchecked
