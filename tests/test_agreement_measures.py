"""Tests of community_alignment.agreement.measures: alpha against the krippendorff package, hand-
computed pairwise, LOO majority and entropy."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from community_alignment.agreement import (
    REASON_NO_PAIRS,
    REASON_ONE_CATEGORY,
    agreement,
    entropy_bits,
    krippendorff_alpha_nominal,
    loo_majority,
    pairwise_agreement,
    unit_counts,
)
from tests.agreement_frames import (
    check_alpha_against_reference,
    frame_from_counts,
    random_comparisons,
    reference_alpha,
)


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


@pytest.mark.parametrize(
    "counts", [[[1, -1, 0, 0]], [1, 2, 3, 4], [[1.5, 0, 0, 0]], np.zeros((2, 1))]
)
def test_bad_count_matrices(counts):
    with pytest.raises(ValueError, match="counts"):
        krippendorff_alpha_nominal(counts)
