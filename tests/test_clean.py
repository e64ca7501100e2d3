"""builder.clean: one batch's values normalised and coded, and row problems found."""

from __future__ import annotations

from tests.conftest import raw_row
from tests.rooms import normalised


def test_codes_for_language_country_flags_and_wave(tmp_path):
    frame, _ = normalised(tmp_path, [raw_row("1", language=" PT-br ", country="Brazil", wave="2")])
    row = frame.row(0, named=True)
    assert (row["language"], row["country"], row["wave_code"]) == ("pt", "br", 2)
    assert row["is_pregenerated_first_prompt_code"] is True
    assert row["row_problem"] is None


def test_ids_are_stripped_of_surrounding_space(tmp_path):
    frame, _ = normalised(tmp_path, [raw_row(" 12 ", " 34 ")])
    assert frame.select("conversation_id", "annotator_id").row(0) == ("12", "34")


def test_missing_markers_become_null(tmp_path):
    frame, _ = normalised(
        tmp_path, [raw_row("1", annotator_age="  EMPTY STRING ", first_turn_feedback="")]
    )
    assert frame["annotator_age"][0] is None
    assert frame["first_turn_feedback"][0] is None


def test_a_curly_apostrophe_in_a_demographic_answer_is_the_straight_one(tmp_path):
    frame, _ = normalised(
        tmp_path, [raw_row("1", annotator_political="I don\u2019t think of myself in this way")]
    )
    assert frame["annotator_political"][0] == "I don't think of myself in this way"


def test_the_first_row_problem_is_named_with_the_offending_value(tmp_path):
    frame, _ = normalised(tmp_path, [
        raw_row("1", language="de"),
        raw_row("2", country="germany"),
        raw_row("3", wave="3"),
        raw_row("4", in_balanced_subset="maybe"),
        raw_row("", language="de"),  # both: the missing id comes first
    ])  # fmt: skip
    problems = frame.select("row_problem", "row_detail").rows()
    assert problems == [
        ("unknown_language", "assigned_lang is 'de'"),
        ("unknown_country", "annotator_country is 'germany'"),
        ("invalid_flag", "wave is '3'"),
        ("invalid_flag", "in_balanced_subset is 'maybe'"),
        ("missing_id", "conversation_id or annotator_id is empty"),
    ]


def test_text_hygiene_is_counted_per_step(tmp_path):
    frame, changed = normalised(tmp_path, [
        raw_row("1", first_turn_prompt="line one\r\nline two", first_turn_feedback="bell\x07"),
        raw_row("2", first_turn_prompt="\ufeffcafe\u0301"),
    ])  # fmt: skip
    assert frame["first_turn_prompt"].to_list() == ["line one\nline two", "caf\u00e9"]
    assert frame["first_turn_feedback"][0] == "bell"
    assert changed == {
        "byte_order_mark": 1, "carriage_return": 1, "control_character": 1, "unicode_nfc": 1,
    }  # fmt: skip


def test_the_responses_cells_are_not_kept_after_cleaning(tmp_path):
    frame, _ = normalised(tmp_path, [raw_row("1")])
    assert not [c for c in frame.columns if c.endswith("_turn_responses")]
    assert frame["first_turn_response_a"][0] == "Answer A1 of 1"
