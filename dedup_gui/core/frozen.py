"""Building frozen slots dataclasses by their slots, for 100,000 records at a time. No Qt.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; setting the
slots through their descriptors gives the same object in half the time (measured on
``ImageRecord``: 2.4 us -> 1.1 us). Only for classes whose ``__init__`` does nothing else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

SlotSetter = Callable[[object, Any], None]


def slot_setters(cls: type, names: tuple[str, ...]) -> tuple[SlotSetter, ...] | None:
    """The slot setters of ``cls``'s fields, if its fields are exactly ``names`` in this order.

    None when they are not (a field was added, renamed or moved), when ``cls`` is not a slots
    dataclass, or when its ``__init__`` would do more than set fields (``__post_init__``,
    init-only variables): then the caller must build through ``cls(...)``.
    """
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return None
    fields = dataclasses.fields(cls)
    if tuple(field.name for field in fields) != names or not all(f.init for f in fields):
        return None
    if tuple(getattr(cls, "__slots__", ())) != names:
        return None
    return tuple(getattr(cls, name).__set__ for name in names)
