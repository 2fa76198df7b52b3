"""Pair-level precision / recall / F1, per-transform recall and group purity against a manifest."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

# Transforms the targets exempt from "recall >= 0.9": crops over 10 % and screenshots.
EXEMPT = frozenset({"crop_20", "screenshot"})
NEGATIVE_KINDS = ("burst", "tile")


@dataclass
class Truth:
    """The manifest: which files show the same photograph, and the hard-negative pairs."""

    entries: dict[str, dict]

    @classmethod
    def load(cls, corpus: Path) -> Truth:
        return cls(json.loads((corpus / "manifest.json").read_text()))

    def original_file(self) -> dict[str, str]:
        return {e["original"]: n for n, e in self.entries.items() if e["transform"] == "original"}

    def transforms(self) -> list[str]:
        seen = dict.fromkeys(e["transform"] for e in self.entries.values())
        return [t for t in seen if t not in ("original", *NEGATIVE_KINDS)]

    def positives(self) -> int:
        sizes = Counter(e["original"] for e in self.entries.values())
        return sum(n * (n - 1) // 2 for n in sizes.values())

    def hard_negative_pairs(self, kind: str) -> set[tuple[str, str]]:
        # A negative of a photo is paired with that photo's original file, not any copy.
        by_id = {e["original"]: n for n, e in self.entries.items()} | self.original_file()
        pairs = set()
        for name, e in self.entries.items():
            if e["transform"] == kind:
                for other in e["is_negative_of"]:
                    pairs.add(tuple(sorted((name, by_id[other]))))
        return pairs


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    copy_recall: dict[str, float]  # transform -> share of copies found with their original
    copy_fp: dict[str, int] = field(default_factory=dict)  # transform -> false pairs with it
    purity: float = 1.0
    hard_negatives: dict[str, str] = field(default_factory=dict)  # kind -> "called/total"
    orig_copy_f1: float = 0.0

    def worst_required(self) -> tuple[str, float]:
        rows = [(r, t) for t, r in self.copy_recall.items() if t not in EXEMPT]
        recall, transform = min(rows)
        return transform, recall


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score(truth: Truth, pairs: Iterable[tuple[str, str]], groups: Sequence[Sequence[str]]) -> Score:
    """Score predicted ``pairs`` (file names) and ``groups`` (for purity) against ``truth``."""
    ent = truth.entries
    tp = fp = 0
    copy_fp: Counter[str] = Counter()
    predicted: set[tuple[str, str]] = set()
    for a, b in pairs:
        ea, eb = ent[a], ent[b]
        if ea["ignore_against"] == eb["original"] or eb["ignore_against"] == ea["original"]:
            continue  # a tile or burst frame against the photo it was cut from
        predicted.add((a, b) if a < b else (b, a))
        if ea["original"] == eb["original"]:
            tp += 1
        else:
            fp += 1
            copy_fp[ea["transform"]] += 1
            copy_fp[eb["transform"]] += 1
    positives = truth.positives()
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else 1.0
    originals = truth.original_file()
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    oc_fp = 0
    for name, e in ent.items():
        if e["transform"] in ("original", *NEGATIVE_KINDS):
            continue
        total[e["transform"]] += 1
        orig = originals[e["original"]]
        found[e["transform"]] += (min(name, orig), max(name, orig)) in predicted
    oc_total, oc_found = sum(total.values()), sum(found.values())
    oc_fp = fp  # any false pair also costs the original-copy view
    oc_p = oc_found / (oc_found + oc_fp) if oc_found + oc_fp else 1.0
    hard = {}
    for kind in NEGATIVE_KINDS:
        neg = truth.hard_negative_pairs(kind)
        hard[kind] = f"{len(neg & predicted)}/{len(neg)}"
    return Score(
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        copy_recall={t: found[t] / total[t] for t in truth.transforms()},
        copy_fp={t: copy_fp[t] for t in truth.transforms()},
        purity=purity(truth, groups),
        hard_negatives=hard,
        orig_copy_f1=_f1(oc_p, oc_found / oc_total if oc_total else 1.0),
    )


def purity(truth: Truth, groups: Sequence[Sequence[str]]) -> float:
    """Share of grouped files that belong to their group's majority photograph."""
    grouped = sum(len(g) for g in groups)
    if not grouped:
        return 1.0
    majority = sum(
        Counter(truth.entries[n]["original"] for n in g).most_common(1)[0][1] for g in groups
    )
    return majority / grouped


def group_pairs(groups: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    return [pair for g in groups for pair in combinations(sorted(g), 2)]


def components(names: Iterable[str], pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Connected components of a pair list (how a pairwise tool's output reads as groups)."""
    parent = {n: n for n in names}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    comps: dict[str, list[str]] = {}
    for n in parent:
        comps.setdefault(find(n), []).append(n)
    return [c for c in comps.values() if len(c) > 1]
