"""The agreement measures on a units x categories count matrix: Krippendorff's alpha
(nominal), pairwise agreement, leave-one-out majority agreement and choice entropy.

Every function takes a count matrix (rows: units, columns: the choices, cells: picks) and
ignores units with fewer than two picks wherever picks are paired. The per-unit terms of
:func:`unit_terms` are additive, so that a bootstrap (:mod:`community_alignment.bootstrap`)
recomputes alpha, pooled pairwise and LOO majority from their resampled sums
(:func:`statistics`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "REASON_NO_PAIRS",
    "REASON_ONE_CATEGORY",
    "Pairwise",
    "entropy_bits",
    "krippendorff_alpha_nominal",
    "loo_majority",
    "pairable_units",
    "pairwise_agreement",
    "statistics_from_sums",
    "unit_terms",
]

REASON_NO_PAIRS = "no unit has two or more picks, so no two picks can be compared"
REASON_ONE_CATEGORY = (
    "every pick on a unit with two or more picks is the same choice, "
    "so the expected disagreement is 0"
)


class Pairwise(NamedTuple):
    """Pairwise agreement of a count matrix (see :func:`pairwise_agreement`)."""

    pooled: float
    unit_mean: float
    units: int
    pairs: int


def _as_counts(counts: Any) -> np.ndarray:
    array = np.asarray(counts)
    if array.ndim != 2 or array.shape[1] < 2:
        raise ValueError(
            f"counts must be a units x categories matrix with at least two categories, "
            f"got shape {array.shape}"
        )
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.floating) or not np.all(array == np.round(array)):
            raise ValueError("counts must be whole numbers of picks")
    array = array.astype(np.int64)
    if (array < 0).any():
        raise ValueError(f"counts must not be negative; found {int((array < 0).sum())} cells")
    return array


def pairable_units(counts: np.ndarray) -> np.ndarray:
    """The rows of the units with two or more picks: the only units that pair picks."""
    return counts[counts.sum(axis=1) >= 2]


def _loo_credit(counts: np.ndarray) -> np.ndarray:
    """Per unit, the summed leave-one-out majority credit of its picks (units with >= 2 picks)."""
    categories = counts.shape[1]
    # others[u, c, k]: picks of k on unit u once one pick of c is left out.
    others = counts[:, None, :] - np.eye(categories, dtype=np.int64)[None, :, :]
    tied = others == others.max(axis=2, keepdims=True)
    credit = np.diagonal(tied, axis1=1, axis2=2) / tied.sum(axis=2)
    return (counts * credit).sum(axis=1)


def unit_terms(pairable: np.ndarray) -> np.ndarray:
    """Additive per-unit terms: every statistic is a function of their sums over units.

    Columns: the category counts, then the observed-disagreement mass of alpha
    ``(n^2 - sum n_c^2) / (n - 1)``, agreeing ordered pairs ``sum n_c (n_c - 1)``, ordered pairs
    ``n (n - 1)`` and the leave-one-out credit.
    """
    n = pairable.sum(axis=1)
    squares = (pairable * pairable).sum(axis=1)
    terms = np.empty((pairable.shape[0], pairable.shape[1] + 4), dtype=np.float64)
    terms[:, : pairable.shape[1]] = pairable
    terms[:, -4] = (n * n - squares) / (n - 1)
    terms[:, -3] = squares - n
    terms[:, -2] = n * (n - 1)
    terms[:, -1] = _loo_credit(pairable)
    return terms


def statistics_from_sums(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alpha, pooled pairwise and LOO majority from summed :func:`unit_terms` (rows: resamples)."""
    by_category = sums[:, :-4]
    n = by_category.sum(axis=1)
    expected = n * n - (by_category * by_category).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(expected > 0, 1.0 - (n - 1.0) * sums[:, -4] / expected, np.nan)
        pooled = np.where(sums[:, -2] > 0, sums[:, -3] / sums[:, -2], np.nan)
        loo = np.where(n > 0, sums[:, -1] / n, np.nan)
    return alpha, pooled, loo


def krippendorff_alpha_nominal(counts: Any) -> tuple[float, str | None]:
    """Krippendorff's alpha for nominal data from a units x categories count matrix.

    Units with fewer than two picks are ignored. Returns ``(alpha, None)``, or
    ``(nan, reason)`` when alpha is undefined. There the ``krippendorff`` package raises
    ``ValueError`` (no unit with two picks) or returns NaN with a RuntimeWarning (one category).

    Two units agree (a, a and b, b), one splits (a, b): n = 6, observed disagreement mass
    2 / (2 - 1) = 2, expected ``6**2 - (3**2 + 3**2) = 18``, alpha = 1 - 5 * 2 / 18 = 4/9.

    >>> alpha, reason = krippendorff_alpha_nominal([[2, 0, 0, 0], [1, 1, 0, 0], [0, 2, 0, 0]])
    >>> round(alpha, 6), reason
    (0.444444, None)
    >>> krippendorff_alpha_nominal([[3, 0, 0, 0], [2, 0, 0, 0], [0, 1, 0, 0]])[1]
    'every pick on a unit with two or more picks is the same choice, so the expected disagreement is 0'
    >>> krippendorff_alpha_nominal([[1, 0, 0, 0], [0, 1, 0, 0]])
    (nan, 'no unit has two or more picks, so no two picks can be compared')
    """  # noqa: E501
    pairable = pairable_units(_as_counts(counts))
    if pairable.shape[0] == 0:
        return math.nan, REASON_NO_PAIRS
    n = pairable.sum(axis=1)
    disagreement = ((n * n - (pairable * pairable).sum(axis=1)) / (n - 1)).sum()
    n_c = pairable.sum(axis=0)
    total = n_c.sum()
    expected = total * total - (n_c * n_c).sum()
    alpha = float(1.0 - (total - 1) * disagreement / expected) if expected > 0 else math.nan
    return (alpha, None) if not math.isnan(alpha) else (math.nan, REASON_ONE_CATEGORY)


def pairwise_agreement(counts: Any) -> Pairwise:
    """Share of agreeing pairs of distinct picks on the same unit.

    Per unit ``sum n_c (n_c - 1) / (n (n - 1))``. ``pooled`` divides the summed numerators by
    the summed denominators (every pair weighs the same; the MT-bench convention);
    ``unit_mean`` averages the per-unit shares (every unit weighs the same). Only units with
    two or more picks count; ``pairs`` is the number of unordered pairs. NaN when no unit has
    two picks.

    Unit 1 (a, a) has 1 agreeing pair of 1; unit 2 (a, b, c) has 0 of 3:
    pooled 1/4, unit mean (1 + 0) / 2.

    >>> pairwise_agreement([[2, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 1]])
    Pairwise(pooled=0.25, unit_mean=0.5, units=2, pairs=4)
    """
    pairable = pairable_units(_as_counts(counts))
    if pairable.shape[0] == 0:
        return Pairwise(math.nan, math.nan, 0, 0)
    n = pairable.sum(axis=1)
    agreeing = (pairable * (pairable - 1)).sum(axis=1)
    pairs = n * (n - 1)
    return Pairwise(
        pooled=float(agreeing.sum() / pairs.sum()),
        unit_mean=float(np.mean(agreeing / pairs)),
        units=int(pairable.shape[0]),
        pairs=int(pairs.sum() // 2),
    )


def loo_majority(counts: Any) -> float:
    """Leave-one-out majority agreement, averaged over the picks of units with >= 2 picks.

    A pick scores 1 when it equals the plurality of the other picks on its unit, ``1/k`` when
    it is one of ``k`` values tied for the plurality, else 0. NaN when no unit has two picks.

    Unit (a, a, b, c): each a faces (a, b, c), a three-way tie, so scores 1/3; b and c face a
    plurality of a and score 0: (1/3 + 1/3) / 4 = 1/6. Unit (a, a): both score 1.

    >>> round(loo_majority([[2, 1, 1, 0]]), 6)
    0.166667
    >>> round(loo_majority([[2, 1, 1, 0], [2, 0, 0, 0]]), 6)   # (2/3 + 2) / 6
    0.444444
    """
    pairable = pairable_units(_as_counts(counts))
    if pairable.shape[0] == 0:
        return math.nan
    return float(_loo_credit(pairable).sum() / pairable.sum())


def entropy_bits(counts: Any) -> np.ndarray:
    """Entropy (bits) of the choice distribution of every unit (row); NaN for a unit with no pick.

    >>> entropy_bits([[2, 0, 0, 0], [1, 1, 0, 0], [2, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]])
    array([0. , 1. , 1.5, 2. , nan])
    """
    array = _as_counts(counts).astype(np.float64)
    n = array.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = array / n
        logs = np.where(p > 0, np.log2(np.where(p > 0, p, 1.0)), 0.0)
    result = -(p * logs).sum(axis=1)
    result[n[:, 0] == 0] = np.nan
    return result + 0.0  # no negative zeros
