"""The release's README.md: YAML (configs, dataset_info) from schema/ and the data, plus prose.

The prose template is ``dataset_card.md`` at the top of the checkout; each ``{{ name }}`` in it
is filled here from schema/, ``schema/versions.yaml``, the build report and the data, never
typed. The statistics come from :func:`community_alignment.describe.describe`, agreement from
:func:`community_alignment.agreement.agreement`, the values section from
:mod:`community_alignment.iw`; the figures (:mod:`builder.figures`) go to ``assets/`` inside
the release and are embedded with relative paths.

The tables the validator checks, their formatting and their headings are in
:mod:`builder.card_tables`, which the validator reads too; this module fills them in.
"""

from __future__ import annotations

import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from builder.card_tables import (
    RESAMPLES,
    SEED,
    agreement_analysis,
    agreement_table_rows,
    count,
    cross_table_rows,
    decimal,
    glance_table_rows,
    group_table_rows,
    iw_choices_table_rows,
    iw_coverage_table_rows,
    iw_positions_table_rows,
    iw_scores_table_rows,
    iw_summary,
    language_label,
    markdown_table,
    missing,
    positions_table_rows,
    release_version,  # noqa: F401 - the build asks the card which version it writes
    share,
    size_category,
    split_table,
    turns_table_rows,
    versions,
)
from builder.release import Shard
from community_alignment import contract, schema

TEMPLATE = Path(__file__).resolve().parent.parent / "dataset_card.md"
ASSETS = "assets"
FIGURES = {
    "positions": f"{ASSETS}/positions_by_country.png",
    "agreement": f"{ASSETS}/agreement_by_country.png",
    "iw_map": f"{ASSETS}/iw_map.png",
}

# --- changelog ------------------------------------------------------------------------------


def changelog() -> str:
    lines = []
    for entry in versions():
        lines += [f"### {entry['version']} ({entry['date']})", ""]
        lines += [f"- {' '.join(str(change).split())}" for change in entry["changes"]]
        lines.append("")
    return "\n".join(lines).rstrip()


# --- YAML ---------------------------------------------------------------------------------------


def split_rows(shards: list[Shard]) -> dict[str, dict[str, dict[str, int]]]:
    """config -> split -> {rows, bytes}; language configs are views of comparisons."""
    totals: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"rows": 0, "bytes": 0})
    )
    for shard in shards:
        targets = [shard.table]
        if shard.table == contract.language_config_table():
            targets.append(shard.language)
        for config in targets:
            totals[config][shard.country]["rows"] += shard.rows
            totals[config][shard.country]["bytes"] += shard.uncompressed_bytes
    return totals


def _ordered_splits(splits: dict) -> list[str]:
    return [c for c in schema.codes("countries") if c in splits]


def config_entries(shards: list[Shard]) -> list[dict]:
    """The card's ``configs:`` block: one data_files glob per split, comparisons the default."""
    totals = split_rows(shards)
    entries = []
    for config in contract.config_names():
        if config not in totals:
            continue
        entry = {"config_name": config}
        if config == contract.default_config():
            entry["default"] = True
        entry["data_files"] = [
            {"split": country, "path": contract.config_glob(config, country)}
            for country in _ordered_splits(totals[config])
        ]
        entries.append(entry)
    return entries


def dataset_info(shards: list[Shard]) -> list[dict]:
    import datasets  # about 0.6 s to import: a build does it aside (see prepare)

    totals = split_rows(shards)
    infos = []
    for entry in config_entries(shards):
        config = entry["config_name"]
        table = contract.table_of_config(config)
        splits = datasets.SplitDict()
        for country in _ordered_splits(totals[config]):
            counts = totals[config][country]
            splits.add(
                datasets.SplitInfo(
                    name=country, num_bytes=counts["bytes"], num_examples=counts["rows"]
                )
            )
        size = sum(c["bytes"] for c in totals[config].values())
        info = datasets.DatasetInfo(
            features=schema.features(table), splits=splits, dataset_size=size
        )
        infos.append({"config_name": config, **info._to_yaml_dict()})
    return infos


def metadata(shards: list[Shard]) -> dict:
    spec = schema.load("release")["card"]
    comparisons = sum(s.rows for s in shards if s.table == "comparisons")
    languages = sorted(
        {s.language for s in shards if s.language}, key=schema.codes("languages").index
    )
    return {
        "license": spec["license"],
        "language": languages,
        "pretty_name": spec["pretty_name"],
        "task_categories": spec["task_categories"],
        "size_categories": [size_category(comparisons)],
        "tags": spec["tags"],
        "configs": config_entries(shards),
        "dataset_info": dataset_info(shards),
    }


def field_table(table: str) -> str:
    lines = [f"### `{table}`", "", schema.table(table)["description"], "",
             "| field | type | null | description |", "|---|---|---|---|"]  # fmt: skip
    for f in schema.fields(table):
        nullable = "yes" if f.get("nullable", True) else "no"
        lines.append(
            f"| `{f['name']}` | {schema.type_label(f['type'])} | {nullable} | {f['description']} |"
        )
    return "\n".join(lines)


# --- the analyses the card shows --------------------------------------------------------------


@dataclass
class Analysis:
    """Everything the card states about the data, computed once from the release folder."""

    stats: dict
    agreement: list[dict[str, Any]]  # agreement by country, in country order
    cross: Any  # iw.DistanceDisagreement
    iw: Any = None  # iw.IWSummary when labels were supplied
    iw_labels: str | None = None  # the labels file's name


def table_frame(root: Path, table: str, shards: list[Shard]) -> pl.LazyFrame:
    """A lazy scan of one table of the release being built (empty, with the table's columns,
    when the build wrote no file of it)."""
    from community_alignment.load import scan

    if any(shard.table == table for shard in shards):
        return scan(root, table)
    return pl.from_arrow(schema.arrow_schema(table).empty_table()).lazy()


def analyse(root: Path, shards: list[Shard], iw_labels: str | Path | None = None) -> Analysis:
    """Everything the card states about the release folder ``root`` (its files written)."""
    from community_alignment.describe import statistics

    comparisons = table_frame(root, "comparisons", shards)
    # the statistics and the agreement bootstraps are polars work that lets go of the GIL:
    # side by side, they take the time of the longer
    with ThreadPoolExecutor(max_workers=1) as pool:
        counted = pool.submit(statistics, comparisons, table_frame(root, "conversations", shards))
        rows, cross = agreement_analysis(comparisons)
        stats = counted.result()
    summary = None
    if iw_labels is not None and stats["comparisons"]:
        summary = iw_summary(root, iw_labels)
    return Analysis(
        stats=stats,
        agreement=rows,
        cross=cross,
        iw=summary,
        iw_labels=Path(iw_labels).name if iw_labels is not None else None,
    )


def prepare(root: Path, iw_labels: str | Path | None = None) -> None:
    """What the card needs that does not depend on the data, so that a build can do it in a
    thread while its stream's workers are in polars and let go of the GIL: import ``datasets``
    and matplotlib (about a second together) and, without IW labels, draw the IW map, which
    then shows the reference positions alone (and pays matplotlib's first-figure setup)."""
    import datasets  # noqa: F401
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    import builder.figures  # noqa: F401
    from community_alignment import iw

    if iw_labels is None:
        (root / ASSETS).mkdir(exist_ok=True)
        iw.plot_map(root / FIGURES["iw_map"])


def draw_figures(root: Path, analysis: Analysis) -> dict[str, str]:
    """Draw the figures into ``root/assets`` (the IW map only with labels: without, ``prepare``
    drew it); returns name -> path relative to the release."""
    from builder import figures
    from community_alignment import iw

    stats = analysis.stats
    shares = {**stats["position_shares_by_country"], "all": stats["position_shares"]}
    counts = {code: row["comparisons"] for code, row in stats["by_country"].items()}
    counts["all"] = stats["comparisons"]
    (root / ASSETS).mkdir(exist_ok=True)
    figures.positions_by_country(root / FIGURES["positions"], shares, counts)
    figures.agreement_by_country(root / FIGURES["agreement"], analysis.agreement, "country")
    if analysis.iw_labels is not None:
        iw.plot_map(root / FIGURES["iw_map"], summary=analysis.iw)
    return dict(FIGURES)


def _image(alt: str, path: str) -> str:
    return f"![{alt}]({path})"


def _agreement_notes(rows: list[dict[str, Any]]) -> str:
    """Why a cell says n/a: one line per reason, naming the countries it applies to."""
    if not rows:
        return "The release has no comparisons, so no agreement."
    undefined: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        if row["alpha_undefined_reason"]:
            what = "α is" if not missing(row["pairwise_pooled"]) else "α and pairwise agreement are"
            undefined.setdefault((what, row["alpha_undefined_reason"]), []).append(row["country"])
    if not undefined:
        return "α is defined for every country."
    return "\n".join(
        f"- {what} n/a for {', '.join(f'`{c}`' for c in countries)}: {reason}."
        for (what, reason), countries in undefined.items()
    )


def _cross_summary(cross: Any) -> str:
    if cross is None:
        return "The release has no comparisons, so no agreement."
    countries = schema.codes("countries")
    possible = len(countries) * (len(countries) - 1) // 2
    shared = cross.table.filter(pl.col("pairs") > 0).height
    if not shared:
        return "No two countries share a unit, so there is no agreement across countries to show."
    text = (
        f"{shared} of the {possible} pairs of countries {'shares' if shared == 1 else 'share'} "
        "units; the others have no unit in common. "
    )
    if missing(cross.pearson):
        text += (
            "The correlation of IW distance with disagreement is n/a: it needs at least 3 pairs "
            f"of countries with shared units, and {cross.n_pairs} "
            f"{'has' if cross.n_pairs == 1 else 'have'} them."
        )
    else:
        text += (
            f"Over those {cross.n_pairs} pairs, IW distance and disagreement (1 − agreement) "
            f"correlate with Pearson r = {decimal(cross.pearson, 2)} (Spearman "
            f"{decimal(cross.spearman, 2)})."
        )
    return text


def _cross_table(cross: Any) -> str:
    rows = cross_table_rows(cross.table if cross is not None else None)
    return markdown_table(rows) if len(rows) > 1 else ""


def _shared_languages(totals: dict) -> str:
    """Which countries wrote in each language, from the language configs' rows per split."""

    def names(codes: list[str]) -> str:
        labels = [
            ("the " if v["name"] == "United States" else "") + v["name"]
            for v in schema.vocabulary("countries")["values"]
            if v["code"] in codes
        ]
        return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]

    shared, single = [], []
    for language in schema.codes("languages"):
        present = [c for c in schema.codes("countries") if totals[language].get(c, {}).get("rows")]
        name = next(v["name"] for v in schema.vocabulary("languages")["values"]
                    if v["code"] == language)  # fmt: skip
        if len(present) > 1:
            shared.append(f"{name} (annotators in {names(present)})")
        elif present:
            single.append(f"{name} ({names(present)})")
    if shared:
        text = "In this release, languages shared by countries: " + "; ".join(shared) + "."
    else:
        text = "In this release, no language is shared by two countries."
    if single:
        text += " Languages of one country: " + ", ".join(single) + "."
    return text


def _reference_note() -> str:
    from community_alignment import iw

    others = iw.country_positions().filter(~pl.col("in_release"))["country"].to_list()
    note = f"the map divides them by {iw.map_scale():g}, the largest coordinate among them"
    if others:
        names = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
        note += f", and also shows {names} for reference"
    return note


def _iw_labelled(analysis: Analysis) -> str:
    if analysis.iw is None:
        return (
            "No labels were supplied to this build, so the map shows only where the countries "
            "sit. With labels (`python -m builder build ... --iw-labels FILE`, or "
            "`community-alignment iw RELEASE --labels FILE`), the card adds which poles each "
            "country's annotators chose and arrows from each country to the mean position of "
            "the responses its annotators chose."
        )
    from community_alignment import iw

    summary = analysis.iw
    cover = summary.label_coverage
    lines = [
        f"Labels: `{analysis.iw_labels}` (labeller: {', '.join(summary.labellers)}), covering "
        f"{count(cover['labelled_responses'])} of the {count(cover['corpus_responses'])} "
        f"distinct candidate responses ({share(cover['share_labelled'])}). Each response has "
        "one pole: its label's, or the pole of its larger score. Intervals: "
        f"{RESAMPLES:,} bootstrap resamples of units, seed {SEED}. On the map, an arrow goes "
        "from a country's reference position to the mean scores of the responses its "
        "annotators chose; the two are on different scales, so read its direction more than "
        "its length.",
        "",
        "**Which poles the chosen responses have** (share of labelled choices):",
        "",
    ]
    lines += [markdown_table(iw_choices_table_rows(summary)), ""]
    lines += ["**Candidate sets holding a response of a pole** (share of fully labelled sets):", ""]
    lines += [markdown_table(iw_coverage_table_rows(summary)), ""]
    lines += ["**Mean scores of the chosen responses** (−1 to +1; positive = "
              f"{iw.LLM_DEFAULT_POLES[0]} / {iw.LLM_DEFAULT_POLES[1]}):", ""]  # fmt: skip
    lines.append(markdown_table(iw_scores_table_rows(summary)))
    return "\n".join(lines)


def _source_line(source: dict) -> str:
    where = f"`{source['origin']}`"
    if source.get("repo_id"):
        where += f" (dataset `{source['repo_id']}`, revision `{source['revision']}`)"
    else:
        where += " (a local copy of the file, not a Hub revision)"
    layout = source.get("layout") or "v1.1"
    if source.get("split"):
        layout += f", {source['split']} file"
    size = f"{source['size_bytes']:,} bytes, " if source.get("size_bytes") is not None else ""
    return f"Built from {where}: layout {layout}, {size}sha256 `{source['sha256']}`."


def _build_table(report: dict) -> str:
    books = report["books"]
    left_out = report.get("pairs_left_out", {}).get("comparisons_with_incomplete_context", 0)
    rows = [
        ["count", "value"],
        ["raw rows (conversations) in the file", count(books["raw_rows"])],
        ["conversations released", count(books["conversations_released"])],
        ["raw rows quarantined", count(books["rows_quarantined"])],
        ["exact duplicate rows dropped", count(books["duplicate_rows_dropped"])],
        ["turns with a recorded choice", count(books["raw_turns_with_choice"])],
        ["comparisons released", count(books["comparisons"])],
        ["turns quarantined", count(books["turns_quarantined"])],
        ["comparisons left out of `pairs` (incomplete context)", count(left_out)],
    ]
    text = markdown_table(rows)
    reasons = report.get("quarantine_reasons") or {}
    if reasons:
        meanings = schema.load("release")["quarantine_reasons"]
        table = [["reason", "entries", "meaning"]]
        table += [[f"`{r}`", count(n), meanings.get(r, "")] for r, n in reasons.items()]
        text += "\n\nQuarantined, by reason:\n\n" + markdown_table(table, numeric_from=1)
    else:
        text += "\n\nNothing was quarantined."
    return text


def _placeholders(
    shards: list[Shard], source: dict, report: dict, repo_id: str, analysis: Analysis
) -> dict[str, str]:
    from community_alignment import __version__

    totals = split_rows(shards)
    configs = [e["config_name"] for e in config_entries(shards)]
    descriptions = {t: schema.table(t)["description"] for t in schema.table_names()}
    config_rows = []
    for config in configs:
        what = descriptions.get(
            config, f"A comparison in {language_label(config)} (same fields as `comparisons`)."
        )
        config_rows.append(
            f"| `{config}` | {what} | {', '.join(_ordered_splits(totals[config]))} |"
        )
    counts = report["counts"]
    headline = (
        f"This release holds **{counts.get('comparisons', 0):,} comparisons** in "
        f"**{counts.get('conversations', 0):,} conversations** by **{counts.get('annotators', 0):,} "
        f"annotators**, and **{counts.get('pairs', 0):,} preference pairs**."
    )
    stats = analysis.stats
    latest = versions()[0]
    return {
        "headline": headline,
        "version_line": f"Version **{latest['version']}** ({latest['date']}); see the "
        "[changelog](#changelog).",
        "glance_table": markdown_table(glance_table_rows(stats)),
        "config_rows": "\n".join(config_rows),
        "split_table": split_table(totals, configs),
        "country_table": markdown_table(group_table_rows(stats, "by_country")),
        "language_table": markdown_table(group_table_rows(stats, "by_language")),
        "turns_table": markdown_table(turns_table_rows(stats)),
        "positions_figure": _image(
            "Share of comparisons won by each position (A-D), by country", FIGURES["positions"]
        ),
        "positions_table": markdown_table(positions_table_rows(stats)),
        "agreement_figure": _image(
            "Krippendorff's alpha and pairwise agreement by country, with 95% intervals and "
            "chance baselines",
            FIGURES["agreement"],
        ),
        "agreement_table": markdown_table(agreement_table_rows(analysis.agreement)),
        "agreement_notes": _agreement_notes(analysis.agreement),
        "resamples": str(RESAMPLES),
        "resamples_text": f"{RESAMPLES:,}",
        "seed": str(SEED),
        "iw_map": _image(
            "The Inglehart-Welzel map: the five countries' reference positions"
            + (
                " and the mean position of the responses their annotators chose"
                if analysis.iw
                else ""
            ),
            FIGURES["iw_map"],
        ),  # fmt: skip
        "iw_labelled": _iw_labelled(analysis),
        "iw_positions_table": markdown_table(iw_positions_table_rows()),
        "iw_reference_note": _reference_note(),
        "cross_table": _cross_table(analysis.cross),
        "cross_summary": _cross_summary(analysis.cross),
        "shared_languages": _shared_languages(totals),
        "field_tables": "\n\n".join(field_table(t) for t in schema.table_names()),
        "repo_id": repo_id,
        "source_line": _source_line(source),
        "source_origin": source["origin"],
        "source_sha256": source["sha256"],
        "build_table": _build_table(report),
        "changelog": changelog(),
        "builder_version": __version__,
    }


def render(
    shards: list[Shard],
    source: dict,
    report: dict,
    repo_id: str | None = None,
    analysis: Analysis | None = None,
    root: Path | None = None,
) -> str:
    """The README text. ``analysis`` (or a release ``root`` to compute it from) is required."""
    repo_id = repo_id or schema.load("release")["card"]["repo_id"]
    if analysis is None:
        if root is None:
            raise ValueError("render needs the analysis, or the release folder to compute it")
        analysis = analyse(root, shards)
    values = _placeholders(shards, source, report, repo_id, analysis)
    prose = re.sub(r"<!--.*?-->\n*", "", TEMPLATE.read_text(encoding="utf-8"), count=1, flags=re.S)

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{TEMPLATE}: unknown placeholder {{{{ {name} }}}}")
        return values[name]

    body = re.sub(r"\{\{\s*(\w+)\s*\}\}", fill, prose)
    body = re.sub(r"\n{3,}", "\n\n", body)  # a placeholder that is empty leaves no gap
    header = yaml.safe_dump(metadata(shards), sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{header}---\n\n{body}"


def write(
    root: Path,
    shards: list[Shard],
    source: dict,
    report: dict,
    repo_id: str | None = None,
    iw_labels: str | Path | None = None,
) -> None:
    """Write README.md and its figures (``assets/*.png``) into the release folder being built
    (after :func:`prepare`)."""
    analysis = analyse(root, shards, iw_labels)
    draw_figures(root, analysis)
    text = render(shards, source, report, repo_id, analysis)
    (root / "README.md").write_text(text, encoding="utf-8")
