"""Time ``community_alignment.agreement`` on a full-scale synthetic comparisons table.

Run from the checkout: ``python benchmarks/bench_agreement.py [--units 60000] [--repeat 3]``.

The table (made in memory with numpy, ~233,000 rows) mimics the release: ~60,000 units with a
heavy-tailed number of picks (about half are singletons; a few units have hundreds of picks,
like pregenerated first prompts), 5 countries (each unit has a home country that gives most of
its picks), one distinct annotator per pick on a unit, and choices drawn from a per-unit
preference around a position bias towards ``a``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from community_alignment.agreement import (  # noqa: E402
    agreement,
    cross_agreement,
    krippendorff_alpha_nominal,
    unit_counts,
)

COUNTRIES = ["us", "fr", "it", "br", "in"]
LANGUAGES = {"us": "en", "fr": "fr", "it": "it", "br": "pt", "in": "hi"}
POSITION_BIAS = np.array([0.31, 0.26, 0.23, 0.20])


def synthetic_comparisons(units: int = 60_000, seed: int = 0) -> pl.DataFrame:
    """A comparisons table with the release's agreement columns, ~3.9 picks per unit."""
    rng = np.random.default_rng(seed)
    singleton = rng.random(units) < 0.5
    tail = np.minimum(rng.zipf(1.9, size=units), 400) + 1
    sizes = np.where(singleton, 1, tail)
    unit_of_pick = np.repeat(np.arange(units), sizes)
    picks = unit_of_pick.size
    position = np.arange(picks) - np.repeat(np.cumsum(sizes) - sizes, sizes)

    preference = rng.dirichlet(POSITION_BIAS * 2.5, size=units)
    cumulative = np.cumsum(preference, axis=1)[unit_of_pick]
    choice = (rng.random(picks)[:, None] > cumulative[:, :3]).sum(axis=1)

    home = rng.integers(0, len(COUNTRIES), size=units)[unit_of_pick]
    country = np.where(rng.random(picks) < 0.7, home, rng.integers(0, len(COUNTRIES), picks))
    # Distinct annotators on a unit: a per-unit offset plus the pick's position.
    offset = rng.integers(0, 1_000_000, size=units)[unit_of_pick]
    annotator = (offset + position) % 1_000_003 + country * 10_000_000
    turn = rng.integers(1, 5, size=units)[unit_of_pick]
    pregenerated = (sizes > 5)[unit_of_pick]

    countries = np.array(COUNTRIES)[country]
    return pl.DataFrame(
        {
            "comparison_id": np.char.mod("c%07d", np.arange(picks)),
            "item_id": np.char.mod("%016x", (unit_of_pick * 2_654_435_761) % (1 << 62)),
            "annotator_id": np.char.mod("%014d", annotator + 61_000_000_000_000),
            "choice": choice.astype(np.int64),
            "country": countries,
            "language": np.vectorize(LANGUAGES.get)(countries),
            "turn": turn.astype(np.int64),
            "is_pregenerated_first_prompt": pregenerated,
            "in_balanced_subset_10": pregenerated & (sizes >= 10)[unit_of_pick],
        }
    )


def best_of(repeat: int, function: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    frame = synthetic_comparisons(args.units)
    made = time.perf_counter() - start
    _, counts = unit_counts(frame)
    sizes = counts.sum(axis=1)
    print(
        f"synthetic table: {frame.height:,} picks, {counts.shape[0]:,} units "
        f"({(sizes == 1).sum():,} singletons, {(sizes >= 2).sum():,} with >= 2 picks, "
        f"largest {sizes.max()}), made in {made:.2f} s"
    )

    import krippendorff

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = []

        seconds, table = best_of(args.repeat, lambda: agreement(frame))
        rows.append(("agreement() overall", seconds, f"alpha {table['alpha'][0]:.6f}"))

        seconds, table = best_of(args.repeat, lambda: agreement(frame, by="country"))
        rows.append(("agreement(by=country)", seconds, f"{table.height} groups"))

        seconds, table = best_of(
            args.repeat,
            lambda: agreement(frame, by="country", n_resamples=args.resamples, seed=0),
        )
        widths = (table["alpha_high"] - table["alpha_low"]).to_list()
        rows.append(
            (
                f"agreement(by=country, n_resamples={args.resamples})",
                seconds,
                f"alpha CI widths {min(widths):.4f}..{max(widths):.4f}",
            )
        )

        seconds, table = best_of(
            args.repeat, lambda: agreement(frame, n_resamples=args.resamples, seed=0)
        )
        rows.append(
            (
                f"agreement(n_resamples={args.resamples}) overall",
                seconds,
                f"alpha [{table['alpha_low'][0]:.4f}, {table['alpha_high'][0]:.4f}]",
            )
        )

        seconds, table = best_of(args.repeat, lambda: cross_agreement(frame, by="country"))
        rows.append(("cross_agreement(by=country)", seconds, f"{table.height} ordered pairs"))

        seconds, table = best_of(
            args.repeat,
            lambda: cross_agreement(frame, by="country", n_resamples=args.resamples),
        )
        rows.append((f"cross_agreement(by=country, n_resamples={args.resamples})", seconds, ""))

        seconds, ours = best_of(args.repeat, lambda: krippendorff_alpha_nominal(counts))
        rows.append(("krippendorff_alpha_nominal(counts)", seconds, f"alpha {ours[0]:.6f}"))

        seconds, theirs = best_of(
            args.repeat,
            lambda: krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"),
        )
        rows.append(
            (
                "krippendorff.alpha(value_counts=counts)",
                seconds,
                f"alpha {theirs:.6f} (diff {abs(theirs - ours[0]):.1e})",
            )
        )

    name_width = max(len(name) for name, _, _ in rows)
    print(f"\n{'measurement':<{name_width}}  {'best of ' + str(args.repeat):>10}  result")
    print(f"{'-' * name_width}  {'-' * 10}  {'-' * 6}")
    for name, seconds, result in rows:
        print(f"{name:<{name_width}}  {seconds:>8.3f} s  {result}")


if __name__ == "__main__":
    main()
