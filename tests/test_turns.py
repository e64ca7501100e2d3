"""builder.turns: a cleaned conversation row becomes its present turns."""

from __future__ import annotations

import polars as pl

from community_alignment.hashing import stable_id
from tests.conftest import PREFIXES, raw_row
from tests.rooms import long_turns


def test_one_turn_per_present_turn_in_order(tmp_path):
    made = long_turns(tmp_path, [raw_row("1", turns=3), raw_row("2", turns=1)])
    assert made.select("conversation_id", "turn").rows() == [("1", 1), ("2", 1), ("1", 2), ("1", 3)]


def test_choice_is_an_index_and_a_bad_one_is_a_turn_problem(tmp_path):
    made = long_turns(tmp_path, [
        raw_row("1", turns=3, choices=["response_c", "response_z", ""]),
        raw_row("2", turns=1, first_turn_prompt=""),
        raw_row("3", turns=1, first_turn_response_a=""),
    ]).sort("conversation_id", "turn")  # fmt: skip
    assert made.select("conversation_id", "turn", "choice", "turn_problem").rows() == [
        ("1", 1, 2, None),
        ("1", 2, None, "invalid_choice"),
        ("1", 3, None, None),  # no choice recorded: a turn, not a comparison
        ("2", 1, None, "choice_without_prompt"),
        ("3", 1, None, "chosen_response_missing"),
    ]


def test_end_of_text_is_removed_and_a_response_of_only_junk_is_missing(tmp_path):
    made = long_turns(tmp_path, [raw_row("1", turns=1, choices=["response_b"],
                                         first_turn_response_a="Hi <|end_of_text|>",
                                         first_turn_response_c="<|end_of_text|>")])  # fmt: skip
    assert made["responses"][0].to_list() == ["Hi", "Answer B1 of 1", None, "Answer D1 of 1"]


def test_context_is_complete_only_when_every_earlier_turn_has_a_prompt_and_choice(tmp_path):
    made = long_turns(tmp_path, [raw_row("1", turns=3, choices=["response_a", "", "response_b"])])
    assert made.sort("turn")["context_complete"].to_list() == [True, True, False]


def test_item_id_hashes_the_context_prompt_and_responses(tmp_path):
    made = long_turns(tmp_path, [raw_row("1", turns=2, choices=["response_b", "response_a"])])
    second = made.filter(pl.col("turn") == 2).row(0, named=True)
    prompt = 'Prompt {} of 1, with "quotes",\ncommas'
    expected = stable_id([
        "user", prompt.format(1), "assistant", "Answer B1 of 1",
        prompt.format(2), *(f"Answer {x}2 of 1" for x in "ABCD"),
    ])  # fmt: skip
    assert second["item_id"] == expected
    first = made.filter(pl.col("turn") == 1).row(0, named=True)
    assert first["item_id"] == stable_id([prompt.format(1), *(f"Answer {x}1 of 1" for x in "ABCD")])


def same_text(row: dict) -> dict:
    """The row with the texts of conversation 0 (raw_row writes each conversation's own)."""
    own = f" of {row['conversation_id']}"
    return {
        k: v.replace(own, " of 0") if k.startswith(tuple(PREFIXES)) else v for k, v in row.items()
    }


def test_the_same_candidates_after_the_same_context_share_an_item_id(tmp_path):
    rows = [
        raw_row("1", "a"),
        raw_row("2", "b"),
        raw_row("3", "c", choices=["response_c", "response_d"]),
    ]
    made = long_turns(tmp_path, [same_text(row) for row in rows])
    firsts = made.filter(pl.col("turn") == 1)["item_id"]
    assert firsts.n_unique() == 1
    seconds = made.filter(pl.col("turn") == 2).sort("conversation_id")["item_id"].to_list()
    assert seconds[0] == seconds[1] != seconds[2]  # the third chose another reply first
