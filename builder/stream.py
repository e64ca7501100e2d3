"""The stream step: the raw file read batch by batch, each batch cleaned and turned into
turns in two threads, the turns written to per-language/country work files; what the
decisions need of each raw row (its keys, no text) comes back.
"""

from __future__ import annotations

from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from builder import answers, clean, raw, responses_cell, tables, turns
from builder.config import BuildConfig
from builder.errors import BuildError
from builder.hygiene import ByteProfile
from builder.progress import show
from community_alignment import schema

MISSING = "_"  # partition name for rows without a release language or country


def _clean_batch(number: int, table: pa.Table, first_row: int, path: Path, work: Path) -> tuple:
    """Clean one batch and write its turns to the work files; return its keys and counts."""
    profiles = {name: ByteProfile.of(table[name]) for name in clean.released_text_columns()}
    batch = raw.frame(table, first_row, path)
    del table
    cells = responses_cell.check(batch)
    normalised, changed, found = clean.normalise(batch, profiles)
    del batch
    per_turn = normalised.select(
        expr
        for n, prefix in schema.turn_prefixes()
        for expr in (
            pl.col(clean.turn_column(prefix, "prompt")).is_not_null().sum().alias(f"prompts:{n}"),
            pl.col(clean.turn_column(prefix, "preferred_response"))
            .is_null()
            .sum()
            .alias(f"choices_missing:{n}"),
        )
    ).row(0, named=True)
    keys = normalised.select(
        "raw_row", "conversation_id", "annotator_id", "language", "country", "row_hash",
        "row_problem", "row_detail", *schema.demographics(), pl.col("wave_code").alias("wave"),
        clean.choices_recorded(),
    )  # fmt: skip
    long = turns.to_turns(normalised).with_columns(tables.index_columns())
    for (language, country), part in long.partition_by(
        ["language", "country"], as_dict=True
    ).items():
        folder = work / f"{language or MISSING}-{country or MISSING}"
        folder.mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / f"{number:06d}.parquet", compression="lz4")
    return keys, changed, cells, found, per_turn


@dataclass
class Streamed:
    """What the stream step hands on besides the work files."""

    rows: pl.DataFrame  # one row of keys per raw row (no text)
    text: dict  # hygiene counts, responses-cell mismatches per turn
    answers: answers.Findings  # respelled and unknown answers
    raw_turns: dict  # per turn: prompts present, choices missing (over every raw row)


def stream(path: Path, header: list[str], work: Path, config: BuildConfig) -> Streamed:
    """Clean the raw file batch by batch; turns go to per-language/country work files under
    ``work``. Returns the raw rows' keys and what cleaning found (:class:`Streamed`).

    Batches are cleaned two at a time (polars and the Parquet writer let go of the GIL) while
    the next is read, with one more queued; at most three are held, so memory stays bounded.
    Results are taken in batch order, so the output does not depend on which thread finished
    first.
    """
    keys = []
    text = {
        "hygiene": Counter(),
        "responses_cell_mismatches_by_turn": Counter(),
        "responses_cell_spellings": Counter(),
    }
    found = answers.Findings()
    per_turn = Counter()
    pending: deque[Future] = deque()

    def settle(future: Future) -> None:
        batch_keys, changed, cells, batch_found, batch_turns = future.result()
        keys.append(batch_keys)
        found.add(batch_found)
        per_turn.update(batch_turns)
        text["hygiene"].update(changed)
        text["responses_cell_mismatches_by_turn"].update(cells.mismatches)
        text["responses_cell_spellings"].update(cells.spellings)
        if config.progress:
            show(f"read {batch_keys['raw_row'][-1]:,} raw rows")

    with ThreadPoolExecutor(max_workers=config.stream_workers) as pool:
        for number, (table, first_row) in enumerate(
            raw.tables(path, header, config.block_bytes, config.frame_bytes)
        ):
            pending.append(pool.submit(_clean_batch, number, table, first_row, path, work))
            while len(pending) >= config.stream_workers + config.stream_queued:
                settle(pending.popleft())
        while pending:
            settle(pending.popleft())
    if config.progress:
        show()
    if not keys:
        raise BuildError(f"{path}: the file has a header but no rows")
    raw_turns = {
        kind: {str(n): per_turn[f"{kind}:{n}"] for n, _ in schema.turn_prefixes()}
        for kind in ("prompts", "choices_missing")
    }
    return Streamed(
        rows=pl.concat(keys),
        text={name: {str(k): v for k, v in sorted(c.items())} for name, c in text.items()},
        answers=found,
        raw_turns=raw_turns,
    )
