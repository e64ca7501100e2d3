"""Inglehart-Welzel (IW) values of the candidate responses and of the responses people chose.

The Inglehart-Welzel map places values on two axes from the World Values Survey: traditional
vs secular-rational, and survival vs self-expression. Its four poles are :data:`POLES`. The
paper behind the dataset reports that the responses of 21 leading LLMs all sit at the
secular-rational and self-expression poles (:data:`LLM_DEFAULT_POLES`), while people's
preferences vary far more, and that negatively-correlated sampling raised the share of
candidate sets holding a traditional response from 15% to 60% and a survival response from 30%
to 53%.

The released corpus carries no IW labels: a labelling of the candidate responses comes from
outside (the paper used a judge model), keyed by :func:`community_alignment.hashing.response_key`
so that it survives rebuilds of the release.

* :func:`load_labels` reads and checks a labelling (CSV, Parquet or a polars DataFrame with
  ``response_key``, ``pole`` and/or the two scores ``traditional_secular`` and
  ``survival_self_expression`` in [-1, 1], positive = secular-rational / self-expression, and
  ``labeller``); :meth:`Labels.coverage_of` says how much of a corpus it labels.
* :func:`label_responses` labels a corpus with any :class:`Labeller` (a callable from texts to
  label dicts), in batches, through an on-disk JSONL cache per labeller name.
* :func:`summarize` gives, per group (country, language, a demographic field, or overall), with
  bootstrap intervals that resample units (``item_id``): the pole coverage of candidate sets
  (the paper's measure), the share of choices that went to each pole, the mean position of the
  chosen responses against the mean of the candidates shown, and the gap to the LLM-default
  poles.
* Without labels: :func:`country_positions` is the shipped table of reference positions
  (``community_alignment/data/iw_countries.csv``: Integrated Values Surveys factor scores for
  the five release countries and the reference points Sweden and Japan), and
  :func:`distance_vs_disagreement` sets the IW distance between every two release countries
  beside how much their annotators disagree on the same units.
* :func:`plot_map` draws the map (PNG); :func:`register_cli` adds ``community-alignment iw``.

A response has one pole: the labelling's ``pole``, or when it gives only scores, the pole of the
axis with the larger absolute score (:func:`pole_of_scores`; none on a tie, e.g. at 0, 0).

>>> pole_of_scores(-0.6, 0.2)
'traditional'
>>> sorted(country_positions()["iso2"].to_list())
['br', 'fr', 'in', 'it', 'jp', 'se', 'us']
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from community_alignment import schema
from community_alignment.agreement import cross_agreement
from community_alignment.bootstrap import check_parameters, interval, resampled_sums
from community_alignment.hashing import response_key
from community_alignment.inputs import Source, as_lazyframe, choice_codes

__all__ = [
    "AXES",
    "AXIS_POLES",
    "LLM_DEFAULT_CORNER",
    "LLM_DEFAULT_POLES",
    "NON_DEFAULT_POLES",
    "POLES",
    "DistanceDisagreement",
    "IWSummary",
    "Labeller",
    "Labels",
    "country_positions",
    "distance_vs_disagreement",
    "label_responses",
    "load_labels",
    "plot_map",
    "pole_of_scores",
    "register_cli",
    "summarize",
]

POLES: tuple[str, ...] = ("traditional", "secular-rational", "survival", "self-expression")
"""The four poles of the Inglehart-Welzel map, the only values a label's ``pole`` may take."""

AXES: tuple[str, str] = ("traditional_secular", "survival_self_expression")
"""The two score columns; positive means secular-rational and self-expression."""

AXIS_POLES: dict[str, tuple[str, str]] = {
    AXES[0]: (POLES[0], POLES[1]),
    AXES[1]: (POLES[2], POLES[3]),
}
"""Per axis, its (negative, positive) pole."""

LLM_DEFAULT_POLES: tuple[str, ...] = (AXIS_POLES[AXES[0]][1], AXIS_POLES[AXES[1]][1])
"""Where the paper found the responses of every LLM it tested: secular-rational, self-expression."""

NON_DEFAULT_POLES: tuple[str, ...] = tuple(p for p in POLES if p not in LLM_DEFAULT_POLES)

LLM_DEFAULT_CORNER: tuple[float, float] = (1.0, 1.0)
"""The LLM-default corner in score space (both scores at their positive end)."""

POLE_COLUMNS: dict[str, str] = {pole: pole.replace("-", "_") for pole in POLES}
"""Column name of each pole in the summary tables."""

LABEL_COLUMNS: tuple[str, ...] = ("response_key", "pole", *AXES, "labeller")
REQUIRED_LABEL_COLUMNS: tuple[str, ...] = ("response_key", "labeller")

COUNTRIES_FILE = "iw_countries.csv"

ITEM = "item_id"
CHOICE = "choice"
RESPONSES = "responses"
COUNTRY = "country"

_KEY_PATTERN = re.compile(r"^[0-9a-f]{16}$")
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LABEL_SCHEMA = {
    "response_key": pl.String,
    "pole": pl.String,
    AXES[0]: pl.Float64,
    AXES[1]: pl.Float64,
    "labeller": pl.String,
}
_CODE = "_choice_code"
_ROW = "_row"
_POS = "_pos"
_TEXT = "_text"


# --------------------------------------------------------------------------------------------
# Poles and positions
# --------------------------------------------------------------------------------------------


def pole_of_scores(traditional_secular: float, survival_self_expression: float) -> str | None:
    """The pole of the axis with the larger absolute score; None on a tie (0, 0 included).

    >>> pole_of_scores(0.1, -0.4), pole_of_scores(0.8, 0.5), pole_of_scores(0.3, -0.3)
    ('survival', 'secular-rational', None)
    """
    ts, sse = abs(traditional_secular), abs(survival_self_expression)
    if ts == sse:
        return None
    axis, score = (
        (AXES[0], traditional_secular) if ts > sse else (AXES[1], survival_self_expression)
    )
    return AXIS_POLES[axis][score > 0]


def _pole_of_scores_expr() -> pl.Expr:
    ts, sse = pl.col(AXES[0]), pl.col(AXES[1])
    (trad, secular), (survival, expression) = AXIS_POLES[AXES[0]], AXIS_POLES[AXES[1]]
    return (
        pl.when(ts.abs() > sse.abs())
        .then(pl.when(ts > 0).then(pl.lit(secular)).otherwise(pl.lit(trad)))
        .when(sse.abs() > ts.abs())
        .then(pl.when(sse > 0).then(pl.lit(expression)).otherwise(pl.lit(survival)))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def _normalise_pole(value: str) -> str:
    """``Secular_Rational`` and ``self expression`` name poles too."""
    return re.sub(r"[\s_]+", "-", value.strip().lower())


def country_positions() -> pl.DataFrame:
    """The shipped reference positions (``community_alignment/data/iw_countries.csv``).

    Columns ``country`` (name), ``iso2`` (the release's country code), ``survey_year``, the two
    axes (Integrated Values Surveys factor scores, signed as on the IW map), ``source`` and
    ``note`` (a ``same`` in the file repeats the row above and is written out here), and
    ``in_release`` (whether the country is one of the release's countries; Sweden and Japan
    are reference points only).

    >>> table = country_positions()
    >>> table.filter(pl.col("iso2") == "in").select("survey_year", *AXES).row(0)
    (2023, -0.57, -0.44)
    >>> table.filter(~pl.col("in_release"))["country"].to_list()
    ['Sweden', 'Japan']
    """
    text = (
        resources.files("community_alignment")
        .joinpath("data", COUNTRIES_FILE)
        .read_text(encoding="utf-8")
    )
    table = pl.read_csv(
        text.encode("utf-8"),
        schema_overrides={
            "survey_year": pl.Int64,
            AXES[0]: pl.Float64,
            AXES[1]: pl.Float64,
        },
    )
    resolved = table.with_columns(
        pl.when(pl.col(column) != "same").then(pl.col(column)).forward_fill().alias(column)
        for column in ("source", "note")
    )
    release = [str(code) for code in schema.codes("countries")]
    return resolved.with_columns(pl.col("iso2").is_in(release).alias("in_release"))


def _positions_by_code() -> dict[str, tuple[float, float]]:
    return {
        row["iso2"]: (row[AXES[0]], row[AXES[1]])
        for row in country_positions().iter_rows(named=True)
    }


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------


def _corpus_keys(texts: pl.Series) -> pl.DataFrame:
    """The distinct non-null texts (sorted) and their response keys."""
    unique = texts.drop_nulls().unique().sort()
    return pl.DataFrame(
        {_TEXT: unique, "response_key": [response_key(text) for text in unique]},
        schema={_TEXT: pl.String, "response_key": pl.String},
    )


def _corpus_responses(source: Source) -> pl.DataFrame:
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
    return _corpus_keys(texts.cast(pl.String))


@dataclass(frozen=True, eq=False)
class Labels:
    """A checked labelling: one row per ``response_key``.

    ``frame`` has the columns ``response_key``, ``pole`` (as given, or derived from the scores;
    null when the scores tie), ``traditional_secular``, ``survival_self_expression`` (null when
    not given) and ``labeller``. Make one with :func:`load_labels` or :func:`label_responses`.
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
        return _label_coverage(_corpus_responses(source), self)


def _label_coverage(corpus: pl.DataFrame, labels: Labels) -> dict[str, Any]:
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


def _read_label_file(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"no labels file at {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".jsonl", ".ndjson"):
            return pl.read_ndjson(path, infer_schema_length=None)
    except pl.exceptions.PolarsError as error:
        raise ValueError(f"cannot read the labels file {path}: {error}") from error
    raise ValueError(f"labels must be a .csv, .parquet or .jsonl file, got {path.name}")


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


def _validated(raw: pl.DataFrame, origin: str) -> pl.DataFrame:
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
            "pole", [None if v is None else _normalise_pole(v) for v in given], dtype=pl.String
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
    return distinct.with_columns(pl.coalesce("pole", _pole_of_scores_expr()).alias("pole"))


def load_labels(path_or_frame: str | Path | pl.DataFrame | Labels) -> Labels:
    """Read and check a labelling from a CSV, Parquet or JSONL file or a polars DataFrame.

    Columns: ``response_key`` (required), ``pole`` (one of :data:`POLES`, case, spaces and
    underscores forgiven; optional when both scores are given), ``traditional_secular`` and
    ``survival_self_expression`` (optional, numbers in [-1, 1], both or neither per row),
    ``labeller`` (required). Other columns are ignored. A row without a pole takes the pole of
    its scores (:func:`pole_of_scores`). Identical duplicate rows collapse into one.

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
        return Labels(_validated(path_or_frame, "labels"))
    if isinstance(path_or_frame, (str, Path)):
        path = Path(path_or_frame)
        return Labels(_validated(_read_label_file(path), str(path)))
    raise TypeError(
        "labels must be a CSV, Parquet or JSONL path or a polars DataFrame, got "
        f"{type(path_or_frame).__name__}"
    )


# --------------------------------------------------------------------------------------------
# Labelling a corpus through a cache
# --------------------------------------------------------------------------------------------


class Labeller(Protocol):
    """Labels a batch of response texts: one dict per text, in order.

    Each dict holds ``pole`` (one of :data:`POLES`) and/or ``traditional_secular`` and
    ``survival_self_expression`` (numbers in [-1, 1]); other keys are ignored. A judge model
    behind an API, a classifier or a lookup table all fit.
    """

    def __call__(self, texts: list[str]) -> list[Mapping[str, Any]]: ...


def _cache_file(cache_dir: str | Path, name: str) -> Path:
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ValueError(
            f"the labeller name {name!r} must be letters, digits, '.', '_' or '-' "
            "(it names the cache file)"
        )
    return Path(cache_dir) / f"{name}.jsonl"


def _read_cache(path: Path, name: str) -> pl.DataFrame:
    """The cached labels (raw, as the labeller gave them); a torn last line is dropped."""
    if not path.exists():
        return pl.DataFrame(schema=_LABEL_SCHEMA)
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        warnings.warn(
            f"{path}: dropping an incomplete last line (an interrupted write); "
            "its response is labelled again",
            stacklevel=3,
        )
        with open(path, "r+b") as handle:
            handle.truncate(cut)
        data = data[:cut]
    records = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: line {number} is not JSON: {error}") from error
        if not isinstance(record, dict):
            raise ValueError(f"{path}: line {number} is not a JSON object")
        records.append({column: record.get(column) for column in LABEL_COLUMNS})
    if not records:
        return pl.DataFrame(schema=_LABEL_SCHEMA)
    try:
        frame = pl.DataFrame(records, schema=_LABEL_SCHEMA)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as error:
        raise ValueError(
            f"{path}: the cached labels do not have the label types: {error}"
        ) from error
    others = frame.filter(pl.col("labeller") != name)
    if others.height:
        raise ValueError(
            f"{path}: the cache of labeller {name!r} holds labels of {others['labeller'][0]!r}"
        )
    return frame


def _label_record(key: str, output: Any, name: str, batch: int) -> dict[str, Any]:
    where = f"labeller {name!r}, batch {batch}, response {key}"
    if not isinstance(output, Mapping):
        raise ValueError(f"{where}: expected a dict, got {type(output).__name__}")
    record: dict[str, Any] = {"response_key": key, "labeller": name}
    pole = output.get("pole")
    if pole is not None and not isinstance(pole, str):
        raise ValueError(f"{where}: pole must be text, got {pole!r}")
    record["pole"] = None if pole is None else _normalise_pole(pole)
    if pole is not None and record["pole"] not in POLES:
        raise ValueError(f"{where}: unknown pole {pole!r}; expected one of {', '.join(POLES)}")
    for axis in AXES:
        value = output.get(axis)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float, np.number))
        ):
            raise ValueError(f"{where}: {axis} must be a number, got {value!r}")
        if value is not None and not -1.0 <= float(value) <= 1.0:
            raise ValueError(f"{where}: {axis} {value!r} is outside [-1, 1]")
        record[axis] = None if value is None else float(value)
    if (record[AXES[0]] is None) != (record[AXES[1]] is None):
        raise ValueError(f"{where}: give both scores or neither, not one")
    if record["pole"] is None and record[AXES[0]] is None:
        raise ValueError(f"{where}: the label has neither a pole nor scores")
    return record


def label_responses(
    source: Source,
    labeller: Labeller | Callable[[list[str]], list[Mapping[str, Any]]],
    *,
    cache_dir: str | Path,
    batch_size: int = 64,
    name: str,
) -> Labels:
    """Label every distinct candidate response of a corpus, reusing the labels cached before.

    The cache is ``cache_dir/<name>.jsonl``, one JSON object per labelled response (keyed by
    ``response_key``). Responses already in it are skipped; the others (sorted by key) go to
    ``labeller`` in batches of ``batch_size`` texts, and each batch's checked labels are
    appended to the cache before the next call, so an interrupted run loses at most one batch.
    A labeller output that is not a list of one dict per text, or a dict with an unknown pole,
    an out-of-range score or neither pole nor scores raises ``ValueError`` naming the response
    key (earlier batches stay cached).

    Returns everything in the cache, responses of other corpora included (see
    :meth:`Labels.coverage_of`); the ``labeller`` column is ``name``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
    path = _cache_file(cache_dir, name)
    corpus = _corpus_responses(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    cached = _read_cache(path, name)
    if cached.height:
        _validated(cached, str(path))
    todo = corpus.join(cached.select("response_key"), on="response_key", how="anti")
    todo = todo.unique("response_key", keep="first").sort("response_key")
    for batch, start in enumerate(range(0, todo.height, batch_size), start=1):
        part = todo.slice(start, batch_size)
        texts = part[_TEXT].to_list()
        outputs = labeller(texts)
        if not isinstance(outputs, Sequence) or isinstance(outputs, (str, bytes)):
            raise ValueError(
                f"labeller {name!r}, batch {batch}: expected a list of label dicts, "
                f"got {type(outputs).__name__}"
            )
        if len(outputs) != len(texts):
            raise ValueError(
                f"labeller {name!r}, batch {batch}: {len(outputs)} labels for {len(texts)} texts"
            )
        records = [
            _label_record(key, output, name, batch)
            for key, output in zip(part["response_key"], outputs, strict=True)
        ]
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    everything = _read_cache(path, name)
    if everything.height == 0:
        raise ValueError(f"no labels: the corpus has no responses and {path} is empty")
    return Labels(_validated(everything, str(path)))


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------

# Additive per-(group, unit) terms; every statistic is a ratio of their sums over units.
_SET_TERMS = ["sets", "sets_labelled", *(f"set_{p}" for p in POLES), "set_non_default"]
_CHOICE_TERMS = ["choices", "labelled", *(f"chose_{p}" for p in POLES)]
_POSITION_TERMS = [
    "scored",
    f"chosen_{AXES[0]}",
    f"chosen_{AXES[1]}",
    "chosen_distance",
    "chosen_quadrant",
    "shown_scored",
    f"shown_{AXES[0]}",
    f"shown_{AXES[1]}",
    "shown_distance",
]
_TERMS = _SET_TERMS + _CHOICE_TERMS + _POSITION_TERMS

Sums = dict[str, np.ndarray]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _pole_col(pole: str) -> str:
    return POLE_COLUMNS[pole]


# (table, column, statistic of the summed terms, has an interval)
_STATISTICS: list[tuple[str, str, Callable[[Sums], np.ndarray], bool]] = [
    ("coverage", "candidate_sets", lambda s: s["sets"], False),
    ("coverage", "labelled_sets", lambda s: s["sets_labelled"], False),
    *(
        ("coverage", _pole_col(p), (lambda s, p=p: _ratio(s[f"set_{p}"], s["sets_labelled"])), True)
        for p in POLES
    ),
    ("coverage", "non_default", lambda s: _ratio(s["set_non_default"], s["sets_labelled"]), True),
    ("choices", "choices", lambda s: s["choices"], False),
    ("choices", "labelled_choices", lambda s: s["labelled"], False),
    *(
        ("choices", _pole_col(p), (lambda s, p=p: _ratio(s[f"chose_{p}"], s["labelled"])), True)
        for p in POLES
    ),
    (
        "choices",
        "no_pole",
        lambda s: _ratio(s["labelled"] - sum(s[f"chose_{p}"] for p in POLES), s["labelled"]),
        False,
    ),
    ("positions", "scored_choices", lambda s: s["scored"], False),
    *(
        (
            "positions",
            f"chosen_{axis}",
            (lambda s, a=axis: _ratio(s[f"chosen_{a}"], s["scored"])),
            True,
        )
        for axis in AXES
    ),
    *(
        (
            "positions",
            f"shown_{axis}",
            (lambda s, a=axis: _ratio(s[f"shown_{a}"], s["shown_scored"])),
            False,
        )
        for axis in AXES
    ),
    *(
        (
            "positions",
            f"preference_{axis}",
            (
                lambda s, a=axis: (
                    _ratio(s[f"chosen_{a}"], s["scored"])
                    - _ratio(s[f"shown_{a}"], s["shown_scored"])
                )
            ),
            True,
        )
        for axis in AXES
    ),
    ("gap", "labelled_choices", lambda s: s["labelled"], False),
    (
        "gap",
        "non_default_share",
        lambda s: _ratio(sum(s[f"chose_{p}"] for p in NON_DEFAULT_POLES), s["labelled"]),
        True,
    ),
    ("gap", "scored_choices", lambda s: s["scored"], False),
    ("gap", "default_quadrant_share", lambda s: _ratio(s["chosen_quadrant"], s["scored"]), True),
    ("gap", "chosen_distance_to_corner", lambda s: _ratio(s["chosen_distance"], s["scored"]), True),
    (
        "gap",
        "shown_distance_to_corner",
        lambda s: _ratio(s["shown_distance"], s["shown_scored"]),
        False,
    ),
]
_COUNT_COLUMNS = {
    "candidate_sets",
    "labelled_sets",
    "choices",
    "labelled_choices",
    "scored_choices",
}
TABLES = ("coverage", "choices", "positions", "gap")


@dataclass(frozen=True, eq=False)
class IWSummary:
    """The IW summaries of one selection, one row per group in each table.

    * ``coverage``: ``candidate_sets`` (units with a pick of the group), ``labelled_sets``
      (those whose every present candidate is labelled, the denominator), then per pole the
      share of labelled sets holding at least one response of that pole, and ``non_default``
      (a traditional or survival response).
    * ``choices``: ``choices``, ``labelled_choices`` (chosen response labelled), per pole the
      share of labelled choices that went to it, and ``no_pole`` (labelled without a pole).
    * ``positions``: ``scored_choices`` (chosen response has scores); ``chosen_<axis>``, the
      mean scores of the chosen responses; ``shown_<axis>``, the mean scores of every scored
      candidate shown, once per choice; ``preference_<axis>`` = chosen - shown.
    * ``gap``: ``non_default_share`` (labelled choices that went to a traditional or survival
      response), ``default_quadrant_share`` (scored choices with both scores > 0),
      ``chosen_distance_to_corner`` and ``shown_distance_to_corner`` (mean Euclidean distance
      of the scores from :data:`LLM_DEFAULT_CORNER`; at most ``2 * sqrt(2)``).

    With ``n_resamples > 0`` an estimate ``x`` has ``x_low``/``x_high``. ``label_coverage`` is
    :meth:`Labels.coverage_of` on the selection.
    """

    by: list[str]
    coverage: pl.DataFrame
    choices: pl.DataFrame
    positions: pl.DataFrame
    gap: pl.DataFrame
    label_coverage: dict[str, Any]
    n_resamples: int
    seed: int
    confidence: float
    labellers: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN as None)."""
        return {
            "by": self.by,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "confidence": self.confidence,
            "labellers": self.labellers,
            "label_coverage": self.label_coverage,
            **{name: _records(table) for name, table in self.tables().items()},
        }


def _group_columns(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    names = [by] if isinstance(by, str) else list(by)
    if not all(isinstance(name, str) and name for name in names) or len(set(names)) != len(names):
        raise ValueError(f"by must be a column name, a list of distinct names or None, got {by!r}")
    reserved = [name for name in names if name in (ITEM, CHOICE, RESPONSES)]
    if reserved:
        raise ValueError(f"cannot group by {', '.join(reserved)}: the summaries are built on it")
    return names


def _picks(source: Source, by: list[str]) -> pl.DataFrame:
    """The checked comparisons: ``_row``, ``item_id``, the by columns, ``responses``, choice code."""
    needed = [ITEM, CHOICE, RESPONSES, *by]
    lazy = as_lazyframe(source, needed)
    names = lazy.collect_schema().names()
    missing = [c for c in needed if c not in names]
    if missing:
        raise ValueError(
            f"the comparisons table lacks column(s) needed for the IW summary: "
            f"{', '.join(missing)} (it has: {', '.join(names) or 'no columns'})"
        )
    frame = lazy.select(needed).collect()
    if frame.height == 0:
        raise ValueError("the selection of comparisons is empty: nothing to summarise")
    nulls = frame[ITEM].null_count()
    if nulls:
        raise ValueError(f"{nulls} comparisons have a null {ITEM}")
    dtype = frame.schema[RESPONSES]
    if not isinstance(dtype, pl.List) or dtype.inner not in (pl.String, pl.Null):
        raise ValueError(f"{RESPONSES} must be a list of texts, got {dtype}")
    codes = choice_codes(frame[CHOICE]).cast(pl.Int64)
    return frame.drop(CHOICE).with_columns(
        codes.alias(_CODE), pl.int_range(pl.len(), dtype=pl.Int64).alias(_ROW)
    )


def _unit_terms(frame: pl.DataFrame, labels: Labels, by: list[str]) -> tuple[pl.DataFrame, dict]:
    """One row per (group, unit) with the additive terms of :data:`_TERMS`, sorted."""
    corpus = _corpus_keys(frame[RESPONSES].explode().cast(pl.String))
    coverage = _label_coverage(corpus, labels)
    if coverage["labelled_responses"] == 0:
        raise ValueError(
            f"the labels ({coverage['labels']}) cover none of the "
            f"{coverage['corpus_responses']} responses of the selection; were they made for "
            "this release? (labels are keyed by community_alignment.hashing.response_key)"
        )
    info = corpus.join(
        labels.frame.select("response_key", "pole", *AXES).with_columns(
            pl.lit(True).alias("_labelled")
        ),
        on="response_key",
        how="left",
    ).with_columns(pl.col("_labelled").fill_null(False))
    corner_x, corner_y = LLM_DEFAULT_CORNER
    info = info.with_columns(
        ((corner_x - pl.col(AXES[0])) ** 2 + (corner_y - pl.col(AXES[1])) ** 2)
        .sqrt()
        .alias("_distance")
    )
    candidates = (
        frame.select(_ROW, ITEM, _CODE, RESPONSES)
        .with_columns(pl.int_ranges(pl.col(RESPONSES).list.len(), dtype=pl.Int64).alias(_POS))
        .explode([RESPONSES, _POS])
        .filter(pl.col(RESPONSES).is_not_null())
        .join(info, left_on=RESPONSES, right_on=_TEXT, how="left")
    )
    sets = candidates.group_by(ITEM).agg(
        pl.col("_labelled").all().alias("_complete"),
        *((pl.col("pole") == p).any().alias(f"_has_{p}") for p in POLES),
    )
    shown = candidates.group_by(_ROW).agg(
        pl.col(AXES[0]).is_not_null().sum().alias("shown_scored"),
        pl.col(AXES[0]).sum().alias(f"shown_{AXES[0]}"),
        pl.col(AXES[1]).sum().alias(f"shown_{AXES[1]}"),
        pl.col("_distance").sum().alias("shown_distance"),
    )
    chosen = candidates.filter(pl.col(_POS) == pl.col(_CODE)).select(
        _ROW,
        pl.col("_labelled").alias("_chosen_labelled"),
        pl.col("pole").alias("_chosen_pole"),
        pl.col(AXES[0]).alias("_chosen_0"),
        pl.col(AXES[1]).alias("_chosen_1"),
        pl.col("_distance").alias("_chosen_distance"),
    )
    rows = (
        frame.select(_ROW, ITEM, *by)
        .join(chosen, on=_ROW, how="left")
        .join(shown, on=_ROW, how="left")
        .with_columns(pl.col("_chosen_labelled").fill_null(False))
    )
    chosen_0, chosen_1 = pl.col("_chosen_0"), pl.col("_chosen_1")
    per_unit = rows.group_by([*by, ITEM]).agg(
        pl.len().alias("choices"),
        pl.col("_chosen_labelled").sum().alias("labelled"),
        *((pl.col("_chosen_pole") == p).sum().alias(f"chose_{p}") for p in POLES),
        chosen_0.is_not_null().sum().alias("scored"),
        chosen_0.sum().alias(f"chosen_{AXES[0]}"),
        chosen_1.sum().alias(f"chosen_{AXES[1]}"),
        pl.col("_chosen_distance").sum().alias("chosen_distance"),
        ((chosen_0 > 0) & (chosen_1 > 0)).sum().alias("chosen_quadrant"),
        *(pl.col(name).sum() for name in _POSITION_TERMS if name.startswith("shown_")),
    )
    complete = pl.col("_complete").fill_null(False)
    per_unit = per_unit.join(sets, on=ITEM, how="left").with_columns(
        pl.lit(1).alias("sets"),
        complete.alias("sets_labelled"),
        *((complete & pl.col(f"_has_{p}").fill_null(False)).alias(f"set_{p}") for p in POLES),
        (
            complete
            & pl.any_horizontal([pl.col(f"_has_{p}").fill_null(False) for p in NON_DEFAULT_POLES])
        ).alias("set_non_default"),
    )
    per_unit = per_unit.select(
        *by, ITEM, *(pl.col(name).cast(pl.Float64).fill_null(0.0) for name in _TERMS)
    )
    return per_unit.sort([*by, ITEM], nulls_last=True), coverage


def _group_statistics(
    terms: np.ndarray, n_resamples: int, seed: int, confidence: float
) -> dict[str, Any]:
    totals = terms.sum(axis=0)[None, :]
    estimate_sums = {name: totals[:, k] for k, name in enumerate(_TERMS)}
    draw_sums = None
    if n_resamples:
        resampled = resampled_sums(terms, n_resamples, seed)
        draw_sums = {name: resampled[:, k] for k, name in enumerate(_TERMS)}
    row: dict[str, Any] = {}
    for table, column, statistic, has_interval in _STATISTICS:
        value = float(statistic(estimate_sums)[0])
        row[(table, column)] = int(value) if column in _COUNT_COLUMNS else value
        if has_interval and draw_sums is not None:
            low, high = interval(statistic(draw_sums), confidence)
            row[(table, f"{column}_low")], row[(table, f"{column}_high")] = low, high
    return row


def summarize(
    source: Source,
    labels: Labels | str | Path | pl.DataFrame,
    *,
    by: str | Sequence[str] | None = COUNTRY,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> IWSummary:
    """The IW summaries of a comparisons table under a labelling (see :class:`IWSummary`).

    ``source`` is anything :func:`community_alignment.agreement.agreement` accepts (a polars
    DataFrame or LazyFrame, a ``datasets.Dataset``, a release folder or ``hf://`` path); it
    needs ``item_id``, ``choice``, ``responses`` and the ``by`` columns. A group's units are the
    units (candidate sets, ``item_id``) it has a pick on, each counted once; the bootstrap
    resamples those units with replacement, with ``numpy.random.default_rng(seed)`` per group,
    and gives percentile intervals at ``confidence``. Rows follow the sorted group values (a
    null group last).

    Raises ``ValueError`` on missing columns, an empty selection, and labels that cover none of
    the selection's responses.

    Unit x shows (pray, vote, paint, vote), picked by one Indian (pray) and one French
    annotator (vote); unit y shows (save, vote, paint, paint), picked by an Indian (save).

    >>> import polars as pl
    >>> poles = {"pray": "traditional", "vote": "secular-rational", "save": "survival",
    ...          "paint": "self-expression"}
    >>> labels = load_labels(pl.DataFrame({"response_key": [response_key(t) for t in poles],
    ...                                    "pole": list(poles.values()), "labeller": "hand"}))
    >>> comparisons = pl.DataFrame({
    ...     "item_id": ["x", "x", "y"],
    ...     "responses": [["pray", "vote", "paint", "vote"]] * 2 + [["save", "vote", "paint", "paint"]],
    ...     "choice": [0, 1, 0],
    ...     "country": ["in", "fr", "in"],
    ... })
    >>> summary = summarize(comparisons, labels, n_resamples=0)
    >>> summary.coverage.select("country", "candidate_sets", "traditional", "survival").rows()
    [('fr', 1, 1.0, 0.0), ('in', 2, 0.5, 0.5)]
    >>> summary.choices.select("country", "traditional", "secular_rational", "survival").rows()
    [('fr', 0.0, 1.0, 0.0), ('in', 0.5, 0.0, 0.5)]
    >>> summary.gap.select("country", "non_default_share").rows()
    [('fr', 0.0), ('in', 1.0)]
    """  # noqa: E501
    check_parameters(n_resamples, confidence)
    columns = _group_columns(by)
    labels = load_labels(labels)
    frame = _picks(source, columns)
    per_unit, coverage = _unit_terms(frame, labels, columns)
    parts = per_unit.partition_by(columns, maintain_order=True) if columns else [per_unit]
    rows = [
        _group_statistics(part.select(_TERMS).to_numpy(), n_resamples, seed, confidence)
        for part in parts
    ]
    keys = pl.concat([part.select(columns).head(1) for part in parts]) if columns else None
    tables = {}
    for table in TABLES:
        names = [column for (t, column) in rows[0] if t == table]
        data = {
            name: pl.Series(
                name,
                [row[(table, name)] for row in rows],
                dtype=pl.Int64 if name in _COUNT_COLUMNS else pl.Float64,
            )
            for name in names
        }
        stats = pl.DataFrame(data)
        tables[table] = pl.concat([keys, stats], how="horizontal") if keys is not None else stats
    return IWSummary(
        by=columns,
        label_coverage=coverage,
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
        labellers=labels.labellers,
        **tables,
    )


# --------------------------------------------------------------------------------------------
# Without labels: IW distance against cross-country disagreement
# --------------------------------------------------------------------------------------------


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank.

    >>> _ranks(np.array([10.0, 30.0, 20.0, 30.0])).tolist()
    [1.0, 3.5, 2.0, 3.5]
    """
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1, dtype=np.float64)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either has no variance.

    >>> _pearson(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0]))   # 5 / sqrt(2 * 12.667)
    0.9933992677987828
    """
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    return float((dx * dy).sum()) / denominator if denominator > 0 else math.nan


@dataclass(frozen=True, eq=False)
class DistanceDisagreement:
    """IW distance and disagreement of every pair of release countries, and their correlation.

    ``table``: ``country_a``, ``country_b`` (each pair once, a < b), ``distance`` (Euclidean, in
    the factor-score units of :func:`country_positions`), ``units`` and ``pairs`` (units the two
    share and pairs of their picks there), ``agreement`` (from
    :func:`community_alignment.agreement.cross_agreement`) and ``disagreement`` = 1 - agreement,
    with ``_low``/``_high`` bounds when resampled. ``pearson`` and ``spearman`` are computed
    over the ``n_pairs`` pairs with shared units; NaN with ``reason`` when undefined.
    """

    table: pl.DataFrame
    pearson: float
    spearman: float
    n_pairs: int
    reason: str | None
    countries_without_position: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": _records(self.table),
            "pearson": _clean(self.pearson),
            "spearman": _clean(self.spearman),
            "n_pairs": self.n_pairs,
            "reason": self.reason,
            "countries_without_position": self.countries_without_position,
        }


def distance_vs_disagreement(
    source: Source, *, n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> DistanceDisagreement:
    """Set each pair's IW distance beside how much its annotators disagree on the same units.

    Needs no labels. ``source`` is as for :func:`summarize` (``item_id``, ``choice``,
    ``annotator_id``, ``country``). Countries without a reference position are left out and
    listed. With fewer than 3 country pairs that share units the correlations are NaN.

    Unit x: us and in differ. Units y, z: us and fr agree on y, differ on z. fr and in never
    meet.

    >>> import polars as pl
    >>> frame = pl.DataFrame({
    ...     "item_id": ["x", "x", "y", "y", "z", "z"],
    ...     "annotator_id": ["1", "2", "1", "3", "1", "3"],
    ...     "country": ["us", "in", "us", "fr", "us", "fr"],
    ...     "choice": [0, 1, 2, 2, 0, 3],
    ... })
    >>> result = distance_vs_disagreement(frame, n_resamples=0)
    >>> result.table.select("country_a", "country_b", "units", "disagreement").rows()
    [('fr', 'in', 0, None), ('fr', 'us', 2, 0.5), ('in', 'us', 1, 1.0)]
    >>> result.n_pairs, result.reason
    (2, 'only 2 country pairs share units; a correlation needs at least 3')
    """
    positions = _positions_by_code()
    cross = cross_agreement(
        source, COUNTRY, n_resamples=n_resamples, seed=seed, confidence=confidence
    )
    present = sorted({g for g in cross["group_a"].to_list() if g is not None})
    without = [g for g in present if g not in positions]
    pairs = cross.filter(
        (pl.col("group_a") < pl.col("group_b"))
        & pl.col("group_a").is_in(list(positions))
        & pl.col("group_b").is_in(list(positions))
    ).sort("group_a", "group_b")
    distance = [
        math.dist(positions[a], positions[b])
        for a, b in zip(pairs["group_a"], pairs["group_b"], strict=True)
    ]
    bounds = [c for c in ("agreement_low", "agreement_high") if c in pairs.columns]
    table = pairs.select(
        pl.col("group_a").alias("country_a"),
        pl.col("group_b").alias("country_b"),
        pl.Series("distance", distance, dtype=pl.Float64),
        "units",
        "pairs",
        "agreement",
        *bounds,
        (1.0 - pl.col("agreement")).alias("disagreement"),
        *(
            [
                (1.0 - pl.col("agreement_high")).alias("disagreement_low"),
                (1.0 - pl.col("agreement_low")).alias("disagreement_high"),
            ]
            if bounds
            else []
        ),
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
    usable = table.filter((pl.col("pairs") > 0) & pl.col("disagreement").is_not_null())
    x = usable["distance"].to_numpy().astype(np.float64)
    y = usable["disagreement"].to_numpy().astype(np.float64)
    reason = None
    pearson = spearman = math.nan
    if usable.height < 3:
        reason = f"only {usable.height} country pairs share units; a correlation needs at least 3"
    else:
        pearson = _pearson(x, y)
        spearman = _pearson(_ranks(x), _ranks(y))
        if math.isnan(pearson):
            reason = "distance or disagreement is the same for every pair"
    return DistanceDisagreement(
        table=table,
        pearson=pearson,
        spearman=spearman,
        n_pairs=usable.height,
        reason=reason,
        countries_without_position=without,
    )


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------


def map_scale() -> float:
    """The largest absolute coordinate in :func:`country_positions` (Sweden's 3.11).

    The map divides country positions by it so that they share the [-1, 1] square of label
    scores; relative positions are kept.

    >>> map_scale()
    3.11
    """
    table = country_positions()
    return float(max(table[AXES[0]].abs().max(), table[AXES[1]].abs().max()))


def _chosen_by_country(summary: IWSummary | pl.DataFrame) -> dict[str, tuple[float, float]]:
    if isinstance(summary, IWSummary):
        if summary.by != [COUNTRY]:
            raise ValueError(
                f"plot_map needs a summary grouped by country, got one by {summary.by or 'none'}"
            )
        frame = summary.positions
    else:
        frame = summary
    needed = [COUNTRY, f"chosen_{AXES[0]}", f"chosen_{AXES[1]}"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"the summary lacks column(s) {', '.join(missing)}")
    chosen = {}
    for row in frame.select(needed).iter_rows():
        if row[0] is not None and row[1] is not None and not math.isnan(row[1]):
            chosen[row[0]] = (row[1], row[2])
    return chosen


def plot_map(path: str | Path, *, summary: IWSummary | pl.DataFrame | None = None) -> Path:
    """Draw the Inglehart-Welzel map as a PNG at ``path`` and return the path.

    Countries sit at their reference positions (:func:`country_positions`, divided by
    :func:`map_scale`), labelled; Sweden and Japan in grey; the LLM-default corner (+1, +1) is
    marked. With a summary grouped by country (an :class:`IWSummary` or its ``positions``
    table), an arrow goes from each country's reference position to the mean scores of the
    responses its annotators chose. The two are on different scales (factor scores, scaled,
    against label scores), so the arrows show direction more than distance.

    Needs matplotlib (Agg backend); the file carries no software or date metadata, so the same
    input gives the same bytes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chosen = _chosen_by_country(summary) if summary is not None else {}
    scale = map_scale()
    table = country_positions()
    figure = Figure(figsize=(7.0, 7.0), dpi=100)
    FigureCanvasAgg(figure)  # Agg, without touching pyplot's global backend
    axes = figure.add_subplot()
    axes.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    axes.axvline(0.0, color="0.8", linewidth=0.8, zorder=0)
    axes.fill_between([0.0, 1.2], 0.0, 1.2, color="tab:orange", alpha=0.08, zorder=0)
    corner_x, corner_y = LLM_DEFAULT_CORNER
    axes.scatter([corner_x], [corner_y], marker="*", s=260, color="tab:orange", zorder=3)
    axes.annotate(
        "LLM default\n(" + ", ".join(LLM_DEFAULT_POLES) + ")",
        (corner_x, corner_y),
        xytext=(-8, -10),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=8,
        color="tab:orange",
    )
    for row in table.iter_rows(named=True):
        x, y = row[AXES[0]] / scale, row[AXES[1]] / scale
        colour = "tab:blue" if row["in_release"] else "0.6"
        axes.scatter([x], [y], s=50, color=colour, zorder=4)
        axes.annotate(
            f"{row['country']} ({row['survey_year']})",
            (x, y),
            xytext=(6, 4),
            textcoords="offset points",
            fontsize=8,
            color=colour if row["in_release"] else "0.45",
        )
        if row["iso2"] in chosen:
            target = chosen[row["iso2"]]
            axes.annotate(
                "",
                xy=target,
                xytext=(x, y),
                arrowprops={"arrowstyle": "->", "color": "tab:red", "linewidth": 1.2},
                zorder=5,
            )
            axes.scatter([target[0]], [target[1]], s=30, color="tab:red", marker="D", zorder=5)
            axes.annotate(  # name each diamond: several land close together
                row["iso2"],
                target,
                xytext=(-6, -4),
                textcoords="offset points",
                ha="right",
                va="top",
                fontsize=8,
                color="tab:red",
            )
    axes.set_xlim(-1.2, 1.2)
    axes.set_ylim(-1.2, 1.2)
    axes.set_aspect("equal")
    negative_x, positive_x = AXIS_POLES[AXES[0]]
    negative_y, positive_y = AXIS_POLES[AXES[1]]
    axes.set_xlabel(f"← {negative_x}          {positive_x} →")
    axes.set_ylabel(f"← {negative_y}          {positive_y} →")
    title = "Inglehart-Welzel map"
    if chosen:
        title += ": reference positions → mean chosen response"
    axes.set_title(title, fontsize=11)
    figure.text(
        0.01,
        0.01,
        f"Countries: Integrated Values Surveys factor scores / {scale:g}"
        + ("; diamonds: mean label scores of chosen responses" if chosen else ""),
        fontsize=7,
        color="0.4",
    )
    out = Path(path)
    figure.savefig(out, format="png", metadata={"Software": None})
    return out


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dicts()]


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _render(frame: pl.DataFrame, keys: Sequence[str] = ()) -> str:
    """A text table; ``x_low``/``x_high`` go into ``x``'s cell as ``[low, high]``.

    >>> print(_render(pl.DataFrame({"g": ["a"], "x": [0.5], "x_low": [0.25], "x_high": [0.75]}),
    ...               ["g"]))
    g                   x
    -  ------------------
    a  0.500 [0.25, 0.75]
    """
    columns = [c for c in frame.columns if not c.endswith(("_low", "_high"))]
    rows = []
    for row in frame.iter_rows(named=True):
        cells = []
        for column in columns:
            text = "null" if column in keys and row[column] is None else _cell(row[column])
            if f"{column}_low" in row:
                low, high = row[f"{column}_low"], row[f"{column}_high"]
                if not (low is None or (isinstance(low, float) and math.isnan(low))):
                    text += f" [{low:.2f}, {high:.2f}]"
            cells.append(text)
        rows.append(cells)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if columns[i] in keys else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, rows)])


def register_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``iw`` subcommand to the ``community-alignment`` command."""
    parser = subparsers.add_parser(
        "iw",
        help="Inglehart-Welzel values: pole coverage, choices and positions, or distance vs "
        "disagreement",
        description=(
            "With --labels (a CSV/Parquet labelling of the candidate responses by "
            "response_key): pole coverage of the candidate sets, the share of choices per pole, "
            "the mean position of chosen responses and the gap to the LLM-default poles, per "
            "group, with bootstrap intervals over units. Without labels: the countries' "
            "reference positions and their IW distance beside cross-country disagreement."
        ),
    )
    parser.add_argument("source", help="release folder or hf://datasets/ORG/NAME path")
    parser.add_argument("--labels", metavar="FILE", help="IW labels of the responses")
    parser.add_argument(
        "--by",
        default=None,
        metavar="COLUMN[,COLUMN]",
        help="group the labelled summaries by these columns, or 'none' (default: country)",
    )
    parser.add_argument(
        "--resamples", type=int, default=1000, metavar="N", help="bootstrap resamples (0: none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="interval coverage (default: 0.95)"
    )
    parser.add_argument("--plot", metavar="OUT.png", help="also draw the IW map to this PNG")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(run=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    output: dict[str, Any] = {"source": str(args.source), "labels": args.labels}
    text: list[str] = []
    notes: list[str] = []
    summary = None
    if args.labels:
        given = args.by or COUNTRY
        by = None if given.lower() == "none" else [c.strip() for c in given.split(",") if c.strip()]
        summary = summarize(
            args.source,
            load_labels(args.labels),
            by=by,
            n_resamples=args.resamples,
            seed=args.seed,
            confidence=args.confidence,
        )
        output |= summary.to_dict()
        cover = summary.label_coverage
        text += [
            f"IW summaries of {args.source} with labels {args.labels} "
            f"({', '.join(summary.labellers)}), by {', '.join(summary.by) or 'none'}",
            f"labels: {cover['labelled_responses']} of {cover['corpus_responses']} responses "
            f"labelled ({cover['share_labelled']:.1%}), {cover['labelled_with_scores']} with "
            f"scores; {cover['labels_not_in_corpus']} labels are for responses not in this "
            "source",
        ]
        if args.resamples:
            text.append(
                f"intervals: {args.confidence:.0%} bootstrap percentile over units, "
                f"{args.resamples} resamples, seed {args.seed}"
            )
        headings = {
            "coverage": "Candidate sets holding a response of each pole (share of labelled sets)",
            "choices": "Share of labelled choices that went to each pole",
            "positions": "Mean scores of chosen responses and of the candidates shown",
            "gap": "Gap to the LLM-default poles (" + ", ".join(LLM_DEFAULT_POLES) + ")",
        }
        for name, table in summary.tables().items():
            text += ["", headings[name], _render(table, summary.by)]
    else:
        if args.by is not None:
            notes.append("--by applies to labelled summaries only; ignored without --labels")
        positions = country_positions()
        result = distance_vs_disagreement(
            args.source, n_resamples=args.resamples, seed=args.seed, confidence=args.confidence
        )
        output |= {
            "country_positions": _records(positions),
            "distance_vs_disagreement": result.to_dict(),
        }
        text += [
            "Reference positions (Integrated Values Surveys factor scores; positive = "
            f"{LLM_DEFAULT_POLES[0]}, {LLM_DEFAULT_POLES[1]})",
            _render(
                positions.select("country", "iso2", "survey_year", *AXES, "in_release"),
                ["country", "iso2"],
            ),
            "source: " + positions["source"][0],
            "",
            f"IW distance vs cross-country disagreement in {args.source}",
            _render(result.table, ["country_a", "country_b"]),
            f"correlation over {result.n_pairs} country pairs with shared units: Pearson "
            f"{_cell(result.pearson)}, Spearman {_cell(result.spearman)}"
            + (f" ({result.reason})" if result.reason else ""),
        ]
        if result.countries_without_position:
            text.append(
                "no reference position for: " + ", ".join(result.countries_without_position)
            )
    if args.plot:
        plotted = summary if summary is not None and summary.by == [COUNTRY] else None
        if summary is not None and plotted is None:
            notes.append("the map shows chosen positions only for a summary by country")
        output["plot"] = str(plot_map(args.plot, summary=plotted))
        text += ["", f"map written to {args.plot}"]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(output, indent=2, ensure_ascii=False))
    else:
        print("\n".join(text))
    return 0
