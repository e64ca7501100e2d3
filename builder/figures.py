"""The card's figures, drawn from the numbers the card prints (PNG, under ``assets/``).

Every figure is a matplotlib ``Figure`` on an Agg canvas (pyplot's global state is never
touched) saved without date or software metadata, so the same numbers give the same bytes and
two builds of the same input stay byte-identical. Undefined values (NaN) are drawn as an
"n/a" label, never as a bar or a point.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

WIDTH = 9.0  # inches at DPI: 900 px, about the width of the Hub's card column
DPI = 100
POSITION_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52")
MUTED = "0.45"
ALPHA_COLOUR = "#4C72B0"
PAIRWISE_COLOUR = "#55A868"
CHANCE_COLOUR = "#C44E52"


def _figure(height: float):
    """A figure with fixed margins (a layout engine would double the drawing time of a build).

    The bottom margin holds two lines of tick labels and a one-line legend below them.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height), dpi=DPI)
    FigureCanvasAgg(figure)
    inches = 0.88  # tick labels (two lines) and the legend
    figure.subplots_adjust(
        left=0.075, right=0.985, top=1 - 0.42 / height, bottom=inches / height, wspace=0.2
    )
    return figure


def _legend(figure: Any, handles: list) -> None:
    figure.legend(
        handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncols=len(handles),
        fontsize=8, frameon=False,
    )  # fmt: skip


def save(figure: Any, path: str | Path) -> Path:
    """Write a figure as PNG with no metadata that changes between runs."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _style(axes: Any) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=9)


def positions_by_country(
    path: str | Path,
    shares_by_group: dict[str, dict[str, float]],
    comparisons_by_group: dict[str, int],
) -> Path:
    """Grouped bars: the share of comparisons whose choice was each position, per group.

    ``shares_by_group`` maps a group (a country, or "all", drawn last and set apart) to
    {position letter: share}; ``comparisons_by_group`` gives each group's comparisons.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    groups = list(shares_by_group)
    letters = list(next(iter(shares_by_group.values()), {}))
    centres = [g + (0.35 if group == "all" else 0.0) for g, group in enumerate(groups)]
    figure = _figure(3.9)
    axes = figure.add_subplot()
    _style(axes)
    width = 0.8 / max(len(letters), 1)
    top = 0.0
    for k, letter in enumerate(letters):
        xs = [c + (k - (len(letters) - 1) / 2) * width for c in centres]
        values = [shares_by_group[group][letter] for group in groups]
        drawn = [(x, v) for x, v in zip(xs, values, strict=True) if not _missing(v)]
        axes.bar(
            [x for x, _ in drawn],
            [v for _, v in drawn],
            width=width * 0.92,
            color=POSITION_COLOURS[k % len(POSITION_COLOURS)],
        )
        top = max([top, *(v for _, v in drawn)])
        for x, v in zip(xs, values, strict=True):
            if _missing(v):
                axes.text(x, 0.01, "n/a", ha="center", va="bottom", fontsize=7, color=MUTED)
    if "all" in groups and len(groups) > 1:
        axes.axvline(centres[groups.index("all")] - 0.65, color="0.85", linewidth=1)
    uniform = 1 / len(letters) if letters else 0.25
    axes.axhline(uniform, color="0.3", linestyle="--", linewidth=1)
    axes.set_xticks(
        centres, [f"{g}\n{comparisons_by_group.get(g, 0):,} comparisons" for g in groups]
    )
    axes.set_ylim(0, max(top, uniform) * 1.1 or 1)
    axes.yaxis.set_major_formatter(_percent_formatter())
    axes.set_ylabel("share of comparisons", fontsize=9)
    axes.set_title("Which position gets chosen, by country", fontsize=11, loc="left")
    handles = [
        Patch(color=POSITION_COLOURS[k % len(POSITION_COLOURS)], label=f"chose {letter.upper()}")
        for k, letter in enumerate(letters)
    ]
    handles.append(Line2D([], [], color="0.3", linestyle="--", label=f"uniform ({uniform:.0%})"))
    _legend(figure, handles)
    return save(figure, path)


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


NO_INTERVAL = "no interval (under 2 units)"


def agreement_by_country(path: str | Path, rows: list[dict[str, Any]], country: str) -> Path:
    """Two panels per group: Krippendorff's alpha with its interval, and pairwise agreement
    with its interval against the chance baselines (the marginal ``sum p_c**2`` and uniform).

    ``rows`` are rows of :func:`community_alignment.agreement.agreement` with intervals, in the
    order to draw; ``country`` is the name of their group column. A group whose statistic is
    undefined shows "n/a" where its point or bar would be; one without an interval (fewer
    than two units to resample: ``interval_undefined_reason``) says so beside it.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    groups = [str(row[country]) for row in rows]
    labels = [f"{g}\n{row['units']:,} units" for g, row in zip(groups, rows, strict=True)]
    figure = _figure(4.1)
    left, right = figure.subplots(1, 2)
    for axes in (left, right):
        _style(axes)
        axes.set_xticks(range(len(groups)), labels)
        axes.set_xlim(-0.6, len(groups) - 0.4)

    # alpha: a point and its interval; 0 is chance agreement
    left.axhline(0.0, color="0.3", linewidth=1, linestyle="--")
    lows, highs = [0.0], [0.0]
    for x, row in enumerate(rows):
        alpha = row["alpha"]
        if _missing(alpha):
            left.text(x, 0.0, "n/a", ha="center", va="bottom", fontsize=8, color=MUTED)
            continue
        low, high = row.get("alpha_low"), row.get("alpha_high")
        if not (_missing(low) or _missing(high)):
            left.errorbar(
                [x], [alpha], yerr=[[alpha - low], [high - alpha]], fmt="none",
                ecolor=ALPHA_COLOUR, elinewidth=1.5, capsize=4,
            )  # fmt: skip
            lows.append(low)
            highs.append(high)
        elif row.get("interval_undefined_reason"):
            left.text(x, alpha, f"  {NO_INTERVAL}", ha="left", va="center", fontsize=7, color=MUTED)
        left.scatter([x], [alpha], s=36, color=ALPHA_COLOUR, zorder=3)
        lows.append(alpha)
        highs.append(alpha)
    low_end, high_end = min(lows), max(highs)
    pad = max(0.1 * (high_end - low_end), (0.4 - (high_end - low_end)) / 2, 0.02)
    left.set_ylim(low_end - pad, high_end + pad)
    left.set_title("Krippendorff's α (nominal), 95% interval", fontsize=10, loc="left")

    # pairwise agreement: a bar and its interval; chance baselines as a tick and a line
    top = 0.0
    for x, row in enumerate(rows):
        pairwise, chance = row["pairwise_pooled"], row["chance_marginal"]
        if _missing(pairwise):
            right.text(x, 0.0, "n/a", ha="center", va="bottom", fontsize=8, color=MUTED)
            continue
        right.bar([x], [pairwise], width=0.55, color=PAIRWISE_COLOUR)
        low, high = row.get("pairwise_pooled_low"), row.get("pairwise_pooled_high")
        if not (_missing(low) or _missing(high)):
            right.errorbar(
                [x], [pairwise], yerr=[[pairwise - low], [high - pairwise]], fmt="none",
                ecolor="0.2", elinewidth=1.2, capsize=4,
            )  # fmt: skip
            top = max(top, high)
        elif row.get("interval_undefined_reason"):
            right.text(x, pairwise, NO_INTERVAL, ha="center", va="bottom", fontsize=7, color=MUTED)
        top = max(top, pairwise)
        if not _missing(chance):
            right.plot(
                [x - 0.34, x + 0.34], [chance, chance], color=CHANCE_COLOUR, linewidth=2.2,
                solid_capstyle="butt", zorder=4,
            )  # fmt: skip
            top = max(top, chance)
    uniform = rows[0]["chance_uniform"] if rows else 0.25
    right.axhline(uniform, color="0.3", linewidth=1, linestyle="--")
    right.set_ylim(0, max(top, uniform) * 1.08 or 1)
    right.yaxis.set_major_formatter(_percent_formatter())
    right.set_title("Pairwise agreement, 95% interval", fontsize=10, loc="left")
    _legend(
        figure,
        [
            Line2D([], [], color=ALPHA_COLOUR, marker="o", linestyle="none", label="α"),
            Patch(color=PAIRWISE_COLOUR, label="share of pairs of picks that agree"),
            Line2D([], [], color=CHANCE_COLOUR, linewidth=2.2,
                   label="chance: same choice shares"),
            Line2D([], [], color="0.3", linestyle="--",
                   label=f"chance: α = 0, uniform picks = {uniform:.0%}"),
        ],
    )  # fmt: skip
    return save(figure, path)
