"""A one-line terminal progress bar on stderr for `dedup-gui scan`: counts, rate and ETA."""

from __future__ import annotations

import shutil
from typing import TextIO

from dedup_gui.core.formatting import human_duration
from dedup_gui.core.model import ScanProgress, ScanStage

_STAGE_WORDS = {
    ScanStage.WALKING: "Looking for photos",
    ScanStage.HASHING: "Hashing",
    ScanStage.GROUPING: "Grouping",
    ScanStage.VERIFYING: "Comparing pixels",
    ScanStage.DONE: "Done",
}


def eta_seconds(progress: ScanProgress, hashing_started_s: float | None) -> float | None:
    """Seconds left, once at least a few files were hashed to measure a rate."""
    if hashing_started_s is None or progress.hashed < 5:
        return None
    spent = progress.elapsed_s - hashing_started_s
    if spent <= 0:
        return None
    rate = progress.hashed / spent
    return max(progress.to_hash - progress.hashed - progress.problems, 0) / rate


class ProgressBar:
    """Redraws one line in place; prints nothing unless the stream is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._enabled = stream.isatty()
        self._hashing_started_s: float | None = None

    def __call__(self, progress: ScanProgress) -> None:
        if progress.stage is ScanStage.HASHING and self._hashing_started_s is None:
            self._hashing_started_s = progress.elapsed_s
        if self._enabled:
            self._draw(self.render(progress))

    def render(self, progress: ScanProgress) -> str:
        words = _STAGE_WORDS[progress.stage]
        if progress.stage is ScanStage.WALKING:
            return f"{words}... {progress.found} found"
        if progress.stage is ScanStage.VERIFYING and progress.to_check:
            return f"Comparing likely copies in detail... {progress.checked}/{progress.to_check}"
        if progress.stage is not ScanStage.HASHING or progress.to_hash == 0:
            return f"{words}... {progress.found} photos, {progress.problems} problems"
        done = progress.hashed + progress.problems
        fraction = min(done / progress.to_hash, 1.0)
        width = 24
        filled = int(fraction * width)
        bar = "#" * filled + "." * (width - filled)
        spent = progress.elapsed_s - (self._hashing_started_s or 0.0)
        rate = progress.hashed / spent if spent > 0 else 0.0
        eta = eta_seconds(progress, self._hashing_started_s)
        eta_text = f"ETA {human_duration(eta)}" if eta is not None else "ETA --"
        return (
            f"[{bar}] {done}/{progress.to_hash} {rate:.1f} img/s {eta_text}"
            f" | reused {progress.reused}, problems {progress.problems}"
        )

    def finish(self) -> None:
        if self._enabled:
            self._draw("")

    def _draw(self, text: str) -> None:
        columns = shutil.get_terminal_size((80, 20)).columns
        self._stream.write("\r" + text[: columns - 1].ljust(columns - 1))
        if not text:
            self._stream.write("\r")
        self._stream.flush()
