"""Normalise one batch of raw rows and turn it from wide (a conversation) to long (its turns).

Everything here depends on one row alone, so it runs batch by batch while the file streams.
Decisions that need all rows (duplicates, annotator consistency) are taken in ``decide``.
"""

from __future__ import annotations

from functools import cache

import langcodes
import polars as pl

from builder import answers, hygiene
from builder.hygiene import ByteProfile
from community_alignment import schema
from community_alignment.contract import REASONS

LETTERS = [str(c) for c in schema.codes("choice")]
FLAGS = answers.FLAGS


def turn_column(prefix: str, field: str) -> str:
    return f"{prefix}_turn_{field}"


def response_columns(prefix: str) -> list[str]:
    """A turn's four response columns, in shown order."""
    return [turn_column(prefix, f"response_{letter}") for letter in LETTERS]


@cache
def language_code(raw: str) -> str | None:
    """BCP-47 language of a raw ``assigned_lang`` value, or None when it is not a release language.

    >>> language_code("EN"), language_code("pt-BR"), language_code("de")
    ('en', 'pt', None)
    """
    try:
        tag = langcodes.standardize_tag(raw.strip())
    except (ValueError, LookupError):
        return None
    language = langcodes.Language.get(tag).language
    return language if language in schema.codes("languages") else None


def _code(expr: pl.Expr, mapping: dict, dtype: pl.DataType) -> pl.Expr:
    return expr.str.strip_chars().replace_strict(mapping, default=None, return_dtype=dtype)


def choices_recorded() -> pl.Expr:
    """How many turns of a row have a recorded (non-empty) preferred_response."""
    return pl.sum_horizontal(
        pl.col(turn_column(prefix, "preferred_response")).is_not_null().cast(pl.Int32)
        for _, prefix in schema.turn_prefixes()
    ).alias("choices_recorded")


def responses_cells() -> list[str]:
    """The ``{t}_turn_responses`` columns: the four response columns again, in one cell. They are
    only checked against those columns (:mod:`builder.responses_cell`), never released, so they
    are not cleaned."""
    return [turn_column(prefix, "responses") for _, prefix in schema.turn_prefixes()]


def released_text_columns() -> list[str]:
    """The raw columns whose text goes into the release, so is cleaned."""
    cells = set(responses_cells())
    return [c for c in schema.raw_column_names() if c not in cells]


def normalise(
    frame: pl.DataFrame, profiles: dict[str, ByteProfile]
) -> tuple[pl.DataFrame, dict[str, int], answers.Findings]:
    """Clean text (BOM, CRLF, control characters, NFC), missing markers to null, and codes for
    language and the vocabularies' answers (:mod:`builder.answers`). Returns the frame, how
    many cells each step changed, and the answers' findings (respelled, unknown).

    ``profiles`` says which steps each text column of the batch may need: in most batches
    most columns need none, and a step costs a pass over the text. ``row_hash`` (which finds
    exact duplicate rows) is of every raw column as read.
    """
    raw_columns = [c for c in schema.raw_column_names() if c in frame.columns]
    text_columns = [c for c in released_text_columns() if c in frame.columns]
    cleaned, flags = [], {}
    for column in text_columns:
        # a profile flags by name the byte-level steps its column may need
        steps = {
            step for step in hygiene.HYGIENE_STEPS if getattr(profiles[column], step, None) is True
        }
        text, changed = hygiene.clean_text(column, steps)
        cleaned.append(text)
        flags |= {f"_{step}:{column}": flag.fill_null(False) for step, flag in changed.items()}
    # one lazy query, so the cleaning and the counts of what it changed share their work
    frame = (
        frame.lazy()
        .with_columns(pl.struct(raw_columns).hash().alias("row_hash"))
        .with_columns(*cleaned, **flags)
        .collect(engine="in-memory")
    )
    sums = frame.select(pl.col(name).sum() for name in flags).row(0, named=True) if flags else {}
    changed = {
        step: sum(n for k, n in sums.items() if k.startswith(f"_{step}:"))
        for step in hygiene.HYGIENE_STEPS
    }
    frame, changed["unicode_nfc"] = hygiene.normalise_nfc(
        frame, {c: profiles[c].wide_cells for c in text_columns}
    )
    frame = frame.drop(*flags, *responses_cells(), strict=False)
    languages = {
        raw.strip(): language_code(raw) for raw in frame["assigned_lang"].drop_nulls().unique()
    }
    frame = frame.with_columns(
        pl.when(hygiene.is_missing(pl.col(c))).then(None).otherwise(pl.col(c)).alias(c)
        for c in text_columns
    )
    found = answers.findings(frame)
    codes = frame.lazy().with_columns(
        pl.col("conversation_id").str.strip_chars(),
        pl.col("annotator_id").str.strip_chars(),
        _code(pl.col("assigned_lang"), languages, pl.String).alias("language"),
        *(answers.coded(vocabulary) for vocabulary in answers.vocabularies()),
    )
    frame = codes.with_columns(_row_problem()).collect(engine="in-memory")
    return frame, {step: int(n) for step, n in changed.items()}, found


def _row_problem() -> list[pl.Expr]:
    """The first row-level reason to quarantine, with a detail naming the offending value."""

    def said(column: str) -> pl.Expr:
        return pl.format(f"{column} is '{{}}'", pl.col(column).fill_null(""))

    checks = [
        (REASONS.missing_id, pl.col("conversation_id").is_null() | pl.col("annotator_id").is_null(),
         pl.lit("conversation_id or annotator_id is empty")),
        (REASONS.unknown_language, pl.col("language").is_null(), said("assigned_lang")),
        (REASONS.unknown_country, pl.col("country").is_null(), said("annotator_country")),
        *((REASONS.invalid_flag, pl.col(f"{c}_code").is_null(), said(c)) for c in [*FLAGS, "wave"]),
    ]  # fmt: skip
    reason = pl.lit(None, dtype=pl.String)
    detail = pl.lit(None, dtype=pl.String)
    for code, failed, message in reversed(checks):
        reason = pl.when(failed).then(pl.lit(code)).otherwise(reason)
        detail = pl.when(failed).then(message).otherwise(detail)
    return [reason.alias("row_problem"), detail.alias("row_detail")]
