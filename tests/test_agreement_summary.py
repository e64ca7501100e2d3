"""Tests of community_alignment.agreement.summary: agreement() by group, hand-computed rows and
bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from community_alignment import bootstrap
from community_alignment.agreement import (
    REASON_NO_PAIRS,
    agreement,
)
from tests.agreement_frames import (
    LETTERS,
    assert_rows_equal,
    frame_from_counts,
    random_comparisons,
    reference_alpha,
)


def test_agreement_row_hand_computed():
    # Units: (a, a), (a, b), (a, a, b, c) and a singleton (d).
    counts = [[2, 0, 0, 0], [1, 1, 0, 0], [2, 1, 1, 0], [0, 0, 0, 1]]
    row = agreement(frame_from_counts(counts, letters=True)).row(0, named=True)
    assert (row["picks"], row["units"], row["pairs"]) == (9, 3, 1 + 1 + 6)
    # Agreeing ordered pairs: 2 + 0 + 2 = 4 of 2 + 2 + 12 = 16.
    assert row["pairwise_pooled"] == pytest.approx(4 / 16)
    assert row["pairwise_unit_mean"] == pytest.approx((1 + 0 + 2 / 12) / 3)
    # LOO credits: 2 + 0 + 2/3 over 8 picks.
    assert row["loo_majority"] == pytest.approx((2 + 2 / 3) / 8)
    # Entropies 0, 1, 1.5 (the singleton is left out).
    assert row["entropy_median"] == pytest.approx(1.0)
    assert row["entropy_mean"] == pytest.approx(2.5 / 3)
    # Position bias over all 9 picks, the singleton included.
    shares = [row[f"share_{x}"] for x in LETTERS]
    assert shares == pytest.approx([5 / 9, 2 / 9, 1 / 9, 1 / 9])
    # Chance over the 8 paired picks: a 5, b 2, c 1.
    assert row["chance_marginal"] == pytest.approx((25 + 4 + 1) / 64)
    assert row["chance_uniform"] == 0.25
    assert row["alpha"] == pytest.approx(reference_alpha(counts))
    assert row["alpha_undefined_reason"] is None


def test_agreement_columns():
    table = agreement(random_comparisons(1), by="country", n_resamples=20)
    assert table.columns == [
        "country", "picks", "units", "pairs",
        "alpha", "alpha_low", "alpha_high", "alpha_undefined_reason", "interval_undefined_reason",
        "pairwise_pooled", "pairwise_pooled_low", "pairwise_pooled_high",
        "pairwise_unit_mean", "chance_uniform", "chance_marginal",
        "loo_majority", "loo_majority_low", "loo_majority_high",
        "entropy_median", "entropy_mean", "share_a", "share_b", "share_c", "share_d",
    ]  # fmt: skip
    assert table.schema["picks"] == pl.Int64 and table.schema["alpha"] == pl.Float64
    plain = agreement(random_comparisons(1))
    assert not any(c.endswith(("_low", "_high")) for c in plain.columns)
    assert plain.height == 1 and "country" not in plain.columns


@pytest.mark.parametrize("n_resamples", [0, 50])
def test_group_equals_prefiltered_frame(n_resamples):
    frame = random_comparisons(2)
    table = agreement(frame, by="country", n_resamples=n_resamples, seed=7)
    assert table["country"].to_list() == ["br", "fr", "us"]
    for row in table.iter_rows(named=True):
        alone = agreement(
            frame.filter(pl.col("country") == row.pop("country")), n_resamples=n_resamples, seed=7
        )
        assert_rows_equal(row, alone.row(0, named=True))


def test_group_by_two_columns_equals_prefiltered_frame():
    frame = random_comparisons(4)
    table = agreement(frame, by=["country", "turn"])
    assert table.height == 12 and table.columns[:2] == ["country", "turn"]
    row = table.filter((pl.col("country") == "fr") & (pl.col("turn") == 3)).row(0, named=True)
    del row["country"], row["turn"]
    alone = agreement(frame.filter((pl.col("country") == "fr") & (pl.col("turn") == 3)))
    assert_rows_equal(row, alone.row(0, named=True))


def test_units_need_two_in_group_picks():
    # Unit x: us a, fr a (one pick per country). Unit y: us b, us b, fr c.
    frame = pl.DataFrame(
        {
            "item_id": ["x", "x", "y", "y", "y"],
            "annotator_id": ["1", "2", "3", "4", "5"],
            "country": ["us", "fr", "us", "us", "fr"],
            "choice": ["a", "a", "b", "b", "c"],
        }
    )
    overall = agreement(frame).row(0, named=True)
    assert overall["units"] == 2 and overall["pairwise_pooled"] == pytest.approx((2 + 2) / (2 + 6))
    by = {row["country"]: row for row in agreement(frame, by="country").iter_rows(named=True)}
    assert (by["us"]["picks"], by["us"]["units"], by["us"]["pairwise_pooled"]) == (3, 1, 1.0)
    assert (by["fr"]["picks"], by["fr"]["units"], by["fr"]["pairs"]) == (2, 0, 0)
    assert math.isnan(by["fr"]["alpha"]) and by["fr"]["alpha_undefined_reason"] == REASON_NO_PAIRS
    assert by["fr"]["share_a"] == 0.5 and by["fr"]["share_c"] == 0.5  # shares still reported


def test_null_group_is_its_own_group_last():
    frame = random_comparisons(6).with_columns(
        pl.when(pl.col("country") == "br").then(None).otherwise(pl.col("country")).alias("country")
    )
    table = agreement(frame, by="country")
    assert table["country"].to_list() == ["fr", "us", None]
    row = table.row(2, named=True)
    del row["country"]
    assert_rows_equal(row, agreement(frame.filter(pl.col("country").is_null())).row(0, named=True))


def test_bootstrap_same_seed_same_interval_and_other_seed_differs():
    frame = random_comparisons(11)
    first = agreement(frame, n_resamples=200, seed=42)
    assert first.equals(agreement(frame, n_resamples=200, seed=42))
    assert not first.equals(agreement(frame, n_resamples=200, seed=43))


def test_bootstrap_does_not_depend_on_row_order():
    frame = random_comparisons(12)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    assert agreement(frame, by="country", n_resamples=100).equals(
        agreement(shuffled, by="country", n_resamples=100)
    )


def test_bootstrap_interval_contains_estimate():
    row = agreement(random_comparisons(13, units=600), n_resamples=500, seed=0).row(0, named=True)
    for name in ("alpha", "pairwise_pooled", "loo_majority"):
        assert row[f"{name}_low"] < row[name] < row[f"{name}_high"], name
        assert row[f"{name}_high"] - row[f"{name}_low"] < 0.3, name


def test_bootstrap_resamples_units_not_picks():
    # Two units with the same picks: every resample draws two copies of them, so each interval
    # is a point (resampling picks would move it).
    frame = frame_from_counts([[5, 3, 2, 1], [5, 3, 2, 1]])
    row = agreement(frame, n_resamples=200, seed=0).row(0, named=True)
    for name in ("alpha", "pairwise_pooled", "loo_majority"):
        assert row[f"{name}_low"] == pytest.approx(row[name]), name
        assert row[f"{name}_high"] == pytest.approx(row[name]), name


def test_bootstrap_resampled_sums_are_unit_weights():
    terms = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    sums = bootstrap.resampled_sums(terms, 300, seed=0)
    # Each resample draws 3 units: the first column is a sum of three of 1, 2, 4.
    possible = {a + b + c for a in (1, 2, 4) for b in (1, 2, 4) for c in (1, 2, 4)}
    assert set(sums[:, 0]) <= possible and len(set(sums[:, 0])) > 5
    assert sums[:, 1] == pytest.approx(10 * sums[:, 0])


def test_bootstrap_chunks_give_same_draws_as_one_block(monkeypatch):
    terms = np.random.default_rng(0).random((50, 3))
    whole = bootstrap.resampled_sums(terms, 40, seed=5)
    monkeypatch.setattr(bootstrap, "CHUNK_CELLS", 50 * 7)  # blocks of 7 resamples
    assert bootstrap.resampled_sums(terms, 40, seed=5) == pytest.approx(whole)


def test_bootstrap_group_without_pairs_gives_nan_interval():
    frame = pl.concat(
        [
            frame_from_counts([[2, 1, 0, 0], [2, 1, 0, 0]], group="us"),
            frame_from_counts([[1, 0, 0, 0]], group="fr"),
        ]
    )
    by = {
        r["country"]: r
        for r in agreement(frame, by="country", n_resamples=10).iter_rows(named=True)
    }
    assert math.isnan(by["fr"]["alpha_low"]) and math.isnan(by["fr"]["pairwise_pooled_high"])
    assert by["us"]["pairwise_pooled_low"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_resamples": -1}, "n_resamples"),
        ({"n_resamples": 2.5}, "n_resamples"),
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0}, "confidence"),
    ],
)
def test_bootstrap_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        agreement(random_comparisons(0, units=10), **kwargs)


def test_group_with_a_single_unit_has_no_interval_and_says_why():
    frame = pl.concat(
        [
            frame_from_counts([[2, 1, 0, 0]], group="us"),
            frame_from_counts([[3, 0, 0, 0], [1, 2, 0, 0]], group="fr", prefix="f"),
        ]
    )
    by = {
        r["country"]: r
        for r in agreement(frame, by="country", n_resamples=50).iter_rows(named=True)
    }
    us, fr = by["us"], by["fr"]
    assert us["units"] == 1 and us["pairwise_pooled"] == pytest.approx(1 / 3)
    for name in ("alpha", "pairwise_pooled", "loo_majority"):
        assert math.isnan(us[f"{name}_low"]) and math.isnan(us[f"{name}_high"]), name
    assert us["interval_undefined_reason"] == bootstrap.interval_undefined_reason(1)
    assert "only 1 unit" in us["interval_undefined_reason"]
    assert fr["interval_undefined_reason"] is None
    assert fr["pairwise_pooled_low"] <= fr["pairwise_pooled"] <= fr["pairwise_pooled_high"]
    assert fr["pairwise_pooled_low"] < fr["pairwise_pooled_high"]


def test_group_without_units_gives_the_reason_too():
    frame = frame_from_counts([[1, 0, 0, 0]], group="fr")
    row = agreement(frame, by="country", n_resamples=10).row(0, named=True)
    assert row["interval_undefined_reason"] == bootstrap.interval_undefined_reason(0)
    assert "interval_undefined_reason" not in agreement(frame, by="country").columns
