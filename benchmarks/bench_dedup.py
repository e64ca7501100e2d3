"""How much of a rebuilt release a Xet-backed Hub repository would already hold: row groups
cut every N rows, or where the conversation ids' hashes say, and Parquet content-defined
chunking on top.

Run from the checkout: ``python benchmarks/bench_dedup.py [--conversations 6000] [--drop 5]``.

It generates a raw file, drops a few records from near its start (a correction of the raw
file), builds both files once per way of writing (row groups every ``rows_per_row_group``
rows; content-defined row groups as ``schema/release.yaml`` says, as the builder writes; those
and pyarrow's ``use_content_defined_chunking``) and, for each table, cuts the files of both
builds into content-defined chunks the way Xet storage does (a gear hash; 8-128 KiB, about
64 KiB on average) and reports the share of the second build's bytes in chunks the first
already has, and each build's time (whole, and its tables step, which writes the files).
The chunker is a model of Xet's, not Xet itself.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder import release  # noqa: E402
from builder.build import build  # noqa: E402
from builder.generate import GeneratorConfig, generate  # noqa: E402
from community_alignment import schema  # noqa: E402

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


VARIANTS = {  # how the release's files are written: row groups, and pyarrow's writer options
    "row groups every N rows": (False, {}),
    "content-defined row groups (as built)": (True, {}),
    "content-defined row groups + Parquet CDC": (True, {"use_content_defined_chunking": True}),
}
TABLES = ("comparisons", "pairs", "conversations")


def build_timed(raw: Path, out: Path) -> tuple[float, float]:
    """Build, and return its wall time and its tables step's (the step that writes the files)."""
    start = time.perf_counter()
    build(raw, out)
    seconds = json.loads((out.parent / f"{out.name}.build" / "report.json").read_text())["seconds"]
    tables = next(v for k, v in seconds.items() if k.startswith("tables"))
    return time.perf_counter() - start, tables


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=6000)
    parser.add_argument("--drop", type=int, default=5, help="records dropped after the 20th")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--raw", type=Path, help="a raw file to start from, instead of generating")
    parser.add_argument(
        "--writers", default=",".join(VARIANTS), help="which ways of writing, comma-separated"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        work = Path(folder)
        before, after = work / "before.csv", work / "after.csv"
        if args.raw:
            before = args.raw
        else:
            generate(before, GeneratorConfig(conversations=args.conversations, seed=0))
        without_records(before, after, 21, args.drop)
        plain, cuts = (
            release.ShardWriter.OPTIONS,
            {t: schema.table(t).get("row_groups") for t in TABLES},
        )
        rows = []
        for label in args.writers.split(","):
            content_defined, options = VARIANTS[label]
            release.ShardWriter.OPTIONS = {**plain, **options}
            for table in TABLES:
                schema.table(table)["row_groups"] = cuts[table] if content_defined else None
            timings = [
                build_timed(raw, work / f"{label}-{n}") for n, raw in enumerate((before, after))
            ]
            shares = {}
            for table in TABLES:
                first = sorted((work / f"{label}-0" / "data" / table).rglob("*.parquet"))
                second = sorted((work / f"{label}-1" / "data" / table).rglob("*.parquet"))
                shares[table] = already_held(first, second)
            held = sum(share * size for share, size in shares.values())
            total = sum(size for _, size in shares.values())
            rows.append((label, shares, held / total, total, timings))
        release.ShardWriter.OPTIONS = plain
        for table in TABLES:
            schema.table(table)["row_groups"] = cuts[table]
    source = args.raw.name if args.raw else f"{args.conversations:,} generated conversations"
    print(f"{source}, {args.drop} raw records removed\n")
    print("| writer | " + " | ".join(TABLES) + " | all three | MB | build s | tables step s |")
    print("|---|" + "---:|" * (len(TABLES) + 4))
    for label, shares, overall, total, timings in rows:
        cells = " | ".join(f"{shares[t][0]:.0%}" for t in TABLES)
        build_s = " / ".join(f"{b:.1f}" for b, _ in timings)
        tables_s = " / ".join(f"{t:.1f}" for _, t in timings)
        print(f"| {label} | {cells} | {overall:.0%} | {total / 1e6:.1f} | {build_s} | {tables_s} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
