"""The worker pool with real processes: results, crashes, hangs, errors, cancel, clean exit."""

from __future__ import annotations

import errno
import multiprocessing
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dedup_gui
from dedup_gui.core.cancel import Cancelled, CancelToken
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.model import ProblemKind
from dedup_gui.core.workers import TaskFailed, WorkerPool, WorkerStartError, default_worker_count
from tests.core import worker_tasks

Task = tuple[str, Any]
CRASHED = TaskFailed(ProblemKind.CRASHED, "the image decoder crashed on this file")


def make_pool(workers: int = 2, timeout_s: float = 30.0, **kwargs: Any) -> WorkerPool[Task, Any]:
    return WorkerPool(worker_tasks.run, workers=workers, timeout_s=timeout_s, **kwargs)


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_every_result_comes_back() -> None:
    with make_pool() as pool:
        results = dict(pool.imap_unordered(("square", n) for n in range(50)))
    assert results == {("square", n): n * n for n in range(50)}


@pytest.mark.parametrize(
    "crash",
    [
        ("exit", 1),
        pytest.param(
            ("segfault", None),
            marks=pytest.mark.skipif(sys.platform == "win32", reason="no SIGSEGV by kill()"),
        ),
    ],
)
def test_a_crash_costs_one_task_and_a_fresh_worker_goes_on(crash: Task) -> None:
    args = [("square", 1), ("square", 2), crash, ("square", 3), ("square", 4)]
    with make_pool(workers=1) as pool:  # one worker: the tasks after the crash need a new one
        results = dict(pool.imap_unordered(args))
    assert results == {crash: CRASHED, ("square", 1): 1, ("square", 2): 4, **_sq(3, 4)}


def _sq(*values: int) -> dict[Task, int]:
    return {("square", v): v * v for v in values}


def test_a_hung_task_times_out_and_the_others_finish() -> None:
    args = [("hang", None), *(("square", n) for n in range(6))]
    with make_pool(workers=2, timeout_s=1) as pool:  # the test takes ~1 s: the limit itself
        results = dict(pool.imap_unordered(args))
    detail = "gave up after 1 s: the decoder did not finish"
    assert results == {("hang", None): TaskFailed(ProblemKind.TIMED_OUT, detail), **_sq(*range(6))}


def test_exceptions_and_unsendable_results_map_to_problem_kinds() -> None:
    k, unexpected = ProblemKind, "unexpected error: "
    cases: list[tuple[Task, ProblemKind, str]] = [
        (("raise", UnreadableImage("corrupt", "truncated")), k.CORRUPT, "truncated"),
        (("raise", UnreadableImage("nonsense", "odd")), k.UNREADABLE, "odd"),
        (("raise", FileNotFoundError(errno.ENOENT, "x")), k.VANISHED, "deleted while scanning"),
        (("raise", PermissionError(errno.EACCES, "x")), k.PERMISSION, "permission denied"),
        (("raise", MemoryError()), k.TOO_LARGE, "not enough memory to decode"),
        (("raise", OSError(errno.EIO, "I/O error")), k.UNREADABLE, "I/O error"),
        (("raise", OSError("odd device")), k.UNREADABLE, "odd device"),
        (("raise", ValueError("boom")), k.UNREADABLE, unexpected + "ValueError: boom"),
        (("unpicklable", None), k.UNREADABLE, unexpected + "the result could not be sent back"),
        (("unloadable", None), k.UNREADABLE, unexpected + "the result could not be read back"),
    ]
    with make_pool() as pool:
        outcomes = dict(pool.imap_unordered([task for task, _, _ in cases]))
        # The pipes stayed in step: the next task gets its own answer.
        assert next(pool.imap_unordered([("square", 5)])) == (("square", 5), 25)
    for task, kind, detail in cases:
        outcome = outcomes[task]
        assert isinstance(outcome, TaskFailed), task
        assert outcome.kind is kind, task
        assert outcome.detail.startswith(detail), (task, outcome.detail)


def test_initializer_runs_in_every_worker_including_replacements() -> None:
    args = [("state", None)] * 3 + [("exit", 1)] + [("state", None)] * 3
    with make_pool(workers=2, initializer=worker_tasks.remember, initargs=("ready",)) as pool:
        outcomes = [outcome for _, outcome in pool.imap_unordered(args)]
    assert sorted(map(str, outcomes)) == sorted([str(CRASHED)] + ["ready"] * 6)


def test_a_failing_initializer_stops_the_run() -> None:
    with (
        make_pool(initializer=worker_tasks.fail_to_initialize) as pool,
        pytest.raises(WorkerStartError, match="RuntimeError: no decoder here"),
    ):
        list(pool.imap_unordered([("square", 1)]))


def test_args_are_consumed_lazily() -> None:
    pulled = 0

    def args() -> Iterator[Task]:
        nonlocal pulled
        for n in range(20):
            pulled += 1
            yield ("square", n)

    received = 0
    with make_pool(workers=2) as pool:
        for _ in pool.imap_unordered(args()):
            received += 1
            assert pulled <= received + 2
    assert received == pulled == 20


def test_cancel_stops_the_iteration_and_close_leaves_no_process() -> None:
    before = {p.pid for p in multiprocessing.active_children()}
    cancel = CancelToken()
    pool = make_pool(workers=2)
    results = pool.imap_unordered(
        [("hang", None), *(("square", n) for n in range(10))], cancel=cancel
    )
    next(results)  # a square; the other worker is stuck on "hang"
    ours = {p.pid for p in multiprocessing.active_children()} - before
    assert len(ours) == 2
    cancel.cancel()
    with pytest.raises(Cancelled):
        next(results)
    # Documented: the pool stays usable after a cancel.
    assert dict(pool.imap_unordered([("square", 7)])) == {("square", 7): 49}
    ours |= {p.pid for p in multiprocessing.active_children()} - before
    pool.close()
    pool.close()  # idempotent
    assert not ours & {p.pid for p in multiprocessing.active_children()}
    assert not [pid for pid in ours if is_running(pid)]
    with pytest.raises(RuntimeError, match="closed"):
        pool.imap_unordered([("square", 1)])


def test_workers_ignore_ctrl_c() -> None:
    with make_pool(workers=1) as pool:
        [(_, pid)] = pool.imap_unordered([("pid", None)])
        os.kill(pid, signal.SIGINT)
        assert list(pool.imap_unordered([("pid", None)])) == [(("pid", None), pid)]


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfd_open (Linux)")
def test_a_busy_worker_exits_when_the_main_process_dies() -> None:
    repo = Path(__file__).parents[2]  # for tests.core.worker_tasks; dedup_gui may be installed
    paths = [str(repo), str(Path(dedup_gui.__file__).parents[1])]
    script = (
        "from tests.core import worker_tasks\n"
        "from dedup_gui.core.workers import WorkerPool\n"
        "pool = WorkerPool(worker_tasks.run, workers=1, timeout_s=60)\n"
        "list(pool.imap_unordered([('announce_and_hang', None)]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env) as main:
        assert main.stdout is not None
        worker_pid = int(main.stdout.readline())
        pidfd = os.pidfd_open(worker_pid)
        try:
            main.kill()  # no clean-up code runs in it
            main.wait()
            exited, _, _ = select.select([pidfd], [], [], 10)
        finally:
            os.close(pidfd)
    assert exited, "the hung worker outlived its main process"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make_pool(workers=0)
    with pytest.raises(ValueError, match="positive"):
        make_pool(timeout_s=0)


def test_default_worker_count_is_the_usable_cpus() -> None:
    assert 1 <= default_worker_count() <= (os.cpu_count() or 1)
