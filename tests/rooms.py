"""Helpers for the tests of one build step: a tiny raw file read through the stream's own
steps, without a build."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from builder import clean, raw, turns
from builder.hygiene import ByteProfile
from tests.conftest import write_raw


def read_raw(path: Path) -> pl.DataFrame:
    """The raw file as the stream's first batch: text columns and ``raw_row``."""
    header = raw.check_header(path)
    [(table, first_row)] = list(raw.tables(path, header, 1 << 20, 64 << 20))
    return raw.frame(table, first_row, path)


def normalised(tmp_path: Path, rows: list[dict]) -> tuple[pl.DataFrame, dict[str, int]]:
    """``rows`` written as a raw file, read and cleaned by :func:`builder.clean.normalise`."""
    path = write_raw(tmp_path / "raw.csv", rows)
    header = raw.check_header(path)
    [(table, first_row)] = list(raw.tables(path, header, 1 << 20, 64 << 20))
    profiles = {name: ByteProfile.of(table[name]) for name in clean.released_text_columns()}
    frame, changed, _ = clean.normalise(raw.frame(table, first_row, path), profiles)
    return frame, changed


def long_turns(tmp_path: Path, rows: list[dict]) -> pl.DataFrame:
    """``rows`` cleaned and made into turns (:func:`builder.turns.to_turns`)."""
    return turns.to_turns(normalised(tmp_path, rows)[0])
