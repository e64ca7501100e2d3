"""The ``{t}_turn_responses`` cell: a turn's four responses again, in one string under headers.

Written here for the generator (:func:`join`) and checked here for the build
(:func:`responses_cell_mismatches`): the release uses the four response columns, so the cell is
only compared with them, never released.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from builder.clean import response_columns, turn_column
from builder.hygiene import HYGIENE_STEPS, clean_text, is_missing
from community_alignment import schema

LETTERS = [str(code) for code in schema.codes("choice")]  # a b c d
FORMAT = "\n\n".join(f"# Response {letter.upper()}:\n{{{letter.upper()}}}" for letter in LETTERS)
"""The cell as the generator writes it; fill with ``A=..., B=..., C=..., D=...``."""


def join(cells: Sequence[str]) -> str:
    """The cell of four response cells (in shown order), as :data:`FORMAT` says."""
    return FORMAT.format(
        **{letter.upper(): cell for letter, cell in zip(LETTERS, cells, strict=True)}
    )


RESPONSES_CELL = re.compile(
    r"(?s)^\s*"
    + r"\s*".join(f"# Response {letter.upper()}:\\s*(.*?)" for letter in LETTERS)
    + r"\s*$"
)


def responses_cell_mismatches(frame: pl.DataFrame) -> dict[int, int]:
    """Per turn, how many ``{t}_turn_responses`` cells disagree with the four response columns,
    in a raw batch (before :func:`builder.clean.normalise`).

    The four columns are what the release uses; the concatenation is only checked. A cell
    written exactly as :data:`FORMAT` from the columns as read agrees at once, as does an
    empty turn; only the others are cleaned like released text and parsed leniently (any
    whitespace around the headers and texts; a missing marker counts as empty).
    """

    def cleaned(column: str) -> pl.Expr:
        text = clean_text(column, set(HYGIENE_STEPS))[0].str.normalize("NFC")
        stripped = text.str.strip_chars()
        return pl.when(is_missing(text)).then(pl.lit("")).otherwise(stripped).alias(column)

    def parts(prefix: str) -> tuple[str, list[str]]:
        return turn_column(prefix, "responses"), response_columns(prefix)

    def suspect(prefix: str) -> pl.Expr:
        cell, columns = parts(prefix)
        exact = pl.concat_str(
            [
                pl.format(f"# Response {letter.upper()}:\n{{}}", pl.col(column))
                for letter, column in zip(LETTERS, columns, strict=True)
            ],
            separator="\n\n",
        )
        empty = pl.all_horizontal(pl.col(c) == "" for c in [cell, *columns])
        return (pl.col(cell) != exact) & ~empty

    turns = schema.turn_prefixes()
    # one query for the common case, where every cell agrees at once
    suspects = frame.select(suspect(prefix).sum().alias(str(n)) for n, prefix in turns).row(0)
    counts = {}
    for (number, prefix), suspected in zip(turns, suspects, strict=True):
        counts[number] = 0
        if not suspected:
            continue
        cell, columns = parts(prefix)
        rows = frame.filter(suspect(prefix)).select(cleaned(c) for c in [cell, *columns])
        found = pl.col(cell).str.extract_groups(RESPONSES_CELL.pattern)
        agree = pl.all_horizontal(
            found.struct.field(str(i + 1)).fill_null("") == pl.col(column)
            for i, column in enumerate(columns)
        )
        present = pl.any_horizontal(pl.col(c) != "" for c in [cell, *columns])
        counts[number] = int(rows.select((present & ~agree.fill_null(False)).sum()).item())
    return counts
