"""The tables made from a slice of turns, on edge cases the builds in other tests rarely hit."""

from __future__ import annotations

import polars as pl
import pytest

from builder import tables
from community_alignment import contract, schema


def turns(*rows: dict) -> pl.DataFrame:
    """Turns as the tables step has them (in conversation order), with what ``comparisons``
    reads; a row gives conversation, turn, prompt, the chosen index and context_complete."""
    columns = [f for f in schema.field_names("comparisons") if f != "context"]
    made = []
    for row in rows:
        conversation, turn = row["conversation_id"], row["turn"]
        filled = {name: None for name in columns} | {
            "comparison_id": f"{conversation}-{turn}", "annotator_id": "7", "language": "en",
            "country": "us", "responses": [f"r{turn}{x}" for x in "abcd"], "item_id": "i",
            "is_pregenerated_first_prompt": True, "in_balanced_subset": False,
            "in_balanced_subset_10": False, "wave": 1, "fold": 3, "context_complete": True,
        } | row  # fmt: skip
        made.append(filled | {"is_comparison": filled["choice"] is not None})
    return pl.DataFrame(made, schema_overrides={"turn": pl.Int8, "wave": pl.Int8, "fold": pl.Int8})


def test_contexts_restart_at_each_conversation_and_leave_unknown_messages_out():
    frame = turns(
        {"conversation_id": "1", "turn": 1, "prompt": "p1", "choice": 1},
        {"conversation_id": "1", "turn": 2, "prompt": None, "choice": None},
        {"conversation_id": "1", "turn": 3, "prompt": "p3", "choice": 0, "context_complete": False},
        {"conversation_id": "2", "turn": 1, "prompt": "q1", "choice": 2},
    )
    made = tables.comparisons(frame)
    assert made.schema == schema.arrow_schema("comparisons")
    contexts = {c: [m["content"] for m in x] for c, x in zip(
        made["comparison_id"].to_pylist(), made["context"].to_pylist(), strict=True)}  # fmt: skip
    assert contexts == {"1-1": [], "1-3": ["p1", "r1b"], "2-1": []}


def test_pairs_of_sliced_comparisons_and_of_none_with_a_complete_context():
    frame = turns(
        {"conversation_id": "1", "turn": 1, "prompt": "p1", "choice": 1},
        {"conversation_id": "1", "turn": 2, "prompt": "p2", "choice": 3},
        {"conversation_id": "2", "turn": 1, "prompt": "q1", "choice": 0, "context_complete": False},
    )
    made = tables.comparisons(frame)
    second = tables.pairs(made.slice(1, 2))  # offsets into the arrays, not from their start
    assert second.schema == schema.arrow_schema("pairs")
    assert second["pair_id"].to_pylist() == ["1-2-a", "1-2-b", "1-2-c"]
    assert [[m["content"] for m in p] for p in second["prompt"].to_pylist()] == [
        ["p1", "r1b", "p2"]
    ] * 3
    assert second["chosen"].to_pylist()[0] == [{"role": "assistant", "content": "r2d"}]
    assert tables.pairs(made.slice(2, 1)).num_rows == 0  # its only context is incomplete
    assert tables.pairs(made.slice(0, 0)).num_rows == 0


def test_pairs_name_a_comparison_without_four_responses():
    made = tables.comparisons(
        turns(
            {
                "conversation_id": "9",
                "turn": 1,
                "prompt": "p",
                "choice": 0,
                "responses": ["a", "b", "c"],
            }
        )  # fmt: skip
    )
    with pytest.raises(ValueError, match="comparison 9-1: 3 responses, expected 4"):
        tables.pairs(made)


def test_in_order_takes_the_index_turns_in_its_order_and_leaves_other_rows_out():
    work = pl.DataFrame({
        "raw_row": [7, 3, 3, 9, 7],
        "conversation_id": ["10", "9", "9", "b", "10"],
        "turn": [2, 2, 1, 1, 1],
        "prompt": ["c", "b", "a", "x", "d"],
    })  # fmt: skip
    index = work.filter(pl.col("raw_row") != 9).sort(contract.order(["conversation_id", "turn"]))
    taken = tables.in_order(work, index)
    assert taken["prompt"].to_list() == ["a", "b", "d", "c"]


def test_in_order_raises_when_the_rows_read_are_not_the_index_turns():
    work = pl.DataFrame({"raw_row": [1, 1], "conversation_id": ["1", "1"], "turn": [1, 2]})
    index = pl.DataFrame({"raw_row": [1, 1, 1], "conversation_id": ["1"] * 3, "turn": [1, 2, 3]})
    with pytest.raises(ValueError, match="2 turns read for 3 in the index"):
        tables.in_order(work, index)
