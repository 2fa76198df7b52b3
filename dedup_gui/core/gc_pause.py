"""Pausing Python's cycle collector around bulk object creation. No Qt."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cycle collector while building many objects that form no cycles.

    Otherwise it runs again and again over the growing heap: a third of the time of loading or
    matching 100,000 records. Restarts it only if it was running (a caller may nest these).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
