"""The ``{t}_turn_responses`` cell: a turn's four responses again, in one string under headers.

Written here for the generator (:func:`join`, :class:`Spelling`) and checked here for the build
(:func:`check`): the release uses the four response columns, so the cell is only compared with
them, never released.

The real file's spelling of the cell is unknown (the blank line between blocks is unconfirmed),
so the check learns it from the batch: a few cells are parsed one by one to find a
:class:`Spelling` that rebuilds them exactly from their columns, and then every cell is
compared with the cell rebuilt in that spelling, in one vectorised pass. Cells that are not
rebuilt exactly (another spelling, or a real disagreement) are tried with the next spelling
found among them, up to :data:`MAX_SPELLINGS`; the few left are parsed one by one
(:func:`agrees`, the reference). So the cost is the same for any spelling used by the whole
file, and only cells that really differ pay for the parse.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from builder.clean import response_columns, turn_column
from builder.hygiene import CONTROL
from community_alignment import schema

LETTERS = [str(code) for code in schema.codes("choice")]  # a b c d
FORMAT = "\n\n".join(f"# Response {letter.upper()}:\n{{{letter.upper()}}}" for letter in LETTERS)
"""The cell as the generator writes it by default; fill with ``A=..., B=..., C=..., D=...``."""

# A header line: "# Response A:" at the start of a line, in any case and spacing. Group 1 is
# the header itself (its line's leading blanks belong to the separator before it), group 2
# the letter.
HEADER_LINE = re.compile(r"(?im)^[ \t]*(#[ \t]*response[ \t]+([a-d])[ \t]*:)")
MISSING = re.compile(
    rf"\s*(?:{'|'.join(re.escape(m) for m in schema.load('vocabularies')['missing_markers'])})\s*"
)
# What in a response could make a header line of the cleaned cell: a header after any line end,
# or a character that cleaning removes.
HEADER_INSIDE = rf"{CONTROL}|\x{{feff}}|(?:^|[\r\n])[ \t]*#[ \t]*(?i:response)[ \t]+[a-dA-D][ \t]*:"
MAX_SPELLINGS = 3  # spellings learnt per batch and turn before the rest is parsed cell by cell
SAMPLE_CELLS = 8  # cells tried, one by one, to learn a spelling
OTHER = "other (parsed cell by cell)"
ANY_ORDER = "(blocks in other orders)"


def join(cells: Sequence[str]) -> str:
    """The cell of four response cells (in shown order), as :data:`FORMAT` says."""
    return FORMAT.format(
        **{letter.upper(): cell for letter, cell in zip(LETTERS, cells, strict=True)}
    )


@dataclass(frozen=True)
class Spelling:
    """One way of writing the cell: the header of each letter (in letter order), what comes
    between a header and its text and between two blocks, the blocks' order (indexes into
    the letters), and whether line ends are CRLF (in the texts too)."""

    headers: tuple[str, ...] = tuple(f"# Response {letter.upper()}:" for letter in LETTERS)
    after_header: str = "\n"
    between: str = "\n\n"
    order: tuple[int, ...] = tuple(range(len(LETTERS)))
    crlf: bool = False
    lead: str = ""
    trail: str = ""

    def join(self, cells: Sequence[str]) -> str:
        """The cell of four response cells (in letter order) in this spelling."""
        blocks = [self.headers[i] + self.after_header + cells[i] for i in self.order]
        return self.written(self.lead + self.between.join(blocks) + self.trail)

    def label(self) -> str:
        """The spelling shown with placeholders, escapes visible: ``# Response A:\\n<a>...``."""
        text = self.join([f"<{letter}>" for letter in LETTERS])
        return text.encode("unicode_escape").decode("ascii")

    def written(self, text: str) -> str:
        """Text with this spelling's line ends."""
        return text.replace("\n", "\r\n") if self.crlf else text

    def expr(self, columns: Sequence[pl.Expr]) -> pl.Expr:
        """The cell rebuilt from the four column expressions (in letter order, their line ends
        already this spelling's)."""
        pieces: list[pl.Expr] = []
        literal = self.lead
        for position, i in enumerate(self.order):
            literal += (self.between if position else "") + self.headers[i] + self.after_header
            pieces += [pl.lit(self.written(literal)), columns[i]]
            literal = ""
        return pl.concat_str([*pieces, pl.lit(self.written(self.trail))])


OURS = Spelling()


@dataclass
class CellCheck:
    """What :func:`check` found in a batch: per turn, the cells that disagree with the
    columns; per spelling label, the cells that agree in it (all turns)."""

    mismatches: dict[int, int] = field(default_factory=dict)
    spellings: Counter = field(default_factory=Counter)


# ---------------------------------------------------------------------------------------------
# The reference: one cell at a time, cleaned as released text, headers found line by line.


def clean_text(text: str | None) -> str:
    """A cell cleaned as the build cleans released text: no BOM, LF line ends, no control
    characters, NFC."""
    text = (text or "").replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", re.sub(CONTROL, "", text))


def value(text: str) -> str:
    """Text as compared: stripped; a missing marker counts as empty."""
    return "" if MISSING.fullmatch(text) else text.strip()


def parse(cell: str) -> dict[str, str] | None:
    """The blocks of a cleaned cell by letter (their text as :func:`value` says), or None
    when the cell is not made of blocks: text before the first header, or a letter twice."""
    matches = list(HEADER_LINE.finditer(cell))
    if (matches and cell[: matches[0].start(1)].strip()) or (not matches and cell.strip()):
        return None
    blocks: dict[str, str] = {}
    for number, match in enumerate(matches):
        letter = match.group(2).lower()
        end = matches[number + 1].start(1) if number + 1 < len(matches) else len(cell)
        if letter in blocks:
            return None
        blocks[letter] = value(cell[match.end(1) : end])
    return blocks


def agrees(cell: str | None, columns: Sequence[str | None]) -> bool | None:
    """Whether a cell holds the four columns' texts (a missing block counts as empty), or None
    when the turn has neither (an empty cell and empty columns).

    >>> agrees("# response b: two\\r\\n# Response A:\\r\\none", ["one", "two", "", ""])
    True
    >>> agrees("# Response A:\\none\\n\\n# Response B:\\nTWO", ["one", "two", "", ""])
    False
    """
    texts = [value(clean_text(column)) for column in columns]
    cell = clean_text(cell)
    if not value(cell) and not any(texts):
        return None
    blocks = parse(cell)
    return blocks is not None and all(
        blocks.get(letter, "") == text for letter, text in zip(LETTERS, texts, strict=True)
    )


def detect(cell: str, columns: Sequence[str]) -> Spelling | None:
    """The spelling that rebuilds this cell exactly from its columns as read, or None (a
    column is empty or not found in its block, a letter is missing or repeated, or the blocks
    are not separated alike)."""
    crlf = "\r\n" in cell
    if crlf:
        cell, columns = cell.replace("\r\n", "\n"), [c.replace("\r\n", "\n") for c in columns]
    matches = list(HEADER_LINE.finditer(cell))
    letters = [match.group(2).lower() for match in matches]
    if sorted(letters) != LETTERS or not all(columns):
        return None
    order = tuple(LETTERS.index(letter) for letter in letters)
    headers: list[str] = [""] * len(LETTERS)
    before, after = set(), []
    for number, (match, i) in enumerate(zip(matches, order, strict=True)):
        end = matches[number + 1].start(1) if number + 1 < len(matches) else len(cell)
        block = cell[match.end(1) : end]
        at = block.find(columns[i])
        if at < 0:
            return None
        headers[i] = match.group(1)
        before.add(block[:at])
        after.append(block[at + len(columns[i]) :])
    lead = cell[: matches[0].start(1)]
    if len(before) != 1 or len(set(after[:-1])) != 1 or (lead + "".join(before)).strip():
        return None
    spelling = Spelling(tuple(headers), before.pop(), after[0], order, False, lead, after[-1])
    if (after[0] + after[-1]).strip() or spelling.join(columns) != cell:
        return None
    return replace(spelling, crlf=crlf)


# ---------------------------------------------------------------------------------------------
# The check of a batch.


def check(frame: pl.DataFrame) -> CellCheck:
    """Per turn, how many ``{t}_turn_responses`` cells of a raw batch (before
    :func:`builder.clean.normalise`) disagree with the four response columns, and in which
    spellings the others were written.

    A cell agrees when its blocks, found by their header lines and stripped, equal the
    columns cleaned like released text and stripped (a missing marker and a missing block
    count as empty); an empty cell of a turn without responses is not counted.
    """
    result = CellCheck()
    for number, prefix in schema.turn_prefixes():
        cell = turn_column(prefix, "responses")
        columns = response_columns(prefix)
        turn = frame.select(pl.col(cell, *columns).fill_null(""))
        result.mismatches[number] = _check_turn(turn, cell, columns, result.spellings)
    return result


def responses_cell_mismatches(frame: pl.DataFrame) -> dict[int, int]:
    """Per turn, how many ``{t}_turn_responses`` cells disagree with the response columns
    (:func:`check`)."""
    return check(frame).mismatches


def _check_turn(turn: pl.DataFrame, cell: str, columns: list[str], spellings: Counter) -> int:
    # rows still to settle: not an empty cell of a turn without responses
    empty = pl.all_horizontal(pl.col(c) == "" for c in [cell, *columns])
    todo = turn.filter(~empty)
    for _ in range(MAX_SPELLINGS):
        if todo.is_empty():
            return 0
        spelling = next(
            filter(None, (detect(row[0], row[1:]) for row in todo.head(SAMPLE_CELLS).iter_rows())),
            None,
        )
        if spelling is None:
            break
        texts = [pl.col(c) for c in columns]
        if spelling.crlf:  # the texts in the cell have CRLF line ends too (if not already)
            texts = [
                pl.when(text.str.contains("\r", literal=True))
                .then(text)
                .otherwise(text.str.replace_all("\n", "\r\n", literal=True))
                for text in texts
            ]
        settled = todo.select((pl.col(cell) == spelling.expr(texts)).alias("s"))["s"]
        settled = _no_header_inside(todo, settled, columns)
        if settled.any():
            spellings[spelling.label()] += int(settled.sum())
        todo = todo.filter(~settled)
        if todo.is_empty():
            return 0
        # the same spelling with the blocks in other orders, cell by cell
        settled = _in_any_order(todo, spelling, pl.col(cell), texts)
        settled = _no_header_inside(todo, settled, columns)
        if settled.any():
            label = f"{replace(spelling, order=OURS.order).label()} {ANY_ORDER}"
            spellings[label] += int(settled.sum())
        todo = todo.filter(~settled)
    disagree = 0
    for row in todo.iter_rows():
        verdict = agrees(row[0], row[1:])
        if verdict:
            spellings[OTHER] += 1
        disagree += verdict is False
    return disagree


def _no_header_inside(todo: pl.DataFrame, settled: pl.Series, columns: list[str]) -> pl.Series:
    """``settled`` without the rows where a response holds a header line (or a character that
    cleaning removes, which could make one): the rebuilt cell looks right to the comparison
    but not to the parse, so they go to the parse. Only rows with a "#" are searched."""
    hashed = todo.select(
        pl.any_horizontal(pl.col(c).str.contains("#", literal=True) for c in columns)
    ).to_series()
    where = (settled & hashed).arg_true()
    if where.is_empty():
        return settled
    inside = todo[where].select(
        pl.any_horizontal(pl.col(c).str.contains(HEADER_INSIDE) for c in columns)
    )
    return settled.scatter(where, ~inside.to_series())


def _in_any_order(
    todo: pl.DataFrame, spelling: Spelling, cell: pl.Expr, texts: list[pl.Expr]
) -> pl.Series:
    """Per row, whether the cell is the spelling's cell with its blocks in some order.

    The cell is cut where a block starts (the separator and the part the headers share,
    both literal), so that each piece is one header's own part, what follows a header, and
    a text; cutting is lossless, so four pieces with four distinct headers whose texts are
    their columns rebuild the cell exactly, as the comparison in the spelling's order does.
    """
    shared = os.path.commonprefix(list(spelling.headers))
    own = [header[len(shared) :] for header in spelling.headers]
    width = len(own[0])
    if any(len(part) != width for part in own):  # headers this spelling cannot cut by width
        return pl.Series([False] * todo.height)
    start, after = spelling.written(spelling.lead + shared), spelling.written(spelling.after_header)
    end, cut = spelling.written(spelling.trail), spelling.written(spelling.between + shared)
    pieces = (
        todo.select(
            cell.str.strip_prefix(start).str.strip_suffix(end).str.split(cut).alias("piece"),
            *(text.alias(f"text{i}") for i, text in enumerate(texts)),
            starts=cell.str.starts_with(start) & cell.str.ends_with(end),
        )
        .with_row_index("row")
        .explode("piece")
    )
    letter = (
        pl.col("piece")
        .str.slice(0, width)
        .replace_strict({part: i for i, part in enumerate(own)}, default=None, return_dtype=pl.Int8)
    )
    expected = pl.when(letter == 0).then(pl.col("text0"))
    for i in range(1, len(own)):
        expected = expected.when(letter == i).then(pl.col(f"text{i}"))
    good = (pl.col("piece").str.slice(width, len(after)) == after) & (
        pl.col("piece").str.slice(width + len(after)) == expected
    )
    rows = pieces.group_by("row", maintain_order=True).agg(
        (
            pl.col("starts").first()
            & (pl.len() == len(own))
            & (letter.n_unique() == len(own))
            & letter.is_not_null().all()
            & good.fill_null(False).all()
        ).alias("ok")
    )
    return rows["ok"]
