"""The validator's statistics group on the embedded sample built with its IW labels: a change
of one number in any table of the card fails that table's check, and only it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from builder import card_tables
from builder import validate as v
from builder.build import build
from builder.errors import BuildError
from tests.test_validate import edit_card, run_cli

SAMPLE = Path(__file__).resolve().parent.parent / "builder" / "sample"
LABELS = SAMPLE / "iw_labels.csv"

# check -> (the heading its table is under, the table's header row when the section has several)
TABLES = {
    "card_glance": ("glance", None),
    "card_by_country": ("by_country", None),
    "card_by_language": ("by_language", None),
    "card_turns": ("turns", None),
    "card_positions": ("positions", None),
    "card_agreement": ("agreement", None),
    "card_cross_country": ("cross", None),
    "card_iw_positions": ("iw_positions", None),
    "card_iw_choices": ("iw", card_tables.iw_choices_table_rows(None)[0]),
    "card_iw_coverage": ("iw", card_tables.iw_coverage_table_rows(None)[0]),
    "card_iw_scores": ("iw", card_tables.iw_scores_table_rows(None)[0]),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("statistics")
    source = SAMPLE / "community_alignment_sample.csv"
    return build(source, folder / "release", iw_labels=LABELS).release


@pytest.fixture
def release(built, tmp_path):
    return shutil.copytree(built, tmp_path / "release")


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def edit_one_number(text: str, heading: str, header: list[str] | None) -> tuple[str, str]:
    """The card's text with the first digit of the first number in the first row of a table
    changed, and the table's "<row>/<column>" of that cell."""
    lines = text.split("\n")
    start = next(
        i for i, line in enumerate(lines) if re.fullmatch(rf"#+ {re.escape(heading)}", line)
    )
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("#"):
            break
        is_table = lines[i].startswith("|") and not lines[i - 1].startswith("|")
        if not is_table or (header is not None and cells(lines[i]) != header):
            continue
        row = cells(lines[i + 2])
        column = next(k for k in range(1, len(row)) if re.search(r"\d", row[k]))
        changed = re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), row[column], count=1)
        lines[i + 2] = "| " + " | ".join([*row[:column], changed, *row[column + 1 :]]) + " |"
        return "\n".join(lines), f"{row[0]}/{cells(lines[i])[column]}"
    raise AssertionError(f"no table {header or ''} under {heading!r}")


@pytest.mark.parametrize("check", list(TABLES))
def test_a_one_number_edit_in_a_card_table_fails_its_check(release, check):
    key, header = TABLES[check]
    edited = {}

    def edit(text: str) -> str:
        text, edited["cell"] = edit_one_number(text, card_tables.HEADINGS[key], header)
        return text

    edit_card(release, body=edit)
    report = v.validate(release, load=False, iw_labels=LABELS)
    assert {r.check for r in report.failed} == {check}, report.render()
    assert report[check].first == edited["cell"]
    assert "the card says" in report[check].message


def test_the_card_s_iw_summaries_do_not_validate_without_the_labels(built, capsys):
    report = v.validate(built, load=False)
    assert {r.check for r in report.failed} == {
        "card_iw_choices",
        "card_iw_coverage",
        "card_iw_scores",
    }, report.render()
    assert all("--iw-labels" in r.message for r in report.failed)
    assert run_cli(str(built), "--no-load") == 1
    capsys.readouterr()
    assert run_cli(str(built), "--no-load", "--iw-labels", str(LABELS)) == 0
    assert "valid" in capsys.readouterr().out


def test_a_labels_file_that_is_not_there_is_named(built, tmp_path):
    with pytest.raises(BuildError, match="missing.csv: no such IW labels file"):
        v.validate(built, load=False, iw_labels=tmp_path / "missing.csv")
