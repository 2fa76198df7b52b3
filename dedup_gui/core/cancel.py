"""Cooperative cancellation and progress throttling for long engine calls. No Qt."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """Raised by ``CancelToken.check()`` once cancellation was requested."""


class CancelToken:
    """Set from any thread; checked by the engine between files and between stages."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class NeverCancelled(CancelToken):
    """The null token used when a caller does not need to cancel."""

    def cancel(self) -> None:  # pragma: no cover - nobody should call it
        raise RuntimeError("NeverCancelled cannot be cancelled")


class ProgressThrottle(Generic[T]):
    """Passes at most one update per ``interval_s`` to ``callback``, plus any forced one.

    Keeps the GUI's event queue short: a scan of 100k small files would otherwise post
    100k progress events. 100 ms is fast enough to look live.
    """

    def __init__(
        self,
        callback: Callable[[T], None],
        interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._callback = callback
        self._interval_s = interval_s
        self._clock = clock
        self._last = float("-inf")

    def is_due(self) -> bool:
        """Whether an update now would be passed on: lets callers skip building one."""
        return self._clock() - self._last >= self._interval_s

    def __call__(self, update: T, *, force: bool = False) -> None:
        now = self._clock()
        if force or now - self._last >= self._interval_s:
            self._last = now
            self._callback(update)
