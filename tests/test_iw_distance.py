"""Tests of community_alignment.iw.distance: IW distance against cross-country disagreement,
without labels."""

from __future__ import annotations

import math

import pytest

from community_alignment import iw
from tests.iw_corpus import (
    comparisons,
)


def test_distance_vs_disagreement_pairs_countries_and_correlates():
    # One unit per pair of us, fr, in: us-fr agree, us-in half agree, fr-in disagree.
    picks = [("P", "us", 0, "1"), ("P", "fr", 0, "2"),
             ("Q", "us", 0, "1"), ("Q", "in", 0, "3"), ("Q", "in", 1, "4"),
             ("R", "fr", 2, "2"), ("R", "in", 3, "3")]  # fmt: skip
    units = {u: ["a", "b", "c", "d"] for u in "PQR"}
    result = iw.distance_vs_disagreement(comparisons(picks, units), n_resamples=0)
    rows = {(r["country_a"], r["country_b"]): r for r in result.table.iter_rows(named=True)}
    assert set(rows) == {("fr", "in"), ("fr", "us"), ("in", "us")}
    assert rows[("fr", "us")]["disagreement"] == 0.0
    assert rows[("in", "us")]["disagreement"] == 0.5
    assert rows[("fr", "in")]["disagreement"] == 1.0
    assert rows[("fr", "us")]["distance"] == pytest.approx(math.dist((0.53, 1.95), (0.30, 1.21)))
    distances = [rows[p]["distance"] for p in [("fr", "in"), ("fr", "us"), ("in", "us")]]
    # fr-in is the farthest and disagrees most; fr-us the nearest and agrees
    assert sorted(distances) == [distances[1], distances[2], distances[0]]
    assert result.n_pairs == 3 and result.reason is None
    assert result.spearman == pytest.approx(1.0)
    x, y = distances, [1.0, 0.0, 0.5]
    mx, my = sum(x) / 3, sum(y) / 3
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    var = math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))
    assert result.pearson == pytest.approx(cov / var)


def test_distance_vs_disagreement_is_nan_with_a_reason_below_three_pairs():
    result = iw.distance_vs_disagreement(comparisons(), n_resamples=0)  # only us and in
    assert result.n_pairs == 1
    assert math.isnan(result.pearson) and math.isnan(result.spearman)
    assert result.reason == "only 1 country pairs share units; a correlation needs at least 3"
