"""Spellings of the raw file not yet seen, for testing the build on them: the responses cell
written another way (:func:`responses_spelling`, per-cell faults) and demographic and flag
answers respelled (:func:`respell`). None of them is used unless asked for."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

from builder.responses_cell import OURS, Spelling, join
from community_alignment import schema

MISSING_MARKERS = set(schema.load("vocabularies")["missing_markers"])

RESPONSES_SPELLINGS = {
    "one_newline": "one newline, not a blank line, between blocks",
    "text_on_header": "each text on its header line: '# Response A: <a>'",
    "lower_header": "headers in lower case: '# response a:'",
    "reversed": "blocks in the order D, C, B, A",
    "trailing_spaces": "a space at the end of each header line and of each block",
    "crlf": "CRLF line ends in the whole cell, its texts included",
}


def responses_spelling(names: tuple[str, ...] | list[str]) -> Spelling:
    """Our spelling of the responses cell with the named changes (:data:`RESPONSES_SPELLINGS`)
    applied together."""
    unknown = sorted(set(names) - set(RESPONSES_SPELLINGS))
    if unknown:
        raise ValueError(
            f"unknown responses spelling {unknown}; known: {', '.join(RESPONSES_SPELLINGS)}"
        )
    spelling = Spelling()
    if "one_newline" in names:
        spelling = replace(spelling, between="\n")
    if "text_on_header" in names:
        spelling = replace(spelling, after_header=" ")
    if "lower_header" in names:
        spelling = replace(spelling, headers=tuple(h.lower() for h in spelling.headers))
    if "reversed" in names:
        spelling = replace(spelling, order=tuple(reversed(spelling.order)))
    if "trailing_spaces" in names:
        after = spelling.after_header
        spelling = replace(
            spelling,
            after_header=" " + after if after.startswith("\n") else after,
            between=" " + spelling.between,
        )
    if "crlf" in names:
        spelling = replace(spelling, crlf=True)
    return spelling


def faulty_order(rng: random.Random, spelling: Spelling, shuffled: float, missing: float):
    """The blocks' order for one cell: with probability ``missing`` one block left out (the
    cell then disagrees with the columns), else with probability ``shuffled`` another order
    (it still agrees); None for the spelling's own order."""
    draw = rng.random()
    if draw < missing:
        order = list(spelling.order)
        del order[rng.randrange(len(order))]
        return tuple(order)
    if draw < missing + shuffled:
        order = list(spelling.order)
        while order == list(spelling.order):
            rng.shuffle(order)
        return tuple(order)
    return None


def respell(rng: random.Random, answer: str) -> str:
    """Another spelling of the same answer: other case, extra spaces, the other apostrophe."""
    kinds = ["upper", "lower", "spaces"] + (
        ["apostrophe"] if "'" in answer or "’" in answer else []
    )
    rng.shuffle(kinds)
    for kind in kinds:
        if kind == "upper":
            respelled = answer.upper()
        elif kind == "lower":
            respelled = answer.lower()
        elif kind == "spaces":
            respelled = f" {answer.replace(' ', '  ', 1)}  "
        else:
            respelled = answer.replace("'", "\0").replace("’", "'").replace("\0", "’")
        if respelled != answer:
            return respelled
    raise ValueError(f"no other spelling of {answer!r}")


class Variants:
    """The spelling options of one run (:class:`~builder.generate.config.GeneratorConfig`),
    with a random stream of their own, so that the rest of the file is the same with or
    without them; counts what they changed."""

    def __init__(self, config, seed: int):
        self.spelling = responses_spelling(config.responses_spelling)
        self.shuffled = config.responses_shuffled_rate
        self.missing = config.responses_missing_block_rate
        self.respelled_rate = config.respelled_answer_rate
        self.rng = random.Random(seed)
        self.missing_blocks: Counter = Counter()  # cells with a block left out, by turn
        self.respelled = 0  # answers written in another spelling

    def responses(self, cells: list[str], turn: int) -> str:
        """The responses cell of one turn."""
        if self.spelling == OURS and not (self.shuffled or self.missing):
            return join(cells)
        order = faulty_order(self.rng, self.spelling, self.shuffled, self.missing)
        if order is None:
            return self.spelling.join(cells)
        self.missing_blocks[turn] += len(order) < len(self.spelling.order)
        return replace(self.spelling, order=order).join(cells)

    def answer(self, answer: str) -> str:
        """A demographic answer or a flag, respelled at the configured rate (missing ones not)."""
        if not self.respelled_rate or answer in MISSING_MARKERS:
            return answer
        if self.rng.random() >= self.respelled_rate:
            return answer
        self.respelled += 1
        return respell(self.rng, answer)

    def truth(self) -> dict:
        """What the options changed, for the truth (empty when none is set)."""
        found = {}
        if self.spelling != OURS:
            found["responses_spelling"] = self.spelling.label()
        if self.missing:
            found["responses_cells_missing_a_block_by_turn"] = {
                str(turn): n for turn, n in sorted(self.missing_blocks.items())
            }
        if self.respelled_rate:
            found["respelled_answers"] = self.respelled
        return found
