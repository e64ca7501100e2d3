"""Comparisons tables the agreement tests are built on, and the reference alpha of the krippendorff
package."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import polars as pl
import pytest

from community_alignment.agreement import (
    REASON_NO_PAIRS,
    REASON_ONE_CATEGORY,
    krippendorff_alpha_nominal,
)


def assert_rows_equal(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for key, value in left.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(right[key]), key
        else:
            assert value == pytest.approx(right[key], abs=1e-12), key


LETTERS = ["a", "b", "c", "d"]


def frame_from_counts(
    counts, *, group: str | None = None, prefix: str = "u", letters: bool = False
) -> pl.DataFrame:
    """One pick per count, each by a distinct annotator; unit k is item f"{prefix}{k}"."""
    rows = []
    for unit, row in enumerate(np.asarray(counts)):
        for choice, times in enumerate(row):
            for _ in range(int(times)):
                rows.append(
                    {
                        "item_id": f"{prefix}{unit:03d}",
                        "annotator_id": f"{group or ''}{len(rows):06d}",
                        "choice": LETTERS[choice] if letters else choice,
                        **({"country": group} if group is not None else {}),
                    }
                )
    return pl.DataFrame(rows)


def random_comparisons(seed: int = 0, units: int = 300) -> pl.DataFrame:
    """Picks on units with heavy-tailed sizes, 3 countries, some shared units, real agreement."""
    rng = np.random.default_rng(seed)
    sizes = np.where(rng.random(units) < 0.4, 1, rng.integers(2, 12, units))
    unit = np.repeat(np.arange(units), sizes)
    preference = rng.dirichlet([1.2, 0.9, 0.7, 0.6], size=units)[unit]
    choice = (rng.random(unit.size)[:, None] > np.cumsum(preference, axis=1)[:, :3]).sum(axis=1)
    country = np.array(["br", "fr", "us"])[rng.integers(0, 3, unit.size)]
    return pl.DataFrame(
        {
            "comparison_id": [f"c{k:05d}" for k in range(unit.size)],
            "item_id": [f"item{u:04d}" for u in unit],
            "annotator_id": [f"ann{k:05d}" for k in range(unit.size)],
            "choice": choice.astype(np.int64),
            "country": country,
            "language": np.where(country == "fr", "fr", np.where(country == "br", "pt", "en")),
            "turn": rng.integers(1, 5, units)[unit].astype(np.int64),
            "is_pregenerated_first_prompt": (sizes >= 5)[unit],
            "in_balanced_subset_10": (sizes >= 10)[unit],
        }
    )


def reference_alpha(counts) -> float | None:
    """krippendorff's value, None where it refuses (no unit with two picks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 when one category is used
        try:
            return float(
                krippendorff.alpha(value_counts=np.asarray(counts), level_of_measurement="nominal")
            )
        except ValueError:
            return None


def check_alpha_against_reference(counts) -> None:
    alpha, reason = krippendorff_alpha_nominal(counts)
    expected = reference_alpha(counts)
    if expected is None:
        assert math.isnan(alpha) and reason == REASON_NO_PAIRS
    elif math.isnan(expected):
        assert math.isnan(alpha) and reason == REASON_ONE_CATEGORY
    else:
        assert reason is None
        assert alpha == pytest.approx(expected, abs=1e-9)


def write_release(root: Path, frame: pl.DataFrame) -> Path:
    """The release layout scan() reads: data/comparisons/<lang>/<country>-00000-of-00001.parquet."""
    for (language, country), part in frame.group_by(["language", "country"]):
        folder = root / "data" / "comparisons" / language
        folder.mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / f"{country}-00000-of-00001.parquet")
    return root
