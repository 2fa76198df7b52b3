"""kill -9 in the middle of a batch of trash moves: the journal says what happened, undo works.

A child process trashes real files with the real journal; it reports each journaled file on
stdout, and after the fourth file has been moved, before it is journaled, it waits for the end.
The parent kills it with SIGKILL there: the hardest moment, a moved file the journal calls pending.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from dedup_gui.core.actions import restore_files
from dedup_gui.core.freedesktop_trash import home_trash_location
from dedup_gui.core.journal import FileState, StoreJournal, check_interrupted, close_batch
from dedup_gui.core.store import open_store

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="freedesktop Trash and SIGKILL")

FILES = 10
JOURNALED_BEFORE_KILL = 3

_CHILD = """
import os, sys
from pathlib import Path
from dedup_gui.core.actions import trash_files
from dedup_gui.core.digest import file_content_hash
from dedup_gui.core.journal import StoreJournal
from dedup_gui.core.model import ImageRecord
from dedup_gui.core.store import open_store

class Reporting(StoreJournal):
    journaled = 0

    def record(self, batch_id, path, outcome):
        if self.journaled == int(sys.argv[2]):
            print("in flight", flush=True)  # moved, not yet journaled
            sys.stdin.readline()  # the parent kills us while we wait here
        super().record(batch_id, path, outcome)
        self.journaled += 1
        print("journaled", flush=True)

def record_of(path):
    st = os.lstat(path)
    return ImageRecord(path, st.st_size, st.st_mtime_ns, file_content_hash(path),
                       bytes(8), 64, 64, "PNG", None)

records = [record_of(Path(os.fsdecode(p))) for p in sys.argv[3:]]
with open_store(Path(sys.argv[1])) as store:
    trash_files(records, journal=Reporting(store))
print("finished", flush=True)
"""


def test_kill_during_trash_then_the_batch_is_reported_and_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_home = home_trash_location().topdir  # the test Trash this process looks in too
    assert "dedup-gui-test-xdg-" in str(data_home)
    monkeypatch.setenv("HOME", str(tmp_path))  # the home Trash is for files on $HOME's drive
    album = tmp_path / "album"
    album.mkdir()
    paths = []
    for n in range(FILES):
        path = album / f"killed {n}.png"
        Image.new("RGB", (64, 64), (n * 20, 100, 50)).save(path, "PNG")
        paths.append(path)
    contents = {path: path.read_bytes() for path in paths}
    db = tmp_path / "library.sqlite3"

    env = {**os.environ, "XDG_DATA_HOME": str(data_home), "HOME": str(tmp_path)}
    args = [sys.executable, "-c", _CHILD, str(db), str(JOURNALED_BEFORE_KILL)]
    child = subprocess.Popen(
        [*args, *map(os.fsencode, paths)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=Path(__file__).parents[2],
        text=True,
    )
    assert child.stdout is not None
    lines = []
    try:
        while (line := child.stdout.readline().strip()) not in ("in flight", ""):
            lines.append(line)
        os.kill(child.pid, signal.SIGKILL)  # also when the child failed: never leave it waiting
    finally:
        child.kill()
        _, errors = child.communicate(timeout=30)
    assert lines == ["journaled"] * JOURNALED_BEFORE_KILL, errors
    assert child.returncode == -signal.SIGKILL

    moved = JOURNALED_BEFORE_KILL + 1
    assert [p.exists() for p in paths] == [False] * moved + [True] * (FILES - moved)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()

    with open_store(db) as store:
        [batch] = check_interrupted(store)
        assert batch.text == (
            f"An earlier move to the Trash was interrupted: {moved} of {FILES} photos "
            "had been moved."
        )
        assert [f.original for f in batch.moved] == paths[:moved]
        report = restore_files(batch.moved, journal=StoreJournal(store))
        close_batch(store, batch.batch.batch_id)
        rows = store.batch_files(batch.batch.batch_id)
        assert [row.state for row in rows] == [FileState.RESTORED] * moved + [FileState.SKIPPED] * (
            FILES - moved
        )
        assert check_interrupted(store) == []
    assert report.failed == ()
    assert {path: path.read_bytes() for path in paths} == contents
    assert not any((data_home / "Trash" / "files").glob("killed *"))
