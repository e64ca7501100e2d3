"""The ``community-alignment evaluate`` command, its tables, and the figure of an evaluation."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from community_alignment.bootstrap import check_parameters
from community_alignment.evaluate import chat
from community_alignment.evaluate.evaluation import (
    Evaluation,
    check_by,
    check_min_picks,
    evaluate,
)
from community_alignment.evaluate.predictions import read_predictions
from community_alignment.inputs import as_lazyframe

__all__ = ["plot", "register_cli"]


def register_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand to the ``community-alignment`` command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a model's predictions against each group's picks",
        description=(
            "Measure a model's predictions (per item_id: weights a-d, a choice, or reward "
            "scores score_a-score_d; optionally a target group) against the picks of each "
            "group: pick agreement, distributional similarity (1 - Jensen-Shannon distance), "
            "their baselines, the best-minus-worst gap, reward-model accuracy on pairs and "
            "steering toward a target group, with bootstrap intervals over units."
        ),
    )
    parser.add_argument("source", help="release folder or hf://datasets/ORG/NAME path")
    parser.add_argument(
        "--predictions", default=None, metavar="FILE", help="predictions, .csv or .parquet"
    )
    parser.add_argument("--by", default=None, metavar="FIELD", help="e.g. country or language")
    parser.add_argument(
        "--min-picks",
        type=int,
        default=5,
        metavar="N",
        help="picks of a group a unit needs for distributional similarity (default: 5)",
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples (default: 1000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="interval coverage (default: 0.95)"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="softmax temperature for reward scores score_a..score_d (default: 1)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--plot", metavar="PNG", default=None, help="also draw the groups here")
    chat.add_arguments(parser)
    parser.set_defaults(run=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    if (args.predictions is None) == (args.model is None):
        raise ValueError("give --predictions FILE, or --model NAME to ask a chat model (not both)")
    predictions: Any = args.predictions
    if args.model is not None:
        _check_before_asking(args)
        answers = chat.predictions_from_args(args)
        if answers is None:  # a dry run
            return 0
        predictions = replace(read_predictions(answers), origin=f"from {args.model}")
    result = evaluate(
        args.source,
        predictions,
        by=args.by,
        min_picks=args.min_picks,
        n_resamples=args.resamples,
        seed=args.seed,
        confidence=args.confidence,
        temperature=args.temperature,
    )
    if args.plot:
        plot(result, args.plot)
    if args.json:
        output = {"source": str(args.source), **result.to_dict()}
        print(json.dumps(output, indent=2, ensure_ascii=False))
        return 0
    print(render(result, str(args.source)))
    if args.plot:
        print(f"\nfigure: {args.plot}")
    return 0


def _check_before_asking(args: argparse.Namespace) -> None:
    """The checks of :func:`evaluate` that would otherwise come after the requests were paid."""
    check_parameters(args.resamples, args.confidence)
    check_min_picks(args.min_picks)
    check_by(args.by)
    if args.by is not None:
        names = as_lazyframe(args.source, [args.by]).collect_schema().names()
        if args.by not in names:
            raise ValueError(f"the comparisons table has no column {args.by} to group by")


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _estimate(row: dict[str, Any], name: str) -> str:
    text = _number(row[name])
    if not math.isnan(row[f"{name}_low"]):
        text += f" [{_number(row[f'{name}_low'])}, {_number(row[f'{name}_high'])}]"
    return text


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def render(result: Evaluation, source: str) -> str:
    """The evaluation as the command prints it."""
    coverage, settings = result.coverage, result.settings
    lines = [
        f"Predictions {coverage['predictions']} ({coverage['kind']}) against {source}"
        + (f", by {result.by}" if result.by else ""),
        f"{coverage['predicted_units']} predicted units: {coverage['release_units_predicted']} "
        f"of the release's {coverage['release_units']}, {coverage['units_not_in_release']} not "
        f"in it; {coverage['picks_on_predicted_units']} picks on them",
    ]
    if coverage["units_not_in_release"]:
        lines.append("  not in the release, e.g. " + ", ".join(coverage["examples_not_in_release"]))
    if settings["n_resamples"]:
        lines.append(
            f"intervals: {settings['confidence']:.0%} bootstrap percentile over units, "
            f"{settings['n_resamples']} resamples, seed {settings['seed']}"
        )
    if result.groups.height:
        lines += ["", _groups_text(result), "", *_legend(settings["min_picks"])]
        lines += ["", *_gaps_text(result)]
    else:
        lines += ["", "No prediction without a target: only steering is measured."]
    if result.steering is not None:
        lines += ["", _steering_text(result)]
    return "\n".join(lines)


def _groups_text(result: Evaluation) -> str:
    headers = [
        result.by or "group",
        "picks",
        "units",
        "pick agreement",
        "human LOO",
        "similarity",
        "sim. units",
        "uniform",
        "others",
        "pair accuracy",
        "pairs",
        "rank",
    ]
    rows = []
    for row in result.groups.sort("rank_similarity", nulls_last=True).to_dicts():
        rows.append(
            [
                "null" if row["group"] is None else str(row["group"]),
                str(row["picks"]),
                str(row["units"]),
                _estimate(row, "pick_agreement"),
                _estimate(row, "human_loo_majority"),
                _estimate(row, "distributional_similarity"),
                str(row["distributional_similarity_units"]),
                _number(row["uniform_baseline"]),
                _number(row["others_baseline"]),
                _estimate(row, "pair_accuracy"),
                str(row["pair_accuracy_count"]),
                _number(row["rank_similarity"]),
            ]
        )
    return _table(headers, rows)


def _legend(min_picks: int) -> list[str]:
    return [
        "pick agreement: share of the group's picks equal to the model's top choice (1/k on a "
        "k-way tie; chance 0.250);",
        "human LOO: a pick against the plurality of the group's other picks on its unit (units "
        "with >= 2 picks);",
        f"similarity: mean 1 - Jensen-Shannon distance (base 2) to the group's pick shares, over "
        f"units with >= {min_picks} of its picks;",
        "uniform / others: the same for a uniform model and for the picks of everyone outside "
        "the group; rank: by similarity.",
    ]


def _gaps_text(result: Evaluation) -> list[str]:
    lines = []
    for row in result.gaps.to_dicts():
        text = (
            f"{row['measure']}: best {row['best']} {_number(row['best_value'])}, worst "
            f"{row['worst']} {_number(row['worst_value'])}; "
        )
        text += f"difference {_estimate(row, 'difference_all_units')}"
        if row["shared_units"]:
            text += (
                f"; on the {row['shared_units']} units both share "
                f"{_estimate(row, 'difference')} (paired)"
            )
        else:
            text += " (they share no unit)"
        lines.append(text)
    return lines or ["fewer than two groups with a value: no gap"]


def _steering_text(result: Evaluation) -> str:
    assert result.steering is not None
    headers = [
        "target",
        "units",
        "to target",
        "to others",
        "difference",
        "own",
        "gain",
        "specificity",
    ]
    rows = [
        [
            str(row["target"]),
            str(row["units"]),
            _estimate(row, "similarity_to_target"),
            _estimate(row, "similarity_to_others"),
            _estimate(row, "difference"),
            _number(row["own_similarity"]),
            _estimate(row, "gain"),
            _estimate(row, "specificity"),
        ]
        for row in result.steering.to_dicts()
    ]
    legend = (
        "Steering: similarity of the answers given as a member of the target group to that "
        "group and (mean over groups) to the others;\nown: the model's own answers' similarity "
        "to the target on the same units; gain: targeted minus own; specificity: the gain "
        "toward the target minus the gain toward the others."
    )
    return _table(headers, rows) + "\n\n" + legend


# --------------------------------------------------------------------------------------------
# Figure
# --------------------------------------------------------------------------------------------


def plot(result: Evaluation, path: str | Path) -> Path:
    """Draw the groups side by side as a PNG at ``path``: pick agreement against chance and the
    group's own leave-one-out level, and similarity against the uniform and others baselines.

    Needs matplotlib (Agg backend); the file carries no software or date metadata, so the same
    input gives the same bytes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if result.groups.height == 0:
        raise ValueError("nothing to plot: no prediction without a target")
    rows = result.groups.to_dicts()
    labels = ["null" if row["group"] is None else str(row["group"]) for row in rows]
    x = list(range(len(rows)))
    figure = Figure(figsize=(max(6.0, 1.2 * len(rows) + 4.0), 4.2), dpi=100)
    FigureCanvasAgg(figure)
    panels = figure.subplots(1, 2)
    panel_specs = (
        ("pick_agreement", "Pick agreement", [("human_loo_majority", "group's own (LOO)", "s")]),
        (
            "distributional_similarity",
            "Distributional similarity",
            [("uniform_baseline", "uniform model", "v"), ("others_baseline", "other groups", "^")],
        ),
    )
    for axes, (name, title, baselines) in zip(panels, panel_specs, strict=True):
        values = [row[name] for row in rows]
        below = [
            v - row[f"{name}_low"] if not math.isnan(row[f"{name}_low"]) else 0
            for v, row in zip(values, rows, strict=True)
        ]
        above = [
            row[f"{name}_high"] - v if not math.isnan(row[f"{name}_high"]) else 0
            for v, row in zip(values, rows, strict=True)
        ]
        axes.errorbar(
            x, values, yerr=[below, above], fmt="o", color="tab:blue", capsize=4, label="model"
        )
        for column, label, marker in baselines:
            axes.scatter(
                x, [row[column] for row in rows], marker=marker, color="0.45", label=label, zorder=3
            )
        if name == "pick_agreement":
            axes.axhline(0.25, color="tab:red", linestyle="--", linewidth=0.8, label="chance")
        axes.set_xticks(x, labels)
        axes.set_xlim(-0.6, len(rows) - 0.4)
        axes.set_ylim(0.0, 1.0)
        axes.set_title(title, fontsize=10)
        axes.legend(fontsize=7, loc="best")
    if result.by:
        figure.text(0.5, 0.01, f"groups: {result.by}", ha="center", fontsize=8, color="0.4")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    out = Path(path)
    figure.savefig(out, format="png", metadata={"Software": None})
    return out
