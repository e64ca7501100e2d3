"""IW distance against disagreement, without labels: for every pair of release countries, the
distance between their reference positions beside how much their annotators disagree on the
same units (:func:`distance_vs_disagreement`), and the correlation of the two."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from community_alignment.agreement import cross_agreement
from community_alignment.formatting import json_ready, records
from community_alignment.inputs import Source
from community_alignment.iw.map import positions_by_code
from community_alignment.iw.poles import COUNTRY

__all__ = ["DistanceDisagreement", "distance_vs_disagreement"]

REASON = "interval_undefined_reason"


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
    the factor-score units of :func:`~community_alignment.iw.map.country_positions`), ``units``
    and ``pairs`` (units the two share and pairs of their picks there), ``agreement`` (from
    :func:`community_alignment.agreement.cross_agreement`) and ``disagreement`` = 1 - agreement,
    with ``_low``/``_high`` bounds and ``interval_undefined_reason`` (why a pair that shares
    fewer than two units has no interval) when resampled. ``pearson`` and ``spearman`` are computed
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
            "pairs": records(self.table),
            "pearson": json_ready(self.pearson),
            "spearman": json_ready(self.spearman),
            "n_pairs": self.n_pairs,
            "reason": self.reason,
            "countries_without_position": self.countries_without_position,
        }


def distance_vs_disagreement(
    source: Source, *, n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> DistanceDisagreement:
    """Set each pair's IW distance beside how much its annotators disagree on the same units.

    Needs no labels. ``source`` is as for :func:`~community_alignment.iw.summary.summarize`
    (``item_id``, ``choice``, ``annotator_id``, ``country``). Countries without a reference
    position are left out and listed. With fewer than 3 country pairs that share units the
    correlations are NaN.

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
    positions = positions_by_code()
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
        *([REASON] if REASON in pairs.columns else []),
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
