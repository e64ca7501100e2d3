"""Agreement between groups: :func:`cross_agreement`, the share of agreeing pairs of picks
from two groups (e.g. two countries) on the same units, for every pair of groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from community_alignment.agreement.picks import (
    ITEM,
    choices,
    count_columns,
    counts_per_unit,
    group_columns,
    load_picks,
)
from community_alignment.bootstrap import check_parameters, resampled_sums, unit_interval
from community_alignment.inputs import Source

__all__ = ["cross_agreement", "cross_of"]

# Cells of the units x groups x groups array cross_agreement may build.
_CROSS_CELLS = 50_000_000
_LABEL = "_group"
_REASON = "interval_undefined_reason"


def cross_of(
    frame: pl.DataFrame, by: list[str], n_resamples: int, seed: int, confidence: float
) -> pl.DataFrame:
    """:func:`cross_agreement` of picks already read by
    :func:`~community_alignment.agreement.picks.load_picks`."""
    if len(by) == 1:
        frame = frame.with_columns(pl.col(by[0]).alias(_LABEL))
    else:
        frame = frame.with_columns(
            pl.concat_str(
                [pl.col(c).cast(pl.String).fill_null("null") for c in by], separator="/"
            ).alias(_LABEL)
        )
    groups = frame.select(pl.col(_LABEL).unique().sort(nulls_last=True)).to_series()
    n_groups = groups.len()
    counted = counts_per_unit(frame, [_LABEL]).with_columns(
        (pl.col(ITEM).rank("dense") - 1).cast(pl.Int64).alias("_unit"),
        (pl.col(_LABEL).rank("dense") - 1).cast(pl.Int64).fill_null(n_groups - 1).alias("_g"),
    )
    n_units = int(counted["_unit"].max()) + 1
    if n_units * n_groups * n_groups > _CROSS_CELLS:
        raise ValueError(
            f"cross agreement over {n_groups} groups and {n_units} units is too large; "
            "group by a column with fewer values"
        )
    tensor = np.zeros((n_units, n_groups, len(choices())), dtype=np.int64)
    tensor[counted["_unit"].to_numpy(), counted["_g"].to_numpy()] = counted.select(
        count_columns()
    ).to_numpy()
    tensor = tensor[tensor.sum(axis=(1, 2)) >= 2]  # units with one pick pair nothing
    per_group = tensor.sum(axis=2)  # units x groups

    # Per unit and pair of groups: agreeing pairs and pairs. On the diagonal, pairs of distinct
    # picks: sum n_c (n_c - 1) and n (n - 1), halved to unordered pairs below.
    diagonal = np.eye(n_groups, dtype=bool)
    agree_u = np.einsum("ugc,uhc->ugh", tensor, tensor)
    pairs_u = per_group[:, :, None] * per_group[:, None, :]
    agree_u[:, diagonal] -= per_group
    pairs_u[:, diagonal] -= per_group
    first, second = np.triu_indices(n_groups)
    halve = np.where(first == second, 2, 1)
    agree_u = agree_u[:, first, second] // halve
    pairs_u = pairs_u[:, first, second] // halve
    both = (per_group[:, first] > 0) & (per_group[:, second] > 0)
    present = np.where(first == second, per_group[:, first] >= 2, both)

    pairs = pairs_u.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.where(pairs > 0, agree_u.sum(axis=0) / pairs, np.nan)
    record: dict[str, Any] = {
        "units": present.sum(axis=0).astype(np.int64),
        "pairs": pairs.astype(np.int64),
        "agreement": estimate,
    }
    if n_resamples:
        if tensor.shape[0]:
            terms = np.concatenate([agree_u, pairs_u], axis=1).astype(np.float64)
            sums = resampled_sums(terms, n_resamples, seed)
            with np.errstate(divide="ignore", invalid="ignore"):
                draws = sums[:, : len(first)] / sums[:, len(first) :]
        else:
            draws = np.full((n_resamples, len(first)), np.nan)
        units = record["units"]
        bounds = [unit_interval(draws[:, k], confidence, int(units[k])) for k in range(len(first))]
        record["agreement_low"] = np.array([b[0] for b in bounds], dtype=np.float64)
        record["agreement_high"] = np.array([b[1] for b in bounds], dtype=np.float64)
        record[_REASON] = np.array([b[2] for b in bounds], dtype=object)

    # Both orders of every pair, so the result pivots into a symmetric matrix.
    order = np.concatenate([np.arange(len(first)), np.flatnonzero(first != second)])
    group_a = np.concatenate([first, second[first != second]])
    group_b = np.concatenate([second, first[first != second]])
    result = pl.DataFrame(
        {
            "group_a": groups.gather(group_a),
            "group_b": groups.gather(group_b),
            **{name: values[order] for name, values in record.items() if name != _REASON},
        }
    )
    if _REASON in record:
        reasons = record[_REASON][order].tolist()
        result = result.with_columns(pl.Series(_REASON, reasons, dtype=pl.String))
    index = pl.DataFrame({"_a": group_a, "_b": group_b})
    return pl.concat([result, index], how="horizontal").sort("_a", "_b").drop("_a", "_b")


def cross_agreement(
    source: Source,
    by: str | Sequence[str],
    *,
    n_resamples: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    pregenerated_only: bool = False,
    balanced_10_only: bool = False,
    turn: int | None = None,
) -> pl.DataFrame:
    """Agreement between the picks of two groups on the same units, for every pair of groups.

    For groups g != h: ``sum_c n_gc n_hc / sum n_g n_h``, pooled over the units where both
    groups have picks, i.e. the share of agreeing (g pick, h pick) pairs. For g == h: the
    within-group pooled pairwise agreement (pairs of distinct picks; the ``pairwise_pooled`` of
    :func:`~community_alignment.agreement.agreement` with the same ``by``). An annotator's
    repeated picks on a unit count once (:func:`community_alignment.inputs.first_picks`), so no
    pair joins an annotator with themselves.

    Columns ``group_a``, ``group_b`` (every ordered pair, g == h included; (g, h) and (h, g)
    carry the same numbers), ``units`` (units that contribute a pair), ``pairs`` (unordered
    pairs of picks) and ``agreement`` (NaN when there is no pair). With several ``by`` columns the
    group names are their values joined by ``/``. With ``n_resamples > 0``, ``agreement_low`` /
    ``agreement_high``: percentile intervals from one bootstrap over units (all pairs of groups
    computed on the same resampled units, seeded with ``numpy.random.default_rng(seed)``), and
    ``interval_undefined_reason``: null, or why a pair with fewer than two units has no interval
    (NaN bounds; :func:`community_alignment.bootstrap.unit_interval`).

    Unit x: us picks a, a; fr picks b, b. Unit y: us picks c; fr picks c.

    >>> import polars as pl
    >>> frame = pl.DataFrame({
    ...     "item_id": ["x", "x", "x", "x", "y", "y"],
    ...     "annotator_id": ["1", "2", "3", "4", "1", "3"],
    ...     "country": ["us", "us", "fr", "fr", "us", "fr"],
    ...     "choice": ["a", "a", "b", "b", "c", "c"],
    ... })
    >>> cross_agreement(frame, "country").rows()   # fr-us: 1 agreeing pair (on y) of 4 + 1
    [('fr', 'fr', 1, 1, 1.0), ('fr', 'us', 2, 5, 0.2), ('us', 'fr', 2, 5, 0.2), ('us', 'us', 1, 1, 1.0)]
    """  # noqa: E501
    check_parameters(n_resamples, confidence)
    columns = group_columns(by)
    if not columns:
        raise ValueError("cross_agreement needs a by column, e.g. by='country'")
    frame = load_picks(
        source,
        by=columns,
        pregenerated_only=pregenerated_only,
        balanced_10_only=balanced_10_only,
        turn=turn,
    )
    return cross_of(frame, columns, n_resamples, seed, confidence)
