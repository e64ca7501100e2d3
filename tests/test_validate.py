"""The validator: a freshly built release passes every check; each way of breaking it is caught.

One release is built per module; every test breaks its own copy in one way, keeps the manifest's
checksums in step where the break is not about the manifest, and asserts exactly which checks
fail and that the result names the offending file, row or id.
"""

from __future__ import annotations

import argparse
import json
import shutil

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from builder import validate as v
from builder.release import file_sha256
from community_alignment import schema
from tests.conftest import MIXED_ROWS, built_release, raw_row

ROWS = [
    *MIXED_ROWS,
    # turn 1 has no choice: turn 2 is a comparison with an incomplete context, so no pairs
    raw_row("17", "1", turns=2, choices=["", "response_a"]),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_release(tmp_path_factory, "validate", ROWS)


@pytest.fixture
def release(built, tmp_path):
    return shutil.copytree(built, tmp_path / "release")


# --- helpers that break a release in one way ------------------------------------------------------


def refresh_manifest(release, relative: str) -> None:
    """Bring the manifest's sha256 (and rows) of one file in step with the file."""
    path = release / "manifest.json"
    manifest = json.loads(path.read_text())
    entry = manifest["files"].setdefault(relative, {})
    entry["sha256"] = file_sha256(release / relative)
    if relative.endswith(".parquet"):
        entry["rows"] = pq.read_metadata(release / relative).num_rows
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def rewrite_arrow(release, relative: str, change) -> None:
    """Rewrite a Parquet file with change(pyarrow.Table) and keep the manifest in step."""
    table = pq.read_table(release / relative)
    pq.write_table(change(table), release / relative)
    refresh_manifest(release, relative)


def rewrite_rows(release, relative: str, change) -> None:
    """Rewrite a Parquet file with change(polars.DataFrame), keeping the table's exact schema."""
    table = relative.split("/")[1]
    frame = change(pl.read_parquet(release / relative))
    pq.write_table(frame.to_arrow().cast(schema.arrow_schema(table)), release / relative)
    refresh_manifest(release, relative)


def edit_card(release, *, meta=None, body=None) -> None:
    """Edit the README's YAML (meta(dict)) or text (body(str) -> str); manifest kept in step."""
    path = release / "README.md"
    _, head, text = path.read_text(encoding="utf-8").split("---\n", 2)
    if meta:
        data = yaml.safe_load(head)
        meta(data)
        head = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    if body:
        text = body(text)
    path.write_text(f"---\n{head}---\n{text}", encoding="utf-8")
    refresh_manifest(release, "README.md")


def config(meta: dict, name: str) -> dict:
    return next(c for c in meta["configs"] if c["config_name"] == name)


def check(release, **kwargs) -> v.ValidationReport:
    return v.validate(release, load=kwargs.pop("load", False), **kwargs)


def assert_caught(report, failed: set[str], check: str, *names: str) -> v.CheckResult:
    """Exactly ``failed`` fail, and ``check`` names each of ``names`` in its first offender or
    message."""
    assert not report.ok
    assert {r.check for r in report.failed} == failed, report.render()
    result = report[check]
    assert result.count >= 1 and result.first
    for name in names:
        assert name in f"{result.first} {result.message}", result.message
    assert check in report.render() and "✗" in report.render()
    return result


US_COMPARISONS = "data/comparisons/en/us-00000-of-00001.parquet"
US_PAIRS = "data/pairs/en/us-00000-of-00001.parquet"


# --- the untouched release ------------------------------------------------------------------------


def test_a_fresh_release_passes_every_check_and_loads(built):
    report = v.validate(built)
    assert report.ok, report.render()
    assert [r.check for r in report.results] == v.check_names(load=True)
    assert {r.group for r in report.results} == set(v.GROUPS)
    assert all(r.count == 0 and r.first is None for r in report.results)
    text = report.render()
    assert "valid" in text and "✗" not in text and text.count("✓") == len(report.results)
    data = json.loads(report.to_json())
    assert data["ok"] is True and data["failed"] == []
    assert {c["check"] for c in data["checks"]} == set(v.check_names())


def test_no_load_skips_only_the_loading_check(built):
    report = check(built)
    assert report.ok
    assert [r.check for r in report.results] == v.check_names(load=False)
    assert "load_dataset" not in v.check_names(load=False)


# --- data -----------------------------------------------------------------------------------------


def test_a_removed_data_file(release):
    removed = "data/pairs/hi/in-00000-of-00001.parquet"
    (release / removed).unlink()
    report = check(release)
    assert_caught(
        report,
        {
            "manifest_files_exist",
            "pairs_complete",
            "dataset_info_counts",
            "card_split_table",
            "card_headline",
        },
        "manifest_files_exist",
        removed,
    )
    assert "12-1" in report["pairs_complete"].first  # the Hindi comparison lost its pairs


def test_a_retyped_column(release):
    def retype(table: pa.Table) -> pa.Table:
        index = table.schema.get_field_index("turn")
        return table.set_column(index, "turn", table["turn"].cast(pa.int32()))

    rewrite_arrow(release, US_COMPARISONS, retype)
    result = assert_caught(check(release), {"arrow_schema"}, "arrow_schema", US_COMPARISONS)
    assert "column turn is int32, schema says int8" in result.message


def test_a_dropped_column_and_wrong_feature_metadata(release):
    def drop(table: pa.Table) -> pa.Table:
        return table.drop_columns(["explanation"])

    rewrite_arrow(release, US_COMPARISONS, drop)
    report = check(release)
    result = report["arrow_schema"]
    assert not result.ok and result.first == US_COMPARISONS
    assert "missing columns ['explanation']" in result.message


def test_wrong_feature_metadata(release):
    def relabel(table: pa.Table) -> pa.Table:
        metadata = json.loads(table.schema.metadata[b"huggingface"])
        metadata["info"]["features"]["choice"]["names"] = ["A", "B", "C", "D"]
        return table.replace_schema_metadata({b"huggingface": json.dumps(metadata).encode()})

    rewrite_arrow(release, US_COMPARISONS, relabel)
    result = assert_caught(check(release), {"feature_metadata"}, "feature_metadata", US_COMPARISONS)
    assert "['choice']" in result.message


def test_a_null_where_forbidden(release):
    rewrite_rows(
        release,
        US_COMPARISONS,
        lambda f: f.with_columns(
            pl.when(pl.col("comparison_id") == "10-2")
            .then(None)
            .otherwise("prompt")
            .alias("prompt")
        ),
    )
    report = check(release)
    # the pairs, the TRL configs and the conversation still hold the prompt; item_id was
    # hashed from it
    assert_caught(
        report,
        {
            "not_null",
            "pairs_content",
            "conversation_comparisons",
            "derived_ids",
            "unpaired_content",
            "messages_content",
            "prompts_content",
        },  # fmt: skip
        "not_null",
        US_COMPARISONS,
        "10-2",
        "prompt is null",
    )


def test_a_null_inside_a_nested_message(release):
    def blank(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("pair_id") == "10-1-b")
            .then(pl.lit([{"role": "assistant", "content": None}]))
            .otherwise("rejected")
            .alias("rejected")
        )

    rewrite_rows(release, US_PAIRS, blank)
    assert_caught(
        check(release),
        {"not_null", "pairs_content", "trl_format"},  # TRL rejects a message without text
        "not_null",
        US_PAIRS,
        "10-1-b",
        "rejected[0].content is null",
    )


def test_a_value_outside_its_vocabulary(release):
    relative = "data/annotators/us-00000-of-00001.parquet"
    rewrite_rows(release, relative, lambda f: f.with_columns(country=pl.lit("xx")))
    result = assert_caught(
        check(release),
        {"vocabularies", "rows_match_path", "annotators_match"},
        "vocabularies",
        relative,
        "country is 'xx'",
    )
    assert "annotator_id '1'" in result.first


def test_a_message_role_outside_its_values(release):
    def system(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("pair_id") == "10-1-b")
            .then(pl.lit([{"role": "system", "content": "Answer A1 of 10"}]))
            .otherwise("chosen")
            .alias("chosen")
        )

    rewrite_rows(release, US_PAIRS, system)
    assert_caught(
        check(release),
        {"vocabularies", "pairs_content", "trl_format"},  # a completion is one assistant message
        "vocabularies",
        "10-1-b",
        "chosen[0].role is 'system'",
    )


def test_a_duplicated_id(release):
    def twice(frame: pl.DataFrame) -> pl.DataFrame:
        return pl.concat([frame.head(1), frame]).cast(frame.schema)

    rewrite_rows(release, US_PAIRS, twice)
    assert_caught(
        check(release),
        {
            "unique_ids",
            "pairs_complete",
            "dataset_info_counts",
            "card_split_table",
            "card_headline",
        },
        "unique_ids",
        "pairs.pair_id '10-1-b'",
        "appears 2 times",
    )


def test_a_row_moved_to_the_wrong_split(release):
    moved = pl.read_parquet(release / US_COMPARISONS).filter(pl.col("comparison_id") == "11-1")
    rewrite_rows(release, US_COMPARISONS, lambda f: f.filter(pl.col("comparison_id") != "11-1"))
    french = "data/comparisons/fr/fr-00000-of-00001.parquet"
    rewrite_rows(release, french, lambda f: pl.concat([moved, f]))  # 11 sorts before 14
    assert_caught(
        check(release),
        {"rows_match_path", "dataset_info_counts", "card_split_table"},
        "rows_match_path",
        french,
        "11-1",
        "language 'en', country 'us'",
    )


def test_rows_out_of_order(release):
    rewrite_rows(release, US_PAIRS, lambda f: f.reverse())
    assert_caught(check(release), {"sort_order"}, "sort_order", US_PAIRS, "row 0")


def test_inconsistent_shard_names(release):
    old = "data/annotators/it-00000-of-00001.parquet"
    new = "data/annotators/it-00000-of-00002.parquet"
    (release / old).rename(release / new)
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["files"][new] = manifest["files"].pop(old)
    (release / "manifest.json").write_text(json.dumps(manifest))
    assert_caught(check(release), {"shard_names"}, "shard_names", "data/annotators/it")


def test_a_file_outside_the_layout(release):
    stray = "data/extra/us-00000-of-00001.parquet"
    (release / stray).parent.mkdir()
    shutil.copy(release / US_PAIRS, release / stray)
    refresh_manifest(release, stray)
    assert_caught(
        check(release), {"data_layout", "data_files_claimed"}, "data_layout", stray, "'extra'"
    )


# --- contract -------------------------------------------------------------------------------------


def test_a_dropped_pair(release):
    rewrite_rows(release, US_PAIRS, lambda f: f.filter(pl.col("pair_id") != "10-2-c"))
    assert_caught(
        check(release),
        {"pairs_complete", "dataset_info_counts", "card_split_table", "card_headline"},
        "pairs_complete",
        "comparison '10-2'",
        "rejecting candidate c",
    )


def test_a_pair_for_an_incomplete_context(release):
    extra = (
        pl.read_parquet(release / US_PAIRS)
        .filter(pl.col("pair_id") == "11-1-a")
        .with_columns(pair_id=pl.lit("17-2-b"), comparison_id=pl.lit("17-2"))
    )
    rewrite_rows(release, US_PAIRS, lambda f: pl.concat([f, extra]))
    report = check(release)
    result = report["pairs_complete"]
    assert (
        not result.ok and "17-2-b" in result.first and "not a present, non-chosen" in result.message
    )


def test_a_pair_whose_chosen_text_changed(release):
    def change(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("pair_id") == "10-3-a")
            .then(pl.lit([{"role": "assistant", "content": "something else"}]))
            .otherwise("chosen")
            .alias("chosen")
        )

    rewrite_rows(release, US_PAIRS, change)
    result = assert_caught(check(release), {"pairs_content"}, "pairs_content", US_PAIRS, "10-3-a")
    assert "chosen differ from comparison '10-3'" in result.message


def test_a_comparison_whose_annotator_is_missing(release):
    relative = "data/annotators/in-00000-of-00001.parquet"
    rewrite_rows(release, relative, lambda f: f.filter(pl.col("annotator_id") != "3"))
    result = assert_caught(
        check(release),
        {"annotators_match", "dataset_info_counts", "card_split_table", "card_headline"},
        "annotators_match",
        "annotator '3' is not in `annotators`",
    )
    assert result.first.startswith("comparisons comparison_id '13-1'")


def test_an_annotator_whose_demographics_differ(release):
    rewrite_rows(
        release,
        "data/annotators/br-00000-of-00001.parquet",
        lambda f: f.with_columns(annotator_age=pl.lit("55+")),
    )
    result = assert_caught(check(release), {"annotators_match"}, "annotators_match", "'15-1'")
    assert "annotator_age '18-34' here, '55+' there" in result.message


def test_conversation_turns_out_of_order(release):
    relative = "data/conversations/en/us-00000-of-00001.parquet"
    rewrite_rows(
        release,
        relative,
        lambda f: f.with_columns(
            pl.when(pl.col("conversation_id") == "10")
            .then(pl.col("turns").list.reverse())
            .otherwise("turns")
            .alias("turns")
        ),
    )
    result = assert_caught(
        check(release), {"conversation_turns"}, "conversation_turns", relative, "'10'"
    )
    assert "turn 2 comes after turn 3" in result.message


def test_a_comparison_count_that_disagrees_with_the_turns(release):
    relative = "data/conversations/en/us-00000-of-00001.parquet"
    rewrite_rows(
        release,
        relative,
        lambda f: f.with_columns(
            num_comparisons=pl.when(pl.col("conversation_id") == "11")
            .then(2)
            .otherwise("num_comparisons")
            .cast(pl.Int8)
        ),
    )
    result = assert_caught(
        check(release), {"conversation_comparisons"}, "conversation_comparisons", "'11'"
    )
    assert "num_comparisons is 2, but 1 comparisons" in result.message


# --- card -----------------------------------------------------------------------------------------


def test_a_dataset_info_count_edited(release):
    def edit(meta):
        info = next(i for i in meta["dataset_info"] if i["config_name"] == "pairs")
        next(s for s in info["splits"] if s["name"] == "us")["num_examples"] += 1

    edit_card(release, meta=edit)
    result = assert_caught(
        check(release), {"dataset_info_counts"}, "dataset_info_counts", "pairs/us"
    )
    assert "num_examples is 13, its files hold 12 rows" in result.message


def test_a_dataset_info_count_edited_also_fails_loading(release):
    def edit(meta):
        info = next(i for i in meta["dataset_info"] if i["config_name"] == "hi")
        info["splits"][0]["num_examples"] = 5

    edit_card(release, meta=edit)
    report = v.validate(release, load=True)
    assert_caught(report, {"dataset_info_counts", "load_dataset"}, "load_dataset", "config hi")


def test_a_rows_per_split_count_edited(release):
    edit_card(release, body=lambda t: t.replace("| `pairs` | 12 |", "| `pairs` | 11 |"))
    result = assert_caught(check(release), {"card_split_table"}, "card_split_table", "pairs/us")
    assert "the card says 11, the data has 12" in result.message


def test_a_headline_count_edited(release):
    edit_card(
        release,
        body=lambda t: t.replace("preference pairs**", "preference pairs** ", 1).replace(
            "**42 preference", "**41 preference"
        ),
    )
    assert_caught(check(release), {"card_headline"}, "card_headline", "pairs", "41")


def test_a_checksum_changed_in_the_manifest(release):
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["files"][US_PAIRS]["sha256"] = "0" * 64
    (release / "manifest.json").write_text(json.dumps(manifest))
    assert_caught(check(release), {"manifest_checksums"}, "manifest_checksums", US_PAIRS)


def test_a_stray_file(release):
    (release / "notes.txt").write_text("to do\n")
    assert_caught(check(release), {"stray_files", "manifest_complete"}, "stray_files", "notes.txt")


def test_assets_are_allowed(release):
    (release / "assets").mkdir(exist_ok=True)
    (release / "assets" / "figure.png").write_bytes(b"png")
    refresh_manifest(release, "assets/figure.png")
    assert check(release).ok


def test_a_data_file_no_config_claims(release):
    def narrow(meta):
        split = next(s for s in config(meta, "pairs")["data_files"] if s["split"] == "in")
        split["path"] = "data/pairs/en/in-*.parquet"

    edit_card(release, meta=narrow)
    report = check(release)
    assert_caught(
        report,
        {"data_files_claimed", "card_configs_match_data", "dataset_info_counts"},
        "data_files_claimed",
        "data/pairs/hi/in-00000-of-00001.parquet",
    )
    assert "misses ['data/pairs/hi/in-00000-of-00001.parquet']" in (
        report["card_configs_match_data"].message
    )


def test_a_config_glob_that_matches_nothing(release):
    def typo(meta):
        split = next(s for s in config(meta, "annotators")["data_files"] if s["split"] == "us")
        split["path"] = "data/annotators/us-*.parq"

    edit_card(release, meta=typo)
    assert_caught(
        check(release),
        {
            "card_globs_match_files",
            "data_files_claimed",
            "card_configs_match_data",
            "dataset_info_counts",
        },
        "card_globs_match_files",
        "data/annotators/us-*.parq",
        "annotators/us",
    )


def test_two_default_configs(release):
    edit_card(release, meta=lambda meta: config(meta, "pairs").update(default=True))
    result = assert_caught(
        check(release), {"card_default_config"}, "card_default_config", "comparisons, pairs"
    )
    assert "expected ['comparisons']" in result.message


def test_an_invalid_language_tag(release):
    def bad(meta):
        meta["language"] = [t if t != "hi" else "hindi_IN" for t in meta["language"]]

    edit_card(release, meta=bad)
    assert_caught(
        check(release),
        {"card_language_tags_valid", "card_languages_match_data"},
        "card_language_tags_valid",
        "'hindi_IN'",
    )


def test_a_missing_required_field_and_wrong_size_category(release):
    def edit(meta):
        del meta["pretty_name"]
        meta["size_categories"] = ["1K<n<10K"]

    edit_card(release, meta=edit)
    assert_caught(
        check(release),
        {"card_required_fields", "card_metadata", "card_size_category"},
        "card_required_fields",
        "pretty_name",
    )


def test_illegal_config_and_split_names(release):
    def rename(meta):
        config(meta, "hi")["config_name"] = "hi/in"
        config(meta, "pt")["data_files"][0]["split"] = "br-1"

    edit_card(release, meta=rename)
    result = check(release)["card_names_legal"]
    assert not result.ok and result.count == 2
    assert "config pt split 'br-1'" == result.first and "config 'hi/in'" in result.message


def test_a_card_that_does_not_parse(release):
    (release / "README.md").write_text("---\nlicense: [unclosed\n---\n\nbody\n")
    refresh_manifest(release, "README.md")
    report = check(release)
    assert report["card_parses"].first == "README.md"
    skipped = [r for r in report.results if r.skipped]
    assert skipped and all(r.message.startswith("not checked:") for r in skipped)
    assert {r.group for r in skipped} >= {"card", "statistics"}


# --- entry points ---------------------------------------------------------------------------------


def test_statistics_parse_the_numbers_the_card_states(built):
    text = (built / "README.md").read_text(encoding="utf-8")
    table = v.parse_split_table(text)
    assert table["comparisons/us"] == 5 and table["hi/in"] == 2 and table["fr/us"] == 0
    assert table["pairs/total"] == 42
    assert v.parse_headline(text) == {
        "comparisons": 15,
        "conversations": 8,
        "annotators": 6,
        "pairs": 42,
    }
    assert set(v.CARD_STATISTICS) <= set(v.check_names())


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("data/comparisons/*/us-*.parquet", "data/comparisons/en/us-00000-of-00001.parquet", True),
        ("data/comparisons/*/us-*.parquet", "data/comparisons/en/x/us-0.parquet", False),
        ("data/**/*.parquet", "data/comparisons/en/us-0.parquet", True),
        ("data/annotators/us-*.parquet", "data/annotators/us-00000-of-00001.parquet", True),
        ("data/annotators/[!u]s-*.parquet", "data/annotators/us-0.parquet", False),
    ],
)
def test_globs_follow_the_hub_rules(pattern, path, matches):
    assert bool(v._glob_regex(pattern).match(path)) is matches


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    v.register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["validate", *argv])
    return args.run(args)


def test_cli_exit_codes_and_json(release, capsys):
    assert run_cli(str(release), "--no-load") == 0
    assert "valid" in capsys.readouterr().out
    (release / "notes.txt").write_text("x")
    assert run_cli(str(release), "--no-load", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and "stray_files" in data["failed"]
    assert run_cli(str(release / "missing"), "--no-load") == 2


def test_hub_release_is_downloaded_then_validated_as_a_folder(built, tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    def fake_snapshot(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        folder = shutil.copytree(built, tmp_path / "snapshot")
        (folder / ".gitattributes").write_text("*.parquet filter=lfs\n")  # every Hub repo has one
        return str(folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    report = v.validate("hf://datasets/org/community-alignment@v0.1.0", load=False)
    assert report.ok, report.render()
    assert report.release == "hf://datasets/org/community-alignment@v0.1.0"
    assert calls[0][0] == "org/community-alignment"
    assert calls[0][1]["repo_type"] == "dataset" and calls[0][1]["revision"] == "v0.1.0"


def test_a_context_that_does_not_follow_from_the_conversation(release):
    def drop_context(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("comparison_id") == "10-3")
            .then(pl.col("context").list.head(2))
            .otherwise("context")
            .alias("context")
        )

    rewrite_rows(release, US_COMPARISONS, drop_context)
    # the pairs, unpaired rows and prompts still hold the full context; item_id was hashed
    # from it
    assert_caught(
        check(release),
        {
            "comparison_context",
            "pairs_content",
            "derived_ids",
            "unpaired_content",
            "prompts_content",
        },
        "comparison_context",
        "10-3",
        "context do not follow",
    )


def test_a_fold_that_is_not_the_hash_of_the_annotator(release):
    relative = "data/annotators/fr-00000-of-00001.parquet"
    rewrite_rows(release, relative, lambda f: f.with_columns(fold=(pl.col("fold") + 1) % 10))
    assert_caught(
        check(release), {"derived_ids", "annotators_match"}, "derived_ids", relative, "fold is"
    )
