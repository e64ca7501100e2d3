"""Checks of the TRL configs against the comparisons they are made from (the books: every
unpaired row, conversation of `messages` and unit of `prompts` traces back to comparisons),
and of TRL's conversational format rules. They belong to the contract group."""

from __future__ import annotations

import warnings

import polars as pl

from builder.validate.joins import (
    list_width,
    one_message,
    part_join,
    same_messages,
    unpacked,
    unpacked_width,
)
from builder.validate.reader import Release, shared_names
from builder.validate.registry import Problem, check
from community_alignment import contract, schema
from community_alignment.inputs import first_picks

SHOWN = 3  # differing fields named per problem
COMPLETE = pl.col("context_complete").fill_null(False)


def _letters() -> list[str]:
    return list(schema.codes("choice"))


@check("unpaired_complete", "contract", needs=("data",))
def _unpaired_complete(release: Release):
    """One unpaired row per present candidate of each complete-context comparison, no other;
    label true exactly for the chosen one.

    Fix: `unpaired` holds one row per present candidate of every comparison with
    context_complete, labelled true when it is the choice; rebuild
    """
    expected = (
        release.collect(
            "comparisons",
            lambda lf: lf.filter(COMPLETE).select(
                "_file",
                "comparison_id",
                "choice",
                pl.col("responses").list.eval(pl.element().is_not_null()).alias("_present"),
            ),
        )
        .with_columns(pl.int_ranges(pl.col("_present").list.len()).alias("completion_choice"))
        .explode("_present", "completion_choice")
        .filter(pl.col("_present").fill_null(False))
        .select(
            "comparison_id",
            pl.col("completion_choice").cast(pl.Int64),
            pl.col("completion_choice").eq_missing(pl.col("choice")).alias("_label"),
            "_file",
        )
    )
    rows = release.frame("unpaired", "unpaired_id", "comparison_id", "completion_choice", "label")
    rows = rows.with_columns(pl.col("completion_choice").cast(pl.Int64))
    keys = ["comparison_id", "completion_choice"]
    letters = _letters()
    for row in expected.join(rows, on=keys, how="anti").iter_rows(named=True):
        yield Problem(
            f"comparison {row['comparison_id']!r} ({row['_file']})",
            f"has no unpaired row for candidate {letters[row['completion_choice']]}",
        )
    for row in rows.join(expected, on=keys, how="anti").iter_rows(named=True):
        yield Problem(
            release.row_label("unpaired", row),
            f"is candidate {row['completion_choice']} of comparison {row['comparison_id']!r}, "
            "which is not a present candidate of a complete-context comparison",
        )
    labelled = rows.join(expected.drop("_file"), on=keys, how="inner").filter(
        pl.col("label").ne_missing(pl.col("_label"))
    )
    for row in labelled.iter_rows(named=True):
        yield Problem(
            release.row_label("unpaired", row),
            f"label {row['label']} but the annotator {'chose' if row['_label'] else 'did not choose'}"
            " this candidate",
        )
    twice = rows.filter(pl.struct(keys).is_duplicated()).unique(keys, keep="first")
    for row in twice.iter_rows(named=True):
        yield Problem(release.row_label("unpaired", row), "more than one row for this candidate")


def _comparison_side(shared: list[str]):
    """The comparisons' columns a TRL row is compared with, unpacked (see ``unpacked``)."""

    def comparisons(lf: pl.LazyFrame) -> pl.LazyFrame:
        frame = lf.select("comparison_id", "context", "prompt", "responses", *shared).collect()
        return frame.select(
            "comparison_id",
            *unpacked("context", list_width(frame, "context"), "_c_context"),
            pl.col("prompt").alias("_c_prompt"),
            pl.col("responses").alias("_c_responses"),
            *(pl.col(n).alias(f"_c_{n}") for n in shared),
        ).lazy()

    return comparisons


def _differing(found: pl.DataFrame, table: str, release: Release, names: list[str]):
    for row in found.iter_rows(named=True):
        differing = [name for name in names if not row[f"_ok_{name}"]]
        yield Problem(
            release.row_label(table, row),
            f"{', '.join(differing)} differ from comparison {row['comparison_id']!r}",
        )


@check("unpaired_content", "contract", needs=("data",))
def _unpaired_content(release: Release):
    """Each unpaired row's id, prompt, completion and shared fields equal its comparison's.

    Fix: an unpaired row's prompt is the comparison's context + user prompt, its completion
    the response at completion_choice; rebuild
    """
    comparison_fields = set(shared_names("comparisons"))
    shared = [
        n for n in shared_names("unpaired") if n in comparison_fields and n != "comparison_id"
    ]
    names = ["unpaired_id", "prompt", "completion", *shared]
    letters = _letters()

    def bad(joined: pl.DataFrame) -> pl.DataFrame:
        contexts = unpacked_width(joined, "_c_context")
        user = pl.struct(role=pl.lit("user"), content=pl.col("_c_prompt"))
        position = pl.col("completion_choice")
        aspects = {
            "unpaired_id": pl.col("unpaired_id").eq_missing(
                contract.id_expr(
                    "unpaired_id",
                    completion_choice=position.replace_strict(
                        list(range(len(letters))), letters, default="?", return_dtype=pl.String
                    ),
                )
            ),
            "prompt": same_messages(pl.col("prompt"), "_c_context", contexts, user),
            "completion": one_message(
                pl.col("completion"),
                "assistant",
                pl.col("_c_responses").list.get(position, null_on_oob=True),
            ),
            **{n: pl.col(n).eq_missing(pl.col(f"_c_{n}")) for n in shared},
        }
        return joined.select(
            "_file", "_row", "unpaired_id", "comparison_id", "_found",
            *(e.fill_null(False).alias(f"_ok_{n}") for n, e in aspects.items()),
        ).filter(  # a row without a comparison: reported by unpaired_complete
            pl.col("_found").is_not_null() & ~pl.all_horizontal(f"_ok_{n}" for n in aspects)
        )  # fmt: skip

    found = part_join(
        release,
        (
            "unpaired",
            lambda lf: lf.select(
                "_file", "_row", "comparison_id", "completion_choice", *dict.fromkeys(names)
            ),
        ),
        ("comparisons", _comparison_side(shared)),
        ["comparison_id"],
        bad,
        ["_file", "_row"],
    )
    yield from _differing(found, "unpaired", release, names)


def _said(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Per comparison, its user prompt and chosen response as two chat messages."""
    chosen = pl.col("responses").list.get(pl.col("choice"), null_on_oob=True)
    return lf.select(
        "conversation_id",
        "turn",
        pl.concat_list(
            pl.struct(role=pl.lit("user"), content=pl.col("prompt")),
            pl.struct(role=pl.lit("assistant"), content=chosen),
        ).alias("_said"),
    )


@check("messages_content", "contract", needs=("data",))
def _messages_content(release: Release):
    """Each conversation whose first turn is a comparison has one `messages` row, no other:
    its comparisons' prompts and chosen responses up to its first turn that is not one, and
    the conversation's fields.

    Fix: `messages` holds, per conversation, each turn's prompt and chosen response up to the
    first turn without a recorded choice; rebuild
    """
    per_conversation = [
        n for n in schema.field_names("messages") if n not in ("messages", "num_turns")
    ]
    parts = sorted(set(release.parts("messages")) | set(release.parts("conversations")))
    for part in parts:
        # the turns a conversation's messages hold: those before its first non-comparison
        conversations = release.collect(
            "conversations",
            lambda lf: lf.select(
                *per_conversation,
                pl.col("turns").list.eval(pl.element().struct.field("turn")).alias("_turn"),
                pl.col("turns")
                .list.eval(pl.element().struct.field("comparison_id").is_not_null())
                .alias("_is"),
            ),
            part,
        )
        kept = (
            conversations.select("conversation_id", "_turn", "_is")
            .explode("_turn", "_is")
            # in turn order whatever the stored order (conversation_turns reports that)
            .sort("conversation_id", "_turn", maintain_order=True)
            .filter(pl.col("_is").cast(pl.Int8).cum_min().over("conversation_id") == 1)
            .select("conversation_id", pl.col("_turn").cast(pl.Int8).alias("turn"))
        )
        said = release.collect("comparisons", _said, part)
        strays = kept.join(said, on=["conversation_id", "turn"], how="anti")
        if strays.height:  # comparisons filed in another part (rows_match_path reports them)
            keys = strays["conversation_id"].unique().implode()
            said = pl.concat([
                said,
                release.collect(
                    "comparisons",
                    lambda lf, k=keys: _said(lf.filter(pl.col("conversation_id").is_in(k))),
                ).join(strays, on=["conversation_id", "turn"], how="semi"),
            ])  # fmt: skip
        expected = (
            kept.join(said, on=["conversation_id", "turn"], how="left", maintain_order="left")
            .group_by("conversation_id", maintain_order=True)
            .agg(
                pl.col("_said")
                .list.explode(keep_nulls=True, empty_as_null=False)
                .alias("_messages"),
                pl.len().cast(pl.Int8).alias("_num_turns"),
            )
            .join(
                conversations.select(
                    *(pl.col(n).alias(f"_c_{n}") if n != "conversation_id" else pl.col(n)
                      for n in per_conversation)
                ),
                on="conversation_id",
                how="left",
            )
        )  # fmt: skip
        rows = release.collect(
            "messages",
            lambda lf: lf.select("_file", "_row", *per_conversation, "messages", "num_turns"),
            part,
        )
        for row in expected.join(rows, on="conversation_id", how="anti").iter_rows(named=True):
            yield Problem(
                f"conversation {row['conversation_id']!r} ({part[0]}/{part[1]})",
                "has comparisons from its first turn on but no `messages` row",
            )
        for row in rows.join(expected, on="conversation_id", how="anti").iter_rows(named=True):
            yield Problem(
                release.row_label("messages", row),
                "is not a conversation whose first turn is a comparison",
            )
        joined = rows.join(expected, on="conversation_id", how="inner", maintain_order="left")
        aspects = {
            "messages": pl.col("messages").eq_missing(pl.col("_messages")),
            "num_turns": pl.col("num_turns").eq_missing(pl.col("_num_turns")),
            **{
                n: pl.col(n).eq_missing(pl.col(f"_c_{n}"))
                for n in per_conversation
                if n != "conversation_id"
            },
        }
        checked = joined.select(
            "_file", "_row", "conversation_id",
            *(e.fill_null(False).alias(f"_ok_{n}") for n, e in aspects.items()),
        ).filter(~pl.all_horizontal(f"_ok_{n}" for n in aspects))  # fmt: skip
        for row in checked.iter_rows(named=True):
            differing = [n for n in aspects if not row[f"_ok_{n}"]][:SHOWN]
            yield Problem(
                release.row_label("messages", row),
                f"{', '.join(differing)} differ from its conversation's comparisons",
            )


def expected_unit_picks(picks: pl.DataFrame) -> pl.DataFrame:
    """Per (language, item_id, country) of complete-context comparisons (``picks``: their
    language, country, item_id, annotator_id, comparison_id, choice): the first comparison in
    sort order, and the picks of the country, of every country and by country, each annotator
    counted once on a unit."""
    count = len(_letters())
    first = (
        picks.sort(contract.table_order("prompts"), nulls_last=True, maintain_order=True)
        .group_by("language", "item_id", "country", maintain_order=True)
        .agg(pl.col("comparison_id").first().alias("_first"))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        picked = pl.concat(
            [first_picks(g) for _, g in picks.group_by("language", maintain_order=True)] or [picks]
        )

    def tally(by: list[str]) -> pl.DataFrame:
        return picked.group_by(*by).agg(
            pl.concat_list([(pl.col("choice") == k).sum().cast(pl.Int32) for k in range(count)])
            .alias("_n")
        )  # fmt: skip

    by_country = tally(["language", "item_id", "country"]).sort("language", "item_id", "country")
    overall = tally(["language", "item_id"]).rename({"_n": "_picks"})
    listed = by_country.group_by("language", "item_id", maintain_order=True).agg(
        pl.struct(country="country", picks="_n").alias("_by_country")
    )
    return (
        first.join(by_country.rename({"_n": "_country_picks"}), on=["language", "item_id", "country"])
        .join(overall, on=["language", "item_id"])
        .join(listed, on=["language", "item_id"])
    )  # fmt: skip


@check("prompts_units", "contract", needs=("data",))
def _prompts_units(release: Release):
    """One `prompts` row per unit of complete-context comparisons and country split, taken from
    its first comparison there, with picks that add up those comparisons (each annotator once).

    Fix: `prompts` holds, per unit and country, the first complete-context comparison's
    prompt and candidates, and the unit's picks overall, in the country and by country; rebuild
    """
    picks = release.collect(
        "comparisons",
        lambda lf: lf.filter(COMPLETE).select(
            "language", "country", "item_id", "annotator_id", "comparison_id",
            "conversation_id", "turn", pl.col("choice").cast(pl.Int64),
        ),
    )  # fmt: skip
    expected = expected_unit_picks(picks)
    rows = release.frame(
        "prompts", "comparison_id", "item_id", "language", "country",
        "picks", "country_picks", "picks_by_country",
    )  # fmt: skip
    keys = ["language", "item_id", "country"]
    for row in expected.join(rows, on=keys, how="anti").iter_rows(named=True):
        yield Problem(
            f"unit {row['item_id']!r} ({row['language']}/{row['country']})",
            f"has complete-context comparisons (first {row['_first']!r}) but no `prompts` row",
        )
    for row in rows.join(expected, on=keys, how="anti").iter_rows(named=True):
        yield Problem(
            release.row_label("prompts", row),
            "no complete-context comparison of its split is on this unit",
        )
    joined = rows.join(expected, on=keys, how="inner", maintain_order="left")
    aspects = {
        "comparison_id": pl.col("comparison_id").eq_missing(pl.col("_first")),
        "picks": pl.col("picks").eq_missing(pl.col("_picks")),
        "country_picks": pl.col("country_picks").eq_missing(pl.col("_country_picks")),
        "picks_by_country": pl.col("picks_by_country").eq_missing(pl.col("_by_country")),
    }
    checked = joined.select(
        "_file", "_row", "comparison_id", "item_id",
        *(e.fill_null(False).alias(f"_ok_{n}") for n, e in aspects.items()),
    ).filter(~pl.all_horizontal(f"_ok_{n}" for n in aspects))  # fmt: skip
    for row in checked.iter_rows(named=True):
        differing = [n for n in aspects if not row[f"_ok_{n}"]]
        yield Problem(
            release.row_label("prompts", row),
            f"{', '.join(differing)} differ from the unit's complete-context comparisons",
        )
    twice = rows.filter(pl.struct(keys).is_duplicated()).unique(keys, keep="first")
    for row in twice.iter_rows(named=True):
        yield Problem(release.row_label("prompts", row), "more than one row for this unit here")


@check("prompts_content", "contract", needs=("data",))
def _prompts_content(release: Release):
    """Each `prompts` row's prompt, candidates and shared fields equal its comparison's.

    Fix: a unit's prompt is its comparison's context + user prompt, its responses the
    comparison's; rebuild
    """
    comparison_fields = set(shared_names("comparisons"))
    shared = [n for n in shared_names("prompts") if n in comparison_fields and n != "comparison_id"]
    names = ["prompt", "responses", *shared]

    def bad(joined: pl.DataFrame) -> pl.DataFrame:
        contexts = unpacked_width(joined, "_c_context")
        user = pl.struct(role=pl.lit("user"), content=pl.col("_c_prompt"))
        aspects = {
            "prompt": same_messages(pl.col("prompt"), "_c_context", contexts, user),
            "responses": pl.col("responses").eq_missing(pl.col("_c_responses")),
            **{n: pl.col(n).eq_missing(pl.col(f"_c_{n}")) for n in shared},
        }
        return joined.select(
            "_file", "_row", "comparison_id", "_found",
            *(e.fill_null(False).alias(f"_ok_{n}") for n, e in aspects.items()),
        ).filter(
            pl.col("_found").is_not_null() & ~pl.all_horizontal(f"_ok_{n}" for n in aspects)
        )  # fmt: skip

    found = part_join(
        release,
        ("prompts", lambda lf: lf.select("_file", "_row", "comparison_id", *names)),
        ("comparisons", _comparison_side(shared)),
        ["comparison_id"],
        bad,
        ["_file", "_row"],
    )
    yield from _differing(found, "prompts", release, names)


# TRL's conversational format: which column holds a list of messages, and what it must be
TRL_MESSAGES = {
    "pairs": {"prompt": "prompt", "chosen": "completion", "rejected": "completion"},
    "unpaired": {"prompt": "prompt", "completion": "completion"},
    "messages": {"messages": "conversation"},
    "prompts": {"prompt": "prompt"},
}


def format_problems(messages: pl.Expr, kind: str) -> pl.Expr:
    """Why a list of chat messages breaks TRL's conversational format as a ``kind`` column
    (``prompt``: user first, roles alternating, ending with user; ``completion``: one
    assistant message; ``conversation``: user first, alternating, ending with assistant), or
    null when it keeps it. Empty or blank text breaks it in every kind."""
    role = pl.element().struct.field("role")
    content = pl.element().struct.field("content")
    n = messages.list.len()
    roles = messages.list.eval(role)
    # the role each position must have when roles alternate from user
    alternate = messages.list.eval(
        pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("user")).otherwise(pl.lit("assistant"))
    )
    blank = messages.list.eval(content.is_null() | (content.str.strip_chars() == "")).list.any()
    last = roles.list.last()
    rules = {
        "prompt": [
            (n == 0, "no messages"),
            (roles != alternate, "roles do not alternate from user"),
            (last != "user", "does not end with a user message"),
        ],
        "completion": [
            (n != 1, "not one message"),
            (roles.list.first() != "assistant", "not an assistant message"),
        ],
        "conversation": [
            (n == 0, "no messages"),
            (roles != alternate, "roles do not alternate from user"),
            (last != "assistant", "does not end with an assistant message"),
        ],
    }[kind] + [(blank, "a message has no text")]
    out = pl.lit(None, dtype=pl.String)
    for broken, why in reversed(rules):
        out = pl.when(broken.fill_null(True)).then(pl.lit(why)).otherwise(out)
    return pl.when(messages.is_null()).then(pl.lit("null")).otherwise(out)


@check("trl_format", "contract", needs=("data",))
def _trl_format(release: Release):
    """The TRL configs' message columns keep TRL's conversational format: roles user and
    assistant, a prompt alternating from user to a last user message, one assistant message
    per completion, a conversation ending with the assistant, no empty text.

    Fix: rebuild; a row that breaks these rules fails in TRL's trainers
    """
    for table, columns in TRL_MESSAGES.items():
        for column, kind in columns.items():
            bad = release.collect(
                table,
                lambda lf, c=column, k=kind, t=table: lf.select(
                    "_file", "_row", schema.field_names(t)[0], format_problems(pl.col(c), k).alias("_why")
                ).filter(pl.col("_why").is_not_null()),
            )  # fmt: skip
            for row in bad.iter_rows(named=True):
                yield Problem(release.row_label(table, row), f"{column}: {row['_why']}")
