"""ThumbnailLoader: one request per key, pixmaps made on the GUI thread, bounded, generations."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QThread
from PySide6.QtGui import QColor, QImage, QPixmap
from pytestqt.qtbot import QtBot

from dedup_gui.core.decode_service import DEFAULT_PROCESSES, DecodeService
from dedup_gui.ui.image_pane import ImageLoaded, load_in_background
from dedup_gui.ui.thumbnail_loader import (
    SynchronousPool,
    ThumbnailLoader,
    shared_decode_service,
)
from tests.core.format_files import write_dng, write_heic
from tests.core.images import write_photo, write_text
from tests.core.plugins.crashy import CRASH_MAGIC, HANG_MAGIC
from tests.core.test_decode_service import PLUGIN, is_gone, two_colours


def _solid(path: Path, colour: tuple[int, ...], size: tuple[int, int] = (80, 40)) -> Path:
    mode = "RGBA" if len(colour) == 4 else "RGB"
    Image.new(mode, size, colour).save(path)
    return path


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


def test_synchronous_pool_loads_at_once_with_true_colours(qtbot: QtBot, tmp_path: Path) -> None:
    red = _solid(tmp_path / "red.png", (255, 0, 0))
    loader = ThumbnailLoader(pool=SynchronousPool())
    with qtbot.waitSignal(loader.loaded, timeout=1000) as blocker:
        pixmap = loader.get_or_request(red, _mtime(red), 40)
    assert blocker.args == [(red, _mtime(red), 40)]
    assert isinstance(pixmap, QPixmap)
    assert (pixmap.width(), pixmap.height()) == (40, 20)
    assert pixmap.toImage().pixelColor(5, 5) == QColor(255, 0, 0)  # RGB, not BGR


def test_transparency_survives(tmp_path: Path) -> None:
    half = _solid(tmp_path / "half.png", (0, 0, 255, 128))
    loader = ThumbnailLoader(pool=SynchronousPool())
    pixmap = loader.get_or_request(half, _mtime(half), 40)
    assert pixmap is not None and pixmap.hasAlphaChannel()
    assert abs(pixmap.toImage().pixelColor(5, 5).alpha() - 128) <= 1


def test_a_key_is_queued_once_until_loaded_then_cached(qtbot: QtBot, tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "a.jpg", width=128, height=96)
    pool = SynchronousPool(deferred=True)
    loader = ThumbnailLoader(pool=pool)
    key = (photo, _mtime(photo), 64)
    assert loader.get_or_request(*key) is None
    assert loader.get_or_request(*key) is None
    assert pool.started == 1
    with qtbot.waitSignal(loader.loaded, timeout=1000):
        pool.run_pending()
    pixmap = loader.get_or_request(*key)
    assert pixmap is not None and pixmap.width() == 64
    assert pool.started == 1
    # The same file with another mtime is another key: a changed file is never shown stale.
    assert loader.get_or_request(photo, key[1] + 1, 64) is None
    assert pool.started == 2


def test_broken_file_reports_why_and_is_not_retried(qtbot: QtBot, tmp_path: Path) -> None:
    bad = write_text(tmp_path / "bad.jpg")
    pool = SynchronousPool()
    loader = ThumbnailLoader(pool=pool)
    with qtbot.waitSignal(loader.loaded, timeout=1000):
        assert loader.get_or_request(bad, _mtime(bad), 64) is None
    assert "not an image" in (loader.error_of(bad, _mtime(bad), 64) or "")
    assert loader.get_or_request(bad, _mtime(bad), 64) is None
    assert pool.started == 1


def test_cache_is_bounded_least_recently_used_first(tmp_path: Path) -> None:
    paths = [_solid(tmp_path / f"{i}.png", (i * 40, 0, 0)) for i in range(5)]
    pool = SynchronousPool()
    loader = ThumbnailLoader(pool=pool, capacity=3)
    for path in paths[:3]:
        loader.get_or_request(path, _mtime(path), 16)
    loader.get_or_request(paths[0], _mtime(paths[0]), 16)  # used again: now the newest
    for path in paths[3:]:
        loader.get_or_request(path, _mtime(path), 16)
    assert len(loader) == 3
    started = pool.started
    assert loader.get_or_request(paths[0], _mtime(paths[0]), 16) is not None  # kept
    assert pool.started == started
    loader.get_or_request(paths[1], _mtime(paths[1]), 16)  # evicted: loaded again
    assert pool.started == started + 1


def test_results_of_a_superseded_generation_are_dropped(qtbot: QtBot, tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "a.jpg", width=64, height=48)
    pool = SynchronousPool(deferred=True)
    loader = ThumbnailLoader(pool=pool)
    loaded: list[object] = []
    loader.loaded.connect(loaded.append)
    loader.get_or_request(photo, _mtime(photo), 32)
    loader.clear()  # a new scan: the job above is already "running"
    pool.run_pending()
    assert loaded == []
    assert len(loader) == 0
    # After clear() the key may be requested again, and this time it lands.
    loader.get_or_request(photo, _mtime(photo), 32)
    pool.run_pending()
    assert len(loaded) == 1 and len(loader) == 1


def test_real_thread_pool(qtbot: QtBot, tmp_path: Path) -> None:
    photos = [write_photo(tmp_path / f"{i}.jpg", width=96, height=64, seed=i) for i in range(4)]
    loader = ThumbnailLoader()
    # A core left to the GUI, and no more threads than decoder processes.
    threads = max(1, min(QThread.idealThreadCount() - 1, DEFAULT_PROCESSES))
    assert loader.pool.maxThreadCount() == threads  # type: ignore[attr-defined]
    pending = {(p, _mtime(p), 48) for p in photos}
    loaded: list[object] = []
    loader.loaded.connect(loaded.append)
    for key in pending:
        assert loader.get_or_request(*key) is None
    qtbot.waitUntil(lambda: len(loaded) == len(pending), timeout=10_000)
    assert set(loaded) == pending
    for key in pending:
        pixmap = loader.get_or_request(*key)
        assert pixmap is not None and pixmap.width() == 48


def test_shutdown_leaves_no_job_running(qtbot: QtBot, tmp_path: Path) -> None:
    # A job still decoding when the window closed emitted on a deleted relay and aborted the app.
    from PySide6.QtCore import QThreadPool

    photos = [write_photo(tmp_path / f"p{i}.jpg", width=800, height=600, seed=i) for i in range(12)]
    loader = ThumbnailLoader()
    for photo in photos:
        assert loader.get_or_request(photo, photo.stat().st_mtime_ns, 220) is None
    pool = loader.pool
    assert isinstance(pool, QThreadPool)

    loader.shutdown()

    assert pool.activeThreadCount() == 0


# --- decoding in the decoder processes -----------------------------------------------------------


@pytest.fixture
def service() -> Iterator[DecodeService]:
    with DecodeService(processes=2, timeout_s=1.0, plugins=(PLUGIN,)) as svc:
        yield svc


def _red_left_blue_right(image: QImage) -> bool:
    left = image.pixelColor(image.width() // 8, image.height() // 2)
    right = image.pixelColor(image.width() * 7 // 8, image.height() // 2)
    return left.red() > left.blue() + 60 and right.blue() > right.red() + 60


def test_a_crashing_file_shows_broken_and_the_next_still_loads(
    qtbot: QtBot, tmp_path: Path, service: DecodeService
) -> None:
    crash = tmp_path / "crash.jpg"
    crash.write_bytes(CRASH_MAGIC + bytes(64))
    good = write_photo(tmp_path / "good.jpg", width=96, height=64)
    loader = ThumbnailLoader(service=service)  # a real thread pool
    with qtbot.waitSignal(loader.loaded, timeout=10_000):
        assert loader.get_or_request(crash, _mtime(crash), 48) is None
    assert loader.error_of(crash, _mtime(crash), 48) == "the image decoder crashed on this file"
    with qtbot.waitSignal(loader.loaded, timeout=10_000):
        assert loader.get_or_request(good, _mtime(good), 48) is None
    pixmap = loader.get_or_request(good, _mtime(good), 48)
    assert pixmap is not None and pixmap.width() == 48
    loader.shutdown()


def test_a_hanging_file_times_out(qtbot: QtBot, tmp_path: Path, service: DecodeService) -> None:
    hang = tmp_path / "hang.jpg"
    hang.write_bytes(HANG_MAGIC + bytes(64))
    loader = ThumbnailLoader(service=service)
    with qtbot.waitSignal(loader.loaded, timeout=10_000):
        assert loader.get_or_request(hang, _mtime(hang), 48) is None
    assert "gave up after 1 s" in (loader.error_of(hang, _mtime(hang), 48) or "")
    loader.shutdown()


def _raw_and_heic(tmp_path: Path) -> list[Path]:
    files = [
        write_dng(tmp_path / "preview.dng", two_colours(), orientation=6),
        write_dng(tmp_path / "sensor.dng", two_colours(), orientation=3, preview=False),
    ]
    with contextlib.suppress(ImportError):  # without pillow-heif: RAW only
        files.append(write_heic(tmp_path / "a.heic", two_colours(), orientation=8))
    return files


def test_raw_and_heic_thumbnails_are_upright(tmp_path: Path, service: DecodeService) -> None:
    loader = ThumbnailLoader(pool=SynchronousPool(), service=service)
    for path in _raw_and_heic(tmp_path):
        pixmap = loader.get_or_request(path, _mtime(path), 48)
        assert pixmap is not None, loader.error_of(path, _mtime(path), 48)
        assert (pixmap.width(), pixmap.height()) == (48, 32), path.name
        assert _red_left_blue_right(pixmap.toImage()), path.name


def test_compare_view_images_are_upright(
    qtbot: QtBot, tmp_path: Path, service: DecodeService
) -> None:
    signals = ImageLoaded()
    for path in _raw_and_heic(tmp_path):
        with qtbot.waitSignal(signals.loaded, timeout=10_000) as blocker:
            load_in_background(path, signals, service=service)
        shown, image, error = blocker.args
        assert (shown, error) == (path, "")
        assert isinstance(image, QImage) and (image.width(), image.height()) == (96, 64)
        assert _red_left_blue_right(image), path.name


def test_compare_view_says_why_a_file_cannot_be_shown(
    qtbot: QtBot, tmp_path: Path, service: DecodeService
) -> None:
    crash = tmp_path / "crash.png"
    crash.write_bytes(CRASH_MAGIC + bytes(64))
    signals = ImageLoaded()
    with qtbot.waitSignal(signals.loaded, timeout=10_000) as blocker:
        load_in_background(crash, signals, service=service)
    assert blocker.args[1] is None
    assert blocker.args[2] == "Cannot show this file:\nthe image decoder crashed on this file"


def test_shutdown_stops_the_shared_decoder_processes(qtbot: QtBot, tmp_path: Path) -> None:
    photos = [write_photo(tmp_path / f"s{i}.jpg", width=96, height=64, seed=i) for i in range(3)]
    loader = ThumbnailLoader()
    loaded: list[object] = []
    loader.loaded.connect(loaded.append)
    for photo in photos:
        loader.get_or_request(photo, _mtime(photo), 48)
    qtbot.waitUntil(lambda: len(loaded) == len(photos), timeout=10_000)
    service = shared_decode_service()
    pids = service.pids()
    assert pids

    loader.shutdown()

    assert service.is_closed
    assert all(is_gone(pid) for pid in pids)
    assert shared_decode_service() is not service  # a new window gets a new one
