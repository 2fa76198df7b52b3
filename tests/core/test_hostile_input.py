"""Hostile and broken files through the real scan: each ends as a clear problem or a right hash.

Most cases share one corpus and one ``run_scan`` (module fixture), so the whole file stays fast;
cases needing another process (memory limit, another user, the CLI) run their own small scans.
"""

from __future__ import annotations

import csv
import ctypes
import io
import json
import os
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from dedup_gui.core.export import path_text
from dedup_gui.core.hashing import PLUGINS_ENV, configured_plugins, load_plugins
from dedup_gui.core.model import (
    ImageRecord,
    Problem,
    ProblemKind,
    ScanProgress,
    ScanReport,
    ScanRequest,
    ScanStage,
    WalkOptions,
)
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store
from tests.core.images import (
    animated_gif,
    make_exif,
    odd_names,
    photo_like,
    save,
    write_huge_header_jpeg,
    write_huge_header_png,
    write_photo,
    write_png_bad_crc,
    write_random_bytes,
)
from tests.core.plugins.crashy import CRASH_MAGIC, HANG_MAGIC

REPO = Path(__file__).parents[2]
PLUGIN = "tests.core.plugins.crashy"


@dataclass(frozen=True)
class Corpus:
    root: Path
    report: ScanReport
    odd: list[Path]  # the odd-named copies of one photo

    def problem(self, name: str) -> Problem:
        [problem] = [p for p in self.report.problems if p.path.name == name]
        return problem

    def group_names(self, name: str) -> set[str]:
        """Names of the files in the group holding ``name`` (just itself if it is in none)."""
        for group in self.report.groups:
            names = {m.record.path.name for m in group.members}
            if name in names:
                return names
        return {name}

    def record(self, name: str) -> ImageRecord:
        [member] = [m for g in self.report.groups for m in g.members if m.record.path.name == name]
        return member.record


# --- the corpus ----------------------------------------------------------------------------------


def _write_good_files(root: Path) -> None:
    """Unusual but valid images, each with a plain twin it must group with."""
    save(photo_like(seed=1), root / "twin.jpg")
    save(photo_like(seed=1), root / "twin_is_png.jpg", fmt="PNG")

    animated_gif(root / "animated.gif", width=256, height=192, seed=2)
    save(photo_like(seed=2), root / "animated_gif_twin.png")

    frames = [photo_like(seed=3), photo_like(seed=3003)]
    frames[0].save(
        root / "animated.webp", "WEBP", save_all=True, append_images=frames[1:], lossless=True
    )
    save(frames[0], root / "animated_webp_twin.png")

    # Not through save(): it turns CMYK into RGB for JPEG.
    photo_like(seed=4).convert("CMYK").save(root / "cmyk.jpg", "JPEG", quality=90)
    save(photo_like(seed=4), root / "cmyk_twin.jpg")

    grey = photo_like(seed=5).convert("L")
    deep = np.asarray(grey, dtype=np.uint16) * 257  # full 16-bit range
    Image.fromarray(deep).save(root / "sixteen_bit.png")
    save(grey, root / "sixteen_bit_twin.png")

    palette = photo_like(seed=6).quantize(colors=255)  # index 255 stays free for transparency
    ImageDraw.Draw(palette).rectangle((20, 20, 90, 70), fill=255)
    palette.save(root / "palette_transparent.png", transparency=255)
    over_white = Image.new("RGBA", palette.size, "white")
    over_white.alpha_composite(palette.convert("RGBA"))
    save(over_white.convert("RGB"), root / "palette_transparent_twin.png")

    plain = photo_like(seed=7)
    save(plain, root / "orientation_twin.jpg")
    for value in (0, 9, 65535):
        save(plain, root / f"orientation_{value}.jpg", exif=make_exif(orientation=value))


def _write_bad_files(root: Path) -> None:
    (root / "empty.jpg").write_bytes(b"")
    whole = io.BytesIO()
    photo_like(seed=1).save(whole, "JPEG", quality=90)
    (root / "truncated.jpg").write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    write_png_bad_crc(root / "bad_crc.png")
    write_random_bytes(root / "random.jpg")
    write_huge_header_png(root / "bomb_header.png")
    write_huge_header_jpeg(root / "bomb_header.jpg")
    (root / "crash.jpg").write_bytes(CRASH_MAGIC + bytes(64))
    (root / "hang.jpg").write_bytes(HANG_MAGIC + bytes(64))


def _write_odd_names(folder: Path) -> list[Path]:
    """Copies of one photo (each its own bytes) under names that trip naive code."""
    folder.mkdir()
    paths = []
    for number, name in enumerate(odd_names()):
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))
        save(photo_like(seed=8), path, quality=90 - number)
        paths.append(path)
    return paths


def _all_files(root: Path) -> list[Path]:
    return sorted(Path(d, f) for d, _, files in os.walk(root) for f in files)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("hostile") / "corpus"
    root.mkdir()
    _write_good_files(root)
    _write_bad_files(root)
    odd = _write_odd_names(root / "odd names")
    gone = write_photo(root / "gone.jpg", seed=9)
    replaced = write_photo(root / "replaced.jpg", seed=0)
    (root / "loop").mkdir()
    os.symlink("..", root / "loop" / "back")  # followed, it leads to the corpus again
    expected_found = len(_all_files(root))  # os.walk does not follow the link
    has_changed = False

    def on_progress(update: ScanProgress) -> None:
        # The walk listed every file; no worker has opened one yet.
        nonlocal has_changed
        if update.stage is ScanStage.HASHING and not has_changed:
            has_changed = True
            gone.unlink()
            save(photo_like(300, 200, seed=0), root / "replacement.tmp", fmt="JPEG")
            os.replace(root / "replacement.tmp", replaced)

    request = ScanRequest(
        roots=(root,),
        walk=WalkOptions(follow_symlinks=True),
        workers=2,
        per_file_timeout_s=2,  # the hanging decoder costs these 2 s
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv(PLUGINS_ENV, PLUGIN)
        with open_store(root.parent / "db.sqlite3") as store:
            report = run_scan(request, store, progress=on_progress, progress_interval_s=0)
    assert has_changed
    assert report.stats.found == expected_found
    return Corpus(root, report, odd)


# --- the whole scan ------------------------------------------------------------------------------


def test_the_scan_finishes_with_every_file_hashed_or_a_problem(corpus: Corpus) -> None:
    stats = corpus.report.stats
    assert not corpus.report.cancelled
    assert stats.hashed + stats.problems == stats.found
    for problem in corpus.report.problems:
        assert problem.detail and "Traceback" not in problem.detail
        assert not problem.detail.startswith("unexpected error"), problem


def test_good_files_group_with_their_twins_and_nothing_else(corpus: Corpus) -> None:
    groups = {frozenset(m.record.path.name for m in g.members) for g in corpus.report.groups}
    assert groups == {
        frozenset({"twin.jpg", "twin_is_png.jpg"}),
        frozenset({"animated.gif", "animated_gif_twin.png"}),
        frozenset({"animated.webp", "animated_webp_twin.png"}),
        frozenset({"cmyk.jpg", "cmyk_twin.jpg"}),
        frozenset({"sixteen_bit.png", "sixteen_bit_twin.png"}),
        frozenset({"palette_transparent.png", "palette_transparent_twin.png"}),
        frozenset(
            {"orientation_twin.jpg", "orientation_0.jpg", "orientation_9.jpg"}
            | {"orientation_65535.jpg"}
        ),
        frozenset(p.name for p in corpus.odd),
    }


# --- broken files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, kind, detail",
    [
        ("empty.jpg", ProblemKind.EMPTY, "empty file (0 bytes)"),
        ("truncated.jpg", ProblemKind.CORRUPT, "the file is truncated (an incomplete copy?)"),
        ("bad_crc.png", ProblemKind.CORRUPT, "damaged PNG file (its header cannot be read)"),
        (
            "random.jpg",
            ProblemKind.NOT_AN_IMAGE,
            "not an image (content is not a known image format)",
        ),
        ("bomb_header.png", ProblemKind.TOO_LARGE, "image is too large (50000 x 50000 pixels)"),
        ("bomb_header.jpg", ProblemKind.TOO_LARGE, "image is too large (50000 x 50000 pixels)"),
    ],
)
def test_a_broken_file_is_a_plain_problem(
    corpus: Corpus, name: str, kind: ProblemKind, detail: str
) -> None:
    problem = corpus.problem(name)
    assert (problem.kind, problem.detail) == (kind, detail)


def test_a_decoder_that_crashes_its_worker_costs_that_file_only(corpus: Corpus) -> None:
    problem = corpus.problem("crash.jpg")
    assert (problem.kind, problem.detail) == (
        ProblemKind.CRASHED,
        "the image decoder crashed on this file",
    )


def test_a_decoder_that_hangs_times_out(corpus: Corpus) -> None:
    problem = corpus.problem("hang.jpg")
    assert (problem.kind, problem.detail) == (
        ProblemKind.TIMED_OUT,
        "gave up after 2 s: the decoder did not finish",
    )


def test_a_file_deleted_after_listing_is_vanished(corpus: Corpus) -> None:
    problem = corpus.problem("gone.jpg")
    assert (problem.kind, problem.detail) == (ProblemKind.VANISHED, "deleted while scanning")


def test_a_file_replaced_after_listing_is_not_hashed_as_the_old_one(corpus: Corpus) -> None:
    problem = corpus.problem("replaced.jpg")
    assert (problem.kind, problem.detail) == (ProblemKind.VANISHED, "changed while scanning")


# --- unusual but valid files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("twin_is_png.jpg", "PNG"),  # the content decides, not the name
        ("animated.gif", "GIF"),
        ("animated.webp", "WEBP"),
        ("cmyk.jpg", "JPEG"),
        ("sixteen_bit.png", "PNG"),
        ("palette_transparent.png", "PNG"),
        ("orientation_0.jpg", "JPEG"),
        ("orientation_9.jpg", "JPEG"),
        ("orientation_65535.jpg", "JPEG"),
    ],
)
def test_an_unusual_image_hashes_with_its_real_facts(corpus: Corpus, name: str, fmt: str) -> None:
    record = corpus.record(name)
    # Out-of-range orientations mean "as stored": no quarter turn swapping the sides.
    assert (record.format, record.width, record.height) == (fmt, 256, 192)
    twin = next(n for n in corpus.group_names(name) if n != name)
    assert record.perceptual_hash != b"\x00" * 8  # a real picture, not a blank decode
    assert corpus.record(twin).width == 256


def test_a_symlink_loop_is_walked_once(corpus: Corpus) -> None:
    seen = [m.record.path for g in corpus.report.groups for m in g.members]
    seen += [p.path for p in corpus.report.problems]
    assert not [p for p in seen if "loop" in p.parts]
    assert len(seen) == len(set(seen))


def test_odd_names_keep_their_exact_paths(corpus: Corpus) -> None:
    [group] = [g for g in corpus.report.groups if g.members[0].record.path in corpus.odd]
    paths = {m.record.path for m in group.members}
    assert paths == set(corpus.odd)
    assert all(os.path.exists(p) for p in paths)  # the names still open the real files


@pytest.mark.parametrize(
    "name, mode",
    [
        ("cmyk.jpg", "CMYK"),
        ("sixteen_bit.png", "I;16"),
        ("palette_transparent.png", "P"),
        ("animated.gif", "P"),
    ],
)
def test_the_corpus_holds_what_it_claims(corpus: Corpus, name: str, mode: str) -> None:
    with Image.open(corpus.root / name) as img:
        assert img.mode == mode
        assert getattr(img, "n_frames", 1) > 1 or name != "animated.gif"
        assert "transparency" in img.info or name != "palette_transparent.png"
    with Image.open(corpus.root / "animated.webp") as img:
        assert img.n_frames == 2
    with Image.open(corpus.root / "orientation_65535.jpg") as img:
        assert img.getexif()[0x0112] == 65535


# --- in another process: a memory limit, another user, the CLI ------------------------------------

# Scans argv[1] into the database argv[2] and prints problems, groups and sizes as JSON.
_SCAN_SCRIPT = textwrap.dedent(
    """
    import json, os, resource, sys
    from pathlib import Path
    if len(sys.argv) > 3:  # before any big import: the forkserver and workers inherit it
        limit = int(sys.argv[3])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from dedup_gui.core.model import ScanRequest
    from dedup_gui.core.pipeline import run_scan
    from dedup_gui.core.store import open_store
    request = ScanRequest(roots=(Path(sys.argv[1]),), workers=2)
    with open_store(Path(sys.argv[2])) as store:
        report = run_scan(request, store)
        records = store.load_records(request.hashing)
    sizes = {path.name: [r.width, r.height] for path, r in records.items()}
    print(json.dumps({
        "problems": {p.path.name: [p.kind.value, p.detail] for p in report.problems},
        "groups": sorted(sorted(m.record.path.name for m in g.members) for g in report.groups),
        "sizes": sizes,
    }))
    """
)


def _scan_in_subprocess(
    root: Path, db: Path, *extra: str, preexec: Callable[[], None] | None = None
) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _SCAN_SCRIPT, str(root), str(db), *extra],
        capture_output=True,
        text=True,
        cwd=root.parent,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=False,
        preexec_fn=preexec,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _drop_permission_override() -> None:
    """In the child before exec: root keeps its uid but must obey permission bits.

    Dropped from the bounding set, the two capabilities that let root read anything are gone
    from the executed program and its children. (Switching to "nobody" with setuid would be
    simpler, but the interpreter may live where only root can reach it, e.g. under /root.)
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _write_black_png(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit black PNG: a few KB on disk however many pixels it claims."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then all-zero (black) bits
    rows_per_call = 1000
    idat = b"".join(
        compressor.compress(row * min(rows_per_call, height - start))
        for start in range(0, height, rows_per_call)
    )
    idat += compressor.flush()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as on Linux")
def test_decompression_bombs_in_a_memory_limited_scan(tmp_path: Path) -> None:
    root = tmp_path / "bombs"
    root.mkdir()
    save(photo_like(seed=1), root / "twin.jpg")
    save(photo_like(seed=1), root / "twin.png")
    write_huge_header_png(root / "header_bomb.png")
    tiny_bomb = _write_black_png(root / "black_20000.png", 20_000, 20_000)
    under_limit = _write_black_png(root / "black_12000.png", 12_000, 12_000)
    assert tiny_bomb.stat().st_size < 100_000 and under_limit.stat().st_size < 100_000

    # 1.5 GB of address space per process: a worker allocating gigabytes fails, visibly.
    result = _scan_in_subprocess(root, tmp_path / "db.sqlite3", str(3 << 29))

    assert result["problems"] == {
        "header_bomb.png": ["too_large", "image is too large (50000 x 50000 pixels)"],
        "black_20000.png": ["too_large", "image is too large (20000 x 20000 pixels)"],
    }
    assert result["groups"] == [["twin.jpg", "twin.png"]]
    sizes = result["sizes"]
    assert isinstance(sizes, dict)
    assert sizes["black_12000.png"] == [12_000, 12_000]  # under the limit: decoded in 1.5 GB


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX bits, Linux capabilities")
def test_a_file_and_a_folder_without_read_permission(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    save(photo_like(seed=1), root / "twin.jpg")
    save(photo_like(seed=1), root / "twin.png")
    secret = save(photo_like(seed=2), root / "secret.jpg")
    locked = root / "locked"
    save(photo_like(seed=3), locked / "inside.jpg")
    secret.chmod(0o000)
    locked.chmod(0o000)
    try:
        preexec = None
        if os.geteuid() == 0:
            preexec = _drop_permission_override  # root reads everything, whatever the bits
        elif os.access(secret, os.R_OK):
            pytest.skip("permission bits do not bind this user")
        result = _scan_in_subprocess(root, tmp_path / "db.sqlite3", preexec=preexec)
    finally:
        locked.chmod(0o755)  # so that pytest can clean up

    assert result["problems"] == {
        "secret.jpg": ["permission", "permission denied"],
        "locked": ["permission", "permission denied: cannot read this folder"],
    }
    assert result["groups"] == [["twin.jpg", "twin.png"]]


def test_odd_names_through_the_cli_json_and_csv(tmp_path: Path) -> None:
    odd = _write_odd_names(tmp_path / "odd names")
    if os.name == "posix":
        (tmp_path / "odd names" / os.fsdecode(b"empty-\xe9.jpg")).write_bytes(b"")
    db = tmp_path / "db.sqlite3"
    expected = sorted(path_text(p) for p in odd)

    as_json = _cli("scan", tmp_path / "odd names", "--json", "--db", db)
    document = json.loads(as_json)
    [group] = document["groups"]
    assert sorted(m["path"] for m in group["members"]) == expected
    if os.name == "posix":
        [problem] = document["problems"]
        assert problem["path"].endswith("empty-\N{REPLACEMENT CHARACTER}.jpg")
        assert problem["kind"] == "empty"

    as_csv = _cli("scan", tmp_path / "odd names", "--csv", "--db", db)
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert sorted(row["path"] for row in rows) == expected  # the newline survived quoting


def _cli(*args: str | Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dedup_gui", *map(str, args)],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")  # strict: the output must be valid UTF-8


# --- naming plugins ------------------------------------------------------------------------------


def test_configured_plugins_keeps_importable_names_and_warns_about_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ = {PLUGINS_ENV: f" {PLUGIN} ,, no_such_plugin_module, no_such_package.sub ,"}
    assert configured_plugins(environ) == (PLUGIN,)
    assert configured_plugins({}) == ()
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "'no_such_plugin_module'" in warned and "'no_such_package.sub'" in warned


def test_a_plugin_that_fails_to_import_costs_its_formats_not_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('half-installed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    load_plugins(["broken_plugin"])
    assert "cannot load the Pillow plugin 'broken_plugin'" in caplog.text
