"""Checks of the data files against the schema: paths, Arrow schemas and feature metadata,
nulls, vocabularies, unique ids, and rows filed under their own language and country."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from builder.validate.reader import (
    Release,
    first_line,
    id_field_of,
    polars_schema,
    unique_fields,
)
from builder.validate.registry import SHOWN, Problem, check
from community_alignment import schema


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
            yield Problem(f.path, f"`huggingface` metadata does not parse: {first_line(error)}")
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
            # the ids alone first: where a repeat is found is looked up only if there is one
            if not release.scan(table).select(pl.col(name).is_duplicated().any()).collect().item():
                continue
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
