"""Agreement by group: :func:`agreement`, every statistic of
:mod:`community_alignment.agreement.measures` per group of a comparisons table, with bootstrap
intervals over units."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from community_alignment.agreement.measures import (
    REASON_NO_PAIRS,
    REASON_ONE_CATEGORY,
    entropy_bits,
    pairable_units,
    statistics_from_sums,
    unit_terms,
)
from community_alignment.agreement.picks import (
    choices,
    count_columns,
    counts_per_unit,
    group_columns,
    load_picks,
)
from community_alignment.bootstrap import (
    check_parameters,
    interval_undefined_reason,
    resampled_sums,
    unit_interval,
)
from community_alignment.inputs import Source

__all__ = ["agreement", "agreement_of"]


def _summary(counts: np.ndarray, n_resamples: int, seed: int, confidence: float) -> dict:
    """Every statistic of one group from its units x 4 count matrix (singletons included)."""
    letters = choices()
    picks = int(counts.sum())
    pairable = pairable_units(counts)
    row: dict[str, Any] = {"picks": picks, "units": int(pairable.shape[0])}
    nan = math.nan
    if pairable.shape[0]:
        terms = unit_terms(pairable)
        alpha, pooled, loo = (float(s[0]) for s in statistics_from_sums(terms.sum(axis=0)[None, :]))
        n = pairable.sum(axis=1)
        shares_paired = pairable.sum(axis=0) / n.sum()
        entropy = entropy_bits(pairable)
        row |= {
            "pairs": int(terms[:, -2].sum() // 2),
            "alpha": alpha,
            "alpha_undefined_reason": None if not math.isnan(alpha) else REASON_ONE_CATEGORY,
            "pairwise_pooled": pooled,
            "pairwise_unit_mean": float(np.mean(terms[:, -3] / terms[:, -2])),
            "chance_marginal": float((shares_paired**2).sum()),
            "loo_majority": loo,
            "entropy_median": float(np.median(entropy)),
            "entropy_mean": float(np.mean(entropy)),
        }
    else:
        terms = None
        row |= {
            "pairs": 0,
            "alpha": nan,
            "alpha_undefined_reason": REASON_NO_PAIRS,
            "pairwise_pooled": nan,
            "pairwise_unit_mean": nan,
            "chance_marginal": nan,
            "loo_majority": nan,
            "entropy_median": nan,
            "entropy_mean": nan,
        }
    row["chance_uniform"] = 1.0 / len(letters)
    shares = counts.sum(axis=0) / picks if picks else np.full(len(letters), nan)
    row |= {f"share_{letter}": float(share) for letter, share in zip(letters, shares, strict=True)}
    if n_resamples:
        units = row["units"]
        if interval_undefined_reason(units) is None:
            draws = statistics_from_sums(resampled_sums(terms, n_resamples, seed))
        else:
            draws = (np.full(n_resamples, nan),) * 3
        for name, values in zip(("alpha", "pairwise_pooled", "loo_majority"), draws, strict=True):
            low, high, reason = unit_interval(values, confidence, units)
            row[f"{name}_low"], row[f"{name}_high"] = low, high
        row["interval_undefined_reason"] = reason
    return row


def _agreement_columns(with_intervals: bool) -> list[str]:
    def estimate(name: str) -> list[str]:
        return [name, f"{name}_low", f"{name}_high"] if with_intervals else [name]

    return [
        "picks",
        "units",
        "pairs",
        *estimate("alpha"),
        "alpha_undefined_reason",
        *(["interval_undefined_reason"] if with_intervals else []),
        *estimate("pairwise_pooled"),
        "pairwise_unit_mean",
        "chance_uniform",
        "chance_marginal",
        *estimate("loo_majority"),
        "entropy_median",
        "entropy_mean",
        *(f"share_{letter}" for letter in choices()),
    ]


def agreement_of(
    frame: pl.DataFrame, by: list[str], n_resamples: int, seed: int, confidence: float
) -> pl.DataFrame:
    """:func:`agreement` of picks already read by
    :func:`~community_alignment.agreement.picks.load_picks`."""
    counted = counts_per_unit(frame, by)
    parts = counted.partition_by(by, maintain_order=True) if by else [counted]
    columns = _agreement_columns(n_resamples > 0)
    rows = [
        _summary(
            part.select(count_columns()).to_numpy().astype(np.int64),
            n_resamples,
            seed,
            confidence,
        )
        for part in parts
    ]
    dtypes = {"picks": pl.Int64, "units": pl.Int64, "pairs": pl.Int64}
    dtypes["alpha_undefined_reason"] = dtypes["interval_undefined_reason"] = pl.String
    schema_ = {c: dtypes.get(c, pl.Float64) for c in columns}
    stats = pl.DataFrame([[row[c] for c in columns] for row in rows], schema=schema_, orient="row")
    if not by:
        return stats
    keys = pl.concat([part.select(by).head(1) for part in parts])
    return pl.concat([keys, stats], how="horizontal")


def agreement(
    source: Source,
    *,
    by: str | Sequence[str] | None = None,
    n_resamples: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    pregenerated_only: bool = False,
    balanced_10_only: bool = False,
    turn: int | None = None,
) -> pl.DataFrame:
    """Agreement statistics of a comparisons table, one row per group (one row when ``by`` is None).

    ``source`` is a polars DataFrame or LazyFrame, a ``datasets.Dataset`` or a release folder /
    ``hf://datasets/...`` path (read with :func:`community_alignment.load.scan`). Needed
    columns: ``item_id``, ``choice`` (ClassLabel 0..3 or letters a..d), ``annotator_id``,
    the ``by`` columns and the columns of the active filters (``is_pregenerated_first_prompt``,
    ``in_balanced_subset_10``, ``turn``).

    With ``by``, only a group's own picks count: a unit enters a group's agreement when it has
    at least two picks from that group. Rows follow the sorted group values (nulls, a group of
    their own, last).

    Columns: the group column(s); ``picks`` (all picks, singletons included); ``units`` (units
    with >= 2 picks); ``pairs`` (unordered pairs of picks on the same unit); ``alpha`` and
    ``alpha_undefined_reason`` (null when alpha is defined); ``pairwise_pooled``;
    ``pairwise_unit_mean``; ``chance_uniform`` (0.25); ``chance_marginal`` (``sum p_c**2``,
    ``p_c`` the choice shares of the picks on units with >= 2 picks, i.e. of the picks that are
    paired); ``loo_majority``; ``entropy_median`` and ``entropy_mean`` (bits, over units with
    >= 2 picks); ``share_a``..``share_d`` (position bias: choice shares over ALL picks of the
    group, singleton units included). Statistics without a unit of two picks are NaN, and
    ``alpha_undefined_reason`` says so.

    With ``n_resamples > 0``, ``alpha_low``/``alpha_high``, ``pairwise_pooled_low``/``_high``
    and ``loo_majority_low``/``_high`` give percentile intervals at ``confidence`` from a
    bootstrap that resamples the units with >= 2 picks (not picks) with replacement. Every group
    is resampled with its own ``numpy.random.default_rng(seed)``, so a group's interval is the
    one :func:`agreement` gives on that group alone; resamples where alpha is undefined are left
    out of its interval. A group with fewer than two such units has no interval: its bounds are
    NaN and ``interval_undefined_reason`` says why
    (:func:`community_alignment.bootstrap.unit_interval`; null when the intervals exist).

    Raises ``ValueError`` on missing columns, null or unknown choices and an empty selection.

    >>> import polars as pl
    >>> frame = pl.DataFrame({
    ...     "item_id":      ["x", "x", "x", "x", "y", "y"],
    ...     "annotator_id": ["1", "2", "3", "4", "1", "3"],
    ...     "country":      ["us", "us", "fr", "fr", "us", "fr"],
    ...     "choice":       [0, 0, 1, 2, 3, 3],
    ... })
    >>> agreement(frame).select("picks", "units", "pairs", "pairwise_pooled").row(0)
    (6, 2, 7, 0.2857142857142857)
    >>> by_country = agreement(frame, by="country")   # only x has two picks of a country
    >>> by_country.select("country", "units", "pairwise_pooled", "share_a", "share_d").rows()
    [('fr', 1, 0.0, 0.0, 0.3333333333333333), ('us', 1, 1.0, 0.6666666666666666, 0.3333333333333333)]
    """  # noqa: E501
    check_parameters(n_resamples, confidence)
    columns = group_columns(by)
    frame = load_picks(
        source,
        by=columns,
        pregenerated_only=pregenerated_only,
        balanced_10_only=balanced_10_only,
        turn=turn,
    )
    return agreement_of(frame, columns, n_resamples, seed, confidence)
