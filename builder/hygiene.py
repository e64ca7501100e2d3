"""Text hygiene, the same for every text cell: what bytes a column holds (so that steps
that cannot apply are skipped), byte-order marks, CR and CRLF, stray control characters,
Unicode NFC with a quick check that finds the few cells that need it, and missing markers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
import pyarrow as pa

from community_alignment import schema

WIDE_LEAD_BYTE = 0xCC  # UTF-8 lead byte of U+0300: every character from there on starts with
# a byte at least this; the characters before it are never changed or composed by NFC


OFFSET_TYPES = {
    pa.string(): np.int32, pa.large_string(): np.int64,
    pa.binary(): np.int32, pa.large_binary(): np.int64,
}  # fmt: skip


@dataclass(frozen=True)
class ByteProfile:
    r"""What bytes a text column of a batch holds, read off its Arrow buffers, so that cleaning
    steps that cannot apply are skipped. The column-wide flags may be set by a few bytes
    beyond the column's cells (a buffer can hold them): a step is at worst run for nothing,
    never skipped when needed.

    >>> profile = ByteProfile.of(pa.chunked_array([["abc", "", "caf\u00e9"], ["e\u0301\r\n"]]))
    >>> profile.wide_cells.tolist(), profile.carriage_return, profile.control_character
    ([False, False, False, True], True, False)
    """

    byte_order_mark: bool
    carriage_return: bool
    control_character: bool
    wide_cells: np.ndarray  # per cell: holds a character from U+0300 on

    @classmethod
    def of(cls, column: pa.ChunkedArray) -> ByteProfile:
        flags, wide = [False, False, False], []
        for chunk in column.chunks:
            if chunk.type not in OFFSET_TYPES:  # not read off the buffers: every step may apply
                flags = [True, True, True]
                wide.append(np.ones(len(chunk), dtype=bool))
                continue
            _, offsets, data = chunk.buffers()
            ends = np.frombuffer(offsets, dtype=OFFSET_TYPES[chunk.type])
            ends = ends[chunk.offset : chunk.offset + len(chunk) + 1]
            values = np.frombuffer(data, np.uint8)[: ends[-1]] if data else np.zeros(0, np.uint8)
            wide.append(_cells_with_wide_characters(values, ends))
            if not values.size:
                continue
            returns = np.count_nonzero(values == 0x0D)
            allowed = returns + np.count_nonzero(values == 0x0A) + np.count_nonzero(values == 0x09)
            low = np.count_nonzero(values < 0x20)
            flags[0] |= bool((values == 0xEF).any()) and b"\xef\xbb\xbf" in values.tobytes()
            flags[1] |= bool(returns)
            flags[2] |= bool(low > allowed) or bool((values == 0x7F).any())
        return cls(*flags, np.concatenate(wide) if wide else np.zeros(0, dtype=bool))


def _cells_with_wide_characters(values: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per cell (bytes ``values[ends[i]:ends[i + 1]]``), whether its largest byte is a lead
    byte of a character from U+0300 on."""
    starts, lengths = ends[:-1], np.diff(ends)
    if not values.size or not len(starts):
        return np.zeros(len(starts), dtype=bool)
    largest = np.maximum.reduceat(values, np.minimum(starts, values.size - 1))
    return (largest >= WIDE_LEAD_BYTE) & (lengths > 0)


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


def clean_text(column: str, steps: set[str]) -> tuple[pl.Expr, dict[str, pl.Expr]]:
    """The column with the hygiene ``steps`` applied, and per step the cells it changed
    (NFC is :func:`normalise_nfc`'s)."""
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


def normalise_nfc(
    frame: pl.DataFrame, candidates: dict[str, np.ndarray]
) -> tuple[pl.DataFrame, int]:
    """NFC for the cells that need it, and how many it changed.

    ``candidates`` marks, per column, the cells that may hold a character from U+0300 on
    (the only ones NFC acts on; see :class:`ByteProfile`). Only those get the
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


def is_missing(text: pl.Expr) -> pl.Expr:
    """True where the cell, stripped, is a missing marker. An anchored regex gives up at the
    first character that cannot start a marker, so long cells cost next to nothing."""
    markers = schema.load("vocabularies")["missing_markers"]
    return text.str.contains(rf"^\s*(?:{'|'.join(re.escape(m) for m in markers)})\s*$")
