"""The IW summaries of a comparisons table under a labelling (:func:`summarize`): per group,
the pole coverage of candidate sets, the share of choices per pole, the mean position of the
chosen responses against the candidates shown, and the gap to the LLM-default poles, with
bootstrap intervals over units (``item_id``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from community_alignment.bootstrap import check_parameters, resampled_sums, unit_interval
from community_alignment.formatting import records
from community_alignment.inputs import Source, as_lazyframe, choice_codes, first_picks
from community_alignment.iw.labels import (
    TEXT,
    Labels,
    corpus_keys,
    label_coverage,
    load_labels,
)
from community_alignment.iw.poles import (
    ANNOTATOR,
    AXES,
    CHOICE,
    COMPARISON,
    COUNTRY,
    ITEM,
    LLM_DEFAULT_CORNER,
    NON_DEFAULT_POLES,
    POLE_COLUMNS,
    POLES,
    RESPONSES,
)

__all__ = ["TABLES", "IWSummary", "Sums", "summarize"]

_CODE = "_choice_code"
_ROW = "_row"
_POS = "_pos"

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


# (table, column, statistic of the summed terms, support): a statistic with an interval names
# its support, the term of the units that contribute to it (its denominator); those units are
# the ones its interval is resampled from.
_STATISTICS: list[tuple[str, str, Callable[[Sums], np.ndarray], str | None]] = [
    ("coverage", "candidate_sets", lambda s: s["sets"], None),
    ("coverage", "labelled_sets", lambda s: s["sets_labelled"], None),
    *(
        (
            "coverage",
            _pole_col(p),
            (lambda s, p=p: _ratio(s[f"set_{p}"], s["sets_labelled"])),
            "sets_labelled",
        )
        for p in POLES
    ),
    (
        "coverage",
        "non_default",
        lambda s: _ratio(s["set_non_default"], s["sets_labelled"]),
        "sets_labelled",
    ),
    ("choices", "choices", lambda s: s["choices"], None),
    ("choices", "labelled_choices", lambda s: s["labelled"], None),
    *(
        (
            "choices",
            _pole_col(p),
            (lambda s, p=p: _ratio(s[f"chose_{p}"], s["labelled"])),
            "labelled",
        )
        for p in POLES
    ),
    (
        "choices",
        "no_pole",
        lambda s: _ratio(s["labelled"] - sum(s[f"chose_{p}"] for p in POLES), s["labelled"]),
        None,
    ),
    ("positions", "scored_choices", lambda s: s["scored"], None),
    *(
        (
            "positions",
            f"chosen_{axis}",
            (lambda s, a=axis: _ratio(s[f"chosen_{a}"], s["scored"])),
            "scored",
        )
        for axis in AXES
    ),
    *(
        (
            "positions",
            f"shown_{axis}",
            (lambda s, a=axis: _ratio(s[f"shown_{a}"], s["shown_scored"])),
            None,
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
            "scored",
        )
        for axis in AXES
    ),
    ("gap", "labelled_choices", lambda s: s["labelled"], None),
    (
        "gap",
        "non_default_share",
        lambda s: _ratio(sum(s[f"chose_{p}"] for p in NON_DEFAULT_POLES), s["labelled"]),
        "labelled",
    ),
    ("gap", "scored_choices", lambda s: s["scored"], None),
    (
        "gap",
        "default_quadrant_share",
        lambda s: _ratio(s["chosen_quadrant"], s["scored"]),
        "scored",
    ),
    (
        "gap",
        "chosen_distance_to_corner",
        lambda s: _ratio(s["chosen_distance"], s["scored"]),
        "scored",
    ),
    (
        "gap",
        "shown_distance_to_corner",
        lambda s: _ratio(s["shown_distance"], s["shown_scored"]),
        None,
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
REASON = "interval_undefined_reason"


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

    With ``n_resamples > 0`` an estimate ``x`` has ``x_low``/``x_high``, resampled from the
    units that contribute to it (e.g. units with a labelled choice for a choice share); with
    fewer than two such units its bounds are NaN and the table's ``interval_undefined_reason``
    says why (null when every interval of the row exists; see
    :func:`community_alignment.bootstrap.unit_interval`). ``label_coverage`` is
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
            **{name: records(table) for name, table in self.tables().items()},
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
    """The checked comparisons: ``_row``, ``item_id``, the by columns, ``responses``, choice code.

    With ``annotator_id``, an annotator's repeated picks on a unit count once
    (:func:`community_alignment.inputs.first_picks`).
    """
    needed = [ITEM, CHOICE, RESPONSES, *by]
    optional = [c for c in (ANNOTATOR, COMPARISON) if c not in needed]
    lazy = as_lazyframe(source, needed + optional)
    names = lazy.collect_schema().names()
    missing = [c for c in needed if c not in names]
    if missing:
        raise ValueError(
            f"the comparisons table lacks column(s) needed for the IW summary: "
            f"{', '.join(missing)} (it has: {', '.join(names) or 'no columns'})"
        )
    optional = [c for c in optional if c in names]
    frame = lazy.select(needed + optional).collect()
    if frame.height == 0:
        raise ValueError("the selection of comparisons is empty: nothing to summarise")
    for column in [c for c in (ITEM, ANNOTATOR) if c in frame.columns]:
        nulls = frame[column].null_count()
        if nulls:
            raise ValueError(f"{nulls} comparisons have a null {column}")
    if ANNOTATOR in frame.columns:
        frame = first_picks(frame, stacklevel=4)  # points at the caller of summarize()
    frame = frame.drop(optional)
    dtype = frame.schema[RESPONSES]
    if not isinstance(dtype, pl.List) or dtype.inner not in (pl.String, pl.Null):
        raise ValueError(f"{RESPONSES} must be a list of texts, got {dtype}")
    codes = choice_codes(frame[CHOICE]).cast(pl.Int64)
    return frame.drop(CHOICE).with_columns(
        codes.alias(_CODE), pl.int_range(pl.len(), dtype=pl.Int64).alias(_ROW)
    )


def _unit_terms(frame: pl.DataFrame, labels: Labels, by: list[str]) -> tuple[pl.DataFrame, dict]:
    """One row per (group, unit) with the additive terms of :data:`_TERMS`, sorted."""
    corpus = corpus_keys(frame[RESPONSES].explode().cast(pl.String))
    coverage = label_coverage(corpus, labels)
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
        .join(info, left_on=RESPONSES, right_on=TEXT, how="left")
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
    undefined: dict[str, dict[str, list[str]]] = {table: {} for table in TABLES}
    for table, column, statistic, support in _STATISTICS:
        value = float(statistic(estimate_sums)[0])
        row[(table, column)] = int(value) if column in _COUNT_COLUMNS else value
        if support is not None and draw_sums is not None:
            units = int((terms[:, _TERMS.index(support)] > 0).sum())
            low, high, reason = unit_interval(statistic(draw_sums), confidence, units)
            row[(table, f"{column}_low")], row[(table, f"{column}_high")] = low, high
            if reason is not None:
                undefined[table].setdefault(reason, []).append(column)
    if draw_sums is not None:
        for table in TABLES:
            row[(table, REASON)] = _reason_text(undefined[table], table)
    return row


def _reason_text(undefined: dict[str, list[str]], table: str) -> str | None:
    """Why intervals of a table's row are missing: the reason alone when it holds for every
    interval of the row, else each reason after the statistics it holds for."""
    if not undefined:
        return None
    with_interval = [c for t, c, _, support in _STATISTICS if t == table and support is not None]
    if len(undefined) == 1 and next(iter(undefined.values())) == with_interval:
        return next(iter(undefined))
    return "; ".join(f"{', '.join(columns)}: {reason}" for reason, columns in undefined.items())


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
    needs ``item_id``, ``choice``, ``responses`` and the ``by`` columns. When it has
    ``annotator_id``, an annotator's repeated picks on the same unit count once, as in every
    statistic of the library (the rule of :func:`community_alignment.inputs.first_picks`).
    A group's units are the units (candidate sets, ``item_id``) it has a pick on, each counted
    once; the bootstrap resamples those units with replacement, with
    ``numpy.random.default_rng(seed)`` per group, and gives percentile intervals at
    ``confidence``. Rows follow the sorted group values (a null group last).

    Raises ``ValueError`` on missing columns, a null ``item_id`` or ``annotator_id``, an empty
    selection, and labels that cover none of the selection's responses.

    Unit x shows (pray, vote, paint, vote), picked by one Indian (pray) and one French
    annotator (vote); unit y shows (save, vote, paint, paint), picked by an Indian (save).

    >>> import polars as pl
    >>> from community_alignment.hashing import response_key
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
                dtype=pl.Int64
                if name in _COUNT_COLUMNS
                else pl.String
                if name == REASON
                else pl.Float64,
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
