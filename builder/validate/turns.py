"""A conversation's turns as rows, and what follows from them: each turn's context and
context_complete as the builder makes them, and a comparison's item_id."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from builder.validate.reader import polars_schema
from community_alignment import schema


def turn_rows(lf: pl.LazyFrame, columns: list[str], fields: dict[str, pl.Expr]) -> pl.LazyFrame:
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


def element_field(name: str) -> pl.Expr:
    return pl.element().struct.field(name)


def turn_numbers() -> list[int]:
    return [n for n, _ in schema.turn_prefixes()]


def by_number(
    frame: pl.DataFrame, turns: pl.DataFrame, key: list[str], fields: Iterable[str]
) -> pl.DataFrame:
    """``frame`` (a row per conversation, by ``key``) with ``<field><j>`` for each of the
    fields of ``turns`` (rows of :func:`turn_rows`): those of the conversation's turn numbered
    the j-th turn number of the schema, its last such turn (null when it has none)."""
    names = [f for f in fields if f != "turn"]
    last = turns.unique([*key, "turn"], keep="last", maintain_order=True)
    for j, number in enumerate(turn_numbers()):
        numbered = last.filter(pl.col("turn") == number).select(
            *key, *(pl.col(f).alias(f"{f}{j}") for f in names)
        )
        frame = frame.join(numbered, on=key, how="left", maintain_order="left")
    return frame


def derived_contexts(conversations: pl.LazyFrame) -> pl.LazyFrame:
    """conversation_id, turn -> (context, ``_complete``) for every turn number of the schema,
    as the builder makes them from a conversation's turns: the context is each earlier prompt,
    then the chosen response, those that are not null (given as the slots ``_message<k>``, for
    :func:`same_context`: building the list would copy its text); complete when every earlier
    turn is there with a prompt and a choice. A turn number that repeats counts by its last
    turn; a conversation id that repeats by its last row."""
    numbers = turn_numbers()
    types = polars_schema("comparisons")
    prompt, choice = element_field("prompt"), element_field("choice")
    chosen = element_field("responses").list.get(choice, null_on_oob=True)
    fields = {
        "turn": element_field("turn"),
        "_prompt": prompt,
        "_chosen": pl.when(choice >= 0).then(chosen),
        "_ok": prompt.is_not_null() & choice.is_not_null(),
    }
    # eager: a lazy plan would read the conversations once for every use below
    frame = conversations.select("conversation_id", "turns").with_row_index("_i").collect()
    last = frame.select("conversation_id", "_i").unique(
        "conversation_id", keep="last", maintain_order=True
    )
    turns = turn_rows(frame.lazy(), ["_i"], fields).collect()
    del frame
    frame = by_number(last, turns, ["_i"], fields)
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
                    for k, (j, field) in enumerate(context_slots())
                ),
                pl.all_horizontal(
                    [pl.lit(True), *(pl.col(f"_ok{j}").fill_null(False) for j in range(i))]
                ).alias("_complete"),
            )
        )
    return pl.concat(rows).lazy()


def context_slots() -> list[tuple[int, str]]:
    """The messages a context can hold, in order: each earlier turn's prompt, then its chosen
    response (as (turn index, field) of :func:`derived_contexts`)."""
    return [(j, f) for j in range(len(turn_numbers()) - 1) for f in ("_prompt", "_chosen")]


def same_context(context: pl.Expr) -> pl.Expr:
    """``context`` equals the messages of the slots ``_message<k>`` (a user prompt at even k, an
    assistant response at odd k) that are not null, in order; never null."""
    slots = [pl.col(f"_message{k}") for k in range(len(context_slots()))]
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


def item_id() -> pl.Expr:
    """:func:`community_alignment.hashing.stable_id` of a comparison's context (each message's
    role and content), prompt and responses, as a polars expression over the stored text."""
    from community_alignment.hashing import FIELD_SEPARATOR, NULL_MARKER, stable_id_expr

    def joined(items: pl.Expr) -> pl.Expr:  # a list's fields, null when it has none
        return pl.when(items.list.len() > 0).then(items.list.join(FIELD_SEPARATOR))

    messages = pl.col("context").list.eval(
        pl.concat_str(
            [
                element_field("role").fill_null(NULL_MARKER),
                element_field("content").fill_null(NULL_MARKER),
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
