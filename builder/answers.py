"""Answers from a vocabulary (country, flags, wave, demographics) read whatever their spelling.

An answer spelled differently (case, runs of whitespace, curly quotes and apostrophes) is
the same answer: both sides are compared through :func:`folded`, the one definition of a
spelling's key, applied to the raw cells and to the spellings of ``schema/vocabularies.yaml``
alike. Each cell that needed folding is counted. A value that folds to nothing known is
unknown: for a closed vocabulary the build stops (:func:`unknown_error`), an open one keeps
it and the report lists it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache

import polars as pl

from community_alignment import schema

FLAGS = ["is_pregenerated_first_prompt", "in_balanced_subset", "in_balanced_subset_10"]
# typographic quotes and apostrophes, and what each is folded into
QUOTES = {"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"'}


def folded(text: pl.Expr) -> pl.Expr:
    """The spelling key of an answer: whitespace runs made one space and trimmed, lower case,
    typographic quotes made straight.

    >>> pl.select(folded(pl.lit("  I don\u2019t  think of\\tmyself ")).alias("k")).item()
    "i don't think of myself"
    """
    text = text.str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()
    for curly, straight in QUOTES.items():
        text = text.str.replace_all(curly, straight, literal=True)
    return text


def _keys(spellings: list[str]) -> list[str]:
    """:func:`folded` of each spelling (the same expression as for the cells)."""
    return pl.select(folded(pl.Series(spellings, dtype=pl.String).alias("s")))["s"].to_list()


@dataclass(frozen=True)
class Vocabulary:
    """How one raw column's answers are coded."""

    column: str  # the raw column
    output: str  # the column the code goes to
    name: str  # its vocabulary in schema/vocabularies.yaml
    dtype: pl.DataType
    closed: bool  # an unknown answer stops the build (else it is kept and listed)
    quarantined: bool  # an unknown answer is a row problem (the row is quarantined instead)

    @property
    def spellings(self) -> dict[str, object]:
        return spellings_of(self.name)

    @property
    def keys(self) -> dict[str, object]:
        return keys_of(self.name)


@cache
def keys_of(name: str) -> dict[str, object]:
    """Each spelling's key (:func:`folded`) in a vocabulary, with its code.

    >>> keys_of("countries")["united states"], keys_of("booleans")["true"]
    ('us', True)
    """
    spellings = spellings_of(name)
    return dict(zip(_keys(list(spellings)), spellings.values(), strict=True))


@cache
def spellings_of(name: str) -> dict[str, object]:
    """Each spelling a vocabulary lists, as written (its values, their ``raw`` spellings and
    its ``aliases``), with its code."""
    made = {}
    for value in schema.vocabulary(name)["values"]:
        if isinstance(value, dict):
            raws = value["raw"] if isinstance(value["raw"], list) else [value["raw"]]
            made.update({str(raw): value["code"] for raw in raws})
        else:
            made[str(value)] = value
    made |= schema.vocabulary(name).get("aliases", {})
    return made


@cache
def vocabularies() -> tuple[Vocabulary, ...]:
    """Every raw column whose answers come from a vocabulary, with how it is coded."""
    made = [
        Vocabulary("annotator_country", "country", "countries", pl.String, True, True),
        *(Vocabulary(c, f"{c}_code", "booleans", pl.Boolean, True, True) for c in FLAGS),
        Vocabulary("wave", "wave_code", "wave", pl.Int8, True, True),
    ]
    for column in schema.demographics():
        closed = not schema.vocabulary(column).get("open")
        made.append(Vocabulary(column, column, column, pl.String, closed, False))
    return tuple(made)


def coded(vocabulary: Vocabulary) -> pl.Expr:
    """The column's answers as codes; an unknown answer is null, or in an open vocabulary the
    answer itself with its whitespace tidied."""
    key = folded(pl.col(vocabulary.column))
    code = key.replace_strict(vocabulary.keys, default=None, return_dtype=vocabulary.dtype)
    if not vocabulary.closed:
        tidy = pl.col(vocabulary.column).str.replace_all(r"\s+", " ").str.strip_chars()
        code = pl.coalesce(code, tidy)
    return code.alias(vocabulary.output)


@dataclass
class Findings:
    """What a batch's answers needed: cells respelled, per column; unknown answers, per
    (column, value), with their count and first raw row."""

    respelled: Counter = field(default_factory=Counter)
    unknown: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # [count, first row]

    def add(self, other: Findings) -> None:
        self.respelled.update(other.respelled)
        for key, (count, first) in other.unknown.items():
            seen = self.unknown.setdefault(key, [0, first])
            seen[0] += count
            seen[1] = min(seen[1], first)


def findings(frame: pl.DataFrame) -> Findings:
    """Respelled and unknown answers of a batch (its raw cells, missing markers already null)."""
    found = Findings()
    checks = []
    for vocabulary in vocabularies():
        raw = pl.col(vocabulary.column)
        known = folded(raw).is_in(list(vocabulary.keys))
        exact = raw.is_in(list(vocabulary.spellings))
        checks += [
            (raw.is_not_null() & known & ~exact).sum().alias(f"respelled:{vocabulary.column}"),
            (raw.is_not_null() & ~known).any().alias(f"unknown:{vocabulary.column}"),
        ]
    sums = frame.select(checks).row(0, named=True)
    for vocabulary in vocabularies():
        if sums[f"respelled:{vocabulary.column}"]:
            found.respelled[vocabulary.column] += sums[f"respelled:{vocabulary.column}"]
        if not sums[f"unknown:{vocabulary.column}"]:
            continue
        raw = pl.col(vocabulary.column)
        unknown = (
            frame.filter(raw.is_not_null() & ~folded(raw).is_in(list(vocabulary.keys)))
            .group_by(vocabulary.column)
            .agg(pl.len(), pl.col("raw_row").min())
        )
        for value, count, first in unknown.iter_rows():
            found.unknown[(vocabulary.column, value)] = [count, first]
    return found


def unknown_error(found: Findings, path: object) -> str | None:
    """The message that stops a build whose file has answers outside a closed vocabulary whose
    rows are not quarantined for it (demographics), or None."""
    closed = {v.column: v for v in vocabularies() if v.closed and not v.quarantined}
    named = [
        f"{column} {value!r} ({count:,} rows, first at raw record {first})"
        for (column, value), (count, first) in sorted(found.unknown.items())
        if column in closed
    ]
    if not named:
        return None
    return (
        f"{path}: {len(named)} answer(s) outside the closed vocabularies of "
        f"schema/vocabularies.yaml, so the release would not validate: {'; '.join(named)}. "
        "If an answer is valid, add it to its column's vocabulary in schema/vocabularies.yaml "
        "(as a value, or as a `raw` spelling of one), then build again."
    )


def report(found: Findings) -> dict:
    """The report's account of answers: respellings per column, and unknown answers kept
    (open vocabularies) or quarantined with their rows, with counts."""
    by_column = {v.column: v for v in vocabularies()}
    kept, quarantined = {}, {}
    for (column, value), (count, _) in sorted(found.unknown.items()):
        vocabulary = by_column[column]
        if not vocabulary.closed:
            kept.setdefault(column, {})[value] = count
        elif vocabulary.quarantined:
            quarantined.setdefault(column, {})[value] = count
    return {
        "respelled": dict(sorted(found.respelled.items())),
        "new_in_open_vocabularies": kept,
        "unknown_quarantined": quarantined,
    }
