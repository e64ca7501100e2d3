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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from builder.errors import BuildError
from community_alignment import schema

ROW_NUMBER = "raw_row"  # 1-based record number in the raw file, header excluded
BLOCK_BYTES = 4 << 20  # the CSV reader's block: larger ones hold far more memory
FRAME_BYTES = 32 << 20  # text cleaned at a time: 24 MiB was 0.4 s slower, 48 held 180 MB more


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


WIDE_LEAD_BYTE = 0xCC  # UTF-8 lead byte of U+0300: every character from there on starts with
# a byte at least this; the characters before it are never changed or composed by NFC


OFFSET_TYPES = {
    pa.string(): np.int32, pa.large_string(): np.int64,
    pa.binary(): np.int32, pa.large_binary(): np.int64,
}  # fmt: skip


@dataclass(frozen=True)
class ByteProfile:
    r"""What bytes a text column of a batch holds, read off its Arrow buffers, so that cleaning
    steps that cannot apply are skipped. The column-wide flags may be set by a few bytes
    beyond the column's cells (a buffer can hold them): a step is at worst run for nothing,
    never skipped when needed.

    >>> profile = ByteProfile.of(pa.chunked_array([["abc", "", "caf\u00e9"], ["e\u0301\r\n"]]))
    >>> profile.wide_cells.tolist(), profile.carriage_return, profile.control_character
    ([False, False, False, True], True, False)
    """

    byte_order_mark: bool
    carriage_return: bool
    control_character: bool
    wide_cells: np.ndarray  # per cell: holds a character from U+0300 on

    @classmethod
    def of(cls, column: pa.ChunkedArray) -> ByteProfile:
        flags, wide = [False, False, False], []
        for chunk in column.chunks:
            if chunk.type not in OFFSET_TYPES:  # not read off the buffers: every step may apply
                flags = [True, True, True]
                wide.append(np.ones(len(chunk), dtype=bool))
                continue
            _, offsets, data = chunk.buffers()
            ends = np.frombuffer(offsets, dtype=OFFSET_TYPES[chunk.type])
            ends = ends[chunk.offset : chunk.offset + len(chunk) + 1]
            values = np.frombuffer(data, np.uint8)[: ends[-1]] if data else np.zeros(0, np.uint8)
            wide.append(_cells_with_wide_characters(values, ends))
            if not values.size:
                continue
            returns = np.count_nonzero(values == 0x0D)
            allowed = returns + np.count_nonzero(values == 0x0A) + np.count_nonzero(values == 0x09)
            low = np.count_nonzero(values < 0x20)
            flags[0] |= bool((values == 0xEF).any()) and b"\xef\xbb\xbf" in values.tobytes()
            flags[1] |= bool(returns)
            flags[2] |= bool(low > allowed) or bool((values == 0x7F).any())
        return cls(*flags, np.concatenate(wide) if wide else np.zeros(0, dtype=bool))


def _cells_with_wide_characters(values: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per cell (bytes ``values[ends[i]:ends[i + 1]]``), whether its largest byte is a lead
    byte of a character from U+0300 on."""
    starts, lengths = ends[:-1], np.diff(ends)
    if not values.size or not len(starts):
        return np.zeros(len(starts), dtype=bool)
    largest = np.maximum.reduceat(values, np.minimum(starts, values.size - 1))
    return (largest >= WIDE_LEAD_BYTE) & (lengths > 0)


def tables(
    path: Path, header: list[str], block_bytes: int = BLOCK_BYTES, frame_bytes: int | None = None
) -> Iterator[tuple[pa.Table, int]]:
    """Stream the raw file as Arrow tables of its columns' bytes (about ``frame_bytes`` each,
    ``FRAME_BYTES`` unless given), each with the record number of its first row. Reading is
    all this does, so that the work on each table can be done elsewhere (:func:`frame`,
    :class:`ByteProfile`). The bytes are checked to be UTF-8 by :func:`frame`: the reader's
    own check cost 1.1 s of CPU on the full file, polars' 0.5 s."""
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
        for group in _grouped(reader, frame_bytes or FRAME_BYTES):
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
            return f"line {reader.line_num}: {error}; the file is truncated or badly quoted"
    return "the file could not be parsed as CSV"
