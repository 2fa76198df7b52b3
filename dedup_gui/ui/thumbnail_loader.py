"""Decodes thumbnails in decoder processes and keeps the most recently used ones as pixmaps."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot
from PySide6.QtGui import QGuiApplication, QImage, QPixmap

from dedup_gui.core.decode_service import (
    DEFAULT_PROCESSES,
    DecodedImage,
    DecodeKind,
    DecodeRequest,
    DecodeService,
    DecodeServiceClosed,
)
from dedup_gui.core.errors import UnreadableImage

log = logging.getLogger(__name__)

ThumbKey = tuple[Path, int, int]  # (path, mtime_ns, max_px): a changed file gets a new key

DEFAULT_CAPACITY = 300  # pixmaps; 300 x 220 px x 220 px x 4 bytes is about 58 MB at most
_MAX_PRIORITY = 2**31 - 1  # QThreadPool priorities are C ints

_shared_service: DecodeService | None = None
_shared_lock = threading.Lock()


def shared_decode_service() -> DecodeService:
    """The app's decode service (thumbnails and the compare view), made on first use.

    Its processes start with its first request. After ``shutdown_decode_service()`` the next
    call makes a new one: tests open and close many windows in one process.
    """
    global _shared_service
    with _shared_lock:
        if _shared_service is None or _shared_service.is_closed:
            _shared_service = DecodeService()
        return _shared_service


def shutdown_decode_service() -> None:
    """Stops the shared service's processes; requests in flight end at once with an error."""
    global _shared_service
    with _shared_lock:
        service, _shared_service = _shared_service, None
    if service is not None:
        service.close()


class RunnablePool(Protocol):
    """What the loader needs of a QThreadPool; tests pass a ``SynchronousPool`` instead."""

    def start(self, runnable: QRunnable, priority: int = ...) -> None: ...

    def clear(self) -> None: ...


class SynchronousPool:
    """Runs each runnable at once on the calling thread (Picard's FakeThreadPool), for tests.

    With ``deferred=True`` it only queues them; ``run_pending()`` runs them later, which lets a
    test supersede a request (``loader.clear()``) before its result arrives.
    """

    def __init__(self, *, deferred: bool = False) -> None:
        self._deferred = deferred
        self.pending: list[QRunnable] = []
        self.started = 0  # how many runnables were ever started

    def start(self, runnable: QRunnable, priority: int = 0) -> None:
        self.started += 1
        if self._deferred:
            self.pending.append(runnable)
        else:
            runnable.run()

    def clear(self) -> None:
        """Keeps pending runnables, as if they had started: the loader must drop their results."""

    def run_pending(self) -> None:
        pending, self.pending = self.pending, []
        for runnable in pending:
            runnable.run()


class _Relay(QObject):
    """Carries results from pool threads to the GUI thread (QRunnable is not a QObject)."""

    done = Signal(object, int, object, object)  # key, generation, QImage | None, error | None


class _ThumbnailJob(QRunnable):
    def __init__(
        self,
        key: ThumbKey,
        generation: int,
        relay: _Relay,
        decode_px: int,
        service: DecodeService | None,
    ) -> None:
        super().__init__()
        self._key, self._generation, self._relay = key, generation, relay
        self._decode_px = decode_px
        self._service = service

    def run(self) -> None:
        # A pool thread: it waits for a decoder process, then builds a QImage (QPixmap is
        # GUI-thread-only). A file that crashes or hangs the decoder costs that process only.
        path = self._key[0]
        image: QImage | None = None
        error: str | None = None
        service = self._service or shared_decode_service()
        try:
            decoded = service.decode(DecodeRequest(DecodeKind.THUMBNAIL, path, self._decode_px))
            image = to_qimage(decoded)
        except UnreadableImage as exc:
            error = exc.detail
        except DecodeServiceClosed:
            error = "not shown: the app is closing"
        except Exception as exc:  # thread boundary: a hostile file must not take the app down
            log.exception("thumbnail of %r failed", path)
            error = f"cannot show this image ({type(exc).__name__})"
        self._relay.done.emit(self._key, self._generation, image, error)


def to_qimage(decoded: DecodedImage) -> QImage:
    """A QImage that owns its pixels (``.copy()``), so the decoded bytes may be freed."""
    if decoded.mode not in ("RGB", "RGBA"):  # the service sends only these; be safe anyway
        img = decoded.to_pil().convert("RGB")
        decoded = DecodedImage(img.mode, img.width, img.height, img.tobytes())
    if decoded.mode == "RGBA":
        fmt, channels = QImage.Format.Format_RGBA8888, 4
    else:
        fmt, channels = QImage.Format.Format_RGB888, 3
    stride = decoded.width * channels
    return QImage(decoded.data, decoded.width, decoded.height, stride, fmt).copy()


class ThumbnailLoader(QObject):
    """Hands out cached thumbnail pixmaps and loads missing ones in the background.

    ``loaded(key)`` is emitted on the GUI thread when a requested thumbnail is ready or has
    failed (``error_of(...)`` then tells why); views repaint that one item.
    """

    loaded = Signal(object)  # ThumbKey

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        pool: RunnablePool | None = None,
        service: DecodeService | None = None,
    ) -> None:
        """Makes an empty loader.

        Args:
            pool: runs the jobs; a ``SynchronousPool`` in tests, else a QThreadPool of its own.
            service: decodes in worker processes; None uses ``shared_decode_service()``, which
                ``shutdown()`` stops. An injected one is its owner's to close.
        """
        super().__init__(parent)
        self._capacity = max(1, capacity)
        self._cache: OrderedDict[ThumbKey, QPixmap] = OrderedDict()
        self._errors: OrderedDict[ThumbKey, str] = OrderedDict()
        self._pending: set[ThumbKey] = set()
        self._generation = 0
        self._requests = 0
        app = QGuiApplication.instance()
        # Decode for the screen's real pixels (sharp on HiDPI); max_px stays in logical pixels.
        self._pixel_ratio = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
        if pool is None:
            thread_pool = QThreadPool(self)  # a child: destroying the loader waits for its jobs
            # Leave one core to the GUI (decoding is CPU-bound), and no more threads than
            # decoder processes: a thread beyond them would only wait, holding an older job
            # while newer ones (what is on screen now) queue behind it.
            processes = service.processes if service is not None else DEFAULT_PROCESSES
            thread_pool.setMaxThreadCount(max(1, min(QThread.idealThreadCount() - 1, processes)))
            pool = thread_pool
        self._pool = pool
        self._service = service
        self._relay = _Relay()  # no parent: jobs may still hold it while the loader goes away
        self._relay.done.connect(self._on_relay_done)

    @property
    def pool(self) -> RunnablePool:
        return self._pool

    def get_or_request(self, path: Path, mtime_ns: int, max_px: int) -> QPixmap | None:
        """The cached pixmap, or None (show a placeholder) after queueing one load of it.

        A key already queued, or that failed (see ``error_of``), is not queued again.
        """
        key = (path, mtime_ns, max_px)
        pixmap = self._cache.get(key)
        if pixmap is not None:
            self._cache.move_to_end(key)
            return pixmap
        if key in self._pending or key in self._errors:
            return None
        self._pending.add(key)
        self._requests += 1
        # Newest request first: after fast scrolling, what is on screen now loads before what
        # scrolled past.
        job = _ThumbnailJob(
            key, self._generation, self._relay, self._decode_px(max_px), self._service
        )
        self._pool.start(job, min(self._requests, _MAX_PRIORITY))
        return self._cache.get(key)  # a synchronous pool has already filled it

    def _decode_px(self, max_px: int) -> int:
        return max(1, round(max_px * max(1.0, self._pixel_ratio)))

    def error_of(self, path: Path, mtime_ns: int, max_px: int) -> str | None:
        """Why this thumbnail could not be made, in plain words; None if it did not fail."""
        return self._errors.get((path, mtime_ns, max_px))

    def clear(self) -> None:
        """Forgets every thumbnail and drops results of requests made before (a new scan)."""
        self._generation += 1
        self._pool.clear()  # jobs not yet started never run
        self._pending.clear()
        self._cache.clear()
        self._errors.clear()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Drops queued jobs, stops the shared decoder processes and waits for running jobs.

        Jobs must end before their signal relay goes: closing the window while thumbnails
        were decoding let a job emit on a deleted relay, which aborted the process. Stopping
        the decoders first wakes jobs waiting on them at once, even on a hung decoder.
        """
        self._pool.clear()
        if self._service is None:
            shutdown_decode_service()  # the window is closing: so does the compare view
        if isinstance(self._pool, QThreadPool):
            self._pool.waitForDone(timeout_ms)

    def __len__(self) -> int:
        return len(self._cache)

    @Slot(object, int, object, object)
    def _on_relay_done(
        self, key: ThumbKey, generation: int, image: QImage | None, error: str | None
    ) -> None:
        if generation != self._generation:
            return  # requested before clear(): the file list it belongs to is gone
        self._pending.discard(key)
        if image is None:
            self._errors[key] = error or "cannot show this image"
            _trim(self._errors, self._capacity)
        else:
            pixmap = QPixmap.fromImage(image)
            pixmap.setDevicePixelRatio(max(1.0, self._pixel_ratio))
            self._cache[key] = pixmap
            _trim(self._cache, self._capacity)
        self.loaded.emit(key)


def _trim(cache: OrderedDict[ThumbKey, Any], size: int) -> None:
    while len(cache) > size:
        cache.popitem(last=False)
