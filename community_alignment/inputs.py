"""Reading what users pass to the analysis functions.

The analyses (:mod:`community_alignment.agreement`, :mod:`community_alignment.iw`) accept a
comparisons table as a polars DataFrame or LazyFrame, a ``datasets.Dataset``, or a release
folder / ``hf://datasets/...`` path. :func:`as_lazyframe` turns any of these into a polars
LazyFrame, and :func:`choice_codes` reads the ``choice`` column (ClassLabel integers or the
vocabulary letters) as the codes 0..3.

>>> import polars as pl
>>> lazy = as_lazyframe(pl.DataFrame({"choice": ["b", "d"]}), ["choice"])
>>> choice_codes(lazy.collect()["choice"]).to_list()
[1, 3]
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from community_alignment import schema
from community_alignment.load import scan

__all__ = ["Source", "as_lazyframe", "choice_codes", "first_picks", "read_table"]

Source = Any  # pl.DataFrame | pl.LazyFrame | datasets.Dataset | str | Path


@cache
def _choices() -> tuple[str, ...]:
    return tuple(schema.codes("choice"))


def as_lazyframe(source: Source, wanted: list[str]) -> pl.LazyFrame:
    """``source`` as a polars LazyFrame.

    A DataFrame or LazyFrame is used as it is and a path is read with
    :func:`community_alignment.load.scan` (the ``comparisons`` config). ``wanted`` only narrows
    a ``datasets.Dataset`` to the columns among them it has before it is converted, so that
    the other columns are never copied; checking that the columns are there is the caller's
    job. Raises ``TypeError`` for anything else.

    >>> import polars as pl
    >>> as_lazyframe(pl.DataFrame({"item_id": ["x"]}), ["item_id"]).collect().shape
    (1, 1)
    >>> as_lazyframe(42, ["item_id"])
    Traceback (most recent call last):
    ...
    TypeError: source must be a polars DataFrame or LazyFrame, a datasets.Dataset, or a release folder / hf:// path, got int
    """  # noqa: E501
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    if isinstance(source, (str, Path)):
        return scan(source)
    if hasattr(source, "to_polars") and hasattr(source, "column_names"):  # datasets.Dataset
        present = [name for name in wanted if name in source.column_names]
        narrowed = source.select_columns(present) if present else source
        return narrowed.to_polars().lazy()
    raise TypeError(
        "source must be a polars DataFrame or LazyFrame, a datasets.Dataset, or a release "
        f"folder / hf:// path, got {type(source).__name__}"
    )


def choice_codes(choice: pl.Series) -> pl.Series:
    """The choice as codes 0..3 from ClassLabel integers or vocabulary letters, else ValueError.

    The letters are those of the ``choice`` vocabulary (:func:`community_alignment.schema.codes`).
    Null, unknown or out-of-range picks, and columns of any other type, raise ``ValueError``.

    >>> import polars as pl
    >>> choice_codes(pl.Series(["a", "c"])).to_list(), choice_codes(pl.Series([3, 0])).to_list()
    ([0, 2], [3, 0])
    >>> choice_codes(pl.Series(["a", "e"]))
    Traceback (most recent call last):
    ...
    ValueError: 1 of 2 picks are outside a/b/c/d (0..3), e.g. 'e'
    """
    letters = _choices()
    nulls = choice.null_count()
    if nulls:
        raise ValueError(
            f"{nulls} of {choice.len()} comparisons have a null choice; every comparison "
            "records a pick"
        )
    dtype = choice.dtype
    if dtype.is_integer():
        codes = choice.cast(pl.Int64)
        bad = (codes < 0) | (codes >= len(letters))
    elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = choice.cast(pl.String)
        codes = text.replace_strict(
            list(letters), list(range(len(letters))), default=None, return_dtype=pl.Int64
        )
        bad = codes.is_null()
    else:
        raise ValueError(
            f"choice must hold the integers 0..{len(letters) - 1} or the letters "
            f"{', '.join(letters)}; got a {dtype} column"
        )
    n_bad = int(bad.sum())
    if n_bad:
        example = choice.filter(bad)[0]
        raise ValueError(
            f"{n_bad} of {choice.len()} picks are outside {'/'.join(letters)} "
            f"(0..{len(letters) - 1}), e.g. {example!r}"
        )
    return codes.cast(pl.UInt8)


def first_picks(
    frame: pl.DataFrame,
    *,
    item: str = "item_id",
    annotator: str = "annotator_id",
    comparison: str = "comparison_id",
    stacklevel: int = 2,
) -> pl.DataFrame:
    """The picks with an annotator's repeated picks on the same unit counted once.

    The one rule for repeated picks, applied by every statistic of the library (agreement,
    IW summaries, evaluation): when an annotator picked more than once on the same unit
    (``item``; e.g. the same pregenerated first prompt met twice), only the first pick counts,
    the one with the smallest ``comparison_id`` (row order when the frame has no such column),
    so that no annotator is paired with themselves or weighs twice. The release keeps every
    pick. Warns with how many were set aside; ``stacklevel`` points the warning at the caller.

    >>> picks = pl.DataFrame({"item_id": ["u", "u", "u"], "annotator_id": ["x", "x", "y"],
    ...                       "comparison_id": ["2-1", "1-1", "3-1"], "choice": [0, 1, 2]})
    >>> import warnings; warnings.simplefilter("ignore")
    >>> first_picks(picks).sort("comparison_id")["choice"].to_list()
    [1, 2]
    """
    repeated = frame.height - frame.select(item, annotator).n_unique()
    if repeated == 0:
        return frame
    warnings.warn(
        f"{repeated} picks repeat an annotator's pick on the same unit; only the first "
        f"(smallest {comparison}) is kept so that no annotator is paired with themselves",
        stacklevel=stacklevel,
    )
    if comparison in frame.columns:
        frame = frame.sort(comparison, maintain_order=True, nulls_last=True)
    return frame.unique(subset=[item, annotator], keep="first", maintain_order=True)


def read_table(path: Path, what: str, *, ndjson: bool = False) -> pl.DataFrame:
    """A user's file of ``what`` (labels, predictions) as a frame: CSV read as text (the caller
    checks and casts each column), Parquet as written, and JSON lines when ``ndjson``. A missing
    or unreadable file is an error naming it.

    >>> read_table(Path("nowhere.csv"), "labels")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no labels file at nowhere.csv
    """
    if not path.is_file():
        raise FileNotFoundError(f"no {what} file at {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if ndjson and suffix in (".jsonl", ".ndjson"):
            return pl.read_ndjson(path, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise ValueError(f"cannot read the {what} file {path}: {error}") from error
    kinds = ".csv, .parquet or .jsonl" if ndjson else ".csv or .parquet"
    raise ValueError(f"{what} must be a {kinds} file, got {path.name}")
