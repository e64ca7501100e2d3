"""Reading and checking a model's predictions: one row per unit (``item_id``), and per
``target`` when the model was asked to answer as a member of a group.

A prediction is four non-negative weights in columns ``a``..``d`` (probabilities, softmaxed
reward scores, counts of sampled picks; normalised per row), one ``choice`` (``0``-``3`` or
``a``-``d``), or four reward scores ``score_a``..``score_d`` (turned into weights by
:func:`softmax` at a temperature). Rows are counted from 1, the header excluded.

>>> import polars as pl
>>> table = read_predictions(pl.DataFrame({"item_id": ["u1", "u2"], "choice": ["b", "3"]}))
>>> table.kind, table.frame["w_b"].to_list(), table.frame["w_d"].to_list()
('choice', [1.0, 0.0], [0.0, 1.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from community_alignment import schema
from community_alignment.inputs import read_table

__all__ = ["Predictions", "read_predictions", "softmax"]

ITEM = "item_id"
TARGET = "target"
CHOICE = "choice"


def letters() -> list[str]:
    """The candidate letters of the ``choice`` vocabulary (``a``..``d``)."""
    return list(schema.codes("choice"))


def weight_columns() -> list[str]:
    """The normalised weight columns of :attr:`Predictions.frame` (``w_a``..``w_d``)."""
    return [f"w_{letter}" for letter in letters()]


def score_columns() -> list[str]:
    """The reward-score columns of a predictions table (``score_a``..``score_d``)."""
    return [f"score_{letter}" for letter in letters()]


def softmax(scores: Any, temperature: float = 1.0) -> np.ndarray:
    """Per row, ``exp(score / temperature)`` normalised to sum to 1: reward scores as weights.

    A low temperature sharpens towards the best-scored candidate, a high one flattens towards
    uniform. Computed after subtracting each row's maximum, so large scores do not overflow.

    >>> softmax([[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], temperature=0.5).round(4).tolist()
    [[0.25, 0.25, 0.25, 0.25], [0.7112, 0.0963, 0.0963, 0.0963]]
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"scores must be a rows x candidates matrix, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("scores must be finite numbers")
    scaled = (array - array.max(axis=1, keepdims=True)) / temperature
    exps = np.exp(scaled)
    return exps / exps.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Predictions:
    """Checked predictions.

    ``frame`` has ``item_id``, ``target`` (null: the model's own answer), the normalised
    weights ``w_a``..``w_d``, and ``score_a``..``score_d`` (null unless given). ``kind`` is
    ``"weights"``, ``"choice"`` or ``"scores"``: how the weights were given. ``has_scores``:
    the table carries per-candidate values that can rank a chosen against a rejected response
    (weights or scores, not a single choice).
    """

    frame: pl.DataFrame
    kind: str
    origin: str

    @property
    def has_scores(self) -> bool:
        return self.kind != "choice"

    @property
    def targets(self) -> list[str]:
        return self.frame[TARGET].drop_nulls().unique().sort().to_list()


def _first_row(mask: pl.Series) -> int:
    return int(mask.fill_null(False).arg_max()) + 1


def _texts(frame: pl.DataFrame, column: str, origin: str) -> pl.Series:
    series = frame[column]
    if series.dtype in (pl.String, pl.Null, pl.Categorical) or isinstance(series.dtype, pl.Enum):
        return series.cast(pl.String).str.strip_chars()
    raise ValueError(f"{origin}: column {column} must hold text, got {series.dtype}")


def _numbers(frame: pl.DataFrame, column: str, origin: str) -> pl.Series:
    series = frame[column]
    if series.dtype == pl.Boolean or not (
        series.dtype in (pl.String, pl.Null) or series.dtype.is_numeric()
    ):
        raise ValueError(f"{origin}: column {column} must hold numbers, got {series.dtype}")
    text = series.cast(pl.String).str.strip_chars() if series.dtype == pl.String else series
    numbers = text.cast(pl.Float64, strict=False)
    unreadable = numbers.is_null()
    if unreadable.any():
        row = _first_row(unreadable)
        value = series[row - 1]
        problem = "is missing" if value is None or value == "" else f"{value!r} is not a number"
        raise ValueError(f"{origin}: row {row}: {column} {problem}")
    infinite = ~numbers.is_finite()
    if infinite.any():
        row = _first_row(infinite)
        raise ValueError(f"{origin}: row {row}: {column} is {numbers[row - 1]}, not a number")
    return numbers


def _choice_weights(frame: pl.DataFrame, origin: str) -> np.ndarray:
    names = letters()
    series = frame[CHOICE]
    if series.dtype.is_integer():
        codes = series.cast(pl.Int64)
    elif series.dtype in (pl.String, pl.Categorical) or isinstance(series.dtype, pl.Enum):
        text = series.cast(pl.String).str.strip_chars().str.to_lowercase()
        spelled = [*names, *(str(k) for k in range(len(names)))]
        codes = text.replace_strict(
            spelled, [*range(len(names)), *range(len(names))], default=None, return_dtype=pl.Int64
        )
    else:
        raise ValueError(
            f"{origin}: column choice must hold 0..{len(names) - 1} or "
            f"{'/'.join(names)}, got {series.dtype}"
        )
    bad = codes.is_null() | (codes < 0) | (codes >= len(names))
    if bad.fill_null(True).any():
        row = _first_row(bad.fill_null(True))
        raise ValueError(
            f"{origin}: row {row}: choice {series[row - 1]!r} is not one of "
            f"{'/'.join(names)} or 0..{len(names) - 1}"
        )
    return np.eye(len(names))[codes.to_numpy()]


def _checked_weights(weights: np.ndarray, frame: pl.DataFrame, origin: str) -> np.ndarray:
    negative = (weights < 0).any(axis=1)
    if negative.any():
        row = int(np.argmax(negative)) + 1
        raise ValueError(
            f"{origin}: row {row} (item_id {frame[ITEM][row - 1]}): a weight is negative; "
            "weights are probabilities or counts (turn reward scores into weights with softmax)"
        )
    total = weights.sum(axis=1)
    empty = total <= 0
    if empty.any():
        row = int(np.argmax(empty)) + 1
        raise ValueError(
            f"{origin}: row {row} (item_id {frame[ITEM][row - 1]}): all four weights are 0, "
            "so the row predicts nothing"
        )
    return weights / total[:, None]


def _check_duplicates(frame: pl.DataFrame, origin: str, targeted: bool) -> None:
    numbered = frame.select(ITEM, TARGET).with_row_index("_row", offset=1)
    repeated = numbered.filter(pl.struct(ITEM, TARGET).is_duplicated())
    if repeated.height == 0:
        return
    first = repeated.row(0, named=True)
    rows = repeated.filter(
        (pl.col(ITEM) == first[ITEM]) & pl.col(TARGET).eq_missing(first[TARGET])
    )["_row"].to_list()
    keys = repeated.select(ITEM, TARGET).n_unique()
    which = f" and target {first[TARGET]}" if first[TARGET] is not None else ""
    raise ValueError(
        f"{origin}: item_id {first[ITEM]}{which} is predicted in rows "
        f"{', '.join(map(str, rows))}; give one prediction per unit"
        + (" and target" if targeted else "")
        + f" ({keys} repeated in all)"
    )


def _checked(raw: pl.DataFrame, origin: str, temperature: float) -> Predictions:
    names = letters()
    if ITEM not in raw.columns:
        raise ValueError(
            f"{origin}: predictions lack the column item_id "
            f"(it has: {', '.join(raw.columns) or 'no columns'})"
        )
    given = {
        "weights": [c for c in names if c in raw.columns],
        "scores": [c for c in score_columns() if c in raw.columns],
    }
    for form, present in given.items():
        expected = names if form == "weights" else score_columns()
        if present and len(present) != len(expected):
            missing = [c for c in expected if c not in present]
            raise ValueError(
                f"{origin}: {form} need all of {', '.join(expected)}; missing {', '.join(missing)}"
            )
    has_choice = CHOICE in raw.columns
    if has_choice and given["weights"]:
        raise ValueError(
            f"{origin}: give either a choice column or the weights {', '.join(names)}, not both"
        )
    if not (has_choice or given["weights"] or given["scores"]):
        raise ValueError(
            f"{origin}: predictions need weights in columns {', '.join(names)}, a choice "
            f"column, or reward scores {', '.join(score_columns())} "
            f"(it has: {', '.join(raw.columns)})"
        )
    if raw.height == 0:
        raise ValueError(f"{origin}: there are no predictions")

    items = _texts(raw, ITEM, origin)
    no_item = items.is_null() | (items == "")
    if no_item.any():
        raise ValueError(f"{origin}: row {_first_row(no_item)}: the item_id is missing")
    if TARGET in raw.columns:
        targets = _texts(raw, TARGET, origin)
        targets = pl.when(targets == "").then(None).otherwise(targets)
        targets = pl.select(targets.alias(TARGET)).to_series()
    else:
        targets = pl.Series(TARGET, [None] * raw.height, dtype=pl.String)
    keyed = pl.DataFrame([items.alias(ITEM), targets.alias(TARGET)])

    scores = None
    if given["scores"]:
        scores = np.column_stack([_numbers(raw, c, origin).to_numpy() for c in score_columns()])
    if given["weights"]:
        kind = "weights"
        values = np.column_stack([_numbers(raw, c, origin).to_numpy() for c in names])
        weights = _checked_weights(values, keyed, origin)
    elif has_choice:
        kind = "choice"
        weights = _choice_weights(raw, origin)
    else:
        kind = "scores"
        weights = softmax(scores, temperature)
    _check_duplicates(keyed, origin, TARGET in raw.columns)
    columns = {name: weights[:, k] for k, name in enumerate(weight_columns())}
    missing_scores = np.full(raw.height, np.nan) if scores is None else None
    for k, name in enumerate(score_columns()):
        columns[name] = missing_scores if scores is None else scores[:, k]
    frame = keyed.with_columns(
        pl.DataFrame(columns).with_columns(pl.col(score_columns()).fill_nan(None))
    )
    return Predictions(frame=frame, kind=kind, origin=origin)


def read_predictions(
    source: str | Path | pl.DataFrame | pl.LazyFrame | Predictions, *, temperature: float = 1.0
) -> Predictions:
    """Read and check predictions from a CSV or Parquet file or a polars frame.

    Columns: ``item_id`` (required); then either the weights ``a``..``d`` (non-negative
    numbers, not all 0; normalised per row) or ``choice`` (``0``-``3`` or ``a``-``d``), and/or
    reward scores ``score_a``..``score_d`` (any finite numbers; the weights are their
    :func:`softmax` at ``temperature`` when no weights or choice are given). Optional
    ``target``: the group the model was asked to answer as (empty: its own answer). Other
    columns are ignored.

    Raises ``ValueError`` naming the input and the row (from 1) on a missing column, a missing
    item_id, a weight or score that is not a number, a negative weight, a row of zero weights, a
    choice outside ``a``..``d``, and a unit (and target) predicted twice;
    ``FileNotFoundError`` when the file is not there.

    >>> import polars as pl
    >>> read_predictions(pl.DataFrame({"item_id": ["u1"], "a": [1], "b": [-1], "c": [0], "d": [0]}))
    Traceback (most recent call last):
    ...
    ValueError: predictions: row 1 (item_id u1): a weight is negative; weights are probabilities or counts (turn reward scores into weights with softmax)
    """  # noqa: E501
    if isinstance(source, Predictions):
        return source
    if isinstance(source, pl.LazyFrame):
        source = source.collect()
    if isinstance(source, pl.DataFrame):
        return _checked(source, "predictions", temperature)
    if isinstance(source, (str, Path)):
        path = Path(source)
        return _checked(read_table(path, "predictions"), str(path), temperature)
    raise TypeError(
        "predictions must be a CSV or Parquet path or a polars DataFrame, got "
        f"{type(source).__name__}"
    )
