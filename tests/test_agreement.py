"""Tests of community_alignment.agreement (Krippendorff's alpha, pairwise, LOO, bootstrap, CLI)."""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from community_alignment import agreement as ag
from community_alignment import bootstrap
from community_alignment.agreement import (
    REASON_NO_PAIRS,
    REASON_ONE_CATEGORY,
    agreement,
    cross_agreement,
    entropy_bits,
    krippendorff_alpha_nominal,
    loo_majority,
    pairwise_agreement,
    unit_counts,
)

LETTERS = ["a", "b", "c", "d"]


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------
# Krippendorff's alpha against the krippendorff package
# ------------------------------------------------------------------------------------------


def test_alpha_matches_krippendorff_on_random_tables():
    rng = np.random.default_rng(20240601)
    kinds = {"defined": 0, "no pairs": 0, "one category": 0}
    for table in range(240):
        units = int(rng.integers(1, 40))
        # Every 7th table has only empty and singleton units (nothing to pair).
        sizes = rng.choice([0, 1] if table % 7 == 0 else [0, 1, 2, 2, 3, 5, 9, 20], size=units)
        # Vary agreement: from unanimous units (concentration -> 0) to near-uniform picks.
        concentration = [0.05, 0.5, 2.0, 50.0][table % 4]
        categories = [4, 4, 4, 1, 2][table % 5]  # some tables use one or two choices only
        counts = np.zeros((units, 4), dtype=np.int64)
        for u, size in enumerate(sizes):
            p = rng.dirichlet(np.full(categories, concentration))
            counts[u, :categories] = rng.multinomial(size, p)
        check_alpha_against_reference(counts)
        alpha, reason = krippendorff_alpha_nominal(counts)
        kinds[
            "defined" if reason is None else "no pairs" if "no unit" in reason else "one category"
        ] += 1
    assert all(kinds.values()), kinds  # every kind of table was exercised


@settings(max_examples=150, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 12), st.just(4)), elements=st.integers(0, 4)))
def test_alpha_matches_krippendorff_property(counts):
    check_alpha_against_reference(counts)


def test_alpha_units_with_exactly_two_picks():
    counts = np.array([[2, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 2], [0, 2, 0, 0]])
    check_alpha_against_reference(counts)
    # n = 10, disagreement mass 2 + 2 = 4, expected 100 - (9 + 9 + 1 + 9) = 72.
    assert krippendorff_alpha_nominal(counts)[0] == pytest.approx(1 - 9 * 4 / 72)


def test_alpha_is_one_when_every_unit_agrees():
    counts = [[3, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, 4], [0, 0, 1, 0]]
    assert krippendorff_alpha_nominal(counts) == (1.0, None)
    assert reference_alpha(counts) == pytest.approx(1.0)


def test_alpha_single_category_is_nan_with_reason():
    counts = [[3, 0, 0, 0], [2, 0, 0, 0], [0, 1, 0, 0]]  # the lone b is a singleton
    alpha, reason = krippendorff_alpha_nominal(counts)
    assert math.isnan(alpha) and reason == REASON_ONE_CATEGORY
    # The krippendorff package returns NaN (0/0, with a RuntimeWarning) here.
    with pytest.warns(RuntimeWarning):
        assert math.isnan(
            krippendorff.alpha(value_counts=np.array(counts), level_of_measurement="nominal")
        )


def test_alpha_without_pairable_units_is_nan_with_reason():
    counts = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert krippendorff_alpha_nominal(counts)[1] == REASON_NO_PAIRS
    # The krippendorff package raises instead.
    with pytest.raises(ValueError, match="at least two coders"):
        krippendorff.alpha(value_counts=np.array(counts), level_of_measurement="nominal")
    row = agreement(frame_from_counts(counts)).row(0, named=True)
    assert math.isnan(row["alpha"]) and row["alpha_undefined_reason"] == REASON_NO_PAIRS
    assert row["units"] == 0 and row["pairs"] == 0 and math.isnan(row["pairwise_pooled"])


def test_singleton_units_are_ignored():
    rng = np.random.default_rng(3)
    counts = rng.multinomial(5, [0.4, 0.3, 0.2, 0.1], size=30)
    singletons = np.eye(4, dtype=np.int64)[rng.integers(0, 4, 25)]
    mixed = np.concatenate([counts, singletons])[rng.permutation(55)]
    assert krippendorff_alpha_nominal(mixed)[0] == pytest.approx(
        krippendorff_alpha_nominal(counts)[0]
    )
    assert reference_alpha(mixed) == pytest.approx(reference_alpha(counts), abs=1e-12)
    check_alpha_against_reference(mixed)
    assert pairwise_agreement(mixed) == pairwise_agreement(counts)
    assert loo_majority(mixed) == pytest.approx(loo_majority(counts))


def test_agreement_alpha_equals_reference_on_a_frame():
    frame = random_comparisons(5)
    _, counts = unit_counts(frame)
    assert agreement(frame)["alpha"][0] == pytest.approx(reference_alpha(counts), abs=1e-9)


def test_single_unit_alpha_is_zero():
    assert krippendorff_alpha_nominal([[3, 2, 1, 0]])[0] == pytest.approx(0.0, abs=1e-12)
    assert reference_alpha([[3, 2, 1, 0]]) == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------------------------------
# Hand-computed pairwise, LOO majority, entropy, position bias, chance
# ------------------------------------------------------------------------------------------


def test_pairwise_pooled_differs_from_unit_mean():
    # Unit 1 (a, a): 1 agreeing pair of 1. Unit 2 (a, b, c): 0 of 3. Singleton ignored.
    result = pairwise_agreement([[2, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 1]])
    assert result.pooled == pytest.approx(1 / 4)
    assert result.unit_mean == pytest.approx(1 / 2)
    assert (result.units, result.pairs) == (2, 4)


def test_pairwise_large_unit_dominates_pooled():
    # Unit (a x4): 6 of 6 pairs agree; units (a, b) x3: 0 of 1 each -> pooled 6/9, mean 1/4.
    result = pairwise_agreement([[4, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]])
    assert result.pooled == pytest.approx(6 / 9)
    assert result.unit_mean == pytest.approx(1 / 4)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([[2, 0, 0, 0]], 1.0),  # both picks match the other
        ([[1, 1, 0, 0]], 0.0),  # each pick faces the other choice
        ([[2, 1, 0, 0]], 1 / 3),  # a faces (a, b): a 2-way tie, 1/2 each; b faces (a, a): 0
        ([[2, 1, 1, 0]], 1 / 6),  # a faces (a, b, c): 3-way tie, 1/3 each; b, c score 0
        ([[2, 2, 0, 0]], 0.0),  # a faces (a, b, b): b wins
        ([[3, 1, 0, 0]], 3 / 4),  # a faces (a, a, b): 1 each; b faces (a, a, a): 0
        ([[1, 1, 1, 1]], 0.0),  # each faces a 3-way tie without its own choice
        ([[2, 1, 0, 0], [2, 0, 0, 0], [0, 0, 0, 1]], (1 + 2) / 5),  # singleton ignored
    ],
)
def test_loo_majority_hand_computed(counts, expected):
    assert loo_majority(counts) == pytest.approx(expected)


def test_loo_majority_undefined_without_pairs():
    assert math.isnan(loo_majority([[1, 0, 0, 0], [0, 0, 0, 1]]))


def test_entropy_hand_computed():
    result = entropy_bits([[4, 0, 0, 0], [1, 1, 0, 0], [2, 1, 1, 0], [1, 1, 1, 1], [3, 1, 0, 0]])
    expected = [0.0, 1.0, 1.5, 2.0, -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))]
    assert result == pytest.approx(expected)


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
        "alpha", "alpha_low", "alpha_high", "alpha_undefined_reason",
        "pairwise_pooled", "pairwise_pooled_low", "pairwise_pooled_high",
        "pairwise_unit_mean", "chance_uniform", "chance_marginal",
        "loo_majority", "loo_majority_low", "loo_majority_high",
        "entropy_median", "entropy_mean", "share_a", "share_b", "share_c", "share_d",
    ]  # fmt: skip
    assert table.schema["picks"] == pl.Int64 and table.schema["alpha"] == pl.Float64
    plain = agreement(random_comparisons(1))
    assert not any(c.endswith(("_low", "_high")) for c in plain.columns)
    assert plain.height == 1 and "country" not in plain.columns


# ------------------------------------------------------------------------------------------
# Grouping
# ------------------------------------------------------------------------------------------


def assert_rows_equal(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for key, value in left.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(right[key]), key
        else:
            assert value == pytest.approx(right[key], abs=1e-12), key


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


def test_filters():
    frame = random_comparisons(8)
    for kwargs, predicate in [
        ({"turn": 2}, pl.col("turn") == 2),
        ({"pregenerated_only": True}, pl.col("is_pregenerated_first_prompt")),
        ({"balanced_10_only": True}, pl.col("in_balanced_subset_10")),
        (
            {"turn": 1, "pregenerated_only": True},
            (pl.col("turn") == 1) & pl.col("is_pregenerated_first_prompt"),
        ),
    ]:
        assert_rows_equal(
            agreement(frame, **kwargs).row(0, named=True),
            agreement(frame.filter(predicate)).row(0, named=True),
        )


def test_repeated_picks_by_one_annotator_count_once():
    # Annotator 1 picked twice on x: b (comparison c1, kept) and a (c2, dropped).
    frame = pl.DataFrame(
        {
            "comparison_id": ["c2", "c1", "c3"],
            "item_id": ["x", "x", "x"],
            "annotator_id": ["1", "1", "2"],
            "choice": ["a", "b", "b"],
        }
    )
    with pytest.warns(UserWarning, match="1 picks repeat an annotator"):
        row = agreement(frame).row(0, named=True)
    assert (row["picks"], row["pairs"], row["pairwise_pooled"]) == (2, 1, 1.0)
    with pytest.warns(UserWarning):  # without comparison_id the first row is kept
        row = agreement(frame.drop("comparison_id")).row(0, named=True)
    assert (row["picks"], row["pairwise_pooled"]) == (2, 0.0)
    with pytest.warns(UserWarning):
        crossed = cross_agreement(frame.with_columns(country=pl.lit("us")), "country")
    assert crossed.row(0) == ("us", "us", 1, 1, 1.0)


def test_unit_counts():
    frame = pl.DataFrame({"item_id": ["q", "p", "q", "q"], "choice": ["d", "a", "d", "b"]})
    ids, counts = unit_counts(frame)
    assert ids.to_list() == ["p", "q"]
    assert counts.dtype == np.int64 and counts.tolist() == [[1, 0, 0, 0], [0, 1, 0, 2]]


# ------------------------------------------------------------------------------------------
# Cross agreement
# ------------------------------------------------------------------------------------------


def test_cross_agreement_disagreeing_countries():
    # On every unit the two us picks agree, the two fr picks agree, and us and fr differ.
    us = frame_from_counts([[2, 0, 0, 0], [0, 0, 2, 0], [0, 2, 0, 0]], group="us")
    fr = frame_from_counts([[0, 2, 0, 0], [0, 0, 0, 2], [0, 0, 2, 0]], group="fr")
    table = cross_agreement(pl.concat([us, fr]), "country")
    result = {(a, b): (units, pairs, value) for a, b, units, pairs, value in table.rows()}
    assert result[("us", "us")] == (3, 3, 1.0)
    assert result[("fr", "fr")] == (3, 3, 1.0)
    assert result[("us", "fr")] == (3, 12, 0.0)
    assert result[("fr", "us")] == (3, 12, 0.0)
    assert table.columns == ["group_a", "group_b", "units", "pairs", "agreement"]
    assert table.select("group_a", "group_b").rows() == [
        ("fr", "fr"), ("fr", "us"), ("us", "fr"), ("us", "us"),
    ]  # fmt: skip


def test_cross_agreement_hand_computed_mixed():
    # x: us (a, b), fr (a, a, a); y: us (c), fr (c, d); z: us (d) only.
    frame = pl.DataFrame(
        {
            "item_id": ["x"] * 5 + ["y"] * 3 + ["z"],
            "annotator_id": [str(k) for k in range(9)],
            "country": ["us", "us", "fr", "fr", "fr", "us", "fr", "fr", "us"],
            "choice": ["a", "b", "a", "a", "a", "c", "c", "d", "d"],
        }
    )
    result = {(a, b): rest for a, b, *rest in cross_agreement(frame, "country").rows()}
    # us-fr: x 1*3 agreeing of 2*3; y 1 of 2 -> 4/8 over 2 units.
    assert result[("us", "fr")] == [2, 8, 0.5]
    # us-us: x (a, b) 0 of 1. fr-fr: x 3 of 3, y 0 of 1.
    assert result[("us", "us")] == [1, 1, 0.0]
    assert result[("fr", "fr")] == [2, 4, 0.75]


def test_cross_agreement_null_group_last():
    frame = random_comparisons(21).with_columns(
        pl.when(pl.col("country") == "br").then(None).otherwise(pl.col("country")).alias("country")
    )
    crossed = cross_agreement(frame, "country")
    assert crossed["group_a"].unique(maintain_order=True).to_list() == ["fr", "us", None]
    diagonal = crossed.filter(pl.col("group_a").eq_missing(pl.col("group_b")))
    within = agreement(frame, by="country")
    assert diagonal["agreement"].to_list() == pytest.approx(within["pairwise_pooled"].to_list())


def test_cross_diagonal_is_within_group_pairwise():
    frame = random_comparisons(9)
    crossed = cross_agreement(frame, "country")
    within = agreement(frame, by="country")
    diagonal = crossed.filter(pl.col("group_a") == pl.col("group_b")).sort("group_a")
    assert diagonal["agreement"].to_list() == pytest.approx(within["pairwise_pooled"].to_list())
    assert diagonal["units"].to_list() == within["units"].to_list()
    assert diagonal["pairs"].to_list() == within["pairs"].to_list()
    symmetric = crossed.join(
        crossed, left_on=["group_a", "group_b"], right_on=["group_b", "group_a"]
    )
    assert (symmetric["agreement"] == symmetric["agreement_right"]).all()


def test_cross_agreement_with_two_columns_and_bootstrap():
    frame = random_comparisons(10)
    table = cross_agreement(frame, ["country", "language"], n_resamples=100, seed=3)
    assert set(table["group_a"]) == {"br/pt", "fr/fr", "us/en"}
    assert table.height == 9
    assert (
        (table["agreement_low"] <= table["agreement"])
        & (table["agreement"] <= table["agreement_high"])
    ).all()
    assert table.equals(cross_agreement(frame, ["country", "language"], n_resamples=100, seed=3))


# ------------------------------------------------------------------------------------------
# Bootstrap
# ------------------------------------------------------------------------------------------


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
    # All picks in one unit: every resample draws that unit, so each interval is a point.
    frame = frame_from_counts([[5, 3, 2, 1]])
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
            frame_from_counts([[2, 1, 0, 0]], group="us"),
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


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


def test_missing_columns_are_named():
    frame = random_comparisons(0, units=10)
    with pytest.raises(ValueError, match="item_id, annotator_id"):
        agreement(frame.drop("item_id", "annotator_id"))
    with pytest.raises(ValueError, match="lacks column.*: annotator_group"):
        agreement(frame, by="annotator_group")
    with pytest.raises(ValueError, match="in_balanced_subset_10"):
        agreement(frame.drop("in_balanced_subset_10"), balanced_10_only=True)
    with pytest.raises(ValueError, match="choice"):
        cross_agreement(frame.drop("choice"), "country")


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ([0, 1, 4, 4, -1], r"3 of 5 picks are outside a/b/c/d \(0..3\), e.g. 4"),
        (["a", "b", "e", "A", "b"], r"2 of 5 picks are outside a/b/c/d \(0..3\), e.g. 'e'"),
        (["a", "response_b", "c", "d", "a"], r"1 of 5 .* e.g. 'response_b'"),
    ],
)
def test_choices_outside_vocabulary(choices, message):
    frame = pl.DataFrame({"item_id": ["x"] * 5, "annotator_id": list("12345"), "choice": choices})
    with pytest.raises(ValueError, match=message):
        agreement(frame)


def test_null_choice_is_an_error():
    frame = pl.DataFrame(
        {"item_id": ["x", "x", "y"], "annotator_id": ["1", "2", "3"], "choice": [0, None, 1]}
    )
    with pytest.raises(ValueError, match="1 of 3 comparisons have a null choice"):
        agreement(frame)


def test_other_bad_values():
    base = {"item_id": ["x", "x"], "annotator_id": ["1", "2"]}
    with pytest.raises(ValueError, match="got a Float64 column"):
        agreement(pl.DataFrame({**base, "choice": [0.0, 1.0]}))
    with pytest.raises(ValueError, match="null item_id"):
        agreement(pl.DataFrame({**base, "item_id": ["x", None], "choice": [0, 1]}))
    with pytest.raises(ValueError, match="group by item_id"):
        agreement(pl.DataFrame({**base, "choice": [0, 1]}), by=["item_id"])
    with pytest.raises(ValueError, match="group by choice"):
        agreement(pl.DataFrame({**base, "choice": [0, 1]}), by="choice")
    with pytest.raises(ValueError, match="needs a by column"):
        cross_agreement(pl.DataFrame({**base, "choice": [0, 1]}), [])
    with pytest.raises(ValueError, match="must be a boolean column"):
        agreement(
            pl.DataFrame({**base, "choice": [0, 1], "is_pregenerated_first_prompt": ["T", "F"]}),
            pregenerated_only=True,
        )
    with pytest.raises(TypeError, match="source must be"):
        agreement(42)


def test_empty_selection_names_the_filters():
    frame = random_comparisons(0, units=50)
    with pytest.raises(ValueError, match=r"after filtering by turn=7 \(\d+ rows before"):
        agreement(frame, turn=7)
    with pytest.raises(ValueError, match="pregenerated_only=True, turn=9"):
        cross_agreement(frame, "country", pregenerated_only=True, turn=9)
    with pytest.raises(ValueError, match="has no rows"):
        agreement(frame.head(0))


@pytest.mark.parametrize(
    "counts", [[[1, -1, 0, 0]], [1, 2, 3, 4], [[1.5, 0, 0, 0]], np.zeros((2, 1))]
)
def test_bad_count_matrices(counts):
    with pytest.raises(ValueError, match="counts"):
        krippendorff_alpha_nominal(counts)


# ------------------------------------------------------------------------------------------
# Input types
# ------------------------------------------------------------------------------------------


def test_dataframe_lazyframe_dataset_and_path_agree(tmp_path):
    import datasets

    frame = random_comparisons(14)
    expected = agreement(frame, by="country", n_resamples=50)
    assert agreement(frame.lazy(), by="country", n_resamples=50).equals(expected)

    features = datasets.Features(
        {
            "comparison_id": datasets.Value("string"),
            "item_id": datasets.Value("string"),
            "annotator_id": datasets.Value("string"),
            "choice": datasets.ClassLabel(names=LETTERS),
            "country": datasets.Value("string"),
            "language": datasets.Value("string"),
            "turn": datasets.Value("int64"),
            "is_pregenerated_first_prompt": datasets.Value("bool"),
            "in_balanced_subset_10": datasets.Value("bool"),
        }
    )
    dataset = datasets.Dataset.from_dict(frame.to_dict(as_series=False), features=features)
    assert agreement(dataset, by="country", n_resamples=50).equals(expected)
    # A view with an indices mapping (shuffled) gives the same numbers too.
    assert agreement(dataset.shuffle(seed=0), by="country", n_resamples=50).equals(expected)

    write_release(tmp_path, frame)
    assert agreement(tmp_path, by="country", n_resamples=50).equals(expected)
    assert agreement(str(tmp_path), by="country", n_resamples=50).equals(expected)
    assert cross_agreement(str(tmp_path), "country").equals(cross_agreement(frame, "country"))


def test_letters_and_codes_agree():
    frame = random_comparisons(15)
    letters = frame.with_columns(
        pl.col("choice").replace_strict([0, 1, 2, 3], LETTERS, return_dtype=pl.String)
    )
    assert agreement(letters).equals(agreement(frame))
    as_enum = letters.with_columns(pl.col("choice").cast(pl.Enum(LETTERS)))
    assert agreement(as_enum).equals(agreement(frame))


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def write_release(root: Path, frame: pl.DataFrame) -> Path:
    """The release layout scan() reads: data/comparisons/<lang>/<country>-00000-of-00001.parquet."""
    for (language, country), part in frame.group_by(["language", "country"]):
        folder = root / "data" / "comparisons" / language
        folder.mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / f"{country}-00000-of-00001.parquet")
    return root


def run_cli(argv: list[str]) -> int:
    """Our subcommand on a parser of its own (the project CLI imports modules being written)."""
    parser = argparse.ArgumentParser(prog="community-alignment")
    ag.register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_table(tmp_path, capsys):
    release = write_release(tmp_path, random_comparisons(16))
    assert run_cli(["agreement", str(release), "--by", "country", "--resamples", "50"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("country"))
    assert "alpha" in header and "pairwise" in header and "LOO majority" in header
    body = [line for line in lines if line[:3] in ("br ", "fr ", "us ")]
    assert len(body) == 3
    assert all("[" in line and "]" in line for line in body)  # intervals as [low, high]
    expected = agreement(random_comparisons(16), by="country")
    assert f"{expected['alpha'][0]:.3f}" in body[0]


def test_cli_cross_and_filters(tmp_path, capsys):
    release = write_release(tmp_path, random_comparisons(17))
    argv = ["agreement", str(release), "--cross", "country", "--turn", "2", "--pregenerated-only"]
    assert run_cli(argv) == 0
    out = capsys.readouterr().out
    assert "pregenerated_only=True, turn=2" in out
    assert "Cross-group pairwise agreement by country" in out
    assert sum(1 for line in out.splitlines() if line.startswith(("br ", "fr ", "us "))) == 6


def test_cli_json(tmp_path, capsys):
    frame = random_comparisons(18)
    release = write_release(tmp_path, frame)
    argv = ["agreement", str(release), "--by", "country,language", "--json", "--cross", "country"]
    assert run_cli(argv) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["by"] == ["country", "language"]
    assert [row["country"] for row in output["agreement"]] == ["br", "fr", "us"]
    expected = agreement(frame, by=["country", "language"])
    assert output["agreement"][1]["alpha"] == pytest.approx(expected["alpha"][1])
    assert len(output["cross"]) == 9


def test_cli_errors(tmp_path):
    release = write_release(tmp_path, random_comparisons(19))
    with pytest.raises(ValueError, match="turn=8"):
        run_cli(["agreement", str(release), "--turn", "8"])
    with pytest.raises(ValueError, match="lacks column.*: nope"):
        run_cli(["agreement", str(release), "--by", "nope"])


def test_on_a_built_release(build_rows):
    """End to end on a release made by the project's builder from raw rows."""
    from tests.conftest import raw_row

    texts = [f"Shared answer {letter}" for letter in "ABCD"]
    shared = {
        "first_turn_prompt": "A shared pregenerated prompt",
        **{f"first_turn_response_{x}": text for x, text in zip("abcd", texts, strict=True)},
        "first_turn_responses": "\n\n".join(
            f"# Response {x}:\n{text}" for x, text in zip("ABCD", texts, strict=True)
        ),
    }
    people = [
        ("united states", "response_a"),
        ("united states", "response_a"),
        ("india", "response_b"),
        ("india", "response_b"),
        ("india", "response_c"),
    ]
    rows = [
        raw_row(str(k), annotator_id=f"{10000000000000 + k}", turns=1, country=country,
                choices=[pick], **shared)
        for k, (country, pick) in enumerate(people)
    ]  # fmt: skip
    release = build_rows(rows).release
    by = {row["country"]: row for row in agreement(release, by="country").iter_rows(named=True)}
    assert (by["us"]["units"], by["us"]["pairwise_pooled"]) == (1, 1.0)
    assert (by["in"]["picks"], by["in"]["pairs"], by["in"]["pairwise_pooled"]) == (3, 3, 1 / 3)
    crossed = {(a, b): value for a, b, _, _, value in cross_agreement(release, "country").rows()}
    assert crossed[("in", "us")] == 0.0
    overall = agreement(release).row(0, named=True)
    assert overall["units"] == 1 and overall["alpha"] == pytest.approx(0.0, abs=1e-12)


def test_project_cli_main(tmp_path, capsys):
    from community_alignment.cli import main

    release = write_release(tmp_path, random_comparisons(20))
    assert main(["agreement", str(release), "--by", "country"]) == 0
    assert "country" in capsys.readouterr().out
    assert main(["agreement", str(release), "--turn", "9"]) == 2
    assert "turn=9" in capsys.readouterr().err
