"""Scan the raw CSV in batches, every column as bytes then text; check its structure.

A file that cannot be read as the raw layout stops the build with the file, line and column:
a missing column, a record with the wrong number of fields (a ragged or truncated file), an
unterminated quote, or bytes that are not UTF-8.
"""

from __future__ import annotations

import csv
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from builder.errors import BuildError
from community_alignment import schema

ROW_NUMBER = "raw_row"  # 1-based record number in the raw file, header excluded


def read_header(path: Path) -> list[str]:
    """The header's column names, NFC-normalised; a BOM is ignored."""
    with open(path, "rb") as handle:
        first_line = handle.readline()
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BuildError(
            f"{path}: line 1, byte {error.start + 1}: the header is not UTF-8 ({error.reason})"
        ) from error
    header = next(csv.reader([text]), None)
    if not header:
        raise BuildError(f"{path}: the file is empty; expected a CSV header on line 1")
    return [unicodedata.normalize("NFC", name.strip()) for name in header]


def check_header(path: Path) -> list[str]:
    """Check every raw column is present; return the header. Extra columns are allowed."""
    header = read_header(path)
    expected = schema.raw_column_names()
    missing = [name for name in expected if name not in header]
    if missing:
        positions = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise BuildError(
            f"{path}: line 1: the header lacks {len(missing)} required column(s): {positions}. "
            "Is this the Community Alignment raw CSV (v1.1 layout)?"
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise BuildError(f"{path}: line 1: column(s) named twice in the header: {duplicated}")
    return header


def tables(
    path: Path, header: list[str], block_bytes: int, frame_bytes: int
) -> Iterator[tuple[pa.Table, int]]:
    """Stream the raw file as Arrow tables of its columns' bytes (about ``frame_bytes`` each,
    read in blocks of ``block_bytes``; see :class:`builder.config.BuildConfig`), each with the
    record number of its first row. Reading is
    all this does, so that the work on each table can be done elsewhere (:func:`frame`,
    :class:`builder.hygiene.ByteProfile`). The bytes are checked to be UTF-8 by :func:`frame`, where polars
    does it faster than the reader would (``benchmarks/RESULTS.md``)."""
    options = dict(
        read_options=pacsv.ReadOptions(
            column_names=header, skip_rows=1, block_size=block_bytes, use_threads=True
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.binary() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    rows_seen = 0
    try:
        reader = pacsv.open_csv(path, **options)
        for group in _grouped(reader, frame_bytes):
            table = pa.Table.from_batches(group)
            yield table, rows_seen + 1
            rows_seen += table.num_rows
    except pa.ArrowInvalid as error:
        raise BuildError(
            f"{path}: {locate_problem(path, len(header))} (reader said: {error})"
        ) from error


def frame(table: pa.Table, first_row: int, path: Path) -> pl.DataFrame:
    """A table from :func:`tables` as a polars frame of text, its rows numbered (``raw_row``).
    Bytes that are not UTF-8 stop the build, with their place in ``path``."""
    converted = pl.from_arrow(table)
    assert isinstance(converted, pl.DataFrame)
    try:
        text = converted.with_columns(pl.all().cast(pl.String))
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as error:
        where = locate_problem(path, table.num_columns)
        raise BuildError(f"{path}: {where} (polars said: {str(error).splitlines()[0]})") from error
    return text.with_row_index(ROW_NUMBER, offset=first_row).with_columns(
        pl.col(ROW_NUMBER).cast(pl.Int64)
    )


def _grouped(reader: Iterable[pa.RecordBatch], frame_bytes: int) -> Iterator[list[pa.RecordBatch]]:
    """Record batches gathered until they hold ``frame_bytes``: the reader's blocks stay small
    (its memory grows with block size), while each frame is big enough that the per-frame cost
    of cleaning is paid rarely."""
    group, size = [], 0
    for batch in reader:
        group.append(batch)
        size += batch.nbytes
        if size >= frame_bytes:
            yield group
            group, size = [], 0
    if group:
        yield group


def locate_problem(path: Path, columns: int) -> str:
    """Find the first unreadable place of a file the fast reader rejected, for the message."""
    with open(path, "rb") as handle:
        for line_number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                if error.end == len(line) and not line.endswith(b"\n"):  # cut inside a character
                    return (
                        f"line {line_number}: the file ends inside a character; it is truncated "
                        "(download or copy it again)"
                    )
                return (
                    f"line {line_number}, byte {error.start + 1}: not UTF-8 "
                    f"(byte 0x{line[error.start]:02x}); re-encode the file as UTF-8"
                )
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            next(reader, None)
            for number, record in enumerate(reader, start=1):
                if len(record) != columns:
                    return (
                        f"line {reader.line_num} (record {number}): {len(record)} fields, "
                        f"expected {columns}; the file is ragged or truncated"
                    )
        except csv.Error as error:
            if "unexpected end of data" in str(error):  # the file ended inside quotes
                return (
                    f"line {reader.line_num}: a quoted field is never closed (an unterminated "
                    "quote); the file is truncated or badly quoted"
                )
            return f"line {reader.line_num}: {error}; the file is truncated or badly quoted"
    return "the file could not be parsed as CSV"
