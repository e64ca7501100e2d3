"""Tests of the iw command."""

from __future__ import annotations

import argparse
import json

from community_alignment import iw
from tests.iw_corpus import (
    PICKS,
    comparisons,
    label_frame,
    release_folder,
)


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="community-alignment")
    iw.register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_without_labels_prints_positions_and_distance_table(tmp_path, capsys):
    folder = release_folder(tmp_path / "release", comparisons())
    assert run_cli(["iw", str(folder), "--resamples", "0"]) == 0
    out = capsys.readouterr().out
    assert "United States" in out and "Sweden" in out
    assert "IW distance vs cross-country disagreement" in out
    assert "only 1 country pairs share units" in out


def test_cli_with_labels_prints_json_and_writes_the_map(tmp_path, capsys):
    folder = release_folder(tmp_path / "release", comparisons())
    label_frame().write_csv(tmp_path / "labels.csv")
    argv = ["iw", str(folder), "--labels", str(tmp_path / "labels.csv"), "--resamples", "50",
            "--json", "--plot", str(tmp_path / "map.png")]  # fmt: skip
    assert run_cli(argv) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["by"] == ["country"]
    assert {r["country"]: r["labelled_choices"] for r in output["choices"]} == {"in": 4, "us": 3}
    assert output["label_coverage"]["unlabelled_responses"] == 1
    assert (tmp_path / "map.png").stat().st_size > 20_000


def test_cli_with_labels_prints_tables(tmp_path, capsys):
    folder = release_folder(tmp_path / "release", comparisons())
    label_frame().write_csv(tmp_path / "labels.csv")
    argv = ["iw", str(folder), "--labels", str(tmp_path / "labels.csv"), "--by", "none",
            "--resamples", "20"]  # fmt: skip
    assert run_cli(argv) == 0
    out = capsys.readouterr().out
    assert "Share of labelled choices that went to each pole" in out
    assert "4 of 5 responses labelled" in out


def test_cli_shows_an_interval_from_one_unit_as_na_with_the_reason(tmp_path, capsys):
    frame = comparisons([*PICKS, ("W", "fr", 0, "f1")])
    folder = release_folder(tmp_path / "release", frame)
    label_frame().write_csv(tmp_path / "labels.csv")
    argv = ["iw", str(folder), "--labels", str(tmp_path / "labels.csv"), "--resamples", "20"]
    assert run_cli(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    note = "intervals n/a for fr: only 1 unit to resample; an interval needs at least 2"
    assert lines.count(note) == len(iw.TABLES)  # under each table
    choices = lines.index("Share of labelled choices that went to each pole")
    fr_row = next(line for line in lines[choices:] if line.startswith("fr "))
    assert "1.000 [n/a, n/a]" in fr_row
    assert sum(line.startswith("intervals n/a for") for line in lines) == len(iw.TABLES)
