"""Per-unit terms of the measures, and their sums turned into statistics with bootstrap
intervals over units.

Every measure of :func:`community_alignment.evaluate.evaluate` is a ratio of sums over units
(``item_id``) of additive per-unit terms, so one bootstrap of a group's units
(:func:`bootstrap_sums`) gives the intervals of all of them. The Jensen-Shannon distance is computed
here with numpy, in base 2 (so it lies in [0, 1]).

>>> round(float(js_distance([1, 0, 0, 0], [0, 1, 0, 0])), 12), float(js_distance([1, 1], [2, 2]))
(1.0, 0.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from community_alignment.bootstrap import (
    CHUNK_CELLS,
    MIN_UNITS,
    interval,
    interval_undefined_reason,
    resampled_sums,
)

__all__ = [
    "TERMS",
    "bootstrap_sums",
    "js_distance",
    "loo_credit",
    "paired_difference",
    "statistics",
    "top_credit",
    "unit_terms",
    "unpaired_difference",
]

# Columns of the per-unit terms matrix built by unit_terms.
TERMS = (
    "credit",  # the model's pick credit: picks matching its top choice, 1/k on a k-way tie
    "picks",
    "loo_credit",  # leave-one-out majority credit of the group's picks (units with >= 2)
    "loo_picks",
    "similarity",  # 1 - JSD(model, group shares), units with >= min_picks only
    "eligible",
    "uniform",  # 1 - JSD(uniform, group shares), same units
    "others",  # 1 - JSD(others' shares, group shares), same units where others picked
    "with_others",
    "pair_credit",  # pairs whose chosen response the model scores above the rejected one
    "pairs",
)
COLUMN = {name: k for k, name in enumerate(TERMS)}

# (statistic, numerator, denominator) of every statistic that gets an interval.
RATIOS = (
    ("pick_agreement", "credit", "picks"),
    ("human_loo_majority", "loo_credit", "loo_picks"),
    ("distributional_similarity", "similarity", "eligible"),
    ("pair_accuracy", "pair_credit", "pairs"),
)


def _rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    positive = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(positive, x, 1.0) / np.where(positive, y, 1.0)
    return np.where(positive, x * np.log(ratio), 0.0)


def js_distance(p: Any, q: Any) -> np.ndarray:
    """Jensen-Shannon distance in base 2 between the rows of ``p`` and ``q`` (normalised first).

    The same number as ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` row by row: the
    square root of the mean Kullback-Leibler divergence of each to their midpoint. 0 for equal
    rows, 1 for rows with no candidate in common.

    >>> p, q = [[0.5, 0.5, 0, 0], [1, 0, 0, 0]], [[0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0]]
    >>> js_distance(p, q).round(6).tolist()
    [0.0, 0.557923]
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.ndim not in (1, 2):
        raise ValueError(
            f"p and q must be vectors or matrices of one shape, got {p.shape} and {q.shape}"
        )
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    middle = (p + q) / 2.0
    divergence = (_rel_entr(p, middle).sum(axis=-1) + _rel_entr(q, middle).sum(axis=-1)) / np.log(2)
    return np.sqrt(np.maximum(divergence, 0.0) / 2.0)


def top_credit(weights: np.ndarray) -> np.ndarray:
    """Per unit and candidate, the credit a pick of that candidate earns: ``1/k`` for each of
    the ``k`` candidates tied for the model's highest weight, else 0.

    >>> top_credit(np.array([[0.5, 0.5, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]])).tolist()
    [[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
    """
    top = weights == weights.max(axis=1, keepdims=True)
    return top / top.sum(axis=1, keepdims=True)


def loo_credit(counts: np.ndarray) -> np.ndarray:
    """Per unit, the summed leave-one-out majority credit of its picks: a pick scores 1 when it
    equals the plurality of the other picks, ``1/k`` in a k-way tie; 0 for a unit of one pick.

    Unit (a, a, b): each a faces (a, b), a tie, 1/2; b faces (a, a), 0. Unit (c, c): 2.

    >>> loo_credit(np.array([[2, 1, 0, 0], [0, 0, 2, 0], [1, 0, 0, 0]])).tolist()
    [1.0, 2.0, 0.0]
    """
    categories = counts.shape[1]
    others = counts[:, None, :] - np.eye(categories, dtype=np.int64)[None, :, :]
    tied = others == others.max(axis=2, keepdims=True)
    credit = np.diagonal(tied, axis1=1, axis2=2) / tied.sum(axis=2)
    credit = (counts * credit).sum(axis=1)
    return np.where(counts.sum(axis=1) >= 2, credit, 0.0)


def _shares(counts: np.ndarray) -> np.ndarray:
    """Rows of counts as shares; a row without counts becomes uniform (masked by the caller)."""
    total = counts.sum(axis=1, keepdims=True)
    return np.where(total > 0, counts / np.where(total > 0, total, 1), 1.0 / counts.shape[1])


def unit_terms(
    counts: np.ndarray,
    others: np.ndarray,
    weights: np.ndarray,
    min_picks: int,
    pair_credit: np.ndarray,
    pairs: np.ndarray,
) -> np.ndarray:
    """The units x :data:`TERMS` matrix of one group.

    ``counts``: the group's picks of each candidate per unit; ``others``: everyone else's;
    ``weights``: the model's normalised weights; ``pair_credit`` / ``pairs``: per unit, the
    group's pairs the model ranks right (ties 1/2) and all its pairs.
    """
    n = counts.sum(axis=1)
    eligible = n >= min_picks
    shares = _shares(counts)
    uniform = np.full_like(shares, 1.0 / shares.shape[1])
    with_others = eligible & (others.sum(axis=1) > 0)
    terms = np.zeros((counts.shape[0], len(TERMS)), dtype=np.float64)
    terms[:, COLUMN["credit"]] = (counts * top_credit(weights)).sum(axis=1)
    terms[:, COLUMN["picks"]] = n
    terms[:, COLUMN["loo_credit"]] = loo_credit(counts)
    terms[:, COLUMN["loo_picks"]] = np.where(n >= 2, n, 0)
    terms[:, COLUMN["similarity"]] = np.where(eligible, 1.0 - js_distance(weights, shares), 0.0)
    terms[:, COLUMN["eligible"]] = eligible
    terms[:, COLUMN["uniform"]] = np.where(eligible, 1.0 - js_distance(uniform, shares), 0.0)
    others_similarity = 1.0 - js_distance(_shares(others), shares)
    terms[:, COLUMN["others"]] = np.where(with_others, others_similarity, 0.0)
    terms[:, COLUMN["with_others"]] = with_others
    terms[:, COLUMN["pair_credit"]] = pair_credit
    terms[:, COLUMN["pairs"]] = pairs
    return terms


def bootstrap_sums(terms: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Sums of ``terms`` (units x terms) over ``n_resamples`` resamples of its units drawn with
    replacement, like :func:`community_alignment.bootstrap.resampled_sums`, seeded with
    ``numpy.random.default_rng(seed)``.

    Units with the same terms are interchangeable, so when at most a quarter of the units are
    distinct (most units have one pick of a group, and their terms take few values) a resample
    is drawn as multinomial counts over the distinct rows: the same distribution of sums, in a
    fraction of the time. Otherwise it is :func:`~community_alignment.bootstrap.resampled_sums`.
    """
    units = terms.shape[0]
    rows = np.ascontiguousarray(terms + 0.0)  # + 0.0: -0.0 and 0.0 are one value
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if 4 * first.size > units:
        return resampled_sums(terms, n_resamples, seed)
    distinct, shares = rows[first], counts / units
    rng = np.random.default_rng(seed)
    sums = np.empty((n_resamples, terms.shape[1]), dtype=np.float64)
    step = max(1, CHUNK_CELLS // first.size)
    for start in range(0, n_resamples, step):
        block = min(step, n_resamples - start)
        draws = rng.multinomial(units, shares, size=block)
        sums[start : start + block] = draws.astype(np.float64) @ distinct
    return sums


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


def statistics(terms: np.ndarray, n_resamples: int, seed: int, confidence: float) -> dict[str, Any]:
    """Every statistic of one group from its units x :data:`TERMS` matrix.

    For each ratio of :data:`RATIOS`: its value, ``_low``/``_high`` (a percentile interval from
    ``n_resamples`` bootstrap resamples of the units, NaN with fewer than two contributing
    units or no resamples), ``_units`` (contributing units) and ``_count`` (its denominator:
    picks or pairs). Also ``uniform_baseline``, ``others_baseline`` and ``others_units``.
    """
    sums = terms.sum(axis=0)
    draws = bootstrap_sums(terms, n_resamples, seed) if n_resamples and terms.shape[0] else None
    result: dict[str, Any] = {}
    for name, numerator, denominator in RATIOS:
        column = terms[:, COLUMN[denominator]]
        units = int((column > 0).sum())
        result[name] = float(ratio(sums[COLUMN[numerator]], sums[COLUMN[denominator]]))
        low = high = math.nan
        if draws is not None and units >= MIN_UNITS:
            values = ratio(draws[:, COLUMN[numerator]], draws[:, COLUMN[denominator]])
            low, high = interval(values, confidence)
        result |= {
            f"{name}_low": low,
            f"{name}_high": high,
            f"{name}_units": units,
            f"{name}_count": int(round(float(sums[COLUMN[denominator]]))),
            f"{name}_interval_undefined_reason": interval_undefined_reason(units)
            if n_resamples
            else None,
        }
    result["uniform_baseline"] = float(ratio(sums[COLUMN["uniform"]], sums[COLUMN["eligible"]]))
    result["others_baseline"] = float(ratio(sums[COLUMN["others"]], sums[COLUMN["with_others"]]))
    result["others_units"] = int(sums[COLUMN["with_others"]])
    return result


def paired_difference(
    best: np.ndarray, worst: np.ndarray, n_resamples: int, seed: int, confidence: float
) -> tuple[float, float, float]:
    """``best[:, 0].sum() / best[:, 1].sum()`` minus the same of ``worst`` (rows: the units both
    groups share), and its interval from resampling those units together."""
    terms = np.concatenate([best, worst], axis=1)
    sums = terms.sum(axis=0)
    value = float(ratio(sums[0], sums[1]) - ratio(sums[2], sums[3]))
    low = high = math.nan
    if n_resamples and terms.shape[0] >= 2:
        draws = bootstrap_sums(terms, n_resamples, seed)
        low, high = interval(
            ratio(draws[:, 0], draws[:, 1]) - ratio(draws[:, 2], draws[:, 3]), confidence
        )
    return value, low, high


def unpaired_difference(
    best: np.ndarray, worst: np.ndarray, n_resamples: int, seed: int, confidence: float
) -> tuple[float, float, float]:
    """``best[:, 0].sum() / best[:, 1].sum()`` minus the same of ``worst`` (rows: each group's
    own units), and its interval from resampling each group's units on its own (seeds ``seed``
    and ``seed + 1``, so the two resamples are independent)."""
    value = float(
        ratio(best[:, 0].sum(), best[:, 1].sum()) - ratio(worst[:, 0].sum(), worst[:, 1].sum())
    )
    low = high = math.nan
    if n_resamples and min(best.shape[0], worst.shape[0]) >= 2:
        best_draws = bootstrap_sums(best, n_resamples, seed)
        worst_draws = bootstrap_sums(worst, n_resamples, seed + 1)
        low, high = interval(
            ratio(best_draws[:, 0], best_draws[:, 1]) - ratio(worst_draws[:, 0], worst_draws[:, 1]),
            confidence,
        )
    return value, low, high
