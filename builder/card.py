"""The release's README.md: YAML (configs, dataset_info) from schema/ and the data, plus prose.

The prose template is ``dataset_card.md`` at the top of the checkout; each ``{{ name }}`` in it
is filled here from schema/ and the data, never typed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import datasets
import yaml

from builder.release import Shard
from community_alignment import schema

TEMPLATE = Path(__file__).resolve().parent.parent / "dataset_card.md"
SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                   (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]  # fmt: skip


def size_category(rows: int) -> str:
    """The Hub's size category of a row count.

    >>> size_category(233_319), size_category(999)
    ('100K<n<1M', 'n<1K')
    """
    for limit, label in SIZE_CATEGORIES:
        if rows < limit:
            return label
    return "n>10M"


def split_rows(shards: list[Shard]) -> dict[str, dict[str, dict[str, int]]]:
    """config -> split -> {rows, bytes}; language configs are views of comparisons."""
    totals: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"rows": 0, "bytes": 0})
    )
    for shard in shards:
        targets = [shard.table]
        if shard.table == "comparisons":
            targets.append(shard.language)
        for config in targets:
            totals[config][shard.country]["rows"] += shard.rows
            totals[config][shard.country]["bytes"] += shard.arrow_bytes
    return totals


def _ordered_splits(splits: dict) -> list[str]:
    return [c for c in schema.codes("countries") if c in splits]


def config_entries(shards: list[Shard]) -> list[dict]:
    """The card's ``configs:`` block: one data_files glob per split, comparisons the default."""
    totals = split_rows(shards)
    entries = []
    for config in [*schema.table_names(), *schema.codes("languages")]:
        if config not in totals:
            continue
        if config in schema.table_names():
            folder = "data/annotators" if config == "annotators" else f"data/{config}/*"
        else:
            folder = f"data/comparisons/{config}"
        entry = {"config_name": config}
        if config == "comparisons":
            entry["default"] = True
        entry["data_files"] = [
            {"split": country, "path": f"{folder}/{country}-*.parquet"}
            for country in _ordered_splits(totals[config])
        ]
        entries.append(entry)
    return entries


def dataset_info(shards: list[Shard]) -> list[dict]:
    totals = split_rows(shards)
    infos = []
    for entry in config_entries(shards):
        config = entry["config_name"]
        table = config if config in schema.table_names() else "comparisons"
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


def _placeholders(shards: list[Shard], source: dict, report: dict, repo_id: str) -> dict[str, str]:
    from community_alignment import __version__

    totals = split_rows(shards)
    countries = schema.codes("countries")
    configs = [e["config_name"] for e in config_entries(shards)]
    split_lines = [
        "| config | " + " | ".join(countries) + " | total |",
        "|---|" + "---:|" * (len(countries) + 1),
    ]
    for config in configs:
        cells = [totals[config].get(c, {"rows": 0})["rows"] for c in countries]
        split_lines.append(
            f"| `{config}` | " + " | ".join(f"{n:,}" for n in cells) + f" | {sum(cells):,} |"
        )
    descriptions = {t: schema.table(t)["description"] for t in schema.table_names()}
    config_rows = []
    for config in configs:
        what = descriptions.get(config, f"A comparison in {config} (same fields as `comparisons`).")
        config_rows.append(
            f"| `{config}` | {what} | {', '.join(_ordered_splits(totals[config]))} |"
        )
    counts = report["counts"]
    headline = (
        f"This release holds **{counts.get('comparisons', 0):,} comparisons** in "
        f"**{counts.get('conversations', 0):,} conversations** by **{counts.get('annotators', 0):,} "
        f"annotators**, and **{counts.get('pairs', 0):,} preference pairs**."
    )
    return {
        "headline": headline,
        "config_rows": "\n".join(config_rows),
        "split_table": "\n".join(split_lines),
        "field_tables": "\n\n".join(field_table(t) for t in schema.table_names()),
        "repo_id": repo_id,
        "source_origin": source["origin"],
        "source_sha256": source["sha256"],
        "builder_version": __version__,
    }


def render(shards: list[Shard], source: dict, report: dict, repo_id: str | None = None) -> str:
    repo_id = repo_id or schema.load("release")["card"]["repo_id"]
    values = _placeholders(shards, source, report, repo_id)
    prose = re.sub(r"<!--.*?-->\n*", "", TEMPLATE.read_text(encoding="utf-8"), count=1, flags=re.S)

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{TEMPLATE}: unknown placeholder {{{{ {name} }}}}")
        return values[name]

    body = re.sub(r"\{\{\s*(\w+)\s*\}\}", fill, prose)
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
    """Write README.md (and, later, its assets) into the release folder being built."""
    (root / "README.md").write_text(render(shards, source, report, repo_id), encoding="utf-8")
