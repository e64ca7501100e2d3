"""Time the responses-cell check alone on generated files in each spelling of the cell.

Writes one raw file per spelling with the project's generator (cached in the work folder),
reads it in the build's batches and times :func:`builder.responses_cell.check` on them, the
only step timed. Prints, per spelling, the check's seconds, the cells that disagree and the
spellings the check found.

    python benchmarks/bench_responses_cell.py [--workdir /tmp/ca-cells] [--conversations 20000]

Not a test: it writes a few hundred MB and takes a few minutes the first time.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder import raw, responses_cell  # noqa: E402
from builder.generate import GeneratorConfig, generate  # noqa: E402
from builder.generate.spellings import RESPONSES_SPELLINGS  # noqa: E402

SPELLINGS = {
    "ours (blank line)": {},
    **{name: {"responses_spelling": (name,)} for name in RESPONSES_SPELLINGS},
    "all six at once": {"responses_spelling": tuple(RESPONSES_SPELLINGS)},
    "one_newline, 5% shuffled": {
        "responses_spelling": ("one_newline",),
        "responses_shuffled_rate": 0.05,
    },
    "1% missing a block": {"responses_missing_block_rate": 0.01},
    "every cell shuffled": {"responses_shuffled_rate": 1.0},
}


def time_check(path: Path) -> tuple[float, int, Counter]:
    """Seconds spent in the check over the whole file, cells that disagree, spellings found."""
    header = raw.check_header(path)
    seconds, disagree, spellings = 0.0, 0, Counter()
    for table, first_row in raw.tables(path, header):
        frame = raw.frame(table, first_row, path)
        start = time.perf_counter()
        found = responses_cell.check(frame)
        seconds += time.perf_counter() - start
        disagree += sum(found.mismatches.values())
        spellings.update(found.spellings)
    return seconds, disagree, spellings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ca-cells"))
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--only", help="comma-separated spellings (names as printed)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    chosen = args.only.split(",") if args.only else list(SPELLINGS)
    print("| spelling | check (s) | cells disagreeing | spellings found (cells) |")
    print("|---|---:|---:|---|")
    for name in chosen:
        slug = "".join(c if c.isalnum() else "_" for c in name)
        path = args.workdir / f"{slug}-{args.conversations}.csv"
        if not path.exists():
            config = GeneratorConfig(conversations=args.conversations, seed=0, **SPELLINGS[name])
            generate(path, config)
        seconds, disagree, spellings = time_check(path)
        found = "; ".join(f"`{label}`: {n:,}" for label, n in spellings.most_common())
        print(f"| {name} | {seconds:.2f} | {disagree:,} | {found} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
