"""Row-level behaviour of the build: what is released, what is quarantined, and why."""

from __future__ import annotations

import polars as pl
import pytest

from builder.validate import validate
from community_alignment.load import scan
from tests.conftest import raw_row

PROMPT = 'Prompt {} of 1, with "quotes",\ncommas'  # raw_row's prompt of conversation 1


def comparisons(result) -> pl.DataFrame:
    return scan(result.release, "comparisons").collect().sort("conversation_id", "turn")


def quarantine(result) -> pl.DataFrame:
    return pl.read_parquet(result.report_dir / "quarantine.parquet")


def test_every_turn_with_a_valid_choice_is_a_comparison(build_rows):
    result = build_rows([raw_row("1", turns=1), raw_row("2", turns=4)])
    assert comparisons(result)["comparison_id"].to_list() == ["1-1", "2-1", "2-2", "2-3", "2-4"]
    assert result.report["books"]["comparisons"] == 5


def test_context_holds_earlier_prompts_and_the_chosen_replies(build_rows):
    result = build_rows([raw_row("1", turns=3, choices=["response_b", "response_c", "response_a"])])
    third = comparisons(result).filter(pl.col("turn") == 3).row(0, named=True)
    assert [m["role"] for m in third["context"]] == ["user", "assistant", "user", "assistant"]
    assert third["context"][1]["content"] == "Answer B1 of 1"
    assert third["context"][3]["content"] == "Answer C2 of 1"
    assert third["context_complete"] is True


def test_pairs_hold_the_context_and_prompt_then_the_chosen_and_each_rejected_reply(build_rows):
    result = build_rows([raw_row("1", turns=3, choices=["response_b", "response_c", "response_a"])])
    pairs = scan(result.release, "pairs").collect().filter(pl.col("turn") == 3)
    assert pairs["pair_id"].to_list() == ["1-3-b", "1-3-c", "1-3-d"]
    assert pairs["rejected_choice"].to_list() == [1, 2, 3]
    assert set(pairs["chosen_choice"]) == {0}
    for pair in pairs.iter_rows(named=True):
        assert [(m["role"], m["content"]) for m in pair["prompt"]] == [
            ("user", PROMPT.format(1)), ("assistant", "Answer B1 of 1"),
            ("user", PROMPT.format(2)), ("assistant", "Answer C2 of 1"),
            ("user", PROMPT.format(3)),
        ]  # fmt: skip
        letter = "ABCD"[pair["rejected_choice"]]
        assert pair["chosen"] == [{"role": "assistant", "content": "Answer A3 of 1"}]
        assert pair["rejected"] == [{"role": "assistant", "content": f"Answer {letter}3 of 1"}]


def test_empty_string_literal_is_missing_and_end_of_text_is_stripped(build_rows):
    row = raw_row("1", turns=1, first_turn_feedback="EMPTY STRING", annotator_age="EMPTY STRING",
                  first_turn_response_b="Answer B<|end_of_text|>")  # fmt: skip
    first = comparisons(build_rows([row])).row(0, named=True)
    assert first["explanation"] is None
    assert first["annotator_age"] is None
    assert first["responses"][1] == "Answer B"


def test_unknown_language_and_country_are_quarantined_with_reasons(build_rows):
    result = build_rows(
        [raw_row("1"), raw_row("2", language="de"), raw_row("3", country="germany")]
    )
    reasons = dict(quarantine(result).select("conversation_id", "reason").iter_rows())
    assert reasons == {"2": "unknown_language", "3": "unknown_country"}
    assert comparisons(result)["conversation_id"].unique().to_list() == ["1"]


def test_language_tags_are_normalised_with_langcodes(build_rows):
    result = build_rows([raw_row("1", language="PT-br", country="brazil")])
    assert comparisons(result)["language"].unique().to_list() == ["pt"]


def test_invalid_choice_is_quarantined_and_later_context_is_incomplete(build_rows):
    row = raw_row("1", turns=3, choices=["response_a", "response_e", "response_b"])
    result = build_rows([row])
    entry = quarantine(result).row(0, named=True)
    assert (entry["turn"], entry["reason"]) == (2, "invalid_choice")
    assert "response_e" in entry["detail"]
    released = comparisons(result)
    assert released["turn"].to_list() == [1, 3]
    assert released["context_complete"].to_list() == [True, False]
    third = released.row(1, named=True)
    assert [m["role"] for m in third["context"]] == ["user", "assistant", "user"]


def test_choice_without_prompt_is_quarantined(build_rows):
    result = build_rows([raw_row("1", turns=2, second_turn_prompt="")])
    entry = quarantine(result).row(0, named=True)
    assert (entry["turn"], entry["reason"]) == (2, "choice_without_prompt")
    assert comparisons(result)["turn"].to_list() == [1]


def test_missing_chosen_candidate_is_quarantined(build_rows):
    result = build_rows([raw_row("1", turns=1, first_turn_response_a="")])
    assert quarantine(result)["reason"].to_list() == ["chosen_response_missing"]
    assert result.report["books"]["comparisons"] == 0
    assert not list(result.release.glob("data/comparisons/**/*.parquet"))


@pytest.mark.parametrize("missing", ["", " \n<|end_of_text|>"])  # empty, or only junk
def test_missing_other_candidate_stays_null_and_gets_no_pair(build_rows, missing):
    result = build_rows([raw_row("1", turns=1, first_turn_response_c=missing)])
    assert comparisons(result)["responses"].to_list() == [
        ["Answer A1 of 1", "Answer B1 of 1", None, "Answer D1 of 1"]
    ]
    pairs = scan(result.release, "pairs").collect()
    assert sorted(pairs["rejected_choice"].to_list()) == [1, 3]
    assert not (result.report_dir / "_work").exists()  # the work files are gone


def test_turn_without_choice_stays_in_conversations_only(build_rows):
    row = raw_row("1", turns=3, choices=["response_a", "", "response_b"])
    result = build_rows([row])
    assert comparisons(result)["turn"].to_list() == [1, 3]
    assert quarantine(result).is_empty()
    conversation = scan(result.release, "conversations").collect().row(0, named=True)
    assert [t["choice"] for t in conversation["turns"]] == [0, None, 1]
    assert [t["comparison_id"] for t in conversation["turns"]] == ["1-1", None, "1-3"]
    assert conversation["num_turns"] == 3 and conversation["num_comparisons"] == 2


def test_turn_gap_makes_later_context_incomplete_and_keeps_it_out_of_pairs(build_rows):
    gap = {f"second_turn_{field}": "" for field in
           ["prompt", "responses", "response_a", "response_b", "response_c", "response_d",
            "preferred_response", "feedback"]}  # fmt: skip
    result = build_rows([raw_row("1", turns=3, **gap)])
    released = comparisons(result)
    assert released["turn"].to_list() == [1, 3]
    assert released["context_complete"].to_list() == [True, False]
    pairs = scan(result.release, "pairs").collect()
    assert pairs["comparison_id"].unique().to_list() == ["1-1"]
    assert result.report["pairs_left_out"]["comparisons_with_incomplete_context"] == 1


def test_exact_duplicate_rows_keep_one_and_are_counted(build_rows):
    result = build_rows([raw_row("1"), raw_row("1"), raw_row("2")])
    assert result.report["books"]["duplicate_rows_dropped"] == 1
    assert comparisons(result)["conversation_id"].to_list() == ["1", "1", "2", "2"]


def test_same_conversation_id_with_different_content_quarantines_all_its_rows(build_rows):
    result = build_rows([raw_row("1"), raw_row("1", first_turn_feedback="other"), raw_row("2")])
    entries = quarantine(result)
    assert entries["reason"].to_list() == ["conflicting_duplicate_conversation"] * 2
    assert entries["raw_row"].to_list() == [1, 2]
    assert comparisons(result)["conversation_id"].unique().to_list() == ["2"]


def test_annotator_whose_rows_disagree_on_country_is_quarantined(build_rows):
    result = build_rows(
        [raw_row("1", "7"), raw_row("2", "7", country="france", language="fr"), raw_row("3", "8")]
    )
    entries = quarantine(result)
    assert entries["reason"].to_list() == ["annotator_country_conflict"] * 2
    assert "fr, us" in entries["detail"][0]
    assert comparisons(result)["annotator_id"].unique().to_list() == ["8"]


def test_annotator_with_two_languages_is_legitimate(build_rows):
    result = build_rows(
        [raw_row("1", "7", language="hi", country="india"), raw_row("2", "7", country="india")]
    )
    annotator = scan(result.release, "annotators").collect().row(0, named=True)
    assert annotator["languages"] == ["en", "hi"]
    assert annotator["num_conversations"] == 2 and annotator["num_comparisons"] == 4
    assert quarantine(result).is_empty()


def test_most_frequent_demographic_wins_and_overrides_are_listed(build_rows):
    rows = [raw_row("1", "7"), raw_row("2", "7"), raw_row("3", "7", annotator_age="55+"),
            raw_row("4", "7", annotator_gender="")]  # fmt: skip
    result = build_rows(rows)
    released = comparisons(result)
    assert released["annotator_age"].unique().to_list() == ["18-34"]
    assert released["annotator_gender"].unique().to_list() == ["female"]
    assert result.report["demographic_overrides"] == [
        {"annotator_id": "7", "field": "annotator_age", "value_kept": "18-34",
         "value_overridden": "55+", "rows": 1}
    ]  # fmt: skip


def test_curly_and_straight_apostrophes_are_one_answer(build_rows):
    curly = "I don\u2019t think of myself in this way"
    result = build_rows([raw_row("1", "7", annotator_political=curly), raw_row("2", "8")])
    values = set(comparisons(result)["annotator_political"].to_list())
    assert values == {"I don't think of myself in this way", "Somewhat left-leaning"}


def test_invalid_flag_is_quarantined(build_rows):
    result = build_rows([raw_row("1", wave="3"), raw_row("2", in_balanced_subset="maybe")])
    assert quarantine(result)["reason"].to_list() == ["invalid_flag", "invalid_flag"]


def test_books_balance_on_a_mix_of_problems(build_rows):
    rows = [raw_row("1"), raw_row("1"), raw_row("2", language="xx"),
            raw_row("3", choices=["response_z", "response_a"]), raw_row("4", turns=4)]  # fmt: skip
    books = build_rows(rows).report["books"]
    assert books["raw_rows"] == 5
    assert books["raw_turns_with_choice"] == 2 + 2 + 2 + 2 + 4
    assert books["comparisons"] == 2 + 1 + 4
    assert books["turns_quarantined"] == 1
    assert books["choices_in_quarantined_rows"] == 2
    assert books["choices_in_dropped_duplicates"] == 2


def test_text_hygiene_is_applied_and_recorded(build_rows):
    decomposed = "cafe\u0301"  # e + combining accent: NFC makes it one character
    row = raw_row("1", turns=1, first_turn_prompt="Line one\r\nline two\x07",
                  first_turn_feedback="\ufeff" + decomposed)  # fmt: skip
    result = build_rows([row])
    first = comparisons(result).row(0, named=True)
    assert first["prompt"] == "Line one\nline two"
    assert first["explanation"] == "caf\u00e9"
    assert result.report["text"]["hygiene"] == {
        "byte_order_mark": 1, "carriage_return": 1, "control_character": 1, "unicode_nfc": 1,
    }  # fmt: skip


def test_nfc_applies_to_ids_and_hashes_alike(build_rows):
    decomposed, composed = "Cafe\u0301?", "Caf\u00e9?"
    result = build_rows([raw_row("1", "7", turns=1, first_turn_prompt=decomposed),
                         raw_row("2", "8", turns=1, first_turn_prompt=composed)])  # fmt: skip
    released = comparisons(result)
    assert released["first_prompt_id"].n_unique() == 1
    assert released["prompt"].unique().to_list() == [composed]


def test_responses_cell_that_disagrees_with_the_columns_is_counted_per_turn(build_rows):
    row = raw_row("1", turns=2)
    row["second_turn_responses"] = row["second_turn_responses"].replace("Answer C2", "Other")
    result = build_rows([row, raw_row("2", turns=2)])
    assert result.report["text"]["responses_cell_mismatches_by_turn"] == {
        "1": 0, "2": 1, "3": 0, "4": 0,
    }  # fmt: skip
    assert "Answer C2 of 1" in comparisons(result).filter(pl.col("turn") == 2)["responses"][0]


def test_ids_that_are_not_numbers_sort_after_numbers_and_keep_conversations_together(build_rows):
    a = raw_row("a", turns=3, choices=["response_a", "response_b", "response_c"])
    rows = [raw_row("b", turns=2), a, raw_row("10", turns=2), raw_row("010", turns=1),
            raw_row("9", turns=2)]  # fmt: skip
    result = build_rows(rows)
    released = scan(result.release, "comparisons").collect()
    assert released["comparison_id"].to_list() == [
        "9-1", "9-2", "010-1", "10-1", "10-2", "a-1", "a-2", "a-3", "b-1", "b-2",
    ]  # fmt: skip
    third = released.filter(pl.col("comparison_id") == "a-3").row(0, named=True)
    assert [m["content"] for m in third["context"]][1::2] == ["Answer A1 of a", "Answer B2 of a"]
    assert validate(result.release, load=False).ok
