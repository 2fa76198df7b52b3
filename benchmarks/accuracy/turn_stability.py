"""How stable the canonical orientation (core/turning.py) is, and what turned matching costs.

Usage: python benchmarks/accuracy/turn_stability.py CORPUS [--margins 0 0.02 0.04 ...]
       [--thresholds 8 10] [--cost]

Decodes every corpus file once, as hash_file does (pHash 8: the small upright image), and hashes
it in all 8 orientations. Then, for each copy/original pair (the copy's true turn is known from
its transform): how often the canonical choice differs (margin 0), and at each ambiguity margin
whether the two still share an entry. Finally pair-level precision/recall of group_by_distance
with turned matching off and on (at each margin), per-transform recall, hard negatives and how
often the reported Turn is right. ``--with-upright`` also scores entries + the upright hash.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from metrics import Score, Truth, group_pairs, score

from dedup_gui.core import digest, hashing
from dedup_gui.core.grouping import group_by_distance
from dedup_gui.core.model import HashSettings, ImageRecord, Turn
from dedup_gui.core.orientation import ORIENTATION_TAG, upright, valid_orientation
from dedup_gui.core.turning import (
    apply_turn,
    balance,
    canonical_turns,
    compose,
    inverse,
    turned_hashes,
)

SETTINGS = HashSettings()  # pHash, 8
# Displayed copy = original turned by this (Pillow's ROTATE_90 is counter-clockwise).
TRUE_TURN = {
    "rotate_90": Turn.ROTATED_270,
    "rotate_180": Turn.ROTATED_180,
    "rotate_270": Turn.ROTATED_90,
    "mirror": Turn.MIRRORED,
    "flip": Turn.MIRRORED_ROTATED_180,
}
SHOWN = [*TRUE_TURN, "exif_orient_2", "exif_orient_3", "exif_orient_6", "exif_orient_8"]


@dataclass
class Decoded:
    record: ImageRecord
    a: float
    b: float
    hashes: list[bytes]  # by Turn


def decode(path: Path) -> Decoded:
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        orientation = valid_orientation(img.getexif().get(ORIENTATION_TAG))
        small = upright(hashing._decode_small(img, SETTINGS), orientation)
    hashes = [hashing._perceptual_hash(apply_turn(small, t), SETTINGS) for t in Turn]
    a, b = balance(small)
    record = ImageRecord(
        path=path,
        size=len(data),
        mtime_ns=0,
        content_hash=digest.content_hash(data),
        perceptual_hash=hashes[Turn.NONE],
        width=small.width,
        height=small.height,
        format="?",
        date_taken=None,
    )
    return Decoded(record, a, b, hashes)


def entries_at(d: Decoded, margin: float) -> bytes:
    """What turned_hashes would store at ``margin`` (from the 8 hashes already computed)."""
    seen: set[bytes] = set()
    out = bytearray()
    for turn in canonical_turns(d.a, d.b, margin):
        if d.hashes[turn] not in seen:
            seen.add(d.hashes[turn])
            out += bytes([turn]) + d.hashes[turn]
    return bytes(out)


def true_turn(transform: str) -> Turn:
    return TRUE_TURN.get(transform, Turn.NONE)


def shares_entry(orig: Decoded, copy: Decoded, turn: Turn, margin: float) -> bool:
    """Whether some canonical orientation of the copy is one of the original's."""
    mine = set(canonical_turns(orig.a, orig.b, margin))
    return any(compose(turn, g) in mine for g in canonical_turns(copy.a, copy.b, margin))


def stability(truth: Truth, decoded: dict[str, Decoded], margins: Sequence[float]) -> None:
    originals = truth.original_file()
    differs: Counter[str] = Counter()
    shared: dict[float, Counter[str]] = {m: Counter() for m in margins}
    total: Counter[str] = Counter()
    for name, e in truth.entries.items():
        if e["transform"] in ("original", "burst", "tile") or name not in decoded:
            continue
        orig, copy = decoded[originals[e["original"]]], decoded[name]
        turn, kind = true_turn(e["transform"]), e["transform"]
        total[kind] += 1
        differs[kind] += not shares_entry(orig, copy, turn, 0.0)
        for m in margins:
            shared[m][kind] += shares_entry(orig, copy, turn, m)
    print("\n## Canonical orientation of copy vs original\n")
    shared_at = " | ".join(f"shared @{m}" for m in margins)
    print(f"| transform | pairs | differs at margin 0 | {shared_at} |")
    print("|---|---|---|" + "---|" * len(margins))
    for kind in sorted(total, key=lambda k: (k not in SHOWN, k)):
        cells = " | ".join(f"{shared[m][kind]}/{total[kind]}" for m in margins)
        print(f"| {kind} | {total[kind]} | {differs[kind]} | {cells} |")
    n = sum(total.values())
    cells = " | ".join(f"{sum(shared[m].values()) / n:.3f}" for m in margins)
    print(f"| all copies | {n} | {sum(differs.values()) / n:.3f} | {cells} |")
    print("\n| margin | mean entries per image | images with 1 / 2 / 4 / 8 candidates |")
    print("|---|---|---|")
    for m in margins:
        sizes = Counter(len(canonical_turns(d.a, d.b, m)) for d in decoded.values())
        stored = [len(entries_at(d, m)) // 9 for d in decoded.values()]
        spread = " / ".join(str(sizes[k]) for k in (1, 2, 4, 8))
        print(f"| {m} | {sum(stored) / len(stored):.3f} | {spread} |")


def turned_edits(
    truth: Truth, decoded: dict[str, Decoded], margins: Sequence[float], threshold: int
) -> None:
    """Copies both edited and turned: would each still meet its original?

    Turning a copy's small image is exact, so a turned copy has the copy's entries, relabelled:
    it meets the original if some orientation is canonical for both and their hashes in that
    orientation are within ``threshold`` (pairwise, without the leader clustering).
    """
    originals = truth.original_file()
    found: dict[float, Counter[str]] = {m: Counter() for m in margins}
    upright_found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for name, e in truth.entries.items():
        kind = e["transform"]
        if kind in ("original", "burst", "tile", *TRUE_TURN) or name not in decoded:
            continue
        orig, copy = decoded[originals[e["original"]]], decoded[name]
        total[kind] += 1
        upright_found[kind] += hamming(orig.hashes[0], copy.hashes[0]) <= threshold
        for m in margins:
            both = set(canonical_turns(orig.a, orig.b, m)) & set(canonical_turns(copy.a, copy.b, m))
            found[m][kind] += any(
                hamming(orig.hashes[g], copy.hashes[g]) <= threshold for g in both
            )
    print(f"\n## Edited copies, then turned: found with the original (threshold {threshold})\n")
    at = " | ".join(f"turned @{m}" for m in margins)
    print(f"| transform | not turned (upright hashes) | {at} |")
    print("|---|---|" + "---|" * len(margins))
    for kind in sorted(total):
        cells = " | ".join(f"{found[m][kind]}/{total[kind]}" for m in margins)
        print(f"| {kind} | {upright_found[kind]}/{total[kind]} | {cells} |")
    n = sum(total.values())
    cells = " | ".join(f"{sum(found[m].values()) / n:.3f}" for m in margins)
    print(f"| all | {sum(upright_found.values()) / n:.3f} | {cells} |")


def hamming(x: bytes, y: bytes) -> int:
    return (int.from_bytes(x, "big") ^ int.from_bytes(y, "big")).bit_count()


def turn_accuracy(truth: Truth, groups: list[list[tuple[str, Turn]]]) -> tuple[int, int]:
    """(right, total) reported turns, over members of the reference's photograph."""
    right = total = 0
    for group in groups:
        ref, _ = group[0]
        expected_ref = true_turn(truth.entries[ref]["transform"])
        for name, turn in group[1:]:
            e = truth.entries[name]
            if e["original"] != truth.entries[ref]["original"]:
                continue
            total += 1
            right += turn == compose(inverse(expected_ref), true_turn(e["transform"]))
    return right, total


def grouping(
    truth: Truth, decoded: dict[str, Decoded], margin: float | None, t: int
) -> tuple[Score, tuple[int, int], float, set[str]]:
    """Score, (right, total) turns, entries per record, copies grouped with their original."""
    if margin is None:
        records = [d.record for d in decoded.values()]
    else:
        records = [replace(d.record, turned=entries_at(d, margin)) for d in decoded.values()]
    groups = group_by_distance(records, t, match_turned=margin is not None)
    names = [[m.record.path.name for m in g.members] for g in groups]
    turns = [[(m.record.path.name, m.turn) for m in g.members] for g in groups]
    entries = sum(len(r.turned) // 9 for r in records) / len(records)
    originals = truth.original_file()
    found = {
        name
        for group in names
        for name in group
        if originals.get(truth.entries[name]["original"], name) in group
        and truth.entries[name]["transform"] not in ("original", "burst", "tile")
    }
    return score(truth, group_pairs(names), names), turn_accuracy(truth, turns), entries, found


def report_grouping(
    truth: Truth, decoded: dict[str, Decoded], margins: Sequence[float], thresholds: Sequence[int]
) -> None:
    variants: list[tuple[str, float | None]] = [("off", None)]
    variants += [(f"on @{m}", m) for m in margins]
    for t in thresholds:
        print(f"\n## Grouping, pHash 8, threshold {t}\n")
        shown = " | ".join(SHOWN)
        print(
            f"| variant | turned entries | P | R | F1 | {shown} | burst | tile | turn ok "
            "| same-orientation copies found (lost, gained) |"
        )
        print("|---|---|---|---|---|" + "---|" * (len(SHOWN) + 4))
        base: set[str] | None = None
        for label, margin in variants:
            s, (ok, n), entries, found = grouping(truth, decoded, margin, t)
            same = {c for c in found if truth.entries[c]["transform"] not in TRUE_TURN}
            base = same if base is None else base
            cells = " | ".join(f"{s.copy_recall[k]:.2f}" for k in SHOWN)
            neg = f"{s.hard_negatives['burst']} | {s.hard_negatives['tile']}"
            print(
                f"| {label} | {entries:.2f} | {s.precision:.4f} | {s.recall:.3f} | {s.f1:.3f} "
                f"| {cells} | {neg} | {ok}/{n} | {len(same)} (-{len(base - same)}, "
                f"+{len(same - base)}) |"
            )


def hashing_cost() -> None:
    """Time turned_hashes against the decode + hash it follows, on a 6000x4000 JPEG."""
    from tests.core.images import photo_like  # only here: it draws the 24 MP test photo

    buffer = io.BytesIO()
    photo_like(6000, 4000, seed=3).save(buffer, "JPEG", quality=92)
    data = buffer.getvalue()

    def decode_and_hash() -> Image.Image:
        with Image.open(io.BytesIO(data)) as img:
            small = hashing._decode_small(img, SETTINGS)
        hashing._perceptual_hash(small, SETTINGS)
        return small

    def fastest(f: Callable[[], object], runs: int) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            f()
            times.append(time.perf_counter() - started)
        return min(times)

    base = fastest(decode_and_hash, 7)
    small = decode_and_hash()
    extra = fastest(
        lambda: turned_hashes(small, lambda i: hashing._perceptual_hash(i, SETTINGS)), 50
    )
    print(
        f"\n## Cost\n\n24 MP JPEG ({len(data) / 1e6:.1f} MB): decode + pHash {base * 1e3:.1f} ms; "
        f"turned_hashes on the {small.width}x{small.height} small image {extra * 1e3:.2f} ms "
        f"(+{100 * extra / base:.1f} %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--margins", type=float, nargs="+", default=[0.0, 0.02, 0.04, 0.06, 0.1])
    parser.add_argument("--thresholds", type=int, nargs="+", default=[8, 10])
    parser.add_argument("--cost", action="store_true", help="also time turned_hashes")
    args = parser.parse_args()
    os.environ.setdefault(hashing.PLUGINS_ENV, "pillow_heif.HeifImagePlugin")
    hashing.load_plugins(hashing.configured_plugins())
    truth = Truth.load(args.corpus)
    decoded = {}
    for name in sorted(truth.entries):
        try:
            decoded[name] = decode(args.corpus / "images" / name)
        except Exception as exc:  # a format this machine cannot decode: left out, said so
            print(f"skipped {name}: {exc!r}", file=sys.stderr)
    print(f"{len(decoded)} files decoded; pHash 8")
    stability(truth, decoded, args.margins)
    for t in args.thresholds:
        turned_edits(truth, decoded, args.margins, t)
    report_grouping(truth, decoded, args.margins, args.thresholds)
    if args.cost:
        hashing_cost()


if __name__ == "__main__":
    main()
