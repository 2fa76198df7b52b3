"""The action journal: rows before and after each move, undo after a restart, interrupted batches.

Real files, the real send2trash into the temporary Trash of tests/conftest.py, a real SQLite file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from dedup_gui.core.actions import TrashedFile, move_files, restore_files, trash_files
from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.journal import (
    BatchKind,
    FileState,
    JournalFile,
    StoreJournal,
    check_interrupted,
    close_batch,
    last_undoable,
)
from dedup_gui.core.model import ImageRecord, Problem, ProblemKind
from dedup_gui.core.store import HashStore, open_store
from tests.core.images import write_record_image

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="freedesktop Trash tests")


def photos(folder: Path, count: int, name: str = "photo") -> list[ImageRecord]:
    return [write_record_image(folder / f"{name} {n}.png", seed=n) for n in range(count)]


def states(store: HashStore, batch_id: int) -> list[FileState]:
    return [row.state for row in store.batch_files(batch_id)]


class Watched(StoreJournal):
    """The real journal; keeps what the rows looked like when the first file was handled."""

    def __init__(self, store: HashStore) -> None:
        super().__init__(store)
        self.store = store
        self.batch_ids: list[int] = []
        self.rows_at_first_file: list[JournalFile] | None = None

    def begin(
        self,
        kind: BatchKind,
        items: Sequence[ImageRecord | TrashedFile],
        destination: Path | None,
    ) -> int:
        self.batch_ids.append(super().begin(kind, items, destination))
        return self.batch_ids[-1]

    def record(self, batch_id: int, path: Path, outcome: TrashedFile | Path | Problem) -> None:
        if self.rows_at_first_file is None:
            self.rows_at_first_file = self.store.batch_files(batch_id)
        super().record(batch_id, path, outcome)


class Killed(BaseException):
    """Not an Exception, so no handler on the way can catch it: like the process dying."""


class CrashAfter(StoreJournal):
    """Raises after moving file number ``moved`` (counting from 1), before journaling it: the
    state a kill -9 leaves, with the batch unfinished and the in-flight file still pending."""

    def __init__(self, store: HashStore, moved: int) -> None:
        super().__init__(store)
        self._left = moved

    def record(self, batch_id: int, path: Path, outcome: TrashedFile | Path | Problem) -> None:
        self._left -= 1
        if self._left == 0:
            raise Killed()
        super().record(batch_id, path, outcome)


# -- rows before and after --------------------------------------------------------------------


def test_rows_are_pending_before_the_first_move_and_done_after(
    trash_dir: Path, tmp_path: Path, store: HashStore
) -> None:
    records = photos(tmp_path / "album", 3)
    journal = Watched(store)
    report = trash_files(records, journal=journal)
    assert len(report.done) == 3

    assert journal.rows_at_first_file is not None
    assert [row.state for row in journal.rows_at_first_file] == [FileState.PENDING] * 3
    assert [(r.path, r.size, r.mtime_ns, r.content_hash) for r in journal.rows_at_first_file] == [
        (r.path, r.size, r.mtime_ns, r.content_hash) for r in records
    ]
    [batch_id] = journal.batch_ids
    rows = store.batch_files(batch_id)
    assert [row.state for row in rows] == [FileState.DONE] * 3
    assert [(row.moved_to, row.info_file) for row in rows] == [
        (f.trashed_as, f.info_file) for f in report.done
    ]
    assert all(row.moved_to is not None and row.moved_to.is_file() for row in rows)
    assert store.unfinished_batches() == []


def test_failed_and_skipped_files_are_recorded(
    trash_dir: Path, tmp_path: Path, store: HashStore
) -> None:
    vanished, moved = photos(tmp_path / "album", 2)
    protected = write_record_image(tmp_path / "reference" / "r.png", seed=9)
    vanished.path.unlink()
    journal = Watched(store)
    reference = [protected.path.parent]
    trash_files([vanished, moved, protected], protected_roots=reference, journal=journal)
    rows = store.batch_files(journal.batch_ids[0])
    assert [row.state for row in rows] == [FileState.FAILED, FileState.DONE, FileState.FAILED]
    assert "no longer there" in rows[0].detail
    assert "protected" in rows[2].detail

    # A cancelled batch is finished; the files it never reached are 'skipped'.
    later = photos(tmp_path / "later", 3, name="later")
    cancel = CancelToken()
    stopping = CancelAfterFirst(store, cancel)
    report = trash_files(later, cancel=cancel, journal=stopping)
    assert report.cancelled and len(report.done) == 1
    assert states(store, stopping.batch_ids[0]) == [FileState.DONE] + [FileState.SKIPPED] * 2
    assert store.unfinished_batches() == []


class CancelAfterFirst(Watched):
    """The user presses Stop while the first file is being moved."""

    def __init__(self, store: HashStore, cancel: CancelToken) -> None:
        super().__init__(store)
        self._cancel = cancel

    def record(self, batch_id: int, path: Path, outcome: TrashedFile | Path | Problem) -> None:
        super().record(batch_id, path, outcome)
        self._cancel.cancel()


def test_protected_and_already_existing_have_their_own_kinds(
    trash_dir: Path, tmp_path: Path
) -> None:
    inside = write_record_image(tmp_path / "reference" / "a.png", seed=1)
    report = trash_files([inside], protected_roots=[tmp_path / "reference"])
    assert [p.kind for p in report.failed] == [ProblemKind.PROTECTED]

    record = write_record_image(tmp_path / "b.png", seed=2)
    [done] = trash_files([record]).done
    write_record_image(tmp_path / "b.png", seed=3)  # a new file took the name meanwhile
    assert [p.kind for p in restore_files([done]).failed] == [ProblemKind.ALREADY_EXISTS]


# -- undo after a restart ---------------------------------------------------------------------


def test_undo_after_restart_restores_and_marks_rows_restored(
    trash_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "library.sqlite3"
    first = photos(tmp_path / "one", 2, name="first")
    second = photos(tmp_path / "two", 3, name="second")
    contents = {r.path: r.path.read_bytes() for r in first + second}
    with open_store(db) as store:
        trash_files(first, journal=StoreJournal(store))
        trash_files(second, journal=StoreJournal(store))

    with open_store(db) as store:  # "the app was closed and opened again"
        undoable = last_undoable(store)
        assert [f.original for f in undoable] == [r.path for r in second]
        write_record_image(
            second[0].path, seed=50
        )  # this name was taken again: must not be overwritten
        report = restore_files(undoable, journal=StoreJournal(store))
        assert report.restored == (second[1].path, second[2].path)
        assert [p.kind for p in report.failed] == [ProblemKind.ALREADY_EXISTS]
        assert second[0].path.read_bytes() != contents[second[0].path]
        for record in second[1:]:
            assert record.path.read_bytes() == contents[record.path]
        # The refused file stays on offer; the restored ones are never offered again.
        assert [f.original for f in last_undoable(store)] == [second[0].path]

    second[0].path.unlink()  # the newcomer goes: now the undo can go through
    with open_store(db) as store:
        assert restore_files(last_undoable(store), journal=StoreJournal(store)).failed == ()
        assert second[0].path.read_bytes() == contents[second[0].path]
        # That batch is fully restored, so the one before it is next.
        assert [f.original for f in last_undoable(store)] == [r.path for r in first]


def test_move_batches_are_journaled_and_undone_too(tmp_path: Path, store: HashStore) -> None:
    records = photos(tmp_path / "album", 2)
    destination = tmp_path / "set aside"
    move_files(records, destination, journal=StoreJournal(store))
    undoable = last_undoable(store)
    assert [f.trashed_as for f in undoable] == [destination / r.path.name for r in records]
    assert restore_files(undoable, journal=StoreJournal(store)).failed == ()
    assert all(r.path.exists() for r in records) and last_undoable(store) == ()


def test_odd_file_names_survive_the_journal(trash_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    record = write_record_image(tmp_path / os.fsdecode(b"caf\xe9 two\nlines.png"), seed=4)
    content = record.path.read_bytes()
    with open_store(db) as store:
        trash_files([record], journal=StoreJournal(store))
    with open_store(db) as store:
        [undo] = last_undoable(store)
        assert undo.original == record.path
        assert restore_files([undo], journal=StoreJournal(store)).failed == ()
    assert record.path.read_bytes() == content


# -- interrupted batches ----------------------------------------------------------------------


def test_an_interrupted_trash_is_found_and_can_be_restored(trash_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    records = photos(tmp_path / "album", 6, name="interrupted")
    contents = {r.path: r.path.read_bytes() for r in records}
    with open_store(db) as store, pytest.raises(Killed):
        trash_files(records, journal=CrashAfter(store, moved=3))

    with open_store(db) as store:
        [batch] = check_interrupted(store)
        # Two journaled, the third moved but not journaled: found in the Trash by its .trashinfo.
        assert [f.original for f in batch.moved] == [r.path for r in records[:3]]
        assert batch.total == 6
        assert batch.text == (
            "An earlier move to the Trash was interrupted: 3 of 6 photos had been moved."
        )
        assert states(store, batch.batch.batch_id) == [FileState.DONE] * 3 + [FileState.SKIPPED] * 3
        assert last_undoable(store) == ()  # still open: the user has not chosen yet
        assert len(check_interrupted(store)) == 1  # asked again until a choice is made

        report = restore_files(batch.moved, journal=StoreJournal(store))
        close_batch(store, batch.batch.batch_id)
        assert report.failed == ()
        assert check_interrupted(store) == [] and last_undoable(store) == ()
        assert (
            states(store, batch.batch.batch_id)
            == [FileState.RESTORED] * 3 + [FileState.SKIPPED] * 3
        )
    assert {r.path: r.path.read_bytes() for r in records} == contents


def test_keep_as_is_closes_the_batch_and_leaves_it_to_undo(
    trash_dir: Path, tmp_path: Path, store: HashStore
) -> None:
    records = photos(tmp_path / "album", 4, name="kept")
    with pytest.raises(Killed):
        trash_files(records, journal=CrashAfter(store, moved=2))
    [batch] = check_interrupted(store)
    close_batch(store, batch.batch.batch_id)
    assert check_interrupted(store) == []
    assert [r.path.exists() for r in records] == [False, False, True, True]
    assert [f.original for f in last_undoable(store)] == [r.path for r in records[:2]]


def test_an_interrupted_move_is_found_in_its_folder(tmp_path: Path, store: HashStore) -> None:
    destination = tmp_path / "aside"
    destination.mkdir()
    (destination / "photo 0.png").write_bytes(b"someone else's")  # ours became "photo 0 (2)"
    records = photos(tmp_path / "album", 3)
    with pytest.raises(Killed):
        move_files(records, destination, journal=CrashAfter(store, moved=1))
    [batch] = check_interrupted(store)
    assert batch.text.startswith(f"An earlier move to {destination} was interrupted: 1 of 3")
    assert [f.trashed_as for f in batch.moved] == [destination / "photo 0 (2).png"]


def test_a_file_gone_from_everywhere_is_failed_not_done(
    trash_dir: Path, tmp_path: Path, store: HashStore
) -> None:
    records = photos(tmp_path / "album", 3, name="emptied")
    with pytest.raises(Killed):
        trash_files(records, journal=CrashAfter(store, moved=2))
    for entry in (trash_dir / "files").glob("emptied 1*"):
        entry.unlink()  # the Trash was emptied before the next start
    [batch] = check_interrupted(store)
    assert [f.original for f in batch.moved] == [records[0].path]
    rows = store.batch_files(batch.batch.batch_id)
    assert [row.state for row in rows] == [FileState.DONE, FileState.FAILED, FileState.SKIPPED]


def test_an_interrupted_restore_closes_itself_and_marks_what_came_back(
    trash_dir: Path, tmp_path: Path, store: HashStore
) -> None:
    records = photos(tmp_path / "album", 3, name="halfway")
    trash_files(records, journal=StoreJournal(store))
    with pytest.raises(Killed):
        restore_files(last_undoable(store), journal=CrashAfter(store, moved=2))
    assert check_interrupted(store) == []  # nothing to ask: the rest is still undoable
    assert store.unfinished_batches() == []
    assert [f.original for f in last_undoable(store)] == [records[2].path]


_RUNNING_BATCH = """
import sys
from pathlib import Path
from dedup_gui.core.journal import JournalFile
from dedup_gui.core.store import open_store

with open_store(Path(sys.argv[1])) as store:
    store.begin_batch("trash", None, [JournalFile(Path(sys.argv[2]), 1, 1, b"x" * 16)])
    print("begun", flush=True)
    sys.stdin.read()  # hold the batch open until the test closes our stdin or kills us
"""


def test_a_batch_another_running_instance_is_doing_is_not_called_interrupted(
    tmp_path: Path, store: HashStore
) -> None:
    import subprocess

    photo = write_record_image(tmp_path / "photo.png", seed=1)
    child = subprocess.Popen(
        [sys.executable, "-c", _RUNNING_BATCH, str(store.path), str(photo.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "begun\n"
        assert check_interrupted(store) == []
        assert len(store.unfinished_batches()) == 1  # left alone: its owner is still at work
    finally:
        child.kill()
        child.wait()
    check_interrupted(store)  # now its owner is gone: settled (nothing moved, so closed)
    assert store.unfinished_batches() == []
