"""builder.release: Parquet shards, the manifest, and the atomic swap, on tiny tables."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pyarrow.parquet as pq
import pytest

from builder import release
from community_alignment import contract, schema


@pytest.fixture
def small_shards(monkeypatch):
    """Annotators written 4 rows to a shard, 2 to a row group."""
    monkeypatch.setitem(schema.table("annotators"), "rows_per_shard", 4)
    monkeypatch.setitem(schema.table("annotators"), "rows_per_row_group", 2)


def annotators(first: int, count: int) -> pl.DataFrame:
    return pl.DataFrame({
        "annotator_id": [str(n) for n in range(first, first + count)], "country": ["fr"] * count,
        "languages": [["fr"]] * count, "wave": [1] * count,
        **{name: [None] * count for name in schema.demographics()},
        "num_conversations": [1] * count, "num_comparisons": [2] * count,
        "num_explanations": [0] * count, "fold": [(first + n) % 10 for n in range(count)],
    })  # fmt: skip


def test_a_part_is_cut_into_numbered_shards_in_its_folder(tmp_path, small_shards):
    shards = release.write_shards(tmp_path, annotators(0, 12), "annotators", None, "fr")
    assert [s.path for s in shards] == [
        contract.shard_path("annotators", None, "fr", i, 3) for i in range(3)
    ]
    assert [s.rows for s in shards] == [4, 4, 4]
    for shard in shards:
        path = tmp_path / shard.path
        assert shard.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert pq.read_schema(path).equals(schema.arrow_schema("annotators"), check_metadata=False)


def test_row_groups_do_not_depend_on_how_the_frames_were_sliced(tmp_path, small_shards):
    whole = release.write_shards(tmp_path / "a", annotators(0, 9), "annotators", None, "fr")
    frames = [annotators(0, 1), annotators(1, 4), annotators(5, 3), annotators(8, 1)]
    sliced = release.write_shards(tmp_path / "b", frames, "annotators", None, "fr", total_rows=9)
    assert [s.sha256 for s in whole] == [s.sha256 for s in sliced]
    groups = pq.ParquetFile(tmp_path / "a" / whole[0].path).metadata
    assert [groups.row_group(i).num_rows for i in range(groups.num_row_groups)] == [2, 2]


def test_an_empty_part_still_gets_its_one_file(tmp_path):
    [shard] = release.write_shards(tmp_path, annotators(0, 0), "annotators", None, "fr")
    assert shard.rows == 0 and (tmp_path / shard.path).is_file()


def test_frames_that_do_not_add_up_to_the_rows_announced_are_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="wrote 3 rows in 1 shards, expected 4 in 1"):
        release.write_shards(tmp_path, [annotators(0, 3)], "annotators", None, "fr", total_rows=4)


def test_the_manifest_lists_every_file_with_its_checksum(tmp_path):
    shards = release.write_shards(tmp_path, annotators(0, 3), "annotators", None, "fr")
    (tmp_path / "README.md").write_text("card\n", encoding="utf-8")
    manifest = release.write_manifest(tmp_path, {"sha256": "x"}, shards, "0.0", "1.0")
    assert list(manifest["files"]) == ["README.md", shards[0].path]
    assert manifest["files"][shards[0].path]["rows"] == 3
    written = json.loads((tmp_path / contract.manifest_name()).read_text(encoding="utf-8"))
    assert written == manifest


def test_a_failed_block_leaves_the_previous_folder_as_it_was(tmp_path):
    final = tmp_path / "release"
    with release.staged(final) as folder:
        (folder / "a.txt").write_text("first", encoding="utf-8")
    with pytest.raises(ZeroDivisionError), release.staged(final) as folder:
        (folder / "a.txt").write_text("second", encoding="utf-8")
        1 / 0  # noqa: B018
    assert (final / "a.txt").read_text(encoding="utf-8") == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]


def test_a_swap_killed_between_its_renames_is_undone_by_the_next_build(tmp_path):
    final = tmp_path / "release"
    final.mkdir()
    (final / "a.txt").write_text("old", encoding="utf-8")
    final.rename(tmp_path / ".release.old-1")  # as if killed right after the first rename
    with release.staged(final) as folder:
        restored = (final / "a.txt").read_text(encoding="utf-8")  # put back first
        (folder / "b.txt").write_text("new", encoding="utf-8")
    assert restored == "old"
    assert sorted(p.name for p in final.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]


def conversations(ids: list[int]) -> pl.DataFrame:
    """Comparisons-like rows: conversation ``n`` has ``n % 3 + 1`` rows."""
    rows = [(str(n), turn) for n in ids for turn in range(1, n % 3 + 2)]
    return pl.DataFrame({"conversation_id": [c for c, _ in rows], "turn": [t for _, t in rows]})


@pytest.fixture
def content_defined(monkeypatch):
    """Conversations written with row groups of 3 to 12 rows, cut where the ids' hashes say
    (one in 4), in the two columns of :func:`conversations`."""
    spec = schema.table("conversations")
    monkeypatch.setitem(spec, "rows_per_row_group", 12)
    monkeypatch.setitem(spec, "row_groups", {"key": "conversation_id", "one_in": 4, "min_rows": 3})
    monkeypatch.setattr(schema, "arrow_schema", lambda name: conversations([1]).to_arrow().schema)
    monkeypatch.setattr(schema, "statistics_columns", lambda name: ["conversation_id", "turn"])


def hash_says(conversation_id: str, one_in: int) -> bool:
    digest = hashlib.sha256(conversation_id.encode()).hexdigest()
    return int(digest[:15], 16) % one_in == 0


def row_groups(path) -> list[pl.DataFrame]:
    parquet = pq.ParquetFile(path)
    return [pl.from_arrow(parquet.read_row_group(i)) for i in range(parquet.num_row_groups)]


def test_row_groups_end_where_the_conversation_ids_say(tmp_path, content_defined):
    ids = list(range(1000, 1400))
    [shard] = release.write_shards(tmp_path, conversations(ids), "conversations", "en", "fr")
    groups = row_groups(tmp_path / shard.path)
    assert all(3 <= g.height <= 12 for g in groups[:-1]) and groups[-1].height <= 12
    bounds = [g["conversation_id"][0] for g in groups[1:]]
    # most groups start at a conversation whose hash says, the rest where they grew too long
    chosen = [c for c in bounds if hash_says(c, 4)]
    assert len(chosen) > len(bounds) / 2, (len(chosen), len(bounds))
    # a conversation is split only where its row group reached the longest allowed
    split = [
        a.height
        for a, b in zip(groups, groups[1:], strict=False)
        if a["conversation_id"][-1] == b["conversation_id"][0]
    ]
    assert len(groups) > 20 and set(split) <= {12}, split


def test_removing_a_few_conversations_leaves_the_other_row_groups_as_they_were(
    tmp_path, content_defined
):
    ids = list(range(1000, 1400))
    fewer = [n for n in ids if n not in (1010, 1011, 1200)]
    [a] = release.write_shards(tmp_path / "a", conversations(ids), "conversations", "en", "fr")
    frames = [conversations(fewer[i : i + 7]) for i in range(0, len(fewer), 7)]
    total = sum(f.height for f in frames)
    [b] = release.write_shards(
        tmp_path / "b", frames, "conversations", "en", "fr", total_rows=total
    )
    before = {tuple(g.rows()) for g in row_groups(tmp_path / "a" / a.path)}
    after = [tuple(g.rows()) for g in row_groups(tmp_path / "b" / b.path)]
    changed = [g for g in after if g not in before]
    assert 0 < len(changed) <= 4, len(changed)  # the groups the three were in, and the next
    assert len(after) > 20


def test_shared_row_group_keys_say_what_each_hash_says():
    keys = release.RowGroupKeys()
    ids = [str(n) for n in range(500)] + ["é", "", "1"]  # a repeated one comes from the cache
    for one_in in (4, 65, 4):
        assert keys.starts(ids, one_in) == [hash_says(c, one_in) for c in ids]
