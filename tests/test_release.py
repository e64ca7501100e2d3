"""The release as users meet it: load_dataset opens every config; bytes are reproducible."""

from __future__ import annotations

import datasets
import pytest

from builder.build import build
from builder.config import BuildConfig
from community_alignment import schema
from tests.conftest import MIXED_ROWS, built_release, write_raw

ROWS = MIXED_ROWS


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return built_release(tmp_path_factory, "release", ROWS)


def load(release, config, **kwargs):
    return datasets.load_dataset(
        str(release), config, verification_mode="all_checks",
        cache_dir=str(release.parent / "hf-cache"), **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("config", [*schema.table_names(), *schema.codes("languages")])
def test_every_config_loads_and_each_split_holds_only_its_country(release, config, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load(release, config)
    assert set(loaded) <= set(schema.codes("countries")) and len(loaded) > 0
    for split, rows in loaded.items():
        assert set(rows["country"]) == {split}
        if config in schema.codes("languages"):
            assert set(rows["language"]) == {config}


def test_split_sizes_match_the_rows_built(release):
    comparisons = load(release, "comparisons")
    assert {k: v.num_rows for k, v in comparisons.items()} == {
        "us": 4, "fr": 1, "it": 1, "br": 2, "in": 6,
    }  # fmt: skip
    assert {k: v.num_rows for k, v in load(release, "en").items()} == {"us": 4, "in": 4}
    assert {k: v.num_rows for k, v in load(release, "hi").items()} == {"in": 2}


def test_choice_is_a_class_label_a_to_d(release):
    features = load(release, "comparisons", split="us").features
    assert isinstance(features["choice"], datasets.ClassLabel)
    assert features["choice"].names == ["a", "b", "c", "d"]


def test_pairs_are_in_trl_conversational_form(release):
    pairs = load(release, "pairs", split="us")
    comparisons = load(release, "comparisons", split="us")
    complete = [c for c in comparisons if c["context_complete"]]
    assert pairs.num_rows == 3 * len(complete)
    by_id = {c["comparison_id"]: c for c in complete}
    for pair in pairs:
        roles = [m["role"] for m in pair["prompt"]]
        assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"]
        assert [m["role"] for m in pair["chosen"]] == ["assistant"]
        assert [m["role"] for m in pair["rejected"]] == ["assistant"]
        source = by_id[pair["comparison_id"]]
        assert pair["chosen"][0]["content"] == source["responses"][source["choice"]]
        assert pair["rejected"][0]["content"] == source["responses"][pair["rejected_choice"]]
        assert pair["prompt"][-1]["content"] == source["prompt"]


def test_two_builds_of_the_same_input_are_byte_identical(tmp_path):
    source = write_raw(tmp_path / "raw.csv", ROWS)
    first = build(source, tmp_path / "one").release
    second = build(source, tmp_path / "two").release
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_card_has_the_hub_metadata(release):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(release / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "cc-by-4.0"
    assert data["language"] == ["en", "fr", "it", "pt", "hi"]
    assert data["size_categories"] == ["n<1K"]
    defaults = [c["config_name"] for c in data["configs"] if c.get("default")]
    assert defaults == ["comparisons"]
    assert "{{" not in card.text


def test_release_files_do_not_depend_on_how_the_build_slices_its_work(tmp_path, monkeypatch):
    import json
    from collections import Counter
    from pathlib import Path

    import builder.parts
    from builder.generate import GeneratorConfig, generate

    raw = tmp_path / "raw.csv"
    generate(raw, GeneratorConfig(conversations=400, seed=3, annotators=40))
    for name in ("comparisons", "pairs", "conversations"):  # row groups cut mid-slice
        monkeypatch.setitem(schema.table(name), "rows_per_row_group", 8)
        cut = {"key": "conversation_id", "one_in": 3, "min_rows": 2}  # where ids say, mostly
        monkeypatch.setitem(schema.table(name), "row_groups", cut)
    buckets = []  # (part, number of buckets) of each build
    read_work = []  # the work files the last build's parts were read from
    split = builder.parts.buckets

    def counted(files, released, folder, config):
        made = list(split(files, released, folder, config))
        buckets.append((folder.name, len(made)))
        read_work.extend(files)
        yield from made

    monkeypatch.setattr(builder.parts, "buckets", counted)
    manifests = []
    # a few conversations at a time, or a part at once; a part read whole, or split into
    # buckets of a few conversations (so read from the buckets' files), from one work file
    # per part or from many (the CSV cleaned in small frames), the tables made in one thread,
    # in one a table or in two
    for slice_bytes, bucket_bytes, frame_bytes, lanes in (
        (2_000, 128 << 20, 32 << 20, 1),
        (64 << 20, 128 << 20, 32 << 20, 6),
        (2_000, 20_000, 100_000, 2),
    ):
        out = tmp_path / f"release-{slice_bytes}-{bucket_bytes}"
        read_work.clear()
        settings = BuildConfig(
            block_bytes=1 << 20,
            slice_bytes=slice_bytes,
            bucket_bytes=bucket_bytes,
            frame_bytes=frame_bytes,
            table_lanes=lanes,
        )
        build(raw, out, config=settings)
        if frame_bytes < 1 << 20:
            work_files = Counter(Path(path).parent.name for path in read_work)
            assert min(work_files.values()) > 5, work_files
        manifests.append(json.loads((out / "manifest.json").read_text())["files"])
    assert manifests[0] == manifests[1] == manifests[2]
    assert any(path.startswith("data/pairs/") for path in manifests[0])
    parts = len(buckets) // 3
    assert all(n == 1 for _, n in buckets[: 2 * parts])
    assert all(n > 3 for _, n in buckets[2 * parts :]), buckets


@pytest.mark.parametrize("table", schema.table_names())
def test_min_max_statistics_are_kept_for_every_column_but_free_text(release, table):
    import pyarrow.parquet as pq

    shard = sorted((release / "data" / table).rglob("*.parquet"))[0]
    row_group = pq.read_metadata(shard).row_group(0)
    columns = [row_group.column(i) for i in range(row_group.num_columns)]
    with_statistics = [c.path_in_schema for c in columns if c.is_stats_set]
    assert with_statistics == schema.statistics_columns(table)
    without = {c.path_in_schema.split(".")[-1] for c in columns if not c.is_stats_set}
    assert without <= {"content", "prompt", "element", "explanation"}, without


def test_a_split_part_gives_the_same_bucket_files_every_time(tmp_path, monkeypatch):
    import polars as pl

    from builder import decide, parts, raw, stream, tables
    from builder.generate import GeneratorConfig, generate

    source = tmp_path / "raw.csv"
    generate(source, GeneratorConfig(conversations=400, seed=5, annotators=40))
    # many work files per part, and small buckets
    settings = BuildConfig(block_bytes=1 << 20, frame_bytes=100_000, bucket_bytes=20_000)
    header = raw.check_header(source)
    rows = stream.stream(source, header, tmp_path / "work", settings).rows
    part = parts.parts(tmp_path / "work")[0]
    files = sorted(part.glob("*.parquet"))
    released = tables.released_turns(pl.scan_parquet(files), decide.decide(rows).accepted_rows)
    made = []
    for attempt in range(3):
        folder = tmp_path / f"buckets-{attempt}"
        buckets = parts.buckets(files, released, folder, settings)
        first = next(buckets)  # every bucket's file is written before the first is read
        made.append([path.read_bytes() for path in sorted(folder.glob("*.arrow"))])
        index = released.slice(first.offset, first.length)
        assert tables.in_order(first.read(), index).height == first.length
    assert len(files) > 5 and len(made[0]) > 3
    assert made[0] == made[1] == made[2]


def test_work_files_that_disagree_with_their_index_stop_the_build_naming_the_part(
    tmp_path, monkeypatch
):
    import builder.parts
    from builder.errors import BuildError
    from builder.generate import GeneratorConfig, generate

    source = tmp_path / "raw.csv"
    generate(source, GeneratorConfig(conversations=40, seed=5, annotators=8))
    taken = builder.parts.tables.in_order

    def short(turns, index):  # as if a work file had lost the index's first turn
        lost = index.head(1).select("raw_row", "turn")
        return taken(turns.join(lost, on=["raw_row", "turn"], how="anti"), index)

    monkeypatch.setattr(builder.parts.tables, "in_order", short)
    with pytest.raises(BuildError, match=r"^[a-z]{2}-[a-z]{2}, turns 0 to \d+ of its index: "):
        build(source, tmp_path / "release")
    assert not (tmp_path / "release").exists()


def test_progress_goes_to_standard_error_and_names_parts_and_buckets(tmp_path, monkeypatch, capsys):
    import re

    from builder.generate import GeneratorConfig, generate

    source = tmp_path / "raw.csv"
    generate(source, GeneratorConfig(conversations=60, seed=5, annotators=10))
    build(source, tmp_path / "release", progress=True, bucket_bytes=20_000)
    shown = capsys.readouterr()
    assert shown.out == ""
    lines = [line.strip() for line in shown.err.replace("\r", "\n").splitlines() if line.strip()]
    assert lines[0].startswith("read ") and lines[0].endswith(" raw rows")
    assert any(re.fullmatch(r"tables: part 1 of \d \([a-z-]+\)", line) for line in lines)
    assert any(
        re.fullmatch(r"tables: part \d of \d \([a-z-]+\), bucket 2 of \d+", line) for line in lines
    )
    assert shown.err.endswith("\n")
