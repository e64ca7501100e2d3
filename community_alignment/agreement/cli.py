"""The ``community-alignment agreement`` command: agreement by group and across groups, as
text tables or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

import polars as pl

from community_alignment.agreement.cross import cross_of
from community_alignment.agreement.picks import choices, group_columns, load_picks
from community_alignment.agreement.summary import agreement_of
from community_alignment.bootstrap import check_parameters
from community_alignment.formatting import (
    interval_notes,
    number,
    records,
    text_table,
    with_interval,
)

__all__ = ["register_cli"]

REASON = "interval_undefined_reason"


def _column_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected one or more comma-separated column names")
    return names


def register_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``agreement`` subcommand to the ``community-alignment`` command."""
    parser = subparsers.add_parser(
        "agreement",
        help="inter-annotator agreement (Krippendorff's alpha, pairwise, LOO majority)",
        description=(
            "Agreement between annotators who picked on the same unit (item_id): Krippendorff's "
            "alpha (nominal), pairwise agreement, leave-one-out majority agreement, choice "
            "entropy and position bias, with bootstrap intervals over units."
        ),
    )
    parser.add_argument("source", help="release folder or hf://datasets/ORG/NAME path")
    parser.add_argument(
        "--by",
        type=_column_list,
        default=None,
        metavar="COLUMN[,COLUMN]",
        help="group by these columns, e.g. country or country,language",
    )
    parser.add_argument(
        "--cross",
        type=_column_list,
        default=None,
        metavar="COLUMN[,COLUMN]",
        help="also print agreement between every pair of groups of these columns",
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=0,
        metavar="N",
        help="bootstrap resamples of units for confidence intervals (default: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="interval coverage (default: 0.95)"
    )
    parser.add_argument(
        "--pregenerated-only",
        action="store_true",
        help="only conversations whose first prompt was pregenerated",
    )
    parser.add_argument(
        "--balanced-10",
        action="store_true",
        help="only the prompt-overlap subset (in_balanced_subset_10)",
    )
    parser.add_argument("--turn", type=int, default=None, metavar="N", help="only turn N")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(run=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    by = args.by or []
    cross = args.cross or []
    check_parameters(args.resamples, args.confidence)
    group_columns(by)
    if args.cross is not None:
        group_columns(cross)
    frame = load_picks(
        args.source,
        by=list(dict.fromkeys(by + cross)),
        pregenerated_only=args.pregenerated_only,
        balanced_10_only=args.balanced_10,
        turn=args.turn,
    )
    table = agreement_of(frame, by, args.resamples, args.seed, args.confidence)
    crossed = cross_of(frame, cross, args.resamples, args.seed, args.confidence) if cross else None
    filters = {
        "pregenerated_only": args.pregenerated_only,
        "balanced_10_only": args.balanced_10,
        "turn": args.turn,
    }
    if args.json:
        output: dict[str, Any] = {
            "source": str(args.source),
            "by": by,
            "filters": filters,
            "n_resamples": args.resamples,
            "seed": args.seed,
            "confidence": args.confidence,
            "agreement": records(table),
        }
        if crossed is not None:
            output["cross_by"] = cross
            output["cross"] = records(crossed)
        print(json.dumps(output, indent=2, ensure_ascii=False))
        return 0
    active = [f"{k}={v}" for k, v in filters.items() if v not in (False, None)]
    print(f"Agreement in {args.source}" + (f" ({', '.join(active)})" if active else ""))
    if args.resamples:
        print(
            f"intervals: {args.confidence:.0%} bootstrap percentile over units, "
            f"{args.resamples} resamples, seed {args.seed}"
        )
    print()
    print(_render_agreement(table, by))
    if crossed is not None:
        print()
        print(f"Cross-group pairwise agreement by {', '.join(cross)} (each pair once)")
        print(_render_cross(crossed))
    return 0


def _render_agreement(table: pl.DataFrame, by: list[str]) -> str:
    letters = choices()
    headers = [
        *by,
        "picks",
        "units",
        "pairs",
        "alpha",
        "pairwise",
        "unit mean",
        "chance",
        "LOO majority",
        "H median",
        "H mean",
        *letters,
    ]
    rows, notes, reasons = [], [], []
    for row in table.to_dicts():
        label = [number(row[c]) if row[c] is not None else "null" for c in by]
        name = "/".join(label) or "overall"
        if row["alpha_undefined_reason"] is not None:
            notes.append(f"alpha {name}: {row['alpha_undefined_reason']}")
        reasons.append((name, row.get(REASON)))
        rows.append(
            [
                *label,
                str(row["picks"]),
                str(row["units"]),
                str(row["pairs"]),
                with_interval(row, "alpha"),
                with_interval(row, "pairwise_pooled"),
                number(row["pairwise_unit_mean"]),
                number(row["chance_marginal"]),
                with_interval(row, "loo_majority"),
                number(row["entropy_median"]),
                number(row["entropy_mean"]),
                *(number(row[f"share_{letter}"]) for letter in letters),
            ]
        )
    legend = [
        "Agreement statistics use units (item_id) with two or more picks.",
        "pairwise: agreeing share of all pairs of picks on a unit (pooled); unit mean: "
        "averaged over units;",
        "chance: sum of squared choice shares of the paired picks (uniform chance: "
        f"{1 / len(letters):.3f}); H: choice entropy of a unit in bits;",
        f"{letters[0]}..{letters[-1]}: share of all picks, singletons included (position bias).",
    ]
    notes += interval_notes(reasons)
    return "\n".join([text_table(headers, rows, left=len(by)), "", *legend, *notes])


def _render_cross(crossed: pl.DataFrame) -> str:
    headers = ["group a", "group b", "units", "pairs", "agreement"]
    rows, reasons = [], []
    seen: set[tuple[Any, Any]] = set()
    for row in crossed.to_dicts():
        key = (row["group_a"], row["group_b"])
        if (key[1], key[0]) in seen:
            continue
        seen.add(key)
        names = ["null" if group is None else str(group) for group in key]
        rows.append([*names, str(row["units"]), str(row["pairs"]), with_interval(row, "agreement")])
        reasons.append((" - ".join(names), row.get(REASON)))
    return "\n".join([text_table(headers, rows, left=2), *interval_notes(reasons)])
