"""Full-scale benchmark of the release pipeline: build, validate, load, analyse, in bounded memory.

Generates raw files in the exact raw layout with the project's generator (outside the repo),
then runs every stage in a process of its own and reads its wall time and peak memory
(``ru_maxrss`` of that process). Prints one table with each stage's ratio to the one-pass
floor measured in the same run (polars: CSV to Parquet, all text, bounded row groups) and
writes it to ``benchmarks/RESULTS.md`` with the machine it ran on. The build also runs at other
scales, and at full scale on text that compresses like real text (``random_words``).

    python benchmarks/bench_build.py [--workdir /tmp/ca-bench] [--scales 0.25,0.5,1,2]

Not a test: it takes several minutes and several GB of disk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL_SCALE = 90_256  # conversations in the real v1.1 file

STAGES = {
    "floor": """
import polars as pl
from community_alignment import schema
columns = {c: pl.String for c in schema.raw_column_names()}
pl.scan_csv(RAW, schema=columns).sink_parquet(WORK + "/floor.parquet", row_group_size=10_000)
""",
    "build": """
from builder.build import build
build(RAW, RELEASE)
""",
    "validate": """
from builder.validate import validate
report = validate(RELEASE, load=False)
assert report.ok, report.render()
""",
    "load_dataset": """
import datasets, tempfile
datasets.disable_progress_bars()
with tempfile.TemporaryDirectory(dir=WORK) as cache:
    datasets.load_dataset(RELEASE, "comparisons", cache_dir=cache, verification_mode="all_checks")
""",
    "csv_loader": """
import datasets, tempfile
datasets.disable_progress_bars()
with tempfile.TemporaryDirectory(dir=WORK) as cache:
    datasets.load_dataset("csv", data_files=RAW, cache_dir=cache)
""",
    "describe": """
from community_alignment.describe import describe
describe(RELEASE)
""",
    "alpha": """
from community_alignment.agreement import agreement
agreement(RELEASE)
""",
    "bootstrap_by_country": """
from community_alignment.agreement import agreement
agreement(RELEASE, by="country", n_resamples=1000)
""",
}

PRELUDE = """
import json, resource, sys, time
sys.path.insert(0, ROOT)
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run_stage(name: str, raw: Path, release: Path, work: Path) -> dict:
    """Run one stage in a fresh process; its own clock excludes interpreter start-up."""
    constants = (
        f"ROOT={str(ROOT)!r}\nRAW={str(raw)!r}\nRELEASE={str(release)!r}\nWORK={str(work)!r}\n"
    )
    code = constants + PRELUDE.format(body=STAGES[name])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"stage {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


REPEATED = {"floor", "build"}  # the two stages the target compares: noisy to a second


def median_run(results: list[dict]) -> dict:
    return sorted(results, key=lambda r: r["seconds"])[len(results) // 2]


def raw_file(work: Path, scale: float, random_words: bool = False) -> Path:
    conversations = round(FULL_SCALE * scale)
    path = work / f"raw-{conversations}{'-random-words' if random_words else ''}.csv"
    if not path.exists():
        print(f"generating {conversations:,} conversations -> {path}", flush=True)
        from builder.generate import GeneratorConfig, generate

        generate(
            path, GeneratorConfig(conversations=conversations, seed=0, random_words=random_words)
        )
    return path


def zstd_ratio(data: bytes) -> float:
    """How much zstd (level 3) shrinks ``data``."""
    import pyarrow

    return len(data) / len(pyarrow.compress(data, codec="zstd", asbytes=True))


def compressibility(path: Path, sample: int = 64 << 20, rows: int = 5_000) -> tuple[float, float]:
    """zstd's ratio on the raw file's first ``sample`` bytes, and on the candidates' text of its
    first ``rows`` rows."""
    import polars as pl

    from builder.clean import response_columns
    from community_alignment import schema

    with path.open("rb") as f:
        head = f.read(sample)
    columns = [c for _, prefix in schema.turn_prefixes() for c in response_columns(prefix)]
    frame = pl.read_csv(path, n_rows=rows, columns=columns, infer_schema=False)
    text = "\n".join(v for c in columns for v in frame[c].drop_nulls()).encode()
    return zstd_ratio(head), zstd_ratio(text)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import polars
    import pyarrow

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}, polars {polars.__version__}, "
        f"pyarrow {pyarrow.__version__}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ca-bench"))
    parser.add_argument("--scales", default="0.25,0.5,1,2")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the floor and the build")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    full = raw_file(work, 1.0)
    release = work / "release"
    size_mb = full.stat().st_size / 2**20

    rows = []
    for stage in STAGES:
        runs = args.repeat if stage in REPEATED else 1
        print(f"running {stage} ({runs}x) ...", flush=True)
        results = [run_stage(stage, full, release, work) for _ in range(runs)]
        rows.append((stage, median_run(results), results))
    floor = rows[0][1]["seconds"]

    scaling = []
    for scale in [float(s) for s in args.scales.split(",")]:
        raw = raw_file(work, scale)
        print(f"build at {scale}x ...", flush=True)
        result = run_stage("build", raw, work / f"release-{scale}", work)
        scaling.append((scale, raw.stat().st_size / 2**20, result))
        shutil.rmtree(work / f"release-{scale}", ignore_errors=True)
        shutil.rmtree(work / f"release-{scale}.build", ignore_errors=True)

    # the generated candidates compress about 16x, real text about 3x: the same build on text
    # whose words are drawn at random (GeneratorConfig.random_words), which compresses like it
    varied = raw_file(work, 1.0, random_words=True)
    real_like = []
    for stage in ("floor", "build"):
        print(f"{stage} on text that compresses like real text ...", flush=True)
        real_like.append((stage, run_stage(stage, varied, work / "release-random-words", work)))
    shutil.rmtree(work / "release-random-words", ignore_errors=True)
    shutil.rmtree(work / "release-random-words.build", ignore_errors=True)

    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}.",
        f"Input: {FULL_SCALE:,} generated conversations, {size_mb:,.0f} MiB of raw CSV "
        f"(`benchmarks/bench_build.py`, {time.strftime('%Y-%m-%d')}).",
        "",
        f"The floor and the build ran {args.repeat} times each; the table shows the run with "
        "the median time, and every run's seconds / peak MiB.",
        "",
        "| stage | seconds | x floor | peak memory (MiB) | runs |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {stage} | {r['seconds']:.2f} | {r['seconds'] / floor:.1f} | {r['peak_mb']:,.0f} | "
        + ", ".join(f"{x['seconds']:.2f} s / {x['peak_mb']:,.0f}" for x in runs)
        + " |"
        for stage, r, runs in rows
    ]
    lines += ["", "Build at other scales:", "", "| scale | raw MiB | seconds | peak memory (MiB) |",
              "|---:|---:|---:|---:|"]  # fmt: skip
    lines += [
        f"| {scale}x | {mb:,.0f} | {r['seconds']:.2f} | {r['peak_mb']:,.0f} |"
        for scale, mb, r in scaling
    ]
    varied_floor = real_like[0][1]["seconds"]
    (plain_file, plain_text), (varied_file, varied_text) = map(compressibility, (full, varied))
    lines += ["", "The same scale, text that compresses like real text (about 3x; "
              "`GeneratorConfig.random_words`). zstd shrinks the file's first 64 MiB "
              f"{varied_file:.1f}x (the other file's: {plain_file:.1f}x) and its candidates' "
              f"text {varied_text:.1f}x (the other's: {plain_text:.1f}x); a row holds its "
              "candidates twice, in their columns and in the turn's responses cell.", "",
              "| stage | raw MiB | seconds | x its floor | peak memory (MiB) |",
              "|---|---:|---:|---:|---:|"]  # fmt: skip
    lines += [
        f"| {stage} | {varied.stat().st_size / 2**20:,.0f} | {r['seconds']:.2f} | "
        f"{r['seconds'] / varied_floor:.1f} | {r['peak_mb']:,.0f} |"
        for stage, r in real_like
    ]
    steps = json.loads((work / "release.build" / "report.json").read_text())["seconds"]
    lines += ["", "Where the full-scale build spends its time (its report's own clock):", "",
              "| step | seconds |", "|---|---:|"]  # fmt: skip
    lines += [f"| {step} | {seconds:.2f} |" for step, seconds in steps.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    args.results.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
