"""Tasks for test_workers that succeed, raise, crash or hang inside worker processes.

They live in their own module so that worker processes can import them by name. A task
argument is ``(action, value)``; ``run`` dispatches on the action.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

_state: object = None  # set by remember() in each worker's initializer


def remember(value: object) -> None:
    """Initializer: stores ``value`` for the "state" action."""
    global _state
    _state = value


def fail_to_initialize() -> None:
    raise RuntimeError("no decoder here")


def run(task: tuple[str, Any]) -> object:
    action, value = task
    return _ACTIONS[action](value)


def _hang(_: object) -> None:
    threading.Event().wait()  # forever: only the pool's time limit ends it


def _announce_and_hang(_: object) -> None:
    print(os.getpid(), flush=True)
    _hang(None)


def _segfault(_: object) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _raise(exc: BaseException) -> None:
    raise exc


def _fail_to_load() -> None:
    raise ValueError("refuses to be unpickled")


class Unloadable:
    """Pickles fine in the worker, fails to unpickle in the pool."""

    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        return (_fail_to_load, ())


_ACTIONS: dict[str, Callable[[Any], object]] = {
    "square": lambda value: value * value,
    "pid": lambda _: os.getpid(),
    "state": lambda _: _state,
    "exit": lambda code: os._exit(code),
    "segfault": _segfault,
    "hang": _hang,
    "announce_and_hang": _announce_and_hang,
    "raise": _raise,
    "unpicklable": lambda _: threading.Lock(),
    "unloadable": lambda _: Unloadable(),
}
