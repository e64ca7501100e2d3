"""Checks of the numbers the card states against the same numbers computed from the data:
rows per split, headline counts and every table of statistics (:data:`CARD_STATISTICS`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from builder import card_tables
from builder.card_tables import parse_card_table, parse_headline, parse_split_table, table_cells
from builder.validate.reader import Release
from builder.validate.registry import Problem, check
from community_alignment import schema


def data_split_table(release: Release) -> dict[str, int]:
    numbers = {}
    for config, splits in release.expected_configs.items():
        total = 0
        for country in schema.codes("countries"):
            rows = sum(release.rows_of[f] for f in splits.get(country, []))
            numbers[f"{config}/{country}"] = rows
            total += rows
        numbers[f"{config}/total"] = total
    return numbers


def data_headline(release: Release) -> dict[str, int]:
    return {table: release.table_rows(table) for table in card_tables.HEADLINE}


def _card_data(release: Release) -> dict[str, Any]:
    """What the card's statistics tables are recomputed from, computed once per release: the
    statistics of community_alignment.describe, and agreement by country and across countries
    with the card's bootstrap parameters, all from the rows the other checks read."""
    cache = release.__dict__.setdefault("_card_data", {})
    if not cache:
        from community_alignment.describe import statistics

        comparisons = release.scan("comparisons")  # lazy: only the columns needed are read
        cache["stats"] = statistics(comparisons, release.scan("conversations"))
        cache["agreement"], cache["cross"] = card_tables.agreement_analysis(comparisons)
    return cache


class NotRecomputable(Exception):
    """The release alone does not give these numbers; the message says what would."""


def _iw_summary(release: Release) -> Any:
    """The IW summary the card shows, from the labels given to the validator (as the build
    made it from the labels given to the build); None when the release has no comparisons."""
    if release.iw_labels is None:
        raise NotRecomputable(
            "they summarise IW labels, which a release does not hold: validate with "
            "`--iw-labels FILE`, the labels the build was given"
        )
    if "_iw_summary" not in release.__dict__:
        has_comparisons = release.table_rows("comparisons") > 0
        summary = (
            card_tables.iw_summary(release.root, release.iw_labels) if has_comparisons else None
        )
        release.__dict__["_iw_summary"] = summary
    return release.__dict__["_iw_summary"]


def _card_table_statistic(
    heading_key: str, rows: Callable[[Release], list[list[str]]], header: list[str] | None
) -> tuple:
    """(parse, compute) for a card table: parse its cells under its heading (the table with
    ``header`` when the section has several); recompute them."""
    heading = card_tables.HEADINGS[heading_key]

    def parse(text: str) -> dict[str, str]:
        return parse_card_table(text, heading, header)

    def compute(release: Release) -> dict[str, str]:
        return table_cells(rows(release))

    return parse, compute


def _stats(release: Release) -> dict:
    return _card_data(release)["stats"]


def _statistics_tables() -> dict[str, tuple[str, Callable, Callable]]:
    """The card's tables of statistics, each with its heading, what it shows, how its rows are
    made from the release, and (in a section of several tables) its header row."""
    ct = card_tables
    tables = {
        "card_glance": ("glance", "The card's at-a-glance statistics",
                        lambda r: ct.glance_table_rows(_stats(r)), None),
        "card_by_country": ("by_country", "The card's counts by country",
                            lambda r: ct.group_table_rows(_stats(r), "by_country"), None),
        "card_by_language": ("by_language", "The card's counts by language",
                             lambda r: ct.group_table_rows(_stats(r), "by_language"), None),
        "card_turns": ("turns", "The card's conversation lengths",
                       lambda r: ct.turns_table_rows(_stats(r)), None),
        "card_positions": ("positions", "The card's chosen positions by country",
                           lambda r: ct.positions_table_rows(_stats(r)), None),
        "card_agreement": ("agreement", "The card's agreement statistics by country, with intervals,",
                           lambda r: ct.agreement_table_rows(_card_data(r)["agreement"]), None),
        "card_cross_country": ("cross", "The card's agreement across countries",
                               lambda r: ct.cross_table_rows(
                                   _card_data(r)["cross"] and _card_data(r)["cross"].table), None),
        "card_iw_positions": ("iw_positions", "The card's IW reference positions of the countries",
                              lambda r: ct.iw_positions_table_rows(), None),
        "card_iw_choices": ("iw", "The card's IW poles of the chosen responses, by country,",
                            lambda r: ct.iw_choices_table_rows(_iw_summary(r)),
                            ct.iw_choices_table_rows(None)[0]),
        "card_iw_coverage": ("iw", "The card's IW poles of the candidate sets, by country,",
                             lambda r: ct.iw_coverage_table_rows(_iw_summary(r)),
                             ct.iw_coverage_table_rows(None)[0]),
        "card_iw_scores": ("iw", "The card's IW mean scores of the chosen responses, by country,",
                           lambda r: ct.iw_scores_table_rows(_iw_summary(r)),
                           ct.iw_scores_table_rows(None)[0]),
    }  # fmt: skip
    return {
        name: (what, *_card_table_statistic(key, rows, header))
        for name, (key, what, rows, header) in tables.items()
    }


# the tables of the card's IW section that summarise the labels given to the build
FROM_LABELS = ("card_iw_choices", "card_iw_coverage", "card_iw_scores")

# check name -> (what is compared, numbers the card states, the same numbers from the data).
# To check another statistic of the card, add a parser and a computation here. Counts compare
# as numbers; the tables of builder.card_tables compare cell by cell as the card prints them.
CARD_STATISTICS: dict[str, tuple[str, Callable[[str], dict], Callable[[Release], dict]]] = {
    "card_split_table": ("The card's rows-per-split numbers", parse_split_table, data_split_table),
    "card_headline": ("The card's headline counts", parse_headline, data_headline),
    **_statistics_tables(),
}


def _shown(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def compare_numbers(stated: dict[str, Any], actual: dict[str, Any]) -> Iterator[Problem]:
    """Problems where the card's numbers and the data's differ, or one side lacks a number."""
    for key, value in actual.items():
        if key not in stated:
            if value:
                yield Problem(key, f"the card does not state it; the data has {_shown(value)}")
        elif stated[key] != value:
            yield Problem(key, f"the card says {_shown(stated[key])}, the data has {_shown(value)}")
    for key in stated:
        if key not in actual:
            yield Problem(
                key, f"the card says {_shown(stated[key])} but the data has no such number"
            )


def _register_statistic(name: str, what: str, parse: Callable, compute: Callable) -> None:
    def run(release: Release):
        stated = parse(release.card[1])
        try:
            actual = compute(release)
        except NotRecomputable as why:
            if stated:  # a table the card shows and the validator cannot check
                yield Problem(what.rstrip(","), f"not recomputed: {why}")
            return
        yield from compare_numbers(stated, actual)

    run.__doc__ = (
        f"{what} equal the data's.\n\nFix: the card's statistics are written from the data by "
        "`builder build`; rebuild the card (never edit numbers by hand)."
    )
    if name in FROM_LABELS:
        run.__doc__ += " Give the validator the IW labels the build was given (`--iw-labels`)."
    check(name, "statistics", needs=("card",))(run)


for _name, (_what, _parse, _compute) in CARD_STATISTICS.items():
    _register_statistic(_name, _what, _parse, _compute)
