"""Full-scale benchmark of the release pipeline: build, validate, load, analyse, in bounded memory.

Generates raw files in the exact raw layout with the project's generator (outside the repo),
then runs every stage in a process of its own and reads its wall time and peak memory
(``ru_maxrss`` of that process). Every raw file is built against its own one-pass floor
(polars: CSV to Parquet, all text, bounded row groups), run in turns with its builds: the
generator's spelling of the responses cells and others (``--spellings``), and text that
compresses like real text (``random_words``). The build also runs at other scales, and once
with row groups cut every N rows (what content-defined row groups cost). Prints the tables,
with what the real-like release's configs weigh (``bench_sizes.py``), and writes them to
``benchmarks/RESULTS.md`` with the machine and its load, keeping that file's notes from
"## Why the build's settings" on.

    python benchmarks/bench_build.py [--workdir /tmp/ca-bench] [--scales 0.25,0.5,1,2]
        [--spellings ours,one_newline,...] [--repeat 3]

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

import bench_sizes

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
    "build, row groups every N rows": """
from community_alignment import schema
for table in schema.table_names():
    schema.table(table).pop("row_groups", None)
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
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mb": usage.ru_maxrss / 1024}}))
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
    result = json.loads(done.stdout.strip().splitlines()[-1])
    report = release.parent / f"{release.name}.build" / "report.json"
    if name.startswith("build") and report.is_file():
        made = json.loads(report.read_text())
        result["steps"], result["cpu_steps"] = made["seconds"], made.get("cpu_seconds", {})
    return result


REPEATED = {"floor", "build", "build, row groups every N rows"}  # noisy to a second


def median_run(results: list[dict]) -> dict:
    return sorted(results, key=lambda r: r["seconds"])[len(results) // 2]


def raw_file(work: Path, scale: float, random_words: bool = False, spelling: str = "ours") -> Path:
    """The generated raw file (made once): ``spelling`` is "ours" or changes to the responses
    cells joined by "+" (names of ``builder.generate.RESPONSES_SPELLINGS``)."""
    conversations = round(FULL_SCALE * scale)
    tail = ("-random-words" if random_words else "") + (
        "" if spelling == "ours" else f"-{spelling}"
    )
    path = work / f"raw-{conversations}{tail}.csv"
    if not path.exists() or path.stat().st_size == 0:
        print(f"generating {conversations:,} conversations -> {path}", flush=True)
        from builder.generate import GeneratorConfig, generate

        changes = () if spelling == "ours" else tuple(spelling.split("+"))
        config = GeneratorConfig(
            conversations=conversations,
            seed=0,
            random_words=random_words,
            responses_spelling=changes,
        )
        generate(path, config)
    return path


def warm(raw: Path) -> None:
    """Read the file once, so that the run after it reads it from the page cache: the raw files
    together are larger than what the cache keeps, and a read from this machine's disk took
    the floor from 4 to 28-48 s."""
    with raw.open("rb") as f:
        while f.read(64 << 20):
            pass


def against_floor(raw: Path, release: Path, work: Path, repeat: int, stages=("build",)) -> dict:
    """The floor and the stages on one raw file, in turns (so that a change in the machine's
    load falls on both), ``repeat`` times each, each run after the file was read (:func:`warm`):
    every run, by stage."""
    runs: dict[str, list[dict]] = {name: [] for name in ("floor", *stages)}
    for _ in range(repeat):
        for name in runs:
            print(f"  {name} on {raw.name} ...", flush=True)
            warm(raw)
            runs[name].append(run_stage(name, raw, release, work))
    return runs


def step_seconds(result: dict, prefix: str) -> float:
    return next((v for k, v in result.get("steps", {}).items() if k.startswith(prefix)), 0.0)


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
    parser.add_argument(
        "--spellings",
        default="ours,one_newline,text_on_header+lower_header+reversed,crlf+trailing_spaces+one_newline",
        help="responses-cell spellings built at full scale: ours, or changes joined by +",
    )
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each floor and build")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    full = raw_file(work, 1.0)
    release = work / "release"
    size_mb = full.stat().st_size / 2**20

    print(f"full scale, {full.name}:", flush=True)
    # the build last in each turn: the stages after it read its release
    main_runs = against_floor(
        full, release, work, args.repeat, ("build, row groups every N rows", "build")
    )
    main_build = median_run(main_runs["build"])
    rows = [
        (name, median_run(main_runs[name]), main_runs[name])
        for name in ("floor", "build", "build, row groups every N rows")
    ]
    for stage in STAGES:
        if stage not in main_runs:
            print(f"running {stage} ...", flush=True)
            warm(full)
            result = run_stage(stage, full, release, work)
            rows.append((stage, result, [result]))
    floor = rows[0][1]["seconds"]

    spellings = []  # (label, raw, floor, build) for every file built against its floor
    files = [(s, raw_file(work, 1.0, spelling=s)) for s in args.spellings.split(",")]
    varied = raw_file(work, 1.0, random_words=True)
    for label, raw in [*files, ("ours, real-like text (random words)", varied)]:
        if raw == full:
            runs = {k: main_runs[k] for k in ("floor", "build")}
        else:
            print(f"{label}:", flush=True)
            runs = against_floor(raw, work / "release-other", work, args.repeat)
        spellings.append((label, raw, median_run(runs["floor"]), median_run(runs["build"])))
        if raw == varied:
            sizes = bench_sizes.report(work / "release-other", varied)
    shutil.rmtree(work / "release-other", ignore_errors=True)
    shutil.rmtree(work / "release-other.build", ignore_errors=True)

    scaling = []  # (scale, raw MiB, floor, build): medians of runs in turns, as above, so that
    # a file read from disk rather than from the page cache is one run of several
    for scale in [float(s) for s in args.scales.split(",")]:
        raw = raw_file(work, scale)
        if scale == 1.0:
            floor_run, result = median_run(main_runs["floor"]), main_build
        else:
            print(f"build at {scale}x:", flush=True)
            runs = against_floor(raw, work / f"release-{scale}", work, args.repeat)
            floor_run, result = median_run(runs["floor"]), median_run(runs["build"])
            shutil.rmtree(work / f"release-{scale}", ignore_errors=True)
            shutil.rmtree(work / f"release-{scale}.build", ignore_errors=True)
        scaling.append((scale, raw.stat().st_size / 2**20, floor_run, result))
    load_after = os.getloadavg()

    def loads(values: tuple[float, float, float]) -> str:
        return ", ".join(f"{v:.1f}" for v in values)

    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}. It was shared with other work: load average (1, 5, 15 min) "
        f"{loads(load_before)} at the start, {loads(load_after)} at the end; medians and "
        "ratios to a floor run in turns with the builds are what to compare.",
        f"Input: {FULL_SCALE:,} generated conversations, {size_mb:,.0f} MiB of raw CSV "
        f"(`benchmarks/bench_build.py`, {time.strftime('%Y-%m-%d')}).",
        "",
        f"Each floor and build ran {args.repeat} times, in turns; the table shows the run with "
        "the median time, and every run's seconds / peak MiB.",
        "",
        "| stage | seconds | x floor | CPU seconds | peak memory (MiB) | runs |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {stage} | {r['seconds']:.2f} | {r['seconds'] / floor:.1f} | {r['cpu']:.1f} | "
        f"{r['peak_mb']:,.0f} | "
        + ", ".join(f"{x['seconds']:.2f} s / {x['peak_mb']:,.0f}" for x in runs)
        + " |"
        for stage, r, runs in rows
    ]
    (plain_file, plain_text), (varied_file, varied_text) = map(compressibility, (full, varied))
    lines += ["", "Every file against its own floor (medians of the runs in turns). The "
              "spelling is that of the responses cells (`--responses-spelling` of the "
              "generator; ours puts a blank line between blocks). The real-like text "
              "compresses like real text: zstd shrinks its first 64 MiB "
              f"{varied_file:.1f}x (the other files': {plain_file:.1f}x) and its candidates' "
              f"text {varied_text:.1f}x (the others': {plain_text:.1f}x).", "",
              "| file | raw MiB | floor s | build s | x its floor | build peak MiB "
              "| stream step s | tables step s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    lines += [
        f"| {label} | {raw.stat().st_size / 2**20:,.0f} | {f['seconds']:.2f} | "
        f"{b['seconds']:.2f} | {b['seconds'] / f['seconds']:.1f} | {b['peak_mb']:,.0f} | "
        f"{step_seconds(b, 'stream'):.2f} | {step_seconds(b, 'tables'):.2f} |"
        for label, raw, f, b in spellings
    ]
    steps = sorted({k for _, _, _, r in scaling for k in r.get("steps", {})})
    lines += ["", "The build at other scales, each against its own floor (medians of the runs "
              "in turns; 1x is the median run above), and each step's time (the build "
              "report's own clock) with its multiple of the time at 1x:", "",
              "| scale | raw MiB | floor s | seconds (x 1x) | x its floor | peak memory (MiB) | "
              + " | ".join(s.split(":")[0] for s in steps) + " |",
              "|---:|---:|---:|---:|---:|---:|" + "---:|" * len(steps)]  # fmt: skip

    def times(seconds: float, at_one: float) -> str:
        return f"{seconds:.2f} ({seconds / at_one:.2f}x)" if at_one else f"{seconds:.2f}"

    for scale, mb, f, r in scaling:
        cells = [times(r["steps"].get(s, 0), main_build["steps"].get(s, 0)) for s in steps]
        lines.append(
            f"| {scale}x | {mb:,.0f} | {f['seconds']:.2f} | "
            f"{times(r['seconds'], main_build['seconds'])} | {r['seconds'] / f['seconds']:.1f} | "
            f"{r['peak_mb']:,.0f} | " + " | ".join(cells) + " |"
        )
    lines += ["", "Where the full-scale build spends its time (its report's own clocks, the "
              "median run; CPU seconds add up every thread's, on "
              f"{os.cpu_count()} cores):", "",
              "| step | seconds | CPU seconds |", "|---|---:|---:|"]  # fmt: skip
    lines += [
        f"| {step} | {seconds:.2f} | {main_build['cpu_steps'].get(step, 0):.2f} |"
        for step, seconds in main_build["steps"].items()
    ]
    lines += ["", "## What a user downloads", "", "The release built from the real-like text "
              "(`benchmarks/bench_sizes.py`):", "", *sizes]  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    kept = ""
    if args.results.exists():
        old = args.results.read_text(encoding="utf-8")
        marker = "## Why the build's settings"
        kept = old[old.index(marker) :] if marker in old else ""
    args.results.write_text(text + ("\n" + kept if kept else ""), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
