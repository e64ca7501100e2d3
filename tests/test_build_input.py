"""File-level bad input stops the build with a message naming the place; nothing is left."""

from __future__ import annotations

import pytest

from builder.build import build
from builder.errors import BuildError
from community_alignment import schema
from tests.conftest import raw_row, write_raw


def leftovers(tmp_path, name="release"):
    return sorted(p.name for p in tmp_path.iterdir() if name in p.name)


def test_missing_required_column_names_the_column(tmp_path):
    source = write_raw(tmp_path / "raw.csv", [raw_row("1")])
    text = source.read_text(encoding="utf-8").replace(
        "annotator_country", "country_of_annotator", 1
    )
    source.write_text(text, encoding="utf-8")
    with pytest.raises(BuildError, match=r"raw.csv: line 1: .*annotator_country"):
        build(source, tmp_path / "release")
    assert leftovers(tmp_path) == []


def test_truncated_file_names_the_line(tmp_path):
    source = write_raw(tmp_path / "raw.csv", [raw_row("1"), raw_row("2")])
    data = source.read_bytes()
    source.write_bytes(data[: len(data) - 200])  # cut inside the last record
    with pytest.raises(BuildError, match=r"raw.csv: line \d+"):
        build(source, tmp_path / "release")
    assert leftovers(tmp_path) == []


def test_ragged_record_names_the_line_and_field_count(tmp_path):
    source = write_raw(tmp_path / "raw.csv", [raw_row("1"), raw_row("2")])
    lines = source.read_text(encoding="utf-8").split("\n")
    header_fields = len(schema.raw_column_names())
    source.write_text("\n".join([*lines[:-1], "3,extra,fields"]) + "\n", encoding="utf-8")
    with pytest.raises(BuildError, match=rf"3 fields, expected {header_fields}"):
        build(source, tmp_path / "release")


def test_file_that_is_not_utf8_names_line_and_byte(tmp_path):
    source = write_raw(tmp_path / "raw.csv", [raw_row("1", first_turn_feedback="caf\u00e9")])
    source.write_bytes(source.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(BuildError, match=r"line \d+, byte \d+: not UTF-8"):
        build(source, tmp_path / "release")
    assert leftovers(tmp_path) == []


def test_bytes_that_are_not_utf8_inside_a_quoted_multiline_cell_name_their_line(tmp_path):
    rows = [raw_row(str(n), first_turn_feedback=f"Line one\nline two of {n}") for n in range(1, 60)]
    source = write_raw(tmp_path / "raw.csv", rows)
    data = source.read_bytes()
    at = data.index(b"line two of 41")
    source.write_bytes(data[:at] + b"\xff" + data[at:])
    line = data[:at].count(b"\n") + 1
    with pytest.raises(BuildError, match=rf"line {line}, byte 1: not UTF-8 \(byte 0xff\)"):
        build(source, tmp_path / "release", block_bytes=4096)
    assert leftovers(tmp_path) == []


def test_empty_file_and_header_only_file_are_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(BuildError, match="empty"):
        build(empty, tmp_path / "release")
    header_only = write_raw(tmp_path / "header.csv", [])
    with pytest.raises(BuildError, match="no rows"):
        build(header_only, tmp_path / "release")


def test_missing_source_file_is_an_error(tmp_path):
    with pytest.raises(BuildError, match="does not exist"):
        build(tmp_path / "nope.csv", tmp_path / "release")


def test_failed_build_leaves_the_previous_release_intact(tmp_path):
    good = write_raw(tmp_path / "good.csv", [raw_row("1")])
    build(good, tmp_path / "release")
    before = (tmp_path / "release" / "README.md").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(good.read_bytes()[:-150])
    with pytest.raises(BuildError):
        build(bad, tmp_path / "release")
    assert (tmp_path / "release" / "README.md").read_bytes() == before
    assert leftovers(tmp_path) == ["release", "release.build"]


def test_bom_and_extra_columns_are_accepted(tmp_path):
    source = write_raw(tmp_path / "raw.csv", [raw_row("1")])
    lines = source.read_text(encoding="utf-8").rstrip("\n").split("\n")
    lines[0] = "\ufeff" + lines[0] + ",note"
    lines[-1] = lines[-1] + ",hello"  # the record's last line (its text has newlines)
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = build(source, tmp_path / "release")
    assert result.report["books"]["comparisons"] == 2


def test_expected_checksum_mismatch_stops_the_build(tmp_path):
    source = write_raw(tmp_path / "raw.csv", [raw_row("1")])
    with pytest.raises(BuildError, match="sha256 is"):
        build(source, tmp_path / "release", expected_sha256="0" * 64)
