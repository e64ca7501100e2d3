"""builder.card_tables: the card's tables as the writer and the validator both make them."""

from __future__ import annotations

import math

from builder.card_tables import agreement_table_rows


def row(**changes) -> dict:
    return {
        "country": "us", "picks": 4, "units": 1, "pairs": 6, "alpha": 0.25,
        "alpha_low": math.nan, "alpha_high": math.nan, "pairwise_pooled": 0.5,
        "pairwise_pooled_low": math.nan, "pairwise_pooled_high": math.nan,
        "chance_marginal": 0.3,
        "interval_undefined_reason": "only 1 unit to resample; an interval needs at least 2",
    } | changes  # fmt: skip


def test_an_interval_from_one_unit_shows_as_na_with_its_reason():
    [_, cells] = agreement_table_rows([row()])
    assert cells[4] == "0.250 [n/a: only 1 unit to resample; an interval needs at least 2]"
    assert cells[5] == "50.0% [n/a: only 1 unit to resample; an interval needs at least 2]"


def test_an_interval_is_shown_when_there_is_one():
    [_, cells] = agreement_table_rows(
        [row(alpha_low=0.1, alpha_high=0.4, interval_undefined_reason=None)]
    )
    assert cells[4] == "0.250 [0.100, 0.400]"
