"""builder.decide: decisions over every row's keys (duplicates, annotator country, consensus)."""

from __future__ import annotations

import polars as pl

from builder import decide
from community_alignment import schema


def keys(*rows: dict) -> pl.DataFrame:
    """Rows of keys as the stream hands them to decide (only what a test names is set)."""
    base = {
        "conversation_id": None, "annotator_id": "a", "language": "en", "country": "us",
        "row_hash": 0, "row_problem": None, "row_detail": None, "wave": 1,
        "choices_recorded": 1, **dict.fromkeys(schema.demographics()),
    }  # fmt: skip
    made = [base | {"raw_row": n} | row for n, row in enumerate(rows, start=1)]
    return pl.DataFrame(made, schema_overrides={"wave": pl.Int8, "row_hash": pl.UInt64})


def test_an_exact_duplicate_is_dropped_and_the_first_row_kept():
    made = decide.decide(keys({"conversation_id": "1"}, {"conversation_id": "1"}))
    assert made.accepted_rows["raw_row"].to_list() == [1]
    assert made.duplicate_rows.rows() == [(2, "1", 1)]
    assert made.quarantine.is_empty()


def test_one_conversation_id_with_different_content_quarantines_all_its_rows():
    made = decide.decide(keys({"conversation_id": "1", "row_hash": 5}, {"conversation_id": "1"}))
    assert made.accepted_rows.is_empty()
    assert made.quarantine.select("raw_row", "reason", "detail").rows() == [
        (1, "conflicting_duplicate_conversation", "2 rows share this conversation_id with different content"),
        (2, "conflicting_duplicate_conversation", "2 rows share this conversation_id with different content"),
    ]  # fmt: skip


def test_a_row_problem_from_cleaning_is_quarantined_with_its_detail():
    made = decide.decide(keys(
        {"conversation_id": "1"},
        {"conversation_id": "2", "row_problem": "unknown_language", "row_detail": "assigned_lang is 'de'"},
    ))  # fmt: skip
    assert made.accepted_rows["raw_row"].to_list() == [1]
    assert made.quarantine.select("raw_row", "turn", "reason", "detail").rows() == [
        (2, None, "unknown_language", "assigned_lang is 'de'")
    ]


def test_an_annotator_in_two_countries_has_every_row_quarantined():
    made = decide.decide(keys(
        {"conversation_id": "1", "annotator_id": "x", "country": "us"},
        {"conversation_id": "2", "annotator_id": "x", "country": "fr", "row_hash": 1},
        {"conversation_id": "3", "annotator_id": "y", "country": "fr", "row_hash": 2},
    ))  # fmt: skip
    assert made.accepted_rows["raw_row"].to_list() == [3]
    assert made.quarantine["reason"].to_list() == ["annotator_country_conflict"] * 2
    assert made.quarantine["detail"][0] == "annotator's rows name countries fr, us"


def test_the_most_frequent_answer_wins_and_each_override_is_listed():
    made = decide.decide(keys(
        {"conversation_id": "1", "annotator_gender": "male", "annotator_age": "18-34"},
        {"conversation_id": "2", "annotator_gender": "male", "row_hash": 1},
        {"conversation_id": "3", "annotator_gender": "female", "row_hash": 2},
    ))  # fmt: skip
    annotator = made.annotators.row(0, named=True)
    assert (annotator["annotator_gender"], annotator["annotator_age"]) == ("male", "18-34")
    assert made.overrides.rows() == [("a", "annotator_gender", "male", "female", 1)]


def test_a_tie_goes_to_the_alphabetically_first_answer():
    made = decide.decide(keys(
        {"conversation_id": "1", "annotator_gender": "male"},
        {"conversation_id": "2", "annotator_gender": "female", "row_hash": 1},
    ))  # fmt: skip
    assert made.annotators["annotator_gender"].to_list() == ["female"]


def test_an_annotator_with_two_languages_is_normal():
    made = decide.decide(keys(
        {"conversation_id": "1", "language": "hi", "country": "in"},
        {"conversation_id": "2", "language": "en", "country": "in", "row_hash": 1},
    ))  # fmt: skip
    assert made.annotators.select("country", "languages").row(0) == ("in", ["en", "hi"])
    assert made.quarantine.is_empty()
