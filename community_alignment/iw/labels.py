"""IW labels of the candidate responses: reading and checking a labelling (:func:`load_labels`),
the checked :class:`Labels`, and how much of a corpus they cover.

A labelling comes from outside the release (the paper used a judge model), keyed by
:func:`community_alignment.hashing.response_key` so that it survives rebuilds of the release.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from community_alignment.hashing import response_key
from community_alignment.inputs import Source, as_lazyframe, read_table
from community_alignment.iw.poles import (
    AXES,
    POLES,
    RESPONSES,
    normalise_pole,
    pole_of_scores_expr,
)

__all__ = [
    "LABEL_COLUMNS",
    "LABEL_SCHEMA",
    "REQUIRED_LABEL_COLUMNS",
    "TEXT",
    "Labels",
    "corpus_keys",
    "corpus_responses",
    "label_coverage",
    "load_labels",
    "validated",
]

LABEL_COLUMNS: tuple[str, ...] = ("response_key", "pole", *AXES, "labeller")
REQUIRED_LABEL_COLUMNS: tuple[str, ...] = ("response_key", "labeller")

_KEY_PATTERN = re.compile(r"^[0-9a-f]{16}$")
LABEL_SCHEMA = {
    "response_key": pl.String,
    "pole": pl.String,
    AXES[0]: pl.Float64,
    AXES[1]: pl.Float64,
    "labeller": pl.String,
}
"""The type of each label column."""
TEXT = "_text"
"""The column of a response's text in :func:`corpus_keys`."""


def corpus_keys(texts: pl.Series) -> pl.DataFrame:
    """The distinct non-null texts (sorted) and their response keys."""
    unique = texts.drop_nulls().unique().sort()
    return pl.DataFrame(
        {TEXT: unique, "response_key": [response_key(text) for text in unique]},
        schema={TEXT: pl.String, "response_key": pl.String},
    )


def corpus_responses(source: Source) -> pl.DataFrame:
    """``_text`` and ``response_key`` of every distinct candidate response of a corpus."""
    lazy = as_lazyframe(source, [RESPONSES])
    names = lazy.collect_schema().names()
    if RESPONSES not in names:
        raise ValueError(
            f"the comparisons table lacks the column needed to find its responses: {RESPONSES} "
            f"(it has: {', '.join(names) or 'no columns'})"
        )
    texts = lazy.select(pl.col(RESPONSES).explode()).collect().to_series()
    if texts.len() == 0:
        raise ValueError("the comparisons table has no rows")
    return corpus_keys(texts.cast(pl.String))


@dataclass(frozen=True, eq=False)
class Labels:
    """A checked labelling: one row per ``response_key``.

    ``frame`` has the columns ``response_key``, ``pole`` (as given, or derived from the scores;
    null when the scores tie), ``traditional_secular``, ``survival_self_expression`` (null when
    not given) and ``labeller``. Make one with :func:`load_labels` or
    :func:`~community_alignment.iw.labelling.label_responses`.
    """

    frame: pl.DataFrame

    def __len__(self) -> int:
        return self.frame.height

    @property
    def labellers(self) -> list[str]:
        return sorted(self.frame["labeller"].unique().to_list())

    def coverage_of(self, source: Source) -> dict[str, Any]:
        """How much of a corpus this labelling labels, and how many labels are for other responses.

        Keys: ``corpus_responses`` (distinct candidate responses of the corpus),
        ``labelled_responses``, ``labelled_with_pole``, ``labelled_with_scores``,
        ``unlabelled_responses``, ``share_labelled``, ``labels``, ``labels_not_in_corpus`` and
        ``examples_not_in_corpus`` (up to five such keys, sorted).

        >>> import polars as pl
        >>> labels = load_labels(pl.DataFrame({
        ...     "response_key": [response_key("Pray."), "0123456789abcdef"],
        ...     "pole": ["traditional", "survival"], "labeller": ["me", "me"]}))
        >>> corpus = pl.DataFrame({"responses": [["Pray.", "Vote.", "Paint.", None]]})
        >>> report = labels.coverage_of(corpus)
        >>> report["corpus_responses"], report["labelled_responses"], report["labels_not_in_corpus"]
        (3, 1, 1)
        """
        return label_coverage(corpus_responses(source), self)


def label_coverage(corpus: pl.DataFrame, labels: Labels) -> dict[str, Any]:
    """:meth:`Labels.coverage_of` on the responses of a corpus (from :func:`corpus_keys`)."""
    keys = corpus.select("response_key").unique()
    matched = labels.frame.join(keys, on="response_key", how="semi")
    outside = labels.frame.join(keys, on="response_key", how="anti")["response_key"].sort()
    total = keys.height
    return {
        "corpus_responses": total,
        "labelled_responses": matched.height,
        "labelled_with_pole": int(matched["pole"].is_not_null().sum()),
        "labelled_with_scores": int(matched[AXES[0]].is_not_null().sum()),
        "unlabelled_responses": total - matched.height,
        "share_labelled": matched.height / total if total else math.nan,
        "labels": labels.frame.height,
        "labels_not_in_corpus": outside.len(),
        "examples_not_in_corpus": outside.head(5).to_list(),
    }


def _as_strings(frame: pl.DataFrame, column: str, origin: str) -> pl.Series:
    series = frame[column]
    if series.dtype in (pl.String, pl.Null, pl.Categorical) or isinstance(series.dtype, pl.Enum):
        return series.cast(pl.String)
    raise ValueError(f"{origin}: column {column} must hold text, got {series.dtype}")


def _as_scores(frame: pl.DataFrame, column: str, origin: str) -> pl.Series:
    series = frame[column]
    if series.dtype == pl.Boolean:
        raise ValueError(f"{origin}: column {column} must hold numbers, got booleans")
    if series.dtype in (pl.String, pl.Null) or series.dtype.is_numeric():
        numbers = series.cast(pl.Float64, strict=False)
    else:
        raise ValueError(f"{origin}: column {column} must hold numbers, got {series.dtype}")
    unparsed = numbers.is_null() & series.is_not_null()
    if unparsed.any():
        row = int(unparsed.arg_max()) + 1
        raise ValueError(f"{origin}: row {row}: {column} {series[row - 1]!r} is not a number")
    outside = numbers.is_nan() | (numbers.abs() > 1.0)
    if outside.fill_null(False).any():
        row = int(outside.fill_null(False).arg_max()) + 1
        raise ValueError(f"{origin}: row {row}: {column} {numbers[row - 1]!r} is outside [-1, 1]")
    return numbers


def validated(raw: pl.DataFrame, origin: str) -> pl.DataFrame:
    """Check a raw labelling and return it in :class:`Labels` form (see :func:`load_labels`).

    Rows are counted from 1 (the header is not a row).
    """
    missing = [c for c in REQUIRED_LABEL_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(
            f"{origin}: labels lack the required column(s) {', '.join(missing)} "
            f"(it has: {', '.join(raw.columns) or 'no columns'}; expected "
            f"{', '.join(LABEL_COLUMNS)})"
        )
    has_pole = "pole" in raw.columns
    has_scores = [axis in raw.columns for axis in AXES]
    if any(has_scores) and not all(has_scores):
        absent = AXES[has_scores.index(False)]
        raise ValueError(f"{origin}: labels give one score column but not {absent}")
    if not has_pole and not all(has_scores):
        raise ValueError(
            f"{origin}: labels need a pole column, or both score columns {AXES[0]} and {AXES[1]}"
        )
    if raw.height == 0:
        raise ValueError(f"{origin}: there are no labels")

    keys = _as_strings(raw, "response_key", origin)
    bad_key = keys.is_null() | ~keys.str.contains(_KEY_PATTERN.pattern).fill_null(False)
    if bad_key.any():
        row = int(bad_key.arg_max()) + 1
        raise ValueError(
            f"{origin}: row {row}: response_key {keys[row - 1]!r} is not a response key "
            "(16 lower-case hex digits from community_alignment.hashing.response_key)"
        )
    labeller = _as_strings(raw, "labeller", origin)
    no_labeller = labeller.is_null() | (labeller.str.strip_chars() == "")
    if no_labeller.any():
        row = int(no_labeller.arg_max()) + 1
        raise ValueError(f"{origin}: row {row}: the labeller is missing")

    if has_pole:
        given = _as_strings(raw, "pole", origin)
        stripped = given.str.strip_chars()
        given = pl.Series("pole", [None if v is None or v == "" else v for v in stripped])
        poles = pl.Series(
            "pole", [None if v is None else normalise_pole(v) for v in given], dtype=pl.String
        )
        unknown = poles.is_not_null() & ~poles.is_in(list(POLES))
        if unknown.any():
            row = int(unknown.arg_max()) + 1
            raise ValueError(
                f"{origin}: row {row}: unknown pole {given[row - 1]!r}; "
                f"expected one of {', '.join(POLES)}"
            )
    else:
        poles = pl.Series("pole", [None] * raw.height, dtype=pl.String)
    if all(has_scores):
        scores = [_as_scores(raw, axis, origin) for axis in AXES]
    else:
        scores = [pl.Series(axis, [None] * raw.height, dtype=pl.Float64) for axis in AXES]
    half = scores[0].is_null() != scores[1].is_null()
    if half.any():
        row = int(half.arg_max()) + 1
        raise ValueError(f"{origin}: row {row}: give both scores or neither, not one")
    empty = poles.is_null() & scores[0].is_null()
    if empty.any():
        row = int(empty.arg_max()) + 1
        raise ValueError(f"{origin}: row {row}: the label has neither a pole nor scores")

    given_frame = pl.DataFrame(
        [
            keys.alias("response_key"),
            poles.alias("pole"),
            scores[0].alias(AXES[0]),
            scores[1].alias(AXES[1]),
            labeller.alias("labeller"),
        ]
    )
    distinct = given_frame.unique(maintain_order=True)
    conflicting = distinct.filter(pl.col("response_key").is_duplicated())
    if conflicting.height:
        key = conflicting["response_key"][0]
        versions = conflicting.filter(pl.col("response_key") == key).drop("response_key")
        shown = "; ".join(
            ", ".join(f"{k}={v!r}" for k, v in row.items()) for row in versions.to_dicts()
        )
        raise ValueError(
            f"{origin}: response_key {key} has {versions.height} different labels ({shown}); "
            f"{conflicting['response_key'].n_unique()} key(s) conflict in all"
        )
    return distinct.with_columns(pl.coalesce("pole", pole_of_scores_expr()).alias("pole"))


def load_labels(path_or_frame: str | Path | pl.DataFrame | Labels) -> Labels:
    """Read and check a labelling from a CSV, Parquet or JSONL file or a polars DataFrame.

    Columns: ``response_key`` (required), ``pole`` (one of :data:`~community_alignment.iw.poles.POLES`, case, spaces and
    underscores forgiven; optional when both scores are given), ``traditional_secular`` and
    ``survival_self_expression`` (optional, numbers in [-1, 1], both or neither per row),
    ``labeller`` (required). Other columns are ignored. A row without a pole takes the pole of
    its scores (:func:`~community_alignment.iw.poles.pole_of_scores`). Identical duplicate rows collapse into one.

    Raises ``ValueError``, naming the row (counted from 1, header excluded) or the key, on a
    missing required column, an unknown pole, a score that is not a number or outside [-1, 1],
    a malformed key, a row with neither pole nor scores, a key with different labels, and a
    labelling without rows.

    >>> import polars as pl
    >>> labels = load_labels(pl.DataFrame({
    ...     "response_key": ["00000000000000aa", "00000000000000bb", "00000000000000aa"],
    ...     "pole": ["Traditional", None, "Traditional"],
    ...     "traditional_secular": [None, 0.2, None],
    ...     "survival_self_expression": [None, 0.7, None],
    ...     "labeller": ["judge", "judge", "judge"],
    ... }))
    >>> labels.frame.select("response_key", "pole").rows()
    [('00000000000000aa', 'traditional'), ('00000000000000bb', 'self-expression')]
    >>> load_labels(pl.DataFrame({"response_key": ["00000000000000aa"], "pole": ["modern"],
    ...                           "labeller": ["judge"]}))
    Traceback (most recent call last):
    ...
    ValueError: labels: row 1: unknown pole 'modern'; expected one of traditional, secular-rational, survival, self-expression
    """  # noqa: E501
    if isinstance(path_or_frame, Labels):
        return path_or_frame
    if isinstance(path_or_frame, pl.DataFrame):
        return Labels(validated(path_or_frame, "labels"))
    if isinstance(path_or_frame, (str, Path)):
        path = Path(path_or_frame)
        return Labels(validated(read_table(path, "labels", ndjson=True), str(path)))
    raise TypeError(
        "labels must be a CSV, Parquet or JSONL path or a polars DataFrame, got "
        f"{type(path_or_frame).__name__}"
    )
