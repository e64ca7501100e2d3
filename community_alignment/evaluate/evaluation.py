"""Measuring a model's predictions against the picks of each group: :func:`evaluate`.

The picks come from the ``comparisons`` table, with an annotator's repeated picks on a unit
counted once (:func:`community_alignment.inputs.first_picks`); only units the predictions
cover are used. Reward-model accuracy reads the ``pairs`` table of the same release.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from community_alignment.bootstrap import check_parameters
from community_alignment.evaluate import measures
from community_alignment.evaluate.predictions import (
    ITEM,
    TARGET,
    Predictions,
    read_predictions,
    score_columns,
    weight_columns,
)
from community_alignment.inputs import Source, as_lazyframe, choice_codes, first_picks
from community_alignment.load import scan

__all__ = ["Evaluation", "check_by", "check_min_picks", "evaluate"]

CHOICE = "choice"
ANNOTATOR = "annotator_id"
COMPARISON = "comparison_id"
GROUP = "group"
OVERALL = "all"
CHANCE = 0.25
_CODE = "_code"
_COUNTS = [f"_n{k}" for k in range(4)]
_OTHERS = [f"_o{k}" for k in range(4)]


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`.

    ``groups``: one row per group (see :func:`evaluate`); ``gaps``: per measure, the best and
    the worst represented group and their difference on the units both share; ``steering``:
    one row per target (None without a ``target`` column); ``coverage``: how the predictions
    met the release; ``settings``: the parameters used.
    """

    by: str | None
    groups: pl.DataFrame
    gaps: pl.DataFrame
    steering: pl.DataFrame | None
    coverage: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; per-group records carry ``pick_agreement`` and
        ``distributional_similarity`` as ``{value, low, high, units, picks}``."""
        return {
            "by": self.by,
            **self.settings,
            "coverage": self.coverage,
            "groups": [_group_record(row) for row in self.groups.to_dicts()],
            "gaps": [_clean_row(row) for row in self.gaps.to_dicts()],
            "steering": None
            if self.steering is None
            else [_clean_row(row) for row in self.steering.to_dicts()],
        }


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _clean_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: _clean(value) for key, value in row.items()}


def _group_record(row: dict[str, Any]) -> dict[str, Any]:
    def estimate(name: str, count: str) -> dict[str, Any]:
        return {
            "value": _clean(row[name]),
            "low": _clean(row[f"{name}_low"]),
            "high": _clean(row[f"{name}_high"]),
            "units": row[f"{name}_units"],
            count: row[f"{name}_count"],
        }

    return {
        "group": row[GROUP],
        "picks": row["picks"],
        "units": row["units"],
        "pick_agreement": estimate("pick_agreement", "picks"),
        "chance": row["chance"],
        "human_loo_majority": estimate("human_loo_majority", "picks"),
        "distributional_similarity": estimate("distributional_similarity", "picks"),
        "uniform_baseline": _clean(row["uniform_baseline"]),
        "others_baseline": {"value": _clean(row["others_baseline"]), "units": row["others_units"]},
        "pair_accuracy": estimate("pair_accuracy", "pairs"),
        "rank_pick_agreement": row["rank_pick_agreement"],
        "rank_similarity": row["rank_similarity"],
    }


# --------------------------------------------------------------------------------------------
# Reading the picks and pairs
# --------------------------------------------------------------------------------------------


def check_by(by: str | None) -> None:
    """Raise ``ValueError`` unless ``by`` is None or a column the measures can group by."""
    if by is None:
        return
    if not isinstance(by, str) or not by:
        raise ValueError(f"by must be a column name or None, got {by!r}")
    if by in (ITEM, CHOICE, ANNOTATOR, COMPARISON):
        raise ValueError(f"cannot group by {by}: the measures are built on it")


def _picks(source: Source, by: str | None) -> tuple[pl.DataFrame, pl.Series]:
    """The first picks (item_id, group, choice code, comparison_id when present) and every
    unit of the table (sorted)."""
    required = [ITEM, CHOICE, ANNOTATOR] + ([by] if by else [])
    lazy = as_lazyframe(source, [*required, COMPARISON])
    names = lazy.collect_schema().names()
    missing = [c for c in required if c not in names]
    if missing:
        raise ValueError(
            f"the comparisons table lacks column(s) needed to evaluate: {', '.join(missing)} "
            f"(it has: {', '.join(names) or 'no columns'})"
        )
    selected = required + ([COMPARISON] if COMPARISON in names else [])
    frame = lazy.select(selected).collect()
    if frame.height == 0:
        raise ValueError("the comparisons table has no rows")
    for column in (ITEM, ANNOTATOR):
        nulls = frame[column].null_count()
        if nulls:
            raise ValueError(f"{nulls} comparisons have a null {column}")
    group = pl.col(by).cast(pl.String) if by else pl.lit(OVERALL)
    frame = frame.with_columns(choice_codes(frame[CHOICE]).alias(_CODE), group.alias(GROUP))
    units = frame[ITEM].unique().sort()
    return frame.drop(CHOICE, *([by] if by and by != GROUP else [])), units


def _pair_rows(
    pairs: Source, by: str | None, kept: pl.DataFrame, predictions: pl.DataFrame
) -> pl.DataFrame:
    """Per (group, item_id): the pairs of kept comparisons the model ranks right (ties 1/2)
    and all of them."""
    wanted = [ITEM, COMPARISON, "chosen_choice", "rejected_choice"] + ([by] if by else [])
    lazy = scan(pairs, "pairs") if isinstance(pairs, (str, Path)) else as_lazyframe(pairs, wanted)
    names = lazy.collect_schema().names()
    missing = [c for c in wanted if c not in names]
    if missing:
        raise ValueError(f"the pairs table lacks column(s) {', '.join(missing)}")
    if COMPARISON not in kept.columns:
        raise ValueError("pair accuracy needs comparison_id in the comparisons table")
    kept = kept.select(COMPARISON).lazy()
    rows = lazy.select(wanted).join(kept, on=COMPARISON, how="semi").collect()
    if rows.height == 0:
        return pl.DataFrame(
            schema={GROUP: pl.String, ITEM: pl.String, "_pc": pl.Float64, "_pn": pl.Float64}
        )
    group = pl.col(by).cast(pl.String) if by else pl.lit(OVERALL)
    rows = rows.with_columns(
        choice_codes(rows["chosen_choice"]).cast(pl.Int64).alias("_chosen"),
        choice_codes(rows["rejected_choice"]).cast(pl.Int64).alias("_rejected"),
        group.alias(GROUP),
    ).join(predictions, on=ITEM, how="inner")
    values = rows.select(_value_columns(predictions)).to_numpy()
    index = np.arange(rows.height)
    chosen = values[index, rows["_chosen"].to_numpy()]
    rejected = values[index, rows["_rejected"].to_numpy()]
    credit = np.where(chosen > rejected, 1.0, np.where(chosen == rejected, 0.5, 0.0))
    return (
        rows.select(GROUP, ITEM)
        .with_columns(pl.Series("_pc", credit))
        .group_by(GROUP, ITEM)
        .agg(pl.col("_pc").sum(), pl.len().cast(pl.Float64).alias("_pn"))
    )


def _value_columns(predictions: pl.DataFrame) -> list[str]:
    """The columns a pair is ranked by: the reward scores when given, else the weights."""
    scores = score_columns()
    return scores if predictions[scores[0]].null_count() == 0 else weight_columns()


# --------------------------------------------------------------------------------------------
# Per group
# --------------------------------------------------------------------------------------------


def counted(picks: pl.DataFrame) -> pl.DataFrame:
    """Per (group, item_id), the group's picks of each candidate and everyone else's."""
    per_group = picks.group_by(GROUP, ITEM).agg(
        (pl.col(_CODE) == k).sum().cast(pl.Int64).alias(name) for k, name in enumerate(_COUNTS)
    )
    totals = per_group.group_by(ITEM).agg(pl.col(_COUNTS).sum())
    return (
        per_group.join(totals, on=ITEM, suffix="_all")
        .with_columns(
            (pl.col(f"{n}_all") - pl.col(n)).alias(o) for n, o in zip(_COUNTS, _OTHERS, strict=True)
        )
        .drop(f"{n}_all" for n in _COUNTS)
        .sort(GROUP, ITEM, nulls_last=True)
    )


def _group_terms(
    table: pl.DataFrame, predictions: pl.DataFrame, pair_rows: pl.DataFrame | None, min_picks: int
) -> dict[str | None, tuple[np.ndarray, np.ndarray]]:
    """Per group (sorted, null last): its units (item ids) and their terms."""
    joined = table.join(predictions.select(ITEM, *weight_columns()), on=ITEM, how="inner")
    if pair_rows is not None:
        joined = joined.join(
            pair_rows, on=[GROUP, ITEM], how="left", nulls_equal=True
        ).with_columns(pl.col("_pc", "_pn").fill_null(0.0))
    else:
        joined = joined.with_columns(pl.lit(0.0).alias("_pc"), pl.lit(0.0).alias("_pn"))
    joined = joined.sort(GROUP, ITEM, nulls_last=True)
    result: dict[str | None, tuple[np.ndarray, np.ndarray]] = {}
    for part in joined.partition_by(GROUP, maintain_order=True):
        terms = measures.unit_terms(
            part.select(_COUNTS).to_numpy(),
            part.select(_OTHERS).to_numpy(),
            part.select(weight_columns()).to_numpy(),
            min_picks,
            part["_pc"].to_numpy(),
            part["_pn"].to_numpy(),
        )
        result[part[GROUP][0]] = (part[ITEM].to_numpy(), terms)
    return result


def _ranks(values: pl.Series) -> pl.Series:
    return values.fill_nan(None).rank("min", descending=True).cast(pl.Int64)


def _groups_table(
    terms: dict[str | None, tuple[np.ndarray, np.ndarray]],
    n_resamples: int,
    seed: int,
    confidence: float,
) -> pl.DataFrame:
    rows = []
    for group, (items, unit_terms) in terms.items():
        row = {GROUP: group, "picks": int(unit_terms[:, measures.COLUMN["picks"]].sum())}
        row["units"] = int(items.shape[0])
        row["chance"] = CHANCE
        row |= measures.statistics(unit_terms, n_resamples, seed, confidence)
        rows.append(row)
    if not rows:
        return pl.DataFrame()
    table = pl.DataFrame(rows, infer_schema_length=None)
    return table.with_columns(
        _ranks(table["pick_agreement"]).alias("rank_pick_agreement"),
        _ranks(table["distributional_similarity"]).alias("rank_similarity"),
    )


# Per measure of the gap table: the groups table's column, and the terms' numerator and
# denominator (a unit is shared when both groups have a denominator on it).
_GAP_MEASURES = (
    ("pick_agreement", "credit", "picks"),
    ("distributional_similarity", "similarity", "eligible"),
)


def _on_units(
    group_terms: tuple[np.ndarray, np.ndarray], columns: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The units where a group has the measure's denominator, and its two terms there."""
    items, unit_terms = group_terms
    keep = unit_terms[:, columns[1]] > 0
    return items[keep], unit_terms[keep][:, columns]


def _gaps(
    table: pl.DataFrame,
    terms: dict[str | None, tuple[np.ndarray, np.ndarray]],
    n_resamples: int,
    seed: int,
    confidence: float,
) -> pl.DataFrame:
    """Best minus worst group on each measure: over the units both share (paired bootstrap),
    and over all their units (each group's units resampled on their own, seeds ``seed`` and
    ``seed + 1``). Groups that share no unit, such as countries of different languages, only
    have the second."""
    rows = []
    for measure, numerator, denominator in _GAP_MEASURES:
        ranked = table.filter(pl.col(measure).is_not_nan()).sort(measure, descending=True)
        if ranked.height < 2:
            continue
        best, worst = ranked[GROUP][0], ranked[GROUP][-1]
        columns = [measures.COLUMN[numerator], measures.COLUMN[denominator]]

        best_items, best_terms = _on_units(terms[best], columns)
        worst_items, worst_terms = _on_units(terms[worst], columns)
        shared, in_best, in_worst = np.intersect1d(best_items, worst_items, return_indices=True)
        value = low = high = math.nan
        if shared.size:
            value, low, high = measures.paired_difference(
                best_terms[in_best], worst_terms[in_worst], n_resamples, seed, confidence
            )
        unpaired = measures.unpaired_difference(
            best_terms, worst_terms, n_resamples, seed, confidence
        )
        rows.append(
            {
                "measure": measure,
                "best": best,
                "worst": worst,
                "best_value": ranked[measure][0],
                "worst_value": ranked[measure][-1],
                "difference_all_units": unpaired[0],
                "difference_all_units_low": unpaired[1],
                "difference_all_units_high": unpaired[2],
                "shared_units": int(shared.size),
                "difference": value,
                "difference_low": low,
                "difference_high": high,
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


# --------------------------------------------------------------------------------------------
# evaluate()
# --------------------------------------------------------------------------------------------


def check_min_picks(min_picks: int) -> None:
    """Raise ``ValueError`` unless ``min_picks`` is a whole number >= 1."""
    if isinstance(min_picks, bool) or not isinstance(min_picks, (int, np.integer)):
        raise ValueError(f"min_picks must be a whole number, got {min_picks!r}")
    if min_picks < 1:
        raise ValueError(f"min_picks must be 1 or more, got {min_picks}")


def _coverage(predictions: Predictions, units: pl.Series, picks: pl.DataFrame) -> dict[str, Any]:
    predicted = predictions.frame[ITEM].unique().sort()
    unknown = predicted.filter(~predicted.is_in(units.implode()))
    return {
        "predictions": predictions.origin,
        "kind": predictions.kind,
        "prediction_rows": predictions.frame.height,
        "predicted_units": predicted.len(),
        "units_not_in_release": unknown.len(),
        "examples_not_in_release": unknown.head(5).to_list(),
        "release_units": units.len(),
        "release_units_predicted": predicted.len() - unknown.len(),
        "picks_on_predicted_units": picks.height,
        "own_answers": int(predictions.frame[TARGET].is_null().sum()),
        "targets": predictions.targets,
    }


def evaluate(
    source: Source,
    predictions: str | Path | pl.DataFrame | Predictions,
    *,
    by: str | None = None,
    min_picks: int = 5,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    temperature: float = 1.0,
    pairs: Source | None = None,
) -> Evaluation:
    """Measure ``predictions`` against the picks of each group of ``by`` (or everyone).

    ``source`` is a comparisons table (a polars frame, a ``datasets.Dataset``, or a release
    folder / ``hf://`` path) with ``item_id``, ``choice``, ``annotator_id`` and the ``by``
    column; ``predictions`` is anything :func:`read_predictions` reads (``temperature``
    softmaxes reward scores). Only units the predictions cover count; the rows whose
    ``target`` is empty (the model's own answers) are measured here, targeted rows in
    ``steering`` (:mod:`community_alignment.evaluate.steering`).

    ``groups`` columns, per group (``group``; ``all`` without ``by``): ``picks`` and ``units``
    (the group's picks on predicted units); ``pick_agreement`` (the share of its picks equal to
    the model's top choice, 1/k on a k-way tie); ``chance`` (0.25); ``human_loo_majority``
    (leave-one-out majority agreement of the group's own picks, on units with >= 2 of them: the
    level a person of the group reaches); ``distributional_similarity`` (mean over units with
    >= ``min_picks`` of the group's picks of 1 - JSD(model, group's pick shares), base 2);
    ``uniform_baseline`` (the same for a uniform model); ``others_baseline`` (the same for the
    pick shares of everyone outside the group, on those units where others picked;
    ``others_units``); ``pair_accuracy`` (the group's ``pairs`` whose chosen response the model
    scores above the rejected one, ties 1/2; needs weights or scores, and ``pairs``: a pairs
    table, or the release's when ``source`` is a path); ``rank_pick_agreement`` and
    ``rank_similarity`` (1 = best). Each ratio has ``_low``/``_high`` (a percentile interval
    at ``confidence`` from ``n_resamples`` resamples of the group's units, each group with its
    own ``numpy.random.default_rng(seed)``; NaN with fewer than two units), ``_units`` and
    ``_count`` (picks or pairs). An annotator's repeated picks on a unit count once (the
    first, smallest ``comparison_id``), with a warning.

    ``gaps``, per measure (``pick_agreement``, ``distributional_similarity``): the ``best`` and
    ``worst`` group and their values; ``difference_all_units`` with an interval from resampling
    each group's units on its own; and ``difference`` over the ``shared_units`` both groups
    have, with a paired interval (NaN when they share none, as countries of different
    languages do). ``coverage`` counts the predicted units, those not in ``source`` (with
    examples) and the picks used.

    >>> import polars as pl, warnings
    >>> picks = pl.DataFrame({"item_id": ["x"] * 4 + ["y"] * 2, "annotator_id": list("123412"),
    ...                       "country": ["us", "us", "fr", "fr", "us", "fr"],
    ...                       "choice": ["a", "a", "b", "b", "c", "d"]})
    >>> model = pl.DataFrame({"item_id": ["x", "y"], "a": [1, 0], "b": [0, 0], "c": [0, 1],
    ...                       "d": [0, 1]})
    >>> result = evaluate(picks, model, by="country", min_picks=2, n_resamples=0)
    >>> result.groups.select("group", "pick_agreement", "rank_pick_agreement").rows()
    [('fr', 0.16666666666666666, 2), ('us', 0.8333333333333334, 1)]
    """
    check_parameters(n_resamples, confidence)
    check_by(by)
    check_min_picks(min_picks)
    table = read_predictions(predictions, temperature=temperature)
    if table.targets and by is None:
        raise ValueError(
            f"{table.origin}: the predictions name target groups ({', '.join(table.targets)}); "
            "pass by= the field they are values of, e.g. by='country'"
        )
    frame, units = _picks(source, by)
    predicted = table.frame.filter(pl.col(ITEM).is_in(units.implode()))
    if predicted.height == 0:
        examples = ", ".join(table.frame[ITEM].head(3).to_list())
        raise ValueError(
            f"{table.origin}: no predicted unit is in the comparisons table (e.g. {examples}); "
            "item_id must be the release's unit ids"
        )
    frame = frame.filter(pl.col(ITEM).is_in(predicted[ITEM].unique().implode()))
    frame = first_picks(frame, stacklevel=3)
    coverage = _coverage(table, units, frame)

    own = predicted.filter(pl.col(TARGET).is_null())
    pair_rows = None
    if table.has_scores and own.height:
        pair_source = pairs if pairs is not None else source
        if pairs is not None or isinstance(source, (str, Path)):
            pair_rows = _pair_rows(pair_source, by, frame, own)
    per_unit = counted(frame)
    terms = _group_terms(per_unit, own, pair_rows, min_picks)
    groups = _groups_table(terms, n_resamples, seed, confidence)
    gaps = _gaps(groups, terms, n_resamples, seed, confidence) if groups.height else pl.DataFrame()
    steering = None
    if table.targets:
        from community_alignment.evaluate.steering import steering_table

        steering = steering_table(
            per_unit, predicted, own, by, min_picks, n_resamples, seed, confidence
        )
    settings = {
        "min_picks": min_picks,
        "n_resamples": n_resamples,
        "seed": seed,
        "confidence": confidence,
        "temperature": temperature,
    }
    return Evaluation(by, groups, gaps, steering, coverage, settings)
