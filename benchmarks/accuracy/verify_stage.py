"""Prototype of a second-stage verifier (crops, overlays, turned look-alikes), scored on the corpus.

Usage:
  python benchmarks/accuracy/verify_stage.py CORPUS [--loose 16] [--certain 8 -1] [--accept 0.5]

Stage 1: the engine's pHash 8 records (hashed once through ``run_scan``, as score.py does); a pair
is a candidate when its upright hashes, or any pair of its canonical-turn entries, are within
``--loose`` bits. Stage 2: pairs within ``--certain`` bits upright are accepted unchecked (-1:
verify everything); the others are decoded small (greyscale, 256 px) in the candidate's canonical
turn, and ``verify`` decides: is one picture, at some scale 0.78-1, a region of the other (crops,
screenshot borders), with fine detail matching in most of the picture (overlays cover a part)?
Groups are made as the engine makes them (leader clustering, best copy first, no chaining), from
accepted pairs only. Prints Markdown tables. The verifier is the engine's (core/verify.py).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))

from metrics import Score, Truth, group_pairs, score

from dedup_gui.core.decoders import open_image
from dedup_gui.core.grouping import best_first_key
from dedup_gui.core.model import HashAlgorithm, HashSettings, ImageRecord, Turn
from dedup_gui.core.orientation import upright
from dedup_gui.core.turning import apply_turn, entries
from dedup_gui.core.verify import SMALL_PX, crop_similarity

SETTINGS = HashSettings(HashAlgorithm.PHASH, 8)


# --- stage 1: hashes and candidates --------------------------------------------------------------


def load(corpus: Path, cache: Path) -> tuple[list[ImageRecord], dict[str, Image.Image]]:
    """The engine's records and a small upright greyscale copy of every file (cached)."""
    if cache.exists():
        with cache.open("rb") as f:
            return pickle.load(f)  # type: ignore[no-any-return]
    from score import hash_corpus

    records = hash_corpus(corpus / "images", SETTINGS, workers=2)
    smalls = {r.path.name: decode_small(r.path) for r in records}
    with cache.open("wb") as f:
        pickle.dump((records, smalls), f)
    return records, smalls


def decode_small(path: Path) -> Image.Image:
    """Upright greyscale copy, long side at most SMALL_PX."""
    with open_image(path.read_bytes(), path, min_px=SMALL_PX) as opened:
        img = opened.image
        if img.format in ("JPEG", "MPO", "HEIF"):
            img.draft("L", (SMALL_PX, SMALL_PX))
        img = img.convert("L")
        img = upright(img, opened.orientation)
    img.thumbnail((SMALL_PX, SMALL_PX), Image.Resampling.BOX)
    return img


def _bits(hashes: Sequence[bytes]) -> npt.NDArray[np.uint8]:
    return np.unpackbits(
        np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(len(hashes), -1), 1
    )


def _distances(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
    ai, bi = a.astype(np.int32), b.astype(np.int32)
    return (ai @ (1 - bi).T + (1 - ai) @ bi.T).astype(np.int32)


@dataclass(frozen=True)
class Candidate:
    i: int
    j: int
    upright: int  # upright distance
    turned: int  # best distance between canonical-turn entries
    turns: tuple[Turn, Turn]  # the entries' turns: i turned by [0] looks like j turned by [1]


def candidates(records: Sequence[ImageRecord], loose: int) -> list[Candidate]:
    """Every pair within ``loose`` bits, upright or between turned entries (all pairs: small)."""
    up = _distances(*(2 * [_bits([r.perceptual_hash for r in records])]))
    owner, turns, hashes = [], [], []
    for k, r in enumerate(records):
        for turn, h in entries(r.turned, 8) or [(Turn.NONE, r.perceptual_hash)]:
            owner.append(k)
            turns.append(turn)
            hashes.append(h)
    bits = _bits(hashes)
    td = _distances(bits, bits)
    own = np.array(owner)
    n = len(records)
    best = np.full((n, n), 99, dtype=np.int32)
    arg: dict[tuple[int, int], tuple[Turn, Turn]] = {}
    for x, y in zip(*np.nonzero(td <= loose), strict=True):
        i, j = own[x], own[y]
        if i < j and td[x, y] < best[i, j]:
            best[i, j] = td[x, y]
            arg[(i, j)] = (turns[x], turns[y])
    out = []
    near = (np.minimum(up, best) <= loose) & np.triu(np.ones((n, n), dtype=bool), 1)
    for i, j in zip(*np.nonzero(near), strict=True):
        if records[i].content_hash == records[j].content_hash:
            continue  # exact copies: one node in the engine, never verified
        out.append(
            Candidate(int(i), int(j), int(up[i, j]), int(best[i, j]), arg.get((i, j), (0, 0)))
        )
    return out


# --- stage 2: the verifier -----------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    median_block: float  # median band-pass correlation of 6 x 6 blocks


def verify(a: Image.Image, b: Image.Image) -> Verdict:
    """How well ``b`` matches ``a`` or a region of it (or the other way round), in fine detail.

    The engine's ``verify.crop_similarity``, ported from this prototype (same scores): first
    the two as they are (scale +-2 %, shift +-3 px at 160 px); only if that is not clearly a
    match, the coarse crop search (scale 0.78-1 at 64 px), then the same fine check at its best
    placement.
    """
    return Verdict(crop_similarity(np.asarray(a), np.asarray(b)))


def pair_images(
    smalls: dict[str, Image.Image],
    records: Sequence[ImageRecord],
    c: Candidate,
    loose: int,
    turned: dict[tuple[str, Turn], Image.Image],
) -> list[tuple[Image.Image, Image.Image]]:
    """The candidate's pictures in each orientation where its hashes came within ``loose``."""
    na, nb = records[c.i].path.name, records[c.j].path.name
    out = []
    if c.upright <= loose:
        out.append((smalls[na], smalls[nb]))
    if c.turned <= loose and c.turns != (Turn.NONE, Turn.NONE):
        pair = []
        for name, turn in ((na, c.turns[0]), (nb, c.turns[1])):
            if (name, turn) not in turned:
                turned[(name, turn)] = apply_turn(smalls[name], turn)
            pair.append(turned[(name, turn)])
        out.append((pair[0], pair[1]))
    return out


def verify_all(
    smalls: dict[str, Image.Image],
    records: Sequence[ImageRecord],
    cands: Sequence[Candidate],
    loose: int,
) -> tuple[dict[tuple[int, int], Verdict], float]:
    """Best verdict per candidate pair (by median block correlation); seconds spent."""
    out: dict[tuple[int, int], Verdict] = {}
    turned: dict[tuple[str, Turn], Image.Image] = {}
    started = time.perf_counter()
    for c in cands:
        verdicts = [verify(a, b) for a, b in pair_images(smalls, records, c, loose, turned)]
        out[(c.i, c.j)] = max(verdicts, key=lambda v: v.median_block)
    return out, time.perf_counter() - started


# --- grouping and scoring ------------------------------------------------------------------------


def leader_groups(records: Sequence[ImageRecord], edges: set[tuple[int, int]]) -> list[list[str]]:
    """Groups as the engine makes them: exact copies are one node; nodes best copy first; each
    ungrouped node becomes a reference and takes the ungrouped nodes it has an accepted pair
    with (no chaining)."""
    node: dict[bytes, int] = {}
    for k, r in enumerate(records):
        node.setdefault(r.content_hash, k)
    members: dict[int, list[int]] = {}
    for k, r in enumerate(records):
        members.setdefault(node[r.content_hash], []).append(k)
    near: dict[int, set[int]] = {}
    for i, j in edges:
        a, b = node[records[i].content_hash], node[records[j].content_hash]
        if a != b:
            near.setdefault(a, set()).add(b)
            near.setdefault(b, set()).add(a)
    order = sorted(members, key=lambda k: best_first_key(records[k]))
    grouped: set[int] = set()
    groups = []
    for ref in order:
        if ref in grouped:
            continue
        taken = [ref] + [k for k in order if k in near.get(ref, ()) and k not in grouped]
        grouped.update(taken)
        names = [records[m].path.name for k in taken for m in members[k]]
        if len(names) > 1:
            groups.append(names)
    return groups


@dataclass(frozen=True)
class Setting:
    loose: int  # stage-1 distance for candidates (upright or turned)
    certain: int  # upright distance accepted without stage 2 (-1: verify all)
    accept: float  # stage 2: median block correlation needed (2.0: stage 2 off, hashes only)

    @property
    def label(self) -> str:
        if self.accept > 1:
            return f"hashes only, turned <= {self.loose}"
        check = "verify all" if self.certain < 0 else f"<= {self.certain} certain"
        return f"<= {self.loose}, {check}, accept {self.accept:.2f}"


def run_setting(
    records: Sequence[ImageRecord],
    cands: Sequence[Candidate],
    verdicts: dict[tuple[int, int], Verdict],
    s: Setting,
    truth: Truth,
) -> tuple[Score, int]:
    """Score of one setting, and how many pairs its stage 2 checks."""
    edges, checked = set(), 0
    for c in cands:
        if min(c.upright, c.turned) > s.loose:
            continue
        if s.accept > 1 or c.upright <= s.certain:
            edges.add((c.i, c.j))
            continue
        checked += 1
        if verdicts[(c.i, c.j)].median_block >= s.accept:
            edges.add((c.i, c.j))
    groups = leader_groups(records, edges)
    return score(truth, group_pairs(groups), groups), checked


# --- report --------------------------------------------------------------------------------------

TRANSFORMS = ["crop_5", "crop_10", "crop_20", "watermark", "text_overlay", "screenshot"]
TURNS = ["rotate_90", "rotate_180", "rotate_270", "mirror", "flip"]


def summary(rows: list[tuple[Setting, Score, int]]) -> str:
    head = (
        "| setting | checked | P | R | F1 | purity | burst | tiles | worst required |"
        + "".join(f" {t} |" for t in TRANSFORMS)
        + " turns min |\n|"
        + "---|" * (10 + len(TRANSFORMS))
    )
    lines = [head]
    for s, sc, checked in rows:
        worst, wr = sc.worst_required()
        cells = "".join(f" {sc.copy_recall[t]:.2f} |" for t in TRANSFORMS)
        turns = min(sc.copy_recall[t] for t in TURNS)
        lines.append(
            f"| {s.label} | {checked} | {sc.precision:.3f} | {sc.recall:.3f} | {sc.f1:.3f}"
            f" | {sc.purity:.3f} | {sc.hard_negatives['burst']} | {sc.hard_negatives['tile']}"
            f" | {wr:.2f} {worst} |{cells} {turns:.2f} |"
        )
    return "\n".join(lines)


def unrelated(records: Sequence[ImageRecord], cands: Sequence[Candidate], truth: Truth) -> str:
    """Candidates between different photographs, per loose threshold, and per 100k photos."""
    ent = truth.entries
    names = [r.path.name for r in records]
    photo = [ent[n]["original"] for n in names]
    total = sum(
        1 for i in range(len(names)) for j in range(i + 1, len(names)) if photo[i] != photo[j]
    )
    lines = [f"unrelated pairs in the corpus: {total}"]
    for loose in (8, 12, 16, 20):
        near = [c for c in cands if min(c.upright, c.turned) <= loose and photo[c.i] != photo[c.j]]
        sources = {
            tuple(sorted((photo[c.i].split("~")[0], photo[c.j].split("~")[0]))) for c in near
        }
        share = len(near) / total
        lines.append(
            f"<= {loose}: {len(near)} unrelated candidates ({share:.2e} of unrelated pairs, from"
            f" {len(sources)} source-photo pairs) -> {share * 100_000 * 99_999 / 2:,.0f} per 100k"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--loose", type=int, default=20, help="widest stage-1 distance tried")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/verify-stage"))
    args = parser.parse_args()
    os.environ.setdefault("DEDUP_GUI_PLUGINS", "pillow_heif.HeifImagePlugin")
    truth = Truth.load(args.corpus)
    args.cache.mkdir(exist_ok=True)
    records, smalls = load(args.corpus, args.cache / "records.pkl")
    cands = candidates(records, args.loose)
    verdict_file = args.cache / f"verdicts-{args.loose}.pkl"
    if verdict_file.exists():
        verdicts, secs = pickle.loads(verdict_file.read_bytes())
    else:
        verdicts, secs = verify_all(smalls, records, cands, args.loose)
        verdict_file.write_bytes(pickle.dumps((verdicts, secs)))
    print(
        f"{len(cands)} candidates <= {args.loose}; verified all in {secs:.0f} s,"
        f" {1000 * secs / len(cands):.1f} ms per pair (1 process)"
    )
    settings = [Setting(8, 8, 2.0), Setting(10, 10, 2.0)]
    for loose in (16, args.loose):
        for certain in (8, -1):
            settings += [Setting(loose, certain, a) for a in (0.8, 0.85, 0.9)]
    rows = [(s, *run_setting(records, cands, verdicts, s, truth)) for s in settings]
    print(summary(rows))
    print(unrelated(records, cands, truth))


if __name__ == "__main__":
    main()
