"""Normalise one batch of raw rows and turn it from wide (a conversation) to long (its turns).

Everything here depends on one row alone, so it runs batch by batch while the file streams.
Decisions that need all rows (duplicates, annotator consistency) are taken in ``decide``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import langcodes
import polars as pl

from builder import raw
from community_alignment import schema
from community_alignment.hashing import FIELD_SEPARATOR, fold_of, stable_id_expr

MESSAGE = pl.Struct({"role": pl.String, "content": pl.String})
LETTERS = [str(c) for c in schema.codes("choice")]
FLAGS = ["is_pregenerated_first_prompt", "in_balanced_subset", "in_balanced_subset_10"]
CONVERSATION_FIELDS = [
    "raw_row", "conversation_id", "annotator_id", "language", "country", *FLAGS, "wave",
    *schema.demographics(), "first_prompt_id", "fold", "row_hash", "row_problem", "row_detail",
]  # fmt: skip
TURN_FIELDS = [
    "turn", "exists", "prompt", "responses", "raw_choice", "choice", "explanation",
    "turn_problem", "context", "context_complete", "item_id",
]  # fmt: skip


def turn_column(prefix: str, field: str) -> str:
    return f"{prefix}_turn_{field}"


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


@cache
def maybe_not_nfc() -> str:
    """A regex that matches every text that may differ from its NFC form (Unicode's quick check).

    A text is already NFC unless it holds a character that NFC changes or that can compose
    with the one before it (the second half of a canonical pair; Hangul jamo), or two
    combining marks in a row (which may need reordering). Only the few cells it matches pay
    for normalisation: Hindi, for one, has a virama (a combining mark) in most words, but
    rarely two marks in a row.

    >>> import re
    >>> [bool(pl.Series([t]).str.contains(maybe_not_nfc()).item())
    ...  for t in ("caf\u00e9", "cafe\u0301", "\u0915\u094d\u0937", "\u0958", "a\u0301\u0316")]
    [False, True, False, True, True]
    """
    changes, combining = set(), set()
    # no character from U+30000 on decomposes or combines (checked for Unicode 15), and
    # skipping them makes this table five times quicker to compute
    for code in range(0x80, 0x30000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if unicodedata.combining(char):
            combining.add(code)
        if unicodedata.normalize("NFC", char) != char:
            changes.add(code)
        parts = unicodedata.decomposition(char).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            changes.add(int(parts[1], 16))
    changes.update(range(0x1161, 0x1176))  # Hangul vowel jamo: compose algorithmically
    changes.update(range(0x11A8, 0x11C3))  # Hangul trailing jamo
    marks = _character_class(combining)
    return f"{_character_class(changes)}|{marks}{marks}"


def _hygiene(column: str, profile: raw.ByteProfile) -> tuple[pl.Expr, dict[str, pl.Expr]]:
    """The cleaned column and, per step, how many of its cells the step changes.

    Steps the column's bytes rule out (no BOM, no CR, no control byte, ASCII only) are skipped.
    """
    text, counts = pl.col(column), {}
    if profile.byte_order_mark:
        counts["byte_order_mark"] = text.str.contains("\ufeff", literal=True)
        text = text.str.replace_all("\ufeff", "", literal=True)
    if profile.carriage_return:
        counts["carriage_return"] = text.str.contains("\r", literal=True)
        text = text.str.replace_all("\r\n", "\n", literal=True).str.replace_all(
            "\r", "\n", literal=True
        )
    if profile.control:
        counts["control_character"] = text.str.contains(CONTROL)
        text = text.str.replace_all(CONTROL, "")
    if profile.non_ascii:
        suspect = text.str.contains(maybe_not_nfc())
        normalised = pl.when(suspect).then(text.str.normalize("NFC")).otherwise(text)
        counts["unicode_nfc"] = suspect & (normalised != text)
        text = normalised
    return text.alias(column), counts


def normalise(
    frame: pl.DataFrame, profiles: dict[str, raw.ByteProfile]
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Clean text (BOM, CRLF, control characters, NFC), missing markers to null, and codes for
    language, country, flags and wave. Returns the frame and how many cells each step changed."""
    text_columns = [c for c in schema.raw_column_names() if c in frame.columns]
    markers = schema.load("vocabularies")["missing_markers"]
    cleaned, flags = [], {}
    for column in text_columns:
        text, counts = _hygiene(column, profiles[column])
        missing = text.str.strip_chars().is_in(markers)
        cleaned.append(pl.when(missing).then(None).otherwise(text).alias(column))
        flags |= {f"_{step}:{column}": flag.fill_null(False) for step, flag in counts.items()}
    # one lazy query, so the cleaning and the counts of what it changed share their work
    frame = (
        frame.lazy()
        .with_columns(pl.struct(text_columns).hash().alias("row_hash"))
        .with_columns(*cleaned, **flags)
        .collect()
    )
    sums = frame.select(pl.col(name).sum() for name in flags).row(0, named=True) if flags else {}
    changed = {
        step: sum(n for k, n in sums.items() if k.startswith(f"_{step}:")) for step in HYGIENE_STEPS
    }
    frame = frame.drop(list(flags))
    languages = {raw: language_code(raw) for raw in frame["assigned_lang"].drop_nulls().unique()}
    booleans = raw_to_code("booleans")
    waves = {str(w): w for w in schema.codes("wave")}
    return frame.with_columns(
        pl.col("conversation_id").str.strip_chars(),
        pl.col("annotator_id").str.strip_chars(),
        _code(pl.col("assigned_lang"), languages, pl.String).alias("language"),
        _code(
            pl.col("annotator_country").str.to_lowercase(), raw_to_code("countries"), pl.String
        ).alias("country"),
        *(_code(pl.col(c), booleans, pl.Boolean).alias(f"{c}_code") for c in FLAGS),
        _code(pl.col("wave"), waves, pl.Int8).alias("wave_code"),
        *(_demographic(c) for c in schema.demographics()),
    ).with_columns(_row_problem()), {step: int(n) for step, n in changed.items()}


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


def _turn_expressions(number: int, prefix: str) -> dict[str, pl.Expr]:
    """Per-turn values of turn ``number``, from its raw columns."""
    junk = "|".join(re.escape(j) for j in schema.load("vocabularies")["response_junk"])
    responses = [
        pl.col(turn_column(prefix, f"response_{letter}"))
        .str.replace_all(rf"\s*(?:{junk})", "")
        .pipe(lambda e: pl.when(e == "").then(None).otherwise(e))
        for letter in LETTERS
    ]
    prompt = pl.col(turn_column(prefix, "prompt"))
    raw_choice = pl.col(turn_column(prefix, "preferred_response"))
    choice = _code(raw_choice, raw_to_code("choice"), pl.String)
    index = choice.replace_strict(
        LETTERS, list(range(len(LETTERS))), default=None, return_dtype=pl.Int64
    )
    chosen = pl.concat_list(responses).list.get(index, null_on_oob=True)
    problem = (
        pl.when(raw_choice.is_not_null() & choice.is_null()).then(pl.lit("invalid_choice"))
        .when(choice.is_not_null() & prompt.is_null()).then(pl.lit("choice_without_prompt"))
        .when(choice.is_not_null() & chosen.is_null()).then(pl.lit("chosen_response_missing"))
    )  # fmt: skip
    explanation = pl.col(turn_column(prefix, "feedback"))
    exists = pl.any_horizontal(
        [e.is_not_null() for e in (prompt, raw_choice, explanation, *responses)]
    )
    return {
        "exists": exists,
        "prompt": prompt,
        "responses": pl.concat_list(responses),
        "raw_choice": raw_choice,
        "choice": pl.when(problem.is_null()).then(index),
        "chosen": pl.when(problem.is_null()).then(chosen),
        "explanation": explanation,
        "turn_problem": problem,
    }


RESPONSES_CELL = re.compile(
    r"(?s)^\s*"
    + r"\s*".join(f"# Response {letter.upper()}:\\s*(.*?)" for letter in LETTERS)
    + r"\s*$"
)


def responses_cell_mismatches(frame: pl.DataFrame) -> dict[int, int]:
    """Per turn, how many ``{t}_turn_responses`` cells disagree with the four response columns.

    The four columns are what the release uses; the concatenation is only checked. A cell
    written exactly as RESPONSES_FORMAT agrees at once; the others are parsed leniently
    (any whitespace around the headers and texts).
    """
    counts = {}
    for number, prefix in schema.turn_prefixes():
        cell = pl.col(turn_column(prefix, "responses"))
        columns = [pl.col(turn_column(prefix, f"response_{letter}")) for letter in LETTERS]
        exact = pl.concat_str(
            [
                pl.format(f"# Response {letter.upper()}:\n{{}}", column.fill_null(""))
                for letter, column in zip(LETTERS, columns, strict=True)
            ],
            separator="\n\n",
        )
        present = pl.any_horizontal(c.is_not_null() for c in [*columns, cell])
        suspects = frame.filter(present & (cell.fill_null("") != exact))
        parts = cell.str.extract_groups(RESPONSES_CELL.pattern)
        agree = pl.all_horizontal(
            parts.struct.field(str(i + 1)).fill_null("") == column.fill_null("").str.strip_chars()
            for i, column in enumerate(columns)
        ).fill_null(False)
        counts[number] = int(suspects.select((~agree).sum()).item())
    return counts


def to_turns(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per present turn, with its context, flags and ids; conversation fields repeated."""
    turns = schema.turn_prefixes()
    folds = {a: fold_of(a) for a in frame["annotator_id"].drop_nulls().unique()}
    wide = frame.with_columns(
        *(pl.col(f"{c}_code").alias(c) for c in FLAGS),
        pl.col("wave_code").alias("wave"),
        pl.when(pl.col(turn_column(turns[0][1], "prompt")).is_not_null())
        .then(stable_id_expr([pl.col(turn_column(turns[0][1], "prompt"))]))
        .alias("first_prompt_id"),
        pl.col("annotator_id")
        .replace_strict(folds, default=None, return_dtype=pl.Int8)
        .alias("fold"),
        *(
            expr.alias(f"t{number}_{name}")
            for number, prefix in turns
            for name, expr in _turn_expressions(number, prefix).items()
        ),
    )
    pieces = []
    for position, (number, _) in enumerate(turns):
        earlier = [n for n, _ in turns[:position]]
        context_messages = [
            pl.struct(role=pl.lit(role), content=pl.col(f"t{n}_{field}"))
            for n in earlier
            for role, field in (("user", "prompt"), ("assistant", "chosen"))
        ]
        context = (
            pl.concat_list(context_messages).list.eval(
                pl.element().filter(pl.element().struct.field("content").is_not_null())
            )
            if context_messages
            else pl.lit([], dtype=pl.List(MESSAGE))
        )
        complete = pl.all_horizontal(
            [pl.lit(True)]
            + [
                pl.col(f"t{n}_prompt").is_not_null() & pl.col(f"t{n}_chosen").is_not_null()
                for n in earlier
            ]
        )
        pieces.append(
            wide.select(
                *CONVERSATION_FIELDS,
                pl.lit(number, dtype=pl.Int8).alias("turn"),
                *(pl.col(f"t{number}_{name}").alias(name) for name in (
                    "exists", "prompt", "responses", "raw_choice", "choice", "explanation",
                    "turn_problem",
                )),
                context.alias("context"),
                complete.alias("context_complete"),
            ).filter(pl.col("exists"))
        )  # fmt: skip
    long = pl.concat(pieces)
    context_fields = pl.col("context").list.eval(
        pl.concat_str(
            [pl.element().struct.field("role"), pl.element().struct.field("content")],
            separator=FIELD_SEPARATOR,
        )
    )
    responses = [pl.col("responses").list.get(i) for i in range(len(LETTERS))]
    item_id = (
        pl.when(pl.col("context").list.len() > 0)
        .then(
            stable_id_expr(
                [context_fields.list.join(FIELD_SEPARATOR), pl.col("prompt"), *responses]
            )
        )
        .otherwise(stable_id_expr([pl.col("prompt"), *responses]))
    )
    return long.with_columns(item_id.alias("item_id")).select(*CONVERSATION_FIELDS, *TURN_FIELDS)
