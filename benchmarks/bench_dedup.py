"""How much of a rebuilt release a Xet-backed Hub repository would already hold, with and
without Parquet content-defined chunking.

Run from the checkout: ``python benchmarks/bench_dedup.py [--conversations 6000] [--drop 5]``.

It generates a raw file, drops a few records from near its start (a correction of the raw
file), builds both files twice (once as the builder writes, once with pyarrow's
``use_content_defined_chunking``) and, for each table, cuts the files of both builds into
content-defined chunks the way Xet storage does (a gear hash; 8-128 KiB, about 64 KiB on
average) and reports the share of the second build's bytes in chunks the first already has.
The chunker is a model of Xet's, not Xet itself. (What chunking cost in time was measured on
full-scale builds with it and without: see ``builder/release.py``.)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder import release  # noqa: E402
from builder.build import build  # noqa: E402
from builder.generate import GeneratorConfig, generate  # noqa: E402

GEAR = np.random.default_rng(12345).integers(0, 2**64 - 1, size=256, dtype=np.uint64)
BOUNDARY = np.uint64(0xFFFF) << np.uint64(48)  # 16 bits: a boundary every ~64 KiB
SMALLEST, LARGEST = 8 << 10, 128 << 10


def chunks(data: bytes) -> list[bytes]:
    """Content-defined chunks: a gear hash over the last 64 bytes, cut where its top 16 bits
    are zero, no chunk under SMALLEST or over LARGEST bytes."""
    gears = GEAR[np.frombuffer(data, dtype=np.uint8)]
    hashes = np.zeros(len(gears), dtype=np.uint64)
    for k in range(64):  # hash_i = sum over k of gear(byte_{i-k}) << k
        hashes[k:] += gears[: len(gears) - k] << np.uint64(k)
    candidates = np.flatnonzero((hashes & BOUNDARY) == 0)
    cut, start = [], 0
    while start < len(data):
        after = np.searchsorted(candidates, start + SMALLEST)
        end = start + LARGEST
        if after < len(candidates) and candidates[after] < end:
            end = candidates[after] + 1
        cut.append(data[start : min(end, len(data))])
        start = min(end, len(data))
    return cut


def already_held(first: list[Path], second: list[Path]) -> tuple[float, int]:
    """The share of the second files' bytes in chunks that the first files have, and their size."""
    held = {hashlib.sha256(c).digest() for path in first for c in chunks(path.read_bytes())}
    total = shared = 0
    for path in second:
        for chunk in chunks(path.read_bytes()):
            total += len(chunk)
            shared += len(chunk) if hashlib.sha256(chunk).digest() in held else 0
    return shared / max(total, 1), total


def without_records(source: Path, target: Path, first: int, count: int) -> None:
    csv.field_size_limit(sys.maxsize)
    with (
        open(source, newline="", encoding="utf-8") as inp,
        open(target, "w", newline="", encoding="utf-8") as out,
    ):
        writer = csv.writer(out, lineterminator="\n")
        for number, record in enumerate(csv.reader(inp)):
            if not first <= number < first + count:
                writer.writerow(record)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=6000)
    parser.add_argument("--drop", type=int, default=5, help="records dropped after the 20th")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        before, after = work / "before.csv", work / "after.csv"
        generate(before, GeneratorConfig(conversations=args.conversations, seed=0))
        without_records(before, after, 21, args.drop)
        plain = release.ShardWriter.OPTIONS
        chunked = {**plain, "use_content_defined_chunking": True}
        print("| writer | table | MB | already held |\n|---|---|---:|---:|")
        for label, options in (("as built", plain), ("content-defined chunking", chunked)):
            release.ShardWriter.OPTIONS = options
            for raw in (before, after):
                build(raw, work / f"{label}-{raw.stem}")
            for table in ("comparisons", "pairs", "conversations"):
                first = sorted((work / f"{label}-before" / "data" / table).rglob("*.parquet"))
                second = sorted((work / f"{label}-after" / "data" / table).rglob("*.parquet"))
                share, size = already_held(first, second)
                print(f"| {label} | {table} | {size / 1e6:.1f} | {share:.0%} |")
        release.ShardWriter.OPTIONS = plain
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
