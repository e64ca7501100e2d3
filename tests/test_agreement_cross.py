"""Tests of community_alignment.agreement.cross: agreement between every pair of groups."""

from __future__ import annotations

import polars as pl
import pytest

from community_alignment.agreement import (
    agreement,
    cross_agreement,
)
from tests.agreement_frames import (
    frame_from_counts,
    random_comparisons,
)


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


def test_cross_pair_sharing_a_single_unit_has_no_interval_and_says_why():
    # us and fr meet on two units, us and in on one (u000).
    us = frame_from_counts([[1, 1, 0, 0], [1, 0, 0, 0]], group="us")
    fr = frame_from_counts([[1, 0, 0, 0], [0, 1, 0, 0]], group="fr")
    india = frame_from_counts([[0, 2, 0, 0]], group="in")
    table = cross_agreement(pl.concat([us, fr, india]), "country", n_resamples=50)
    rows = {(r["group_a"], r["group_b"]): r for r in table.iter_rows(named=True)}
    lone = rows[("in", "us")]
    assert lone["units"] == 1 and lone["agreement"] == pytest.approx(2 / 4)
    assert lone["agreement_low"] != lone["agreement_low"]  # NaN
    assert "only 1 unit" in lone["interval_undefined_reason"]
    shared = rows[("fr", "us")]
    assert shared["units"] == 2 and shared["interval_undefined_reason"] is None
    assert shared["agreement_low"] < shared["agreement_high"]
    assert table.schema["interval_undefined_reason"] == pl.String
