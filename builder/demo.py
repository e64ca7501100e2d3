"""The main job end to end on the embedded sample: build, validate, load, summarise."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent / "sample" / "community_alignment_sample.csv"


def load_everything(release: Path) -> list[tuple[str, str, int]]:
    """Load every config and split with plain ``datasets.load_dataset``, offline, all checks."""
    import datasets
    import yaml

    os.environ["HF_HUB_OFFLINE"] = "1"
    front = (release / "README.md").read_text(encoding="utf-8").split("---")[1]
    configs = [entry["config_name"] for entry in yaml.safe_load(front)["configs"]]
    loaded = []
    with tempfile.TemporaryDirectory() as cache:
        for config in configs:
            splits = datasets.load_dataset(
                str(release), config, verification_mode="all_checks", cache_dir=cache
            )
            loaded += [(config, split, rows.num_rows) for split, rows in splits.items()]
    return loaded


def run(out: Path, source: Path = SAMPLE) -> int:
    from builder.build import build
    from builder.validate import validate
    from community_alignment.agreement import agreement
    from community_alignment.describe import describe, render

    print(f"== build {source.name} -> {out}")
    result = build(source, out)
    books = result.report["books"]
    print(
        f"{books['raw_rows']:,} raw rows -> {books['conversations_released']:,} conversations, "
        f"{books['comparisons']:,} comparisons; quarantine and report in {result.report_dir}"
    )
    print("\n== validate")
    report = validate(out, load=False)
    print(report.render())
    if not report.ok:
        return 1
    print("== load every config and split with datasets.load_dataset (offline, all checks)")
    for config, split, rows in load_everything(out):
        print(f"  {config:<14} {split:<3} {rows:>7,} rows")
    print("\n== describe")
    print(render(describe(out)))
    print("== agreement by country (bootstrap over units, 200 resamples)")
    table = agreement(out, by="country", n_resamples=200, seed=0)
    print(table.select(
        "country", "picks", "units", "alpha", "alpha_low", "alpha_high", "pairwise_pooled",
        "chance_marginal", "loo_majority",
    ))  # fmt: skip
    return 0
