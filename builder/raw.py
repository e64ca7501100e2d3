"""Scan the raw CSV in batches with an explicit all-text schema; check its structure.

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
FRAME_BYTES = 24 << 20  # text cleaned at a time


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


@dataclass(frozen=True)
class ByteProfile:
    """What bytes a column of a batch holds, so that cleaning steps that cannot apply are skipped.

    Read off the Arrow buffer, which may hold a few bytes beyond the batch: a step is at worst
    run for nothing, never skipped when needed.
    """

    carriage_return: bool
    control: bool
    non_ascii: bool
    byte_order_mark: bool

    @classmethod
    def merged(cls, profiles: list[ByteProfile]) -> ByteProfile:
        return cls(*(any(getattr(p, f) for p in profiles) for f in cls.__dataclass_fields__))

    @classmethod
    def of(cls, column: pa.Array) -> ByteProfile:
        data = column.buffers()[2]
        if data is None:
            return cls(False, False, False, False)
        values = np.frombuffer(data, dtype=np.uint8)
        low = values[values < 0x20]
        lead = np.flatnonzero(values[:-2] == 0xEF)  # U+FEFF is EF BB BF in UTF-8
        return cls(
            byte_order_mark=bool(((values[lead + 1] == 0xBB) & (values[lead + 2] == 0xBF)).any()),
            carriage_return=bool((low == 0x0D).any()),
            control=bool(np.isin(low, [0x09, 0x0A, 0x0D], invert=True).any())
            or bool((values == 0x7F).any()),
            non_ascii=bool((values >= 0x80).any()),
        )


def batches(
    path: Path,
    header: list[str],
    block_bytes: int = BLOCK_BYTES,
    frame_bytes: int = FRAME_BYTES,
    *,
    profiled: Iterable[str] | None = None,
) -> Iterator[tuple[pl.DataFrame, dict[str, ByteProfile]]]:
    """Stream the raw file as polars frames of text columns, each with its record numbers and
    the byte profile of each ``profiled`` column (by default, every column)."""
    profiled = header if profiled is None else [name for name in profiled if name in header]
    options = dict(
        read_options=pacsv.ReadOptions(
            column_names=header, skip_rows=1, block_size=block_bytes, use_threads=True
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    rows_seen = 0
    try:
        reader = pacsv.open_csv(path, **options)
        for group in _grouped(reader, frame_bytes):
            profiles = {
                name: ByteProfile.merged([ByteProfile.of(b.column(name)) for b in group])
                for name in profiled
            }
            frame = pl.from_arrow(pa.Table.from_batches(group))
            assert isinstance(frame, pl.DataFrame)
            numbered = frame.with_row_index(ROW_NUMBER, offset=rows_seen + 1).with_columns(
                pl.col(ROW_NUMBER).cast(pl.Int64)
            )
            yield numbered, profiles
            rows_seen += frame.height
    except pa.ArrowInvalid as error:
        raise BuildError(
            f"{path}: {locate_problem(path, len(header))} (reader said: {error})"
        ) from error


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
