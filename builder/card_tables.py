"""The card's tables of statistics, and how they read back: what the card writer
(:mod:`builder.card`) and the validator (:mod:`builder.validate`) both need.

A table is built as rows of cells, the first row its header, by a ``*_table_rows`` function;
the card prints it with :func:`markdown_table` under its heading (:data:`HEADINGS`), and the
validator parses the printed table back (:func:`parse_card_table`) and compares it, cell by
cell, with the same function run on the data. The counts (headline, rows per split), the
version line and the size category are written and read here too.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import polars as pl

from community_alignment import schema
from community_alignment.formatting import count, decimal, missing, plain, share

SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                   (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]  # fmt: skip

# Agreement and IW intervals: bootstrap over units, as the card states.
RESAMPLES = 1000
SEED = 0
CONFIDENCE = 0.95

# Headings (in dataset_card.md) of the sections whose first table the validator checks.
HEADINGS = {
    "glance": "At a glance",
    "by_country": "Countries",
    "by_language": "Languages",
    "turns": "Conversation length",
    "positions": "Which position gets chosen",
    "agreement": "Do annotators agree?",
    "cross": "Agreement across countries",
    "iw": "Values: the Inglehart-Welzel map",
    "iw_positions": "Country positions",
}
VERSION_LINE = re.compile(r"^Version \*\*(?P<version>[^*]+)\*\*", re.M)


def size_category(rows: int) -> str:
    """The Hub's size category of a row count.

    >>> size_category(233_319), size_category(999)
    ('100K<n<1M', 'n<1K')
    """
    for limit, label in SIZE_CATEGORIES:
        if rows < limit:
            return label
    return "n>10M"


# --- versions -------------------------------------------------------------------------------


def versions() -> list[dict[str, Any]]:
    """``schema/versions.yaml``: the release versions, newest first, checked."""
    entries = schema.load("versions")["versions"]
    if not entries:
        raise ValueError("schema/versions.yaml lists no version")
    for entry in entries:
        missing = [k for k in ("version", "date", "changes") if not entry.get(k)]
        if missing:
            raise ValueError(f"schema/versions.yaml: {entry.get('version')!r} lacks {missing}")
        if not re.fullmatch(r"\d+\.\d+\.\d+", str(entry["version"])):
            raise ValueError(f"schema/versions.yaml: {entry['version']!r} is not MAJOR.MINOR.PATCH")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(entry["date"])):
            raise ValueError(f"schema/versions.yaml: {entry['version']} date is not YYYY-MM-DD")
    order = [tuple(int(p) for p in str(e["version"]).split(".")) for e in entries]
    if order != sorted(order, reverse=True) or len(set(order)) != len(order):
        raise ValueError("schema/versions.yaml: versions must be distinct, newest first")
    return entries


def release_version() -> str:
    """The version of the release a build writes: the newest entry of schema/versions.yaml."""
    return str(versions()[0]["version"])


# --- formatting -------------------------------------------------------------------------------


def estimate(
    value: Any,
    low: Any = None,
    high: Any = None,
    *,
    percent: bool = False,
    no_interval: str | None = None,
) -> str:
    """A value and its interval, e.g. ``0.144 [0.036, 0.227]`` or ``39.2% [30.1, 49.8]``; where
    there is no interval and ``no_interval`` says why, the reason in its place.

    >>> estimate(0.5, 0.25, 0.75), estimate(0.5, 0.25, 0.75, percent=True), estimate(0.5)
    ('0.500 [0.250, 0.750]', '50.0% [25.0, 75.0]', '0.500')
    >>> estimate(0.5, None, None, no_interval="only 1 unit to resample")
    '0.500 [n/a: only 1 unit to resample]'
    """
    if missing(value):
        return "n/a"
    text = share(value) if percent else decimal(value)
    if missing(low) or missing(high):
        return f"{text} [n/a: {no_interval}]" if no_interval else text
    if percent:
        return f"{text} [{low * 100:.1f}, {high * 100:.1f}]"
    return f"{text} [{decimal(low)}, {decimal(high)}]"


def country_label(code: str) -> str:
    names = {v["code"]: v["name"] for v in schema.vocabulary("countries")["values"]}
    return f"{names.get(code, code)} (`{code}`)"


def language_label(code: str) -> str:
    names = {v["code"]: v["name"] for v in schema.vocabulary("languages")["values"]}
    return f"{names.get(code, code)} (`{code}`)"


def markdown_table(rows: list[list[str]], numeric_from: int = 1) -> str:
    """Rows of cells (the first the header) as a markdown table; columns from
    ``numeric_from`` are right-aligned."""
    header, *body = rows
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    return "\n".join("| " + " | ".join(row) + " |" for row in [header, align, *body])


# --- the tables the validator checks (rows of cells, header first) ----------------------------


def glance_table_rows(stats: dict) -> list[list[str]]:
    return [
        ["statistic", "value"],
        ["comparisons with an explanation", share(stats["share_with_explanation"])],
        ["comparisons not in English", share(stats["share_not_english"])],
        ["conversations whose first prompt the annotator wrote",
         share(stats["share_annotator_written_first_prompt"])],
        ["first prompts with at least 10 annotators",
         count(stats["first_prompts_with_10_annotators"])],
        ["units with at least 10 annotators", count(stats["units_with_10_annotators"])],
        ["units with at least 2 annotators", count(stats["units_with_2_annotators"])],
        ["median conversations per annotator",
         plain(stats["median_conversations_per_annotator"])],
        ["comparisons won by the longest candidate",
         share(stats["share_longest_response_chosen"])],
        ["... if every pick were random", share(stats["share_longest_by_chance"])],
    ]  # fmt: skip


def group_table_rows(stats: dict, key: str) -> list[list[str]]:
    """``key`` is ``by_country`` or ``by_language``."""
    title, label = (
        ("country", country_label) if key == "by_country" else ("language", language_label)
    )
    rows = [[title, "conversations", "comparisons", "annotators"]]
    for code, row in stats[key].items():
        rows.append(
            [label(code), count(row["conversations"]), count(row["comparisons"]),
             count(row["annotators"])]
        )  # fmt: skip
    return rows


def turns_table_rows(stats: dict) -> list[list[str]]:
    turns = stats["conversations_by_turns"]
    total = sum(turns.values())
    rows = [["turns", "conversations", "share"]]
    rows += [[str(k), count(n), share(n / total if total else math.nan)] for k, n in turns.items()]
    return rows


def positions_table_rows(stats: dict) -> list[list[str]]:
    letters = list(stats["position_shares"])
    rows = [["country", "comparisons", *(f"chose {letter.upper()}" for letter in letters)]]
    for code, shares in stats["position_shares_by_country"].items():
        n = stats["by_country"].get(code, {}).get("comparisons", 0)
        rows.append([country_label(code), count(n), *(share(shares[k]) for k in letters)])
    rows.append(
        ["all", count(stats["comparisons"]), *(share(stats["position_shares"][k]) for k in letters)]
    )
    return rows


def ordered_agreement(table: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``agreement(..., by="country")`` in the schema's country order."""
    order = {code: i for i, code in enumerate(schema.codes("countries"))}
    rows = table.to_dicts()
    return sorted(rows, key=lambda r: (order.get(r["country"], len(order)), str(r["country"])))


def agreement_table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = [["country", "picks", "units (≥ 2 picks)", "pairs of picks", "Krippendorff's α [95% CI]",
            "pairwise agreement [95% CI]", "chance agreement"]]  # fmt: skip
    for row in rows:
        why = row.get("interval_undefined_reason")
        out.append(
            [
                country_label(row["country"]),
                count(row["picks"]),
                count(row["units"]),
                count(row["pairs"]),
                estimate(
                    row["alpha"], row.get("alpha_low"), row.get("alpha_high"), no_interval=why
                ),
                estimate(
                    row["pairwise_pooled"],
                    row.get("pairwise_pooled_low"),
                    row.get("pairwise_pooled_high"),
                    percent=True,
                    no_interval=why,
                ),
                share(row["chance_marginal"]),
            ]
        )
    return out


def cross_table_rows(table: pl.DataFrame | None) -> list[list[str]]:
    """Country pairs that share units, from ``iw.distance_vs_disagreement(...).table``."""
    rows = [["countries", "IW distance", "shared units", "pairs of picks",
             "agreement [95% CI]"]]  # fmt: skip
    if table is None:
        return rows
    order = {code: i for i, code in enumerate(schema.codes("countries"))}
    shared = [r for r in table.to_dicts() if r["pairs"]]
    for r in sorted(shared, key=lambda r: sorted((order[r["country_a"]], order[r["country_b"]]))):
        a, b = sorted((r["country_a"], r["country_b"]), key=order.__getitem__)
        rows.append(
            [f"`{a}` and `{b}`", decimal(r["distance"], 2), count(r["units"]), count(r["pairs"]),
             estimate(r["agreement"], r.get("agreement_low"), r.get("agreement_high"),
                      percent=True)]
        )  # fmt: skip
    return rows


def agreement_analysis(comparisons: pl.DataFrame | pl.LazyFrame) -> tuple[list[dict], Any]:
    """Agreement by country (rows in country order) and ``iw.distance_vs_disagreement``, with
    the card's bootstrap parameters; ``([], None)`` when there is no comparison."""
    from community_alignment import iw
    from community_alignment.agreement import ANNOTATOR, CHOICE, COMPARISON, ITEM, agreement

    # the columns both need, read once
    picks = comparisons.lazy().select(ITEM, CHOICE, ANNOTATOR, iw.COUNTRY, COMPARISON).collect()
    if picks.is_empty():
        return [], None
    with warnings.catch_warnings():
        # an annotator's repeated pick on a unit is dropped, as the card says
        warnings.simplefilter("ignore", UserWarning)
        table = agreement(picks, by=iw.COUNTRY, n_resamples=RESAMPLES, seed=SEED)
        cross = iw.distance_vs_disagreement(picks, n_resamples=RESAMPLES, seed=SEED)
    return ordered_agreement(table), cross


# --- the Inglehart-Welzel tables ----------------------------------------------------------


def iw_positions_table_rows() -> list[list[str]]:
    """The reference positions of the release's countries on the IW map (survey data shipped
    with the library, not the release's)."""
    from community_alignment import iw

    table = iw.country_positions().filter(pl.col("in_release"))
    order = {code: i for i, code in enumerate(schema.codes("countries"))}
    rows = [["country", "survey year", "traditional (−) / secular-rational (+)",
             "survival (−) / self-expression (+)"]]  # fmt: skip
    for row in sorted(table.to_dicts(), key=lambda r: order[r["iso2"]]):
        rows.append(
            [country_label(row["iso2"]), str(row["survey_year"]),
             decimal(row[iw.AXES[0]], 2), decimal(row[iw.AXES[1]], 2)]
        )  # fmt: skip
    return rows


def iw_summary(root: Any, labels: Any) -> Any:
    """``iw.summarize`` of the release folder ``root`` with the labels file ``labels``, by
    country, with the card's bootstrap parameters (an ``iw.IWSummary``)."""
    from community_alignment import iw

    return iw.summarize(
        root, iw.load_labels(labels), by="country", n_resamples=RESAMPLES, seed=SEED
    )


def _by_country(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {r["country"]: r for r in frame.to_dicts()}


def _iw_countries(summary: Any) -> list[str]:
    """The countries of the IW tables: those with labelled choices, in the schema's order;
    none without a summary (the tables are then their header alone)."""
    if summary is None:
        return []
    choices = _by_country(summary.choices)
    return [c for c in schema.codes("countries") if c in choices]


def iw_choices_table_rows(summary: Any) -> list[list[str]]:
    """Per country, the share of labelled choices of each pole, and of a non-default pole
    (the header alone when ``summary``, an ``iw.IWSummary``, is None; so for the next two)."""
    from community_alignment import iw

    countries = _iw_countries(summary)
    choices = _by_country(summary.choices) if countries else {}
    gap = _by_country(summary.gap) if countries else {}
    rows = [["country", "labelled choices", *iw.POLES, "traditional or survival [95% CI]"]]
    for code in countries:
        c, g = choices[code], gap[code]
        rows.append(
            [country_label(code), count(c["labelled_choices"]),
             *(share(c[iw.POLE_COLUMNS[p]]) for p in iw.POLES),
             estimate(g["non_default_share"], g.get("non_default_share_low"),
                      g.get("non_default_share_high"), percent=True)]
        )  # fmt: skip
    return rows


def iw_coverage_table_rows(summary: Any) -> list[list[str]]:
    """Per country, the share of fully labelled candidate sets holding a response of a pole."""
    countries = _iw_countries(summary)
    coverage = _by_country(summary.coverage) if countries else {}
    rows = [["country", "labelled sets", "traditional", "survival", "traditional or survival"]]
    for code in countries:
        c = coverage[code]
        rows.append(
            [country_label(code), count(c["labelled_sets"]), share(c["traditional"]),
             share(c["survival"]), share(c["non_default"])]
        )  # fmt: skip
    return rows


def iw_scores_table_rows(summary: Any) -> list[list[str]]:
    """Per country, the mean scores of the chosen responses on the two axes."""
    from community_alignment import iw

    countries = _iw_countries(summary)
    positions = _by_country(summary.positions) if countries else {}
    rows = [["country", "scored choices", "traditional / secular-rational [95% CI]",
             "survival / self-expression [95% CI]"]]  # fmt: skip
    for code in countries:
        p = positions[code]
        rows.append(
            [country_label(code), count(p["scored_choices"]),
             *(estimate(p[f"chosen_{axis}"], p.get(f"chosen_{axis}_low"),
                        p.get(f"chosen_{axis}_high")) for axis in iw.AXES)]
        )  # fmt: skip
    return rows


# --- the counts, and reading the tables back -----------------------------------------------


def split_table(totals: dict[str, dict[str, dict[str, int]]], configs: list[str]) -> str:
    """The "Rows per split" table: a row per config, a column per country and the total, from
    ``builder.card.split_rows``'s config -> split -> {rows, bytes}."""
    countries = schema.codes("countries")
    lines = [
        "| config | " + " | ".join(countries) + " | total |",
        "|---|" + "---:|" * (len(countries) + 1),
    ]
    for config in configs:
        cells = [totals[config].get(c, {"rows": 0})["rows"] for c in countries]
        lines.append(
            f"| `{config}` | " + " | ".join(f"{n:,}" for n in cells) + f" | {sum(cells):,} |"
        )
    return "\n".join(lines)


def parse_split_table(text: str) -> dict[str, int]:
    """The card's "Rows per split" table as {"<config>/<split>": rows, "<config>/total": rows}."""
    section = re.search(r"^#+\s*Rows per split\s*$(.*?)(?=^#|\Z)", text, flags=re.M | re.S)
    if not section:
        return {}
    rows = [line.strip() for line in section.group(1).splitlines() if line.strip().startswith("|")]
    if len(rows) < 2:
        return {}
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    numbers = {}
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        config = cells[0].strip("`")
        for column, cell in zip(header[1:], cells[1:], strict=False):
            value = cell.replace(",", "").replace("\u202f", "")
            numbers[f"{config}/{column}"] = int(value) if value.isdigit() else -1
    return numbers


HEADLINE = {
    "comparisons": "comparisons",
    "conversations": "conversations",
    "annotators": "annotators",
    "pairs": "preference pairs",
}


def parse_headline(text: str) -> dict[str, int]:
    """The headline's bold counts, e.g. **1,234 comparisons**, as {"comparisons": 1234}."""
    numbers = {}
    for key, words in HEADLINE.items():
        match = re.search(r"\*\*([\d,]+) " + re.escape(words) + r"\*\*", text)
        if match:
            numbers[key] = int(match.group(1).replace(",", ""))
    return numbers


def without_code(text: str) -> str:
    """The card's text with fenced code blocks removed (their `#` lines are not headings)."""
    return re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.M | re.S)


def parse_card_table(text: str, heading: str, header: list[str] | None = None) -> dict[str, str]:
    r"""The first table under the heading ``heading`` (any level), or the first whose header
    row is ``header``, as {"<row>/<column>": cell}.

    ``<row>`` is the row's first cell, ``<column>`` the header of the cell's column. The
    section runs to the next heading; {} when there is no such heading or table.

    >>> parse_card_table("## Sizes\n\n| table | rows |\n|---|---:|\n| a | 1,234 |\n", "Sizes")
    {'a/rows': '1,234'}
    """
    pattern = r"^#+[ \t]*" + re.escape(heading) + r"[ \t]*$(.*?)(?=^#|\Z)"
    section = re.search(pattern, without_code(text), flags=re.M | re.S)
    if not section:
        return {}
    tables: list[list[list[str]]] = []
    previous = False
    for line in section.group(1).splitlines():
        cells = line.strip()
        if cells.startswith("|"):
            if not previous:
                tables.append([])
            tables[-1].append([c.strip() for c in cells.strip("|").split("|")])
        previous = cells.startswith("|")
    rows = next((t for t in tables if header is None or t[0] == header), [])
    if len(rows) < 2:
        return {}
    return {
        f"{row[0]}/{column}": cell
        for row in rows[2:]
        for column, cell in zip(rows[0][1:], row[1:], strict=False)
    }


def table_cells(rows: list[list[str]]) -> dict[str, str]:
    """Rows of cells (header first, as builder.card builds them) as {"<row>/<column>": cell}."""
    header, *body = rows
    return {
        f"{row[0]}/{column}": cell
        for row in body
        for column, cell in zip(header[1:], row[1:], strict=False)
    }
