"""Inter-annotator agreement on the ``comparisons`` table of a Community Alignment release.

A *unit* is one ``item_id``: the same context, prompt and four candidates in the same order.
Each comparison is one *pick* on a unit, a nominal value in the choice vocabulary
(``a``..``d``, stored as the ClassLabel integers 0..3). Units differ in how many picks they
have; units with fewer than two picks carry no agreement information and are left out of
every agreement statistic (they still count in ``picks`` and in the position-bias shares).

Statistics (per group, or overall):

* Krippendorff's alpha, nominal, computed from the coincidence matrix over units with at least
  two picks (the same number as ``krippendorff.alpha(value_counts=M,
  level_of_measurement="nominal")``). When it is undefined (no unit with two picks, or every
  paired pick is the same choice so the expected disagreement is 0) it is NaN and
  ``alpha_undefined_reason`` says why.
* Pairwise agreement: the share of pairs of distinct picks on the same unit that agree,
  pooled over all pairs of all units (MT-bench) and averaged over units, with two chance
  baselines: 0.25 (uniform) and ``sum p_c**2`` (``p_c`` the choice shares of the paired picks).
* Leave-one-out majority agreement (AlpacaEval): whether a pick equals the plurality of the
  other picks on its unit, a tie among ``k`` values counting ``1/k``.
* Choice entropy per unit (bits; at most 2 with four candidates): median and mean.
* Position bias: the share of each choice among all picks, singletons included.
* Bootstrap percentile intervals that resample units (not picks), vectorised
  (:mod:`community_alignment.bootstrap`).

One annotator, one pick per unit: if an annotator picked more than once on the same unit
(the same pregenerated first prompt met twice), only the pick with the smallest
``comparison_id`` (row order when there is no such column) is kept, with a warning, so that no
statistic ever pairs an annotator with themselves.

>>> import polars as pl
>>> frame = pl.DataFrame({
...     "item_id": ["x", "x", "x", "y", "y", "z"],
...     "annotator_id": ["1", "2", "3", "1", "2", "3"],
...     "choice": ["a", "a", "b", "c", "c", "d"],
... })
>>> row = agreement(frame).row(0, named=True)
>>> row["picks"], row["units"], row["pairs"]   # z is a singleton unit
(6, 2, 4)
>>> row["pairwise_pooled"]   # x: 1 agreeing pair of 3, y: 1 of 1
0.5
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from community_alignment import schema
from community_alignment.bootstrap import check_parameters, interval, resampled_sums
from community_alignment.inputs import Source, as_lazyframe, choice_codes, first_picks

__all__ = [
    "Pairwise",
    "agreement",
    "cross_agreement",
    "entropy_bits",
    "krippendorff_alpha_nominal",
    "loo_majority",
    "pairwise_agreement",
    "register_cli",
    "unit_counts",
]

ITEM = "item_id"
CHOICE = "choice"
ANNOTATOR = "annotator_id"
COMPARISON = "comparison_id"
PREGENERATED = "is_pregenerated_first_prompt"
BALANCED_10 = "in_balanced_subset_10"
TURN = "turn"

REASON_NO_PAIRS = "no unit has two or more picks, so no two picks can be compared"
REASON_ONE_CATEGORY = (
    "every pick on a unit with two or more picks is the same choice, "
    "so the expected disagreement is 0"
)

# Cells of the units x groups x groups array cross_agreement may build.
_CROSS_CELLS = 50_000_000
_CODE = "_choice_code"
_LABEL = "_group"


@cache
def _choices() -> tuple[str, ...]:
    return tuple(schema.codes("choice"))


# --------------------------------------------------------------------------------------------
# Pure functions on a units x categories count matrix
# --------------------------------------------------------------------------------------------


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


def _pairable(counts: np.ndarray) -> np.ndarray:
    return counts[counts.sum(axis=1) >= 2]


def _loo_credit(counts: np.ndarray) -> np.ndarray:
    """Per unit, the summed leave-one-out majority credit of its picks (units with >= 2 picks)."""
    categories = counts.shape[1]
    # others[u, c, k]: picks of k on unit u once one pick of c is left out.
    others = counts[:, None, :] - np.eye(categories, dtype=np.int64)[None, :, :]
    tied = others == others.max(axis=2, keepdims=True)
    credit = np.diagonal(tied, axis1=1, axis2=2) / tied.sum(axis=2)
    return (counts * credit).sum(axis=1)


def _unit_terms(pairable: np.ndarray) -> np.ndarray:
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


def _statistics(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alpha, pooled pairwise and LOO majority from summed unit terms (rows: resamples)."""
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
    pairable = _pairable(_as_counts(counts))
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
    pairable = _pairable(_as_counts(counts))
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
    pairable = _pairable(_as_counts(counts))
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


# --------------------------------------------------------------------------------------------
# Reading and checking a comparisons table
# --------------------------------------------------------------------------------------------


def _columns(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    names = [by] if isinstance(by, str) else list(by)
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"by must be a column name or a list of column names, got {by!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"by names a column twice: {names}")
    if CHOICE in names:
        raise ValueError("cannot group by choice: agreement is measured on the choice")
    if ITEM in names:
        raise ValueError("cannot group by item_id: it is the unit agreement is measured on")
    return names


def _filters(
    pregenerated_only: bool, balanced_10_only: bool, turn: int | None
) -> list[tuple[str, str, pl.Expr]]:
    """(column, description, predicate) of the active filters."""
    active = []
    if pregenerated_only:
        active.append((PREGENERATED, "pregenerated_only=True", pl.col(PREGENERATED)))
    if balanced_10_only:
        active.append((BALANCED_10, "balanced_10_only=True", pl.col(BALANCED_10)))
    if turn is not None:
        if isinstance(turn, bool) or not isinstance(turn, (int, np.integer)):
            raise ValueError(f"turn must be an integer, got {turn!r}")
        active.append((TURN, f"turn={int(turn)}", pl.col(TURN) == int(turn)))
    return active


def _load(
    source: Source,
    *,
    by: list[str],
    pregenerated_only: bool = False,
    balanced_10_only: bool = False,
    turn: int | None = None,
    require_annotator: bool = True,
) -> pl.DataFrame:
    """The checked picks: ``item_id``, the choice code (0..3), ``annotator_id``, the ``by`` columns.

    Reads only the columns it needs and collects once.
    """
    filters = _filters(pregenerated_only, balanced_10_only, turn)
    required = [ITEM, CHOICE] + ([ANNOTATOR] if require_annotator else [])
    required += [c for c in by if c not in required]
    required += [c for c, _, _ in filters if c not in required]
    optional = [c for c in (ANNOTATOR, COMPARISON) if c not in required]
    lazy = as_lazyframe(source, required + optional)
    table_schema = lazy.collect_schema()
    missing = [c for c in required if c not in table_schema]
    if missing:
        raise ValueError(
            f"the comparisons table lacks column(s) needed for agreement: {', '.join(missing)} "
            f"(it has: {', '.join(table_schema.names()) or 'no columns'})"
        )
    for column, _, _ in filters:
        if column != TURN and table_schema[column] != pl.Boolean:
            raise ValueError(f"{column} must be a boolean column, got {table_schema[column]}")
    selected = required + [c for c in optional if c in table_schema]
    narrowed = lazy.select(selected)
    for _, _, predicate in filters:
        narrowed = narrowed.filter(predicate)
    frame = narrowed.collect()

    if frame.height == 0:
        if not filters:
            raise ValueError("the comparisons table has no rows")
        before = lazy.select(pl.len()).collect().item()
        raise ValueError(
            "no comparisons left after filtering by "
            + ", ".join(description for _, description, _ in filters)
            + f" ({before} rows before filtering)"
        )
    for column in [c for c in (ITEM, ANNOTATOR) if c in frame.columns]:
        nulls = frame[column].null_count()
        if nulls:
            raise ValueError(f"{nulls} comparisons have a null {column}")

    frame = frame.with_columns(choice_codes(frame[CHOICE]).alias(_CODE)).drop(CHOICE)
    if ANNOTATOR in frame.columns:
        frame = first_picks(frame, stacklevel=5)
    return frame


def _count_columns() -> list[str]:
    return [f"_n{k}" for k in range(len(_choices()))]


def _counted(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Picks of each choice per (keys..., item_id), sorted so that results never depend on row
    order."""
    counted = frame.group_by([*keys, ITEM]).agg(
        [
            (pl.col(_CODE) == k).sum().cast(pl.Int64).alias(name)
            for k, name in enumerate(_count_columns())
        ]
    )
    return counted.sort([*keys, ITEM], nulls_last=True)


def unit_counts(frame: Source) -> tuple[pl.Series, np.ndarray]:
    """Item ids (sorted) and their picks of each choice, a units x 4 integer matrix.

    ``frame`` needs ``item_id`` and ``choice`` (ClassLabel integers or letters); it can be
    anything :func:`agreement` accepts. Every unit with a pick is included, singletons too.
    An annotator's repeated picks on a unit count once when ``annotator_id`` is present.

    >>> import polars as pl
    >>> ids, counts = unit_counts(pl.DataFrame({"item_id": ["y", "x", "y"], "choice": [3, 0, 3]}))
    >>> ids.to_list(), counts.tolist()
    (['x', 'y'], [[1, 0, 0, 0], [0, 0, 0, 2]])
    """
    counted = _counted(_load(frame, by=[], require_annotator=False), [])
    return counted[ITEM], counted.select(_count_columns()).to_numpy().astype(np.int64)


# --------------------------------------------------------------------------------------------
# agreement()
# --------------------------------------------------------------------------------------------


def _summary(counts: np.ndarray, n_resamples: int, seed: int, confidence: float) -> dict:
    """Every statistic of one group from its units x 4 count matrix (singletons included)."""
    letters = _choices()
    picks = int(counts.sum())
    pairable = _pairable(counts)
    row: dict[str, Any] = {"picks": picks, "units": int(pairable.shape[0])}
    nan = math.nan
    if pairable.shape[0]:
        terms = _unit_terms(pairable)
        alpha, pooled, loo = (float(s[0]) for s in _statistics(terms.sum(axis=0)[None, :]))
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
        if terms is None:
            draws = [np.full(n_resamples, nan)] * 3
        else:
            draws = _statistics(resampled_sums(terms, n_resamples, seed))
        for name, values in zip(("alpha", "pairwise_pooled", "loo_majority"), draws, strict=True):
            row[f"{name}_low"], row[f"{name}_high"] = interval(values, confidence)
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
        *estimate("pairwise_pooled"),
        "pairwise_unit_mean",
        "chance_uniform",
        "chance_marginal",
        *estimate("loo_majority"),
        "entropy_median",
        "entropy_mean",
        *(f"share_{letter}" for letter in _choices()),
    ]


def _agreement_of(
    frame: pl.DataFrame, by: list[str], n_resamples: int, seed: int, confidence: float
) -> pl.DataFrame:
    counted = _counted(frame, by)
    parts = counted.partition_by(by, maintain_order=True) if by else [counted]
    columns = _agreement_columns(n_resamples > 0)
    rows = [
        _summary(
            part.select(_count_columns()).to_numpy().astype(np.int64),
            n_resamples,
            seed,
            confidence,
        )
        for part in parts
    ]
    dtypes = {"picks": pl.Int64, "units": pl.Int64, "pairs": pl.Int64}
    dtypes["alpha_undefined_reason"] = pl.String
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
    out of its interval.

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
    columns = _columns(by)
    frame = _load(
        source,
        by=columns,
        pregenerated_only=pregenerated_only,
        balanced_10_only=balanced_10_only,
        turn=turn,
    )
    return _agreement_of(frame, columns, n_resamples, seed, confidence)


# --------------------------------------------------------------------------------------------
# cross_agreement()
# --------------------------------------------------------------------------------------------


def _cross_of(
    frame: pl.DataFrame, by: list[str], n_resamples: int, seed: int, confidence: float
) -> pl.DataFrame:
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
    counted = _counted(frame, [_LABEL]).with_columns(
        (pl.col(ITEM).rank("dense") - 1).cast(pl.Int64).alias("_unit"),
        (pl.col(_LABEL).rank("dense") - 1).cast(pl.Int64).fill_null(n_groups - 1).alias("_g"),
    )
    n_units = int(counted["_unit"].max()) + 1
    if n_units * n_groups * n_groups > _CROSS_CELLS:
        raise ValueError(
            f"cross agreement over {n_groups} groups and {n_units} units is too large; "
            "group by a column with fewer values"
        )
    tensor = np.zeros((n_units, n_groups, len(_choices())), dtype=np.int64)
    tensor[counted["_unit"].to_numpy(), counted["_g"].to_numpy()] = counted.select(
        _count_columns()
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
        bounds = np.array([interval(draws[:, k], confidence) for k in range(len(first))])
        record["agreement_low"] = bounds[:, 0] if len(first) else np.array([])
        record["agreement_high"] = bounds[:, 1] if len(first) else np.array([])

    # Both orders of every pair, so the result pivots into a symmetric matrix.
    order = np.concatenate([np.arange(len(first)), np.flatnonzero(first != second)])
    group_a = np.concatenate([first, second[first != second]])
    group_b = np.concatenate([second, first[first != second]])
    result = pl.DataFrame(
        {
            "group_a": groups.gather(group_a),
            "group_b": groups.gather(group_b),
            **{name: values[order] for name, values in record.items()},
        }
    )
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
    :func:`agreement` with the same ``by``). An annotator's repeated picks on a unit count once
    (see the module docstring), so no pair joins an annotator with themselves.

    Columns ``group_a``, ``group_b`` (every ordered pair, g == h included; (g, h) and (h, g)
    carry the same numbers), ``units`` (units that contribute a pair), ``pairs`` (unordered
    pairs of picks) and ``agreement`` (NaN when there is no pair). With several ``by`` columns the
    group names are their values joined by ``/``. With ``n_resamples > 0``, ``agreement_low`` /
    ``agreement_high``: percentile intervals from one bootstrap over units (all pairs of groups
    computed on the same resampled units, seeded with ``numpy.random.default_rng(seed)``).

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
    columns = _columns(by)
    if not columns:
        raise ValueError("cross_agreement needs a by column, e.g. by='country'")
    frame = _load(
        source,
        by=columns,
        pregenerated_only=pregenerated_only,
        balanced_10_only=balanced_10_only,
        turn=turn,
    )
    return _cross_of(frame, columns, n_resamples, seed, confidence)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _column_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected one or more comma-separated column names")
    return names


def register_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``agreement`` subcommand to the ``community-alignment`` command."""
    parser = subparsers.add_parser(
        "agreement",
        help="inter-annotator agreement (Krippendorff's alpha, pairwise, LOO majority)",
        description=(
            "Agreement between annotators who picked on the same unit (item_id): Krippendorff's "
            "alpha (nominal), pairwise agreement, leave-one-out majority agreement, choice "
            "entropy and position bias, with bootstrap intervals over units."
        ),
    )
    parser.add_argument("source", help="release folder or hf://datasets/ORG/NAME path")
    parser.add_argument(
        "--by",
        type=_column_list,
        default=None,
        metavar="COLUMN[,COLUMN]",
        help="group by these columns, e.g. country or country,language",
    )
    parser.add_argument(
        "--cross",
        type=_column_list,
        default=None,
        metavar="COLUMN[,COLUMN]",
        help="also print agreement between every pair of groups of these columns",
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=0,
        metavar="N",
        help="bootstrap resamples of units for confidence intervals (default: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="interval coverage (default: 0.95)"
    )
    parser.add_argument(
        "--pregenerated-only",
        action="store_true",
        help="only conversations whose first prompt was pregenerated",
    )
    parser.add_argument(
        "--balanced-10",
        action="store_true",
        help="only the prompt-overlap subset (in_balanced_subset_10)",
    )
    parser.add_argument("--turn", type=int, default=None, metavar="N", help="only turn N")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(run=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    by = args.by or []
    cross = args.cross or []
    check_parameters(args.resamples, args.confidence)
    _columns(by)
    if args.cross is not None:
        _columns(cross)
    frame = _load(
        args.source,
        by=list(dict.fromkeys(by + cross)),
        pregenerated_only=args.pregenerated_only,
        balanced_10_only=args.balanced_10,
        turn=args.turn,
    )
    table = _agreement_of(frame, by, args.resamples, args.seed, args.confidence)
    crossed = _cross_of(frame, cross, args.resamples, args.seed, args.confidence) if cross else None
    filters = {
        "pregenerated_only": args.pregenerated_only,
        "balanced_10_only": args.balanced_10,
        "turn": args.turn,
    }
    if args.json:
        output: dict[str, Any] = {
            "source": str(args.source),
            "by": by,
            "filters": filters,
            "n_resamples": args.resamples,
            "seed": args.seed,
            "confidence": args.confidence,
            "agreement": _records(table),
        }
        if crossed is not None:
            output["cross_by"] = cross
            output["cross"] = _records(crossed)
        print(json.dumps(output, indent=2, ensure_ascii=False))
        return 0
    active = [f"{k}={v}" for k, v in filters.items() if v not in (False, None)]
    print(f"Agreement in {args.source}" + (f" ({', '.join(active)})" if active else ""))
    if args.resamples:
        print(
            f"intervals: {args.confidence:.0%} bootstrap percentile over units, "
            f"{args.resamples} resamples, seed {args.seed}"
        )
    print()
    print(_render_agreement(table, by))
    if crossed is not None:
        print()
        print(f"Cross-group pairwise agreement by {', '.join(cross)} (each pair once)")
        print(_render_cross(crossed))
    return 0


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    def clean(value: Any) -> Any:
        return None if isinstance(value, float) and math.isnan(value) else value

    return [{k: clean(v) for k, v in row.items()} for row in frame.to_dicts()]


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _with_interval(row: dict[str, Any], name: str) -> str:
    text = _number(row[name])
    if f"{name}_low" in row:
        text += f" [{_number(row[f'{name}_low'])}, {_number(row[f'{name}_high'])}]"
    return text


def _render(headers: list[str], rows: list[list[str]], numeric_from: int) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i >= numeric_from else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _render_agreement(table: pl.DataFrame, by: list[str]) -> str:
    letters = _choices()
    headers = [
        *by,
        "picks",
        "units",
        "pairs",
        "alpha",
        "pairwise",
        "unit mean",
        "chance",
        "LOO majority",
        "H median",
        "H mean",
        *letters,
    ]
    rows, notes = [], []
    for row in table.to_dicts():
        label = [_number(row[c]) if row[c] is not None else "null" for c in by]
        if row["alpha_undefined_reason"] is not None:
            notes.append(f"alpha {'/'.join(label) or 'overall'}: {row['alpha_undefined_reason']}")
        rows.append(
            [
                *label,
                str(row["picks"]),
                str(row["units"]),
                str(row["pairs"]),
                _with_interval(row, "alpha"),
                _with_interval(row, "pairwise_pooled"),
                _number(row["pairwise_unit_mean"]),
                _number(row["chance_marginal"]),
                _with_interval(row, "loo_majority"),
                _number(row["entropy_median"]),
                _number(row["entropy_mean"]),
                *(_number(row[f"share_{letter}"]) for letter in letters),
            ]
        )
    legend = [
        "Agreement statistics use units (item_id) with two or more picks.",
        "pairwise: agreeing share of all pairs of picks on a unit (pooled); unit mean: "
        "averaged over units;",
        "chance: sum of squared choice shares of the paired picks (uniform chance: "
        f"{1 / len(letters):.3f}); H: choice entropy of a unit in bits;",
        f"{letters[0]}..{letters[-1]}: share of all picks, singletons included (position bias).",
    ]
    return "\n".join([_render(headers, rows, len(by)), "", *legend, *notes])


def _render_cross(crossed: pl.DataFrame) -> str:
    headers = ["group a", "group b", "units", "pairs", "agreement"]
    rows = []
    seen: set[tuple[Any, Any]] = set()
    for row in crossed.to_dicts():
        key = (row["group_a"], row["group_b"])
        if (key[1], key[0]) in seen:
            continue
        seen.add(key)
        rows.append(
            [
                "null" if key[0] is None else str(key[0]),
                "null" if key[1] is None else str(key[1]),
                str(row["units"]),
                str(row["pairs"]),
                _with_interval(row, "agreement"),
            ]
        )
    return _render(headers, rows, 2)
