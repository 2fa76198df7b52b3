"""Scans interrupted for real: kill -9, a second instance on the same database, a full disk."""

from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from dedup_gui.core.errors import StoreError
from dedup_gui.core.model import ScanRequest
from dedup_gui.core.pipeline import run_scan
from dedup_gui.core.store import open_store
from tests.core.images import photo_like, save

REPO = Path(__file__).parents[2]

# Runs a scan of argv[1] into the database argv[2], writing every argv[3] records, and prints
# "hashed N" on each newly hashed file. With argv[4] == "step" it waits for a line on stdin
# after each report (the parent looks at the database meanwhile); with "start" only once,
# when hashing begins (so that two instances hash at the same time).
_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from dedup_gui.core import pipeline
    from dedup_gui.core.model import ScanRequest, ScanStage
    from dedup_gui.core.store import open_store

    root, db, batch, mode = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    # HACK: a private knob, so that a few dozen files make several commits.
    pipeline._BATCH_RECORDS = batch
    last = -1

    def on_progress(update):
        global last, mode
        if update.stage is not ScanStage.HASHING or update.hashed == last:
            return
        last = update.hashed
        print("hashed", update.hashed, flush=True)
        if mode in ("step", "start"):
            sys.stdin.readline()
            mode = "free" if mode == "start" else mode

    with open_store(db) as store:
        report = pipeline.run_scan(
            ScanRequest(roots=(root,), workers=1), store,
            progress=on_progress, progress_interval_s=0,
        )
    print("done", report.stats.hashed, report.stats.reused, flush=True)
    """
)


def _start_child(root: Path, db: Path, batch: int, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root), str(db), str(batch), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _photos(folder: Path, count: int, first_seed: int = 0) -> list[Path]:
    return [
        save(photo_like(64, 48, seed=first_seed + n), folder / f"p{n:03d}.jpg")
        for n in range(count)
    ]


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    """A separate, short-lived connection, as another program reading the database would use."""
    conn = sqlite3.connect(db, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _stored_files(db: Path) -> int:
    return int(_query(db, "SELECT COUNT(*) FROM files")[0][0])


def _integrity(db: Path) -> list[tuple[object, ...]]:
    return _query(db, "PRAGMA integrity_check")


def _send(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdin is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()


# --- kill -9 -------------------------------------------------------------------------------------


def test_kill_9_mid_scan_keeps_the_database_and_what_was_written(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    _photos(root, 40)
    db = tmp_path / "db.sqlite3"
    with open_store(db):
        pass  # created up front, so the parent can read it from the first report on

    child = _start_child(root, db, batch=10, mode="step")
    assert child.stdout is not None
    stored_at_kill = 0
    for line in child.stdout:
        assert line.startswith("hashed"), line  # never "done": it must not finish first
        stored_at_kill = _stored_files(db)
        _send(child, "go")
        if stored_at_kill:  # a batch is committed: kill it while it works on the next one
            child.kill()
            break
    child.wait()
    child.stdout.close()
    assert child.stdin is not None
    child.stdin.close()
    assert child.returncode == -signal.SIGKILL
    assert stored_at_kill > 0

    assert _integrity(db) == [("ok",)]
    with open_store(db) as store:
        report = run_scan(ScanRequest(roots=(root,), workers=2), store)
    assert not report.cancelled
    assert report.stats.reused >= stored_at_kill  # committed batches survived the kill
    assert report.stats.reused + report.stats.hashed == report.stats.found == 40
    assert _stored_files(db) == 40


# --- two instances -------------------------------------------------------------------------------


def _read_lines(children: list[subprocess.Popen[str]]) -> Iterator[tuple[int, str]]:
    """(child index, line) as the children write them, until every one has closed stdout."""
    with selectors.DefaultSelector() as selector:
        for index, child in enumerate(children):
            assert child.stdout is not None
            selector.register(child.stdout, selectors.EVENT_READ, index)
        while selector.get_map():
            for key, _ in selector.select():
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if line:
                    yield key.data, line
                else:
                    selector.unregister(key.fileobj)


def test_two_instances_scan_overlapping_folders_into_one_database(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    everything = _photos(lib / "a", 12) + _photos(lib / "b", 12, 100) + _photos(lib / "c", 24, 200)
    db = tmp_path / "db.sqlite3"
    with open_store(db):
        pass
    # One scans everything, the other a part of it: both write the shared files at once.
    children = [
        _start_child(lib, db, batch=1, mode="start"),
        _start_child(lib / "c", db, batch=1, mode="start"),
    ]
    waiting, done, reads_while_both_hashed = set(), [], 0
    try:
        for index, line in _read_lines(children):
            if line.startswith("done"):
                done.append(line.split())
                continue
            if len(waiting) < len(children):
                waiting.add(index)
                if len(waiting) == len(children):  # both stand at their first file: go
                    for child in children:
                        _send(child, "go")
                continue
            count = _stored_files(db)  # a reader, between and during their writes
            assert count <= len(everything)
            reads_while_both_hashed += not done
    finally:
        for child in children:
            child.wait(timeout=60)
            for stream in (child.stdin, child.stdout):
                assert stream is not None
                stream.close()

    assert [child.returncode for child in children] == [0, 0]
    assert len(done) == 2
    assert reads_while_both_hashed > 0
    assert _integrity(db) == [("ok",)]
    stored = [os.fsdecode(path) for (path,) in _query(db, "SELECT path FROM files")]
    assert sorted(stored) == sorted(str(p) for p in everything)  # every file, once


# --- disk full -----------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KB tmpfs: needs root (or the right capability) and a kernel that allows it."""
    if not sys.platform.startswith("linux"):
        pytest.skip("tmpfs is Linux")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def _long_path_photos(root: Path, count: int) -> Path:
    """``count`` photos at ~3.5 KB paths: each costs the database several KB (path + index)."""
    deep = root
    for level in range(14):
        deep = deep / f"{level:02d}{'x' * 240}"
    _photos(deep, count)
    return root


def test_a_full_disk_ends_the_scan_with_a_plain_message(small_disk: Path, tmp_path: Path) -> None:
    photos = _long_path_photos(tmp_path / "photos", 120)
    db = small_disk / "db.sqlite3"

    with open_store(db) as store, pytest.raises(StoreError) as caught:
        run_scan(ScanRequest(roots=(photos,), workers=2), store)
    assert str(caught.value) == f"Cannot use the database {db}: the disk is full."
    assert _integrity(db) == [("ok",)]

    cli = subprocess.run(
        [sys.executable, "-m", "dedup_gui", "scan", str(photos), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert cli.returncode == 1
    assert cli.stderr.strip().endswith("the disk is full."), cli.stderr
    assert "Traceback" not in cli.stderr
    assert _integrity(db) == [("ok",)]
