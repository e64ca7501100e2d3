"""The main job end to end on the embedded sample: build, validate, load, summarise."""

from __future__ import annotations

from pathlib import Path

SAMPLE = Path(__file__).resolve().parent / "sample" / "community_alignment_sample.csv"
SAMPLE_LABELS = SAMPLE.with_name("iw_labels.csv")  # the generator's true IW labels


def run(out: Path, source: Path = SAMPLE, labels: Path = SAMPLE_LABELS) -> int:
    from builder.build import build
    from builder.load_check import load_everything
    from builder.validate import validate
    from community_alignment import cli
    from community_alignment.describe import describe, render

    print(f"== build {source.name} -> {out}")
    result = build(source, out, iw_labels=labels)
    books = result.report["books"]
    print(
        f"{books['raw_rows']:,} raw rows -> {books['conversations_released']:,} conversations, "
        f"{books['comparisons']:,} comparisons; quarantine and report in {result.report_dir}"
    )
    print("\n== validate")
    report = validate(out, load=False, iw_labels=labels)
    print(report.render())
    if not report.ok:
        return 1
    print("== load every config and split with datasets.load_dataset (offline, all checks)")
    for config, split, rows in load_everything(out):
        print(f"  {config:<14} {split:<3} {rows:>7,} rows")
    print("\n== describe")
    print(render(describe(out)))
    print("== community-alignment agreement --by country")
    status = cli.main(["agreement", str(out), "--by", "country", "--resamples", "1000"])
    plot = result.report_dir / "iw_map.png"
    print(f"\n== community-alignment iw --labels {labels.name} --by country --plot {plot}")
    status = status or cli.main(
        ["iw", str(out), "--labels", str(labels), "--by", "country", "--resamples", "1000",
         "--plot", str(plot)]
    )  # fmt: skip
    return status
