"""Write release files: Parquet shards the Hub likes, the manifest, and the atomic swap.

Parquet is written with pyarrow: the table's Arrow schema from ``schema/`` (which carries the
``datasets`` features), zstd, a page index, min/max statistics for every column but free
text, and row groups small enough for the dataset viewer.

Row groups end where a hash of the conversation id says (``row_groups`` in
``schema/release.yaml``), not every N rows, so that a rebuild after a few raw records were
removed leaves the other row groups' bytes as they were; ``benchmarks/bench_dedup.py``
measures what a rebuild shares with the build before it.
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
import pyarrow as pa
import pyarrow.parquet as pq

from community_alignment import contract, schema

MANIFEST = contract.manifest_name()


@dataclass(frozen=True)
class Shard:
    path: str  # relative to the release root, with forward slashes
    table: str
    language: str | None
    country: str
    rows: int
    uncompressed_bytes: int  # the data's size before compression (the file's metadata says)
    sha256: str  # taken as the shard is closed, in the thread that wrote it


class ShardWriter:
    """Write one language/country part of a table as NNNNN-of-NNNNN Parquet shards, frame by
    frame in row order. The shard count is in every file name, so the part's row count is
    given first, and checked at the end; only the frame being written is in memory."""

    def __init__(
        self,
        root: Path,
        table: str,
        language: str | None,
        country: str,
        total_rows: int,
        keys: RowGroupKeys | None = None,
    ) -> None:
        spec = schema.table(table)
        self.root, self.table, self.language, self.country = root, table, language, country
        self.total_rows, self.per_shard = total_rows, spec["rows_per_shard"]
        self.row_group = spec["rows_per_row_group"]  # at most
        self.cut = spec.get("row_groups")  # where they end, if not every row_group rows
        self.keys = keys or RowGroupKeys()  # the cut key's hashes, maybe shared with other tables
        self.count = max(1, math.ceil(total_rows / self.per_shard))
        self.folder = root / contract.table_folder(table, language)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.arrow_schema = schema.arrow_schema(table)
        self.statistics = schema.statistics_columns(table)
        self.shards: list[Shard] = []
        self._writer: pq.ParquetWriter | None = None
        self._pending: pa.Table | None = None  # rows whose row group's end is not known yet
        self._pending_starts: list[int] = []  # where a row group may start among them
        self._last_id = None  # the cut key's value on the last row seen
        self._written = 0

    OPTIONS = {"compression": "zstd", "write_page_index": True}  # pyarrow's ParquetWriter's

    def _open(self) -> pq.ParquetWriter:
        name = contract.shard_name(self.country, len(self.shards), self.count)
        self._written = 0
        return pq.ParquetWriter(
            self.folder / name, self.arrow_schema, write_statistics=self.statistics, **self.OPTIONS
        )

    def _close_shard(self) -> None:
        self._writer.close()
        path = Path(self._writer.where)
        metadata = pq.read_metadata(path)
        size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        self.shards.append(Shard(f"{contract.table_folder(self.table, self.language)}/{path.name}",
                                 self.table, self.language, self.country, self._written,
                                 size, file_sha256(path)))  # fmt: skip
        self._writer, self._written = None, 0

    def write(self, frame: pl.DataFrame | pa.Table) -> None:
        """Append the frame's rows (a polars frame, or an Arrow table in the table's schema).
        A row group ends where :meth:`_cut` says, whatever the frames' sizes (rows wait for
        the next frame until it is known where their row group ends), so a file's layout does
        not depend on how the build sliced its work."""
        arrow = frame if isinstance(frame, pa.Table) else frame.to_arrow()
        arrow = arrow.cast(self.arrow_schema)
        starts = self._candidates(arrow)
        if self._pending is not None:
            starts = [self._pending.num_rows + s for s in starts]
            arrow = pa.concat_tables([self._pending, arrow])
        starts = [*self._pending_starts, *starts]
        self._pending, self._pending_starts = None, []
        done = 0
        while (end := self._cut(starts, done, arrow.num_rows)) is not None:
            self._append(arrow.slice(done, end - done))
            done = end
        if done < arrow.num_rows:
            self._pending = arrow.slice(done)
            self._pending_starts = [s - done for s in starts if s > done]

    def _candidates(self, arrow: pa.Table) -> list[int]:
        """Rows of the frame where a row group may start: the first row of a conversation whose
        id's sha256 is 0 modulo the table's ``row_groups.one_in``. Their stable hash decides,
        not their position, so that removing a few rows moves no other row group's bounds."""
        if self.cut is None or arrow.num_rows == 0:
            return []
        ids = pl.Series(arrow.column(self.cut["key"]))
        rows = ids.ne_missing(ids.shift(1, fill_value=self._last_id)).arg_true()
        self._last_id = ids[-1]
        starts = self.keys.starts(ids.gather(rows).to_list(), self.cut["one_in"])
        return [row for row, start in zip(rows.to_list(), starts, strict=True) if start]

    def _cut(self, starts: list[int], begin: int, available: int) -> int | None:
        """Where the row group that begins at row ``begin`` of the buffer ends, or None if the
        ``available`` rows cannot tell yet: at the first candidate start at least ``min_rows``
        after its beginning, but never more than ``rows_per_row_group`` rows on nor across a
        shard's end."""
        longest = min(self.row_group, self.per_shard - self._written)
        if self.cut is not None:
            after = [s for s in starts if s >= begin + self.cut["min_rows"]]
            if after and after[0] - begin <= longest:
                return after[0]
        # a candidate yet to come would start at ``available`` or later: no sooner than this
        return begin + longest if available - begin >= longest else None

    def _append(self, arrow: pa.Table) -> None:
        if self._writer is None:
            self._writer = self._open()
        # one chunk per row group: the writer cuts pages where chunks end
        if any(column.num_chunks > 1 for column in arrow.columns):
            arrow = arrow.combine_chunks()
        self._writer.write_table(arrow, row_group_size=arrow.num_rows)
        self._written += arrow.num_rows
        if self._written == self.per_shard:
            self._close_shard()

    def close(self) -> list[Shard]:
        while self._pending is not None:  # the rest, as the part's last row groups
            rest, self._pending = self._pending, None
            longest = min(self.row_group, self.per_shard - self._written)
            self._append(rest.slice(0, longest))
            if rest.num_rows > longest:
                self._pending = rest.slice(longest)
        if self._writer is not None or not self.shards:
            if self._writer is None:  # an empty part still gets its one (empty) file
                self._writer = self._open()
            self._close_shard()
        written = sum(s.rows for s in self.shards)
        if len(self.shards) != self.count or written != self.total_rows:
            raise RuntimeError(
                f"{self.table}/{self.language}/{self.country}: wrote {written} rows in "
                f"{len(self.shards)} shards, expected {self.total_rows} in {self.count}"
            )
        return self.shards


def key_hash(key: str) -> int:
    """A cut key's hash: its sha256's first 15 hex digits, as a number. A content-defined row
    group may start at the first row of ``key`` where this is 0 modulo ``one_in``."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)


class RowGroupKeys:
    """The cut key's hashes (:func:`key_hash`), each taken once: the tables of one part share
    one, since each of them cuts its row groups at the same conversations' first rows."""

    def __init__(self) -> None:
        self._hashes: dict[str, int] = {}

    def starts(self, keys: list[str], one_in: int) -> list[bool]:
        """Per key, whether a row group may start at its first row (:func:`key_hash`)."""
        hashes = self._hashes
        found = []
        for key in keys:
            value = hashes.get(key)
            if value is None:
                value = hashes[key] = key_hash(key)
            found.append(value % one_in == 0)
        return found


def write_shards(
    root: Path,
    chunks: pl.DataFrame | Iterable[pl.DataFrame],
    table: str,
    language: str | None,
    country: str,
    *,
    total_rows: int | None = None,
) -> list[Shard]:
    """Write one language/country part of a table: a frame, or frames in row order whose rows
    add up to ``total_rows`` (see :class:`ShardWriter`)."""
    if isinstance(chunks, pl.DataFrame):
        chunks, total_rows = [chunks], chunks.height
    if total_rows is None:
        raise ValueError("write_shards needs total_rows when it is given chunks")
    writer = ShardWriter(root, table, language, country, total_rows)
    for chunk in chunks:
        writer.write(chunk)
    return writer.close()


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
        shard.path: {"rows": shard.rows, "sha256": shard.sha256}
        for shard in sorted(shards, key=lambda s: s.path)
    }
    for extra in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST):
        relative = extra.relative_to(root).as_posix()
        if relative not in files:  # the shards' checksums were taken as they were written
            files[relative] = {"sha256": file_sha256(extra)}
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
