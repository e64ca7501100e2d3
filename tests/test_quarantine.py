"""builder.quarantine: the only way in, and the books it keeps."""

from __future__ import annotations

import polars as pl
import pytest

from builder import quarantine


def frame(**columns) -> pl.DataFrame:
    return pl.DataFrame(
        {"raw_row": [3, 1], "conversation_id": ["c", "a"], "annotator_id": ["x", "y"]} | columns
    )


def test_an_entry_has_the_schema_whatever_the_frame_carries():
    made = quarantine.entries(frame(extra=[1, 2]), "missing_id", pl.lit("why"))
    assert made.schema == pl.Schema(quarantine.SCHEMA)
    assert made["turn"].null_count() == 2


def test_turn_entries_keep_their_turn():
    made = quarantine.entries(frame(turn=[2, 1]), "invalid_choice", pl.lit("x"), turn=True)
    assert made["turn"].to_list() == [2, 1]


def test_a_reason_the_schema_does_not_know_is_an_error():
    with pytest.raises(ValueError, match="'typo' is not a quarantine reason"):
        quarantine.entries(frame(), "typo", pl.lit("x"))
    with pytest.raises(ValueError, match=r"\['typo'\] are not quarantine reasons"):
        quarantine.entries(frame(why=["typo", "missing_id"]), pl.col("why"), pl.lit("x"))


def test_combined_entries_are_in_raw_order_a_row_before_its_turns():
    rows = quarantine.entries(frame(), "missing_id", pl.lit("r"))
    turns = quarantine.entries(frame(turn=[1, 2]), "invalid_choice", pl.lit("t"), turn=True)
    combined = quarantine.combine([turns, rows])
    assert combined.select("raw_row", "turn").rows() == [(1, None), (1, 2), (3, None), (3, 1)]
    assert quarantine.reason_counts(combined) == {"invalid_choice": 2, "missing_id": 2}
    assert quarantine.rows_only(combined).height == quarantine.turns_only(combined).height == 2


def test_nothing_set_aside_is_an_empty_quarantine_with_the_schema():
    assert quarantine.combine([]).schema == pl.Schema(quarantine.SCHEMA)
