"""Window responsiveness: the longest event-loop stall during a scan, and 50,000 groups listed.

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--images 400] [--groups 50000]

- Scan: the real ScanController scans a library of photo-like JPEGs while a 10 ms QTimer probe
  records the longest gap between its ticks (target: never more than 100 ms).
- List: 50,000 groups are set on the real GroupListModel in a shown QListView with the real
  delegate; the time to the first painted frame is measured (target: under 2 s).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QListView

from dedup_gui.core.decisions import Decisions
from dedup_gui.core.model import Group, GroupMember, ImageRecord, Relation, ScanRequest
from dedup_gui.ui.delegates import configure_group_view
from dedup_gui.ui.models import GroupListModel
from dedup_gui.ui.scan_controller import ScanController
from dedup_gui.ui.thumbnail_loader import ThumbnailLoader
from tests.core.images import reencode, write_photo


class StallProbe:
    """Ticks every 10 ms; the longest gap between ticks is how long the loop was blocked."""

    def __init__(self) -> None:
        self.longest_ms = 0
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        self.longest_ms = max(self.longest_ms, self._clock.restart())


def make_library(folder: Path, count: int) -> None:
    for i in range(count // 2):
        original = write_photo(folder / f"p{i:04d}.jpg", width=1600, height=1200, seed=i)
        reencode(original, folder / "copies" / f"p{i:04d}_q70.jpg", quality=70)


def bench_scan(folder: Path, db: Path) -> tuple[float, int, int]:
    controller = ScanController(db)
    probe = StallProbe()
    loop = QEventLoop()
    reports = []
    controller.completed.connect(lambda report: (reports.append(report), loop.quit()))
    controller.failed.connect(lambda message: (print(message), loop.quit()))
    started = time.perf_counter()
    probe.start()
    controller.start(ScanRequest(roots=(folder,)))
    loop.exec()
    probe.stop()
    controller.shutdown()
    return time.perf_counter() - started, probe.longest_ms, len(reports[0].groups)


def fake_groups(count: int) -> list[Group]:
    def record(i: int, j: int) -> ImageRecord:
        return ImageRecord(
            path=Path(f"/photos/{i // 1000}/img_{i}_{j}.jpg"),
            size=3_000_000 - j,
            mtime_ns=0,
            content_hash=i.to_bytes(8, "big") + j.to_bytes(8, "big"),
            perceptual_hash=i.to_bytes(8, "big"),
            width=4000,
            height=3000,
            format="JPEG",
            date_taken=None,
        )

    return [
        Group(
            (
                GroupMember(record(i, 0), Relation.REFERENCE, 0),
                GroupMember(record(i, 1), Relation.NEAR, 2),
            )
        )
        for i in range(count)
    ]


def bench_list(count: int) -> float:
    groups = fake_groups(count)
    loader = ThumbnailLoader()
    model = GroupListModel(Decisions(), loader)
    view = QListView()
    configure_group_view(view)
    view.setModel(model)
    view.resize(360, 800)
    view.show()
    QApplication.processEvents()
    started = time.perf_counter()
    model.set_groups(groups)
    view.viewport().repaint()  # paint synchronously: the list is on screen when this returns
    QApplication.processEvents()
    elapsed = time.perf_counter() - started
    loader.clear()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--groups", type=int, default=50_000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "library"
        make_library(folder, args.images)
        seconds, longest_ms, groups = bench_scan(folder, Path(tmp) / "db.sqlite3")
    list_s = bench_list(args.groups)
    print("| measurement | result | target |\n|---|---|---|")
    print(f"| scan of {args.images} photos (1600x1200) | {seconds:.1f} s, {groups} groups | - |")
    print(f"| longest event-loop stall during the scan | {longest_ms} ms | <= 100 ms |")
    print(f"| {args.groups:,} groups listed and painted | {list_s:.2f} s | < 2 s |")
    del app


if __name__ == "__main__":
    main()
