"""evaluate on the embedded sample release with synthetic models whose answers are known, and
the ``community-alignment evaluate`` command."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from builder.build import build
from community_alignment.cli import main
from community_alignment.evaluate import evaluate
from community_alignment.load import scan

SAMPLE = (
    Path(__file__).resolve().parent.parent / "builder" / "sample" / "community_alignment_sample.csv"
)
LETTERS = "abcd"


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return build(SAMPLE, tmp_path_factory.mktemp("sample") / "release").release


@pytest.fixture(scope="module")
def us_counts(release) -> pl.DataFrame:
    """Per unit of the release, the US picks of each candidate (0 where the US has none)."""
    comparisons = scan(release).select(
        "item_id", "annotator_id", "comparison_id", "country", "choice"
    )
    comparisons = (
        comparisons.collect()
        .sort("comparison_id")
        .unique(["item_id", "annotator_id"], keep="first")
    )
    us = comparisons.filter(pl.col("country") == "us")
    counts = us.group_by("item_id").agg(
        (pl.col("choice") == k).sum().alias(c) for k, c in enumerate(LETTERS)
    )
    units = comparisons.select("item_id").unique()
    return units.join(counts, on="item_id", how="left").fill_null(0).sort("item_id")


def with_weights(us_counts: pl.DataFrame, weights: np.ndarray) -> pl.DataFrame:
    return us_counts.select("item_id").with_columns(
        pl.Series(c, weights[:, k]) for k, c in enumerate(LETTERS)
    )


def test_a_model_of_the_us_pick_shares_scores_one_for_us_and_ranks_us_first(release, us_counts):
    counts = us_counts.select(list(LETTERS)).to_numpy().astype(float)
    weights = np.where(counts.sum(axis=1, keepdims=True) > 0, counts, 1.0)  # uniform elsewhere
    result = evaluate(release, with_weights(us_counts, weights), by="country", n_resamples=200)
    groups = result.groups.sort("rank_similarity")
    us = groups.row(0, named=True)
    assert us["group"] == "us" and us["rank_similarity"] == 1
    assert us["distributional_similarity"] == 1.0
    assert us["distributional_similarity_units"] >= 2
    assert (groups["distributional_similarity"][1:] < 1.0).all()
    gap = result.gaps.filter(pl.col("measure") == "distributional_similarity").row(0, named=True)
    assert gap["best"] == "us"


def test_a_model_of_the_us_plurality_ranks_us_first_on_pick_agreement(release, us_counts):
    counts = us_counts.select(list(LETTERS)).to_numpy()
    plurality = (counts == counts.max(axis=1, keepdims=True)).astype(float)  # ties share
    result = evaluate(release, with_weights(us_counts, plurality), by="country", n_resamples=0)
    ranked = result.groups.sort("rank_pick_agreement")
    assert ranked["group"][0] == "us" and ranked["rank_pick_agreement"][0] == 1
    assert ranked["pick_agreement"][0] > ranked["pick_agreement"][1]


def test_a_uniform_model_scores_the_uniform_baseline_on_every_group(release, us_counts):
    uniform = np.ones((us_counts.height, 4))
    result = evaluate(release, with_weights(us_counts, uniform), by="language", n_resamples=0)
    assert result.groups.height == 5
    for row in result.groups.to_dicts():
        assert row["distributional_similarity"] == row["uniform_baseline"]
        assert row["pick_agreement"] == 0.25
        assert row["pair_accuracy"] == 0.5  # every pair a tie


def test_pair_accuracy_comes_from_the_releases_pairs(release, us_counts):
    scores = np.random.default_rng(0).normal(size=(us_counts.height, 4))
    predictions = us_counts.select("item_id").with_columns(
        pl.Series(f"score_{c}", scores[:, k]) for k, c in enumerate(LETTERS)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(release, predictions, n_resamples=0)
    pairs = scan(release, "pairs").select(pl.len()).collect().item()
    overall = result.groups.row(0, named=True)
    assert 0 < overall["pair_accuracy_count"] <= pairs
    assert 0.0 < overall["pair_accuracy"] < 1.0


def predictions_file(us_counts: pl.DataFrame, tmp_path: Path) -> Path:
    weights = np.random.default_rng(1).dirichlet(np.ones(4), size=us_counts.height)
    path = tmp_path / "predictions.csv"
    with_weights(us_counts, weights).write_csv(path)
    return path


def test_the_command_prints_the_groups_and_the_gap(release, us_counts, tmp_path, capsys):
    path = predictions_file(us_counts, tmp_path)
    code = main(
        [
            "evaluate",
            str(release),
            "--predictions",
            str(path),
            "--by",
            "country",
            "--resamples",
            "100",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"Predictions {path} (weights) against {release}, by country" in out
    assert "intervals: 95% bootstrap percentile over units, 100 resamples, seed 0" in out
    for country in ("us", "fr", "it", "br", "in"):
        assert f"\n{country} " in out
    assert "distributional_similarity: best" in out


def test_the_command_prints_json_with_values_and_intervals(release, us_counts, tmp_path, capsys):
    path = predictions_file(us_counts, tmp_path)
    code = main(["evaluate", str(release), "--predictions", str(path), "--by", "country", "--json"])
    output = json.loads(capsys.readouterr().out)
    assert code == 0 and output["by"] == "country" and output["n_resamples"] == 1000
    assert [g["group"] for g in output["groups"]] == ["br", "fr", "in", "it", "us"]
    for record in output["groups"]:
        for measure in ("pick_agreement", "distributional_similarity"):
            assert set(record[measure]) == {"value", "low", "high", "units", "picks"}
        assert (
            record["pick_agreement"]["low"]
            <= record["pick_agreement"]["value"]
            <= record["pick_agreement"]["high"]
        )
    assert output["coverage"]["units_not_in_release"] == 0


def test_the_plot_is_a_png_without_metadata_and_the_same_each_time(
    release, us_counts, tmp_path, capsys
):
    path = predictions_file(us_counts, tmp_path)
    arguments = [
        "evaluate",
        str(release),
        "--predictions",
        str(path),
        "--by",
        "country",
        "--resamples",
        "50",
    ]
    assert main([*arguments, "--plot", str(tmp_path / "one.png")]) == 0
    assert main([*arguments, "--plot", str(tmp_path / "two.png")]) == 0
    first = (tmp_path / "one.png").read_bytes()
    assert first.startswith(b"\x89PNG") and first == (tmp_path / "two.png").read_bytes()
    assert b"matplotlib" not in first.lower()


def test_the_command_reports_bad_predictions_in_one_line(release, tmp_path, capsys):
    path = tmp_path / "predictions.csv"
    path.write_text("item_id,a,b,c,d\nabc,1,-1,0,0\n")
    assert main(["evaluate", str(release), "--predictions", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(
        f"community-alignment: error: {path}: row 1 (item_id abc): a weight is negative"
    )


def test_the_cards_evaluate_code_runs_on_the_release(release, capsys):
    card = (release / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Evaluate a model\n(.*?)^## ", card, flags=re.M | re.S)
    assert section, "the card has no Evaluate a model section"
    code = re.search(r"```python\n(.*?)```", section.group(1), flags=re.S).group(1)
    remote = re.search(r"hf://datasets/[^\"]+", code).group(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code.replace(remote, str(release)), "card", "exec"), {})
    out = capsys.readouterr().out
    assert "pick_agreement" in out and "distributional_similarity" in out
