"""A pool of worker processes in which a crash or hang costs one task, never the run. No Qt."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any, Generic, TypeVar

from dedup_gui.core.cancel import CancelToken, NeverCancelled
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.model import ProblemKind

log = logging.getLogger(__name__)

A = TypeVar("A")
R = TypeVar("R")

# While tasks run, the pool wakes this often to look at the cancel token: a Cancel click then
# takes effect within a tenth of a second even when every worker is stuck on a slow file.
_CANCEL_POLL_S = 0.1
# A new worker must import its modules and run its initializer within timeout_s plus this;
# the task clock starts only once it is ready, so a slow start never times out a file.
_STARTUP_GRACE_S = 30.0
# How long close() waits for workers to leave on their own, and then after each stronger signal.
_STOP_GRACE_S = 1.0
_KILL_GRACE_S = 0.5

# Messages from a worker to the pool are (tag, payload) tuples.
_READY = "ready"  # initializer done; payload None
_INIT_FAILED = "init_failed"  # payload: what the initializer raised, as text
_RESULT = "result"  # payload: fn's return value
_FAILED = "failed"  # payload: TaskFailed


@dataclass(frozen=True, slots=True)
class TaskFailed:
    """Why one task gave no result."""

    kind: ProblemKind
    detail: str  # plain words for the user


class WorkerStartError(RuntimeError):
    """A worker could not start (its initializer failed, crashed or hung): a bug, not a file."""


def default_worker_count() -> int:
    """The number of CPUs this process may run on (at least 1)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:
            pass
    return os.cpu_count() or 1


def _context() -> BaseContext:
    # Forking a process that runs Qt threads can deadlock the child; forkserver forks from a
    # clean single-threaded server instead. macOS has forkserver too, but Python's own default
    # there is spawn because system frameworks are not fork-safe, so we follow it.
    if sys.platform != "darwin" and "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


# --- the worker side -------------------------------------------------------------------------


def _worker_main(
    fn: Callable[[Any], Any],
    conn: Connection,
    lifeline: Connection,
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    """Entry point of a worker process: set up, then run one task per message until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole process group
    threading.Thread(target=_exit_when_closed, args=(lifeline,), daemon=True).start()
    if initializer is not None:
        try:
            initializer(*initargs)
        except Exception as exc:
            log.exception("worker initializer failed")
            _send(conn, (_INIT_FAILED, f"{type(exc).__name__}: {exc}"))
            return
    if not _send(conn, (_READY, None)):
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the pool closed its end or its process died
        except Exception as exc:  # the argument could not be unpickled here
            log.exception("could not receive a task")
            reply: tuple[str, object] = (_FAILED, _unexpected(exc, "the task could not be read"))
        else:
            if message is None:
                return  # stop
            reply = _run_task(fn, message[0])
        if not _send(conn, reply):
            return


def _exit_when_closed(lifeline: Connection) -> None:
    # The pool never writes to the lifeline, so it turns readable only at EOF: the pool closed
    # it or its process died. Exit then even if the main thread is stuck in a hung decoder,
    # which would never see its task pipe close.
    wait([lifeline])
    os._exit(0)


def _run_task(fn: Callable[[Any], Any], arg: Any) -> tuple[str, object]:
    try:
        return (_RESULT, fn(arg))
    except Exception as exc:
        return (_FAILED, _failure_from(exc))


_FAILURES: tuple[tuple[type[Exception], TaskFailed], ...] = (
    (FileNotFoundError, TaskFailed(ProblemKind.VANISHED, "deleted while scanning")),
    (PermissionError, TaskFailed(ProblemKind.PERMISSION, "permission denied")),
    (MemoryError, TaskFailed(ProblemKind.TOO_LARGE, "not enough memory to decode")),
)


def _failure_from(exc: Exception) -> TaskFailed:
    """Maps what a task raised to the problem the user sees."""
    if isinstance(exc, UnreadableImage):
        try:
            kind = ProblemKind(exc.kind)
        except ValueError:
            kind = ProblemKind.UNREADABLE
        return TaskFailed(kind, exc.detail)
    for exc_type, failure in _FAILURES:
        if isinstance(exc, exc_type):
            return failure
    if isinstance(exc, OSError):
        return TaskFailed(ProblemKind.UNREADABLE, exc.strerror or str(exc) or type(exc).__name__)
    log.exception("unexpected error in a worker task")  # a bug: keep the traceback
    return _unexpected(exc)


def _unexpected(exc: Exception, context: str = "") -> TaskFailed:
    prefix = f"unexpected error: {context}: " if context else "unexpected error: "
    return TaskFailed(ProblemKind.UNREADABLE, f"{prefix}{type(exc).__name__}: {exc}")


def _send(conn: Connection, message: tuple[str, object]) -> bool:
    """Sends ``message``, or a failure if it cannot be pickled; False if the pool is gone."""
    try:
        payload = ForkingPickler.dumps(message)
    except Exception as exc:  # pickle raises many types: PicklingError, TypeError, ...
        log.warning("could not pickle a task result", exc_info=True)
        failure = _unexpected(exc, "the result could not be sent back")
        payload = ForkingPickler.dumps((_FAILED, failure))
    try:
        conn.send_bytes(payload)
    except OSError:
        return False
    return True


# --- the pool side ---------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Worker(Generic[A]):
    process: BaseProcess
    conn: Connection  # tasks out, messages in
    lifeline: Connection  # never written; closing it (or dying) makes the worker exit
    spawned_at: float
    is_ready: bool = False
    task: tuple[A] | None = None  # the one argument in flight (a 1-tuple: None is a valid arg)
    clock_from: float = 0.0  # when the task's time limit started counting

    def deadline(self, timeout_s: float) -> float:
        if not self.is_ready:
            return self.spawned_at + timeout_s + _STARTUP_GRACE_S
        return self.clock_from + timeout_s


class WorkerPool(Generic[A, R]):
    """Runs ``fn`` over arguments in worker processes, one task per worker at a time.

    A task whose worker crashes or runs past ``timeout_s`` yields a ``TaskFailed`` and a fresh
    worker takes over. Use from one thread at a time, with one ``imap_unordered`` running.
    """

    def __init__(
        self,
        fn: Callable[[A], R],
        *,
        workers: int,
        timeout_s: float,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        """Prepares the pool; worker processes start on first use.

        Args:
            fn: a module-level function (it is pickled by reference); its argument and result
                must be picklable.
            workers: how many processes, at least 1.
            timeout_s: a task running longer than this is killed and yields ``TIMED_OUT``.
            initializer: run once in each worker, with ``initargs``, before its first task.
        """
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, not {timeout_s}")
        self._fn = fn
        self._timeout_s = timeout_s
        self._initializer = initializer
        self._initargs = initargs
        self._context = _context()
        self._slots: list[_Worker[A] | None] = [None] * workers
        self._is_closed = False
        self._is_iterating = False

    def __enter__(self) -> WorkerPool[A, R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def imap_unordered(
        self,
        args: Iterable[A],
        *,
        cancel: CancelToken = NeverCancelled(),  # noqa: B008 - immutable null object
    ) -> Iterator[tuple[A, R | TaskFailed]]:
        """Yields ``(arg, result or TaskFailed)`` for every arg, in order of completion.

        ``args`` is consumed lazily: at most ``workers`` of them are taken ahead of the results
        handed out.

        Raises:
            Cancelled: from ``cancel.check()``, between results and while waiting. The pool
                stays usable: workers busy with tasks nobody will read are stopped and replaced
                on next use. Stopping the iteration early (``break``) does the same.
            WorkerStartError: a worker could not start (its initializer failed).
            RuntimeError: the pool is closed, or another ``imap_unordered`` is running.
        """
        self._check_usable()
        return self._iterate(iter(args), cancel)

    def close(self) -> None:
        """Stops every worker: idle ones are asked to leave, busy ones terminated. Idempotent."""
        if self._is_closed:
            return
        self._is_closed = True
        workers = [w for w in self._slots if w is not None]
        self._slots = [None] * len(self._slots)
        _shut_down(workers, ask_first=True)

    def _check_usable(self) -> None:
        if self._is_closed:
            raise RuntimeError("the worker pool is closed")
        if self._is_iterating:
            raise RuntimeError("the worker pool is already running an imap_unordered")

    def _iterate(
        self, args: Iterator[A], cancel: CancelToken
    ) -> Iterator[tuple[A, R | TaskFailed]]:
        self._check_usable()  # again: a second iterator may have started since it was made
        self._is_iterating = True
        try:
            first = next(args, _NOTHING)
            if first is _NOTHING:
                return
            # Start every worker now, side by side: each start-up overlaps the others.
            for index, worker in enumerate(self._slots):
                if worker is None:
                    self._slots[index] = self._spawn()
            self._send_task(0, first)
            while True:
                cancel.check()
                if self._is_closed:  # close() was called between two results
                    raise RuntimeError("the worker pool was closed during imap_unordered")
                self._dispatch(args)
                if not self._busy():
                    return
                yield self._next_outcome(cancel)
        finally:
            self._is_iterating = False
            self._stop_busy()

    def _spawn(self) -> _Worker[A]:
        conn, child_conn = self._context.Pipe(duplex=True)
        lifeline_r, lifeline_w = self._context.Pipe(duplex=False)
        process = self._context.Process(  # type: ignore[attr-defined]
            target=_worker_main,
            args=(self._fn, child_conn, lifeline_r, self._initializer, self._initargs),
            name="dedup-gui-worker",
            daemon=True,  # multiprocessing's atexit also terminates it if we forget
        )
        process.start()
        # Only the child may hold its ends: then a dead child means EOF / EPIPE here.
        child_conn.close()
        lifeline_r.close()
        return _Worker(process, conn, lifeline_w, spawned_at=time.monotonic())

    def _dispatch(self, args: Iterator[A]) -> None:
        """Gives an argument to each worker without one, while arguments last."""
        for index, worker in enumerate(self._slots):
            if worker is not None and worker.task is not None:
                continue
            arg = next(args, _NOTHING)
            if arg is _NOTHING:
                return
            self._send_task(index, arg)

    def _send_task(self, index: int, arg: A) -> None:
        worker = self._slots[index] or self._spawn()
        self._slots[index] = worker
        try:
            worker.conn.send((arg,))
        except OSError:
            # The worker died while idle (killed from outside): no task of ours was lost.
            _shut_down([worker], ask_first=False)
            worker = self._slots[index] = self._spawn()
            try:
                worker.conn.send((arg,))
            except OSError as exc:
                raise WorkerStartError("a new worker process died at once") from exc
        worker.task = (arg,)
        worker.clock_from = time.monotonic()

    def _busy(self) -> list[tuple[int, _Worker[A]]]:
        return [(i, w) for i, w in enumerate(self._slots) if w is not None and w.task is not None]

    def _next_outcome(self, cancel: CancelToken) -> tuple[A, R | TaskFailed]:
        """Waits for one task to finish, crash or run out of time, and returns its outcome."""
        while True:
            busy = self._busy()
            nearest = min(w.deadline(self._timeout_s) for _, w in busy)
            timeout = min(max(0.0, nearest - time.monotonic()), _CANCEL_POLL_S)
            ready = set(
                wait([w.conn for _, w in busy] + [w.process.sentinel for _, w in busy], timeout)
            )
            for index, worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    outcome = self._collect(index, worker)
                    if outcome is not None:
                        return outcome
            cancel.check()
            overdue = self._expire_overdue(busy)
            if overdue is not None:
                return overdue

    def _collect(self, index: int, worker: _Worker[A]) -> tuple[A, R | TaskFailed] | None:
        """Reads what ``worker`` sent, or notes its death; None if its task is still running."""
        assert worker.task is not None
        arg = worker.task[0]
        if _is_readable(worker.conn):  # a message, or EOF
            try:
                tag, payload = worker.conn.recv()
            except (EOFError, OSError):
                pass  # it died: below
            except Exception as exc:  # the result could not be unpickled here
                worker.task = None
                return arg, _unexpected(exc, "the result could not be read back")
            else:
                if tag == _READY:
                    worker.is_ready = True
                    worker.clock_from = max(worker.clock_from, time.monotonic())
                    return None
                if tag == _INIT_FAILED:
                    self._retire(index)
                    raise WorkerStartError(f"the worker initializer failed: {payload}")
                worker.task = None
                return arg, payload  # _RESULT carries R, _FAILED a TaskFailed
        elif worker.process.is_alive():
            return None
        exit_code = worker.process.exitcode  # read before _retire() closes the process object
        self._retire(index)
        if not worker.is_ready:
            raise WorkerStartError(
                f"a worker process exited while starting (exit code {exit_code})"
            )
        return arg, TaskFailed(ProblemKind.CRASHED, "the image decoder crashed on this file")

    def _expire_overdue(self, busy: list[tuple[int, _Worker[A]]]) -> tuple[A, TaskFailed] | None:
        now = time.monotonic()
        for index, worker in busy:
            if worker.task is None or now < worker.deadline(self._timeout_s):
                continue
            if _is_readable(worker.conn):
                continue  # finished, just not read yet (the caller was slow): not late
            self._retire(index)
            if not worker.is_ready:
                limit_s = self._timeout_s + _STARTUP_GRACE_S
                raise WorkerStartError(f"a worker process did not start within {limit_s:g} s")
            detail = f"gave up after {self._timeout_s:g} s: the decoder did not finish"
            return worker.task[0], TaskFailed(ProblemKind.TIMED_OUT, detail)
        return None

    def _retire(self, index: int) -> None:
        """Stops the worker in slot ``index`` for good; a fresh one starts when needed."""
        worker = self._slots[index]
        self._slots[index] = None
        if worker is not None:
            _shut_down([worker], ask_first=False)

    def _stop_busy(self) -> None:
        # Results of tasks still in flight would be read as answers to the next tasks.
        for index, _ in self._busy():
            self._retire(index)


_NOTHING: Any = object()  # marks an exhausted iterator (None is a valid argument)


def _is_readable(conn: Connection) -> bool:
    try:
        return conn.poll()
    except OSError:  # Windows reports a broken pipe here; recv() will say so too
        return True


def _shut_down(workers: list[_Worker[Any]], *, ask_first: bool) -> None:
    """Ends ``workers`` without hanging: stop message (idle ones), then terminate, then kill."""
    for worker in workers:
        if ask_first and worker.task is None:
            with contextlib.suppress(OSError):  # already gone
                worker.conn.send(None)
        elif worker.process.is_alive():
            worker.process.terminate()
    alive = _wait_for_exit([w.process for w in workers], _STOP_GRACE_S)
    if alive and ask_first:
        for process in alive:
            process.terminate()
        alive = _wait_for_exit(alive, _KILL_GRACE_S)
    for process in alive:
        process.kill()
    alive = _wait_for_exit(alive, _KILL_GRACE_S)
    for process in alive:
        # Stuck in the kernel (a dead network mount, say): nothing more we can do without
        # hanging; the lifeline pipe closing below makes it exit once the call returns.
        log.warning("worker process %s did not exit after SIGKILL", process.pid)
    for worker in workers:
        worker.conn.close()
        worker.lifeline.close()
        if worker.process not in alive:
            worker.process.join()  # reaped already: returns at once and forgets the child
            worker.process.close()


def _wait_for_exit(processes: list[BaseProcess], timeout_s: float) -> list[BaseProcess]:
    """Waits until every process has exited or ``timeout_s`` passed; returns those still alive."""
    deadline = time.monotonic() + timeout_s
    alive = [p for p in processes if p.is_alive()]
    while alive:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        wait([p.sentinel for p in alive], remaining)
        alive = [p for p in alive if p.is_alive()]
    return alive
