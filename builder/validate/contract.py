"""Checks of the contract between tables: shard numbering and sort order, annotators and
their activity, pairs against comparisons, conversations against comparisons, contexts and
hashed ids, and the card's dataset_info counts."""

from __future__ import annotations

from collections import defaultdict

import polars as pl

from builder.validate.joins import (
    list_width,
    one_message,
    part_join,
    same_messages,
    unpacked,
    unpacked_item,
    unpacked_width,
)
from builder.validate.reader import DataFile, Release, id_field_of, shared_names
from builder.validate.registry import Problem, check
from builder.validate.turns import (
    by_number,
    derived_contexts,
    element_field,
    item_id,
    same_context,
    turn_numbers,
    turn_rows,
)
from community_alignment import contract, schema


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


@check("sort_order", "contract")
def _sort_order(release: Release):
    """Rows of each folder/country (across its shards, in order) follow the schema's sort_by.

    Fix: rows are sorted by the table's `sort_by` (ids numerically when numbers); rebuild
    """
    for table in schema.table_names():
        keys = contract.sort_keys(table)
        id_field = id_field_of(table)
        columns = ["_file", "_row", *dict.fromkeys([id_field, *keys])]
        groups: dict[str, list[pl.LazyFrame]] = defaultdict(list)
        for f, lf in release.rows(table):
            groups[f.group].append(lf.select(columns))
        for group in sorted(groups):  # a group's shards, in order
            frame = pl.concat(groups[group]).with_row_index("_position").collect()
            ordered = frame.sort(contract.order(keys), nulls_last=True, maintain_order=True)
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
            *unpacked("context", list_width(frame, "context"), "_c_context"),
            pl.col("prompt").alias("_c_prompt"),
            *unpacked("responses", list_width(frame, "responses"), "_c_responses"),
            pl.col("responses").list.get(pl.col("choice"), null_on_oob=True).alias("_c_chosen"),
            pl.col("choice").alias("_c_choice"),
            *(pl.col(n).alias(f"_c_{n}") for n in shared),
        ).lazy()

    def bad(joined: pl.DataFrame) -> pl.DataFrame:
        contexts = unpacked_width(joined, "_c_context")
        responses = unpacked_width(joined, "_c_responses")
        user = pl.struct(role=pl.lit("user"), content=pl.col("_c_prompt"))
        aspects = {
            "pair_id": pl.col("pair_id").eq_missing(
                contract.id_expr(
                    "pair_id",
                    rejected_choice=pl.col("rejected_choice").replace_strict(
                        list(range(len(letters))), letters, default="?", return_dtype=pl.String
                    ),
                )
            ),
            "prompt": same_messages(pl.col("prompt"), "_c_context", contexts, user),
            "chosen": one_message(pl.col("chosen"), "assistant", pl.col("_c_chosen")),
            "rejected": one_message(
                pl.col("rejected"),
                "assistant",
                unpacked_item(pl.col("rejected_choice"), "_c_responses", responses),
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

    found = part_join(
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
            turn_rows(lf, ["_file", "_row", "conversation_id"], {"turn": element_field("turn")})
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
        lambda lf: turn_rows(
            lf,
            ["_file", "_row", "conversation_id"],
            {n: element_field(n) for n in ("turn", "choice", "comparison_id")},
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
        fields = {n: element_field(n) for n in turn_fields}
        rows = turn_rows(lf, ["_file", "_row", "conversation_id", *shared], fields)
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
            | (pl.col("comparison_id") != contract.id_expr("comparison_id"))
        )

    joined = part_join(
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


@check("comparison_context", "contract", needs=("data",))
def _comparison_context(release: Release):
    """Each comparison's context and context_complete (and each turn's) follow from its
    conversation's turns.

    Fix: a comparison's context is each earlier prompt and chosen response of its conversation;
    context_complete says every earlier turn has both
    """
    numbers = turn_numbers()

    def wrong_turns(lf: pl.LazyFrame) -> pl.LazyFrame:
        prompt, choice = element_field("prompt"), element_field("choice")
        fields = {
            "turn": element_field("turn"),
            "_ok": prompt.is_not_null() & choice.is_not_null(),
            "context_complete": element_field("context_complete"),
        }
        # eager: a lazy plan would read the file once for every use of the turns
        turns = turn_rows(lf, ["_file", "_row", "conversation_id"], fields).collect()
        rows = turns.select("_file", "_row").unique(maintain_order=True)
        ok = by_number(rows, turns, ["_file", "_row"], ["_ok"])
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
            (~same_context(pl.col("context"))).alias("_differs_context"),
            pl.col("context_complete")
            .ne_missing(pl.col("_complete"))
            .alias("_differs_context_complete"),
        ).filter(
            pl.col("_found").is_not_null()
            & (pl.col("_differs_context") | pl.col("_differs_context_complete"))
        )

    found = part_join(
        release,
        ("comparisons", comparisons),
        ("conversations", derived_contexts),
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


@check("derived_ids", "contract", needs=("data",))
def _derived_ids(release: Release):
    """item_id, first_prompt_id and annotators' fold equal their hashes.

    Fix: item_id, first_prompt_id and fold are hashes (community_alignment.hashing); rebuild
    """
    from community_alignment.hashing import fold_of, stable_id_expr

    comparisons = release.collect(
        "comparisons",
        lambda lf: lf.filter(pl.col("item_id").ne_missing(item_id())).select(
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
        .list.eval(element_field("prompt").filter(element_field("turn") == 1).first())
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
