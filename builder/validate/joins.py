"""Joins of one table's rows to another's, a release part at a time, and comparisons of
message lists without building them: the machinery of the contract checks."""

from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl

from builder.validate.reader import Release

CHUNK_ROWS = 50_000  # rows of a part joined at a time by the contract checks (see part_join)


def join_left(rows: pl.DataFrame, partners: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """``rows.join(partners, on=on, how="left", maintain_order="left")``, the two rechunked
    first: gathering text from a frame of many chunks (one per row group read) copies it,
    from one chunk it does not (and a pair gathers its comparison's text three times)."""
    return rows.rechunk().join(partners.rechunk(), on=on, how="left", maintain_order="left")


def part_join(
    release: Release,
    left: tuple[str, Callable[[pl.LazyFrame], pl.LazyFrame]],
    right: tuple[str, Callable[[pl.LazyFrame], pl.LazyFrame]],
    on: list[str],
    finish: Callable[[pl.DataFrame], pl.DataFrame],
    order: list[str],
) -> pl.DataFrame:
    """``finish`` of the rows ``left[1]`` selects from table ``left[0]``, left-joined on ``on``
    to the rows ``right[1]`` makes of table ``right[0]`` (``_found`` true where a right row
    matched, kept in the result), sorted by ``order``.

    The join runs one <language>/<country> part at a time, and ``CHUNK_ROWS`` left rows at a
    time, so memory holds one part's right rows and a chunk of its left rows (their text, the
    heavy columns), not the release's. Left rows without a partner in their own part are
    joined again to the right rows of every part with the same ``on[0]``: a row filed in the
    wrong part still finds its partner (rows_match_path reports the misfiling). Only that second
    join's left rows without any partner (``_found`` null) are kept in the result.
    """
    (left_table, left_rows), (right_table, right_rows) = left, right
    found = pl.lit(True).alias("_found")
    results, strays = [], []
    for part in release.parts(left_table):
        partners = right_rows(release.scan(right_table, part)).with_columns(found).collect()
        size = sum(f.rows for f, _ in release.rows(left_table, part))
        for start in range(0, size, CHUNK_ROWS):
            chunk = release.scan(left_table, part).slice(start, CHUNK_ROWS)
            rows = left_rows(chunk).collect()
            joined = join_left(rows, partners, on)
            results.append(finish(joined).filter(pl.col("_found").is_not_null()))
            strays.append(joined.filter(pl.col("_found").is_null()).select(rows.columns))
            del rows, joined
        del partners
    strays = [s for s in strays if s.height]
    if strays:
        rows = pl.concat(strays)
        keys = rows[on[0]].drop_nulls().unique().implode()
        partners = right_rows(release.scan(right_table).filter(pl.col(on[0]).is_in(keys)))
        partners = partners.with_columns(found).collect()
        results.append(finish(join_left(rows, partners, on)))
    results = [r for r in results if r.height]
    if not results:
        return pl.DataFrame()
    return pl.concat(results, how="vertical_relaxed").sort(order, maintain_order=True)


def list_width(frame: pl.DataFrame, column: str) -> int:
    """The length of the longest list in a column (0 when none)."""
    return int(frame.select(pl.col(column).list.len().max()).item() or 0) if frame.height else 0


def unpacked(column: str, width: int, prefix: str) -> list[pl.Expr]:
    """A list column as flat columns: ``<prefix>_n`` its length, ``<prefix>_<i>`` element i (null
    past the end) for i < width: a pair's expected prompt, chosen and rejected are then compared
    element by element, where building them as lists would copy their text."""
    items = pl.col(column)
    return [
        items.list.len().alias(f"{prefix}_n"),
        *(items.list.get(i, null_on_oob=True).alias(f"{prefix}_{i}") for i in range(width)),
    ]


def unpacked_width(frame: pl.DataFrame, prefix: str) -> int:
    return sum(1 for n in frame.columns if re.fullmatch(re.escape(prefix) + r"_\d+", n))


def same_message(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Messages ``a`` and ``b`` equal as ``eq_missing`` compares list elements: both null, or
    neither null with equal role and content; never null."""
    fields = [a.struct.field(n).eq_missing(b.struct.field(n)) for n in ("role", "content")]
    both = a.is_not_null() & b.is_not_null()
    return (a.is_null() & b.is_null()) | (both & pl.all_horizontal(fields)).fill_null(False)


def same_messages(items: pl.Expr, prefix: str, width: int, last: pl.Expr) -> pl.Expr:
    """``items.eq_missing(pl.concat_list(other, pl.concat_list(last)))`` for the messages
    ``other`` unpacked by :func:`unpacked` as ``prefix`` and the message ``last``, without
    building the expected list; never null."""
    length = pl.col(f"{prefix}_n")
    same = (
        items.is_not_null()
        & (items.list.len() == length + 1)
        & pl.all_horizontal(
            pl.lit(True),
            *(
                (length <= i)
                | same_message(items.list.get(i, null_on_oob=True), pl.col(f"{prefix}_{i}"))
                for i in range(width)
            ),
        )
        & same_message(items.list.last(), last)
    )
    # concat_list with a null list is null
    return pl.when(length.is_null()).then(items.is_null()).otherwise(same.fill_null(False))


def unpacked_item(index: pl.Expr, prefix: str, width: int) -> pl.Expr:
    """``other.list.get(index, null_on_oob=True)`` of a list unpacked as ``prefix``."""
    length = pl.col(f"{prefix}_n")
    position = pl.when(index < 0).then(index + length).otherwise(index)
    out = pl.lit(None, dtype=pl.String)
    for i in reversed(range(width)):
        out = pl.when(position == i).then(pl.col(f"{prefix}_{i}")).otherwise(out)
    return out


def one_message(items: pl.Expr, role: str, content: pl.Expr) -> pl.Expr:
    """``items`` is ``[{"role": role, "content": content}]`` (as ``eq_missing`` compares);
    never null."""
    first = items.list.first()
    return (
        items.is_not_null()
        & (items.list.len() == 1)
        & first.is_not_null()
        & first.struct.field("role").eq_missing(pl.lit(role))
        & first.struct.field("content").eq_missing(content)
    ).fill_null(False)
