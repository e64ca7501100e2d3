"""Write release files: Parquet shards the Hub likes, the manifest, and the atomic swap.

Parquet is written with pyarrow: the table's Arrow schema from ``schema/`` (which carries the
``datasets`` features), zstd, content-defined chunking (so a rebuild uploads only changed
pages), a page index, and row groups small enough for the dataset viewer.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from community_alignment import schema

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Shard:
    path: str  # relative to the release root, with forward slashes
    table: str
    language: str | None
    country: str
    rows: int
    arrow_bytes: int


def shard_folder(table: str, language: str | None) -> str:
    return f"data/{table}" if language is None else f"data/{table}/{language}"


def write_shards(
    root: Path,
    chunks: pl.DataFrame | Iterable[pl.DataFrame],
    table: str,
    language: str | None,
    country: str,
    *,
    total_rows: int | None = None,
) -> list[Shard]:
    """Write one language/country part of a table as NNNNN-of-NNNNN Parquet shards.

    ``chunks`` is a frame, or frames in row order whose rows add up to ``total_rows`` (the
    shard count is in every file name, so it must be known before the first file is written);
    only one chunk is in memory at a time.
    """
    if isinstance(chunks, pl.DataFrame):
        chunks, total_rows = [chunks], chunks.height
    if total_rows is None:
        raise ValueError("write_shards needs total_rows when it is given chunks")
    spec = schema.table(table)
    per_shard = spec["rows_per_shard"]
    count = max(1, math.ceil(total_rows / per_shard))
    folder = root / shard_folder(table, language)
    folder.mkdir(parents=True, exist_ok=True)
    arrow_schema = schema.arrow_schema(table)
    options = dict(compression="zstd", write_page_index=True, use_content_defined_chunking=True)
    shards: list[Shard] = []
    writer, written, arrow_bytes = None, 0, 0

    def close() -> None:
        nonlocal writer
        writer.close()
        name = Path(writer.where).name
        shards.append(Shard(f"{shard_folder(table, language)}/{name}", table, language,
                            country, written, arrow_bytes))  # fmt: skip
        writer = None

    for chunk in chunks:
        arrow = chunk.to_arrow().cast(arrow_schema)
        offset = 0
        while offset < arrow.num_rows:
            if writer is None:
                name = f"{country}-{len(shards):05d}-of-{count:05d}.parquet"
                writer = pq.ParquetWriter(folder / name, arrow_schema, **options)
                written, arrow_bytes = 0, 0
            part = arrow.slice(offset, per_shard - written)
            writer.write_table(part, row_group_size=spec["rows_per_row_group"])
            written += part.num_rows
            arrow_bytes += part.nbytes
            offset += part.num_rows
            if written == per_shard:
                close()
    if writer is not None or not shards:
        if writer is None:  # an empty part still gets its one (empty) file
            writer = pq.ParquetWriter(
                folder / f"{country}-00000-of-00001.parquet", arrow_schema, **options
            )
        close()
    if len(shards) != count or sum(s.rows for s in shards) != total_rows:
        raise RuntimeError(
            f"{table}/{language}/{country}: wrote {sum(s.rows for s in shards)} "
            f"rows in {len(shards)} shards, expected {total_rows} in {count}"
        )
    return shards


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(
    root: Path, source: dict, shards: list[Shard], builder_version: str, release_version: str
) -> dict:
    """What the release is made of: the source file's provenance and every file's checksum."""
    files = {
        shard.path: {"rows": shard.rows, "sha256": file_sha256(root / shard.path)}
        for shard in sorted(shards, key=lambda s: s.path)
    }
    for extra in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST):
        relative = extra.relative_to(root).as_posix()
        files.setdefault(relative, {"sha256": file_sha256(extra)})
    manifest = {
        "release_version": release_version,
        "builder_version": builder_version,
        "source": source,
        "files": dict(sorted(files.items())),
    }
    (root / MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


@contextmanager
def staged(final: Path) -> Iterator[Path]:
    """A temporary sibling of ``final`` that replaces it only if the block completes.

    A build killed half-way leaves the previous ``final`` untouched; the stale temporary folder
    is removed by the next build, which also restores the previous ``final`` if the kill fell
    between the two renames of the swap.
    """
    final = final.resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for old in sorted(final.parent.glob(f".{final.name}.old-*")):
        if not final.exists():  # killed between the two renames below: put the old one back
            old.rename(final)
        else:
            shutil.rmtree(old, ignore_errors=True)
    temporary = final.parent / f".{final.name}.tmp-{os.getpid()}"
    temporary.mkdir()
    try:
        yield temporary
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    previous = final.parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        final.rename(previous)
    temporary.rename(final)
    shutil.rmtree(previous, ignore_errors=True)
