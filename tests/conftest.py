"""Small raw files written in the test, in the exact raw layout, and a build helper."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from builder.build import build
from community_alignment import schema

PREFIXES = [prefix for _, prefix in schema.turn_prefixes()]


def raw_row(
    conversation_id: str,
    annotator_id: str = "10000000000001",
    *,
    turns: int = 2,
    language: str = "en",
    country: str = "united states",
    choices=None,
    **cells,
) -> dict:
    """One raw conversation row; ``cells`` override any raw column by name."""
    choices = choices or ["response_a", "response_d", "response_b", "response_c"]
    row = dict.fromkeys(schema.raw_column_names(), "")
    row.update(
        conversation_id=conversation_id,
        annotator_id=annotator_id,
        assigned_lang=language,
        annotator_country=country,
        annotator_age="18-34",
        annotator_gender="female",
        annotator_education_level="Post-secondary graduate",
        annotator_political="Somewhat left-leaning",
        annotator_ethnicity="White",
        is_pregenerated_first_prompt="True",
        in_balanced_subset="False",
        in_balanced_subset_10="False",
        wave="1",
    )
    for number, prefix in enumerate(PREFIXES[:turns], start=1):
        row[f"{prefix}_turn_prompt"] = (
            f'Prompt {number} of {conversation_id}, with "quotes",\ncommas'
        )
        texts = [f"Answer {letter}{number} of {conversation_id}" for letter in "ABCD"]
        for letter, text in zip("abcd", texts, strict=True):
            row[f"{prefix}_turn_response_{letter}"] = text
        row[f"{prefix}_turn_responses"] = "\n\n".join(
            f"# Response {letter}:\n{text}" for letter, text in zip("ABCD", texts, strict=True)
        )
        row[f"{prefix}_turn_preferred_response"] = choices[number - 1]
        row[f"{prefix}_turn_feedback"] = f"Because {number}" if number == 1 else ""
    row.update(cells)
    return row  # fmt: skip


def write_raw(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=schema.raw_column_names(), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


# One conversation or two in each country and language, with one turn without a choice.
MIXED_ROWS = [
    raw_row("10", "1", turns=3),
    raw_row("11", "1", turns=1, choices=["response_c"]),
    raw_row("12", "2", language="hi", country="india", turns=2),
    raw_row("13", "3", language="en", country="india", turns=4),
    raw_row("14", "4", language="fr", country="france", turns=2, choices=["response_b", ""]),
    raw_row("15", "5", language="pt", country="brazil", turns=2),
    raw_row("16", "6", language="it", country="italy", turns=1),
]


def built_release(tmp_path_factory, name: str, rows: list[dict]) -> Path:
    """A release built from ``rows`` in a fresh folder (for module-scoped fixtures)."""
    folder = tmp_path_factory.mktemp(name)
    return build(write_raw(folder / "raw.csv", rows), folder / "release").release


@pytest.fixture
def build_rows(tmp_path):
    """Build a release from raw rows; returns the BuildResult."""

    def _build(rows: list[dict], name: str = "release"):
        source = write_raw(tmp_path / f"{name}.csv", rows)
        return build(source, tmp_path / name)

    return _build
