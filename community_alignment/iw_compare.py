"""Two IW labellings side by side: judge against judge, or a judge against true labels.

:func:`compare_labels` takes the responses both label (by ``response_key``) and gives, per
axis, the Pearson and Spearman correlation of the scores; the share of responses given the
same pole (a judge's accuracy when the other labelling is the truth, e.g. the generator's
``builder/sample/iw_labels.csv`` for the sample) with Cohen's kappa; and the confusion table of
poles.

>>> import polars as pl
>>> a = pl.DataFrame({"response_key": ["000000000000000a", "000000000000000b"],
...                   "pole": ["traditional", "survival"], "labeller": ["x", "x"]})
>>> b = a.with_columns(pl.lit("y").alias("labeller"))
>>> result = compare_labels(a, b)
>>> result.common, result.pole_agreement
(2, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from community_alignment.iw import AXES, POLES, Labels, load_labels

__all__ = ["LabelComparison", "compare_labels"]

NO_POLE = "none"
"""The confusion table's name for a label without a pole (scores that tie)."""


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank.

    >>> _ranks(np.array([0.5, 0.1, 0.5])).tolist()
    [2.5, 1.0, 2.5]
    """
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


@dataclass(frozen=True)
class LabelComparison:
    """Two labellings on the responses both label.

    ``axes``: per axis, ``scored`` (responses both score), ``pearson``, ``spearman``,
    ``mean_a``, ``mean_b`` and ``mean_abs_difference`` (NaN where fewer than two scores, or
    scores all equal, leave no correlation). ``pole_agreement``: the share of responses both
    give a pole that get the same pole, over ``with_pole`` of them; ``kappa``: Cohen's kappa
    of those poles. ``confusion``: counts, one row per pole of A (``pole_a``), one column per
    pole of B, with :data:`NO_POLE` for a label without one.
    """

    labellers_a: list[str]
    labellers_b: list[str]
    common: int
    only_a: int
    only_b: int
    axes: pl.DataFrame
    with_pole: int
    pole_agreement: float
    kappa: float
    confusion: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            return None if isinstance(value, float) and math.isnan(value) else value

        return {
            "labellers_a": self.labellers_a,
            "labellers_b": self.labellers_b,
            "common": self.common,
            "only_a": self.only_a,
            "only_b": self.only_b,
            "axes": [{k: clean(v) for k, v in row.items()} for row in self.axes.to_dicts()],
            "with_pole": self.with_pole,
            "pole_agreement": clean(self.pole_agreement),
            "kappa": clean(self.kappa),
            "confusion": self.confusion.to_dicts(),
        }

    def render(self) -> str:
        """The comparison as text, for the command line."""

        def cell(value: Any) -> str:
            if isinstance(value, float):
                return "n/a" if math.isnan(value) else f"{value:.3f}"
            return str(value)

        lines = [
            f"A: {', '.join(self.labellers_a)}; B: {', '.join(self.labellers_b)}",
            f"responses labelled by both: {self.common} (only A: {self.only_a}, only B: "
            f"{self.only_b})",
            "",
            _table(self.axes, cell),
            "",
            f"same pole: {cell(self.pole_agreement)} of {self.with_pole} responses with a pole "
            f"in both (the accuracy of A when B is the truth); Cohen's kappa {cell(self.kappa)}",
            "",
            "poles of A (rows) against poles of B (columns)",
            _table(self.confusion, cell),
        ]
        return "\n".join(lines)


def _table(frame: pl.DataFrame, cell) -> str:
    rows = [[cell(v) for v in row] for row in frame.iter_rows()]
    widths = [
        max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
        for i, c in enumerate(frame.columns)
    ]
    lines = [frame.columns, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in lines
    )


def _as_labels(labels: Labels | pl.DataFrame | str | Path) -> Labels:
    return labels if isinstance(labels, Labels) else load_labels(labels)


def _kappa(a: Sequence[str], b: Sequence[str]) -> float:
    n = len(a)
    if n == 0:
        return math.nan
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    categories = set(a) | set(b)
    expected = sum((a.count(c) / n) * (b.count(c) / n) for c in categories)
    return math.nan if expected == 1.0 else (observed - expected) / (1.0 - expected)


def compare_labels(
    a: Labels | pl.DataFrame | str | Path, b: Labels | pl.DataFrame | str | Path
) -> LabelComparison:
    """Set labelling ``a`` beside labelling ``b`` on the responses both label.

    Each is a :class:`~community_alignment.iw.Labels`, a polars DataFrame or a labels file
    (checked by :func:`~community_alignment.iw.load_labels`). Raises ``ValueError`` when they
    share no response.
    """
    left, right = _as_labels(a).frame, _as_labels(b).frame
    both = left.join(right, on="response_key", how="inner", suffix="_b")
    if both.height == 0:
        raise ValueError(
            f"the two labellings share no response_key ({left.height} and {right.height} "
            "labels): were they made for the same corpus?"
        )
    axes = []
    for axis in AXES:
        scored = both.filter(pl.col(axis).is_not_null() & pl.col(f"{axis}_b").is_not_null())
        x = scored[axis].to_numpy().astype(np.float64)
        y = scored[f"{axis}_b"].to_numpy().astype(np.float64)
        axes.append(
            {
                "axis": axis,
                "scored": scored.height,
                "pearson": _pearson(x, y),
                "spearman": _pearson(_ranks(x), _ranks(y)) if len(x) else math.nan,
                "mean_a": float(x.mean()) if len(x) else math.nan,
                "mean_b": float(y.mean()) if len(y) else math.nan,
                "mean_abs_difference": float(np.abs(x - y).mean()) if len(x) else math.nan,
            }
        )
    poles = both.select(
        pl.col("pole").fill_null(NO_POLE).alias("pole_a"),
        pl.col("pole_b").fill_null(NO_POLE),
    )
    with_poles = poles.filter((pl.col("pole_a") != NO_POLE) & (pl.col("pole_b") != NO_POLE))
    pa, pb = with_poles["pole_a"].to_list(), with_poles["pole_b"].to_list()
    names = [*POLES, NO_POLE]
    counts = {(x, y): 0 for x in names for y in names}
    for x, y in poles.iter_rows():
        counts[(x, y)] += 1
    confusion = pl.DataFrame(
        {"pole_a": names, **{y: [counts[(x, y)] for x in names] for y in names}}
    )
    return LabelComparison(
        labellers_a=sorted(left["labeller"].unique().to_list()),
        labellers_b=sorted(right["labeller"].unique().to_list()),
        common=both.height,
        only_a=left.height - both.height,
        only_b=right.height - both.height,
        axes=pl.DataFrame(axes),
        with_pole=len(pa),
        pole_agreement=sum(x == y for x, y in zip(pa, pb, strict=True)) / len(pa)
        if pa
        else math.nan,
        kappa=_kappa(pa, pb),
        confusion=confusion,
    )
