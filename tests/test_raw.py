"""builder.raw: the raw CSV read as text in batches; its header and structure checked."""

from __future__ import annotations

import textwrap

import polars as pl
import pytest

from builder import raw
from builder.errors import BuildError
from community_alignment import schema
from tests.conftest import raw_row, write_raw
from tests.rooms import read_raw


def test_rows_are_numbered_from_one_and_every_cell_is_text(tmp_path):
    frame = read_raw(write_raw(tmp_path / "raw.csv", [raw_row("1"), raw_row("2", turns=1)]))
    assert frame["raw_row"].to_list() == [1, 2]
    assert frame["conversation_id"].to_list() == ["1", "2"]
    assert set(frame.drop("raw_row").dtypes) == {pl.String}
    assert frame["first_turn_prompt"][0] == 'Prompt 1 of 1, with "quotes",\ncommas'


def test_a_header_with_a_byte_order_mark_and_spaces_is_read_by_name(tmp_path):
    path = write_raw(tmp_path / "raw.csv", [raw_row("1")])
    text = path.read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    path.write_text("\ufeff" + ", ".join(header.split(",")) + "\n" + rest, encoding="utf-8")
    assert raw.check_header(path)[:2] == ["conversation_id", "annotator_id"]


def test_a_missing_column_is_named_with_the_file_and_line(tmp_path):
    row = raw_row("1")
    del row["wave"]
    path = tmp_path / "raw.csv"
    path.write_text(",".join(row) + "\n" + ",".join("x" for _ in row) + "\n", encoding="utf-8")
    with pytest.raises(
        BuildError, match=r"raw.csv: line 1: the header lacks 1 required column\(s\): wave"
    ):
        raw.check_header(path)


def test_a_column_named_twice_is_an_error(tmp_path):
    names = schema.raw_column_names()
    path = tmp_path / "raw.csv"
    path.write_text(",".join([*names, names[0]]) + "\n", encoding="utf-8")
    with pytest.raises(BuildError, match=r"named twice in the header: \['conversation_id'\]"):
        raw.check_header(path)


def test_an_empty_file_says_a_header_was_expected(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_bytes(b"")
    with pytest.raises(BuildError, match="the file is empty; expected a CSV header on line 1"):
        raw.check_header(path)


def test_a_record_with_too_few_fields_is_named_by_line(tmp_path):
    path = write_raw(tmp_path / "raw.csv", [raw_row("1", turns=1)])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("2,3,en\n")
    with pytest.raises(BuildError, match=r"line \d+ \(record 2\): 3 fields, expected 45"):
        read_raw(path)


def test_an_unterminated_quote_is_named_as_such(tmp_path):
    path = write_raw(tmp_path / "raw.csv", [raw_row("1", turns=1)])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('2,"never closed\n')
    with pytest.raises(
        BuildError, match=r"line \d+: a quoted field is never closed \(an unterminated quote\)"
    ):
        read_raw(path)


def test_bytes_that_are_not_utf8_are_named_by_line_and_byte(tmp_path):
    path = write_raw(tmp_path / "raw.csv", [raw_row("1", turns=1), raw_row("2", turns=1)])
    data = path.read_bytes().replace(b"Prompt 1 of 2", b"Prompt \xff of 2")
    path.write_bytes(data)
    with pytest.raises(BuildError, match=r"line \d+, byte \d+: not UTF-8 \(byte 0xff\)"):
        read_raw(path)


def test_frames_group_the_reader_blocks_up_to_the_frame_size(tmp_path):
    rows = [raw_row(str(n), turns=4) for n in range(1, 61)]
    path = write_raw(tmp_path / "raw.csv", rows)
    header = raw.check_header(path)
    batches = list(raw.tables(path, header, 4096, 16_000))
    assert len(batches) > 2
    assert [first for _, first in batches][0] == 1
    assert sum(t.num_rows for t, _ in batches) == 60
    starts = [first for _, first in batches]
    sizes = [t.num_rows for t, _ in batches]
    assert starts[1:] == [a + b for a, b in zip(starts, sizes, strict=False)][:-1]


def test_a_tiny_file_written_by_hand_reads(tmp_path):
    names = schema.raw_column_names()
    values = {name: "" for name in names} | {
        "conversation_id": "5", "annotator_id": "9", "assigned_lang": "en",
        "annotator_country": "united states", "is_pregenerated_first_prompt": "True",
        "in_balanced_subset": "False", "in_balanced_subset_10": "False", "wave": "2",
    }  # fmt: skip
    path = tmp_path / "raw.csv"
    path.write_text(
        textwrap.dedent(f"""\
        {",".join(names)}
        {",".join(values[n] for n in names)}
        """),
        encoding="utf-8",
    )
    frame = read_raw(path)
    assert frame.select("conversation_id", "wave").row(0) == ("5", "2")
    assert frame["first_turn_prompt"][0] == ""


def test_a_file_cut_inside_a_character_is_named_truncated_not_mis_encoded(tmp_path):
    path = write_raw(tmp_path / "raw.csv", [raw_row("1", turns=1, first_turn_feedback="café")])
    data = path.read_bytes()
    path.write_bytes(data[: data.index("é".encode()) + 1])  # the first byte of é only
    with pytest.raises(
        BuildError, match=r"line \d+: the file ends inside a character; it is truncated"
    ):
        read_raw(path)
