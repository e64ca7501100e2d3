"""How the library writes numbers for people and for JSON: one place for "n/a", decimals,
shares, values with their intervals and plain-text tables.

A value is *missing* when it is None or a float NaN; every formatter writes it as ``n/a`` and
:func:`json_ready` writes it as null.

>>> number(0.14449), number(7), number(float("nan"))
('0.144', '7', 'n/a')
>>> print(text_table(["group", "value"], [["us", "0.500"], ["fr", "12.250"]], left=1))
group   value
-----  ------
us      0.500
fr     12.250
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

__all__ = [
    "MISSING",
    "bounds",
    "count",
    "interval_notes",
    "decimal",
    "json_ready",
    "missing",
    "number",
    "plain",
    "records",
    "share",
    "text_table",
    "with_interval",
]

MISSING = "n/a"
"""What a table shows for a missing value."""


def missing(value: Any) -> bool:
    """Whether ``value`` is None or a float NaN.

    >>> missing(None), missing(float("nan")), missing(0.0), missing("")
    (True, True, False, False)
    """
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any, digits: int = 3) -> str:
    """A float with ``digits`` decimals, anything else as ``str``; ``n/a`` when missing.

    >>> number(2 / 3), number(2 / 3, 2), number("us"), number(None)
    ('0.667', '0.67', 'us', 'n/a')
    """
    if missing(value):
        return MISSING
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def decimal(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals, integers included.

    >>> decimal(0.14449), decimal(-0.0001), decimal(None)
    ('0.144', '-0.000', 'n/a')
    """
    return MISSING if missing(value) else f"{value:.{digits}f}"


def share(value: Any) -> str:
    """A share as a percentage with one decimal.

    >>> share(0.41234), share(float("nan"))
    ('41.2%', 'n/a')
    """
    return MISSING if missing(value) else f"{value:.1%}"


def count(value: Any) -> str:
    """A count with thousands separators.

    >>> count(1234), count(None)
    ('1,234', 'n/a')
    """
    return MISSING if missing(value) else f"{int(value):,}"


def plain(value: Any) -> str:
    """A number in its shortest form (``:g``).

    >>> plain(3.0), plain(2.5), plain(float("nan"))
    ('3', '2.5', 'n/a')
    """
    return MISSING if missing(value) else f"{value:g}"


def bounds(low: Any, high: Any, digits: int = 3) -> str:
    """An interval as ``[low, high]``, each bound as :func:`number` writes it.

    >>> bounds(0.25, 0.75), bounds(0.25, 0.75, 2), bounds(None, None)
    ('[0.250, 0.750]', '[0.25, 0.75]', '[n/a, n/a]')
    """
    return f"[{number(low, digits)}, {number(high, digits)}]"


def with_interval(row: Mapping[str, Any], name: str, digits: int = 3) -> str:
    """``row[name]`` followed by its interval when ``row`` has ``<name>_low``/``<name>_high``.

    The bounds take ``digits`` decimals; a missing interval (e.g. one resampled from fewer than
    two units, see :func:`community_alignment.bootstrap.unit_interval`) reads ``[n/a, n/a]``,
    and is left out when the value itself is missing.

    >>> row = {"alpha": 0.5, "alpha_low": 0.25, "alpha_high": 0.75, "pairs": 3}
    >>> with_interval(row, "alpha"), with_interval(row, "alpha", 2), with_interval(row, "pairs")
    ('0.500 [0.250, 0.750]', '0.500 [0.25, 0.75]', '3')
    >>> with_interval(row | {"alpha_low": None}, "alpha"), with_interval({"x": None, "x_low": None}, "x")
    ('0.500 [n/a, 0.750]', 'n/a')
    """  # noqa: E501
    text = number(row[name])
    low, high = f"{name}_low", f"{name}_high"
    if low in row and not (missing(row[name]) and missing(row[low])):
        text += " " + bounds(row[low], row[high], digits)
    return text


def interval_notes(reasons: Iterable[tuple[str, str | None]]) -> list[str]:
    """Lines saying which rows' intervals are n/a and why, one per reason, from
    (row name, reason or None) pairs.

    >>> interval_notes([("us", "only 1 unit"), ("fr", None), ("in", "only 1 unit")])
    ['intervals n/a for us, in: only 1 unit']
    """
    rows: dict[str, list[str]] = {}
    for name, reason in reasons:
        if reason is not None:
            rows.setdefault(reason, []).append(name)
    return [f"intervals n/a for {', '.join(names)}: {reason}" for reason, names in rows.items()]


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int | Iterable[int] = 0
) -> str:
    """Cells as a plain-text table: a header, a rule of dashes, one line per row, columns two
    spaces apart. ``left`` is the number of leading columns, or the indices of the columns,
    that are left-aligned; the others are right-aligned. Trailing spaces are dropped."""
    left_aligned = set(range(left)) if isinstance(left, int) else set(left)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i in left_aligned else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def json_ready(value: Any) -> Any:
    """``value`` with every float NaN, in dicts and lists too, as None and dict keys as text.

    >>> json_ready({"a": float("nan"), 1: [0.5, float("nan")]})
    {'a': None, '1': [0.5, None]}
    """
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts (see :func:`json_ready`).

    >>> records(pl.DataFrame({"g": ["us"], "x": [float("nan")]}))
    [{'g': 'us', 'x': None}]
    """
    return [json_ready(row) for row in frame.to_dicts()]
