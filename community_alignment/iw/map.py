"""The Inglehart-Welzel map: the shipped reference positions of countries
(:func:`country_positions`) and the drawing (:func:`plot_map`), with arrows to where a
country's annotators' chosen responses sit when a summary is given."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import polars as pl

from community_alignment import schema
from community_alignment.iw.poles import (
    AXES,
    AXIS_POLES,
    COUNTRY,
    LLM_DEFAULT_CORNER,
    LLM_DEFAULT_POLES,
)
from community_alignment.iw.summary import IWSummary

__all__ = ["COUNTRIES_FILE", "country_positions", "map_scale", "plot_map", "positions_by_code"]

COUNTRIES_FILE = "iw_countries.csv"


def country_positions() -> pl.DataFrame:
    """The shipped reference positions (``community_alignment/data/iw_countries.csv``).

    Columns ``country`` (name), ``iso2`` (the release's country code), ``survey_year``, the two
    axes (Integrated Values Surveys factor scores, signed as on the IW map), ``source`` and
    ``note`` (a ``same`` in the file repeats the row above and is written out here), and
    ``in_release`` (whether the country is one of the release's countries; Sweden and Japan
    are reference points only).

    >>> table = country_positions()
    >>> table.filter(pl.col("iso2") == "in").select("survey_year", *AXES).row(0)
    (2023, -0.57, -0.44)
    >>> table.filter(~pl.col("in_release"))["country"].to_list()
    ['Sweden', 'Japan']
    """
    text = (
        resources.files("community_alignment")
        .joinpath("data", COUNTRIES_FILE)
        .read_text(encoding="utf-8")
    )
    table = pl.read_csv(
        text.encode("utf-8"),
        schema_overrides={
            "survey_year": pl.Int64,
            AXES[0]: pl.Float64,
            AXES[1]: pl.Float64,
        },
    )
    resolved = table.with_columns(
        pl.when(pl.col(column) != "same").then(pl.col(column)).forward_fill().alias(column)
        for column in ("source", "note")
    )
    release = [str(code) for code in schema.codes("countries")]
    return resolved.with_columns(pl.col("iso2").is_in(release).alias("in_release"))


def positions_by_code() -> dict[str, tuple[float, float]]:
    """The reference position of each country by its code."""
    return {
        row["iso2"]: (row[AXES[0]], row[AXES[1]])
        for row in country_positions().iter_rows(named=True)
    }


def map_scale() -> float:
    """The largest absolute coordinate in :func:`country_positions` (Sweden's 3.11).

    The map divides country positions by it so that they share the [-1, 1] square of label
    scores; relative positions are kept.

    >>> map_scale()
    3.11
    """
    table = country_positions()
    return float(max(table[AXES[0]].abs().max(), table[AXES[1]].abs().max()))


def _chosen_by_country(summary: IWSummary | pl.DataFrame) -> dict[str, tuple[float, float]]:
    if isinstance(summary, IWSummary):
        if summary.by != [COUNTRY]:
            raise ValueError(
                f"plot_map needs a summary grouped by country, got one by {summary.by or 'none'}"
            )
        frame = summary.positions
    else:
        frame = summary
    needed = [COUNTRY, f"chosen_{AXES[0]}", f"chosen_{AXES[1]}"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"the summary lacks column(s) {', '.join(missing)}")
    chosen = {}
    for row in frame.select(needed).iter_rows():
        if row[0] is not None and row[1] is not None and not math.isnan(row[1]):
            chosen[row[0]] = (row[1], row[2])
    return chosen


def plot_map(path: str | Path, *, summary: IWSummary | pl.DataFrame | None = None) -> Path:
    """Draw the Inglehart-Welzel map as a PNG at ``path`` and return the path.

    Countries sit at their reference positions (:func:`country_positions`, divided by
    :func:`map_scale`), labelled; Sweden and Japan in grey; the LLM-default corner (+1, +1) is
    marked. With a summary grouped by country (an :class:`IWSummary` or its ``positions``
    table), an arrow goes from each country's reference position to the mean scores of the
    responses its annotators chose. The two are on different scales (factor scores, scaled,
    against label scores), so the arrows show direction more than distance.

    Needs matplotlib (Agg backend); the file carries no software or date metadata, so the same
    input gives the same bytes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chosen = _chosen_by_country(summary) if summary is not None else {}
    scale = map_scale()
    table = country_positions()
    figure = Figure(figsize=(7.0, 7.0), dpi=100)
    FigureCanvasAgg(figure)  # Agg, without touching pyplot's global backend
    axes = figure.add_subplot()
    axes.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    axes.axvline(0.0, color="0.8", linewidth=0.8, zorder=0)
    axes.fill_between([0.0, 1.2], 0.0, 1.2, color="tab:orange", alpha=0.08, zorder=0)
    corner_x, corner_y = LLM_DEFAULT_CORNER
    axes.scatter([corner_x], [corner_y], marker="*", s=260, color="tab:orange", zorder=3)
    axes.annotate(
        "LLM default\n(" + ", ".join(LLM_DEFAULT_POLES) + ")",
        (corner_x, corner_y),
        xytext=(-8, -10),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=8,
        color="tab:orange",
    )
    for row in table.iter_rows(named=True):
        x, y = row[AXES[0]] / scale, row[AXES[1]] / scale
        colour = "tab:blue" if row["in_release"] else "0.6"
        axes.scatter([x], [y], s=50, color=colour, zorder=4)
        axes.annotate(
            f"{row['country']} ({row['survey_year']})",
            (x, y),
            xytext=(6, 4),
            textcoords="offset points",
            fontsize=8,
            color=colour if row["in_release"] else "0.45",
        )
        if row["iso2"] in chosen:
            target = chosen[row["iso2"]]
            axes.annotate(
                "",
                xy=target,
                xytext=(x, y),
                arrowprops={"arrowstyle": "->", "color": "tab:red", "linewidth": 1.2},
                zorder=5,
            )
            axes.scatter([target[0]], [target[1]], s=30, color="tab:red", marker="D", zorder=5)
            axes.annotate(  # name each diamond: several land close together
                row["iso2"],
                target,
                xytext=(-6, -4),
                textcoords="offset points",
                ha="right",
                va="top",
                fontsize=8,
                color="tab:red",
            )
    axes.set_xlim(-1.2, 1.2)
    axes.set_ylim(-1.2, 1.2)
    axes.set_aspect("equal")
    negative_x, positive_x = AXIS_POLES[AXES[0]]
    negative_y, positive_y = AXIS_POLES[AXES[1]]
    axes.set_xlabel(f"← {negative_x}          {positive_x} →")
    axes.set_ylabel(f"← {negative_y}          {positive_y} →")
    title = "Inglehart-Welzel map"
    if chosen:
        title += ": reference positions → mean chosen response"
    axes.set_title(title, fontsize=11)
    figure.text(
        0.01,
        0.01,
        f"Countries: Integrated Values Surveys factor scores / {scale:g}"
        + ("; diamonds: mean label scores of chosen responses" if chosen else ""),
        fontsize=7,
        color="0.4",
    )
    out = Path(path)
    figure.savefig(out, format="png", metadata={"Software": None})
    return out
