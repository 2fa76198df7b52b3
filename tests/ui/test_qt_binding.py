"""Guards against a Qt binding that corrupts the interpreter (seen in PySide6 6.12.0 on 3.11)."""

import sys

from PySide6.QtCore import QObject, QStringListModel, Signal


class _Emitter(QObject):
    happened = Signal(object)


def test_emitting_signals_keeps_reference_counts_intact(qapp: object) -> None:
    emitter = _Emitter()
    model = QStringListModel(["a"])
    index = model.index(0)
    before = sys.getrefcount(True)
    for _ in range(100):
        emitter.happened.emit(1)
        model.dataChanged.emit(index, index)
    # The broken binding loses one reference per emit (-200 here) and the app later aborts with
    # "bool_dealloc"; a healthy one drifts by a reference or two from unrelated objects.
    assert abs(sys.getrefcount(True) - before) < 10
