"""Reading the picks agreement is measured on from a comparisons table: the needed columns,
checked, filtered and with an annotator's repeated picks on a unit counted once; and the
picks of each choice per unit (the count matrices of :mod:`community_alignment.agreement.measures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import polars as pl

from community_alignment import schema
from community_alignment.inputs import Source, as_lazyframe, choice_codes, first_picks

__all__ = [
    "ANNOTATOR",
    "BALANCED_10",
    "CHOICE",
    "CODE",
    "COMPARISON",
    "ITEM",
    "PREGENERATED",
    "TURN",
    "choices",
    "count_columns",
    "counts_per_unit",
    "group_columns",
    "load_picks",
    "unit_counts",
]

ITEM = "item_id"
CHOICE = "choice"
ANNOTATOR = "annotator_id"
COMPARISON = "comparison_id"
PREGENERATED = "is_pregenerated_first_prompt"
BALANCED_10 = "in_balanced_subset_10"
TURN = "turn"

CODE = "_choice_code"
"""The column that holds a pick's choice as its code 0..3 once read."""


@cache
def choices() -> tuple[str, ...]:
    """The choice vocabulary (``a``..``d``)."""
    return tuple(schema.codes("choice"))


def group_columns(by: str | Sequence[str] | None) -> list[str]:
    """``by`` as a list of column names, checked: distinct, and neither the choice nor the unit."""
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


def _active_filters(
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


def load_picks(
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
    filters = _active_filters(pregenerated_only, balanced_10_only, turn)
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

    frame = frame.with_columns(choice_codes(frame[CHOICE]).alias(CODE)).drop(CHOICE)
    if ANNOTATOR in frame.columns:
        frame = first_picks(frame, stacklevel=4)  # points at the caller of agreement()
    return frame


def count_columns() -> list[str]:
    """The columns of :func:`counts_per_unit` that hold the picks of each choice, in choice order."""
    return [f"_n{k}" for k in range(len(choices()))]


def counts_per_unit(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Picks of each choice per (keys..., item_id), sorted so that results never depend on row
    order."""
    counted = frame.group_by([*keys, ITEM]).agg(
        [
            (pl.col(CODE) == k).sum().cast(pl.Int64).alias(name)
            for k, name in enumerate(count_columns())
        ]
    )
    return counted.sort([*keys, ITEM], nulls_last=True)


def unit_counts(frame: Source) -> tuple[pl.Series, np.ndarray]:
    """Item ids (sorted) and their picks of each choice, a units x 4 integer matrix.

    ``frame`` needs ``item_id`` and ``choice`` (ClassLabel integers or letters); it can be
    anything :func:`~community_alignment.agreement.agreement` accepts. Every unit with a pick is included, singletons too.
    An annotator's repeated picks on a unit count once when ``annotator_id`` is present.

    >>> import polars as pl
    >>> ids, counts = unit_counts(pl.DataFrame({"item_id": ["y", "x", "y"], "choice": [3, 0, 3]}))
    >>> ids.to_list(), counts.tolist()
    (['x', 'y'], [[1, 0, 0, 0], [0, 0, 0, 2]])
    """
    counted = counts_per_unit(load_picks(frame, by=[], require_annotator=False), [])
    return counted[ITEM], counted.select(count_columns()).to_numpy().astype(np.int64)
