"""The tables step: each language/country part of the work files made into the release
tables, a slice of conversations at a time, in writer lanes (threads); a part too
large to hold is read a bucket of conversations at a time.
"""

from __future__ import annotations

import contextlib
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

from builder import decide, quarantine, release, tables
from builder.config import BuildConfig
from builder.errors import BuildError
from builder.progress import show
from builder.stream import MISSING

BUCKETS = "_buckets"  # the work folder's folder of buckets
# the tables made of each slice, the costliest first (``benchmarks/RESULTS.md``): table i is
# made and written in lane i modulo the number of lanes, so a table is always written in order
# and the lanes' loads are about even
TABLE_LANES = ("unpaired", "pairs", "comparisons", "conversations", "prompts", "messages")


def _wait(jobs: list[Future]) -> None:
    """Wait for the jobs; a job's error is raised here."""
    for job in jobs:
        job.result()


def write_tables(root: Path, work: Path, decisions: decide.Decisions, config: BuildConfig) -> dict:
    """The release tables of every part (language and country) of the work files, written as
    shards under ``root``; returns the shards, the turns' quarantine entries and the counts."""
    threads = [ThreadPoolExecutor(max_workers=1) for _ in range(config.table_lanes)]
    lanes = {name: threads[i % len(threads)] for i, name in enumerate(TABLE_LANES)}
    try:
        return _write_tables_in(root, work, decisions, lanes, config)
    finally:
        for thread in threads:
            thread.shutdown(cancel_futures=True)


def parts(work: Path) -> list[Path]:
    """The work folders of the parts to release, largest first: the largest is then read (a
    bucket at a time) before the allocators hold memory that the others left behind."""
    folders = [f for f in work.iterdir() if f.name != BUCKETS and MISSING not in f.name.split("-")]
    size = {f: sum(p.stat().st_size for p in f.glob("*.parquet")) for f in folders}
    return sorted(folders, key=lambda f: (-size[f], f.name))


@dataclass
class _Bucket:
    offset: int  # its first row in the part's index (``tables.released_turns``)
    length: int
    read: Callable[[], pl.DataFrame]  # its turns, and maybe rows of other raw rows
    number: int = 1
    of: int = 1


def buckets(
    files: list[Path], released: pl.DataFrame, folder: Path, config: BuildConfig
) -> Iterator[_Bucket]:
    """Runs of consecutive conversations of a part (rows of its index ``released``), each with
    about ``config.bucket_bytes`` of text, and how to read each one's turns.

    A part that fits is read whole. A larger one is first split: each work file is read once
    and its rows go, in their order, to one Arrow IPC file per bucket, file after file
    whichever thread read them, so a bucket's file is the same from one build to the next.
    The buckets' files hold the part's released text uncompressed until each is read.
    """
    bounds = tables.conversation_slices(released, config.bucket_bytes, "text_bytes")
    if len(bounds) == 1:
        yield _Bucket(0, released.height, lambda: pl.read_parquet(files))
        return
    number = np.repeat(np.arange(len(bounds), dtype=np.int32), [n for _, n in bounds])
    # each raw row's bucket, looked up by its number (a join would build a table of the part's
    # rows for every work file: a cost that grows with the square of the data); -1: not released
    raw_rows = released["raw_row"].to_numpy()
    bucket_of = np.full(int(raw_rows.max()) + 2, -1, dtype=np.int32)
    bucket_of[raw_rows[::-1]] = number[::-1]  # a raw row's first turn says, as in the index

    def split(file: Path) -> list[tuple[int, pa.Table]]:
        rows = pl.read_parquet(file)
        found = np.minimum(rows["raw_row"].to_numpy(), len(bucket_of) - 1)  # the last is -1
        rows = rows.with_columns(bucket=pl.Series(bucket_of[found])).filter(pl.col("bucket") >= 0)
        pieces = rows.partition_by("bucket", as_dict=True, include_key=False)
        # to Arrow's plain strings: a piece keeps only its own text (polars' views would
        # point into the whole file's)
        oldest = pl.CompatLevel.oldest()
        return [(b, piece.to_arrow(compat_level=oldest)) for (b,), piece in sorted(pieces.items())]

    folder.mkdir(parents=True)
    paths = [folder / f"{b:05d}.arrow" for b in range(len(bounds))]
    writers: dict[int, ipc.RecordBatchStreamWriter] = {}
    pending: deque[Future] = deque()
    with contextlib.ExitStack() as closing:  # every writer is closed, whatever fails

        def settle(job: Future) -> None:
            for b, table in job.result():
                if b not in writers:
                    writers[b] = closing.enter_context(ipc.new_stream(paths[b], table.schema))
                writers[b].write_table(table)

        with ThreadPoolExecutor(max_workers=config.rewrite_workers) as pool:
            for file in files:
                pending.append(pool.submit(split, file))
                while len(pending) > config.rewrite_workers:
                    settle(pending.popleft())
            while pending:
                settle(pending.popleft())

    def reader(path: Path) -> Callable[[], pl.DataFrame]:
        def read() -> pl.DataFrame:
            # mapped, not read into memory first: polars' views point into the file's pages,
            # and the one copy is made when the turns are put in order
            frame = pl.from_arrow(ipc.open_stream(pa.memory_map(str(path))).read_all())
            with contextlib.suppress(OSError):  # where a mapped file cannot go, the work
                path.unlink()  # folder's removal takes it
            return frame

        return read

    for number, ((offset, length), path) in enumerate(zip(bounds, paths, strict=True), start=1):
        yield _Bucket(offset, length, reader(path), number, len(bounds))


def _write_tables_in(
    root: Path,
    work: Path,
    decisions: decide.Decisions,
    lanes: dict[str, ThreadPoolExecutor],
    config: BuildConfig,
) -> dict:
    closed: dict[str, list[Future]] = {}  # per part, the lanes' lists of its shards
    quarantines = []
    activity = []
    counts = Counter()
    in_flight: deque[list[Future]] = deque()
    # rows without a language or country are all in the row quarantine, so not in a part
    found = parts(work)
    # every part's index first: a unit's picks (in `prompts`) add up those of every country
    indexes = {
        folder: tables.released_turns(
            pl.scan_parquet(sorted(folder.glob("*.parquet"))), decisions.accepted_rows
        )
        for folder in found
    }
    picks = tables.unit_picks({
        tuple(folder.name.split("-")): index
        for folder, index in indexes.items() if not index.is_empty()
    })  # fmt: skip
    for number, folder in enumerate(found, start=1):
        language, country = folder.name.split("-")
        if config.progress:
            show(f"tables: part {number} of {len(found)} ({folder.name})")
        files = sorted(folder.glob("*.parquet"))
        released = indexes.pop(folder)
        if released.is_empty():
            continue
        units = tables.first_units(released, picks, language, country)
        quarantines.append(tables.turn_quarantine(released))
        activity.append(tables.activity(released))
        # the tables are made a slice of conversations at a time (a bucket of the part's turns
        # is the only thing of its size in memory): comparisons here, the others in their
        # lanes (pairs, unpaired and prompts from the comparisons as written; conversations and
        # messages from the turns), and each table written in its lane, so that they are made
        # and written side by side (polars and Parquet encoding let go of the GIL) while each
        # is written in order; the lanes go on from one bucket and part to the next
        is_comparison = released["is_comparison"]
        sizes = {
            "conversations": released["conversation_id"].n_unique(),
            "comparisons": int(is_comparison.sum()),
            "pairs": tables.pair_count(released),
            "unpaired": tables.unpaired_count(released),
            "messages": tables.message_count(released),
            "prompts": units.height,
        }
        keys = release.RowGroupKeys()  # each conversation's hash taken once, for every table
        writers = {
            name: release.ShardWriter(root, name, language, country, size, keys)
            for name, size in sizes.items() if size
        }  # fmt: skip
        for bucket in buckets(files, released, work / BUCKETS / folder.name, config):
            # a bucket is read once the slices of the one before are written, so that two are
            # never in memory at once
            while in_flight:
                _wait(in_flight.popleft())
            if config.progress and bucket.of > 1:
                show(
                    f"tables: part {number} of {len(found)} ({folder.name}), "
                    f"bucket {bucket.number} of {bucket.of}"
                )
            index = released.slice(bucket.offset, bucket.length)
            try:
                part = tables.in_order(bucket.read(), index)
            except ValueError as error:  # the work files and the index disagree: a bug
                raise BuildError(
                    f"{folder.name}, turns {bucket.offset:,} to {bucket.offset + bucket.length:,} "
                    f"of its index: {error}"
                ) from error
            for offset, length in tables.conversation_slices(
                index, config.slice_bytes, "text_bytes"
            ):
                turns = tables.with_annotators(part.slice(offset, length), decisions.annotators)
                comparisons = tables.comparisons(turns)  # pairs are made from them as written
                begin = bucket.offset + offset  # the slice's first row in the part's index
                mine = tables.units_within(units, begin, begin + length)
                makers = {
                    "comparisons": lambda comparisons=comparisons: comparisons,
                    "pairs": lambda comparisons=comparisons: tables.pairs(comparisons),
                    "unpaired": lambda comparisons=comparisons: tables.unpaired(comparisons),
                    "conversations": lambda turns=turns: tables.conversations(turns),
                    "messages": lambda turns=turns: tables.messages(turns),
                    "prompts": lambda comparisons=comparisons, units=mine: tables.prompts(
                        comparisons, units
                    ),
                }
                in_flight.append([
                    lanes[name].submit(lambda out=writers[name], make=make: out.write(make()))
                    for name, make in makers.items() if name in writers
                ])  # fmt: skip
                while len(in_flight) > config.slices_in_flight:
                    _wait(in_flight.popleft())
            del part, turns, comparisons, makers, mine
        # each lane closes its table's last shard (and takes its checksum) after its writes
        closed[folder.name] = [
            lanes[name].submit(writers[name].close) for name in sizes if name in writers
        ]
        counts.update(sizes)
        counts["comparisons_with_incomplete_context"] += int(
            (is_comparison & ~released["context_complete"]).sum()
        )
        counts["turns"] += released.height
        counts["turns_without_choice"] += released["raw_choice"].is_null().sum()
    while in_flight:
        _wait(in_flight.popleft())
    if config.progress:
        show()
    shards = [shard for name in sorted(closed) for job in closed[name] for shard in job.result()]
    annotators = tables.annotators(decisions.annotators, pl.concat(activity)) if activity else None
    if annotators is not None:
        for (country,), part in annotators.partition_by("country", as_dict=True).items():
            shards += release.write_shards(root, part, "annotators", None, country)
        counts["annotators"] = annotators.height
        counts["explanations"] = int(annotators["num_explanations"].sum())
    return {
        "shards": shards,
        "quarantine": quarantine.combine(quarantines),
        "counts": dict(counts),
    }
