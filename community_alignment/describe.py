"""The headline statistics of a release, recomputed from its files (the card prints the same).

Every number comes from a lazy scan of the release, reading only the columns it needs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl

from community_alignment import schema
from community_alignment.load import scan


def _shares(counts: dict, total: int) -> dict:
    return {k: (v / total if total else float("nan")) for k, v in counts.items()}


def describe(source: str | Path) -> dict:
    """Headline statistics of a release folder or ``hf://`` path, as a JSON-ready dict."""
    letters = [str(c) for c in schema.codes("choice")]
    comparisons = scan(source, "comparisons").select(
        "comparison_id", "annotator_id", "country", "language", "choice", "explanation",
        "item_id", "responses",
    ).collect()  # fmt: skip
    conversations = scan(source, "conversations").select(
        "conversation_id", "annotator_id", "country", "language", "num_turns",
        "is_pregenerated_first_prompt", "first_prompt_id",
    ).collect()  # fmt: skip
    annotators = scan(source, "annotators").select("annotator_id", "num_conversations").collect()

    def by(column: str, order: list[str]) -> dict:
        conv = dict(conversations.group_by(column).len().iter_rows())
        comp = dict(comparisons.group_by(column).len().iter_rows())
        people = dict(
            comparisons.group_by(column).agg(pl.col("annotator_id").n_unique()).iter_rows()
        )
        return {
            key: {"conversations": conv.get(key, 0), "comparisons": comp.get(key, 0),
                  "annotators": people.get(key, 0)}
            for key in order if key in conv or key in comp
        }  # fmt: skip

    total = comparisons.height
    lengths = comparisons["responses"].list.eval(pl.element().str.len_chars())
    longest_wins = (
        comparisons.with_columns(lengths.alias("lengths"))
        .select(
            (pl.col("lengths").list.get(pl.col("choice")) == pl.col("lengths").list.max()).mean()
        )
        .item()
    )
    positions = dict(comparisons.group_by("choice").len().iter_rows())
    first_prompt_annotators = conversations.group_by("first_prompt_id").agg(
        pl.col("annotator_id").n_unique().alias("annotators")
    )
    item_annotators = comparisons.group_by("item_id").agg(
        pl.col("annotator_id").n_unique().alias("annotators")
    )
    return {
        "comparisons": total,
        "conversations": conversations.height,
        "annotators": annotators.height,
        "by_country": by("country", schema.codes("countries")),
        "by_language": by("language", schema.codes("languages")),
        "conversations_by_turns": {
            int(k): v for k, v in sorted(conversations.group_by("num_turns").len().iter_rows())
        },
        "share_with_explanation": comparisons["explanation"].is_not_null().mean(),
        "share_not_english": (comparisons["language"] != "en").mean(),
        "share_annotator_written_first_prompt": (
            ~conversations["is_pregenerated_first_prompt"]
        ).mean(),
        "first_prompts_with_10_annotators": first_prompt_annotators.filter(
            pl.col("first_prompt_id").is_not_null() & (pl.col("annotators") >= 10)
        ).height,
        "units_with_10_annotators": item_annotators.filter(pl.col("annotators") >= 10).height,
        "units_with_2_annotators": item_annotators.filter(pl.col("annotators") >= 2).height,
        "median_conversations_per_annotator": annotators["num_conversations"].median(),
        "position_shares": _shares(
            {letter: positions.get(i, 0) for i, letter in enumerate(letters)}, total
        ),
        "share_longest_response_chosen": longest_wins,
    }


def render(stats: dict) -> str:
    """The statistics as markdown tables (what the card and the CLI print)."""
    lines = [
        f"- comparisons: {stats['comparisons']:,}; conversations: {stats['conversations']:,}; "
        f"annotators: {stats['annotators']:,}",
        f"- comparisons with an explanation: {stats['share_with_explanation']:.1%}; "
        f"not in English: {stats['share_not_english']:.1%}",
        f"- conversations whose first prompt the annotator wrote: "
        f"{stats['share_annotator_written_first_prompt']:.1%}",
        f"- first prompts with at least 10 annotators: {stats['first_prompts_with_10_annotators']:,};"
        f" units (same context, prompt and candidates) with at least 10 annotators: "
        f"{stats['units_with_10_annotators']:,}, with at least 2: "
        f"{stats['units_with_2_annotators']:,}",
        f"- median conversations per annotator: {stats['median_conversations_per_annotator']:g}",
        f"- the longest candidate is chosen in {stats['share_longest_response_chosen']:.1%} "
        "of comparisons",
        "",
    ]
    for key, title in (("by_country", "country"), ("by_language", "language")):
        lines += [f"| {title} | conversations | comparisons | annotators |", "|---|---:|---:|---:|"]
        lines += [
            f"| {name} | {row['conversations']:,} | {row['comparisons']:,} | {row['annotators']:,} |"
            for name, row in stats[key].items()
        ]
        lines.append("")
    turns = stats["conversations_by_turns"]
    lines += ["| turns | " + " | ".join(map(str, turns)) + " |", "|---|" + "---:|" * len(turns)]
    lines += ["| conversations | " + " | ".join(f"{v:,}" for v in turns.values()) + " |", ""]
    shares = stats["position_shares"]
    lines += ["| chosen position | " + " | ".join(shares) + " |", "|---|" + "---:|" * len(shares)]
    lines += ["| share | " + " | ".join(f"{v:.1%}" for v in shares.values()) + " |"]
    return "\n".join(lines) + "\n"


def _run(args: argparse.Namespace) -> int:
    stats = describe(args.source)
    print(json.dumps(stats, indent=2) if args.json else render(stats))
    return 0


def register_cli(commands) -> None:
    parser = commands.add_parser("describe", help="headline statistics of a release")
    parser.add_argument("source", help="release folder or hf://datasets/ORG/NAME")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(run=_run)
