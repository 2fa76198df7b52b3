"""A hostile Pillow plugin for tests: files starting CRASHME abort the decoder, HANGME hang it.

Imported in worker processes through ``DEDUP_GUI_PLUGINS=tests.core.plugins.crashy``; never
import it in the test process itself if you open such files there.
"""

from __future__ import annotations

import os
import resource
import threading

from PIL import Image, ImageFile

CRASH_MAGIC = b"CRASHME"
HANG_MAGIC = b"HANGME"


class CrashImageFile(ImageFile.ImageFile):
    format = "CRASHME"
    format_description = "aborts the process that opens it"

    def _open(self) -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file left behind
        os.abort()  # SIGABRT, as a crashing C decoder would


class HangImageFile(ImageFile.ImageFile):
    format = "HANGME"
    format_description = "never finishes opening"

    def _open(self) -> None:
        threading.Event().wait()  # forever: only the pool's time limit ends it


def _accept_crash(prefix: bytes) -> bool:
    return prefix.startswith(CRASH_MAGIC)


def _accept_hang(prefix: bytes) -> bool:
    return prefix.startswith(HANG_MAGIC)


Image.register_open(CrashImageFile.format, CrashImageFile, _accept_crash)
Image.register_open(HangImageFile.format, HangImageFile, _accept_hang)
