"""evaluate's measures on small hand-made tables, each number worked out by hand or by scipy."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from scipy.spatial.distance import jensenshannon

from community_alignment.bootstrap import resampled_sums
from community_alignment.evaluate import evaluate, js_distance, read_predictions, softmax
from community_alignment.evaluate.measures import bootstrap_sums

LETTERS = "abcd"


def picks(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    """(item_id, annotator_id, country, choice) rows, with comparison ids in row order."""
    return pl.DataFrame(
        {
            "item_id": [r[0] for r in rows],
            "annotator_id": [r[1] for r in rows],
            "country": [r[2] for r in rows],
            "choice": [r[3] for r in rows],
            "comparison_id": [f"{k:04d}-1" for k in range(len(rows))],
        }
    )


def weights(rows: dict[str, list[float]], **extra: list) -> pl.DataFrame:
    frame = {
        "item_id": list(rows),
        **{c: [w[k] for w in rows.values()] for k, c in enumerate(LETTERS)},
    }
    return pl.DataFrame({**frame, **extra})


def group(result, name: str) -> dict:
    return result.groups.filter(pl.col("group") == name).row(0, named=True)


# Unit x: us a, a, b; fr c, c.  Unit y: us a; fr d, d, d.
TWO_COUNTRIES = picks(
    [
        ("x", "1", "us", "a"),
        ("x", "2", "us", "a"),
        ("x", "3", "us", "b"),
        ("x", "4", "fr", "c"),
        ("x", "5", "fr", "c"),
        ("y", "1", "us", "a"),
        ("y", "4", "fr", "d"),
        ("y", "5", "fr", "d"),
        ("y", "6", "fr", "d"),
    ]
)


def test_similarity_equals_scipy_jensenshannon_on_random_tables():
    rng = np.random.default_rng(7)
    for _ in range(20):
        p = rng.dirichlet(np.ones(4), size=50) * rng.integers(0, 2, size=(50, 4))
        p[p.sum(axis=1) == 0, 0] = 1.0  # a row needs some weight
        q = rng.integers(0, 9, size=(50, 4)).astype(float)
        q[q.sum(axis=1) == 0, 3] = 2.0
        ours = js_distance(p, q)
        theirs = np.array([jensenshannon(a, b, base=2) for a, b in zip(p, q, strict=True)])
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_distributional_similarity_is_the_mean_of_one_minus_scipy_distance_over_units():
    rng = np.random.default_rng(3)
    rows = []
    for unit in range(30):
        for annotator in range(int(rng.integers(1, 9))):
            rows.append((f"u{unit}", f"a{annotator}", "us", LETTERS[rng.integers(0, 4)]))
    frame = picks(rows)
    model = rng.dirichlet(np.ones(4), size=30)
    predictions = weights({f"u{k}": list(model[k]) for k in range(30)})
    result = evaluate(frame, predictions, by="country", min_picks=3, n_resamples=0)
    counts = frame.group_by("item_id").agg(
        [(pl.col("choice") == c).sum().alias(c) for c in LETTERS]
    )
    expected = []
    for row in counts.iter_rows(named=True):
        n = np.array([row[c] for c in LETTERS], dtype=float)
        if n.sum() >= 3:
            k = int(row["item_id"][1:])
            expected.append(1.0 - jensenshannon(model[k], n, base=2))
    us = group(result, "us")
    assert us["distributional_similarity_units"] == len(expected)
    assert us["distributional_similarity"] == pytest.approx(np.mean(expected), abs=1e-12)


def test_pick_agreement_counts_a_k_way_tie_as_one_over_k():
    # x: top is a tie of a and b; us picks a, a, b -> 3 * 1/2; y: top d, us picks a -> 0.
    predictions = weights({"x": [0.4, 0.4, 0.2, 0.0], "y": [0, 0, 0, 1]})
    result = evaluate(TWO_COUNTRIES, predictions, by="country", n_resamples=0)
    assert group(result, "us")["pick_agreement"] == pytest.approx(1.5 / 4)
    assert group(result, "fr")["pick_agreement"] == pytest.approx(3 / 5)  # d on y
    assert group(result, "us")["chance"] == 0.25


def test_human_level_is_the_groups_leave_one_out_majority_agreement():
    # us on x (a, a, b): each a faces (a, b), 1/2; b faces (a, a), 0 -> 1 of 3; y has one
    # pick. fr: x (c, c) 2 of 2, y (d, d, d) 3 of 3.
    result = evaluate(TWO_COUNTRIES, weights({"x": [1, 1, 1, 1], "y": [1, 1, 1, 1]}), by="country")
    assert group(result, "us")["human_loo_majority"] == pytest.approx(1 / 3)
    assert group(result, "us")["human_loo_majority_units"] == 1
    assert group(result, "fr")["human_loo_majority"] == pytest.approx(1.0)


def test_an_interval_from_one_unit_is_not_given_and_says_why():
    result = evaluate(TWO_COUNTRIES, weights({"x": [1, 1, 1, 1], "y": [1, 1, 1, 1]}), by="country")
    us = group(result, "us")
    assert us["human_loo_majority_units"] == 1
    assert np.isnan(us["human_loo_majority_low"]) and np.isnan(us["human_loo_majority_high"])
    assert us["human_loo_majority_interval_undefined_reason"] == (
        "only 1 unit to resample; an interval needs at least 2"
    )


def test_baselines_uniform_and_the_other_groups_shares():
    predictions = weights({"x": [1, 0, 0, 0], "y": [0, 0, 0, 1]})
    result = evaluate(TWO_COUNTRIES, predictions, by="country", min_picks=2, n_resamples=0)
    us, fr = group(result, "us"), group(result, "fr")
    us_x = np.array([2, 1, 0, 0])
    assert us["distributional_similarity_units"] == 1  # y has one us pick
    assert us["uniform_baseline"] == pytest.approx(1 - jensenshannon([1, 1, 1, 1], us_x, base=2))
    # everyone outside us on x: fr's c, c
    assert us["others_baseline"] == pytest.approx(1 - jensenshannon([0, 0, 2, 0], us_x, base=2))
    fr_expected = np.mean(
        [
            1 - jensenshannon([2, 1, 0, 0], [0, 0, 2, 0], base=2),
            1 - jensenshannon([1, 0, 0, 0], [0, 0, 0, 3], base=2),
        ]
    )
    assert fr["others_baseline"] == pytest.approx(fr_expected)
    assert fr["others_units"] == 2


def test_an_annotators_repeated_picks_on_a_unit_count_once_the_first():
    frame = picks([("x", "1", "us", "b"), ("x", "1", "us", "a"), ("x", "2", "us", "a")])
    frame = frame.with_columns(pl.Series("comparison_id", ["2-1", "1-1", "3-1"]))
    with pytest.warns(UserWarning, match="1 picks repeat"):
        result = evaluate(frame, weights({"x": [1, 0, 0, 0]}), n_resamples=0)
    overall = group(result, "all")
    assert overall["picks"] == 2  # annotator 1's first pick (comparison 1-1) is a
    assert overall["pick_agreement"] == 1.0


def test_a_model_of_the_us_pick_shares_scores_one_for_us_and_ranks_us_first():
    result = evaluate(
        TWO_COUNTRIES,
        weights({"x": [2, 1, 0, 0], "y": [1, 0, 0, 0]}),  # us's picks, counts as weights
        by="country",
        min_picks=1,
        n_resamples=0,
    )
    assert group(result, "us")["distributional_similarity"] == 1.0
    assert group(result, "us")["rank_similarity"] == 1
    assert group(result, "fr")["distributional_similarity"] < 1.0


def test_a_uniform_model_scores_exactly_the_uniform_baseline_and_chance():
    result = evaluate(
        TWO_COUNTRIES, weights({"x": [1, 1, 1, 1], "y": [3, 3, 3, 3]}), by="country", min_picks=1
    )
    for row in result.groups.to_dicts():
        assert row["distributional_similarity"] == row["uniform_baseline"]
        assert row["pick_agreement"] == 0.25


def test_intervals_resample_units_not_picks():
    # Many picks on one unit give no interval: one unit cannot vary under resampling.
    one_unit = picks([("x", str(k), "us", "abcd"[k % 3]) for k in range(40)])
    result = evaluate(one_unit, weights({"x": [1, 0, 0, 0]}), by="country", min_picks=2)
    us = group(result, "us")
    assert us["pick_agreement_units"] == 1 and us["pick_agreement_count"] == 40
    assert math.isnan(us["pick_agreement_low"]) and math.isnan(us["distributional_similarity_low"])

    # The same units repeated: the interval narrows as their number grows.
    def width(copies: int) -> float:
        rows = [
            (f"{unit}-{copy}", str(k), "us", choice)
            for copy in range(copies)
            for unit, choices in (("x", "aab"), ("y", "bcd"), ("z", "ddd"))
            for k, choice in enumerate(choices)
        ]
        units = {f"{unit}-{copy}": [1, 0, 0, 0] for copy in range(copies) for unit in "xyz"}
        row = group(evaluate(picks(rows), weights(units), by="country", min_picks=3), "us")
        assert row["pick_agreement"] == pytest.approx(2 / 9)
        return row["pick_agreement_high"] - row["pick_agreement_low"]

    assert width(4) > width(16) > width(64) > 0


def test_intervals_are_reproducible_with_a_seed_and_bracket_the_estimate():
    predictions = weights({"x": [1, 0, 0, 0], "y": [0, 0, 0, 1]})
    frame = pl.concat([TWO_COUNTRIES.with_columns(pl.col("item_id") + str(k)) for k in range(5)])
    predictions = pl.concat(
        [predictions.with_columns(pl.col("item_id") + str(k)) for k in range(5)]
    )
    first = evaluate(frame, predictions, by="country", min_picks=2, seed=5)
    again = evaluate(frame, predictions, by="country", min_picks=2, seed=5)
    assert first.groups.equals(again.groups)
    for row in first.groups.to_dicts():
        assert row["pick_agreement_low"] <= row["pick_agreement"] <= row["pick_agreement_high"]


def test_best_minus_worst_is_paired_over_the_units_both_groups_share():
    # x and y are shared; z only us. The paired difference uses x and y only.
    frame = pl.concat([TWO_COUNTRIES, picks([("z", "1", "us", "c")])])
    predictions = weights({"x": [1, 0, 0, 0], "y": [1, 0, 0, 0], "z": [1, 0, 0, 0]})
    result = evaluate(frame, predictions, by="country", n_resamples=200)
    gap = result.gaps.filter(pl.col("measure") == "pick_agreement").row(0, named=True)
    assert (gap["best"], gap["worst"]) == ("us", "fr")
    assert gap["best_value"] == pytest.approx(3 / 5)  # z counts here: 3 of 5 us picks
    assert gap["shared_units"] == 2
    assert gap["difference"] == pytest.approx(3 / 4 - 0 / 5)
    assert gap["difference_low"] <= gap["difference"] <= gap["difference_high"]
    # Over all units, each group resampled on its own: 3/5 - 0/5.
    assert gap["difference_all_units"] == pytest.approx(3 / 5)
    assert gap["difference_all_units_low"] <= 3 / 5 <= gap["difference_all_units_high"]


def test_no_shared_unit_means_no_paired_difference():
    frame = picks([("x", "1", "us", "a"), ("y", "2", "fr", "b")])
    result = evaluate(frame, weights({"x": [1, 0, 0, 0], "y": [1, 0, 0, 0]}), by="country")
    gap = result.gaps.row(0, named=True)
    assert gap["shared_units"] == 0 and math.isnan(gap["difference"])
    assert gap["difference_all_units"] == 1.0


def test_pair_accuracy_ranks_chosen_above_rejected_by_the_scores():
    comparisons = TWO_COUNTRIES.head(3)  # x: us picks a, a, b
    pairs = pl.DataFrame(
        {
            "item_id": ["x"] * 6,
            "comparison_id": ["0000-1"] * 3 + ["0002-1"] * 3,
            "country": ["us"] * 6,
            "chosen_choice": [0, 0, 0, 1, 1, 1],
            "rejected_choice": [1, 2, 3, 0, 2, 3],
        }
    )  # comparison 0001-1 has no pairs (say its context was incomplete)
    scores = pl.DataFrame(
        {
            "item_id": ["x"],
            **{f"score_{c}": [s] for c, s in zip(LETTERS, [2.0, 1.0, 1.0, -3.0], strict=True)},
        }
    )
    result = evaluate(comparisons, scores, by="country", pairs=pairs, n_resamples=0)
    us = group(result, "us")
    # a over b, c, d: 3 right; b over a wrong, b vs c tie 1/2, b over d right.
    assert us["pair_accuracy"] == pytest.approx(4.5 / 6)
    assert us["pair_accuracy_count"] == 6
    assert result.coverage["kind"] == "scores"


def test_a_single_choice_has_no_pair_accuracy():
    result = evaluate(
        TWO_COUNTRIES.head(3),
        pl.DataFrame({"item_id": ["x"], "choice": ["a"]}),
        pairs=pl.DataFrame(
            {
                "item_id": ["x"],
                "comparison_id": ["0000-1"],
                "chosen_choice": [0],
                "rejected_choice": [1],
            }
        ),
        n_resamples=0,
    )
    assert math.isnan(group(result, "all")["pair_accuracy"])
    assert group(result, "all")["pick_agreement"] == pytest.approx(2 / 3)


def test_softmax_with_a_temperature():
    scores = np.array([[1.0, 0.0, -1.0, 2.0]])
    expected = np.exp(scores / 0.5) / np.exp(scores / 0.5).sum()
    np.testing.assert_allclose(softmax(scores, temperature=0.5), expected, rtol=1e-12)
    np.testing.assert_allclose(softmax([[1000.0, 0, 0, 0]])[0], [1, 0, 0, 0])  # no overflow
    for bad in (0, -1.0, math.inf, "1"):
        with pytest.raises(ValueError, match="temperature must be a positive number"):
            softmax(scores, temperature=bad)


def test_reward_scores_become_softmax_weights():
    table = read_predictions(
        pl.DataFrame(
            {"item_id": ["x"], **{f"score_{c}": [float(k)] for k, c in enumerate(LETTERS)}}
        ),
        temperature=2.0,
    )
    expected = softmax([[0.0, 1.0, 2.0, 3.0]], temperature=2.0)[0]
    np.testing.assert_allclose(table.frame.select("w_a", "w_b", "w_c", "w_d").row(0), expected)


def test_steering_compares_the_target_with_the_others_and_with_the_own_answer():
    predictions = pl.concat(
        [
            weights({"x": [1, 1, 1, 1], "y": [1, 1, 1, 1]}, target=[None, None]),
            weights({"x": [2, 1, 0, 0], "y": [1, 0, 0, 0]}, target=["us", "us"]),
            weights({"x": [0, 0, 1, 0], "y": [0, 0, 0, 1]}, target=["fr", "fr"]),
        ],
        how="vertical_relaxed",
    )
    result = evaluate(TWO_COUNTRIES, predictions, by="country", min_picks=1, n_resamples=0)
    assert result.steering is not None
    us = result.steering.filter(pl.col("target") == "us").row(0, named=True)
    assert us["similarity_to_target"] == 1.0 and us["units"] == 2
    fr_x = 1 - jensenshannon([2, 1, 0, 0], [0, 0, 2, 0], base=2)
    fr_y = 1 - jensenshannon([1, 0, 0, 0], [0, 0, 0, 3], base=2)
    assert us["similarity_to_others"] == pytest.approx((fr_x + fr_y) / 2)
    assert us["difference"] == pytest.approx(1.0 - (fr_x + fr_y) / 2)
    uniform = [
        1 - jensenshannon([1, 1, 1, 1], [2, 1, 0, 0], base=2),
        1 - jensenshannon([1, 1, 1, 1], [1, 0, 0, 0], base=2),
    ]
    assert us["own_similarity"] == pytest.approx(np.mean(uniform))
    assert us["gain"] == pytest.approx(1.0 - np.mean(uniform))
    fr_uniform = [
        1 - jensenshannon([1, 1, 1, 1], [0, 0, 2, 0], base=2),
        1 - jensenshannon([1, 1, 1, 1], [0, 0, 0, 3], base=2),
    ]
    gain_fr = (fr_x + fr_y - sum(fr_uniform)) / 2  # answering as us moved it away from fr
    assert us["gain_to_others"] == pytest.approx(gain_fr) and gain_fr < 0
    assert us["specificity"] == pytest.approx(us["gain"] - gain_fr)
    # The own answers are still measured on their own.
    assert group(result, "us")["distributional_similarity"] == pytest.approx(np.mean(uniform))


def test_a_target_must_be_a_group_and_needs_by():
    predictions = weights({"x": [1, 0, 0, 0]}, target=["jp"])
    with pytest.raises(ValueError, match="target.s. jp are not values of country"):
        evaluate(TWO_COUNTRIES, predictions, by="country")
    with pytest.raises(ValueError, match="pass by= the field"):
        evaluate(TWO_COUNTRIES, weights({"x": [1, 0, 0, 0]}, target=["us"]))


def test_parameters_are_checked():
    predictions = weights({"x": [1, 0, 0, 0]})
    with pytest.raises(ValueError, match="min_picks must be 1 or more"):
        evaluate(TWO_COUNTRIES, predictions, min_picks=0)
    with pytest.raises(ValueError, match="cannot group by item_id"):
        evaluate(TWO_COUNTRIES, predictions, by="item_id")
    with pytest.raises(ValueError, match="n_resamples must be 0"):
        evaluate(TWO_COUNTRIES, predictions, n_resamples=-1)
    with pytest.raises(ValueError, match="lacks column.s. needed to evaluate: language"):
        evaluate(TWO_COUNTRIES, predictions, by="language")


def test_only_predicted_units_count():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate(TWO_COUNTRIES, weights({"y": [0, 0, 0, 1]}), by="country", n_resamples=0)
    assert group(result, "fr")["picks"] == 3 and group(result, "us")["picks"] == 1
    assert result.coverage["release_units"] == 2
    assert result.coverage["release_units_predicted"] == 1


def test_resampling_alike_units_together_draws_the_same_sums_as_resampling_units():
    # 3,000 units with only 12 distinct term rows: drawn as multinomial counts over the rows.
    rng = np.random.default_rng(11)
    terms = np.column_stack([rng.integers(0, 3, 3000) / 2, np.ones(3000), rng.integers(0, 4, 3000)])
    fast = bootstrap_sums(terms, 4000, seed=1)
    plain = resampled_sums(terms, 4000, seed=2)
    assert fast.shape == plain.shape == (4000, 3)
    assert (fast[:, 1] == 3000).all()  # every resample has as many units as the data
    np.testing.assert_allclose(fast.mean(axis=0), terms.sum(axis=0), rtol=2e-3)
    np.testing.assert_allclose(fast.std(axis=0), plain.std(axis=0), rtol=0.08)
    np.testing.assert_array_equal(bootstrap_sums(terms, 50, seed=1), fast[:50])  # seeded
    # Units that are all different are resampled one by one.
    distinct = rng.random((100, 2))
    np.testing.assert_array_equal(bootstrap_sums(distinct, 20, 3), resampled_sums(distinct, 20, 3))


def test_predictions_made_only_as_members_of_groups_give_steering_alone():
    predictions = weights({"x": [2, 1, 0, 0], "y": [1, 0, 0, 0]}, target=["us", "us"])
    result = evaluate(TWO_COUNTRIES, predictions, by="country", min_picks=1, n_resamples=0)
    assert result.groups.height == 0 and result.gaps.height == 0
    assert result.steering["similarity_to_target"].to_list() == [1.0]
    assert math.isnan(result.steering["gain"][0])  # no own answers to compare with
    record = result.to_dict()
    assert record["groups"] == [] and record["steering"][0]["gain"] is None


def test_a_group_of_unknown_value_is_a_group_of_its_own_with_its_pairs():
    comparisons = TWO_COUNTRIES.head(3).with_columns(pl.lit(None, dtype=pl.String).alias("country"))
    pairs = pl.DataFrame(
        {
            "item_id": ["x", "x"],
            "comparison_id": ["0000-1", "0000-1"],
            "country": pl.Series([None, None], dtype=pl.String),
            "chosen_choice": [0, 0],
            "rejected_choice": [1, 2],
        }
    )
    result = evaluate(comparisons, weights({"x": [3, 2, 1, 0]}), by="country", pairs=pairs)
    row = result.groups.row(0, named=True)
    assert row["group"] is None and row["picks"] == 3
    assert (row["pair_accuracy"], row["pair_accuracy_count"]) == (1.0, 2)


def test_a_model_that_ignores_the_target_has_no_gain_and_no_specificity():
    answers = {"x": [1, 2, 3, 4], "y": [4, 1, 1, 1]}
    predictions = pl.concat(
        [weights(answers, target=[None, None]), weights(answers, target=["fr", "fr"])],
        how="vertical_relaxed",
    )
    result = evaluate(TWO_COUNTRIES, predictions, by="country", min_picks=1, n_resamples=100)
    fr = result.steering.row(0, named=True)
    assert fr["difference"] != 0  # the groups' own spread differs: not a steering measure
    assert (fr["gain"], fr["gain_to_others"], fr["specificity"]) == (0.0, 0.0, 0.0)
    assert fr["own_similarity"] == fr["similarity_to_target"]
