"""A conversation's turns as rows, and what follows from them: each turn's context and
context_complete as the builder makes them, and a comparison's item_id."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from builder.validate.reader import polars_schema
from community_alignment import contract, schema


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
    slots = len(context_slots())
    rows = []
    for i, number in enumerate(numbers):
        before = contract.context_messages(earlier_turns()[:i])
        rows.append(
            frame.select(
                "conversation_id",
                pl.lit(number, dtype=types["turn"]).alias("turn"),
                *(content.alias(f"_message{k}") for k, (_, content) in enumerate(before)),
                *(
                    pl.lit(None, dtype=pl.String).alias(f"_message{k}")
                    for k in range(len(before), slots)
                ),
                pl.all_horizontal(
                    [pl.lit(True), *(pl.col(f"_ok{j}").fill_null(False) for j in range(i))]
                ).alias("_complete"),
            )
        )
    return pl.concat(rows).lazy()


def earlier_turns() -> list[tuple[pl.Expr, pl.Expr]]:
    """(prompt, chosen reply) of each turn but the last, as the columns ``_prompt<j>`` and
    ``_chosen<j>`` of :func:`derived_contexts`."""
    return [(pl.col(f"_prompt{j}"), pl.col(f"_chosen{j}")) for j in range(len(turn_numbers()) - 1)]


def context_slots() -> list[tuple[str, pl.Expr]]:
    """The messages a context can hold, in order, as (role, content) of
    :func:`community_alignment.contract.context_messages`."""
    return contract.context_messages(earlier_turns())


def same_context(context: pl.Expr) -> pl.Expr:
    """``context`` equals the messages of the slots ``_message<k>`` (each with the role of its
    place in :func:`context_slots`) that are not null, in order; never null."""
    same = [context.is_not_null()]
    position = pl.lit(0, dtype=pl.UInt32)
    for k, (role, _) in enumerate(context_slots()):
        content = pl.col(f"_message{k}")
        message = context.list.get(position, null_on_oob=True)
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
    """The item_id of a comparison's stored context, prompt and responses, by
    :func:`community_alignment.contract.item_id_expr` as the cleaner hashes it; null (so never
    equal) when the context holds more messages than a turn can have before it, or the
    responses are not one per candidate."""
    context, responses = pl.col("context"), pl.col("responses")
    messages = [context.list.get(k, null_on_oob=True) for k in range(len(context_slots()))]
    candidates = len(schema.codes("choice"))
    expected = contract.item_id_expr(
        [(m.struct.field("role"), m.struct.field("content")) for m in messages],
        pl.col("prompt"),
        [responses.list.get(i, null_on_oob=True) for i in range(candidates)],
    )
    fits = (context.list.len() <= len(messages)) & (responses.list.len() == candidates)
    return pl.when(fits).then(expected)
