"""The headline statistics of a release, recomputed from its files (the card prints the same).

:func:`describe` reads a release folder or ``hf://`` path with lazy scans of two configs,
``comparisons`` and ``conversations``, reading only the columns it needs;
:func:`statistics` computes the same numbers from those two tables given as polars frames
(the release validator passes the frames it has already read). What each number means:

* ``comparisons``, ``conversations``: rows of the two tables; ``annotators``: distinct
  annotators of the conversations (every annotator in ``annotators`` has one).
* ``by_country`` / ``by_language``: conversations, comparisons and distinct annotators per
  country / language (an annotator who worked in two languages counts in both).
* ``conversations_by_turns``: conversations by number of turns (the turn-length mix).
* ``share_with_explanation``: comparisons with a non-null explanation.
* ``share_not_english``: comparisons whose language is not ``en``.
* ``share_annotator_written_first_prompt``: conversations whose first prompt the annotator
  wrote (``is_pregenerated_first_prompt`` false).
* ``first_prompts_with_10_annotators``: distinct first prompts (``first_prompt_id``) with
  conversations by at least 10 distinct annotators.
* ``units_with_10_annotators`` / ``units_with_2_annotators``: distinct units (``item_id``: the
  same context, prompt and four candidates in the same order) picked on by at least 10 / 2
  distinct annotators.
* ``median_conversations_per_annotator``.
* ``position_shares``: the share of comparisons whose choice is each position (a-d);
  ``position_shares_by_country`` the same per country.
* ``share_longest_response_chosen``: comparisons whose chosen response is the longest present
  candidate (in characters; a chosen response tied for longest counts);
  ``share_longest_by_chance``: the same share if every pick were uniformly random among the
  present candidates (per comparison, tied longest / present candidates, averaged).

Shares of an empty table are NaN.

>>> import polars as pl
>>> comparisons = pl.DataFrame({
...     "annotator_id": ["1", "2", "2"], "country": ["us", "us", "in"],
...     "language": ["en", "en", "hi"], "choice": [0, 1, 1],
...     "explanation": ["short", None, None], "item_id": ["x", "x", "y"],
...     "responses": [["long answer", "no", "ok", None]] * 2 + [["a", "bb", "bb", "c"]],
... })
>>> conversations = pl.DataFrame({
...     "annotator_id": ["1", "2", "2"], "country": ["us", "us", "in"],
...     "language": ["en", "en", "hi"], "num_turns": [1, 1, 1],
...     "is_pregenerated_first_prompt": [True, True, False],
...     "first_prompt_id": ["p", "p", None],
... })
>>> stats = statistics(comparisons, conversations)
>>> stats["share_longest_response_chosen"], stats["share_longest_by_chance"]   # x: a; y: b, c tie
(0.6666666666666666, 0.38888888888888884)
>>> stats["position_shares"]["b"], stats["by_country"]["us"]
(0.6666666666666666, {'conversations': 2, 'comparisons': 2, 'annotators': 2})
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import types
from pathlib import Path
from typing import Any

import polars as pl

from community_alignment import schema
from community_alignment.formatting import json_ready, plain, share
from community_alignment.load import scan

__all__ = ["COMPARISON_COLUMNS", "CONVERSATION_COLUMNS", "describe", "render", "statistics"]

COMPARISON_COLUMNS = (
    "annotator_id", "country", "language", "choice", "explanation", "item_id", "responses",
)  # fmt: skip
CONVERSATION_COLUMNS = (
    "annotator_id", "country", "language", "num_turns", "is_pregenerated_first_prompt",
    "first_prompt_id",
)  # fmt: skip
THRESHOLD = 10  # annotators a first prompt or a unit needs to count as widely shared


def _lazy(frame: pl.DataFrame | pl.LazyFrame, columns: tuple[str, ...]) -> pl.LazyFrame:
    """The frame as a lazy frame, checked to have ``columns``. Its other columns are not
    selected away: the queries read only what they use, and a selection first made polars
    hold a scan's text in memory (about 170 MB more on the full corpus)."""
    lazy = frame.lazy()
    missing = [c for c in columns if c not in lazy.collect_schema()]
    if missing:
        raise ValueError(f"the frame lacks column(s) the statistics need: {', '.join(missing)}")
    return lazy


def _share(numerator: int | float, total: int) -> float:
    return numerator / total if total else math.nan


def _group_counts(
    comparisons: pl.LazyFrame, conversations: pl.LazyFrame, column: str, order: list[str]
) -> dict[str, dict[str, int]]:
    conv = {
        key: (n, people)
        for key, n, people in conversations.group_by(column)
        .agg(pl.len(), pl.col("annotator_id").n_unique())
        .collect()
        .iter_rows()
    }
    comp = dict(comparisons.group_by(column).len().collect().iter_rows())
    return {
        key: {
            "conversations": conv.get(key, (0, 0))[0],
            "comparisons": comp.get(key, 0),
            "annotators": conv.get(key, (0, 0))[1],
        }
        for key in order
        if key in conv or key in comp
    }


def statistics(
    comparisons: pl.DataFrame | pl.LazyFrame, conversations: pl.DataFrame | pl.LazyFrame
) -> dict[str, Any]:
    """The headline statistics (see the module docstring) from the two tables as polars frames.

    ``comparisons`` needs :data:`COMPARISON_COLUMNS`, ``conversations``
    :data:`CONVERSATION_COLUMNS`; other columns are ignored.
    """
    letters = [str(c) for c in schema.codes("choice")]
    countries = [str(c) for c in schema.codes("countries")]
    comp = _lazy(comparisons, COMPARISON_COLUMNS)
    conv = _lazy(conversations, CONVERSATION_COLUMNS)

    lengths = pl.col("responses").list.eval(pl.element().str.len_chars())
    longest = lengths.list.max()
    scalars = (
        comp.with_columns(lengths.alias("_lengths"))
        .select(
            pl.len().alias("comparisons"),
            pl.col("explanation").is_not_null().sum().alias("explained"),
            (pl.col("language") != "en").sum().alias("not_english"),
            (pl.col("_lengths").list.get(pl.col("choice"), null_on_oob=True) == longest)
            .fill_null(False)
            .sum()
            .alias("longest_chosen"),
            (
                pl.col("_lengths")
                .list.eval((pl.element() == pl.element().max()).sum())
                .list.first()
                / pl.col("_lengths").list.drop_nulls().list.len()
            )
            .sum()
            .alias("longest_by_chance"),
        )
        .collect()
        .row(0, named=True)
    )
    total = scalars["comparisons"]
    per_annotator = conv.group_by("annotator_id").len()
    conv_scalars = (
        conv.select(
            pl.len().alias("conversations"),
            pl.col("annotator_id").n_unique().alias("annotators"),
            (~pl.col("is_pregenerated_first_prompt")).sum().alias("annotator_written"),
        )
        .collect()
        .row(0, named=True)
    )
    median = per_annotator.select(pl.col("len").median()).collect().item()
    first_prompts = (
        conv.filter(pl.col("first_prompt_id").is_not_null())
        .group_by("first_prompt_id")
        .agg(pl.col("annotator_id").n_unique().alias("people"))
        .filter(pl.col("people") >= THRESHOLD)
        .select(pl.len())
        .collect()
        .item()
    )
    units = (
        comp.group_by("item_id")
        .agg(pl.col("annotator_id").n_unique().alias("people"))
        .select(
            (pl.col("people") >= THRESHOLD).sum().alias("ten"),
            (pl.col("people") >= 2).sum().alias("two"),
        )
        .collect()
        .row(0, named=True)
    )
    positions = comp.group_by("country", "choice").len().collect()
    by_country: dict[str, dict[int, int]] = {}
    for country, choice, n in positions.iter_rows():
        by_country.setdefault(country, {})[choice] = n

    def shares(counts: dict[int, int]) -> dict[str, float]:
        n = sum(counts.values())
        return {letter: _share(counts.get(i, 0), n) for i, letter in enumerate(letters)}

    overall: dict[int, int] = {}
    for counts in by_country.values():
        for choice, n in counts.items():
            overall[choice] = overall.get(choice, 0) + n
    conversations_total = conv_scalars["conversations"]
    return {
        "comparisons": total,
        "conversations": conversations_total,
        "annotators": conv_scalars["annotators"],
        "by_country": _group_counts(comp, conv, "country", countries),
        "by_language": _group_counts(comp, conv, "language", schema.codes("languages")),
        "conversations_by_turns": {
            int(k): v
            for k, v in sorted(conv.group_by("num_turns").len().collect().iter_rows())
            if k is not None
        },
        "share_with_explanation": _share(scalars["explained"], total),
        "share_not_english": _share(scalars["not_english"], total),
        "share_annotator_written_first_prompt": _share(
            conv_scalars["annotator_written"], conversations_total
        ),
        "first_prompts_with_10_annotators": first_prompts,
        "units_with_10_annotators": units["ten"] or 0,
        "units_with_2_annotators": units["two"] or 0,
        "median_conversations_per_annotator": math.nan if median is None else float(median),
        "position_shares": shares(overall),
        "position_shares_by_country": {
            country: shares(by_country[country]) for country in countries if country in by_country
        },
        "share_longest_response_chosen": _share(scalars["longest_chosen"], total),
        "share_longest_by_chance": _share(scalars["longest_by_chance"] or 0.0, total),
    }


def describe(source: str | Path) -> dict[str, Any]:
    """Headline statistics of a release folder or ``hf://`` path, as a JSON-ready dict.

    It is also ``community_alignment.describe(source)``.
    """
    return statistics(scan(source, "comparisons"), scan(source, "conversations"))


def render(stats: dict) -> str:
    """The statistics as markdown tables (what the CLI prints)."""
    lines = [
        f"- comparisons: {stats['comparisons']:,}; conversations: {stats['conversations']:,}; "
        f"annotators: {stats['annotators']:,}",
        f"- comparisons with an explanation: {share(stats['share_with_explanation'])}; "
        f"not in English: {share(stats['share_not_english'])}",
        f"- conversations whose first prompt the annotator wrote: "
        f"{share(stats['share_annotator_written_first_prompt'])}",
        f"- first prompts with at least 10 annotators: {stats['first_prompts_with_10_annotators']:,};"
        f" units (same context, prompt and candidates) with at least 10 annotators: "
        f"{stats['units_with_10_annotators']:,}, with at least 2: "
        f"{stats['units_with_2_annotators']:,}",
        f"- median conversations per annotator: {plain(stats['median_conversations_per_annotator'])}",
        f"- the longest candidate is chosen in {share(stats['share_longest_response_chosen'])} "
        f"of comparisons (a random pick: {share(stats['share_longest_by_chance'])})",
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
    letters = list(stats["position_shares"])
    lines += ["| chosen position | " + " | ".join(letters) + " |", "|---|" + "---:|" * len(letters)]
    for name, shares in [*stats["position_shares_by_country"].items(), ("all", None)]:
        shares = shares or stats["position_shares"]
        lines.append(f"| {name} | " + " | ".join(share(shares[k]) for k in letters) + " |")
    return "\n".join(lines) + "\n"


def _run(args: argparse.Namespace) -> int:
    stats = describe(args.source)
    print(json.dumps(json_ready(stats), indent=2) if args.json else render(stats), end="")
    return 0


def register_cli(commands: Any) -> None:
    """Add the ``describe`` subcommand to the ``community-alignment`` command."""
    parser = commands.add_parser("describe", help="headline statistics of a release")
    parser.add_argument("source", help="release folder or hf://datasets/ORG/NAME")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(run=_run)


class _CallableModule(types.ModuleType):
    """``community_alignment.describe`` names both this module and :func:`describe`: once the
    module is imported it is the package's attribute, so calling it calls the function."""

    def __call__(self, source: str | Path) -> dict[str, Any]:
        return describe(source)


sys.modules[__name__].__class__ = _CallableModule
