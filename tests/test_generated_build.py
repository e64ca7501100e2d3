"""A build of generated raw data reports exactly what the generator put in."""

from __future__ import annotations

import polars as pl
import pytest

from builder.build import build
from builder.generate import GeneratorConfig, generate
from community_alignment import schema
from community_alignment.describe import describe, statistics
from community_alignment.load import scan

ALIASES = schema.vocabulary("annotator_political")["aliases"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    truth = generate(folder / "raw.csv", GeneratorConfig(conversations=700, seed=11, annotators=40))
    result = build(folder / "raw.csv", folder / "release")
    return truth, result


def counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    return {str(k): v for k, v in frame.group_by(column).len().iter_rows()}


def test_counts_equal_the_generators(built):
    truth, result = built
    comparisons = scan(result.release, "comparisons").collect()
    conversations = scan(result.release, "conversations").collect()
    annotators = scan(result.release, "annotators").collect()
    assert comparisons.height == truth["comparisons"]
    assert conversations.height == truth["conversations"]
    assert annotators.height == truth["annotators"]
    assert counts(comparisons, "country") == truth["comparisons_by_country"]
    assert counts(comparisons, "language") == truth["comparisons_by_language"]
    assert counts(comparisons, "turn") == truth["comparisons_by_turn"]
    assert counts(conversations, "num_turns") == truth["conversations_by_length"]
    assert counts(conversations, "country") == truth["conversations_by_country"]
    assert counts(annotators, "country") == truth["annotators_by_country"]
    assert comparisons["explanation"].is_not_null().sum() == truth["explanations"]
    assert (~comparisons["context_complete"]).sum() == truth["comparisons_with_incomplete_context"]


def test_books_reconcile_against_the_generators_counts(built):
    truth, result = built
    books = result.report["books"]
    assert books["raw_rows"] == books["conversations_released"] == truth["conversations"]
    assert books["comparisons"] == truth["comparisons"]
    assert books["rows_quarantined"] == books["turns_quarantined"] == 0
    assert books["raw_turns_with_choice"] == truth["comparisons"]


def test_every_comparisons_demographics_equal_the_annotators_raw_values(built):
    truth, result = built
    detail = truth["annotators_detail"]
    comparisons = scan(result.release, "comparisons").select(
        "annotator_id", "country", "wave", *schema.demographics()
    ).unique().collect()  # fmt: skip
    assert comparisons["annotator_id"].n_unique() == comparisons.height  # one profile each
    for row in comparisons.iter_rows(named=True):
        raw = detail[row["annotator_id"]]
        assert row["country"] == raw["country"]
        assert row["wave"] == raw["wave"]
        for field in schema.demographics():
            value = raw[field.removeprefix("annotator_")]
            assert row[field] == ALIASES.get(value, value), (row["annotator_id"], field)


def test_pairs_are_one_per_present_rejected_candidate_of_complete_comparisons(built):
    _, result = built
    comparisons = scan(result.release, "comparisons").collect()
    complete = comparisons.filter(pl.col("context_complete"))
    expected = complete.select(pl.col("responses").list.drop_nulls().list.len() - 1).sum().item()
    assert scan(result.release, "pairs").select(pl.len()).collect().item() == expected


def test_describe_equals_the_generators_statistics(built):
    truth, result = built
    stats = describe(result.release)
    assert stats["first_prompts_with_10_annotators"] == truth["first_prompts_with_10_annotators"]
    assert stats["share_annotator_written_first_prompt"] == pytest.approx(
        1 - truth["pregenerated_conversations"] / truth["conversations"]
    )
    shares = {k: v / truth["comparisons"] for k, v in truth["comparisons_by_choice"].items()}
    assert stats["position_shares"] == pytest.approx(shares)


def test_statistics_name_the_columns_a_frame_lacks(built):
    _, result = built
    comparisons = scan(result.release, "comparisons").drop("responses")
    with pytest.raises(ValueError, match="lacks column.*: responses"):
        statistics(comparisons, scan(result.release, "conversations"))
