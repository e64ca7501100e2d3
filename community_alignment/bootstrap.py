"""Bootstrap over units, vectorised.

The statistics of :mod:`community_alignment.agreement` and :mod:`community_alignment.iw` are
functions of sums over units (``item_id``) of additive per-unit terms. A bootstrap resample
draws units with replacement, so its sums are the unit terms weighted by how often each unit
was drawn: :func:`resampled_sums` computes those sums for all resamples with a few matrix
products, :func:`interval` turns the draws of a statistic into a percentile interval, and
:func:`check_parameters` checks ``n_resamples`` and ``confidence`` as the public functions
take them.

An interval resampled from fewer than :data:`MIN_UNITS` units is not an interval: with one
unit every resample is that unit, and the "interval" is the estimate itself.
:func:`unit_interval` gives NaN bounds and the reason (:func:`interval_undefined_reason`)
there; tables show such an interval as n/a with the reason, JSON as null bounds and an
``interval_undefined_reason`` field.

>>> import numpy as np
>>> terms = np.array([[1.0, 2.0], [1.0, 2.0]])   # two identical units
>>> sums = resampled_sums(terms, 5, seed=0)
>>> sums.shape, sums[:, 0].tolist(), sums[:, 1].tolist()
((5, 2), [2.0, 2.0, 2.0, 2.0, 2.0], [4.0, 4.0, 4.0, 4.0, 4.0])
>>> interval(np.array([1.0, np.nan, 2.0, 3.0]), 0.5)   # NaN draws are left out
(1.5, 2.5)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "CHUNK_CELLS",
    "MIN_UNITS",
    "check_parameters",
    "interval",
    "interval_undefined_reason",
    "resampled_sums",
    "unit_interval",
]

# Cells of the resample-weight matrix built at once: about 25 MB of draws and weights. Four
# times as many were no faster on the full corpus and held about 110 MB more.
CHUNK_CELLS = 1 << 20

MIN_UNITS = 2
"""The fewest units a bootstrap interval can be resampled from."""


def check_parameters(n_resamples: int, confidence: float) -> None:
    """Raise ``ValueError`` unless ``n_resamples`` is a whole number >= 0 (0: no intervals) and
    ``confidence`` lies strictly between 0 and 1.

    >>> check_parameters(1000, 0.95)
    >>> check_parameters(-1, 0.95)
    Traceback (most recent call last):
    ...
    ValueError: n_resamples must be 0 (no intervals) or more, got -1
    """
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise ValueError(f"n_resamples must be a whole number, got {n_resamples!r}")
    if n_resamples < 0:
        raise ValueError(f"n_resamples must be 0 (no intervals) or more, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


def resampled_sums(terms: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Sums of ``terms`` over ``n_resamples`` resamples of its rows drawn with replacement.

    ``terms`` is units x terms; the result is ``n_resamples`` x terms. Each resample's weights
    (how often each unit was drawn) come from one ``bincount`` of uniform indices from
    ``numpy.random.default_rng(seed)``; the sums of all resamples are then one matrix product,
    built in blocks of at most :data:`CHUNK_CELLS` weights (the blocks do not change the draws).
    """
    units = terms.shape[0]
    rng = np.random.default_rng(seed)
    sums = np.empty((n_resamples, terms.shape[1]), dtype=np.float64)
    step = max(1, CHUNK_CELLS // max(units, 1))
    for start in range(0, n_resamples, step):
        block = min(step, n_resamples - start)
        draws = rng.integers(0, units, size=(block, units))
        draws += np.arange(block)[:, None] * units
        weights = np.bincount(draws.ravel(), minlength=block * units).reshape(block, units)
        sums[start : start + block] = weights.astype(np.float64) @ terms
    return sums


def interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval over the draws where the statistic is defined (NaN if none is).

    >>> interval(np.array([np.nan, np.nan]), 0.95)
    (nan, nan)
    """
    finite = draws[~np.isnan(draws)]
    if finite.size == 0:
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def interval_undefined_reason(units: int) -> str | None:
    """Why no interval can be resampled from ``units`` contributing units; None when one can.

    >>> interval_undefined_reason(1)
    'only 1 unit to resample; an interval needs at least 2'
    >>> interval_undefined_reason(0), interval_undefined_reason(2)
    ('no unit to resample; an interval needs at least 2', None)
    """
    if units >= MIN_UNITS:
        return None
    what = "no unit" if units == 0 else f"only {units} unit"
    return f"{what} to resample; an interval needs at least {MIN_UNITS}"


def unit_interval(
    draws: np.ndarray, confidence: float, units: int
) -> tuple[float, float, str | None]:
    """:func:`interval` of draws resampled from ``units`` contributing units, and None; or NaN
    bounds and :func:`interval_undefined_reason` when there are fewer than :data:`MIN_UNITS`.

    A unit contributes when it enters the statistic (e.g. has a pair of picks, a labelled
    choice): a statistic of one contributing unit is the same in every resample that draws it.

    >>> unit_interval(np.array([0.5, 0.5, 0.5]), 0.95, units=1)
    (nan, nan, 'only 1 unit to resample; an interval needs at least 2')
    >>> unit_interval(np.array([1.0, 2.0, 3.0]), 0.5, units=3)
    (1.5, 2.5, None)
    """
    reason = interval_undefined_reason(units)
    if reason is not None:
        return math.nan, math.nan, reason
    low, high = interval(draws, confidence)
    return low, high, None
