"""How a build uses the machine: what it holds at a time and how many threads it runs.

None of these settings changes what a build writes (the tests build with small ones and
compare); they trade memory against time. The defaults were measured on a 2-core machine at
full scale: ``benchmarks/RESULTS.md`` has the figures behind each.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuildConfig:
    # the CSV reader's block: a larger one makes the reader hold far more memory
    block_bytes: int = 4 << 20
    # raw text cleaned at a time: the per-batch cost is paid rarely, the batch stays small
    frame_bytes: int = 32 << 20
    # batches cleaned at once (polars and Parquet writing let go of the GIL)
    stream_workers: int = 2
    # batches read ahead of those being cleaned, so that both workers stay busy
    stream_queued: int = 1
    # text of the turns made into tables at a time (their contexts and the pairs' repeats
    # come on top)
    slice_bytes: int = 10 << 20
    # threads that make and write the tables of each slice (each table in one of them)
    table_lanes: int = 3
    # slices queued for the writer lanes beyond the one being made
    slices_in_flight: int = 1
    # text of a part's turns read at a time: a larger part is first split into buckets of
    # consecutive conversations, so that memory does not grow with the largest part
    bucket_bytes: int = 128 << 20
    # work files split into buckets at once
    rewrite_workers: int = 2
    # progress lines on standard error
    progress: bool = False
