"""Decisions that need every row: duplicates, annotator consistency, demographic consensus.

They run on a small frame of keys and demographics (one row per raw row, no text), so the
whole file never has to be in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from builder import quarantine
from community_alignment import schema
from community_alignment.contract import REASONS


@dataclass
class Decisions:
    accepted_rows: pl.DataFrame  # raw_row of every row released
    quarantine: pl.DataFrame  # row-level quarantine entries (builder.quarantine)
    duplicate_rows: pl.DataFrame  # exact duplicates dropped: raw_row, conversation_id, kept_row
    annotators: pl.DataFrame  # annotator_id, country, wave, languages, consensus demographics
    overrides: pl.DataFrame  # annotator_id, field, value_kept, value_overridden, rows


def decide(rows: pl.DataFrame) -> Decisions:
    """Split raw rows into accepted and quarantined, and settle each annotator's demographics."""
    rows = rows.sort("raw_row")
    by_id = rows.filter(pl.col("conversation_id").is_not_null()).with_columns(
        pl.col("row_hash").n_unique().over("conversation_id").alias("versions"),
        pl.col("raw_row").min().over("conversation_id").alias("kept_row"),
    )
    conflicting = by_id.filter(pl.col("versions") > 1)
    duplicates = by_id.filter((pl.col("versions") == 1) & (pl.col("raw_row") != pl.col("kept_row")))
    remaining = rows.join(conflicting.select("raw_row"), on="raw_row", how="anti").join(
        duplicates.select("raw_row"), on="raw_row", how="anti"
    )
    bad_rows = remaining.filter(pl.col("row_problem").is_not_null())
    remaining = remaining.filter(pl.col("row_problem").is_null())
    countries = remaining.group_by("annotator_id").agg(pl.col("country").unique().sort())
    split_annotators = countries.filter(pl.col("country").list.len() > 1)
    country_conflicts = remaining.join(
        split_annotators.rename({"country": "countries"}), on="annotator_id"
    )
    accepted = remaining.join(split_annotators, on="annotator_id", how="anti")
    set_aside = pl.concat([
        quarantine.entries(conflicting, REASONS.conflicting_duplicate_conversation,
                    pl.format("{} rows share this conversation_id with different content",
                              pl.len().over("conversation_id"))),
        quarantine.entries(bad_rows, pl.col("row_problem"), pl.col("row_detail")),
        quarantine.entries(country_conflicts, REASONS.annotator_country_conflict,
                    pl.format("annotator's rows name countries {}",
                              pl.col("countries").list.join(", "))),
    ]).sort("raw_row")  # fmt: skip
    annotators, overrides = _annotators(accepted)
    return Decisions(
        accepted_rows=accepted.select("raw_row"),
        quarantine=set_aside,
        duplicate_rows=duplicates.select("raw_row", "conversation_id", "kept_row"),
        annotators=annotators,
        overrides=overrides,
    )


def _annotators(accepted: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per annotator: the most frequent non-null answer of each demographic field wins
    (ties go to the alphabetically first answer), and every overridden answer is listed."""
    fields = [*schema.demographics(), "wave"]
    consensus = accepted.group_by("annotator_id").agg(
        pl.col("country").first(),
        pl.col("language").unique().sort().alias("languages"),
    )
    overrides = []
    for field in fields:
        counts = (
            accepted.filter(pl.col(field).is_not_null())
            .group_by("annotator_id", field)
            .agg(pl.len().alias("rows"))
            .sort(["annotator_id", "rows", field], descending=[False, True, False])
        )
        winner = (
            counts.group_by("annotator_id", maintain_order=True)
            .first()
            .select("annotator_id", pl.col(field).alias("value_kept"))
        )
        consensus = consensus.join(
            winner.rename({"value_kept": field}), on="annotator_id", how="left"
        )
        overrides.append(
            counts.join(winner, on="annotator_id")
            .filter(pl.col(field) != pl.col("value_kept"))
            .select(
                "annotator_id",
                pl.lit(field).alias("field"),
                pl.col("value_kept").cast(pl.String),
                pl.col(field).cast(pl.String).alias("value_overridden"),
                pl.col("rows").cast(pl.Int64),
            )
        )
    return consensus.sort("annotator_id"), pl.concat(overrides).sort("annotator_id", "field")
