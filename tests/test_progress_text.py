"""What a scan's progress says in the window and in the terminal while it checks copies."""

from __future__ import annotations

import io

from dedup_gui.core.model import ScanProgress, ScanStage
from dedup_gui.progress_bar import ProgressBar


def test_the_terminal_counts_checks_made() -> None:
    bar = ProgressBar(io.StringIO())
    checking = ScanProgress(ScanStage.VERIFYING, found=900, to_check=775, checked=120)
    assert bar.render(checking) == "Comparing likely copies in detail... 120/775"
    nothing = ScanProgress(ScanStage.VERIFYING, found=900)
    assert bar.render(nothing) == "Comparing pixels... 900 photos, 0 problems"
