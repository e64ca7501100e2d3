"""Tests of community_alignment.iw.map: the shipped reference positions and the drawing."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

import community_alignment
from community_alignment import iw
from tests.iw_corpus import (
    comparisons,
    label_frame,
)


def test_country_positions_are_the_shipped_table_with_its_source():
    table = iw.country_positions()
    got = {r["iso2"]: (r["traditional_secular"], r["survival_self_expression"]) for r in
           table.iter_rows(named=True)}  # fmt: skip
    assert got == {
        "us": (0.30, 1.21), "fr": (0.53, 1.95), "it": (0.33, 0.84), "br": (-0.12, -0.18),
        "in": (-0.57, -0.44), "se": (1.21, 3.11), "jp": (1.64, 0.92),
    }  # fmt: skip
    assert table["source"].str.contains("Integrated Values Surveys").all()
    assert "same" not in table["note"].to_list()
    assert table.filter(~pl.col("in_release"))["iso2"].to_list() == ["se", "jp"]


def test_country_table_file_keeps_the_same_markers_as_given():
    path = Path(community_alignment.__file__).parent / "data" / iw.COUNTRIES_FILE
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["iso2"] for r in rows] == ["us", "fr", "it", "br", "in", "se", "jp"]
    assert [r["source"] for r in rows[1:]] == ["same"] * 6


@pytest.fixture(scope="module")
def summary():
    return iw.summarize(comparisons(), iw.load_labels(label_frame()), n_resamples=0)


def test_plot_map_writes_a_png_with_and_without_a_summary(tmp_path, summary):
    plain = iw.plot_map(tmp_path / "plain.png")
    arrows = iw.plot_map(tmp_path / "arrows.png", summary=summary)
    for path in (plain, arrows):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert 20_000 < len(data) < 2_000_000
    assert plain.read_bytes() != arrows.read_bytes()
    assert iw.plot_map(tmp_path / "again.png", summary=summary).read_bytes() == arrows.read_bytes()
    assert b"matplotlib" not in arrows.read_bytes()  # no software metadata


def test_plot_map_needs_a_summary_by_country(tmp_path):
    overall = iw.summarize(comparisons(), label_frame(), by=None, n_resamples=0)
    with pytest.raises(ValueError, match="grouped by country"):
        iw.plot_map(tmp_path / "x.png", summary=overall)
