"""The command lines as a user runs them: build's options, the demo, describe, and what a
build does when its books do not balance."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pytest

from builder.__main__ import main as builder_main
from builder.build import build
from builder.errors import BuildError
from community_alignment.cli import main as library_main
from community_alignment.load import scan
from tests.conftest import MIXED_ROWS, raw_row, write_raw

SAMPLE_LABELS = "builder/sample/iw_labels.csv"


@pytest.fixture
def raw_file(tmp_path):
    return write_raw(tmp_path / "raw.csv", MIXED_ROWS)


def test_build_with_the_expected_sha256_and_a_report_folder_of_ones_choice(
    raw_file, tmp_path, capsys
):
    digest = hashlib.sha256(raw_file.read_bytes()).hexdigest()
    out, reports = tmp_path / "release", tmp_path / "reports"
    argv = ["build", "--source", str(raw_file), "--out", str(out), "--sha256", digest,
            "--report-dir", str(reports)]  # fmt: skip
    assert builder_main(argv) == 0
    report = json.loads((reports / "report.json").read_text())
    assert report["source"]["sha256"] == digest
    # each step's wall time and its threads' CPU time, side by side in report.md
    assert list(report["cpu_seconds"]) == list(report["seconds"])
    assert all(seconds >= 0 for seconds in report["cpu_seconds"].values())
    stream = next(step for step in report["seconds"] if step.startswith("stream"))
    row = f"| {stream} | {report['seconds'][stream]:.2f} | {report['cpu_seconds'][stream]:.2f} |"
    assert row in (reports / "report.md").read_text(encoding="utf-8")
    assert (reports / "quarantine.parquet").is_file()
    assert not (tmp_path / "release.build").exists()
    assert f"report and quarantine: {reports}" in capsys.readouterr().out


def test_build_with_another_sha256_stops_and_writes_nothing(raw_file, tmp_path, capsys):
    argv = ["build", "--source", str(raw_file), "--out", str(tmp_path / "release"),
            "--sha256", "0" * 64]  # fmt: skip
    assert builder_main(argv) == 1
    assert "sha256 is" in capsys.readouterr().err
    assert not (tmp_path / "release").exists()


def test_build_with_iw_labels_puts_each_countrys_choices_in_the_card(tmp_path):
    source = "builder/sample/community_alignment_sample.csv"
    out = tmp_path / "release"
    assert (
        builder_main(["build", "--source", source, "--out", str(out), "--iw-labels", SAMPLE_LABELS])
        == 0
    )
    choices = "| country | labelled choices | traditional | secular-rational | survival |"
    assert choices in (out / "README.md").read_text(encoding="utf-8")
    without = tmp_path / "plain"
    assert builder_main(["build", "--source", source, "--out", str(without)]) == 0
    assert choices not in (without / "README.md").read_text(encoding="utf-8")


def test_the_demo_builds_validates_loads_and_summarises(tmp_path, capsys):
    assert builder_main(["demo", "--out", str(tmp_path / "release")]) == 0
    shown = capsys.readouterr().out
    for step in ("== build", "== validate", "== load every config", "== describe",
                 "== community-alignment agreement", "== community-alignment iw"):  # fmt: skip
        assert step in shown
    assert "INVALID" not in shown


def test_describe_prints_the_headline_counts(raw_file, tmp_path, capsys):
    release = build(raw_file, tmp_path / "release").release
    assert library_main(["describe", str(release), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["comparisons"] == scan(release).collect().height


def test_scan_narrows_to_a_country_and_a_language(raw_file, tmp_path):
    release = build(raw_file, tmp_path / "release").release
    india = scan(release, "comparisons", country="in").collect()
    assert set(india["country"]) == {"in"} and set(india["language"]) == {"en", "hi"}
    hindi = scan(release, "comparisons", country="in", language="hi").collect()
    assert set(hindi["language"]) == {"hi"} and 0 < hindi.height < india.height
    assert scan(release, "conversations", language="fr").collect()[
        "language"
    ].unique().to_list() == ["fr"]


def test_a_build_whose_books_do_not_balance_stops_and_writes_nothing(tmp_path, monkeypatch):
    from builder import quarantine

    rows = [raw_row("1"), raw_row("2", language="de")]  # the second is quarantined
    source = write_raw(tmp_path / "raw.csv", rows)
    monkeypatch.setattr(quarantine, "rows_only", lambda q: q.filter(pl.lit(False)))  # lose it
    with pytest.raises(BuildError, match=r"the build's books do not balance: \['raw rows = "):
        build(source, tmp_path / "release")
    assert not (tmp_path / "release").exists()


def test_a_row_without_an_id_is_quarantined_as_missing_id(tmp_path):
    rows = [raw_row("1"), raw_row("", "9"), raw_row("3", "")]
    result = build(write_raw(tmp_path / "raw.csv", rows), tmp_path / "release")
    quarantined = pl.read_parquet(result.report_dir / "quarantine.parquet")
    assert quarantined.select("raw_row", "reason").rows() == [(2, "missing_id"), (3, "missing_id")]
