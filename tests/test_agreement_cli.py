"""Tests of the agreement command, and agreement end to end on a built release."""

from __future__ import annotations

import argparse
import json

import polars as pl
import pytest

from community_alignment import agreement as ag
from community_alignment.agreement import (
    agreement,
    cross_agreement,
)
from tests.agreement_frames import (
    frame_from_counts,
    random_comparisons,
    write_release,
)


def run_cli(argv: list[str]) -> int:
    """Our subcommand on a parser of its own (the project CLI imports modules being written)."""
    parser = argparse.ArgumentParser(prog="community-alignment")
    ag.register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_table(tmp_path, capsys):
    release = write_release(tmp_path, random_comparisons(16))
    assert run_cli(["agreement", str(release), "--by", "country", "--resamples", "50"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("country"))
    assert "alpha" in header and "pairwise" in header and "LOO majority" in header
    body = [line for line in lines if line[:3] in ("br ", "fr ", "us ")]
    assert len(body) == 3
    assert all("[" in line and "]" in line for line in body)  # intervals as [low, high]
    expected = agreement(random_comparisons(16), by="country")
    assert f"{expected['alpha'][0]:.3f}" in body[0]


def test_cli_cross_and_filters(tmp_path, capsys):
    release = write_release(tmp_path, random_comparisons(17))
    argv = ["agreement", str(release), "--cross", "country", "--turn", "2", "--pregenerated-only"]
    assert run_cli(argv) == 0
    out = capsys.readouterr().out
    assert "pregenerated_only=True, turn=2" in out
    assert "Cross-group pairwise agreement by country" in out
    assert sum(1 for line in out.splitlines() if line.startswith(("br ", "fr ", "us "))) == 6


def test_cli_json(tmp_path, capsys):
    frame = random_comparisons(18)
    release = write_release(tmp_path, frame)
    argv = ["agreement", str(release), "--by", "country,language", "--json", "--cross", "country"]
    assert run_cli(argv) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["by"] == ["country", "language"]
    assert [row["country"] for row in output["agreement"]] == ["br", "fr", "us"]
    expected = agreement(frame, by=["country", "language"])
    assert output["agreement"][1]["alpha"] == pytest.approx(expected["alpha"][1])
    assert len(output["cross"]) == 9


def test_cli_errors(tmp_path):
    release = write_release(tmp_path, random_comparisons(19))
    with pytest.raises(ValueError, match="turn=8"):
        run_cli(["agreement", str(release), "--turn", "8"])
    with pytest.raises(ValueError, match="lacks column.*: nope"):
        run_cli(["agreement", str(release), "--by", "nope"])


def test_on_a_built_release(build_rows):
    """End to end on a release made by the project's builder from raw rows."""
    from tests.conftest import raw_row

    texts = [f"Shared answer {letter}" for letter in "ABCD"]
    shared = {
        "first_turn_prompt": "A shared pregenerated prompt",
        **{f"first_turn_response_{x}": text for x, text in zip("abcd", texts, strict=True)},
        "first_turn_responses": "\n\n".join(
            f"# Response {x}:\n{text}" for x, text in zip("ABCD", texts, strict=True)
        ),
    }
    people = [
        ("united states", "response_a"),
        ("united states", "response_a"),
        ("india", "response_b"),
        ("india", "response_b"),
        ("india", "response_c"),
    ]
    rows = [
        raw_row(str(k), annotator_id=f"{10000000000000 + k}", turns=1, country=country,
                choices=[pick], **shared)
        for k, (country, pick) in enumerate(people)
    ]  # fmt: skip
    release = build_rows(rows).release
    by = {row["country"]: row for row in agreement(release, by="country").iter_rows(named=True)}
    assert (by["us"]["units"], by["us"]["pairwise_pooled"]) == (1, 1.0)
    assert (by["in"]["picks"], by["in"]["pairs"], by["in"]["pairwise_pooled"]) == (3, 3, 1 / 3)
    crossed = {(a, b): value for a, b, _, _, value in cross_agreement(release, "country").rows()}
    assert crossed[("in", "us")] == 0.0
    overall = agreement(release).row(0, named=True)
    assert overall["units"] == 1 and overall["alpha"] == pytest.approx(0.0, abs=1e-12)


def test_project_cli_main(tmp_path, capsys):
    from community_alignment.cli import main

    release = write_release(tmp_path, random_comparisons(20))
    assert main(["agreement", str(release), "--by", "country"]) == 0
    assert "country" in capsys.readouterr().out
    assert main(["agreement", str(release), "--turn", "9"]) == 2
    assert "turn=9" in capsys.readouterr().err


def test_cli_shows_an_interval_from_one_unit_as_na_with_the_reason(tmp_path, capsys):
    us = frame_from_counts([[2, 1, 0, 0]], group="us")
    fr = frame_from_counts([[3, 0, 0, 0], [1, 2, 0, 0]], group="fr", prefix="f")
    frame = pl.concat([us, fr]).with_columns(pl.lit("en").alias("language"))
    release = write_release(tmp_path, frame)
    assert run_cli(["agreement", str(release), "--by", "country", "--resamples", "50"]) == 0
    lines = capsys.readouterr().out.splitlines()
    us_line = next(line for line in lines if line.startswith("us "))
    assert "0.333 [n/a, n/a]" in us_line
    assert "intervals n/a for us: only 1 unit to resample; an interval needs at least 2" in lines
    assert sum(line.startswith("intervals n/a for") for line in lines) == 1  # fr has intervals

    assert (
        run_cli(["agreement", str(release), "--by", "country", "--resamples", "50", "--json"]) == 0
    )
    rows = {row["country"]: row for row in json.loads(capsys.readouterr().out)["agreement"]}
    assert rows["us"]["pairwise_pooled_low"] is None and rows["us"]["alpha_high"] is None
    assert rows["us"]["interval_undefined_reason"].startswith("only 1 unit")
    assert rows["fr"]["interval_undefined_reason"] is None
