"""Steerable pluralism: does telling a model which group it speaks for move its answers
toward that group?

Predictions with a ``target`` (a value of the ``by`` field, e.g. ``us``) were made with the
model asked to answer as a member of that group. Per target, the targeted answers are compared
with the target group's pick shares and with every other group's, and, when the model's own
answers (no target) are there too, with what it said unprompted.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import polars as pl

from community_alignment.bootstrap import interval
from community_alignment.evaluate import measures
from community_alignment.evaluate.predictions import ITEM, TARGET, weight_columns

__all__ = ["steering_table"]

GROUP = "group"
_COUNTS = [f"_n{k}" for k in range(4)]


def _similarities(per_unit: pl.DataFrame, answers: pl.DataFrame, min_picks: int) -> pl.DataFrame:
    """Per (group, item_id) with >= min_picks of the group's picks on a unit ``answers`` cover:
    1 - JSD(answers, the group's pick shares)."""
    joined = per_unit.join(answers.select(ITEM, *weight_columns()), on=ITEM, how="inner")
    counts = joined.select(_COUNTS).to_numpy()
    keep = counts.sum(axis=1) >= min_picks
    similarity = 1.0 - measures.js_distance(joined.select(weight_columns()).to_numpy(), counts)
    keep &= joined[GROUP].is_not_null().to_numpy()  # a target always names a group
    return joined.select(GROUP, ITEM).with_columns(pl.Series("_s", similarity)).filter(keep)


def _target_and_others(
    values: pl.DataFrame,
    target: str,
    names: tuple[str, str, str],
    n_resamples: int,
    seed: int,
    confidence: float,
) -> dict[str, Any]:
    """From per (group, item_id) values ``_v``: the target group's mean, the mean over the
    other groups of each one's mean, and target minus others, named ``names``; each with an
    interval from one bootstrap over every unit that has a value (``names[0]_units``: the
    target's units)."""
    row: dict[str, Any] = {}
    wide = values.pivot(on=GROUP, index=ITEM, values="_v", sort_columns=True)
    groups = [c for c in wide.columns if c != ITEM]
    if target not in groups:
        row[f"{names[0]}_units"] = 0
        for name in names:
            row |= {name: math.nan, f"{name}_low": math.nan, f"{name}_high": math.nan}
        return row
    matrix = wide.select(groups).to_numpy()
    present = ~np.isnan(matrix)
    terms = np.concatenate([np.where(present, matrix, 0.0), present], axis=1)
    t = groups.index(target)
    rest = [k for k, g in enumerate(groups) if g != target]

    def estimates(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        means = measures.ratio(sums[:, : len(groups)], sums[:, len(groups) :])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample can miss a group
            others = np.nanmean(means[:, rest], axis=1) if rest else np.full(len(means), np.nan)
        return means[:, t], others, means[:, t] - others

    point = estimates(terms.sum(axis=0)[None, :])
    row[f"{names[0]}_units"] = int(present[:, t].sum())
    draws = None
    if n_resamples and row[f"{names[0]}_units"] >= 2:
        draws = estimates(measures.bootstrap_sums(terms, n_resamples, seed))
    for k, name in enumerate(names):
        low, high = interval(draws[k], confidence) if draws is not None else (math.nan, math.nan)
        row |= {name: float(point[k][0]), f"{name}_low": low, f"{name}_high": high}
    return row


def steering_table(
    per_unit: pl.DataFrame,
    predicted: pl.DataFrame,
    own: pl.DataFrame,
    by: str,
    min_picks: int,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> pl.DataFrame:
    """One row per target: ``units`` (units with >= ``min_picks`` of the target group's picks
    that the targeted answers cover), ``similarity_to_target``, ``similarity_to_others`` (the
    mean over the ``others`` groups of each one's mean similarity) and ``difference`` (target
    minus others). Groups differ in how split their picks are and, by country, in their units,
    so ``difference`` is not 0 for a model that ignores the target; with the model's own
    answers (no target) on the same units, the cleaner measures are ``gain`` (targeted minus
    own similarity to the target, over ``gain_units``), ``gain_to_others`` (the same toward the
    other groups, averaged over groups) and ``specificity`` (gain minus gain to others: did the
    answers move toward the target more than toward everyone else?), with ``own_similarity``.
    Each estimate has ``_low``/``_high``.

    ``per_unit`` holds the picks of each candidate per (group, item_id) (see
    :func:`community_alignment.evaluate.evaluation.counted`); ``predicted`` the checked
    prediction rows on the release's units; ``own`` those without a target.
    """
    known = set(per_unit[GROUP].drop_nulls().unique().to_list())
    targets = predicted[TARGET].drop_nulls().unique().sort().to_list()
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise ValueError(
            f"target(s) {', '.join(unknown)} are not values of {by} among the picks on predicted "
            f"units ({', '.join(sorted(known)) or 'none'})"
        )
    own_similarities = _similarities(per_unit, own, min_picks) if own.height else None
    similarity_names = ("similarity_to_target", "similarity_to_others", "difference")
    gain_names = ("gain", "gain_to_others", "specificity")
    rows = []
    for target in targets:
        answers = predicted.filter(pl.col(TARGET) == target)
        similarities = _similarities(per_unit, answers, min_picks)
        row: dict[str, Any] = {"target": target}
        row |= _target_and_others(
            similarities.rename({"_s": "_v"}),
            target,
            similarity_names,
            n_resamples,
            seed,
            confidence,
        )
        row["units"] = row.pop("similarity_to_target_units")
        row["others"] = similarities.filter(pl.col(GROUP) != target)[GROUP].n_unique()
        own_value = math.nan
        if own_similarities is not None:
            paired = similarities.join(own_similarities, on=[GROUP, ITEM], suffix="_own")
            on_target = paired.filter(pl.col(GROUP) == target)
            if on_target.height:
                own_value = float(on_target["_s_own"].mean())
            gains = paired.select(GROUP, ITEM, (pl.col("_s") - pl.col("_s_own")).alias("_v"))
            row |= _target_and_others(gains, target, gain_names, n_resamples, seed, confidence)
        else:
            row |= {f"{n}{end}": math.nan for n in gain_names for end in ("", "_low", "_high")}
            row["gain_units"] = 0
        row["own_similarity"] = own_value
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)
