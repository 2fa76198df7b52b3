"""`dedup-gui find` and `dedup-gui import-check`: is this photo already in the scanned library?

Exit status, as grep's: 0 some photo has a copy in the library, 1 none has, 2 usage error or
failure (also: a file that could not be moved), 130 interrupted.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dedup_gui.cli import _cancel_on_interrupt, add_library_options
from dedup_gui.core.actions import ActionReport, move_files, trash_files
from dedup_gui.core.cancel import Cancelled, CancelToken
from dedup_gui.core.errors import DedupError
from dedup_gui.core.export import path_text
from dedup_gui.core.formatting import human_count, human_size
from dedup_gui.core.journal import StoreJournal
from dedup_gui.core.model import (
    Group,
    GroupMember,
    HashAlgorithm,
    HashSettings,
    Problem,
    Relation,
)
from dedup_gui.core.query import LibraryIndex, drop_stale_copies, find_copies, hash_photos
from dedup_gui.core.recovery import open_store_or_recover
from dedup_gui.core.store import HashStore, default_db_path

FOUND, NONE_FOUND, TROUBLE, INTERRUPTED = 0, 1, 2, 130
_SAME = frozenset({Relation.EXACT, Relation.SAME_PIXELS})  # nothing lost if the new one goes
_LABELS = {Relation.EXACT: "exact", Relation.SAME_PIXELS: "same pixels", Relation.NEAR: "near"}
_CSV_COLUMNS = ("photo", "status", "relation", "distance", "path", "size", "width", "height")


def main(command: str, args: list[str]) -> int:
    """Runs ``command`` ("find" or "import-check") with its arguments; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="dedup-gui: %(message)s")
    if command == "find":
        return _find_main(args)
    return _import_check_main(args)


_EPILOG = "Exit status: 0 a copy was found, 1 none was, 2 usage error or failure."


def _find_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dedup-gui find",
        description="For each photo, list its copies in the library scanned so far "
        "(exact copy, same pixels, or near-duplicate), or say it is new. Nothing is changed "
        "and the photos are not added to the library.",
        epilog=_EPILOG,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PHOTO_OR_FOLDER")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the answer as JSON")
    fmt.add_argument("--csv", action="store_true", help="print one CSV row per copy (or new photo)")
    add_library_options(parser)
    return parser


def _import_check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dedup-gui import-check",
        description="Split a folder of new photos into those already in the library (exact "
        "copy or same pixels), those similar to a library photo (near-duplicates: maybe "
        "edited, maybe better), and new ones. Optionally move the ones already there away; "
        "the library's own files are never touched.",
        epilog=_EPILOG + " Moves are journaled: the window's Restore puts them back.",
    )
    parser.add_argument("folder", type=Path, metavar="NEW_FOLDER")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--trash", action="store_true", help="move those already there to Trash")
    action.add_argument("--move-to", type=Path, metavar="DIR", help="move them into DIR instead")
    parser.add_argument(
        "--include-similar",
        action="store_true",
        help="also move photos that are only similar to a library photo",
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_library_options(parser)
    return parser


@dataclass(frozen=True, slots=True)
class _Answer:
    groups: list[Group]  # one per photo asked about; the photo is the reference
    problems: list[Problem]
    library_size: int


def _ask(
    options: argparse.Namespace,
    paths: Sequence[Path],
    cancel: CancelToken,
    act: Callable[[HashStore, _Answer], Any] | None = None,
    excluded_roots: Sequence[Path] = (),
) -> _Answer:
    """Hashes ``paths`` and looks them up; ``act`` runs with the store still open."""
    settings = HashSettings(HashAlgorithm(options.algorithm), options.hash_size)
    records, problems = hash_photos(paths, settings, workers=options.workers, cancel=cancel)
    store, notice = open_store_or_recover(options.db or default_db_path())
    if notice:
        print(f"dedup-gui: {notice}", file=sys.stderr)
    with store:
        index = LibraryIndex.load(store, settings)
        if not len(index):
            print(
                "dedup-gui: the library has no photos scanned with these settings; "
                "scan it first (dedup-gui scan FOLDER)",
                file=sys.stderr,
            )
        groups = find_copies(
            index,
            records,
            store,
            options.threshold,
            excluded_roots=excluded_roots,
            workers=options.workers,
            match_turned=not options.no_turned,
            match_crops=not options.no_crops,
            cancel=cancel,
        )
        answer = _Answer(groups, problems, len(index))
        if act is not None:
            act(store, answer)
    return answer


def _run(body: Callable[[CancelToken], int]) -> int:
    """Ctrl+C cancels gently; engine errors are reported plainly."""
    cancel = CancelToken()
    previous = _cancel_on_interrupt(cancel)
    try:
        return body(cancel)
    except Cancelled:
        print("dedup-gui: interrupted", file=sys.stderr)
        return INTERRUPTED
    except DedupError as exc:
        print(f"dedup-gui: {exc}", file=sys.stderr)
        return TROUBLE
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_db(parser: argparse.ArgumentParser, db: Path | None) -> None:
    path = db or default_db_path()
    if not path.exists():
        parser.error(f"no library database at {path}; scan your photos first (dedup-gui scan)")


def _emit(text: str, output: Path | None) -> None:
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


# -- find -------------------------------------------------------------------------------------


def _find_main(args: list[str]) -> int:
    parser = _find_parser()
    options = parser.parse_args(args)
    missing = [p for p in options.paths if not p.exists()]
    if missing:
        parser.error("no such file or folder: " + ", ".join(str(p) for p in missing))
    _check_db(parser, options.db)

    def body(cancel: CancelToken) -> int:
        answer = _ask(options, options.paths, cancel)
        if options.json:
            text = _find_json(answer)
        elif options.csv:
            text = _find_csv(answer.groups)
        else:
            text = _find_text(answer)
        _emit(text, options.output)
        return FOUND if any(len(g.members) > 1 for g in answer.groups) else NONE_FOUND

    return _run(body)


def _member_facts(member: GroupMember) -> dict[str, Any]:
    r = member.record
    return {
        "path": path_text(r.path),
        "size": r.size,
        "width": r.width,
        "height": r.height,
        "format": r.format,
        "date_taken": r.date_taken,
        "content_hash": r.content_hash.hex(),
    }


def _copy_facts(member: GroupMember) -> dict[str, Any]:
    how = {
        "relation": member.relation.value,
        "distance": member.distance,
        "turn": member.turn.name.lower(),  # as `scan --json` says it: "none", "rotated_90", ...
        "cropped": member.cropped,
    }
    return how | _member_facts(member)


def _problem_facts(problems: Sequence[Problem]) -> list[dict[str, str]]:
    return [{"path": path_text(p.path), "kind": p.kind.value, "detail": p.detail} for p in problems]


def _find_json(answer: _Answer) -> str:
    photos = [
        _member_facts(g.reference)
        | {
            "status": "found" if len(g.members) > 1 else "new",
            "copies": [_copy_facts(m) for m in g.members[1:]],
        }
        for g in answer.groups
    ]
    document = {
        "photos": photos,
        "problems": _problem_facts(answer.problems),
        "library_photos": answer.library_size,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _find_csv(groups: Sequence[Group]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for g in groups:
        photo = path_text(g.reference.record.path)
        if len(g.members) == 1:
            writer.writerow([photo, "new", "", "", "", "", "", ""])
        for m in g.members[1:]:
            r = m.record
            row = [m.relation.value, m.distance, path_text(r.path), r.size, r.width, r.height]
            writer.writerow([photo, "found", *row])
    return out.getvalue()


def _copy_line(member: GroupMember) -> str:
    r = member.record
    return (
        f"  {_LABELS[member.relation]:<11} d={member.distance:<2} {r.width}x{r.height} "
        f"{r.format:<4} {human_size(r.size):>9}  {path_text(r.path)}"
    )


def _find_text(answer: _Answer) -> str:
    lines = []
    for g in answer.groups:
        photo = path_text(g.reference.record.path)
        copies = len(g.members) - 1
        if not copies:
            lines.append(f"{photo}: new")
            continue
        lines.append(f"{photo}: {copies} {'copy' if copies == 1 else 'copies'} in the library")
        lines += [_copy_line(m) for m in g.members[1:]]
    lines += [f"Problem: {path_text(p.path)}: {p.detail}" for p in answer.problems]
    found = sum(len(g.members) > 1 for g in answer.groups)
    lines.append(
        f"{human_count(len(answer.groups), 'photo')} checked against "
        f"{answer.library_size:,} in the library: "
        f"{found} found, {len(answer.groups) - found} new, {len(answer.problems)} problems"
    )
    return "\n".join(lines) + "\n"


# -- import-check -----------------------------------------------------------------------------


def _category(group: Group) -> str:
    relations = {m.relation for m in group.members[1:]}
    if relations & _SAME:
        return "present"
    return "similar" if relations else "new"


def _import_check_main(args: list[str]) -> int:
    parser = _import_check_parser()
    options = parser.parse_args(args)
    if not options.folder.is_dir():
        parser.error(f"not a folder: {options.folder}")
    _check_db(parser, options.db)
    folder = options.folder.absolute()
    moving = options.trash or options.move_to is not None
    wanted = {"present", "similar"} if options.include_similar else {"present"}
    reports: list[ActionReport] = []
    skipped: list[Group] = []

    def act(store: HashStore, answer: _Answer) -> None:
        chosen = [g for g in answer.groups if _category(g) in wanted]
        # Only a copy still in place, unchanged and not this very file vouches for a photo.
        checked = [drop_stale_copies(g) for g in chosen]
        sure = [g for g in checked if _category(g) in wanted]
        skipped.extend(g for g in checked if _category(g) not in wanted)
        records = [g.reference.record for g in sure]  # the new folder's photos, never copies
        if not records:
            reports.append(ActionReport((), ()))
            return
        journal = StoreJournal(store)
        if options.trash:
            report = trash_files(records, journal=journal)
        else:
            report = move_files(records, options.move_to.absolute(), journal=journal)
        store.forget(f.original for f in report.done)  # in case the folder was scanned once
        reports.append(report)

    def body(cancel: CancelToken) -> int:
        answer = _ask(options, [folder], cancel, act if moving else None, excluded_roots=[folder])
        if options.json:
            text = _import_json(answer, reports, skipped)
        else:
            text = _import_text(answer, reports, skipped, options.move_to)
        _emit(text, options.output)
        if reports and reports[0].failed:
            return TROUBLE
        return FOUND if any(_category(g) != "new" for g in answer.groups) else NONE_FOUND

    return _run(body)


def _import_json(answer: _Answer, reports: list[ActionReport], skipped: list[Group]) -> str:
    document: dict[str, Any] = {"present": [], "similar": [], "new": []}
    for g in answer.groups:
        entry = _member_facts(g.reference) | {"copies": [_copy_facts(m) for m in g.members[1:]]}
        document[_category(g)].append(entry)
    document["problems"] = _problem_facts(answer.problems)
    if reports:
        report = reports[0]
        document["moved"] = [
            {"path": path_text(f.original), "to": path_text(f.trashed_as) if f.trashed_as else None}
            for f in report.done
        ]
        document["not_moved"] = _problem_facts(report.failed) + [
            {
                "path": path_text(g.reference.record.path),
                "kind": "copy_gone",
                "detail": _COPY_GONE,
            }
            for g in skipped
        ]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_COPY_GONE = "its library copy is gone or changed since the last scan; not moved"
_HEADINGS = {
    "present": "Already in the library",
    "similar": "Similar to a library photo",
    "new": "New",
}


def _import_text(
    answer: _Answer, reports: list[ActionReport], skipped: list[Group], move_to: Path | None
) -> str:
    by_category: dict[str, list[Group]] = {"present": [], "similar": [], "new": []}
    for g in answer.groups:
        by_category[_category(g)].append(g)
    lines = []
    for category, groups in by_category.items():
        if groups:
            lines.append(f"{_HEADINGS[category]} ({len(groups)}):")
        for g in groups:
            lines.append(f"  {path_text(g.reference.record.path)}")
            lines += ["  " + _copy_line(m) for m in g.members[1:2]]  # the closest copy
    lines += [f"Problem: {path_text(p.path)}: {p.detail}" for p in answer.problems]
    counts = {c: len(g) for c, g in by_category.items()}
    lines.append(
        f"{human_count(len(answer.groups), 'photo')} checked: "
        f"{counts['present']} already in the library, "
        f"{counts['similar']} similar, {counts['new']} new"
    )
    if reports:
        report = reports[0]
        where = f"into {path_text(move_to)}" if move_to else "to the Trash"
        lines.append(
            f"Moved {human_count(len(report.done), 'photo')} ({human_size(report.bytes_done)}) "
            f"{where}; "
            f"{len(report.failed) + len(skipped)} not moved."
        )
        lines += [f"Not moved: {path_text(p.path)}: {p.detail}" for p in report.failed]
        lines += [f"Not moved: {path_text(g.reference.record.path)}: {_COPY_GONE}" for g in skipped]
    return "\n".join(lines) + "\n"
