"""Wide to long: one cleaned raw row (a conversation) becomes its present turns, each with its
choice, problem, context flag and item id. The one place where a conversation's columns
become turns.
"""

from __future__ import annotations

import re

import polars as pl

from builder import answers
from builder.clean import FLAGS, LETTERS, response_columns, turn_column
from community_alignment import contract, schema
from community_alignment.contract import REASONS
from community_alignment.hashing import fold_of, stable_id_expr

CONVERSATION_FIELDS = [
    "raw_row", "conversation_id", "annotator_id", "language", "country", *FLAGS, "wave",
    *schema.demographics(), "first_prompt_id", "fold", "row_hash", "row_problem", "row_detail",
]  # fmt: skip
TURN_FIELDS = [
    "turn", "exists", "prompt", "responses", "raw_choice", "choice", "explanation",
    "turn_problem", "context_complete", "item_id",
]  # fmt: skip


def _without_junk(frame: pl.DataFrame) -> pl.DataFrame:
    """The response columns without the vocabulary's ``response_junk`` (and the whitespace
    before it). Only the cells that hold some are changed: they are few (a few in a hundred
    in the generated data), and gathering them costs less than a pass of the replacement."""
    junk = schema.load("vocabularies")["response_junk"]
    pattern = rf"\s*(?:{'|'.join(re.escape(j) for j in junk)})"
    columns = [c for _, prefix in schema.turn_prefixes() for c in response_columns(prefix)]
    holds = frame.select(
        pl.any_horizontal(pl.col(c).str.contains(j, literal=True) for j in junk).fill_null(False)
        for c in columns
    )
    changed = {}
    for column, flags in zip(columns, holds.get_columns(), strict=True):
        rows = flags.arg_true()
        if rows.len():
            cells = frame[column]
            changed[column] = cells.scatter(rows, cells.gather(rows).str.replace_all(pattern, ""))
    return frame.with_columns(**changed)


def _with_turn_columns(wide: pl.LazyFrame) -> pl.LazyFrame:
    """Per-turn values, ``t<n>_<name>``, from each turn's raw columns: exists, prompt,
    responses, raw_choice, choice (an index), chosen, explanation and turn_problem.

    Built in three steps, each naming what the next reads, so every value is computed once.
    """
    to_index = {key: LETTERS.index(code) for key, code in answers.keys_of("choice").items()}
    turns = schema.turn_prefixes()

    def missing_if_empty(text: pl.Expr) -> pl.Expr:  # a response that was only junk
        return pl.when(text == "").then(None).otherwise(text)

    def raw(prefix: str, name: str) -> pl.Expr:
        return pl.col(turn_column(prefix, name))

    wide = wide.with_columns(
        *(
            missing_if_empty(pl.col(column)).alias(f"t{n}_{letter}")
            for n, prefix in turns
            for letter, column in zip(LETTERS, response_columns(prefix), strict=True)
        ),
        *(
            answers.folded(raw(prefix, "preferred_response"))
            .replace_strict(to_index, default=None, return_dtype=pl.Int8)
            .alias(f"t{n}_index")
            for n, prefix in turns
        ),
    )
    steps: list[list[pl.Expr]] = [[], []]
    for n, prefix in turns:
        prompt, raw_choice, index = (
            raw(prefix, "prompt"),
            raw(prefix, "preferred_response"),
            pl.col(f"t{n}_index"),
        )
        responses = [pl.col(f"t{n}_{letter}") for letter in LETTERS]
        chosen = pl.when(index == 0).then(responses[0])
        for i, response in enumerate(responses[1:], start=1):
            chosen = chosen.when(index == i).then(response)
        steps[0] += [
            chosen.alias(f"t{n}_chosen"),
            pl.any_horizontal(
                e.is_not_null() for e in (prompt, raw_choice, raw(prefix, "feedback"), *responses)
            ).alias(f"t{n}_exists"),
            pl.concat_list(responses).alias(f"t{n}_responses"),
            prompt.alias(f"t{n}_prompt"),
            raw_choice.alias(f"t{n}_raw_choice"),
            raw(prefix, "feedback").alias(f"t{n}_explanation"),
        ]
        problem = (
            pl.when(raw_choice.is_not_null() & index.is_null()).then(pl.lit(REASONS.invalid_choice))
            .when(index.is_not_null() & prompt.is_null()).then(pl.lit(REASONS.choice_without_prompt))
            .when(index.is_not_null() & pl.col(f"t{n}_chosen").is_null())
            .then(pl.lit(REASONS.chosen_response_missing))
        )  # fmt: skip
        steps[1] += [problem.alias(f"t{n}_turn_problem")]
    wide = wide.with_columns(steps[0]).with_columns(steps[1])
    return wide.with_columns(
        expr
        for n, _ in turns
        for expr in (
            pl.when(pl.col(f"t{n}_turn_problem").is_null())
            .then(pl.col(f"t{n}_index"))
            .alias(f"t{n}_choice"),
            pl.when(pl.col(f"t{n}_turn_problem").is_null())
            .then(pl.col(f"t{n}_chosen"))
            .alias(f"t{n}_chosen"),
        )
    )


def to_turns(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per present turn, with its flags and ids; conversation fields repeated.

    A turn's context (the messages before it) is not made here: its text is the earlier
    turns' own, so the tables make it from them (:func:`builder.tables.comparisons`), and the
    work files hold each text once. Whether it is complete, and the item id, which hashes it,
    are made here, from the row.
    """
    turns = schema.turn_prefixes()
    folds = {a: fold_of(a) for a in frame["annotator_id"].drop_nulls().unique()}
    wide = (
        _without_junk(frame)
        .lazy()
        .with_columns(
            *(pl.col(f"{c}_code").alias(c) for c in FLAGS),
            pl.col("wave_code").alias("wave"),
            pl.when(pl.col(turn_column(turns[0][1], "prompt")).is_not_null())
            .then(stable_id_expr([pl.col(turn_column(turns[0][1], "prompt"))]))
            .alias("first_prompt_id"),
            pl.col("annotator_id")
            .replace_strict(folds, default=None, return_dtype=pl.Int8)
            .alias("fold"),
        )
        .pipe(_with_turn_columns)
        .collect(engine="in-memory")
    )
    pieces = []
    for position, (number, _) in enumerate(turns):
        earlier = [
            (role, pl.col(f"t{n}_{field}"))
            for n, _ in turns[:position]
            for role, field in contract.context_fields()
        ]
        complete = (
            pl.all_horizontal(c.is_not_null() for _, c in earlier) if earlier else pl.lit(True)
        )
        pieces.append(
            wide.lazy().select(
                *CONVERSATION_FIELDS,
                pl.lit(number, dtype=pl.Int8).alias("turn"),
                *(pl.col(f"t{number}_{name}").alias(name) for name in (
                    "exists", "prompt", "responses", "raw_choice", "choice", "explanation",
                    "turn_problem",
                )),
                complete.alias("context_complete"),
                contract.item_id_expr(
                    earlier,
                    pl.col(f"t{number}_prompt"),
                    [pl.col(f"t{number}_responses").list.get(i) for i in range(len(LETTERS))],
                ).alias("item_id"),
            ).filter(pl.col("exists"))
        )  # fmt: skip
    return pl.concat(pieces).select(*CONVERSATION_FIELDS, *TURN_FIELDS).collect(engine="in-memory")
