"""What a user downloads: a release's bytes per config and table beside the raw file's, and
what ``pairs`` costs by repeating each comparison's context once per rejected candidate.

    python benchmarks/bench_sizes.py RELEASE RAW

Reads the release's Parquet files (their sizes and footers) only; ``bench_build.py`` runs it on
the release it builds from text that compresses like real text.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from community_alignment import contract  # noqa: E402

MIB = 2**20


def column_bytes(files: list[Path]) -> Counter:
    """Compressed bytes of each top-level column over the files' row groups."""
    sizes: Counter = Counter()
    for path in files:
        metadata = pq.read_metadata(path)
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for i in range(row_group.num_columns):
                column = row_group.column(i)
                sizes[column.path_in_schema.split(".")[0]] += column.total_compressed_size
    return sizes


def report(release: Path, raw: Path) -> list[str]:
    """Markdown lines: each config's files (MiB, rows, share of the raw file's bytes), and the
    columns that make ``pairs`` larger than ``comparisons``."""
    raw_bytes = raw.stat().st_size
    lines = [
        f"Raw file: {raw_bytes / MIB:,.0f} MiB. Default config: `{contract.default_config()}`.",
        "",
        "| config | files | MiB | rows | x raw |",
        "|---|---:|---:|---:|---:|",
    ]
    files_of: dict[str, list[Path]] = {}
    for config in contract.config_names():
        files = sorted(release.glob(contract.config_glob(config)))
        if not files:
            continue
        files_of[config] = files
        size = sum(f.stat().st_size for f in files)
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        lines.append(
            f"| {config} | {len(files)} | {size / MIB:,.1f} | {rows:,} | {size / raw_bytes:.3f} |"
        )
    comparisons, pairs = files_of.get("comparisons"), files_of.get("pairs")
    if comparisons and pairs:
        rows_c = sum(pq.read_metadata(f).num_rows for f in comparisons)
        rows_p = sum(pq.read_metadata(f).num_rows for f in pairs)
        of_c, of_p = column_bytes(comparisons), column_bytes(pairs)
        lines += [
            "",
            f"`pairs` has {rows_p / rows_c:.2f} rows per comparison (only comparisons whose "
            "context is complete, one row per rejected candidate). Its columns, compressed, "
            "beside the comparisons' columns that hold the same text:",
            "",
            "| pairs column | MiB | holds | comparisons column | MiB |",
            "|---|---:|---|---|---:|",
            f"| prompt | {of_p['prompt'] / MIB:,.1f} | context and this turn's prompt, once per "
            f"rejected candidate | context + prompt | "
            f"{(of_c['context'] + of_c['prompt']) / MIB:,.1f} |",
            f"| chosen + rejected | {(of_p['chosen'] + of_p['rejected']) / MIB:,.1f} | two of "
            f"the four candidates | responses | {of_c['responses'] / MIB:,.1f} |",
            f"| every other column | "
            f"{(sum(of_p.values()) - of_p['prompt'] - of_p['chosen'] - of_p['rejected']) / MIB:,.1f}"
            f" | ids, demographics | every other column | "
            f"{(sum(of_c.values()) - of_c['context'] - of_c['prompt'] - of_c['responses']) / MIB:,.1f} |",
        ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("release", type=Path)
    parser.add_argument("raw", type=Path)
    args = parser.parse_args()
    if not (args.release / contract.manifest_name()).is_file():
        raise SystemExit(f"{args.release}: not a release folder (no {contract.manifest_name()})")
    print("\n".join(report(args.release, args.raw)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
