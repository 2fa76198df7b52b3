"""Decodes thumbnails and view images for several threads in a few long-lived processes. No Qt.

A decoder that crashes (LibRaw, libheif, a Pillow plugin) takes down one worker process, and a
hang is killed after a time limit: either costs the one image, never the app. The processes are
those of ``core/workers.py`` (same start method, same task protocol); what differs is that many
threads share them, each waiting for its own answer, instead of one ``imap_unordered``.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

from PIL import Image

from dedup_gui.core.decoders import MAX_PIXELS, register_optional_formats
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.hashing import configured_plugins, load_plugins
from dedup_gui.core.model import ProblemKind
from dedup_gui.core.thumbnails import make_thumbnail, make_view_image
from dedup_gui.core.workers import (
    _FAILED,
    _INIT_FAILED,
    _READY,
    _RESULT,
    _STARTUP_GRACE_S,
    TaskFailed,
    WorkerStartError,
    _context,
    _shut_down,
    _Worker,
    _worker_main,
)

log = logging.getLogger(__name__)

# Long enough for a full-size demosaic of a large RAW on a slow machine; a decoder stuck longer
# than this is not coming back.
DEFAULT_TIMEOUT_S = 30.0
# Thumbnails and the compare view rarely ask for more than two images at once; each process
# holds Pillow, numpy and LibRaw (~60 MB), so more would cost memory for little speed.
DEFAULT_PROCESSES = 2
# How long close() lets requests in flight notice and clean up before it kills their workers.
_CLOSE_GRACE_S = 2.0

CRASHED_DETAIL = "the image decoder crashed on this file"

# Pixels above this size go back through a file in shared memory (tmpfs), not the pipe: a
# 24 MP view image (72 MB) took ~200 ms through the pipe plus pickling, ~40 ms this way.
_SPILL_MIN_BYTES = 4 * 1024 * 1024
_SHM_DIR = Path("/dev/shm")


class DecodeKind(enum.Enum):
    THUMBNAIL = "thumbnail"  # small, cheap: a RAW's preview when it is big enough
    VIEW = "view"  # as large as asked for: a RAW's full-size preview or its demosaic


@dataclass(frozen=True, slots=True)
class DecodeRequest:
    kind: DecodeKind
    path: Path
    max_px: int  # the image fits in max_px x max_px
    # Where a worker writes pixels too big for its pipe (see _SPILL_MIN_BYTES); the service
    # chooses it and deletes it, whatever happens to the request.
    spill_path: str | None = None


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """Upright pixels, rows top to bottom, packed (``width * channels`` bytes a row)."""

    mode: str  # "RGB" or "RGBA"
    width: int
    height: int
    data: bytes  # empty while the pixels wait in the request's spill file

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def to_pil(self) -> Image.Image:
        return Image.frombytes(self.mode, self.size, self.data)


class DecodeServiceClosed(RuntimeError):
    """The service was closed (the app is quitting) before or while this request ran."""


def decode_request(request: DecodeRequest) -> DecodedImage:
    """Decodes one request in this process (what each worker runs; also usable directly).

    Raises:
        UnreadableImage: as ``make_thumbnail`` / ``make_view_image``.
    """
    make = make_thumbnail if request.kind is DecodeKind.THUMBNAIL else make_view_image
    img = make(request.path, request.max_px)
    data = img.tobytes()
    if request.spill_path is not None and len(data) >= _SPILL_MIN_BYTES:
        with open(request.spill_path, "xb") as spill:  # x: never into a file someone else made
            spill.write(data)
        data = b""
    return DecodedImage(img.mode, img.width, img.height, data)


def init_decoder(plugins: Sequence[str]) -> None:
    """Worker initializer: the scan's formats and limits (see ``hashing.init_worker``)."""
    load_plugins(plugins)  # first, so a plugin cannot loosen the limit set below
    register_optional_formats()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow raises above twice this
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)


class DecodeService:
    """Runs ``decode_request`` in up to ``processes`` worker processes for any thread.

    ``decode`` blocks its caller until the answer comes; call it from worker threads, never
    the GUI thread. Processes start on the first request and stay until ``close()``.
    """

    def __init__(
        self,
        *,
        processes: int = DEFAULT_PROCESSES,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        plugins: Sequence[str] | None = None,
    ) -> None:
        """Prepares the service; no process starts yet.

        Args:
            processes: at most this many worker processes, at least 1.
            timeout_s: a decode running longer than this is killed: ``TIMED_OUT``.
            plugins: Pillow plugin modules for the workers; None reads ``DEDUP_GUI_PLUGINS``
                now, in this process (a forkserver keeps the environment it started with).
        """
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, not {timeout_s}")
        self._max_workers = processes
        self._timeout_s = timeout_s
        self._plugins = tuple(configured_plugins() if plugins is None else plugins)
        self._context = _context()
        self._spill_dir = _SHM_DIR if _SHM_DIR.is_dir() else Path(tempfile.gettempdir())
        self._lock = threading.Condition()
        self._idle: list[_Worker[DecodeRequest]] = []
        self._busy: set[_Worker[DecodeRequest]] = set()
        self._starting = 0  # slots taken by threads that are spawning a worker right now
        self._is_closed = False
        # Never written: close() closes the write end, and every waiting thread wakes at EOF.
        self._stop_reader, self._stop_writer = self._context.Pipe(duplex=False)

    @property
    def processes(self) -> int:
        return self._max_workers

    @property
    def is_closed(self) -> bool:
        return self._is_closed

    def pids(self) -> list[int]:
        """Process ids of the workers alive now (for tests and diagnostics)."""
        with self._lock:
            workers = [*self._idle, *self._busy]
        return [w.process.pid for w in workers if w.process.pid is not None]

    def __enter__(self) -> DecodeService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def decode(self, request: DecodeRequest) -> DecodedImage:
        """Decodes ``request`` in a worker process; blocks until done.

        Raises:
            UnreadableImage: the file cannot be shown; ``CRASHED`` when the decoder crashed,
                ``TIMED_OUT`` when it ran past the time limit (its process is replaced).
            DecodeServiceClosed: ``close()`` was called.
            WorkerStartError: a worker process could not start (a bug, not the file).
        """
        spill = self._spill_path() if request.kind is DecodeKind.VIEW else None
        if spill is not None:
            request = dataclasses.replace(request, spill_path=str(spill))
        try:
            image = self._run(request)
            if spill is not None and not image.data:
                image = dataclasses.replace(image, data=spill.read_bytes())
            return image
        finally:
            if spill is not None:  # its worker has answered or been killed: nobody writes now
                spill.unlink(missing_ok=True)

    def _run(self, request: DecodeRequest) -> DecodedImage:
        worker = self._acquire()
        try:
            worker.conn.send((request,))
        except OSError:
            # It died while idle (killed from outside): no request was lost; take a fresh one.
            self._discard(worker)
            worker = self._acquire()
            try:
                worker.conn.send((request,))
            except OSError as exc:
                self._discard(worker)
                raise WorkerStartError("a new decoder process died at once") from exc
        worker.task = (request,)
        worker.clock_from = time.monotonic()
        return self._await(worker)

    def _spill_path(self) -> Path:
        return self._spill_dir / f"dedup-gui-{os.getpid()}-{uuid.uuid4().hex}.pixels"

    def close(self) -> None:
        """Stops every worker: idle ones leave, busy ones are killed and their callers get
        ``DecodeServiceClosed``. Returns once they are gone (a few seconds at most). Idempotent.
        """
        with self._lock:
            if self._is_closed:
                return
            self._is_closed = True
            idle, self._idle = self._idle, []
            self._lock.notify_all()  # threads waiting for a free worker
        self._stop_writer.close()  # threads waiting for an answer
        _shut_down(idle, ask_first=True)
        self._wait_for_callers()

    # --- workers in and out ------------------------------------------------------------------

    def _acquire(self) -> _Worker[DecodeRequest]:
        """An idle worker, a new one if there is room, or the first one freed."""
        with self._lock:
            while True:
                if self._is_closed:
                    raise DecodeServiceClosed("the decoder is shut down")
                if self._idle:
                    worker = self._idle.pop()
                    self._busy.add(worker)
                    return worker
                if len(self._busy) + self._starting < self._max_workers:
                    self._starting += 1
                    break
                self._lock.wait()
        try:
            worker = self._spawn()  # outside the lock: other threads keep their workers moving
        finally:
            with self._lock:
                self._starting -= 1
                self._lock.notify_all()  # close() may be waiting for this start to end
        with self._lock:
            self._busy.add(worker)
            if not self._is_closed:
                return worker
        self._discard(worker)
        raise DecodeServiceClosed("the decoder is shut down")

    def _spawn(self) -> _Worker[DecodeRequest]:
        conn, child_conn = self._context.Pipe(duplex=True)
        lifeline_r, lifeline_w = self._context.Pipe(duplex=False)
        process = self._context.Process(  # type: ignore[attr-defined]
            target=_worker_main,
            args=(decode_request, child_conn, lifeline_r, init_decoder, (self._plugins,)),
            name="dedup-gui-decoder",
            daemon=True,  # multiprocessing's atexit also ends it if close() was never called
        )
        process.start()
        child_conn.close()  # only the child holds its ends: a dead child means EOF here
        lifeline_r.close()
        return _Worker(process, conn, lifeline_w, spawned_at=time.monotonic())

    def _release(self, worker: _Worker[DecodeRequest]) -> None:
        """Returns a worker that answered to the idle list (or stops it, once closed)."""
        worker.task = None
        with self._lock:
            self._busy.discard(worker)
            if not self._is_closed:
                self._idle.append(worker)
                self._lock.notify()
                return
            self._lock.notify_all()
        _shut_down([worker], ask_first=True)

    def _discard(self, worker: _Worker[DecodeRequest]) -> None:
        """Stops a worker for good (crashed, hung, or closing); a new one starts when needed."""
        _shut_down([worker], ask_first=False)
        with self._lock:
            self._busy.discard(worker)
            self._lock.notify_all()

    def _wait_for_callers(self) -> None:
        """Waits for requests in flight to clean up their workers; kills what is left."""
        deadline = time.monotonic() + _CLOSE_GRACE_S
        with self._lock:
            while self._busy or self._starting:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            stuck = list(self._busy)
        for worker in stuck:  # a caller that never woke up: do not leave its process behind
            log.warning("decoder process %s outlived close(); killing it", worker.process.pid)
            worker.process.kill()

    # --- one request -------------------------------------------------------------------------

    def _await(self, worker: _Worker[DecodeRequest]) -> DecodedImage:
        """Waits for ``worker``'s answer, its death, its time limit or close()."""
        while True:
            remaining = worker.deadline(self._timeout_s) - time.monotonic()
            ready = wait(
                [worker.conn, worker.process.sentinel, self._stop_reader], max(0.0, remaining)
            )
            if self._is_closed:
                self._discard(worker)
                raise DecodeServiceClosed("the decoder was shut down during this request")
            if worker.conn in ready or worker.process.sentinel in ready:
                answer = self._read(worker)
                if answer is not None:
                    return answer
            elif time.monotonic() >= worker.deadline(self._timeout_s):
                return self._time_out(worker)

    def _read(self, worker: _Worker[DecodeRequest]) -> DecodedImage | None:
        """The answer ``worker`` sent; None if it only said it is ready. Raises its failure."""
        try:
            tag, payload = worker.conn.recv() if worker.conn.poll() else (None, None)
        except (EOFError, OSError):
            tag, payload = None, None  # it died
        if tag == _READY:
            worker.is_ready = True
            worker.clock_from = time.monotonic()  # the time limit counts from here
            return None
        if tag == _RESULT and isinstance(payload, DecodedImage):
            self._release(worker)
            return payload
        if tag == _FAILED and isinstance(payload, TaskFailed):
            self._release(worker)
            raise UnreadableImage(payload.kind.value, payload.detail)
        if worker.process.is_alive() and tag is None:
            return None  # woken by its pipe, nothing to read yet
        was_ready, exit_code = worker.is_ready, worker.process.exitcode
        self._discard(worker)
        if tag == _INIT_FAILED:
            raise WorkerStartError(f"the decoder's initializer failed: {payload}")
        if tag is not None:
            raise WorkerStartError(f"unexpected message from a decoder process: {tag!r}")
        if not was_ready:
            raise WorkerStartError(f"a decoder process exited while starting ({exit_code})")
        raise UnreadableImage(ProblemKind.CRASHED.value, CRASHED_DETAIL)

    def _time_out(self, worker: _Worker[DecodeRequest]) -> DecodedImage:
        if not worker.is_ready:
            self._discard(worker)
            limit_s = self._timeout_s + _STARTUP_GRACE_S
            raise WorkerStartError(f"a decoder process did not start within {limit_s:g} s")
        self._discard(worker)
        detail = f"gave up after {self._timeout_s:g} s: the decoder did not finish"
        raise UnreadableImage(ProblemKind.TIMED_OUT.value, detail)
