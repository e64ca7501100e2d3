"""Validate a release folder before it is published: card, data, contract, statistics, manifest.

``validate(release)`` runs every check against a built release folder (or a Hub snapshot of one,
``hf://datasets/ORG/NAME@REV``) and returns a :class:`ValidationReport`: one result per check,
with the number of offending things, the first one, and a message saying what to do. The rules
come from ``schema/`` (via :mod:`community_alignment.schema`); nothing is re-typed here.

``python -m builder validate DIR [--json] [--no-load]`` prints the report and exits 0 only when
every check holds.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from builder.errors import BuildError
from community_alignment import schema

GROUPS = ("card", "data", "contract", "statistics", "manifest", "loading")
REQUIRED_CARD_FIELDS = (
    "license",
    "language",
    "pretty_name",
    "task_categories",
    "size_categories",
    "configs",
)
CARD_SPEC_FIELDS = ("license", "pretty_name", "task_categories", "tags")
DEFAULT_CONFIG = "comparisons"
LANGUAGE_CONFIG_TABLE = "comparisons"  # language configs are views of this table
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
BAD_CONFIG_CHARACTERS = set('<>:/\\|?*"') | {" ", "\t", "\n"}
HF_RELEASE = re.compile(r"^hf://datasets/(?P<repo>[^/@]+/[^/@]+?)(?:@(?P<rev>.+?))?/?$")
SHARD = re.compile(
    r"^data/(?P<table>[^/]+)/(?:(?P<language>[^/]+)/)?"
    r"(?P<country>[^/]+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.parquet$"
)
README, MANIFEST = "README.md", "manifest.json"
SHOWN = 3  # offenders named in a message besides the first
CHUNK_ROWS = 50_000  # rows of a part joined at a time by the contract checks (see _part_join)


# --- results --------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    """The outcome of one check: ``count`` offending things, the ``first`` of them."""

    check: str
    group: str
    ok: bool
    count: int = 0
    first: str | None = None
    message: str = ""
    skipped: bool = False
    seconds: float = 0.0


@dataclass
class ValidationReport:
    release: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    def __getitem__(self, check: str) -> CheckResult:
        for result in self.results:
            if result.check == check:
                return result
        raise KeyError(f"no check named {check!r}; checks: {[r.check for r in self.results]}")

    def to_dict(self) -> dict:
        return {
            "release": self.release,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "failed": [r.check for r in self.failed],
            "checks": [asdict(r) | {"seconds": round(r.seconds, 3)} for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def render(self) -> str:
        verdict = (
            "valid"
            if self.ok
            else f"INVALID: {len(self.failed)} of {len(self.results)} checks failed"
        )
        lines = [f"Release {self.release}: {verdict} ({self.seconds:.1f} s)"]
        for group in GROUPS:
            results = [r for r in self.results if r.group == group]
            if not results:
                continue
            passed = sum(r.ok for r in results)
            lines += ["", f"{group} ({passed}/{len(results)} passed)"]
            for r in results:
                if r.ok:
                    lines.append(f"  ✓ {r.check}: {r.message}")
                elif r.skipped:
                    lines.append(f"  ✗ {r.check}: {r.message}")
                else:
                    lines.append(f"  ✗ {r.check} ({r.count} offending; first: {r.first})")
                    lines.append(f"      {r.message}")
        return "\n".join(lines) + "\n"


# --- the release as the checks see it -------------------------------------------------------------


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

    def __init__(self, root: Path, ignore: Iterable[str] = ()):
        self.root = root
        self.ignore = set(ignore)
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
            return None, "", f"{README} front matter does not parse: {_first_line(error)}"
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
        regex = _glob_regex(pattern)
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
                self.unusable[f.path] = _first_line(error)
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
        """config -> split -> files, as the schema and the data imply (card.py's layout)."""
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
            for f in self.shards_of(LANGUAGE_CONFIG_TABLE):
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
    match = SHARD.match(path)
    if not match:
        f.layout_error = (
            "path is not data/<table>/<language>/<country>-NNNNN-of-NNNNN.parquet "
            "(annotators: data/annotators/<country>-NNNNN-of-NNNNN.parquet)"
        )
    else:
        table, language, country = match["table"], match["language"], match["country"]
        if table not in schema.table_names():
            f.layout_error = f"table {table!r} is not one of {schema.table_names()}"
        elif schema.table(table)["split_by_language"] and language is None:
            f.layout_error = f"{table} files belong in a language folder data/{table}/<language>/"
        elif not schema.table(table)["split_by_language"] and language is not None:
            f.layout_error = f"{table} files are not split by language: data/{table}/<country>-..."
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
        f.read_error = _first_line(error)
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
def _glob_regex(pattern: str) -> re.Pattern:
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


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


# --- the registry of checks -----------------------------------------------------------------------


@dataclass
class Problem:
    where: str  # the offending file, row or id
    what: str  # what is wrong there


@dataclass
class Check:
    """A registered check; its docstring's first line says what holds, its `Fix:` what to do."""

    name: str
    group: str
    needs: tuple[str, ...]  # "card", "manifest", "data": what must be readable to run it
    run: Callable[[Release], Iterable[Problem]]

    @property
    def holds(self) -> str:
        return inspect.getdoc(self.run).split("\n\n")[0].replace("\n", " ")

    @property
    def fix(self) -> str:
        text = inspect.getdoc(self.run).split("Fix:", 1)
        return " ".join(text[1].split()) if len(text) > 1 else "rebuild the release"


CHECKS: list[Check] = []


def check(name: str, group: str, *, needs: tuple[str, ...] = ()):
    """Register a check: a function yielding a Problem per offending thing, documented with what
    holds (first line) and a `Fix:` paragraph."""

    def register(function: Callable[[Release], Iterable[Problem]]):
        if not function.__doc__ or "Fix:" not in function.__doc__:
            raise ValueError(f"check {name} needs a docstring with a `Fix:` paragraph")
        CHECKS.append(Check(name, group, needs, function))
        return function

    return register


def _missing_need(release: Release, need: str) -> str | None:
    if need == "card":
        return release.card[2]
    if need == "manifest":
        return release.manifest[1]
    if need == "data":
        return None if release.has_data else "no data file could be read"
    raise ValueError(f"unknown need {need!r}")


def _run(release: Release, item: Check) -> CheckResult:
    start = time.perf_counter()
    for need in item.needs:
        reason = _missing_need(release, need)
        if reason:
            return CheckResult(
                item.name,
                item.group,
                ok=False,
                skipped=True,
                first=None,
                message=f"not checked: {reason}",
            )
    try:
        problems = list(item.run(release))
    except Exception as error:  # noqa: BLE001 - a crashing check is a failed check
        problems = [Problem("(check crashed)", f"{_first_line(error)}; the release is malformed")]
    seconds = time.perf_counter() - start
    if not problems:
        return CheckResult(item.name, item.group, True, message=item.holds, seconds=seconds)
    first = problems[0]
    message = f"{first.where}: {first.what}"
    if len(problems) > 1:
        others = "; ".join(f"{p.where}: {p.what}" for p in problems[1 : 1 + SHOWN])
        more = len(problems) - 1 - SHOWN
        message += f" (also {others}{f'; and {more} more' if more > 0 else ''})"
    return CheckResult(
        item.name,
        item.group,
        ok=False,
        count=len(problems),
        first=first.where,
        message=f"{message}. Fix: {item.fix}",
        seconds=seconds,
    )


# --- card -----------------------------------------------------------------------------------------


@check("card_parses", "card")
def _card_parses(release: Release):
    """README.md YAML front matter parses with huggingface_hub.DatasetCard.

    Fix: write the README.md YAML front matter with `builder build`
    """
    if release.card[2]:
        yield Problem(README, release.card[2].removeprefix(f"{README} "))


@check("card_required_fields", "card", needs=("card",))
def _card_required_fields(release: Release):
    """license, language, pretty_name, task_categories, size_categories, configs are present.

    Fix: rebuild the card; these fields are required on the Hub
    """
    for name in REQUIRED_CARD_FIELDS:
        if not release.meta.get(name):
            yield Problem(name, "missing or empty in the card's YAML")


@check("card_metadata", "card", needs=("card",))
def _card_metadata(release: Release):
    """license, pretty_name, task_categories and tags are those of schema/release.yaml.

    Fix: the card's metadata comes from the `card:` block of schema/release.yaml; rebuild
    """
    spec = schema.load("release")["card"]
    for name in CARD_SPEC_FIELDS:
        if release.meta.get(name) != spec[name]:
            yield Problem(name, f"card has {release.meta.get(name)!r}, schema says {spec[name]!r}")


@check("card_language_tags_valid", "card", needs=("card",))
def _card_language_tags_valid(release: Release):
    """Every `language:` tag of the card is a valid BCP-47 tag.

    Fix: use BCP-47 tags (e.g. `en`, `pt`) in the card's `language:` list
    """
    import langcodes

    tags = release.meta.get("language") or []
    for tag in [tags] if isinstance(tags, str) else tags:
        if not isinstance(tag, str) or not langcodes.tag_is_valid(tag):
            yield Problem(repr(tag), "is not a valid BCP-47 language tag")


@check("card_languages_match_data", "card", needs=("card",))
def _card_languages_match_data(release: Release):
    """The card's languages are exactly the languages present in the data.

    Fix: the card's `language:` must list exactly the languages in data/; rebuild the card
    """
    tags = release.meta.get("language") or []
    tags = [tags] if isinstance(tags, str) else list(tags)
    present = {f.language for f in release.shards if f.language}
    for tag, n in Counter(tags).items():
        if n > 1:
            yield Problem(repr(tag), f"listed {n} times")
    for tag in tags:
        if tag not in present:
            yield Problem(repr(tag), "is in the card's languages but no data file has it")
    for language in sorted(present - set(tags)):
        yield Problem(repr(language), "is in the data but missing from the card's languages")


@check("card_size_category", "card", needs=("card",))
def _card_size_category(release: Release):
    """size_categories matches the number of comparison rows.

    Fix: set size_categories to builder.card.size_category(comparison rows)
    """
    from builder.card import size_category

    rows = release.table_rows("comparisons")
    expected = [size_category(rows)]
    if release.meta.get("size_categories") != expected:
        yield Problem(
            "size_categories",
            f"card says {release.meta.get('size_categories')!r}; "
            f"{rows:,} comparisons is {expected!r}",
        )


@check("card_default_config", "card", needs=("card",))
def _card_default_config(release: Release):
    """Exactly one config is the default, and it is `comparisons`.

    Fix: mark exactly one config `default: true`, and make it `comparisons`
    """
    defaults = [name for name, default, _ in release.configs if default]
    if defaults != [DEFAULT_CONFIG]:
        where = ", ".join(defaults) if defaults else "configs"
        yield Problem(where, f"default configs are {defaults}, expected [{DEFAULT_CONFIG!r}]")


@check("card_names_legal", "card", needs=("card",))
def _card_names_legal(release: Release):
    r"""Config names and split names are legal on the Hub, and unique.

    Fix: config names must be unique without / \ : * ? " < > | or spaces; split names must match
    ^\w+(\.\w+)*$
    """
    names = [name for name, _, _ in release.configs]
    for name, n in Counter(names).items():
        if n > 1:
            yield Problem(f"config {name}", f"appears {n} times in configs")
    for name, _, splits in release.configs:
        if not name or name == "None" or BAD_CONFIG_CHARACTERS & set(name) or name.startswith("."):
            yield Problem(f"config {name!r}", "is not a legal config name")
        for split in splits:
            if not SPLIT_NAME.match(split):
                yield Problem(f"config {name} split {split!r}", "is not a legal split name")
        if not splits:
            yield Problem(f"config {name}", "has no data_files")


@check("card_globs_match_files", "card", needs=("card",))
def _card_globs_match_files(release: Release):
    """Every data_files glob of every config matches at least one file.

    Fix: fix the glob or restore the files it should read
    """
    for name, _, splits in release.configs:
        for split, patterns in splits.items():
            for pattern in patterns:
                if not release.matched(pattern):
                    yield Problem(f"{pattern} ({name}/{split})", "matches no file in the release")


@check("data_files_claimed", "card", needs=("card",))
def _data_files_claimed(release: Release):
    """Every file under data/ is read by some config of the card.

    Fix: every file under data/ must be read by some config: remove the file or fix the card's
    configs
    """
    claimed: set[str] = set()
    for _, _, splits in release.configs:
        for patterns in splits.values():
            for pattern in patterns:
                claimed.update(release.matched(pattern))
    for path in release.files:
        if path.startswith("data/") and path not in claimed:
            yield Problem(path, "no config's data_files glob matches it")


@check("card_configs_match_data", "card", needs=("card",))
def _card_configs_match_data(release: Release):
    """The configs and splits, and the files each split reads, are what the schema and data imply.

    Fix: the card's configs/splits must be one config per table present plus one per language,
    split by country; rebuild the card
    """
    expected = release.expected_configs
    card = {name: splits for name, _, splits in release.configs}
    for name in expected:
        if name not in card:
            yield Problem(f"config {name}", "is implied by the data but missing from the card")
    for name, splits in card.items():
        if name not in expected:
            yield Problem(f"config {name}", "is in the card but the data implies no such config")
            continue
        for split in expected[name]:
            if split not in splits:
                yield Problem(f"{name}/{split}", "split is implied by the data but not in the card")
        for split, patterns in splits.items():
            if split not in expected[name]:
                yield Problem(
                    f"{name}/{split}", "split is in the card but the data has no rows for it"
                )
                continue
            reads = {f for p in patterns for f in release.matched(p)}
            should = set(expected[name][split])
            if reads != should:
                details = []
                if should - reads:
                    details.append(f"misses {sorted(should - reads)}")
                if reads - should:
                    details.append(f"also reads {sorted(reads - should)}")
                yield Problem(
                    f"{name}/{split}", f"its data_files {patterns} {' and '.join(details)}"
                )


@check("card_dataset_info_features", "card", needs=("card",))
def _card_dataset_info_features(release: Release):
    """Every config's dataset_info features equal the schema's features of its table.

    Fix: dataset_info features must be schema.features(table); rebuild the card
    """
    import datasets

    for name, info in release.dataset_info.items():
        table = name if name in schema.table_names() else LANGUAGE_CONFIG_TABLE
        try:
            features = datasets.DatasetInfo._from_yaml_dict(dict(info)).features
        except Exception as error:  # noqa: BLE001
            yield Problem(f"dataset_info {name}", f"does not parse: {_first_line(error)}")
            continue
        if features != schema.features(table):
            yield Problem(f"dataset_info {name}", f"features differ from the schema of `{table}`")


IMAGE_MARKDOWN = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
IMAGE_HTML = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']*)[\"']", re.I)
ASSET = re.compile(r"^assets/[^/]+\.png$")


def card_images(text: str) -> list[str]:
    """The image paths the card's text references (markdown and HTML), outside code blocks.

    >>> card_images('![map](assets/m.png) <img width="50%" src="assets/x.png">')
    ['assets/m.png', 'assets/x.png']
    """
    text = _without_code(text)
    found = [(m.start(), m.group(1)) for m in IMAGE_MARKDOWN.finditer(text)]
    found += [(m.start(), m.group(1)) for m in IMAGE_HTML.finditer(text)]
    return [path for _, path in sorted(found)]


def _image_problem(release: Release, path: str) -> str | None:
    """Why an image reference does not resolve to a file inside the release, or None."""
    if not path:
        return "has an empty path"
    if re.match(r"^[a-z][a-z0-9+.-]*:", path, flags=re.I) or path.startswith(("/", "\\")):
        return "is not a path relative to the release (the figure must be in assets/)"
    if "\\" in path or ".." in path.split("/"):
        return "leaves the folder it is in (`..` or a backslash)"
    # No symlink is followed: a Hub snapshot's files are all links into its blob store, and
    # with `..` and absolute paths refused, a path names a file of the release or none.
    relative = path.removeprefix("./")
    if relative not in release.files:
        return "is not a file of the release"
    if not ASSET.match(relative):
        return "is not an assets/*.png file"
    return None


@check("card_images", "card", needs=("card",))
def _card_images(release: Release):
    """Every image the card shows is an assets/*.png file of the release, by a relative path.

    Fix: embed figures as ![...](assets/NAME.png) and keep the files in the release's assets/
    folder (`builder build` writes both); no absolute paths, URLs or `..`
    """
    for path in card_images(release.card[1]):
        problem = _image_problem(release, path)
        if problem:
            yield Problem(f"image {path!r}", problem)


@check("card_version", "card", needs=("card",))
def _card_version(release: Release):
    """The card states a release version of schema/versions.yaml, the manifest's if it has one.

    Fix: the card's "Version **X**" line comes from schema/versions.yaml (its newest entry) at
    build time; rebuild, and add a versions.yaml entry before releasing a new version
    """
    from builder import card

    match = card.VERSION_LINE.search(release.card[1])
    if not match:
        yield Problem(README, "states no release version (a line `Version **X.Y.Z** ...`)")
        return
    stated = match["version"]
    known = [str(v["version"]) for v in card.versions()]
    if stated not in known:
        yield Problem(f"version {stated}", f"is not in schema/versions.yaml ({', '.join(known)})")
    manifest = release.manifest[0] or {}
    recorded = manifest.get("release_version")
    if recorded is not None and str(recorded) != stated:
        yield Problem(
            f"version {stated}", f"the card states {stated}, the manifest records {recorded}"
        )


# --- data against the schema ----------------------------------------------------------------------


@check("data_layout", "data")
def _data_layout(release: Release):
    """Every Parquet file under data/ has a release path and opens as Parquet.

    Fix: data files are data/<table>/<language>/<country>-NNNNN-of-NNNNN.parquet and must open
    as Parquet; rebuild
    """
    if not release.data_files:
        yield Problem("data/", "holds no Parquet files")
    for f in release.data_files:
        if f.layout_error:
            yield Problem(f.path, f.layout_error)
        elif f.read_error:
            yield Problem(f.path, f"does not open as Parquet: {f.read_error}")


@check("arrow_schema", "data")
def _arrow_schema(release: Release):
    """Every data file's Arrow schema equals schema.arrow_schema(table) (metadata aside).

    Fix: write the file with schema.arrow_schema(table) (builder.release.write_shards)
    """
    release.usable  # noqa: B018 - fills release.unusable
    for f in release.shards:
        expected, actual = schema.arrow_schema(f.table), f.arrow
        if actual.remove_metadata().equals(expected.remove_metadata()):
            continue
        differences = []
        missing = [n for n in expected.names if n not in actual.names]
        extra = [n for n in actual.names if n not in expected.names]
        if missing:
            differences.append(f"missing columns {missing}")
        if extra:
            differences.append(f"extra columns {extra}")
        for name in expected.names:
            if name in actual.names and actual.field(name).type != expected.field(name).type:
                differences.append(
                    f"column {name} is {actual.field(name).type}, schema says "
                    f"{expected.field(name).type}"
                )
        if not differences:
            differences.append(f"columns are out of order: {actual.names}")
        if f.path in release.unusable:
            differences.append(f"cannot be read as the schema ({release.unusable[f.path]})")
        yield Problem(f.path, "; ".join(differences))


@check("feature_metadata", "data")
def _feature_metadata(release: Release):
    """Every data file's `huggingface` metadata features equal schema.features(table).

    Fix: the Parquet `huggingface` metadata must hold schema.features(table); rebuild the file
    """
    import datasets

    for f in release.shards:
        raw = (f.arrow.metadata or {}).get(b"huggingface")
        if raw is None:
            yield Problem(f.path, "has no `huggingface` schema metadata")
            continue
        try:
            features = datasets.Features.from_dict(json.loads(raw)["info"]["features"])
        except Exception as error:  # noqa: BLE001
            yield Problem(f.path, f"`huggingface` metadata does not parse: {_first_line(error)}")
            continue
        if features != schema.features(f.table):
            differing = [
                name
                for name in schema.field_names(f.table)
                if features.get(name) != schema.features(f.table)[name]
            ]
            yield Problem(f.path, f"metadata features differ from the schema in {differing}")


def _struct_of(type_: Any) -> list[dict] | None:
    """The fields of a composite type, or of the composite a list holds."""
    if isinstance(type_, dict) and "list" in type_:
        type_ = type_["list"]
    if isinstance(type_, str):
        composite = schema.load("release")["types"].get(type_)
        if composite is not None:
            return composite["struct"]
    return None


def _nested(frame: pl.DataFrame, column: str, id_field: str) -> pl.DataFrame:
    """One row per element of a list<struct> (or the struct) column, its fields unnested."""
    keep = ["_file", "_row", id_field] if id_field != column else ["_file", "_row"]
    if isinstance(frame.schema[column], pl.List):
        frame = (
            frame.select(*keep, column)
            .filter(pl.col(column).list.len() > 0)
            .with_columns(pl.int_ranges(pl.col(column).list.len()).alias("_element"))
            .explode(column, "_element")
        )
    else:
        frame = frame.select(*keep, column, pl.lit(None, dtype=pl.Int64).alias("_element"))
    return frame.with_columns(pl.col(column).alias("_value"))


def _allowed(spec: dict) -> list | None:
    """Allowed values of a field: its vocabulary (unless open) or its `values`."""
    if "values" in spec:
        return list(spec["values"])
    vocabulary = spec.get("vocabulary")
    if vocabulary and not schema.vocabulary(vocabulary).get("open"):
        return schema.codes(vocabulary)
    type_ = spec.get("type")
    if isinstance(type_, dict) and "class_label" in type_:
        return list(range(len(schema.codes(type_["class_label"]))))
    return None


@dataclass
class FieldRule:
    """A rule of not_null or vocabularies on one field (or one field of its struct elements)."""

    check: str
    field: str
    sub: str | None  # the struct field, None for the field itself
    allowed: list | None  # vocabularies: the allowed values
    breaks: pl.Expr  # true on a row that breaks the rule (some element, for a struct field)


def _any_element(column: str, is_list: bool, bad: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """True on rows where ``bad`` holds for some element of a list<struct> column (or for the
    struct itself, when not null): the rows :func:`_nested` would report from."""
    if is_list:
        return pl.col(column).list.eval(bad(pl.element())).list.any().fill_null(False)
    return (pl.col(column).is_not_null() & bad(pl.col(column))).fill_null(False)


def _field_rules(table: str) -> list[FieldRule]:
    """The rules of not_null and vocabularies on a table, in the order they are reported."""
    types = polars_schema(table)
    rules = []
    for f in schema.fields(table):
        name, sub = f["name"], _struct_of(f["type"]) or []
        is_list = isinstance(types[name], pl.List)
        if not f.get("nullable", True):
            rules.append(FieldRule("not_null", name, None, None, pl.col(name).is_null()))
        for s in sub:
            if not s.get("nullable", True):
                field_name = s["name"]
                bad = _any_element(
                    name, is_list, lambda v, n=field_name: v.is_null() | v.struct.field(n).is_null()
                )
                rules.append(FieldRule("not_null", name, field_name, None, bad))
    for f in schema.fields(table):
        name, sub = f["name"], _struct_of(f["type"]) or []
        is_list = isinstance(types[name], pl.List)
        allowed = _allowed(f)
        if allowed is not None:
            bad = (pl.col(name).is_not_null() & ~pl.col(name).is_in(allowed)).fill_null(False)
            rules.append(FieldRule("vocabularies", name, None, allowed, bad))
        for s in sub:
            allowed = _allowed(s)
            if allowed is None:
                continue

            def outside(v: pl.Expr, n: str = s["name"], values: list = allowed) -> pl.Expr:
                value = v.struct.field(n)
                return value.is_not_null() & ~value.is_in(values)

            rules.append(
                FieldRule(
                    "vocabularies", name, s["name"], allowed, _any_element(name, is_list, outside)
                )
            )
    return rules


def _flagged(release: Release, table: str) -> tuple[list[FieldRule], pl.DataFrame]:
    """The table's field rules, and its rows that break any (``_rule<i>`` true where rule i is
    broken), found one file at a time; shared by not_null and vocabularies."""
    cache = release.__dict__.setdefault("_flagged", {})
    if table not in cache:
        rules = _field_rules(table)
        flags = [rule.breaks.alias(f"_rule{i}") for i, rule in enumerate(rules)]
        id_field = id_field_of(table)
        cache[table] = (
            rules,
            release.collect(
                table,
                lambda lf: lf.select("_file", "_row", id_field, *flags).filter(
                    pl.any_horizontal(f"_rule{i}" for i in range(len(rules)))
                ),
            ),
        )
    return cache[table]


def _fetch(release: Release, table: str, rows: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """The rows named by ``rows`` (``_file``, ``_row``), with ``columns``, in file order."""
    wanted = dict(rows.group_by("_file").agg("_row").iter_rows())
    names = dict.fromkeys(["_file", "_row", *columns])
    frames = [
        lf.filter(pl.col("_row").is_in(wanted[f.path])).select(*names).collect()
        for f, lf in release.rows(table)
        if f.path in wanted
    ]
    return pl.concat(frames) if frames else release.empty(table).select(*names).collect()


def _rule_problems(release: Release, check_name: str) -> Iterator[Problem]:
    for table in schema.table_names():
        id_field = id_field_of(table)
        rules, flagged = _flagged(release, table)
        for i, rule in enumerate(rules):
            if rule.check != check_name:
                continue
            bad = flagged.filter(pl.col(f"_rule{i}"))
            if bad.is_empty():
                continue
            name = rule.field
            frame = _fetch(release, table, bad, id_field, name)
            if rule.sub is None:
                for row in frame.iter_rows(named=True):
                    if check_name == "not_null":
                        yield Problem(release.row_label(table, row), f"{name} is null")
                    else:
                        yield Problem(
                            release.row_label(table, row),
                            f"{name} is {row[name]!r}, allowed: {rule.allowed}",
                        )
                continue
            nested = _nested(frame.filter(pl.col(name).is_not_null()), name, id_field)
            value = pl.col("_value").struct.field(rule.sub)
            if check_name == "not_null":
                for row in nested.filter(pl.col("_value").is_null() | value.is_null()).iter_rows(
                    named=True
                ):
                    yield Problem(
                        release.row_label(table, row),
                        f"{name}[{row['_element']}].{rule.sub} is null",
                    )
            else:
                outside = value.is_not_null() & ~value.is_in(rule.allowed)
                for row in nested.filter(outside).iter_rows(named=True):
                    yield Problem(
                        release.row_label(table, row),
                        f"{name}[{row['_element']}].{rule.sub} is "
                        f"{row['_value'][rule.sub]!r}, allowed: {rule.allowed}",
                    )


@check("not_null", "data")
def _not_null(release: Release):
    """No nulls in fields (or nested struct fields) marked `nullable: false`.

    Fix: a field with `nullable: false` in schema/release.yaml must always have a value
    """
    yield from _rule_problems(release, "not_null")


@check("vocabularies", "data")
def _vocabularies(release: Release):
    """Vocabulary fields, `values` fields and class labels hold only allowed values.

    Fix: values must be the codes of schema/vocabularies.yaml (class labels in range)
    """
    yield from _rule_problems(release, "vocabularies")


@check("unique_ids", "data")
def _unique_ids(release: Release):
    """Fields marked `unique: true` are unique across all files of their table.

    Fix: a field with `unique: true` must not repeat across the files of its table
    """
    for table in schema.table_names():
        for name in unique_fields(table):
            frame = release.frame(table, name)
            repeated = (
                frame.filter(pl.col(name).is_duplicated())
                .group_by(name, maintain_order=True)
                .agg(pl.len().alias("n"), pl.format("{} row {}", "_file", "_row").alias("at"))
            )
            for row in repeated.iter_rows(named=True):
                yield Problem(
                    f"{table}.{name} {row[name]!r}",
                    f"appears {row['n']} times: {', '.join(row['at'][:SHOWN])}",
                )


@check("rows_match_path", "data")
def _rows_match_path(release: Release):
    """Every row's language and country are those of the file it is in.

    Fix: a row belongs in data/<table>/<its language>/<its country>-...; rebuild
    """
    places = pl.DataFrame(
        [(f.path, f.language, f.country) for f in release.shards],
        schema={"_file": pl.String, "_language": pl.String, "_country": pl.String},
        orient="row",
    ).lazy()
    for table in schema.table_names():
        names = schema.field_names(table)
        columns = [c for c in ("language", "country") if c in names]
        wrong = pl.lit(False)
        for c in columns:
            wrong = wrong | pl.col(c).ne_missing(pl.col(f"_{c}"))
        selected = ["_file", "_row", *dict.fromkeys([id_field_of(table), *columns])]
        frame = release.collect(
            table, lambda lf, s=selected, w=wrong: lf.select(s).join(places, on="_file").filter(w)
        )
        for row in frame.iter_rows(named=True):
            found = ", ".join(f"{c} {row[c]!r}" for c in columns)
            where = ", ".join(f"{c} {row[f'_{c}']!r}" for c in columns if row[f"_{c}"])
            yield Problem(release.row_label(table, row), f"has {found} but its file is for {where}")


# --- the contract between tables ------------------------------------------------------------------


@check("shard_names", "contract")
def _shard_names(release: Release):
    """Shard names NNNNN-of-NNNNN are consistent with the files in each folder and country.

    Fix: shards of one folder and country are numbered 00000..N-1 of N; rebuild
    """
    groups: dict[str, list[DataFile]] = defaultdict(list)
    for f in release.data_files:
        if f.table:
            groups[f.group].append(f)
    for group, files in sorted(groups.items()):
        counts = {f.count for f in files}
        indexes = sorted(f.index for f in files)
        if counts != {len(files)} or indexes != list(range(len(files))):
            names = [f.path.rsplit("/", 1)[1] for f in sorted(files, key=lambda f: f.path)]
            yield Problem(group, f"{len(files)} files named {names}")


def _order_keys(table: str) -> tuple[list[str], list[pl.Expr]]:
    """builder.tables.order, restated: key by key, an id numerically when it is a number, then
    as text. Returns the keys and the numeric columns (``_n_<key>``) to add."""
    keys = schema.table(table)["sort_by"]
    numeric = [
        pl.col(k).cast(pl.Int64, strict=False).alias(f"_n_{k}") if k.endswith("_id") else None
        for k in keys
    ]
    return keys, [e for e in numeric if e is not None]


@check("sort_order", "contract")
def _sort_order(release: Release):
    """Rows of each folder/country (across its shards, in order) follow the schema's sort_by.

    Fix: rows are sorted by the table's `sort_by` (ids numerically when numbers); rebuild
    """
    for table in schema.table_names():
        keys, numeric = _order_keys(table)
        id_field = id_field_of(table)
        columns = ["_file", "_row", *dict.fromkeys([id_field, *keys])]
        groups: dict[str, list[pl.LazyFrame]] = defaultdict(list)
        for f, lf in release.rows(table):
            groups[f.group].append(lf.select(columns))
        order = [n for k in keys for n in ((f"_n_{k}", k) if k.endswith("_id") else (k,))]
        for group in sorted(groups):  # a group's shards, in order
            frame = (
                pl.concat(groups[group])
                .with_columns(*numeric)
                .with_row_index("_position")
                .collect()
            )
            ordered = frame.sort(order, nulls_last=True, maintain_order=True)
            misplaced = ordered.with_row_index("_should").filter(
                pl.col("_position") != pl.col("_should")
            )
            for should in misplaced["_should"].to_list():
                found, expected = frame.row(should, named=True), ordered.row(should, named=True)
                yield Problem(
                    release.row_label(table, found),
                    f"out of sort_by {keys} order: {id_field} {expected[id_field]!r} belongs here",
                )


def _annotator_attributes(table: str) -> list[str]:
    """Shared fields a table repeats from its annotator's row (country, wave, demographics...)."""
    annotator_fields = set(schema.field_names("annotators"))
    return [n for n in shared_names(table) if n in annotator_fields and n != "annotator_id"]


@check("annotators_match", "contract", needs=("data",))
def _annotators_match(release: Release):
    """Every row's annotator is in `annotators`, with equal country, wave, demographics, fold.

    Fix: every annotator_id must be in `annotators`, with the same country, wave, demographics
    and fold
    """
    for table in [t for t in schema.table_names() if t != "annotators"]:
        if "annotator_id" not in schema.field_names(table):
            continue
        attributes = _annotator_attributes(table)
        people = (
            release.frame("annotators", "annotator_id", *attributes)
            .select(
                "annotator_id",
                *(pl.col(a).alias(f"_a_{a}") for a in attributes),
                pl.lit(True).alias("_known"),
            )
            .unique("annotator_id", keep="first")
            .lazy()
        )
        id_field = id_field_of(table)
        differs = [pl.col(a).ne_missing(pl.col(f"_a_{a}")) for a in attributes]
        columns = ["_file", *dict.fromkeys([id_field, "annotator_id", *attributes])]
        bad = release.collect(
            table,
            lambda lf, c=columns, p=people, d=differs: (
                lf.select(c)
                .join(p, on="annotator_id", how="left", maintain_order="left")
                .filter(pl.col("_known").is_null() | pl.any_horizontal(d))
            ),
        )
        for row in bad.iter_rows(named=True):
            if row["_known"] is None:
                what = f"annotator {row['annotator_id']!r} is not in `annotators`"
            else:
                what = f"annotator {row['annotator_id']!r} differs from `annotators`: " + ", ".join(
                    f"{a} {row[a]!r} here, {row[f'_a_{a}']!r} there"
                    for a in attributes
                    if row[a] != row[f"_a_{a}"]
                )
            yield Problem(f"{table} {id_field} {row[id_field]!r} ({row['_file']})", what)


@check("annotator_activity", "contract", needs=("data",))
def _annotator_activity(release: Release):
    """num_conversations, num_comparisons, num_explanations and languages match the data.

    Fix: an annotator's counts and languages must be those of their released rows
    """
    conversations = (
        release.frame("conversations", "annotator_id", "language")
        .group_by("annotator_id")
        .agg(
            pl.len().alias("_num_conversations"),
            pl.col("language").unique().sort().alias("_languages"),
        )
    )
    comparisons = (
        release.collect(
            "comparisons",
            lambda lf: lf.select(
                "annotator_id", pl.col("explanation").is_not_null().alias("_explained")
            ),
        )
        .group_by("annotator_id")
        .agg(
            pl.len().alias("_num_comparisons"),
            pl.col("_explained").sum().alias("_num_explanations"),
        )
    )
    frame = (
        release.frame("annotators")
        .join(conversations, on="annotator_id", how="left")
        .join(comparisons, on="annotator_id", how="left")
    )
    for row in frame.iter_rows(named=True):
        wrong = []
        for name in ("num_conversations", "num_comparisons", "num_explanations"):
            if row[name] != (row[f"_{name}"] or 0):
                wrong.append(f"{name} {row[name]} but the data has {row[f'_{name}'] or 0}")
        if sorted(row["languages"] or []) != (row["languages"] or []) or (
            row["languages"] or []
        ) != (row["_languages"] or []):
            wrong.append(
                f"languages {row['languages']} but its conversations are in "
                f"{row['_languages'] or []}"
            )
        if wrong:
            yield Problem(release.row_label("annotators", row), "; ".join(wrong))


def _letter(position: int | None) -> str:
    codes = schema.codes("choice")
    return codes[position] if position is not None and 0 <= position < len(codes) else "?"


def _join_left(rows: pl.DataFrame, partners: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """``rows.join(partners, on=on, how="left", maintain_order="left")``, the two rechunked
    first: gathering text from a frame of many chunks (one per row group read) copies it,
    from one chunk it does not (and a pair gathers its comparison's text three times)."""
    return rows.rechunk().join(partners.rechunk(), on=on, how="left", maintain_order="left")


def _part_join(
    release: Release,
    left: tuple[str, Callable[[pl.LazyFrame], pl.LazyFrame]],
    right: tuple[str, Callable[[pl.LazyFrame], pl.LazyFrame]],
    on: list[str],
    finish: Callable[[pl.DataFrame], pl.DataFrame],
    order: list[str],
) -> pl.DataFrame:
    """``finish`` of the rows ``left[1]`` selects from table ``left[0]``, left-joined on ``on``
    to the rows ``right[1]`` makes of table ``right[0]`` (``_found`` true where a right row
    matched, kept in the result), sorted by ``order``.

    The join runs one <language>/<country> part at a time, and ``CHUNK_ROWS`` left rows at a
    time, so memory holds one part's right rows and a chunk of its left rows (their text, the
    heavy columns), not the release's. Left rows without a partner in their own part are
    joined again to the right rows of every part with the same ``on[0]``: a row filed in the
    wrong part still finds its partner (rows_match_path reports the misfiling). Only that second
    join's left rows without any partner (``_found`` null) are kept in the result.
    """
    (left_table, left_rows), (right_table, right_rows) = left, right
    found = pl.lit(True).alias("_found")
    results, strays = [], []
    for part in release.parts(left_table):
        partners = right_rows(release.scan(right_table, part)).with_columns(found).collect()
        size = sum(f.rows for f, _ in release.rows(left_table, part))
        for start in range(0, size, CHUNK_ROWS):
            chunk = release.scan(left_table, part).slice(start, CHUNK_ROWS)
            rows = left_rows(chunk).collect()
            joined = _join_left(rows, partners, on)
            results.append(finish(joined).filter(pl.col("_found").is_not_null()))
            strays.append(joined.filter(pl.col("_found").is_null()).select(rows.columns))
            del rows, joined
        del partners
    strays = [s for s in strays if s.height]
    if strays:
        rows = pl.concat(strays)
        keys = rows[on[0]].drop_nulls().unique().implode()
        partners = right_rows(release.scan(right_table).filter(pl.col(on[0]).is_in(keys)))
        partners = partners.with_columns(found).collect()
        results.append(finish(_join_left(rows, partners, on)))
    results = [r for r in results if r.height]
    if not results:
        return pl.DataFrame()
    return pl.concat(results, how="vertical_relaxed").sort(order, maintain_order=True)


@check("pairs_complete", "contract", needs=("data",))
def _pairs_complete(release: Release):
    """One pair per present non-chosen candidate of each complete-context comparison, no other.

    Fix: `pairs` holds one row per present, non-chosen candidate of every comparison with
    context_complete, and no others; rebuild
    """
    comparisons = release.collect(
        "comparisons",
        lambda lf: lf.filter(pl.col("context_complete").fill_null(False)).select(
            "_file",
            "comparison_id",
            "choice",
            pl.col("responses").list.eval(pl.element().is_not_null()).alias("_present"),
        ),
    )
    expected = (
        comparisons.with_columns(
            pl.int_ranges(pl.col("_present").list.len()).alias("rejected_choice")
        )
        .explode("_present", "rejected_choice")
        .filter(
            pl.col("_present").fill_null(False)
            & pl.col("rejected_choice").ne_missing(pl.col("choice"))
        )
        .select("comparison_id", pl.col("rejected_choice").cast(pl.Int64), "_file")
    )
    pairs = release.frame("pairs", "pair_id", "comparison_id", "rejected_choice")
    missing = expected.join(pairs, on=["comparison_id", "rejected_choice"], how="anti")
    for row in missing.iter_rows(named=True):
        yield Problem(
            f"comparison {row['comparison_id']!r} ({row['_file']})",
            f"has no pair rejecting candidate {_letter(row['rejected_choice'])}",
        )
    extra = pairs.join(expected, on=["comparison_id", "rejected_choice"], how="anti")
    for row in extra.iter_rows(named=True):
        yield Problem(
            release.row_label("pairs", row),
            f"pairs comparison {row['comparison_id']!r} with candidate "
            f"{_letter(row['rejected_choice'])}, which is not a present, non-chosen candidate of a "
            "complete-context comparison",
        )
    twice = (
        pairs.group_by("comparison_id", "rejected_choice", maintain_order=True)
        .agg(pl.len().alias("n"), pl.col("pair_id").first())
        .filter(pl.col("n") > 1)
    )
    for row in twice.iter_rows(named=True):
        yield Problem(f"pair {row['pair_id']!r}", f"{row['n']} pairs for the same candidate")


def _width(frame: pl.DataFrame, column: str) -> int:
    """The length of the longest list in a column (0 when none)."""
    return int(frame.select(pl.col(column).list.len().max()).item() or 0) if frame.height else 0


def _unpacked(column: str, width: int, prefix: str) -> list[pl.Expr]:
    """A list column as flat columns: ``<prefix>_n`` its length, ``<prefix>_<i>`` element i (null
    past the end) for i < width: a pair's expected prompt, chosen and rejected are then compared
    element by element, where building them as lists would copy their text."""
    items = pl.col(column)
    return [
        items.list.len().alias(f"{prefix}_n"),
        *(items.list.get(i, null_on_oob=True).alias(f"{prefix}_{i}") for i in range(width)),
    ]


def _unpacked_width(frame: pl.DataFrame, prefix: str) -> int:
    return sum(1 for n in frame.columns if re.fullmatch(re.escape(prefix) + r"_\d+", n))


def _same_message(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Messages ``a`` and ``b`` equal as ``eq_missing`` compares list elements: both null, or
    neither null with equal role and content; never null."""
    fields = [a.struct.field(n).eq_missing(b.struct.field(n)) for n in ("role", "content")]
    both = a.is_not_null() & b.is_not_null()
    return (a.is_null() & b.is_null()) | (both & pl.all_horizontal(fields)).fill_null(False)


def _same_messages(items: pl.Expr, prefix: str, width: int, last: pl.Expr) -> pl.Expr:
    """``items.eq_missing(pl.concat_list(other, pl.concat_list(last)))`` for the messages
    ``other`` unpacked by :func:`_unpacked` as ``prefix`` and the message ``last``, without
    building the expected list; never null."""
    length = pl.col(f"{prefix}_n")
    same = (
        items.is_not_null()
        & (items.list.len() == length + 1)
        & pl.all_horizontal(
            pl.lit(True),
            *(
                (length <= i)
                | _same_message(items.list.get(i, null_on_oob=True), pl.col(f"{prefix}_{i}"))
                for i in range(width)
            ),
        )
        & _same_message(items.list.last(), last)
    )
    # concat_list with a null list is null
    return pl.when(length.is_null()).then(items.is_null()).otherwise(same.fill_null(False))


def _item(index: pl.Expr, prefix: str, width: int) -> pl.Expr:
    """``other.list.get(index, null_on_oob=True)`` of a list unpacked as ``prefix``."""
    length = pl.col(f"{prefix}_n")
    position = pl.when(index < 0).then(index + length).otherwise(index)
    out = pl.lit(None, dtype=pl.String)
    for i in reversed(range(width)):
        out = pl.when(position == i).then(pl.col(f"{prefix}_{i}")).otherwise(out)
    return out


def _one_message(items: pl.Expr, role: str, content: pl.Expr) -> pl.Expr:
    """``items`` is ``[{"role": role, "content": content}]`` (as ``eq_missing`` compares);
    never null."""
    first = items.list.first()
    return (
        items.is_not_null()
        & (items.list.len() == 1)
        & first.is_not_null()
        & first.struct.field("role").eq_missing(pl.lit(role))
        & first.struct.field("content").eq_missing(content)
    ).fill_null(False)


@check("pairs_content", "contract", needs=("data",))
def _pairs_content(release: Release):
    """Each pair's prompt, chosen, rejected, ids and shared fields equal its comparison's.

    Fix: a pair's prompt is the comparison's context + user prompt, chosen/rejected are its
    responses at choice/rejected_choice; rebuild
    """
    comparison_fields = set(shared_names("comparisons"))
    shared = [n for n in shared_names("pairs") if n in comparison_fields and n != "comparison_id"]
    letters = schema.codes("choice")
    names = ["pair_id", "prompt", "chosen", "rejected", "chosen_choice", *shared]

    def comparisons(lf: pl.LazyFrame) -> pl.LazyFrame:
        frame = lf.select(
            "comparison_id", "context", "prompt", "responses", "choice", *shared
        ).collect()
        return frame.select(
            "comparison_id",
            *_unpacked("context", _width(frame, "context"), "_c_context"),
            pl.col("prompt").alias("_c_prompt"),
            *_unpacked("responses", _width(frame, "responses"), "_c_responses"),
            pl.col("responses").list.get(pl.col("choice"), null_on_oob=True).alias("_c_chosen"),
            pl.col("choice").alias("_c_choice"),
            *(pl.col(n).alias(f"_c_{n}") for n in shared),
        ).lazy()

    def bad(joined: pl.DataFrame) -> pl.DataFrame:
        contexts = _unpacked_width(joined, "_c_context")
        responses = _unpacked_width(joined, "_c_responses")
        user = pl.struct(role=pl.lit("user"), content=pl.col("_c_prompt"))
        aspects = {
            "pair_id": pl.col("pair_id").eq_missing(
                pl.format(
                    "{}-{}",
                    "comparison_id",
                    pl.col("rejected_choice").replace_strict(
                        list(range(len(letters))), letters, default="?", return_dtype=pl.String
                    ),
                )
            ),
            "prompt": _same_messages(pl.col("prompt"), "_c_context", contexts, user),
            "chosen": _one_message(pl.col("chosen"), "assistant", pl.col("_c_chosen")),
            "rejected": _one_message(
                pl.col("rejected"),
                "assistant",
                _item(pl.col("rejected_choice"), "_c_responses", responses),
            ),
            "chosen_choice": pl.col("chosen_choice").eq_missing(pl.col("_c_choice")),
            **{n: pl.col(n).eq_missing(pl.col(f"_c_{n}")) for n in shared},
        }
        # eager: a lazy filter would be pushed down, copying the rows' text
        return joined.select(
            "_file",
            "_row",
            "pair_id",
            "comparison_id",
            "_found",
            *(e.fill_null(False).alias(f"_ok_{n}") for n, e in aspects.items()),
        ).filter(  # a pair without a comparison: reported by pairs_complete
            pl.col("_found").is_not_null() & ~pl.all_horizontal(f"_ok_{n}" for n in aspects)
        )

    found = _part_join(
        release,
        (
            "pairs",
            lambda lf: lf.select("_file", "_row", "comparison_id", "rejected_choice", *names),
        ),
        ("comparisons", comparisons),
        ["comparison_id"],
        bad,
        ["_file", "_row"],
    )
    for row in found.iter_rows(named=True):
        differing = [name for name in names if not row[f"_ok_{name}"]]
        yield Problem(
            release.row_label("pairs", row),
            f"{', '.join(differing)} differ from comparison {row['comparison_id']!r}",
        )


def _turn_rows(lf: pl.LazyFrame, columns: list[str], fields: dict[str, pl.Expr]) -> pl.LazyFrame:
    """Conversation turns, one row each (null turns left out): the conversation's ``columns``,
    ``_element`` (the turn's index in ``turns``), then ``fields``: expressions of the turn
    (``pl.element()``, a turn struct) taken from it."""
    turns = pl.col("turns")
    return (
        lf.filter(turns.list.len() > 0)
        .select(
            *columns,
            pl.int_ranges(turns.list.len()).alias("_element"),
            turns.list.eval(pl.element().is_not_null()).alias("_present"),
            *(turns.list.eval(expression).alias(name) for name, expression in fields.items()),
        )
        .explode("_element", "_present", *fields)
        .filter(pl.col("_present"))
        .drop("_present")
    )


def _element_field(name: str) -> pl.Expr:
    return pl.element().struct.field(name)


@check("conversation_turns", "contract", needs=("data",))
def _conversation_turns(release: Release):
    """Turn numbers are known and strictly increasing; num_turns equals the number of turns.

    Fix: a conversation's turns are numbered from vocabularies.yaml `turns`, strictly
    increasing, and num_turns is how many there are
    """
    numbers = [n for n, _ in schema.turn_prefixes()]
    miscounted = release.collect(
        "conversations",
        lambda lf: lf.select(
            "_file", "_row", "conversation_id", "num_turns", pl.col("turns").list.len().alias("_n")
        ).filter(pl.col("num_turns").ne_missing(pl.col("_n"))),
    )
    for row in miscounted.iter_rows(named=True):
        yield Problem(
            release.row_label("conversations", row),
            f"num_turns is {row['num_turns']} but it has {row['_n'] or 0} turns",
        )
    bad = release.collect(
        "conversations",
        lambda lf: (
            _turn_rows(lf, ["_file", "_row", "conversation_id"], {"turn": _element_field("turn")})
            .with_columns(pl.col("turn").shift().over("_file", "_row").alias("_previous"))
            .filter(
                ~pl.col("turn").is_in(numbers).fill_null(False)
                | (pl.col("_previous") >= pl.col("turn")).fill_null(False)
            )
        ),
    )
    for row in bad.unique(["_file", "_row"], keep="first", maintain_order=True).iter_rows(
        named=True
    ):
        if row["turn"] not in numbers:
            what = f"turn number {row['turn']} is not one of {numbers}"
        else:
            what = f"turns out of order: turn {row['turn']} comes after turn {row['_previous']}"
        yield Problem(release.row_label("conversations", row), what)


@check("conversation_comparisons", "contract", needs=("data",))
def _conversation_comparisons(release: Release):
    """Turns with a comparison_id match a comparison; a conversation's comparisons number
    num_comparisons.

    Fix: each turn with a choice names its comparison (`<conversation_id>-<turn>`), whose fields
    equal the turn's and the conversation's; num_comparisons counts them
    """
    turn_fields = [s["name"] for s in schema.load("release")["types"]["turn"]["struct"]]
    conversation_fields = set(shared_names("conversations"))
    shared = [
        n
        for n in shared_names("comparisons")
        if n in conversation_fields and n not in turn_fields and n != "conversation_id"
    ]
    # each turn with a choice is a comparison, and the other way round
    ids = release.collect(
        "conversations",
        lambda lf: _turn_rows(
            lf,
            ["_file", "_row", "conversation_id"],
            {n: _element_field(n) for n in ("turn", "choice", "comparison_id")},
        ),
    )
    for row in ids.filter(
        pl.col("choice").is_null() != pl.col("comparison_id").is_null()
    ).iter_rows(named=True):
        yield Problem(
            f"conversation {row['conversation_id']!r} turn {row['turn']} ({row['_file']})",
            f"choice is {row['choice']!r} but comparison_id is {row['comparison_id']!r}",
        )
    referenced = ids.filter(pl.col("comparison_id").is_not_null()).select("comparison_id")
    named = ids.group_by("_file", "_row").agg(
        pl.col("comparison_id").is_not_null().sum().alias("_named")
    )
    del ids
    compared = ["conversation_id", *[n for n in turn_fields if n != "comparison_id"], *shared]

    def turns(lf: pl.LazyFrame) -> pl.LazyFrame:
        fields = {n: _element_field(n) for n in turn_fields}
        rows = _turn_rows(lf, ["_file", "_row", "conversation_id", *shared], fields)
        return rows.filter(pl.col("comparison_id").is_not_null())

    def comparisons(lf: pl.LazyFrame) -> pl.LazyFrame:
        return lf.select("comparison_id", *(pl.col(c).alias(f"_c_{c}") for c in compared))

    def bad(joined: pl.DataFrame) -> pl.DataFrame:
        differs = {n: pl.col(n).ne_missing(pl.col(f"_c_{n}")) for n in compared}
        # eager: a lazy filter would be pushed down, copying the rows' text
        return joined.select(
            "_file",
            "_row",
            "_element",
            "conversation_id",
            "turn",
            "comparison_id",
            "_found",
            *(d.alias(f"_differs_{n}") for n, d in differs.items()),
        ).filter(
            pl.col("_found").is_null()
            | pl.any_horizontal(f"_differs_{n}" for n in compared)
            | (pl.col("comparison_id") != pl.format("{}-{}", "conversation_id", "turn"))
        )

    joined = _part_join(
        release,
        ("conversations", turns),
        ("comparisons", comparisons),
        ["comparison_id"],
        bad,
        ["_file", "_row", "_element"],
    )
    for row in joined.iter_rows(named=True):
        where = f"conversation {row['conversation_id']!r} turn {row['turn']} ({row['_file']})"
        if row["_found"] is None:
            yield Problem(
                where, f"names comparison {row['comparison_id']!r}, which is not in `comparisons`"
            )
            continue
        differing = [n for n in compared if row[f"_differs_{n}"]]
        if row["comparison_id"] != f"{row['conversation_id']}-{row['turn']}":
            differing.append("comparison_id (not <conversation_id>-<turn>)")
        if differing:
            yield Problem(where, f"differs from comparison {row['comparison_id']!r} in {differing}")
    comparisons_ids = release.frame("comparisons", "comparison_id", "conversation_id")
    orphans = comparisons_ids.join(referenced, on="comparison_id", how="anti")
    for row in orphans.iter_rows(named=True):
        yield Problem(
            release.row_label("comparisons", row),
            f"no turn of conversation {row['conversation_id']!r} names this comparison",
        )
    per_conversation = comparisons_ids.group_by("conversation_id").agg(pl.len().alias("_rows"))
    counted = (
        release.frame("conversations", "conversation_id", "num_comparisons")
        .join(named, on=["_file", "_row"], how="left", maintain_order="left")
        .join(per_conversation, on="conversation_id", how="left", maintain_order="left")
    )
    for row in counted.filter(
        pl.col("num_comparisons").ne_missing(pl.col("_rows").fill_null(0))
        | pl.col("num_comparisons").ne_missing(pl.col("_named").fill_null(0))
    ).iter_rows(named=True):
        yield Problem(
            release.row_label("conversations", row),
            f"num_comparisons is {row['num_comparisons']}, but {row['_rows'] or 0} comparisons "
            f"and {row['_named'] or 0} turns name it",
        )


def _turn_numbers() -> list[int]:
    return [n for n, _ in schema.turn_prefixes()]


def _by_number(
    frame: pl.DataFrame, turns: pl.DataFrame, key: list[str], fields: Iterable[str]
) -> pl.DataFrame:
    """``frame`` (a row per conversation, by ``key``) with ``<field><j>`` for each of the
    fields of ``turns`` (rows of :func:`_turn_rows`): those of the conversation's turn numbered
    the j-th turn number of the schema, its last such turn (null when it has none)."""
    names = [f for f in fields if f != "turn"]
    last = turns.unique([*key, "turn"], keep="last", maintain_order=True)
    for j, number in enumerate(_turn_numbers()):
        numbered = last.filter(pl.col("turn") == number).select(
            *key, *(pl.col(f).alias(f"{f}{j}") for f in names)
        )
        frame = frame.join(numbered, on=key, how="left", maintain_order="left")
    return frame


def _derived_contexts(conversations: pl.LazyFrame) -> pl.LazyFrame:
    """conversation_id, turn -> (context, ``_complete``) for every turn number of the schema,
    as the builder makes them from a conversation's turns: the context is each earlier prompt,
    then the chosen response, those that are not null (given as the slots ``_message<k>``, for
    :func:`_same_context`: building the list would copy its text); complete when every earlier
    turn is there with a prompt and a choice. A turn number that repeats counts by its last
    turn; a conversation id that repeats by its last row."""
    numbers = _turn_numbers()
    types = polars_schema("comparisons")
    prompt, choice = _element_field("prompt"), _element_field("choice")
    chosen = _element_field("responses").list.get(choice, null_on_oob=True)
    fields = {
        "turn": _element_field("turn"),
        "_prompt": prompt,
        "_chosen": pl.when(choice >= 0).then(chosen),
        "_ok": prompt.is_not_null() & choice.is_not_null(),
    }
    # eager: a lazy plan would read the conversations once for every use below
    frame = conversations.select("conversation_id", "turns").with_row_index("_i").collect()
    last = frame.select("conversation_id", "_i").unique(
        "conversation_id", keep="last", maintain_order=True
    )
    turns = _turn_rows(frame.lazy(), ["_i"], fields).collect()
    del frame
    frame = _by_number(last, turns, ["_i"], fields)
    rows = []
    for i, number in enumerate(numbers):
        rows.append(
            frame.select(
                "conversation_id",
                pl.lit(number, dtype=types["turn"]).alias("turn"),
                *(
                    pl.col(f"{field}{j}").alias(f"_message{k}")
                    if j < i  # the turns before this one
                    else pl.lit(None, dtype=pl.String).alias(f"_message{k}")
                    for k, (j, field) in enumerate(_context_slots())
                ),
                pl.all_horizontal(
                    [pl.lit(True), *(pl.col(f"_ok{j}").fill_null(False) for j in range(i))]
                ).alias("_complete"),
            )
        )
    return pl.concat(rows).lazy()


def _context_slots() -> list[tuple[int, str]]:
    """The messages a context can hold, in order: each earlier turn's prompt, then its chosen
    response (as (turn index, field) of :func:`_derived_contexts`)."""
    return [(j, f) for j in range(len(_turn_numbers()) - 1) for f in ("_prompt", "_chosen")]


def _same_context(context: pl.Expr) -> pl.Expr:
    """``context`` equals the messages of the slots ``_message<k>`` (a user prompt at even k, an
    assistant response at odd k) that are not null, in order; never null."""
    slots = [pl.col(f"_message{k}") for k in range(len(_context_slots()))]
    same = [context.is_not_null()]
    position = pl.lit(0, dtype=pl.UInt32)
    for k, content in enumerate(slots):
        message = context.list.get(position, null_on_oob=True)
        role = "user" if k % 2 == 0 else "assistant"
        same.append(
            content.is_null()
            | (
                message.is_not_null()
                & message.struct.field("role").eq_missing(pl.lit(role))
                & message.struct.field("content").eq_missing(content)
            )
        )
        position = position + content.is_not_null().cast(pl.UInt32)
    same.append(context.list.len() == position)
    return pl.all_horizontal(same).fill_null(False)


@check("comparison_context", "contract", needs=("data",))
def _comparison_context(release: Release):
    """Each comparison's context and context_complete (and each turn's) follow from its
    conversation's turns.

    Fix: a comparison's context is each earlier prompt and chosen response of its conversation;
    context_complete says every earlier turn has both
    """
    numbers = _turn_numbers()

    def wrong_turns(lf: pl.LazyFrame) -> pl.LazyFrame:
        prompt, choice = _element_field("prompt"), _element_field("choice")
        fields = {
            "turn": _element_field("turn"),
            "_ok": prompt.is_not_null() & choice.is_not_null(),
            "context_complete": _element_field("context_complete"),
        }
        # eager: a lazy plan would read the file once for every use of the turns
        turns = _turn_rows(lf, ["_file", "_row", "conversation_id"], fields).collect()
        rows = turns.select("_file", "_row").unique(maintain_order=True)
        ok = _by_number(rows, turns, ["_file", "_row"], ["_ok"])
        expected = pl.lit(None, dtype=pl.Boolean)
        for i, number in reversed(list(enumerate(numbers))):
            complete = pl.all_horizontal(
                [pl.lit(True), *(pl.col(f"_ok{j}").fill_null(False) for j in range(i))]
            )
            expected = pl.when(pl.col("turn") == number).then(complete).otherwise(expected)
        return (
            turns.join(ok, on=["_file", "_row"], how="left", maintain_order="left")
            .with_columns(expected.alias("_expected"))
            .filter(
                pl.col("_expected").is_not_null()
                & pl.col("context_complete").ne_missing(pl.col("_expected"))
            )
            .lazy()
        )

    for row in release.collect("conversations", wrong_turns).iter_rows(named=True):
        yield Problem(
            release.row_label("conversations", row),
            f"turn {row['turn']} context_complete is {row['context_complete']}",
        )

    def comparisons(lf: pl.LazyFrame) -> pl.LazyFrame:
        return lf.select(
            "_file",
            "_row",
            "comparison_id",
            "conversation_id",
            "turn",
            "context",
            "context_complete",
        )

    def bad(joined: pl.DataFrame) -> pl.DataFrame:
        # a comparison without its conversation's turn: reported by conversation_comparisons
        return joined.select(
            "_file",
            "_row",
            "comparison_id",
            "_found",
            (~_same_context(pl.col("context"))).alias("_differs_context"),
            pl.col("context_complete")
            .ne_missing(pl.col("_complete"))
            .alias("_differs_context_complete"),
        ).filter(
            pl.col("_found").is_not_null()
            & (pl.col("_differs_context") | pl.col("_differs_context_complete"))
        )

    found = _part_join(
        release,
        ("comparisons", comparisons),
        ("conversations", _derived_contexts),
        ["conversation_id", "turn"],
        bad,
        ["_file", "_row"],
    )
    for row in found.iter_rows(named=True):
        differing = [n for n in ("context", "context_complete") if row[f"_differs_{n}"]]
        yield Problem(
            release.row_label("comparisons", row),
            f"{' and '.join(differing)} do not follow from its conversation's turns",
        )


def _item_id() -> pl.Expr:
    """:func:`community_alignment.hashing.stable_id` of a comparison's context (each message's
    role and content), prompt and responses, as a polars expression over the stored text."""
    from community_alignment.hashing import FIELD_SEPARATOR, NULL_MARKER, stable_id_expr

    def joined(items: pl.Expr) -> pl.Expr:  # a list's fields, null when it has none
        return pl.when(items.list.len() > 0).then(items.list.join(FIELD_SEPARATOR))

    messages = pl.col("context").list.eval(
        pl.concat_str(
            [
                _element_field("role").fill_null(NULL_MARKER),
                _element_field("content").fill_null(NULL_MARKER),
            ],
            separator=FIELD_SEPARATOR,
        )
    )
    responses = pl.col("responses").list.eval(pl.element().fill_null(NULL_MARKER))
    fields = pl.concat_str(
        [joined(messages), pl.col("prompt").fill_null(NULL_MARKER), joined(responses)],
        separator=FIELD_SEPARATOR,
        ignore_nulls=True,
    )
    return stable_id_expr([fields])


@check("derived_ids", "contract", needs=("data",))
def _derived_ids(release: Release):
    """item_id, first_prompt_id and annotators' fold equal their hashes.

    Fix: item_id, first_prompt_id and fold are hashes (community_alignment.hashing); rebuild
    """
    from community_alignment.hashing import fold_of, stable_id_expr

    comparisons = release.collect(
        "comparisons",
        lambda lf: lf.filter(pl.col("item_id").ne_missing(_item_id())).select(
            "_file", "_row", "comparison_id"
        ),
    )
    for row in comparisons.iter_rows(named=True):
        yield Problem(
            release.row_label("comparisons", row),
            "item_id is not the hash of its context, prompt and responses",
        )
    prompt = (
        pl.col("turns")
        .list.eval(_element_field("prompt").filter(_element_field("turn") == 1).first())
        .list.first()
    )
    expected = pl.when(prompt.is_not_null()).then(stable_id_expr([prompt]))
    conversations = release.collect(
        "conversations",
        lambda lf: lf.filter(pl.col("first_prompt_id").ne_missing(expected)).select(
            "_file", "_row", "conversation_id"
        ),
    )
    for row in conversations.iter_rows(named=True):
        yield Problem(
            release.row_label("conversations", row),
            "first_prompt_id is not the hash of its first prompt",
        )
    for row in release.frame("annotators", "annotator_id", "fold").iter_rows(named=True):
        if row["annotator_id"] is not None and row["fold"] != fold_of(row["annotator_id"]):
            yield Problem(
                release.row_label("annotators", row),
                f"fold is {row['fold']}, the hash gives {fold_of(row['annotator_id'])}",
            )


@check("dataset_info_counts", "contract", needs=("card",))
def _dataset_info_counts(release: Release):
    """dataset_info has every config and split, with num_examples equal to the real row counts.

    Fix: dataset_info must have every config and split with num_examples = the rows its
    data_files read; rebuild the card
    """
    configs = {name: splits for name, _, splits in release.configs}
    for name in configs:
        if name not in release.dataset_info:
            yield Problem(f"dataset_info {name}", "config has no dataset_info entry")
    for name, info in release.dataset_info.items():
        if name not in configs:
            yield Problem(f"dataset_info {name}", "is not a config of the card")
            continue
        recorded = {str(s.get("name")): s.get("num_examples") for s in info.get("splits") or []}
        for split, patterns in configs[name].items():
            rows = sum(release.rows_of.get(f, 0) for p in patterns for f in release.matched(p))
            if split not in recorded:
                yield Problem(f"dataset_info {name}/{split}", "split is missing")
            elif recorded[split] != rows:
                yield Problem(
                    f"dataset_info {name}/{split}",
                    f"num_examples is {recorded[split]}, its files hold {rows} rows",
                )
        for split in recorded:
            if split not in configs[name]:
                yield Problem(f"dataset_info {name}/{split}", "split is not in the config")


# --- statistics: numbers the card states, against numbers computed from the data ------------------


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


def data_headline(release: Release) -> dict[str, int]:
    return {table: release.table_rows(table) for table in HEADLINE}


def _without_code(text: str) -> str:
    """The card's text with fenced code blocks removed (their `#` lines are not headings)."""
    return re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.M | re.S)


def parse_card_table(text: str, heading: str) -> dict[str, str]:
    r"""The first table under the heading ``heading`` (any level), as {"<row>/<column>": cell}.

    ``<row>`` is the row's first cell, ``<column>`` the header of the cell's column. The
    section runs to the next heading; {} when there is no such heading or table.

    >>> parse_card_table("## Sizes\n\n| table | rows |\n|---|---:|\n| a | 1,234 |\n", "Sizes")
    {'a/rows': '1,234'}
    """
    pattern = r"^#+[ \t]*" + re.escape(heading) + r"[ \t]*$(.*?)(?=^#|\Z)"
    section = re.search(pattern, _without_code(text), flags=re.M | re.S)
    if not section:
        return {}
    lines = section.group(1).splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("|")), None)
    if start is None:
        return {}
    rows = []
    for line in lines[start:]:
        if not line.strip().startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    if len(rows) < 2:
        return {}
    header = rows[0]
    return {
        f"{row[0]}/{column}": cell
        for row in rows[2:]
        for column, cell in zip(header[1:], row[1:], strict=False)
    }


def table_cells(rows: list[list[str]]) -> dict[str, str]:
    """Rows of cells (header first, as builder.card builds them) as {"<row>/<column>": cell}."""
    header, *body = rows
    return {
        f"{row[0]}/{column}": cell
        for row in body
        for column, cell in zip(header[1:], row[1:], strict=False)
    }


def _card_data(release: Release) -> dict[str, Any]:
    """What the card's statistics tables are recomputed from, computed once per release: the
    statistics of community_alignment.headline, and agreement by country and across countries
    with the card's bootstrap parameters, all from the rows the other checks read."""
    cache = release.__dict__.setdefault("_card_data", {})
    if not cache:
        from builder import card
        from community_alignment.headline import statistics

        comparisons = release.scan("comparisons")  # lazy: only the columns needed are read
        cache["stats"] = statistics(comparisons, release.scan("conversations"))
        cache["agreement"], cache["cross"] = card.agreement_analysis(comparisons)
    return cache


def _card_table_statistic(heading_key: str, rows: Callable[[dict], list[list[str]]]) -> tuple:
    """(parse, compute) for a card table: parse its cells under its heading; recompute them."""
    from builder import card

    heading = card.HEADINGS[heading_key]

    def parse(text: str) -> dict[str, str]:
        return parse_card_table(text, heading)

    def compute(release: Release) -> dict[str, str]:
        return table_cells(rows(_card_data(release)))

    return parse, compute


def _statistics_tables() -> dict[str, tuple[str, Callable, Callable]]:
    from builder import card

    tables = {
        "card_glance": ("glance", "The card's at-a-glance statistics",
                        lambda d: card.glance_table_rows(d["stats"])),
        "card_by_country": ("by_country", "The card's counts by country",
                            lambda d: card.group_table_rows(d["stats"], "by_country")),
        "card_by_language": ("by_language", "The card's counts by language",
                             lambda d: card.group_table_rows(d["stats"], "by_language")),
        "card_turns": ("turns", "The card's conversation lengths",
                       lambda d: card.turns_table_rows(d["stats"])),
        "card_positions": ("positions", "The card's chosen positions by country",
                           lambda d: card.positions_table_rows(d["stats"])),
        "card_agreement": ("agreement", "The card's agreement statistics by country, with intervals,",
                           lambda d: card.agreement_table_rows(d["agreement"])),
        "card_cross_country": ("cross", "The card's agreement across countries",
                               lambda d: card.cross_table_rows(d["cross"] and d["cross"].table)),
    }  # fmt: skip
    return {
        name: (what, *_card_table_statistic(key, rows))
        for name, (key, what, rows) in tables.items()
    }


# check name -> (what is compared, numbers the card states, the same numbers from the data).
# To check another statistic of the card, add a parser and a computation here. Counts compare
# as numbers; the tables of builder.card compare cell by cell as the card prints them.
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
        yield from compare_numbers(parse(release.card[1]), compute(release))

    run.__doc__ = (
        f"{what} equal the data's.\n\nFix: the card's statistics are written from the data by "
        "`builder build`; rebuild the card (never edit numbers by hand)."
    )
    check(name, "statistics", needs=("card",))(run)


for _name, (_what, _parse, _compute) in CARD_STATISTICS.items():
    _register_statistic(_name, _what, _parse, _compute)


# --- manifest -------------------------------------------------------------------------------------


def _allowed_file(path: str) -> bool:
    return (
        path in (README, MANIFEST)
        or (path.startswith("data/") and path.endswith(".parquet"))
        or bool(ASSET.match(path))
    )


@check("manifest_parses", "manifest")
def _manifest_parses(release: Release):
    """manifest.json parses, with release_version, builder_version, source and a sha256 for each file.

    Fix: manifest.json is written by `builder build`; rebuild
    """
    manifest, error = release.manifest
    if error:
        yield Problem(MANIFEST, error.removeprefix(f"{MANIFEST} "))
        return
    for key in ("release_version", "builder_version", "source"):
        if not manifest.get(key):
            yield Problem(MANIFEST, f"has no `{key}`")
    for path, entry in manifest["files"].items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            yield Problem(path, "has no sha256 in the manifest")


@check("manifest_files_exist", "manifest", needs=("manifest",))
def _manifest_files_exist(release: Release):
    """Every file the manifest lists exists.

    Fix: restore the file, or rebuild the release so the manifest matches
    """
    present = set(release.files)
    for path in release.manifest[0]["files"]:
        if path not in present:
            yield Problem(path, "is in the manifest but missing from the release")


@check("manifest_complete", "manifest", needs=("manifest",))
def _manifest_complete(release: Release):
    """Every file of the release (but manifest.json) is in the manifest.

    Fix: remove the file, or rebuild so the manifest lists it
    """
    listed = release.manifest[0]["files"]
    for path in release.files:
        if path != MANIFEST and path not in listed:
            yield Problem(path, "is in the release but not in the manifest")


@check("manifest_checksums", "manifest", needs=("manifest",))
def _manifest_checksums(release: Release):
    """Every listed file's sha256 matches the manifest.

    Fix: the file changed after the build: rebuild the release (never edit files by hand)
    """
    from builder.release import file_sha256

    for path, entry in release.manifest[0]["files"].items():
        full = release.root / path
        if full.is_file() and isinstance(entry, dict):
            digest = file_sha256(full)
            if digest != entry.get("sha256"):
                yield Problem(path, f"sha256 is {digest}, the manifest says {entry.get('sha256')}")


@check("manifest_rows", "manifest", needs=("manifest",))
def _manifest_rows(release: Release):
    """Every data file's row count in the manifest equals its Parquet row count.

    Fix: the manifest's row counts come from the build; rebuild
    """
    files = release.manifest[0]["files"]
    for f in release.data_files:
        entry = files.get(f.path)
        if not isinstance(entry, dict) or f.read_error:
            continue
        if entry.get("rows") != f.rows:
            yield Problem(
                f.path, f"the manifest says {entry.get('rows')} rows, the file has {f.rows}"
            )


@check("stray_files", "manifest")
def _stray_files(release: Release):
    """No file besides README.md, manifest.json, data/**/*.parquet and assets/*.png.

    Fix: a release holds only README.md, manifest.json, data/**/*.parquet and the card's
    figures assets/*.png; remove the file
    """
    for path in release.files:
        if not _allowed_file(path):
            yield Problem(path, "does not belong in a release")


# --- loading --------------------------------------------------------------------------------------


@contextmanager
def offline() -> Iterator[None]:
    """Hub access off (environment and the already-imported libraries' constants), then restored."""
    import datasets.config
    import huggingface_hub.constants

    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    saved_env = {n: os.environ.get(n) for n in names}
    targets = [
        (m, n) for m in (datasets.config, huggingface_hub.constants) for n in names if hasattr(m, n)
    ]
    saved = [(m, n, getattr(m, n)) for m, n in targets]
    os.environ.update(dict.fromkeys(names, "1"))
    for module, name in targets:
        setattr(module, name, True)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@check("load_dataset", "loading", needs=("card",))
def _load_dataset(release: Release):
    """Every config and split loads offline with datasets.load_dataset, with the right rows.

    Fix: the config must load with datasets.load_dataset(..., verification_mode='all_checks')
    """
    import datasets

    bars = datasets.is_progress_bar_enabled()
    verbosity = datasets.logging.get_verbosity()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    cache = tempfile.mkdtemp(prefix="validate-cache-")
    try:
        with offline():
            for name, _, splits in release.configs:
                try:
                    loaded = datasets.load_dataset(
                        str(release.root), name, verification_mode="all_checks", cache_dir=cache
                    )
                except Exception as error:  # noqa: BLE001 - the failure is the finding
                    yield Problem(f"config {name}", f"does not load: {_first_line(error)}")
                    continue
                if set(loaded) != set(splits):
                    yield Problem(
                        f"config {name}",
                        f"loads splits {sorted(loaded)}, the card has {sorted(splits)}",
                    )
                for split, patterns in splits.items():
                    rows = sum(
                        release.rows_of.get(f, 0) for p in patterns for f in release.matched(p)
                    )
                    if split in loaded and loaded[split].num_rows != rows:
                        yield Problem(
                            f"{name}/{split}",
                            f"loads {loaded[split].num_rows} rows, its files hold {rows}",
                        )
                del loaded
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        datasets.logging.set_verbosity(verbosity)
        if bars:
            datasets.enable_progress_bars()


# --- entry points ---------------------------------------------------------------------------------


def check_names(*, load: bool = True) -> list[str]:
    return [c.name for c in CHECKS if load or c.group != "loading"]


def validate(release_dir: str | Path, *, load: bool = True) -> ValidationReport:
    """Run every check on a release folder or ``hf://datasets/ORG/NAME[@REV]``."""
    text = str(release_dir)
    if text.startswith("hf://"):
        with hub_snapshot(text) as folder:
            report = validate_folder(folder, load=load, ignore=(".gitattributes",))
        report.release = text
        return report
    return validate_folder(Path(release_dir), load=load)


def validate_folder(
    folder: Path, *, load: bool = True, ignore: Iterable[str] = ()
) -> ValidationReport:
    folder = Path(folder)
    if not folder.is_dir():
        raise BuildError(f"{folder} is not a folder: nothing to validate")
    start = time.perf_counter()
    release = Release(folder.resolve(), ignore=ignore)
    report = ValidationReport(release=str(folder))
    for item in CHECKS:
        if item.group == "loading" and not load:
            continue
        report.results.append(_run(release, item))
    report.seconds = time.perf_counter() - start
    return report


@contextmanager
def hub_snapshot(source: str) -> Iterator[Path]:
    """Download ``hf://datasets/ORG/NAME[@REV]`` to a temporary folder, removed afterwards."""
    match = HF_RELEASE.match(source)
    if not match:
        raise BuildError(f"cannot read {source!r}: expected hf://datasets/ORG/NAME[@REVISION]")
    from huggingface_hub import snapshot_download

    with tempfile.TemporaryDirectory(prefix="validate-hub-") as cache:
        folder = snapshot_download(
            match["repo"], repo_type="dataset", revision=match["rev"], cache_dir=cache
        )
        yield Path(folder)


def _run_cli(args: argparse.Namespace) -> int:
    try:
        report = validate(args.release, load=args.load)
    except BuildError as error:
        print(f"validate failed: {error}")
        return 2
    if args.json:
        print(report.to_json())
    else:
        print(report.render(), end="")
    return 0 if report.ok else 1


def register_cli(commands: Any) -> argparse.ArgumentParser:
    """Add ``validate DIR [--json] [--no-load]`` to ``python -m builder``'s subcommands."""
    parser = commands.add_parser(
        "validate",
        help="check a release folder (or hf://datasets/ORG/NAME@REV) before publishing",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "release", metavar="DIR", help="release folder, or hf://datasets/ORG/NAME[@REVISION]"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--no-load",
        dest="load",
        action="store_false",
        help="skip loading every config with datasets.load_dataset",
    )
    parser.set_defaults(run=_run_cli)
    return parser
