"""Speed of "do I already have this photo?" against a big library: index load and queries.

Usage: python benchmarks/bench_query.py [--size 100000] [--queries 1 10 100 1000] [--repeat 5]

The library is synthetic (no images): --size ImageRecords with the random-plus-clusters hashes
of bench_grouping, written to a real store file with put_records. Queries are a third exact
copies (same content), a third near copies (0-6 bits flipped) and a third new photos. Timed:
``LibraryIndex.load`` (one SQL query, hashes packed once) and ``LibraryIndex.find`` for each
query count, first call and the median of --repeat more (the first one builds bucket tables a
big query needs, once per index). For comparison, the other way the query could be run with
the scan's self-join: ``find_candidate_pairs`` on library + queries, keeping the cross pairs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_grouping import make_hashes, make_records
from dedup_gui.core.hamming import find_candidate_pairs
from dedup_gui.core.model import HashSettings, ImageRecord
from dedup_gui.core.query import LibraryIndex
from dedup_gui.core.store import open_store

SETTINGS = HashSettings()


def make_queries(library: list[ImageRecord], count: int, seed: int) -> list[ImageRecord]:
    rng = np.random.default_rng(seed)
    queries = []
    for k in range(count):
        source = library[int(rng.integers(len(library)))]
        content = rng.bytes(16)
        if k % 3 == 0:  # an exact copy: same bytes
            perceptual, content = source.perceptual_hash, source.content_hash
        elif k % 3 == 1:  # a re-encode or resize: a few bits off
            bits = np.unpackbits(np.frombuffer(source.perceptual_hash, np.uint8))
            bits[rng.choice(64, int(rng.integers(0, 7)), replace=False)] ^= 1
            perceptual = np.packbits(bits).tobytes()
        else:  # a new photo
            perceptual = rng.bytes(8)
        queries.append(
            ImageRecord(
                Path(f"/card/{seed}-{k}.jpg"),
                2_000_000,
                0,
                content,
                perceptual,
                4000,
                3000,
                "JPEG",
                None,
            )
        )
    return queries


def _time(fn: object, repeat: int) -> tuple[float, float]:
    """(first call, median of ``repeat`` more) in milliseconds."""
    assert callable(fn)
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return first * 1e3, statistics.median(runs) * 1e3 if runs else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--distance", type=int, default=8)
    options = parser.parse_args()

    hashes = make_hashes(options.size)
    library = make_records(hashes)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "library.sqlite3"
        started = time.perf_counter()
        with open_store(db) as store:
            for at in range(0, len(library), 5000):
                store.put_records(library[at : at + 5000], SETTINGS)
        print(f"library: {options.size:,} records written in {time.perf_counter() - started:.1f} s")

        with open_store(db) as store:
            started = time.perf_counter()
            index = LibraryIndex.load(store, SETTINGS)
            load_s = time.perf_counter() - started
        print(f"LibraryIndex.load: {load_s * 1e3:.0f} ms ({len(index):,} photos)\n")

        print(f"{'queries':>8} {'found':>6} {'first ms':>9} {'median ms':>10} {'self-join ms':>13}")
        for count in options.queries:
            queries = make_queries(library, count, seed=count)
            groups = index.find(queries, options.distance)
            found = sum(len(g.members) > 1 for g in groups)
            first, median = _time(lambda q=queries: index.find(q, options.distance), options.repeat)
            join = _self_join_ms(hashes, queries, options.distance) if count <= 100 else None
            join_text = f"{join:13.0f}" if join is not None else f"{'-':>13}"
            print(f"{count:8d} {found:6d} {first:9.1f} {median:10.1f} {join_text}")


def _self_join_ms(hashes: np.ndarray, queries: list[ImageRecord], distance: int) -> float:
    """The alternative: the scan's all-pairs search over library + queries, cross pairs kept."""
    asked = np.frombuffer(b"".join(q.perceptual_hash for q in queries), np.uint8).reshape(-1, 8)
    started = time.perf_counter()
    i, j, _ = find_candidate_pairs(np.concatenate([hashes, asked]), distance)
    _ = (i < len(hashes)) & (j >= len(hashes))
    return (time.perf_counter() - started) * 1e3


if __name__ == "__main__":
    main()
