"""builder.figures: a group without an interval says so in the agreement figure."""

from __future__ import annotations

import math

from builder.figures import agreement_by_country


def test_a_group_without_an_interval_is_marked_in_the_agreement_figure(tmp_path):
    row = {
        "country": "us", "units": 1, "alpha": 0.25, "alpha_low": math.nan, "alpha_high": math.nan,
        "pairwise_pooled": 0.5, "pairwise_pooled_low": math.nan, "pairwise_pooled_high": math.nan,
        "chance_marginal": 0.3, "chance_uniform": 0.25,
    }  # fmt: skip
    said = agreement_by_country(
        tmp_path / "said.png", [row | {"interval_undefined_reason": "1 unit"}], "country"
    )
    silent = agreement_by_country(
        tmp_path / "silent.png", [row | {"interval_undefined_reason": None}], "country"
    )
    again = agreement_by_country(
        tmp_path / "again.png", [row | {"interval_undefined_reason": "1 unit"}], "country"
    )
    assert said.read_bytes() != silent.read_bytes()  # the mark is drawn
    assert said.read_bytes() == again.read_bytes()  # and drawn the same way each time
