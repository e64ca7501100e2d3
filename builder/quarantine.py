"""The quarantine: rows and turns of the raw file that cannot be released, each with a reason
code from ``schema/release.yaml`` and a detail naming the offending value.

Every step that sets something aside does it through :func:`entries`, the only way in; the
build adds the steps' entries up with :func:`combine` and writes them beside the release.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from community_alignment import contract

FILE = "quarantine.parquet"
SCHEMA = {
    "raw_row": pl.Int64,
    "conversation_id": pl.String,
    "annotator_id": pl.String,
    "turn": pl.Int8,  # null for a whole row
    "reason": pl.String,
    "detail": pl.String,
}


def entries(
    frame: pl.DataFrame, reason: str | pl.Expr, detail: pl.Expr, *, turn: bool = False
) -> pl.DataFrame:
    """Quarantine entries for the rows of ``frame`` (which has ``raw_row``,
    ``conversation_id``, ``annotator_id``, and ``turn`` when ``turn``): a whole raw row each,
    or one turn each. ``reason`` is a code of ``contract.REASONS`` or an expression giving one
    per row; a code the schema does not know is an error, not an entry.

    >>> rows = pl.DataFrame({"raw_row": [4], "conversation_id": ["7"], "annotator_id": [None]})
    >>> entries(rows, "missing_id", pl.lit("annotator_id is empty")).row(0)
    (4, '7', None, None, 'missing_id', 'annotator_id is empty')
    """
    if isinstance(reason, str):
        if reason not in contract.quarantine_reasons():
            raise ValueError(f"{reason!r} is not a quarantine reason of schema/release.yaml")
        reason = pl.lit(reason)
    made = frame.select(
        "raw_row",
        "conversation_id",
        "annotator_id",
        pl.col("turn") if turn else pl.lit(None, dtype=pl.Int8).alias("turn"),
        reason.alias("reason"),
        detail.alias("detail"),
    ).cast(SCHEMA)
    unknown = set(made["reason"].drop_nulls().unique()) - set(contract.quarantine_reasons())
    if unknown:
        raise ValueError(f"{sorted(unknown)} are not quarantine reasons of schema/release.yaml")
    return made


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def combine(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The steps' entries as one quarantine, in raw-file order (a row's entry before its
    turns')."""
    return pl.concat([empty(), *parts]).sort("raw_row", "turn", nulls_last=False)


def rows_only(quarantine: pl.DataFrame) -> pl.DataFrame:
    return quarantine.filter(pl.col("turn").is_null())


def turns_only(quarantine: pl.DataFrame) -> pl.DataFrame:
    return quarantine.filter(pl.col("turn").is_not_null())


def reason_counts(quarantine: pl.DataFrame) -> dict[str, int]:
    counts = quarantine.group_by("reason").len().sort("reason")
    return dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True))


def write(folder: Path, quarantine: pl.DataFrame) -> Path:
    path = folder / FILE
    quarantine.write_parquet(path)
    return path
