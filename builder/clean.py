"""Normalise one batch of raw rows and turn it from wide (a conversation) to long (its turns).

Everything here depends on one row alone, so it runs batch by batch while the file streams.
Decisions that need all rows (duplicates, annotator consistency) are taken in ``decide``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import langcodes
import numpy as np
import polars as pl

from builder.raw import ByteProfile
from community_alignment import schema
from community_alignment.hashing import fold_of, stable_id_expr

LETTERS = [str(c) for c in schema.codes("choice")]
FLAGS = ["is_pregenerated_first_prompt", "in_balanced_subset", "in_balanced_subset_10"]
CONVERSATION_FIELDS = [
    "raw_row", "conversation_id", "annotator_id", "language", "country", *FLAGS, "wave",
    *schema.demographics(), "first_prompt_id", "fold", "row_hash", "row_problem", "row_detail",
]  # fmt: skip
TURN_FIELDS = [
    "turn", "exists", "prompt", "responses", "raw_choice", "choice", "explanation",
    "turn_problem", "context_complete", "item_id",
]  # fmt: skip


def turn_column(prefix: str, field: str) -> str:
    return f"{prefix}_turn_{field}"


def response_columns(prefix: str) -> list[str]:
    """A turn's four response columns, in shown order."""
    return [turn_column(prefix, f"response_{letter}") for letter in LETTERS]


@cache
def language_code(raw: str) -> str | None:
    """BCP-47 language of a raw ``assigned_lang`` value, or None when it is not a release language.

    >>> language_code("EN"), language_code("pt-BR"), language_code("de")
    ('en', 'pt', None)
    """
    try:
        tag = langcodes.standardize_tag(raw.strip())
    except (ValueError, LookupError):
        return None
    language = langcodes.Language.get(tag).language
    return language if language in schema.codes("languages") else None


def raw_to_code(vocabulary: str) -> dict[str, object]:
    """The vocabulary's raw spellings mapped to release codes."""
    mapping = {}
    for value in schema.vocabulary(vocabulary)["values"]:
        raws = value["raw"] if isinstance(value["raw"], list) else [value["raw"]]
        mapping.update({raw: value["code"] for raw in raws})
    return mapping


def _code(expr: pl.Expr, mapping: dict, dtype: pl.DataType) -> pl.Expr:
    return expr.str.strip_chars().replace_strict(mapping, default=None, return_dtype=dtype)


def choices_recorded() -> pl.Expr:
    """How many turns of a row have a recorded (non-empty) preferred_response."""
    return pl.sum_horizontal(
        pl.col(turn_column(prefix, "preferred_response")).is_not_null().cast(pl.Int32)
        for _, prefix in schema.turn_prefixes()
    ).alias("choices_recorded")


def _demographic(column: str) -> pl.Expr:
    """A demographic answer in the schema's spelling (curly apostrophes folded into straight)."""
    aliases = schema.vocabulary(column).get("aliases", {})
    if not aliases:
        return pl.col(column)
    return pl.col(column).replace(list(aliases), list(aliases.values()))


CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # C0 controls but tab and newlines, and DEL
HYGIENE_STEPS = ("byte_order_mark", "carriage_return", "control_character", "unicode_nfc")


def _character_class(codes: set[int]) -> str:
    ranges, ordered = [], sorted(codes)
    first = last = ordered[0]
    for code in ordered[1:]:
        if code != last + 1:
            ranges.append((first, last))
            first = code
        last = code
    ranges.append((first, last))
    return (
        "["
        + "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
        + "]"
    )


HANGUL = {  # composed algorithmically, so not in the decomposition table
    "leading": (0x1100, 0x1112), "vowel": (0x1161, 0x1175),
    "syllable": (0xAC00, 0xD7A3), "trailing": (0x11A8, 0x11C2),
}  # fmt: skip


def _span(name: str) -> str:
    first, last = HANGUL[name]
    return f"[\\x{{{first:x}}}-\\x{{{last:x}}}]"


@cache
def maybe_not_nfc() -> str:
    """A regex that matches every text that may differ from its NFC form.

    NFC changes a text only (1) at a character that is not NFC on its own, (2) where two
    neighbours compose (a canonical pair whose composite NFC keeps; Hangul jamo), or (3)
    after a character that ends in a combining mark: before a mark of lower class (NFC
    reorders them) or a mark that may compose across it with the starter before. The regex
    matches these places (and a few more, never fewer: the property tests check it against
    Python's NFC). Unicode's own quick check flags every character that can
    compose at all, which in Hindi is the nukta of most sentences; this one flags a nukta only
    after one of the three letters it composes with, so only the cells it matches pay for
    normalisation.

    >>> [bool(pl.Series([t]).str.contains(maybe_not_nfc()).item()) for t in (
    ...     "caf\u00e9", "cafe\u0301", "\u0915\u094d\u0937", "\u0958", "a\u0301\u0316",
    ...     "\u091c\u093c", "\u0928\u093c", "\u00e9\u0323", "\u1100\u1161")]
    [False, True, False, True, True, False, True, True, True]
    """
    alone, pairs = set(), set()  # (1); (2) as (first, second)
    lead, trail = {}, {}  # combining class of the first and last character of the NFD
    last_starter = {}  # a composed character's NFD ends in this starter
    # no character from U+30000 on decomposes or combines (checked for Unicode 15), and
    # skipping them makes this table five times quicker to compute
    for code in range(0x30000):
        char = chr(code)
        decomposition = unicodedata.decomposition(char)
        if not decomposition or decomposition.startswith("<"):  # NFC keeps it; its own NFD
            if mark := unicodedata.combining(char):
                lead[code] = trail[code] = mark
            continue
        if not unicodedata.is_normalized("NFC", char):
            alone.add(code)
            continue
        nfd = unicodedata.normalize("NFD", char)
        lead[code], trail[code] = unicodedata.combining(nfd[0]), unicodedata.combining(nfd[-1])
        if not trail[code]:
            last_starter[code] = ord(nfd[-1])
        parts = decomposition.split()
        if len(parts) == 2:
            pairs.add((int(parts[0], 16), int(parts[1], 16)))
    # a first half may also be the last starter of a composed character ("ê" + U+0301)
    seconds_after = {}
    for first, second in pairs:
        seconds_after.setdefault(first, set()).add(second)
    firsts_of = {}
    for code in [*seconds_after, *last_starter]:
        for second in seconds_after.get(last_starter.get(code, code), ()):
            both = chr(code) + chr(second)
            if unicodedata.normalize("NFC", both) != both:
                firsts_of.setdefault(second, set()).add(code)
    branches = [_character_class(alone)]
    branches += [f"{_character_class(f)}\\x{{{s:x}}}" for s, f in sorted(firsts_of.items())]
    branches += [_span("leading") + _span("vowel"), _span("syllable") + _span("trailing")]
    # (3), split so that the regex stays small: a mark before a mark of lower class or one
    # that may compose across it; a composed character ending in a mark before any mark
    lead = {code: c for code, c in lead.items() if c}  # only marks matter from here on
    trail = {code: c for code, c in trail.items() if c}
    marks = {code for code in trail if unicodedata.combining(chr(code))}
    for level in sorted(set(lead.values())):
        higher = {code for code in marks if trail[code] > level}
        if higher:
            at_level = {code for code, c in lead.items() if c == level}
            branches.append(_character_class(higher) + _character_class(at_level))
    composing_marks = {s for s in firsts_of if unicodedata.combining(chr(s))}
    branches.append(_character_class(marks) + _character_class(composing_marks))
    branches.append(_character_class(set(trail) - marks) + _character_class(set(lead)))
    return "|".join(branches)


def _hygiene(column: str, steps: set[str]) -> tuple[pl.Expr, dict[str, pl.Expr]]:
    """The column with the hygiene ``steps`` applied, and per step the cells it changed
    (NFC is :func:`_nfc`'s)."""
    text, changed = pl.col(column), {}
    if "byte_order_mark" in steps:
        changed["byte_order_mark"] = text.str.contains("\ufeff", literal=True)
        text = text.str.replace_all("\ufeff", "", literal=True)
    if "carriage_return" in steps:
        changed["carriage_return"] = text.str.contains("\r", literal=True)
        text = text.str.replace_all("\r\n", "\n", literal=True).str.replace_all(
            "\r", "\n", literal=True
        )
    if "control_character" in steps:
        changed["control_character"] = text.str.contains(CONTROL)
        text = text.str.replace_all(CONTROL, "")
    return text.alias(column), changed


def _nfc(frame: pl.DataFrame, candidates: dict[str, np.ndarray]) -> tuple[pl.DataFrame, int]:
    """NFC for the cells that need it, and how many it changed.

    ``candidates`` marks, per column, the cells that may hold a character from U+0300 on
    (the only ones NFC acts on; see :class:`builder.raw.ByteProfile`). Only those get the
    exact check (:func:`maybe_not_nfc`), and only the cells it flags are normalised. The
    columns' cells are handled as one series, so a batch costs a few calls, not a few per
    column.
    """
    columns = [c for c, marks in candidates.items() if marks.any()]
    if not columns:
        return frame, 0
    cells = pl.concat([frame[c] for c in columns], rechunk=False)
    wide = pl.Series(np.flatnonzero(np.concatenate([candidates[c] for c in columns])))
    suspects = wide.filter(cells.gather(wide).str.contains(maybe_not_nfc()).fill_null(False))
    before = cells.gather(suspects)
    after = before.str.normalize("NFC")
    differs = (after != before).fill_null(False)
    where, values = suspects.filter(differs), after.filter(differs)
    replaced = {}
    for i, column in enumerate(columns):
        mine = (where >= i * frame.height) & (where < (i + 1) * frame.height)
        if mine.any():
            replaced[column] = frame[column].scatter(
                where.filter(mine) - i * frame.height, values.filter(mine)
            )
    return frame.with_columns(**replaced), where.len()


def responses_cells() -> list[str]:
    """The ``{t}_turn_responses`` columns: the four response columns again, in one cell. They are
    only checked against those columns (:mod:`builder.responses_cell`), never released, so they
    are not cleaned."""
    return [turn_column(prefix, "responses") for _, prefix in schema.turn_prefixes()]


def released_text_columns() -> list[str]:
    """The raw columns whose text goes into the release, so is cleaned."""
    cells = set(responses_cells())
    return [c for c in schema.raw_column_names() if c not in cells]


def _is_missing(text: pl.Expr) -> pl.Expr:
    """True where the cell, stripped, is a missing marker. An anchored regex gives up at the
    first character that cannot start a marker, so long cells cost next to nothing."""
    markers = schema.load("vocabularies")["missing_markers"]
    return text.str.contains(rf"^\s*(?:{'|'.join(re.escape(m) for m in markers)})\s*$")


def normalise(
    frame: pl.DataFrame, profiles: dict[str, ByteProfile]
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Clean text (BOM, CRLF, control characters, NFC), missing markers to null, and codes for
    language, country, flags and wave. Returns the frame and how many cells each step changed.

    ``profiles`` says which steps each text column of the batch may need: in most batches
    most columns need none, and a step costs a pass over the text. ``row_hash`` (which finds
    exact duplicate rows) is of every raw column as read.
    """
    raw_columns = [c for c in schema.raw_column_names() if c in frame.columns]
    text_columns = [c for c in released_text_columns() if c in frame.columns]
    cleaned, flags = [], {}
    for column in text_columns:
        # a profile flags by name the byte-level steps its column may need
        steps = {step for step in HYGIENE_STEPS if getattr(profiles[column], step, None) is True}
        text, changed = _hygiene(column, steps)
        cleaned.append(text)
        flags |= {f"_{step}:{column}": flag.fill_null(False) for step, flag in changed.items()}
    # one lazy query, so the cleaning and the counts of what it changed share their work
    frame = (
        frame.lazy()
        .with_columns(pl.struct(raw_columns).hash().alias("row_hash"))
        .with_columns(*cleaned, **flags)
        .collect(engine="in-memory")
    )
    sums = frame.select(pl.col(name).sum() for name in flags).row(0, named=True) if flags else {}
    changed = {
        step: sum(n for k, n in sums.items() if k.startswith(f"_{step}:")) for step in HYGIENE_STEPS
    }
    frame, changed["unicode_nfc"] = _nfc(frame, {c: profiles[c].wide_cells for c in text_columns})
    frame = frame.drop(*flags, *responses_cells(), strict=False)
    languages = {raw: language_code(raw) for raw in frame["assigned_lang"].drop_nulls().unique()}
    booleans = raw_to_code("booleans")
    waves = {str(w): w for w in schema.codes("wave")}
    missing = (
        pl.when(_is_missing(pl.col(c))).then(None).otherwise(pl.col(c)).alias(c)
        for c in text_columns
    )
    codes = (
        frame.lazy()
        .with_columns(missing)
        .with_columns(
            pl.col("conversation_id").str.strip_chars(),
            pl.col("annotator_id").str.strip_chars(),
            _code(pl.col("assigned_lang"), languages, pl.String).alias("language"),
            _code(
                pl.col("annotator_country").str.to_lowercase(), raw_to_code("countries"), pl.String
            ).alias("country"),
            *(_code(pl.col(c), booleans, pl.Boolean).alias(f"{c}_code") for c in FLAGS),
            _code(pl.col("wave"), waves, pl.Int8).alias("wave_code"),
            *(_demographic(c) for c in schema.demographics()),
        )
    )
    frame = codes.with_columns(_row_problem()).collect(engine="in-memory")
    return frame, {step: int(n) for step, n in changed.items()}


def _row_problem() -> list[pl.Expr]:
    """The first row-level reason to quarantine, with a detail naming the offending value."""

    def said(column: str) -> pl.Expr:
        return pl.format(f"{column} is '{{}}'", pl.col(column).fill_null(""))

    checks = [
        ("missing_id", pl.col("conversation_id").is_null() | pl.col("annotator_id").is_null(),
         pl.lit("conversation_id or annotator_id is empty")),
        ("unknown_language", pl.col("language").is_null(), said("assigned_lang")),
        ("unknown_country", pl.col("country").is_null(), said("annotator_country")),
        *(("invalid_flag", pl.col(f"{c}_code").is_null(), said(c)) for c in [*FLAGS, "wave"]),
    ]  # fmt: skip
    reason = pl.lit(None, dtype=pl.String)
    detail = pl.lit(None, dtype=pl.String)
    for code, failed, message in reversed(checks):
        reason = pl.when(failed).then(pl.lit(code)).otherwise(reason)
        detail = pl.when(failed).then(message).otherwise(detail)
    return [reason.alias("row_problem"), detail.alias("row_detail")]


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
    to_index = {raw: LETTERS.index(code) for raw, code in raw_to_code("choice").items()}
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
            raw(prefix, "preferred_response")
            .str.strip_chars()
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
            pl.when(raw_choice.is_not_null() & index.is_null()).then(pl.lit("invalid_choice"))
            .when(index.is_not_null() & prompt.is_null()).then(pl.lit("choice_without_prompt"))
            .when(index.is_not_null() & pl.col(f"t{n}_chosen").is_null())
            .then(pl.lit("chosen_response_missing"))
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
            for role, field in (("user", "prompt"), ("assistant", "chosen"))
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
                _item_id(number, earlier).alias("item_id"),
            ).filter(pl.col("exists"))
        )  # fmt: skip
    return pl.concat(pieces).select(*CONVERSATION_FIELDS, *TURN_FIELDS).collect(engine="in-memory")


def _item_id(number: int, context: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """The unit of agreement: :func:`~community_alignment.hashing.stable_id` of the context's
    messages (role, content), when there are any, the prompt and the four responses."""
    responses = pl.col(f"t{number}_responses")
    fields = [pl.col(f"t{number}_prompt"), *(responses.list.get(i) for i in range(len(LETTERS)))]
    # an unknown message (null content) is left out with its role
    messages = [
        field
        for role, content in context
        for field in (pl.when(content.is_not_null()).then(pl.lit(role)), content)
    ]
    return stable_id_expr(fields, leading=messages)
