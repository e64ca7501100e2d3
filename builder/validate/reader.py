"""The release folder as the checks see it: its card, manifest and data files, parsed lazily
and once (:class:`Release`), and the schema facts the checks share."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from community_alignment import contract, schema

README, MANIFEST = contract.card_name(), contract.manifest_name()


@dataclass
class DataFile:
    """One file under ``data/``; ``table`` is None when its path is not a release shard."""

    path: str
    table: str | None = None
    language: str | None = None
    country: str | None = None
    index: int | None = None
    count: int | None = None
    layout_error: str | None = None
    arrow: Any = None  # pyarrow schema, None when unreadable
    read_error: str | None = None
    rows: int = 0

    @property
    def group(self) -> str:
        """Folder and country: the shards of one table/language/country."""
        return f"{self.path.rsplit('/', 1)[0]}/{self.country}"


class Release:
    """Lazily parsed pieces of a release folder, shared by the checks."""

    def __init__(self, root: Path, ignore: Iterable[str] = (), iw_labels: Path | None = None):
        self.root = root
        self.ignore = set(ignore)
        self.iw_labels = iw_labels  # the labels the card's IW summaries came from, if given
        self.files = sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and not self._ignored(p.relative_to(root).as_posix())
        )
        self.unusable: dict[str, str] = {}  # data file -> why it cannot be read as its schema

    def _ignored(self, relative: str) -> bool:
        return any(relative == i or relative.startswith(i.rstrip("/") + "/") for i in self.ignore)

    # card -----------------------------------------------------------------------------
    @cached_property
    def card(self) -> tuple[dict | None, str, str | None]:
        """(front matter, body text, error)."""
        path = self.root / README
        if not path.is_file():
            return None, "", f"{README} is missing"
        from huggingface_hub import DatasetCard

        try:
            card = DatasetCard.load(path)
            data = card.data.to_dict()
        except Exception as error:  # noqa: BLE001 - any parse failure is the finding
            return None, "", f"{README} front matter does not parse: {first_line(error)}"
        if not data:
            return None, card.text, f"{README} has no YAML front matter"
        return data, card.text, None

    @property
    def meta(self) -> dict:
        return self.card[0] or {}

    @cached_property
    def configs(self) -> list[tuple[str, bool, dict[str, list[str]]]]:
        """The card's configs as (name, default, {split: [globs]})."""
        entries = self.meta.get("configs") or []
        out = []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            out.append(
                (
                    str(entry.get("config_name")),
                    bool(entry.get("default")),
                    _splits_of(entry.get("data_files")),
                )
            )
        return out

    @cached_property
    def dataset_info(self) -> dict[str, dict]:
        infos = self.meta.get("dataset_info") or []
        if isinstance(infos, dict):
            infos = [infos]
        return {str(i.get("config_name", "default")): i for i in infos if isinstance(i, dict)}

    def matched(self, pattern: str) -> list[str]:
        regex = glob_regex(pattern)
        return [f for f in self.files if regex.match(f)]

    # manifest -------------------------------------------------------------------------
    @cached_property
    def manifest(self) -> tuple[dict | None, str | None]:
        path = self.root / MANIFEST
        if not path.is_file():
            return None, f"{MANIFEST} is missing"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            return None, f"{MANIFEST} is not valid JSON: {error}"
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            return None, f"{MANIFEST} has no `files` mapping"
        return manifest, None

    # data -----------------------------------------------------------------------------
    @cached_property
    def data_files(self) -> list[DataFile]:
        """Every Parquet file under data/, with its place parsed from the path."""
        return [
            _data_file(self.root, p)
            for p in self.files
            if p.startswith("data/") and p.endswith(".parquet")
        ]

    @cached_property
    def shards(self) -> list[DataFile]:
        """Data files with a release path that open as Parquet."""
        return [f for f in self.data_files if f.table and f.arrow is not None]

    def shards_of(self, table: str) -> list[DataFile]:
        return [f for f in self.shards if f.table == table]

    @cached_property
    def rows_of(self) -> dict[str, int]:
        return {f.path: f.rows for f in self.data_files}

    @cached_property
    def usable(self) -> dict[str, list[tuple[DataFile, pl.LazyFrame]]]:
        """Per table, the shards that read as the schema's columns (cast when castable)."""
        usable: dict[str, list] = {t: [] for t in schema.table_names()}
        for f in self.shards:
            expected = schema.arrow_schema(f.table)
            path = self.root / f.path
            if f.arrow.remove_metadata().equals(expected.remove_metadata()):
                usable[f.table].append((f, pl.scan_parquet(path)))
                continue
            try:
                frame = pl.read_parquet(path, columns=expected.names).cast(polars_schema(f.table))
            except Exception as error:  # noqa: BLE001 - the file is left out and reported
                self.unusable[f.path] = first_line(error)
                continue
            usable[f.table].append((f, frame.lazy()))
        return usable

    @property
    def has_data(self) -> bool:
        return any(self.usable.values())

    def rows(
        self, table: str, part: tuple[str, str] | None = None
    ) -> list[tuple[DataFile, pl.LazyFrame]]:
        """The usable shards of a table (of one ``(language, country)`` part), in path order,
        each with a lazy frame of its rows: ``_file``, ``_row`` (in file), then the columns."""
        return [
            (f, lf.with_row_index("_row").select(pl.lit(f.path).alias("_file"), pl.all()))
            for f, lf in self.usable[table]
            if part is None or (f.language, f.country) == part
        ]

    def empty(self, table: str) -> pl.LazyFrame:
        """No rows, with the columns of :meth:`rows`."""
        return pl.LazyFrame(schema={"_file": pl.String, "_row": pl.UInt32, **polars_schema(table)})

    def scan(self, table: str, part: tuple[str, str] | None = None) -> pl.LazyFrame:
        """The rows of :meth:`rows` as one lazy frame; only the columns a query selects are read."""
        frames = [lf for _, lf in self.rows(table, part)]
        return pl.concat(frames) if frames else self.empty(table)

    def collect(
        self,
        table: str,
        query: Callable[[pl.LazyFrame], pl.LazyFrame],
        part: tuple[str, str] | None = None,
    ) -> pl.DataFrame:
        """``query`` run on each shard's rows (see :meth:`rows`) one file at a time, the results
        concatenated in path order: memory holds one file's selected columns, plus the results
        (meant to be small: ids, flags, offending rows)."""
        frames = [query(lf).collect() for _, lf in self.rows(table, part)]
        if not frames:
            return query(self.empty(table)).collect()
        return pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]

    def frame(self, table: str, *columns: str) -> pl.DataFrame:
        """Rows of a table (the named columns, or all), with ``_file`` and ``_row`` (in file).
        Name few, light columns: the whole frame is in memory."""
        names = list(columns) or schema.field_names(table)
        return self.collect(table, lambda lf: lf.select("_file", "_row", *names))

    def parts(self, table: str) -> list[tuple[str, str]]:
        """The ``(language, country)`` parts of a table's usable shards, sorted."""
        return sorted({(f.language, f.country) for f, _ in self.usable[table]})

    @cached_property
    def expected_configs(self) -> dict[str, dict[str, list[str]]]:
        """config -> split -> files, as the schema and the data imply (the card writer's layout)."""
        configs: dict[str, dict[str, list[str]]] = {}
        countries = schema.codes("countries")
        for table in schema.table_names():
            splits = defaultdict(list)
            for f in self.shards_of(table):
                splits[f.country].append(f.path)
            if splits:
                configs[table] = {c: sorted(splits[c]) for c in countries if c in splits}
        for language in schema.codes("languages"):
            splits = defaultdict(list)
            for f in self.shards_of(contract.language_config_table()):
                if f.language == language:
                    splits[f.country].append(f.path)
            if splits:
                configs[language] = {c: sorted(splits[c]) for c in countries if c in splits}
        return configs

    def table_rows(self, table: str) -> int:
        return sum(f.rows for f in self.shards_of(table))

    def row_label(self, table: str, row: dict) -> str:
        id_field = id_field_of(table)
        return f"{row['_file']} row {row['_row']} ({id_field} {row.get(id_field)!r})"


def polars_schema(table: str) -> pl.Schema:
    return pl.from_arrow(schema.arrow_schema(table).empty_table()).schema


def shared_names(table: str) -> list[str]:
    """Fields a table takes from the shared `fields:` block, so they mean the same everywhere."""
    return [e for e in schema.table(table)["fields"] if isinstance(e, str)]


def unique_fields(table: str) -> list[str]:
    """Fields marked ``unique: true`` in the table's schema."""
    return [f["name"] for f in schema.fields(table) if f.get("unique")]


def id_field_of(table: str) -> str:
    return next(iter(unique_fields(table)), schema.field_names(table)[0])


def _data_file(root: Path, path: str) -> DataFile:
    f = DataFile(path=path)
    match = contract.parse_shard_path(path)
    if not match:
        f.layout_error = f"path is not {contract.shard_layout_text()}"
    else:
        table, language, country = match["table"], match["language"], match["country"]
        if table not in schema.table_names():
            f.layout_error = f"table {table!r} is not one of {schema.table_names()}"
        elif contract.split_by_language(table) and language is None:
            f.layout_error = (
                f"{table} files belong in a language folder "
                f"{contract.table_folder(table, '<language>')}/"
            )
        elif not contract.split_by_language(table) and language is not None:
            f.layout_error = f"{table} files are not split by language: {contract.table_folder(table)}/<country>-..."
        elif language is not None and language not in schema.codes("languages"):
            f.layout_error = f"language folder {language!r} is not in vocabularies.yaml languages"
        elif country not in schema.codes("countries"):
            f.layout_error = f"country {country!r} is not in vocabularies.yaml countries"
        else:
            f.table, f.language, f.country = table, language, country
            f.index, f.count = int(match["index"]), int(match["count"])
    try:
        metadata = pq.read_metadata(root / path)
        f.arrow, f.rows = metadata.schema.to_arrow_schema(), metadata.num_rows
    except Exception as error:  # noqa: BLE001 - reported by data_layout
        f.read_error = first_line(error)
    return f


def _splits_of(data_files: Any) -> dict[str, list[str]]:
    """Normalise a config's data_files (str, list, or list of {split, path}) to split -> globs."""
    if isinstance(data_files, str):
        return {"train": [data_files]}
    if isinstance(data_files, dict):
        return {str(k): [v] if isinstance(v, str) else list(v) for k, v in data_files.items()}
    splits: dict[str, list[str]] = defaultdict(list)
    for item in data_files or []:
        if isinstance(item, str):
            splits["train"].append(item)
        elif isinstance(item, dict):
            paths = item.get("path", [])
            splits[str(item.get("split", "train"))] += [paths] if isinstance(paths, str) else paths
    return dict(splits)


@cache
def glob_regex(pattern: str) -> re.Pattern:
    """A Hub data_files glob as a regex: ``*`` stays within a folder, ``**`` crosses folders."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            inner = pattern[i + 1 : end]
            out.append("[" + ("^" + inner[1:] if inner.startswith("!") else inner) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
