"""The ``community-alignment iw`` command: with labels, the IW summaries as text tables or
JSON; without, the reference positions and IW distance against cross-country disagreement;
and the map on request."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import polars as pl

from community_alignment.formatting import (
    interval_notes,
    number,
    records,
    text_table,
    with_interval,
)
from community_alignment.iw.distance import distance_vs_disagreement
from community_alignment.iw.labels import load_labels
from community_alignment.iw.map import country_positions, plot_map
from community_alignment.iw.poles import AXES, COUNTRY, LLM_DEFAULT_POLES
from community_alignment.iw.summary import summarize

__all__ = ["frame_table", "register_cli"]

REASON = "interval_undefined_reason"


def frame_table(frame: pl.DataFrame, keys: Sequence[str] = ()) -> str:
    """A text table of ``frame``; ``x_low``/``x_high`` go into ``x``'s cell as ``[low, high]``.

    The ``keys`` columns are left-aligned and show a null as ``null``. A row's
    ``interval_undefined_reason`` becomes a note under the table, naming the row by its keys.

    >>> print(frame_table(pl.DataFrame({"g": ["a"], "x": [0.5], "x_low": [0.25], "x_high": [0.75]}),
    ...                   ["g"]))
    g                   x
    -  ------------------
    a  0.500 [0.25, 0.75]
    """  # noqa: E501
    columns = [c for c in frame.columns if not c.endswith(("_low", "_high")) and c != REASON]
    rows, reasons = [], []
    for row in frame.iter_rows(named=True):
        cells = [
            "null" if column in keys and row[column] is None else with_interval(row, column, 2)
            for column in columns
        ]
        rows.append(cells)
        name = "/".join(cell for column, cell in zip(columns, cells, strict=True) if column in keys)
        reasons.append((name or "overall", row.get(REASON)))
    left = [i for i, column in enumerate(columns) if column in keys]
    return "\n".join([text_table(columns, rows, left=left), *interval_notes(reasons)])


def register_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``iw`` subcommand to the ``community-alignment`` command."""
    parser = subparsers.add_parser(
        "iw",
        help="Inglehart-Welzel values: pole coverage, choices and positions, or distance vs "
        "disagreement",
        description=(
            "With --labels (a CSV/Parquet labelling of the candidate responses by "
            "response_key): pole coverage of the candidate sets, the share of choices per pole, "
            "the mean position of chosen responses and the gap to the LLM-default poles, per "
            "group, with bootstrap intervals over units. Without labels: the countries' "
            "reference positions and their IW distance beside cross-country disagreement."
        ),
    )
    parser.add_argument("source", help="release folder or hf://datasets/ORG/NAME path")
    parser.add_argument("--labels", metavar="FILE", help="IW labels of the responses")
    parser.add_argument(
        "--by",
        default=None,
        metavar="COLUMN[,COLUMN]",
        help="group the labelled summaries by these columns, or 'none' (default: country)",
    )
    parser.add_argument(
        "--resamples", type=int, default=1000, metavar="N", help="bootstrap resamples (0: none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="interval coverage (default: 0.95)"
    )
    parser.add_argument("--plot", metavar="OUT.png", help="also draw the IW map to this PNG")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(run=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    output: dict[str, Any] = {"source": str(args.source), "labels": args.labels}
    text: list[str] = []
    notes: list[str] = []
    summary = None
    if args.labels:
        given = args.by or COUNTRY
        by = None if given.lower() == "none" else [c.strip() for c in given.split(",") if c.strip()]
        summary = summarize(
            args.source,
            load_labels(args.labels),
            by=by,
            n_resamples=args.resamples,
            seed=args.seed,
            confidence=args.confidence,
        )
        output |= summary.to_dict()
        cover = summary.label_coverage
        text += [
            f"IW summaries of {args.source} with labels {args.labels} "
            f"({', '.join(summary.labellers)}), by {', '.join(summary.by) or 'none'}",
            f"labels: {cover['labelled_responses']} of {cover['corpus_responses']} responses "
            f"labelled ({cover['share_labelled']:.1%}), {cover['labelled_with_scores']} with "
            f"scores; {cover['labels_not_in_corpus']} labels are for responses not in this "
            "source",
        ]
        if args.resamples:
            text.append(
                f"intervals: {args.confidence:.0%} bootstrap percentile over units, "
                f"{args.resamples} resamples, seed {args.seed}"
            )
        headings = {
            "coverage": "Candidate sets holding a response of each pole (share of labelled sets)",
            "choices": "Share of labelled choices that went to each pole",
            "positions": "Mean scores of chosen responses and of the candidates shown",
            "gap": "Gap to the LLM-default poles (" + ", ".join(LLM_DEFAULT_POLES) + ")",
        }
        for name, table in summary.tables().items():
            text += ["", headings[name], frame_table(table, summary.by)]
    else:
        if args.by is not None:
            notes.append("--by applies to labelled summaries only; ignored without --labels")
        positions = country_positions()
        result = distance_vs_disagreement(
            args.source, n_resamples=args.resamples, seed=args.seed, confidence=args.confidence
        )
        output |= {
            "country_positions": records(positions),
            "distance_vs_disagreement": result.to_dict(),
        }
        text += [
            "Reference positions (Integrated Values Surveys factor scores; positive = "
            f"{LLM_DEFAULT_POLES[0]}, {LLM_DEFAULT_POLES[1]})",
            frame_table(
                positions.select("country", "iso2", "survey_year", *AXES, "in_release"),
                ["country", "iso2"],
            ),
            "source: " + positions["source"][0],
            "",
            f"IW distance vs cross-country disagreement in {args.source}",
            frame_table(result.table, ["country_a", "country_b"]),
            f"correlation over {result.n_pairs} country pairs with shared units: Pearson "
            f"{number(result.pearson)}, Spearman {number(result.spearman)}"
            + (f" ({result.reason})" if result.reason else ""),
        ]
        if result.countries_without_position:
            text.append(
                "no reference position for: " + ", ".join(result.countries_without_position)
            )
    if args.plot:
        plotted = summary if summary is not None and summary.by == [COUNTRY] else None
        if summary is not None and plotted is None:
            notes.append("the map shows chosen positions only for a summary by country")
        output["plot"] = str(plot_map(args.plot, summary=plotted))
        text += ["", f"map written to {args.plot}"]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(output, indent=2, ensure_ascii=False))
    else:
        print("\n".join(text))
    return 0
