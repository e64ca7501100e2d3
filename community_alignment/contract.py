"""The release contract, derived from ``schema/``: where files live, which configs exist, how
rows are ordered, how ids and a turn's context are made and why rows are quarantined.

The builder, the card, the validator and :func:`community_alignment.scan` read these facts
here; none of them writes one out again.

>>> config_glob("comparisons", country="br"), config_glob("hi"), config_glob("annotators")
('data/comparisons/*/br-*.parquet', 'data/comparisons/hi/*-*.parquet', 'data/annotators/*-*.parquet')
>>> shard_path("pairs", "en", "us", 0, 2)
'data/pairs/en/us-00000-of-00002.parquet'
>>> parse_shard_path("data/annotators/in-00000-of-00001.parquet")["country"]
'in'
"""  # noqa: E501

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from types import SimpleNamespace
from typing import Any

import polars as pl

from community_alignment import schema
from community_alignment.hashing import stable_id_expr


def _layout() -> dict[str, Any]:
    return schema.load("release")["layout"]


# --- files and configs ------------------------------------------------------------------


def manifest_name() -> str:
    return _layout()["manifest"]


def card_name() -> str:
    return _layout()["card"]


def data_folder() -> str:
    """The release's folder of data files (``data``)."""
    return _layout()["data_folder"]


def split_by_language(table: str) -> bool:
    return bool(schema.table(table)["split_by_language"])


def table_folder(table: str, language: str | None = None) -> str:
    """The folder of a table's shards, ``data/<table>`` or ``data/<table>/<language>``;
    ``language="*"`` gives a glob over the languages."""
    base = f"{data_folder()}/{table}"
    return base if language is None else f"{base}/{language}"


def shard_name(country: str, index: int, count: int) -> str:
    return _layout()["shard"].format(country=country, index=index, count=count)


def shard_path(table: str, language: str | None, country: str, index: int, count: int) -> str:
    return f"{table_folder(table, language)}/{shard_name(country, index, count)}"


@cache
def shard_pattern() -> re.Pattern:
    """A regex of every shard path, with groups table, language (None for a table that is not
    split by language), country, index and count."""
    shard = re.escape(_layout()["shard"])
    for name, group in (
        ("country", r"(?P<country>[^/]+)"),
        ("index:05d", r"(?P<index>\d{5})"),
        ("count:05d", r"(?P<count>\d{5})"),
    ):
        shard = shard.replace(re.escape("{" + name + "}"), group)
    folder = re.escape(data_folder())
    return re.compile(rf"^{folder}/(?P<table>[^/]+)/(?:(?P<language>[^/]+)/)?{shard}$")


def parse_shard_path(path: str) -> dict[str, str | None] | None:
    """The groups of :func:`shard_pattern` for a shard path, or None when it is not one."""
    match = shard_pattern().match(path)
    return match.groupdict() if match else None


def shard_layout_text() -> str:
    """The shard layout in words, for messages."""
    shard = shard_name("<country>", 0, 0).replace("00000-of-00000", "NNNNN-of-NNNNN")
    return (
        f"{table_folder('<table>', '<language>')}/{shard} "
        f"(tables not split by language: {table_folder('<table>')}/{shard})"
    )


def default_config() -> str:
    return _layout()["default_config"]


def language_config_table() -> str:
    """The table whose files the language configs are views of."""
    return _layout()["language_configs_of"]


def config_names() -> list[str]:
    """Every config a release can have: the tables, then one per language."""
    return [*schema.table_names(), *schema.codes("languages")]


def table_of_config(config: str) -> str:
    """The table a config reads: itself, or for a language config the table it is a view of."""
    if config in schema.table_names():
        return config
    if config in schema.codes("languages"):
        return language_config_table()
    raise ValueError(
        f"unknown config {config!r}: expected one of {tuple(schema.table_names())} or a "
        f"language {tuple(schema.codes('languages'))}"
    )


def config_folder(config: str) -> str:
    """The folder glob of a config's files (every language folder for a table config)."""
    table = table_of_config(config)
    if config != table:
        return table_folder(table, config)
    return table_folder(table, "*" if split_by_language(table) else None)


def config_glob(config: str, country: str | None = None, language: str | None = None) -> str:
    """The glob of a config's files, narrowed to one country (a split) and/or language."""
    table = table_of_config(config)
    if config != table:
        language = config
    if language is not None and not split_by_language(table):
        raise ValueError(f"the {table} config is split by country only, not by language")
    folder = table_folder(table, language) if language else config_folder(table)
    return f"{folder}/{shard_name(country or '*', 0, 0).replace('00000-of-00000', '*')}"


# --- row order --------------------------------------------------------------------------


def sort_keys(table: str) -> list[str]:
    return list(schema.table(table)["sort_by"])


def order(keys: list[str]) -> list[pl.Expr]:
    """Deterministic row order: key by key, an id in numeric order where it is a number (ids
    that are not come last), then as text; other keys as they are. An id's text follows its
    number at once, so a conversation's rows stay together whatever its id ("a", "010" and
    "10" included). Sort with ``nulls_last=True``.

    >>> frame = pl.DataFrame({"conversation_id": ["10", "a", "9", "010"], "turn": [1, 1, 1, 1]})
    >>> frame.sort(order(["conversation_id", "turn"]), nulls_last=True)["conversation_id"].to_list()
    ['9', '010', '10', 'a']
    """
    return [
        expr
        for k in keys
        for expr in (
            (pl.col(k).cast(pl.Int64, strict=False), pl.col(k))
            if k.endswith("_id")
            else (pl.col(k),)
        )
    ]


def table_order(table: str) -> list[pl.Expr]:
    """:func:`order` of a table's ``sort_by`` keys."""
    return order(sort_keys(table))


# --- ids --------------------------------------------------------------------------------


def id_template(name: str) -> str:
    return schema.load("release")["ids"][name]


def id_expr(name: str, **parts: pl.Expr) -> pl.Expr:
    """A polars expression making the id ``name`` from the columns its template names, or
    from the expressions given for them in ``parts``.

    >>> pl.DataFrame({"conversation_id": ["7"], "turn": [2]}).select(id_expr("comparison_id")).item()
    '7-2'
    """  # noqa: E501
    template = id_template(name)
    columns = [parts.get(c, pl.col(c)) for c in re.findall(r"\{(\w+)\}", template)]
    return pl.format(re.sub(r"\{\w+\}", "{}", template), *columns).alias(name)


def id_separator(name: str) -> str:
    """The text between a two-part id's parts (``-`` in ``{comparison_id}-{rejected_choice}``)."""
    parts = re.split(r"\{\w+\}", id_template(name))
    inner = parts[1:-1]
    if len(inner) != 1 or parts[0] or parts[-1]:
        raise ValueError(f"id {name} is not of the form {{a}}<separator>{{b}}")
    return inner[0]


# --- a turn's context -------------------------------------------------------------------


def context_fields() -> list[tuple[str, str]]:
    """(role, field) of the messages each earlier turn adds to a turn's context, in order;
    ``chosen`` is the response the annotator picked.

    >>> context_fields()
    [('user', 'prompt'), ('assistant', 'chosen')]
    """
    return [(m["role"], m["field"]) for m in schema.load("release")["context"]]


def message_roles() -> tuple[str, str]:
    """The role of a prompt and the role of a reply in a context (:func:`context_fields`).

    >>> message_roles()
    ('user', 'assistant')
    """
    role = {field: role for role, field in context_fields()}
    return role["prompt"], role["chosen"]


def context_messages(earlier: Sequence[tuple[pl.Expr, pl.Expr]]) -> list[tuple[str, pl.Expr]]:
    """The messages before a turn, as (role, content): from each earlier turn, in order, given
    as (its prompt, the reply the annotator chose), the prompt as the user's message, then the
    reply as the assistant's. Where a content is null the message is unknown: the context, and
    :func:`item_id_expr`, leave it out.

    >>> [role for role, _ in context_messages([(pl.col("p1"), pl.col("c1"))] * 2)]
    ['user', 'assistant', 'user', 'assistant']
    """
    user, assistant = message_roles()
    return [
        (role, text)
        for prompt, chosen in earlier
        for role, text in ((user, prompt), (assistant, chosen))
    ]


def item_id_expr(
    messages: Sequence[tuple[str | pl.Expr, pl.Expr]],
    prompt: pl.Expr,
    responses: Sequence[pl.Expr],
) -> pl.Expr:
    """The unit of agreement, ``item_id``: :func:`~community_alignment.hashing.stable_id` of the
    context's messages (role, content; an unknown message, whose content is null, left out with
    its role), then the prompt and each candidate response (a missing one hashed as missing).

    >>> from community_alignment.hashing import stable_id
    >>> frame = pl.DataFrame({"p1": ["Hi"], "c1": [None], "p2": ["Why?"], "r": [["a", None]]})
    >>> context = context_messages([(pl.col("p1"), pl.col("c1"))])
    >>> responses = [pl.col("r").list.get(i) for i in range(2)]
    >>> got = frame.select(item_id_expr(context, pl.col("p2"), responses)).item()
    >>> got == stable_id(["user", "Hi", "Why?", "a", None])
    True
    """
    leading = [
        field
        for role, content in messages
        for field in (
            pl.when(content.is_not_null()).then(pl.lit(role) if isinstance(role, str) else role),
            content,
        )
    ]
    return stable_id_expr([prompt, *responses], leading=leading)


# --- quarantine -------------------------------------------------------------------------


def quarantine_reasons() -> dict[str, str]:
    """Every quarantine reason code with its meaning, in schema order."""
    return dict(schema.load("release")["quarantine_reasons"])


# ``contract.REASONS.missing_id`` is the code ``"missing_id"``; a code not in the schema
# fails where it is written, not in a report
REASONS = SimpleNamespace(**{code: code for code in quarantine_reasons()})
