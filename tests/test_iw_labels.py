"""Tests of community_alignment.iw.labels: reading and checking a labelling, and its coverage of a
corpus."""

from __future__ import annotations

import polars as pl
import pytest

from community_alignment import iw
from community_alignment.hashing import response_key
from tests.iw_corpus import (
    SCORES,
    comparisons,
    key,
    label_frame,
)


def test_labels_load_alike_from_csv_parquet_and_frame(tmp_path):
    frame = label_frame()
    frame.write_csv(tmp_path / "labels.csv")
    frame.write_parquet(tmp_path / "labels.parquet")
    loaded = [
        iw.load_labels(x) for x in (frame, tmp_path / "labels.csv", tmp_path / "labels.parquet")
    ]
    assert loaded[0].frame.equals(loaded[1].frame)
    assert loaded[0].frame.equals(loaded[2].frame)


def test_pole_is_derived_from_scores_when_not_given():
    poles = dict(iw.load_labels(label_frame()).frame.select("response_key", "pole").iter_rows())
    assert [poles[response_key(t)] for t in SCORES] == [
        "traditional", "self-expression", "secular-rational", "survival",
    ]  # fmt: skip


def test_unknown_pole_is_an_error_naming_value_and_row():
    frame = label_frame().with_columns(pl.Series("pole", [None, None, "modernist", None]))
    with pytest.raises(ValueError, match=r"row 3: unknown pole 'modernist'"):
        iw.load_labels(frame)


def test_pole_names_forgive_case_spaces_and_underscores():
    frame = pl.DataFrame({"response_key": [key(1), key(2)], "pole": ["Secular_Rational",
                          " self expression "], "labeller": ["j", "j"]})  # fmt: skip
    assert iw.load_labels(frame).frame["pole"].to_list() == ["secular-rational", "self-expression"]


def test_score_outside_minus_one_one_is_an_error_naming_the_row():
    frame = label_frame().with_columns(pl.Series("survival_self_expression", [0.2, 0.6, 1.5, 0.0]))
    with pytest.raises(ValueError, match=r"row 3: survival_self_expression 1.5 is outside"):
        iw.load_labels(frame)


def test_score_that_is_not_a_number_is_an_error(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(
        "response_key,traditional_secular,survival_self_expression,labeller\n"
        f"{key(1)},0.5,0.1,j\n{key(2)},high,0.1,j\n"
    )
    with pytest.raises(ValueError, match=r"row 2: traditional_secular 'high' is not a number"):
        iw.load_labels(path)


@pytest.mark.parametrize("column", ["response_key", "labeller"])
def test_missing_required_column_is_named(column):
    with pytest.raises(ValueError, match=f"lack the required column.*{column}"):
        iw.load_labels(label_frame().drop(column))


def test_labels_need_a_pole_or_both_scores():
    with pytest.raises(ValueError, match="need a pole column, or both score columns"):
        iw.load_labels(label_frame().drop("pole", *iw.AXES))
    with pytest.raises(ValueError, match="one score column but not survival_self_expression"):
        iw.load_labels(label_frame().drop("survival_self_expression"))
    half = label_frame().with_columns(pl.Series("survival_self_expression", [0.1, None, 0.2, 0.3]))
    with pytest.raises(ValueError, match="row 2: give both scores or neither"):
        iw.load_labels(half)
    empty = pl.DataFrame({"response_key": [key(1)], "pole": [None], "labeller": ["j"]},
                         schema_overrides={"pole": pl.String})  # fmt: skip
    with pytest.raises(ValueError, match="row 1: the label has neither a pole nor scores"):
        iw.load_labels(empty)


def test_duplicate_key_with_different_labels_is_an_error_naming_the_key():
    frame = pl.DataFrame({"response_key": [key(1), key(2), key(1)],
                          "pole": ["traditional", "survival", "survival"],
                          "labeller": ["j", "j", "j"]})  # fmt: skip
    with pytest.raises(ValueError, match=f"response_key {key(1)} has 2 different labels"):
        iw.load_labels(frame)


def test_identical_duplicate_rows_collapse():
    frame = pl.concat([label_frame(), label_frame().head(2)])
    assert len(iw.load_labels(frame)) == len(SCORES)


def test_malformed_response_key_is_an_error():
    frame = label_frame().with_columns(
        pl.Series("response_key", ["t1 text", key(2), key(3), key(4)])
    )
    with pytest.raises(ValueError, match="row 1: response_key 't1 text' is not a response key"):
        iw.load_labels(frame)


def test_coverage_of_counts_labels_for_responses_outside_the_corpus():
    extra = pl.DataFrame({"response_key": [key(7), key(8)], "pole": ["survival", "traditional"],
                          "traditional_secular": [None, None], "survival_self_expression": [None, None],
                          "labeller": ["hand", "hand"]})  # fmt: skip
    labels = iw.load_labels(pl.concat([label_frame(), extra], how="vertical_relaxed"))
    report = labels.coverage_of(comparisons())
    assert report["corpus_responses"] == 5  # t1..t5
    assert report["labelled_responses"] == 4
    assert report["unlabelled_responses"] == 1
    assert report["labels"] == 6
    assert report["labels_not_in_corpus"] == 2
    assert report["examples_not_in_corpus"] == [key(7), key(8)]
