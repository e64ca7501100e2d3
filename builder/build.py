"""The build: raw CSV -> cleaned turns (streamed) -> decisions -> tables -> release + report."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

from builder import card, clean, decide, raw, release, responses_cell, sources, tables
from builder.errors import BuildError
from community_alignment import __version__, schema

MISSING = "_"  # partition name for rows without a release language or country
STREAM_WORKERS = 2  # batches cleaned at once
# batches read ahead of those being cleaned: one, so both workers stay busy while the next is
# read (0.35 s faster at full scale, and about 50 MB more, below the tables step's peak)
STREAM_QUEUED = 1
# text of the turns made into tables at a time (their contexts, made then, and the pairs'
# repeats come on top): more is no faster, and holds more
SLICE_BYTES = 10 << 20
# slices queued for the lanes beyond the one being made: two held ~85 MB more, no faster
SLICES_IN_FLIGHT = 1
# text of a part's turns read at a time (a bucket ends at the first conversation that reaches
# it): a part with more is first split into buckets of consecutive conversations, written
# uncompressed beside the work files, so that memory does not grow with the largest part
BUCKET_BYTES = 128 << 20
REWRITE_WORKERS = 2  # work files split into buckets at once
BUCKETS = "_buckets"  # the work folder's folder of buckets
TABLE_LANES = ("comparisons", "pairs", "conversations")  # each written in a thread of its own


@dataclass
class BuildResult:
    release: Path
    report_dir: Path
    report: dict = field(default_factory=dict)


class _Clock:
    """Wall time of each step of a build, for the report (where a build spends its time)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = round(now - self._last, 3)
        self._last = now


def default_report_dir(out: Path) -> Path:
    return out.parent / f"{out.name}.build"


def build(
    source: str | Path,
    out: str | Path,
    *,
    report_dir: str | Path | None = None,
    split: str | None = None,
    repo_id: str | None = None,
    iw_labels: str | Path | None = None,
    expected_sha256: str | None = None,
    block_bytes: int = raw.BLOCK_BYTES,
    progress: bool = False,
) -> BuildResult:
    """Build a release folder from the raw file; the report goes beside it, never inside."""
    out = Path(out).resolve()
    report_dir = Path(report_dir).resolve() if report_dir else default_report_dir(out)
    if report_dir == out or out in report_dir.parents:
        raise BuildError(f"the report folder {report_dir} must not be inside the release {out}")
    clock = _Clock()
    src = sources.locate(source, split=split)
    header = raw.check_header(src.path)
    clock.lap("source: find, header")
    with (
        release.staged(out) as root,
        release.staged(report_dir) as report_root,
        ThreadPoolExecutor(max_workers=1) as aside,
    ):
        # the checksum is taken while the file streams (hashlib lets go of the GIL), then what
        # the tables and the card need from outside the data is readied while the workers are
        # in polars
        digest = aside.submit(release.file_sha256, src.path)
        prepared = aside.submit(card.prepare, root, iw_labels)
        work = report_root / "_work"
        rows, text = _stream(src.path, header, work, block_bytes, progress)
        pa.default_memory_pool().release_unused()  # the reader's buffers, before the tables
        src = sources.with_checksum(src, digest.result(), expected_sha256)
        clock.lap("stream: read, clean, turns, work files; checksum")
        decisions = decide.decide(rows)
        clock.lap("decide: duplicates, conflicts, demographics")
        outputs = _write_tables(root, work, decisions, progress)
        removed = aside.submit(shutil.rmtree, work)  # while the card is made
        clock.lap("tables: comparisons, pairs, conversations, annotators")
        report = _report(src, rows, decisions, outputs) | {"text": text}
        prepared.result()
        card.write(root, outputs["shards"], src.provenance(), report, repo_id, iw_labels)
        removed.result()  # the work files, removed while the card was made
        clock.lap("card: statistics, agreement, figures; work files removed")
        release.write_manifest(
            root, src.provenance(), outputs["shards"], __version__, card.release_version()
        )
        clock.lap("manifest: checksums")
        report["seconds"] = clock.laps  # in the report beside the release, never in it
        _write_report(report_root, report, outputs["quarantine"])
    return BuildResult(release=out, report_dir=report_dir, report=report)


def _show(line: str | None = None) -> None:
    """Progress on a terminal (standard error, so that what goes to standard output stays
    clean): a line replaces the one before (padded over a longer one); none ends it."""
    print(
        "" if line is None else f"\r{line:<60}",
        end="" if line else "\n",
        file=sys.stderr,
        flush=True,
    )


def _clean_batch(number: int, table: pa.Table, first_row: int, path: Path, work: Path) -> tuple:
    """Clean one batch and write its turns to the work files; return its keys and counts."""
    profiles = {name: raw.ByteProfile.of(table[name]) for name in clean.released_text_columns()}
    batch = raw.frame(table, first_row, path)
    del table
    cells = responses_cell.check(batch)
    normalised, changed = clean.normalise(batch, profiles)
    del batch
    keys = normalised.select(
        "raw_row", "conversation_id", "annotator_id", "language", "country", "row_hash",
        "row_problem", "row_detail", *schema.demographics(), pl.col("wave_code").alias("wave"),
        clean.choices_recorded(),
    )  # fmt: skip
    turns = clean.to_turns(normalised).with_columns(tables.index_columns())
    for (language, country), part in turns.partition_by(
        ["language", "country"], as_dict=True
    ).items():
        folder = work / f"{language or MISSING}-{country or MISSING}"
        folder.mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / f"{number:06d}.parquet", compression="lz4")
    return keys, changed, cells


def _stream(
    path: Path, header: list[str], work: Path, block_bytes: int, progress: bool
) -> tuple[pl.DataFrame, dict]:
    """Clean the raw file batch by batch; turns go to per-language/country work files.

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
    pending: deque[Future] = deque()

    def settle(future: Future) -> None:
        batch_keys, changed, cells = future.result()
        keys.append(batch_keys)
        text["hygiene"].update(changed)
        text["responses_cell_mismatches_by_turn"].update(cells.mismatches)
        text["responses_cell_spellings"].update(cells.spellings)
        if progress:
            _show(f"read {batch_keys['raw_row'][-1]:,} raw rows")

    with ThreadPoolExecutor(max_workers=STREAM_WORKERS) as pool:
        for number, (table, first_row) in enumerate(raw.tables(path, header, block_bytes)):
            pending.append(pool.submit(_clean_batch, number, table, first_row, path, work))
            while len(pending) >= STREAM_WORKERS + STREAM_QUEUED:
                settle(pending.popleft())
        while pending:
            settle(pending.popleft())
    if progress:
        _show()
    if not keys:
        raise BuildError(f"{path}: the file has a header but no rows")
    return pl.concat(keys), {
        name: {str(k): v for k, v in sorted(c.items())} for name, c in text.items()
    }


def _wait(jobs: list[Future]) -> None:
    """Wait for the jobs; a job's error is raised here."""
    for job in jobs:
        job.result()


def _write_tables(
    root: Path, work: Path, decisions: decide.Decisions, progress: bool = False
) -> dict:
    lanes = {name: ThreadPoolExecutor(max_workers=1) for name in TABLE_LANES}
    try:
        return _write_tables_in(root, work, decisions, lanes, progress)
    finally:
        for lane in lanes.values():
            lane.shutdown(cancel_futures=True)


def _parts(work: Path) -> list[Path]:
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


def _buckets(files: list[Path], released: pl.DataFrame, folder: Path) -> Iterator[_Bucket]:
    """Runs of consecutive conversations of a part (rows of its index ``released``), each with
    about ``BUCKET_BYTES`` of text, and how to read each one's turns.

    A part that fits is read whole. A larger one is first split: each work file is read once
    and its rows go, in their order, to one Arrow IPC file per bucket, file after file
    whichever thread read them, so a bucket's file is the same from one build to the next.
    The buckets' files hold the part's released text uncompressed until each is read.
    """
    bounds = tables.conversation_slices(released, BUCKET_BYTES, "text_bytes")
    if len(bounds) == 1:
        yield _Bucket(0, released.height, lambda: pl.read_parquet(files))
        return
    number = np.repeat(np.arange(len(bounds), dtype=np.int32), [n for _, n in bounds])
    bucket_of = released.select("raw_row", bucket=number).unique("raw_row", keep="first")

    def split(file: Path) -> list[tuple[int, pa.Table]]:
        rows = pl.read_parquet(file).join(
            bucket_of, on="raw_row", how="inner", maintain_order="left"
        )
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

        with ThreadPoolExecutor(max_workers=REWRITE_WORKERS) as pool:
            for file in files:
                pending.append(pool.submit(split, file))
                while len(pending) > REWRITE_WORKERS:
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
    progress: bool,
) -> dict:
    closed: dict[str, list[Future]] = {}  # per part, the lanes' lists of its shards
    quarantines = [decisions.quarantine]
    activity = []
    counts = Counter()
    in_flight: deque[list[Future]] = deque()
    # rows without a language or country are all in the row quarantine, so not in a part
    parts = _parts(work)
    for number, folder in enumerate(parts, start=1):
        language, country = folder.name.split("-")
        if progress:
            _show(f"tables: part {number} of {len(parts)} ({folder.name})")
        files = sorted(folder.glob("*.parquet"))
        released = tables.released_turns(pl.scan_parquet(files), decisions.accepted_rows)
        if released.is_empty():
            continue
        quarantines.append(tables.turn_quarantine(released))
        activity.append(tables.activity(released))
        # the tables are made a slice of conversations at a time (a bucket of the part's turns
        # is the only thing of its size in memory): comparisons here, pairs and conversations
        # in their lanes, and each table written in its lane, so that the three are made and
        # written side by side (polars and Parquet encoding let go of the GIL) while each is
        # written in order; the lanes go on from one bucket and part to the next
        is_comparison = released["is_comparison"]
        sizes = {
            "conversations": released["conversation_id"].n_unique(),
            "comparisons": int(is_comparison.sum()),
            "pairs": tables.pair_count(released),
        }
        writers = {
            name: release.ShardWriter(root, name, language, country, size)
            for name, size in sizes.items() if size
        }  # fmt: skip
        for bucket in _buckets(files, released, work / BUCKETS / folder.name):
            # a bucket is read once the slices of the one before are written, so that two are
            # never in memory at once
            while in_flight:
                _wait(in_flight.popleft())
            if progress and bucket.of > 1:
                _show(
                    f"tables: part {number} of {len(parts)} ({folder.name}), "
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
            for offset, length in tables.conversation_slices(index, SLICE_BYTES, "text_bytes"):
                turns = tables.with_annotators(part.slice(offset, length), decisions.annotators)
                comparisons = tables.comparisons(turns)  # pairs are made from them as written
                makers = {
                    "comparisons": lambda comparisons=comparisons: comparisons,
                    "pairs": lambda comparisons=comparisons: tables.pairs(comparisons),
                    "conversations": lambda turns=turns: tables.conversations(turns),
                }
                in_flight.append([
                    lanes[name].submit(lambda out=writers[name], make=make: out.write(make()))
                    for name, make in makers.items() if name in writers
                ])  # fmt: skip
                while len(in_flight) > SLICES_IN_FLIGHT:
                    _wait(in_flight.popleft())
            del part, turns, comparisons, makers
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
    if progress:
        _show()
    shards = [shard for name in sorted(closed) for job in closed[name] for shard in job.result()]
    annotators = tables.annotators(decisions.annotators, pl.concat(activity)) if activity else None
    if annotators is not None:
        for (country,), part in annotators.partition_by("country", as_dict=True).items():
            shards += release.write_shards(root, part, "annotators", None, country)
        counts["annotators"] = annotators.height
    return {
        "shards": shards,
        "quarantine": pl.concat(quarantines).sort("raw_row", "turn", nulls_last=False),
        "counts": dict(counts),
    }


def _report(
    src: sources.Source, rows: pl.DataFrame, decisions: decide.Decisions, outputs: dict
) -> dict:
    """The books: every raw row and every recorded choice is released or has a reason."""
    counts = {k: int(v) for k, v in outputs["counts"].items()}
    quarantine = outputs["quarantine"]
    row_quarantine = quarantine.filter(pl.col("turn").is_null())
    turn_quarantine = quarantine.filter(pl.col("turn").is_not_null())

    def choices_in(raw_rows: pl.DataFrame) -> int:
        return int(rows.join(raw_rows.select("raw_row"), on="raw_row")["choices_recorded"].sum())

    books = {
        "raw_rows": rows.height,
        "conversations_released": counts.get("conversations", 0),
        "rows_quarantined": row_quarantine.height,
        "duplicate_rows_dropped": decisions.duplicate_rows.height,
        "raw_turns_with_choice": int(rows["choices_recorded"].sum()),
        "comparisons": counts.get("comparisons", 0),
        "turns_quarantined": turn_quarantine.height,
        "choices_in_quarantined_rows": choices_in(row_quarantine),
        "choices_in_dropped_duplicates": choices_in(decisions.duplicate_rows),
    }
    checks = {
        "raw rows = released conversations + quarantined rows + dropped duplicates": (
            books["raw_rows"]
            == books["conversations_released"]
            + books["rows_quarantined"]
            + books["duplicate_rows_dropped"]
        ),
        "raw turns with a choice = comparisons + quarantined turns + choices in quarantined "
        "rows + choices in dropped duplicates": (
            books["raw_turns_with_choice"]
            == books["comparisons"]
            + books["turns_quarantined"]
            + books["choices_in_quarantined_rows"]
            + books["choices_in_dropped_duplicates"]
        ),
    }
    report = {
        "source": src.provenance(),
        "builder_version": __version__,
        "books": books,
        "checks": checks,
        "counts": counts,
        "quarantine_reasons": dict(sorted(Counter(quarantine["reason"].to_list()).items())),
        "demographic_overrides": decisions.overrides.to_dicts(),
        "pairs_left_out": {
            "comparisons_with_incomplete_context": counts.get(
                "comparisons_with_incomplete_context", 0
            ),
        },
    }
    if not all(checks.values()):
        failed = [name for name, ok in checks.items() if not ok]
        raise BuildError(f"the build's books do not balance: {failed}; report: {json.dumps(books)}")
    return report


def _write_report(folder: Path, report: dict, quarantine: pl.DataFrame) -> None:
    (folder / "report.json").write_text(
        json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    quarantine.write_parquet(folder / "quarantine.parquet")
    (folder / "report.md").write_text(render_report(report), encoding="utf-8")


def render_report(report: dict) -> str:
    lines = [
        "# Build report",
        "",
        f"Source: `{report['source']['origin']}` (sha256 `{report['source']['sha256']}`), "
        f"layout {report['source']['layout']}"
        + (f" ({report['source']['split']})" if report["source"]["split"] else ""),
        "",
    ]
    if "seconds" in report:
        lines += ["## Where the time went", "", "| step | seconds |", "|---|---:|"]
        lines += [f"| {step} | {seconds:.2f} |" for step, seconds in report["seconds"].items()]
        lines += [""]
    lines += ["## Books", "", "| count | value |", "|---|---:|"]
    lines += [f"| {k.replace('_', ' ')} | {v:,} |" for k, v in report["books"].items()]
    lines += ["", "## Checks", ""]
    lines += [f"- [{'x' if ok else ' '}] {name}" for name, ok in report["checks"].items()]
    lines += ["", "## Quarantine reasons", "", "| reason | entries | meaning |", "|---|---:|---|"]
    meanings = schema.load("release")["quarantine_reasons"]
    lines += [
        f"| {r} | {n:,} | {meanings.get(r, '')} |" for r, n in report["quarantine_reasons"].items()
    ]
    overrides = report["demographic_overrides"]
    lines += ["", f"## Demographic overrides ({len(overrides)})", ""]
    if overrides:
        lines += ["| annotator | field | kept | overridden | rows |", "|---|---|---|---|---:|"]
        lines += [
            f"| {o['annotator_id']} | {o['field']} | {o['value_kept']} | {o['value_overridden']} | {o['rows']} |"
            for o in overrides
        ]
    text = report["text"]
    lines += ["", "## Text hygiene (cells changed)", "", "| step | cells |", "|---|---:|"]
    lines += [f"| {kind.replace('_', ' ')} | {n:,} |" for kind, n in text["hygiene"].items()]
    mismatches = text["responses_cell_mismatches_by_turn"]
    lines += ["", "`{t}_turn_responses` cells that disagree with the four response columns: "
              + ", ".join(f"turn {t}: {n:,}" for t, n in mismatches.items())]  # fmt: skip
    spellings = sorted(text["responses_cell_spellings"].items(), key=lambda item: -item[1])
    shown = [f"`{label}` {n:,}" for label, n in spellings[:5]]
    if len(spellings) > 5:  # a file whose blocks come in every order
        shown.append(f"{len(spellings) - 5} more: {sum(n for _, n in spellings[5:]):,}")
    lines += ["", "Spellings of the cells that agree: " + "; ".join(shown)]
    left_out = report["pairs_left_out"]["comparisons_with_incomplete_context"]
    lines += ["", f"Comparisons left out of `pairs` (incomplete context): {left_out:,}", ""]
    return "\n".join(lines)
