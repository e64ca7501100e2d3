"""Read the contract in ``schema/`` (raw columns, release tables, vocabularies).

Everything else derives from what this module returns: Arrow schemas, ``datasets.Features``,
the card's field tables and the validator's rules.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml


def schema_dir() -> Path:
    """The schema folder: inside the installed wheel, or at the top of a checkout."""
    packaged = Path(__file__).parent / "schema"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).parent.parent / "schema"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"schema/ not found beside {Path(__file__).parent}")


@cache
def load(name: str) -> dict[str, Any]:
    """One schema file (``raw``, ``release`` or ``vocabularies``) as a dict."""
    with open(schema_dir() / f"{name}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def vocabulary(name: str) -> dict[str, Any]:
    return load("vocabularies")[name]


def codes(name: str) -> list[Any]:
    """Allowed release values of a vocabulary, in schema order."""
    return [v["code"] if isinstance(v, dict) else v for v in vocabulary(name)["values"]]


def turn_prefixes() -> list[tuple[int, str]]:
    return [(t["number"], t["prefix"]) for t in load("vocabularies")["turns"]]


def raw_columns() -> list[dict[str, Any]]:
    """Every raw column, per-turn columns expanded, in the generator's order."""
    raw = load("raw")
    columns = list(raw["conversation_columns"])
    for number, prefix in turn_prefixes():
        for column in raw["turn_columns"]:
            columns.append({**column, "name": column["name"].format(t=prefix), "turn": number})
    columns.extend(raw["flag_columns"])
    return columns


def raw_column_names() -> list[str]:
    return [c["name"] for c in raw_columns()]


# --- release tables ---------------------------------------------------------------------


def table_names() -> list[str]:
    return list(load("release")["tables"])


def table(name: str) -> dict[str, Any]:
    try:
        return load("release")["tables"][name]
    except KeyError:
        raise ValueError(f"unknown table {name!r}: expected one of {table_names()}") from None


def fields(name: str) -> list[dict[str, Any]]:
    """The fields of a release table, shared definitions resolved, in column order."""
    shared = load("release")["fields"]
    resolved = []
    for entry in table(name)["fields"]:
        if isinstance(entry, str):
            resolved.append({"name": entry, **shared[entry]})
        elif "type" not in entry:  # a shared field with keys added
            resolved.append({"name": entry["name"], **shared[entry["name"]], **entry})
        else:
            resolved.append(dict(entry))
    return resolved


def field_names(name: str) -> list[str]:
    return [f["name"] for f in fields(name)]


def demographics() -> list[str]:
    return list(load("release")["demographics"])


def _feature(type_: Any):
    from datasets import ClassLabel, List, Value

    if isinstance(type_, dict):
        if "list" in type_:
            return List(_feature(type_["list"]))
        if "class_label" in type_:
            return ClassLabel(names=[str(c) for c in codes(type_["class_label"])])
        raise ValueError(f"unknown type {type_!r} in schema/release.yaml")
    composite = load("release")["types"].get(type_)
    if composite is not None:
        return {f["name"]: _feature(f["type"]) for f in composite["struct"]}
    return Value(type_)


def features(name: str):
    """``datasets.Features`` of a release table."""
    from datasets import Features

    return Features({f["name"]: _feature(f["type"]) for f in fields(name)})


def arrow_schema(name: str):
    """Arrow schema of a release table's Parquet files (with datasets' feature metadata)."""
    return features(name).arrow_schema


def statistics_columns(name: str) -> list[str]:
    """The Parquet columns (dotted paths) of a release table that keep min/max statistics:
    all but those under a ``free_text`` field.

    >>> statistics_columns("pairs")[6:9]
    ['country', 'prompt.list.element.role', 'chosen.list.element.role']
    """
    composites = load("release")["types"]

    def leaves(path: str, type_: Any) -> list[str]:
        if isinstance(type_, dict) and "list" in type_:
            return leaves(f"{path}.list.element", type_["list"])
        if isinstance(type_, str) and type_ in composites:
            return [
                leaf
                for field in composites[type_]["struct"]
                if not field.get("free_text")
                for leaf in leaves(f"{path}.{field['name']}", field["type"])
            ]
        return [path]

    return [
        leaf
        for f in fields(name)
        if not f.get("free_text")
        for leaf in leaves(f["name"], f["type"])
    ]


def type_label(type_: Any) -> str:
    """Human-readable type for the card's field tables."""
    if isinstance(type_, dict):
        if "list" in type_:
            return f"list of {type_label(type_['list'])}"
        return f"class label ({', '.join(map(str, codes(type_['class_label'])))})"
    return type_
