"""The responses cell: the spellings the generator writes, the build's check of them, and the
check's fast path against the cell-by-cell reference parse."""

from __future__ import annotations

import csv
from dataclasses import replace

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder import responses_cell
from builder.build import build
from builder.generate import GeneratorConfig, generate
from builder.generate.spellings import RESPONSES_SPELLINGS, responses_spelling
from builder.responses_cell import LETTERS, OTHER, Spelling, agrees, check
from community_alignment import schema

PREFIXES = [prefix for _, prefix in schema.turn_prefixes()]
SMALL = GeneratorConfig(conversations=50, seed=4, annotators=8)
VARIANTS = {
    **{name: {"responses_spelling": (name,)} for name in RESPONSES_SPELLINGS},
    "all at once": {"responses_spelling": tuple(RESPONSES_SPELLINGS)},
    "shuffled blocks": {"responses_shuffled_rate": 0.3},
}


def cells_of(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_spelling_builds_with_no_cell_disagreeing(tmp_path, variant):
    config = replace(SMALL, **VARIANTS[variant])
    generate(tmp_path / "raw.csv", config)
    report = build(tmp_path / "raw.csv", tmp_path / "release").report["text"]
    assert report["responses_cell_mismatches_by_turn"] == {"1": 0, "2": 0, "3": 0, "4": 0}
    spellings = report["responses_cell_spellings"]
    if variant != "shuffled blocks":  # one spelling for the whole file, found as such
        label = responses_spelling(config.responses_spelling).label()
        assert list(spellings) == [label]
    turns = sum(
        bool(row[f"{p}_turn_prompt"]) for row in cells_of(tmp_path / "raw.csv") for p in PREFIXES
    )
    assert sum(spellings.values()) == turns


def test_generator_writes_the_named_spelling(tmp_path):
    generate(tmp_path / "raw.csv", replace(SMALL, responses_spelling=("one_newline", "crlf")))
    for row in cells_of(tmp_path / "raw.csv"):
        texts = [row[f"first_turn_response_{letter}"] for letter in LETTERS]
        blocks = [f"# Response {x.upper()}:\n{t}" for x, t in zip(LETTERS, texts, strict=True)]
        assert row["first_turn_responses"] == "\n".join(blocks).replace("\n", "\r\n")


def test_cells_missing_a_block_are_counted_per_turn_as_the_generator_says(tmp_path):
    config = replace(SMALL, responses_spelling=("one_newline",), responses_missing_block_rate=0.2)
    truth = generate(tmp_path / "raw.csv", config)
    found = build(tmp_path / "raw.csv", tmp_path / "release").report["text"]
    expected = truth["responses_cells_missing_a_block_by_turn"]
    assert sum(expected.values()) > 0
    assert found["responses_cell_mismatches_by_turn"] == {
        turn: expected.get(turn, 0) for turn in ("1", "2", "3", "4")
    }


def frame_of(cells: list[str], columns: list[list[str]]) -> pl.DataFrame:
    """A raw batch whose first turn has these cells and response columns; other turns empty."""
    data = {name: [""] * len(cells) for name in schema.raw_column_names()}
    data["first_turn_responses"] = cells
    for i, letter in enumerate(LETTERS):
        data[f"first_turn_response_{letter}"] = [row[i] for row in columns]
    return pl.DataFrame(data)


def test_a_cell_whose_text_differs_from_its_column_is_counted():
    columns = [[f"text {x} of {n}" for x in LETTERS] for n in range(5)]
    cells = [Spelling(between="\n").join(row) for row in columns]
    cells[2] = cells[2].replace("text c of 2", "text C of 2")
    found = check(frame_of(cells, columns))
    assert found.mismatches == {1: 1, 2: 0, 3: 0, 4: 0}
    assert found.spellings == {Spelling(between="\n").label(): 4}


def test_a_header_line_inside_a_response_is_not_taken_as_agreeing():
    columns = [["one", "two\n# Response C:\nthree", "three", "four"]] * 3
    cells = [responses_cell.join(row) for row in columns]
    found = check(frame_of(cells, columns))
    assert found.mismatches[1] == 3
    assert OTHER not in found.spellings


def test_a_cell_without_its_first_header_is_counted_whatever_the_order_of_its_blocks():
    columns = [[f"text {x} of {n}" for x in LETTERS] for n in range(4)]
    cells = [responses_cell.join(row) for row in columns]
    cells[3] = replace(Spelling(), order=(1, 0, 2, 3)).join(columns[3])
    cells[3] = cells[3].removeprefix("# Response ")  # "B:\ntext b of 3\n\n# Response A:..."
    found = check(frame_of(cells, columns))
    assert found.mismatches[1] == 1
    assert found.spellings == {Spelling().label(): 3}


# ---------------------------------------------------------------------------------------------
# The fast path and the reference parse agree on random cells.

# texts made of pieces that matter to the parse: blanks, line ends, "#", header words, a marker
TEXT = st.lists(
    st.sampled_from(
        [
            "a",
            " ",
            "#",
            ":",
            "\n",
            "\r",
            "\t",
            "\x07",
            "EMPTY STRING",
            "Response",
            "\n# response b:",
        ]
    ),
    max_size=8,
).map("".join)
SPELLING = st.builds(
    Spelling,
    headers=st.sampled_from(
        [
            tuple(f"# Response {x.upper()}:" for x in LETTERS),
            tuple(f"# response {x}:" for x in LETTERS),
            tuple(f"#Response {x.upper()} :" for x in LETTERS),
        ]
    ),
    after_header=st.sampled_from(["\n", " ", " \n", ""]),
    between=st.sampled_from(["\n\n", "\n", " \n", "\n\n\n"]),
    order=st.permutations(range(len(LETTERS))).map(tuple),
    crlf=st.booleans(),
    lead=st.sampled_from(["", "\n", " "]),
    trail=st.sampled_from(["", "\n", "  "]),
)


@st.composite
def batches(draw):
    """Rows mostly in one or two spellings, some with a text changed, a block dropped or
    moved, the cell's start cut, or a cell unrelated to its columns."""
    spellings = [draw(SPELLING), draw(SPELLING)]
    cells, columns = [], []
    for _ in range(draw(st.integers(1, 14))):
        texts = [draw(TEXT) for _ in LETTERS]
        spelling = spellings[draw(st.integers(0, 1))]
        fault = draw(
            st.sampled_from(["none", "none", "none", "text", "drop", "move", "cut", "junk"])
        )
        cell = spelling.join(texts)
        if fault == "text":
            changed = list(texts)
            changed[draw(st.integers(0, 3))] = draw(TEXT)
            cell = spelling.join(changed)
        elif fault == "drop":
            cell = replace(spelling, order=spelling.order[1:]).join(texts)
        elif fault == "move":
            cell = replace(spelling, order=spelling.order[::-1]).join(texts)
        elif fault == "cut":  # the start of the cell lost
            cell = cell[draw(st.integers(1, 12)) :]
        elif fault == "junk":
            cell = draw(TEXT)
        cells.append(cell)
        columns.append(texts)
    return cells, columns


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_fast_check_counts_what_the_reference_parse_counts(batch):
    cells, columns = batch
    expected = sum(agrees(cell, row) is False for cell, row in zip(cells, columns, strict=True))
    present = sum(agrees(cell, row) is not None for cell, row in zip(cells, columns, strict=True))
    found = check(frame_of(cells, columns))
    assert found.mismatches[1] == expected
    assert sum(found.spellings.values()) == present - expected
