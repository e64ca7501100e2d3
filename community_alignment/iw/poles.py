"""The Inglehart-Welzel map's poles and axes, the pole of a response from its scores, and the
columns of the comparisons table the IW analyses read."""

from __future__ import annotations

import re

import polars as pl

__all__ = [
    "ANNOTATOR",
    "AXES",
    "AXIS_POLES",
    "CHOICE",
    "COMPARISON",
    "COUNTRY",
    "ITEM",
    "LLM_DEFAULT_CORNER",
    "LLM_DEFAULT_POLES",
    "NON_DEFAULT_POLES",
    "POLES",
    "POLE_COLUMNS",
    "RESPONSES",
    "normalise_pole",
    "pole_of_scores",
    "pole_of_scores_expr",
]

POLES: tuple[str, ...] = ("traditional", "secular-rational", "survival", "self-expression")
"""The four poles of the Inglehart-Welzel map, the only values a label's ``pole`` may take."""

AXES: tuple[str, str] = ("traditional_secular", "survival_self_expression")
"""The two score columns; positive means secular-rational and self-expression."""

AXIS_POLES: dict[str, tuple[str, str]] = {
    AXES[0]: (POLES[0], POLES[1]),
    AXES[1]: (POLES[2], POLES[3]),
}
"""Per axis, its (negative, positive) pole."""

LLM_DEFAULT_POLES: tuple[str, ...] = (AXIS_POLES[AXES[0]][1], AXIS_POLES[AXES[1]][1])
"""Where the paper found the responses of every LLM it tested: secular-rational, self-expression."""

NON_DEFAULT_POLES: tuple[str, ...] = tuple(p for p in POLES if p not in LLM_DEFAULT_POLES)

LLM_DEFAULT_CORNER: tuple[float, float] = (1.0, 1.0)
"""The LLM-default corner in score space (both scores at their positive end)."""

POLE_COLUMNS: dict[str, str] = {pole: pole.replace("-", "_") for pole in POLES}
"""Column name of each pole in the summary tables."""

ITEM = "item_id"
CHOICE = "choice"
ANNOTATOR = "annotator_id"
COMPARISON = "comparison_id"
RESPONSES = "responses"
COUNTRY = "country"


def pole_of_scores(traditional_secular: float, survival_self_expression: float) -> str | None:
    """The pole of the axis with the larger absolute score; None on a tie (0, 0 included).

    >>> pole_of_scores(0.1, -0.4), pole_of_scores(0.8, 0.5), pole_of_scores(0.3, -0.3)
    ('survival', 'secular-rational', None)
    """
    ts, sse = abs(traditional_secular), abs(survival_self_expression)
    if ts == sse:
        return None
    axis, score = (
        (AXES[0], traditional_secular) if ts > sse else (AXES[1], survival_self_expression)
    )
    return AXIS_POLES[axis][score > 0]


def pole_of_scores_expr() -> pl.Expr:
    """:func:`pole_of_scores` as a polars expression over the two score columns."""
    ts, sse = pl.col(AXES[0]), pl.col(AXES[1])
    (trad, secular), (survival, expression) = AXIS_POLES[AXES[0]], AXIS_POLES[AXES[1]]
    return (
        pl.when(ts.abs() > sse.abs())
        .then(pl.when(ts > 0).then(pl.lit(secular)).otherwise(pl.lit(trad)))
        .when(sse.abs() > ts.abs())
        .then(pl.when(sse > 0).then(pl.lit(expression)).otherwise(pl.lit(survival)))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def normalise_pole(value: str) -> str:
    """``Secular_Rational`` and ``self expression`` name poles too."""
    return re.sub(r"[\s_]+", "-", value.strip().lower())
