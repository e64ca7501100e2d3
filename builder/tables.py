"""Wide to long: the release tables of one language and country, from its cleaned turns."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from builder import quarantine
from builder.clean import LETTERS
from community_alignment import contract, schema
from community_alignment.inputs import first_picks

# a part's turns are in the order of the comparisons made from them
TURN_ORDER = "comparisons"


def _sorted(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    return frame.sort(contract.table_order(table), nulls_last=True).select(
        schema.field_names(table)
    )


def index_columns() -> list[pl.Expr]:
    """What the tables step needs to know of a turn's text, kept beside it in the work files
    so that a part's index is read without the text: its size in bytes (prompt, responses and
    explanation; a view's length is stored with it, so this reads no text), how many
    responses it has, and whether it is explained."""
    responses = pl.col("responses").list.eval(pl.element().str.len_bytes()).list.sum()
    size = pl.sum_horizontal(
        pl.col("prompt").str.len_bytes(), responses, pl.col("explanation").str.len_bytes()
    )
    present = pl.col("responses").list.eval(pl.element().is_not_null()).list.sum()
    return [
        size.cast(pl.Int64).alias("text_bytes"),
        present.cast(pl.Int8).alias("present_responses"),
        pl.col("explanation").is_not_null().alias("explained"),
    ]


INDEX = [
    "raw_row", "conversation_id", "annotator_id", "turn", "fold", "turn_problem", "raw_choice",
    "choice", "context_complete", "item_id", "text_bytes", "present_responses", "explained",
]  # fmt: skip


def released_turns(work: pl.LazyFrame, accepted_rows: pl.DataFrame) -> pl.DataFrame:
    """The index of a part's released turns, in conversation order: what the counts, the
    quarantine and the pairs need, read from the work files (:func:`index_columns`) without
    the text."""
    return (
        work.select(*INDEX, pl.col("choice").is_not_null().alias("is_comparison"))
        .join(accepted_rows.lazy(), on="raw_row", how="semi")
        .sort(contract.table_order(TURN_ORDER), nulls_last=True)
        .collect(engine="in-memory")
    )


def in_order(turns: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """The turns of ``index`` (consecutive rows of :func:`released_turns`), taken from
    ``turns`` (work-file rows that hold them, and maybe others) and put in the index's order.
    Raises if they are not the index's turns, one for one."""
    taken = turns.join(index.select(pl.col("raw_row").unique()), on="raw_row", how="semi").sort(
        contract.table_order(TURN_ORDER), nulls_last=True
    )
    keys = ["raw_row", "turn"]
    if not taken.select(keys).equals(index.select(keys)):
        raise ValueError(
            f"{taken.height} turns read for {index.height} in the index, or not the same turns"
        )
    return taken


def with_annotators(turns: pl.DataFrame, annotators: pl.DataFrame) -> pl.DataFrame:
    """Turns with each annotator's settled demographics joined in, and their comparison ids."""
    demographics = schema.demographics()
    return (
        turns.drop(demographics)
        .join(
            annotators.select("annotator_id", *demographics),
            on="annotator_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            contract.id_expr("comparison_id"),
            pl.col("choice").is_not_null().alias("is_comparison"),
        )
    )


def conversation_slices(turns: pl.DataFrame, limit: int, weight: str) -> list[tuple[int, int]]:
    """(offset, length) slices of turns in conversation order, each holding about ``limit`` of
    the ``weight`` column summed and never splitting a conversation, so tables made slice by
    slice stay in order.

    >>> turns = pl.DataFrame({"conversation_id": ["1", "1", "2", "3", "3"], "bytes": [5, 5, 1, 9, 1]})
    >>> conversation_slices(turns, 10, "bytes"), conversation_slices(turns, 100, "bytes")
    ([(0, 2), (2, 3)], [(0, 5)])
    """
    marks = turns.select(
        (pl.col("conversation_id") != pl.col("conversation_id").shift(1))
        .fill_null(True)
        .alias("start"),
        pl.col(weight).cum_sum().alias("through"),
    )
    starts = marks["start"].arg_true().to_list()
    through = marks["through"].to_list()  # summed size of turns 0..i
    bounds, begin = [], 0
    for start in starts[1:]:
        if through[start - 1] - (through[begin - 1] if begin else 0) >= limit:
            bounds.append((begin, start - begin))
            begin = start
    bounds.append((begin, turns.height - begin))
    return bounds


def turn_quarantine(turns: pl.DataFrame) -> pl.DataFrame:
    """Turns whose recorded choice cannot be released, each with its reason."""
    return quarantine.entries(
        turns.filter(pl.col("turn_problem").is_not_null()),
        pl.col("turn_problem"),
        pl.format("preferred_response is '{}'", "raw_choice"),
        turn=True,
    )


def comparisons(turns: pl.DataFrame) -> pa.Table:
    """The comparisons among turns that are in order (see :func:`conversation_slices`), as an
    Arrow table in the release schema, each with its context made from the turns before it."""
    spec = schema.arrow_schema("comparisons")
    rows = turns["is_comparison"].arg_true().to_numpy()
    made = turns[rows].select(n for n in spec.names if n != "context").to_arrow()
    context = _contexts(turns, rows, spec.field("context").type)
    arrays = [context if name == "context" else made[name] for name in spec.names]
    return pa.Table.from_arrays(arrays, names=spec.names).cast(spec)


# a turn's texts that its context messages say, by the field names of ``context_fields``
_TURN_TEXT = {
    "prompt": pl.col("prompt"),
    "chosen": pl.col("responses").list.get(pl.col("choice"), null_on_oob=True),
}


def _contexts(turns: pl.DataFrame, rows: np.ndarray, message: pa.DataType) -> pa.ListArray:
    """Per turn at ``rows`` of ``turns`` (which are in conversation order), the messages of
    the turns before it in its conversation (:func:`community_alignment.contract.context_fields`:
    each one's prompt, then the response the annotator chose); an unknown message (no prompt,
    or no valid choice) is left out."""
    roles, fields = zip(*contract.context_fields(), strict=True)
    said = turns.select(
        *(_TURN_TEXT[field].alias(field) for field in fields),
        pl.col("conversation_id").ne_missing(pl.col("conversation_id").shift(1)).alias("first"),
    )
    count = turns.height
    texts = pa.concat_arrays([said[c].to_arrow().cast(pa.string()) for c in fields])
    # every message in order, as its text's place in ``texts``: each field's texts in turn
    known = np.column_stack([said[c].is_not_null().to_numpy() for c in fields])
    place = np.column_stack([k * count + np.arange(count) for k in range(len(fields))])[known]
    starts = np.concatenate([[0], np.cumsum(known.sum(axis=1))])  # each turn's first message
    first = np.maximum.accumulate(np.where(said["first"].to_numpy(), np.arange(count), 0))
    begin = starts[first[rows]]  # the messages before a turn: begin up to its own first
    offsets, spans = _spans(begin, starts[rows] - begin)
    taken = place[spans]
    return _messages(pa.array(roles).take(taken // count), texts.take(taken), offsets, message)


def pair_count(released: pl.DataFrame) -> int:
    """How many pairs :func:`pairs` makes of these turns (see :func:`released_turns`)."""
    complete = pl.col("is_comparison") & pl.col("context_complete")
    return int(released.filter(complete).select(pl.col("present_responses") - 1).sum().item() or 0)


def pairs(comparisons: pa.Table) -> pa.Table:
    """One TRL preference pair per present, non-chosen candidate of a complete-context
    comparison, in order when the comparisons are: each comparison's candidates are taken in
    shown order.

    Made from the comparisons as they are written (an Arrow table in the release schema), so
    that no text is converted twice: a pair's columns are gathered from its comparison's
    arrays, its messages from the comparison's context, prompt and responses.
    """
    spec = schema.arrow_schema("pairs")
    found = _candidates(comparisons)
    if found is None:
        return spec.empty_table()
    column, texts, candidates, present = found
    choice = column["choice"].to_numpy()
    rows, rejected = np.nonzero(present & (np.arange(len(LETTERS)) != choice[:, None]))
    chosen = choice[rows]
    message = spec.field("prompt").type
    made = {
        "pair_id": pc.binary_join_element_wise(
            column["comparison_id"].take(rows),
            pa.array(LETTERS).take(rejected),
            contract.id_separator("pair_id"),
        ),
        "prompt": _prompts(column["context"], column["prompt"], rows, message),
        "chosen": _one_message(texts.take(candidates[rows, chosen]), message),
        "rejected": _one_message(texts.take(candidates[rows, rejected]), message),
        "chosen_choice": pa.array(chosen, pa.int64()),
        "rejected_choice": pa.array(rejected, pa.int64()),
    }
    arrays = [made[name] if name in made else column[name].take(rows) for name in spec.names]
    return pa.Table.from_arrays(arrays, schema=spec)


def _candidates(comparisons: pa.Table) -> tuple[dict, pa.Array, np.ndarray, np.ndarray] | None:
    """The complete-context comparisons' columns (one chunk each), their responses' texts,
    where each comparison's four candidates are among those texts (a row per comparison) and
    which are present; None when there is no complete-context comparison."""
    complete = comparisons.filter(comparisons["context_complete"]).combine_chunks()
    if complete.num_rows == 0:
        return None
    column = {name: complete[name].chunk(0) for name in complete.column_names}
    count = len(LETTERS)
    starts = column["responses"].offsets.to_numpy()
    wrong = np.flatnonzero(np.diff(starts) != count)
    if wrong.size:
        raise ValueError(
            f"comparison {column['comparison_id'][int(wrong[0])]}: {np.diff(starts)[wrong[0]]} "
            f"responses, expected {count} in shown order"
        )
    texts = column["responses"].values
    candidates = starts[:-1, None] + np.arange(count)  # where each comparison's responses are
    present = texts.is_valid().to_numpy(zero_copy_only=False)[candidates]
    return column, texts, candidates, present


def unpaired_count(released: pl.DataFrame) -> int:
    """How many rows :func:`unpaired` makes of these turns (see :func:`released_turns`)."""
    complete = pl.col("is_comparison") & pl.col("context_complete")
    return int(released.filter(complete).select(pl.col("present_responses")).sum().item() or 0)


def unpaired(comparisons: pa.Table) -> pa.Table:
    """One labelled completion per present candidate of a complete-context comparison (TRL's
    unpaired preference format): the chosen one true, the others false, in shown order, so in
    order when the comparisons are. Made from the comparisons as written, as :func:`pairs`."""
    spec = schema.arrow_schema("unpaired")
    found = _candidates(comparisons)
    if found is None:
        return spec.empty_table()
    column, texts, candidates, present = found
    rows, shown = np.nonzero(present)
    message = spec.field("prompt").type
    made = {
        "unpaired_id": pc.binary_join_element_wise(
            column["comparison_id"].take(rows),
            pa.array(LETTERS).take(shown),
            contract.id_separator("unpaired_id"),
        ),
        "prompt": _prompts(column["context"], column["prompt"], rows, message),
        "completion": _one_message(texts.take(candidates[rows, shown]), message),
        "label": pa.array(shown == column["choice"].to_numpy()[rows]),
        "completion_choice": pa.array(shown, pa.int64()),
    }
    arrays = [made[name] if name in made else column[name].take(rows) for name in spec.names]
    return pa.Table.from_arrays(arrays, schema=spec)


def _spans(begin: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """List offsets for lists of ``lengths``, and the indices ``begin[i] .. begin[i] +
    lengths[i] - 1`` of every list, one after another.

    >>> _spans(np.array([5, 0]), np.array([2, 3]))
    (array([0, 2, 5]), array([5, 6, 0, 1, 2]))
    """
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return offsets, np.repeat(begin - offsets[:-1], lengths) + np.arange(offsets[-1])


def _messages(
    roles: pa.Array, contents: pa.Array, offsets: np.ndarray, message: pa.DataType
) -> pa.ListArray:
    items = pa.StructArray.from_arrays([roles, contents], fields=list(message.value_type))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), items, type=message)


def _one_message(contents: pa.Array, message: pa.DataType) -> pa.ListArray:
    """Per row, a list of one assistant message saying that row's ``contents``."""
    roles = pa.repeat(pa.scalar("assistant"), len(contents))
    return _messages(roles, contents, np.arange(len(contents) + 1), message)


def _prompts(
    context: pa.ListArray, prompt: pa.Array, rows: np.ndarray, message: pa.DataType
) -> pa.ListArray:
    """Per pair (its comparison's row in ``rows``), the comparison's context followed by its
    prompt as a user message."""
    starts = context.offsets.to_numpy()  # into ``context.values``
    roles, contents = context.values.flatten()
    # a pair's k-th message is its comparison's k-th context message, but the last, which is
    # its prompt: the prompts come after the context messages in the arrays joined below
    offsets, taken = _spans(starts[rows], np.diff(starts)[rows] + 1)
    taken[offsets[1:] - 1] = len(contents) + rows
    roles = pa.concat_arrays([roles, pa.repeat(pa.scalar("user"), len(prompt))])
    contents = pa.concat_arrays([contents, prompt])
    return _messages(roles.take(taken), contents.take(taken), offsets, message)


def conversations(turns: pl.DataFrame) -> pl.DataFrame:
    """One row per conversation, its turns nested in order (turns without a choice included),
    from turns that are in order (see :func:`conversation_slices`)."""
    turn_fields = [f["name"] for f in schema.load("release")["types"]["turn"]["struct"]]
    computed = {"conversation_id", "turns", "num_turns", "num_comparisons"}
    per_conversation = [n for n in schema.field_names("conversations") if n not in computed]
    nested = (
        turns.lazy()
        .select("conversation_id", *per_conversation, *turn_fields, "is_comparison")
        .with_columns(
            pl.when(pl.col("is_comparison")).then(pl.col("comparison_id")).alias("comparison_id")
        )
    )
    frame = (
        nested.group_by("conversation_id", maintain_order=True)
        .agg(
            pl.col(per_conversation).first(),
            pl.struct(turn_fields).alias("turns"),
            pl.len().cast(pl.Int8).alias("num_turns"),
            pl.col("is_comparison").sum().cast(pl.Int8).alias("num_comparisons"),
        )
        .collect(engine="in-memory")
    )
    return frame.select(schema.field_names("conversations"))


def activity(turns: pl.DataFrame) -> pl.DataFrame:
    """Per-annotator activity in one language/country part (summed over parts later)."""
    return turns.group_by("annotator_id").agg(
        pl.col("conversation_id").n_unique().alias("num_conversations"),
        pl.col("is_comparison").sum().alias("num_comparisons"),
        (pl.col("is_comparison") & pl.col("explained")).sum().alias("num_explanations"),
        pl.col("fold").first(),
    )  # fmt: skip


def annotators(consensus: pl.DataFrame, activity: pl.DataFrame) -> pl.DataFrame:
    """Annotators with demographics settled in ``decide`` and activity over what was released."""
    counts = ["num_conversations", "num_comparisons", "num_explanations"]
    totals = activity.group_by("annotator_id").agg(
        *(pl.col(c).sum().cast(pl.Int32) for c in counts), pl.col("fold").first()
    )
    return _sorted(consensus.join(totals, on="annotator_id", how="inner"), "annotators")


def message_count(released: pl.DataFrame) -> int:
    """How many rows :func:`messages` makes of these turns: conversations whose first turn is
    a comparison (see :func:`released_turns`)."""
    first = pl.col("conversation_id").ne_missing(pl.col("conversation_id").shift(1))
    return int(released.select((first & pl.col("is_comparison")).sum()).item())


def messages(turns: pl.DataFrame) -> pl.DataFrame:
    """One row per conversation in TRL's language-modelling format, from turns that are in
    order (see :func:`conversation_slices`): each turn's prompt and chosen response, up to the
    first turn that is not a comparison; a conversation whose first turn is not is left out."""
    computed = {"conversation_id", "messages", "num_turns"}
    per_conversation = [n for n in schema.field_names("messages") if n not in computed]
    so_far = pl.col("is_comparison").cast(pl.Int8).cum_min().over("conversation_id")
    said = pl.concat_list(
        pl.struct(role=pl.lit("user"), content=pl.col("prompt")),
        pl.struct(role=pl.lit("assistant"), content=_TURN_TEXT["chosen"]),
    )
    return (
        turns.lazy()
        .filter(so_far == 1)
        .group_by("conversation_id", maintain_order=True)
        .agg(
            pl.col(per_conversation).first(),
            said.list.explode(keep_nulls=False, empty_as_null=False).alias("messages"),
            pl.len().cast(pl.Int8).alias("num_turns"),
        )
        .select(schema.field_names("messages"))
        .collect(engine="in-memory")
    )


def _picks(choice: pl.Expr) -> pl.Expr:
    """Per group, how many of ``choice`` are each candidate, as a list in shown order."""
    return pl.concat_list([(choice == k).sum().cast(pl.Int32) for k in range(len(LETTERS))])


def unit_picks(released: dict[tuple[str, str], pl.DataFrame]) -> pl.DataFrame:
    """Per (language, item_id, country): the picks of each candidate (``country_picks``), and
    per (language, item_id) those of every country (``picks``, ``picks_by_country``), from the
    complete-context comparisons of every part's index (keyed by language and country), each
    annotator counted once on a unit (:func:`community_alignment.inputs.first_picks`)."""
    complete = pl.col("is_comparison") & pl.col("context_complete")
    frames = [
        index.filter(complete).select(
            "item_id", "annotator_id", "choice", contract.id_expr("comparison_id"),
            language=pl.lit(language), country=pl.lit(country),
        )
        for (language, country), index in sorted(released.items())
    ]  # fmt: skip
    if not frames:
        return pl.DataFrame()
    picks = pl.concat(frames)
    with warnings.catch_warnings():  # repeated picks are counted once, as the library does
        warnings.simplefilter("ignore")
        languages = [first_picks(g) for _, g in picks.group_by("language", maintain_order=True)]
        picks = pl.concat(languages) if languages else picks
    by_country = (
        picks.group_by("language", "item_id", "country")
        .agg(_picks(pl.col("choice")).alias("country_picks"))
        .sort("language", "item_id", "country")
    )
    overall = by_country.group_by("language", "item_id", maintain_order=True).agg(
        pl.concat_list([
            pl.col("country_picks").list.get(k).sum().cast(pl.Int32) for k in range(len(LETTERS))
        ]).alias("picks"),
        pl.struct(country="country", picks="country_picks").alias("picks_by_country"),
    )  # fmt: skip
    return by_country.join(overall, on=["language", "item_id"], how="left")


def first_units(
    index: pl.DataFrame, picks: pl.DataFrame, language: str, country: str
) -> pl.DataFrame:
    """The comparison ids of a part's first complete-context comparison on each unit, with
    their row in the part's index (``index_row``, see :func:`released_turns`; in order) and the
    unit's picks from :func:`unit_picks`: the comparisons that :func:`prompts` makes a row of."""
    complete = pl.col("is_comparison") & pl.col("context_complete")
    firsts = (
        index.with_row_index("index_row")
        .filter(complete)
        .unique("item_id", keep="first", maintain_order=True)
        .select("index_row", "item_id", contract.id_expr("comparison_id"))
    )
    unit = picks.filter((pl.col("language") == language) & (pl.col("country") == country))
    return firsts.join(
        unit.select("item_id", "country", "picks", "country_picks", "picks_by_country"),
        on="item_id",
        how="left",
        maintain_order="left",
    ).drop("item_id", "country")


def units_within(units: pl.DataFrame, begin: int, end: int) -> pl.DataFrame:
    """The rows of :func:`first_units` whose comparison is at rows ``begin`` up to ``end`` of
    the part's index: a slice of them, found by halving (they are in index order), so that
    :func:`prompts` joins a slice's comparisons with its own units, not the part's.

    >>> units = pl.DataFrame({"index_row": [1, 4, 5, 9]})
    >>> units_within(units, 4, 9)["index_row"].to_list()
    [4, 5]
    """
    rows = units["index_row"]
    first = rows.search_sorted(begin, side="left")
    return units.slice(first, rows.search_sorted(end, side="left") - first)


def prompts(comparisons: pa.Table, units: pl.DataFrame) -> pa.Table:
    """One row per unit among these comparisons (in order) whose first comparison in the part
    is here (``units``, from :func:`first_units`): its prompt as chat messages, its candidates
    and picks. Made from the comparisons as written, as :func:`pairs`."""
    spec = schema.arrow_schema("prompts")
    ids = pl.from_arrow(comparisons.select(["comparison_id"])).with_row_index("_row")
    found = ids.join(units, on="comparison_id", how="inner", maintain_order="left")
    if found.height == 0:
        return spec.empty_table()
    rows = found["_row"].to_numpy()
    column = {name: comparisons[name].combine_chunks() for name in comparisons.column_names}
    made = {
        "prompt": _prompts(column["context"], column["prompt"], rows, spec.field("prompt").type),
        **{
            name: found[name].to_arrow().cast(spec.field(name).type)
            for name in ("picks", "country_picks", "picks_by_country")
        },
    }
    arrays = [made[name] if name in made else column[name].take(rows) for name in spec.names]
    return pa.Table.from_arrays(arrays, schema=spec)
