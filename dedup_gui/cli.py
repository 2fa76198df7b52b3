"""`dedup-gui`: the window by default; `dedup-gui scan PATH...` scans headless and prints groups.

`find` and `import-check` live in ``cli_find``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from dedup_gui import __version__
from dedup_gui.core.cancel import CancelToken
from dedup_gui.core.model import ScanReport

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "scan":
        return _scan_main(args[1:])
    if args and args[0] in ("find", "import-check"):
        from dedup_gui import cli_find  # lazily, as the scan: cli_find imports this module

        return cli_find.main(args[0], args[1:])
    return _gui_main(args)


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dedup-gui",
        description="Find duplicate photos, keep the best copy, send the rest to the Trash.",
        epilog="Headless: dedup-gui scan PATH... --json; dedup-gui find PHOTO...; "
        "dedup-gui import-check NEW_FOLDER (see their --help).",
    )
    parser.add_argument("folders", nargs="*", type=Path, help="folders to scan right away")
    parser.add_argument("--demo", action="store_true", help="open the app on a sample library")
    parser.add_argument("--db", type=Path, help="database file (default: in your user data folder)")
    entry = parser.add_mutually_exclusive_group()
    entry.add_argument(
        "--install-desktop-entry", action="store_true", help="add dedup-gui to the app menu"
    )
    entry.add_argument(
        "--remove-desktop-entry", action="store_true", help="remove it from the app menu"
    )
    parser.add_argument("--version", action="version", version=f"dedup-gui {__version__}")
    return parser


def _gui_main(args: list[str]) -> int:
    options = _gui_parser().parse_args(args)
    if options.install_desktop_entry or options.remove_desktop_entry:
        from dedup_gui.desktop_entry import run_cli

        return run_cli(install=options.install_desktop_entry)
    try:
        from dedup_gui.ui.app import run_app
    except ImportError as exc:
        print(
            f"dedup-gui: the window cannot start ({exc}).\n"
            "On Debian/Ubuntu install the Qt system libraries: "
            "sudo apt install libxcb-cursor0 libxkbcommon-x11-0 libegl1",
            file=sys.stderr,
        )
        return 1
    return run_app(options.folders, demo=options.demo, db_path=options.db)


def _scan_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dedup-gui scan",
        description="Scan folders for duplicate photos and print the groups (nothing is changed).",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="folders (or files)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print groups as JSON")
    fmt.add_argument("--csv", action="store_true", help="print one CSV row per group member")
    add_library_options(parser)
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN", help="skip matching paths"
    )
    parser.add_argument("--min-size", type=int, default=0, metavar="BYTES", help="skip smaller")
    parser.add_argument("--include-hidden", action="store_true", help="scan hidden folders too")
    parser.add_argument("--follow-symlinks", action="store_true", help="follow symlinked folders")
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS", help="time limit per file"
    )
    parser.add_argument(
        "--pairs-as-duplicates",
        action="store_true",
        help="let a RAW and its same-named JPEG be duplicates of each other",
    )
    return parser


def add_library_options(parser: argparse.ArgumentParser) -> None:
    """Options every headless command shares: the database, hash settings, workers, output."""
    from dedup_gui.core.model import DEFAULT_MAX_DISTANCE, HashAlgorithm

    parser.add_argument("--db", type=Path, help="database file (default: in your user data folder)")
    parser.add_argument(
        "--threshold",
        type=int,
        default=DEFAULT_MAX_DISTANCE,
        metavar="BITS",
        help=f"max Hamming distance for near-duplicates (default {DEFAULT_MAX_DISTANCE})",
    )
    parser.add_argument(
        "--algorithm",
        choices=[a.value for a in HashAlgorithm],
        default=HashAlgorithm.PHASH.value,
        help="perceptual hash; find and import-check need the library's (default phash)",
    )
    parser.add_argument("--hash-size", type=int, default=8, help="hash size (default 8: 64 bits)")
    parser.add_argument("--workers", type=int, help="decoding processes (default: one per core)")
    parser.add_argument(
        "--no-turned",
        action="store_true",
        help="do not match copies rotated by 90/180/270 degrees or mirrored",
    )
    parser.add_argument(
        "--no-crops",
        action="store_true",
        help="do not match cropped, captioned or watermarked copies",
    )
    parser.add_argument("-o", "--output", type=Path, help="write the result to this file")


def _scan_main(args: list[str]) -> int:
    from dedup_gui.core import export
    from dedup_gui.core.errors import DedupError
    from dedup_gui.core.links import linked_paths
    from dedup_gui.core.model import HashAlgorithm, HashSettings, ScanRequest, WalkOptions
    from dedup_gui.core.pipeline import run_scan
    from dedup_gui.core.recovery import open_store_or_recover
    from dedup_gui.core.store import default_db_path
    from dedup_gui.progress_bar import ProgressBar

    parser = _scan_parser()
    options = parser.parse_args(args)
    missing = [p for p in options.paths if not p.exists()]
    if missing:
        parser.error("no such file or folder: " + ", ".join(str(p) for p in missing))
    request = ScanRequest(
        roots=tuple(p.absolute() for p in options.paths),
        walk=WalkOptions(
            follow_symlinks=options.follow_symlinks,
            include_hidden=options.include_hidden,
            exclude_patterns=tuple(options.exclude),
            min_size_bytes=options.min_size,
        ),
        hashing=HashSettings(HashAlgorithm(options.algorithm), options.hash_size),
        max_distance=options.threshold,
        workers=options.workers,
        per_file_timeout_s=options.timeout,
        match_turned=not options.no_turned,
        match_crops=not options.no_crops,
        pairs_as_duplicates=options.pairs_as_duplicates,
    )
    logging.basicConfig(level=logging.WARNING, format="dedup-gui: %(message)s")
    cancel = CancelToken()
    bar = ProgressBar(sys.stderr)
    previous = _cancel_on_interrupt(cancel)
    try:
        store, notice = open_store_or_recover(options.db or default_db_path())
        if notice:
            print(f"dedup-gui: {notice}", file=sys.stderr)
        with store:
            report = run_scan(request, store, progress=bar, cancel=cancel)
    except DedupError as exc:
        bar.finish()
        print(f"dedup-gui: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
    bar.finish()
    if options.json:
        linked = linked_paths(report)  # hard-linked files free nothing when trashed
        text = export.to_json(report.groups, report.problems, report.stats, linked=linked)
    elif options.csv:
        text = export.to_csv(report.groups)
    else:
        text = _summary_text(report)
    if options.output:
        options.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if report.cancelled:
        print("dedup-gui: scan cancelled; what was hashed is kept for next time", file=sys.stderr)
        return 130
    return 0


def _cancel_on_interrupt(cancel: CancelToken) -> Any:
    """First Ctrl+C cancels gently (hashed work is kept); a second one stops at once."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if cancel.is_cancelled:
            raise KeyboardInterrupt
        cancel.cancel()

    return signal.signal(signal.SIGINT, handler)


def _summary_text(report: ScanReport) -> str:
    from dedup_gui.core.export import path_text
    from dedup_gui.core.formatting import human_size
    from dedup_gui.core.kinds import describe_kind, group_kind
    from dedup_gui.core.links import linked_paths, reclaimable_bytes
    from dedup_gui.core.model import Relation, Turn
    from dedup_gui.core.turning import describe

    lines = []
    labels = {
        Relation.REFERENCE: "keep ",
        Relation.EXACT: "exact",
        Relation.SAME_PIXELS: "same ",
        Relation.NEAR: "near ",
    }
    linked = linked_paths(report)  # hard-linked files free nothing when trashed
    for number, group in enumerate(report.groups, start=1):
        lines.append(
            f"Group {number} ({describe_kind(group_kind(group))}): {len(group.members)} photos, "
            f"{human_size(reclaimable_bytes(group, linked))} reclaimable"
        )
        for m in group.members:
            r = m.record
            notes = [] if m.turn is Turn.NONE else [describe(m.turn)]
            if m.cropped:
                notes.append("cropped or captioned")
            if m.partner is not None:
                notes.append(f"RAW+JPEG pair with {m.partner.name}")
            lines.append(
                f"  {labels[m.relation]} d={m.distance:<2} {r.width}x{r.height} {r.format:<4} "
                f"{human_size(r.size):>9}  {path_text(r.path)}"
                + "".join(f"  ({note})" for note in notes)
            )
    for problem in report.problems:
        lines.append(f"Problem: {path_text(problem.path)}: {problem.detail}")
    s = report.stats
    duplicates = sum(len(g.members) - 1 for g in report.groups)
    reclaimable = sum(reclaimable_bytes(g, linked) for g in report.groups)
    lines.append(
        f"{s.found} photos scanned ({s.hashed} hashed, {s.reused} unchanged), "
        f"{len(report.groups)} groups, {duplicates} duplicates, "
        f"{human_size(reclaimable)} reclaimable, {s.problems} problems, {s.elapsed_s:.1f} s"
    )
    return "\n".join(lines) + "\n"
