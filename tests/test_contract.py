"""The release contract (community_alignment.contract) against a release the builder wrote."""

from __future__ import annotations

import fnmatch
import json

import polars as pl
import pytest

from community_alignment import contract, schema
from community_alignment.load import scan
from tests.conftest import MIXED_ROWS, built_release, raw_row


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    # the last conversation's first turn has no choice: its second turn's context lacks a reply
    rows = [*MIXED_ROWS, raw_row("17", "1", turns=2, choices=["", "response_a"])]
    return built_release(tmp_path_factory, "contract", rows)


def data_files(release) -> list[str]:
    return sorted(p.relative_to(release).as_posix() for p in release.rglob("*.parquet"))


def test_every_data_file_is_a_shard_path_of_a_known_table(release):
    for path in data_files(release):
        parts = contract.parse_shard_path(path)
        assert parts is not None, path
        assert parts["table"] in schema.table_names()
        assert (parts["language"] is not None) == contract.split_by_language(parts["table"])
        assert path == contract.shard_path(
            parts["table"], parts["language"], parts["country"],
            int(parts["index"]), int(parts["count"]),
        )  # fmt: skip


def test_a_path_outside_the_layout_is_not_a_shard():
    assert contract.parse_shard_path("data/comparisons/en/us-0-of-1.parquet") is None
    assert contract.parse_shard_path("elsewhere/comparisons/en/us-00000-of-00001.parquet") is None


def test_config_globs_are_the_card_data_files(release):
    card = (release / contract.card_name()).read_text(encoding="utf-8")
    front = card.split("---")[1]
    import yaml

    configs = yaml.safe_load(front)["configs"]
    defaults = [c["config_name"] for c in configs if c.get("default")]
    assert defaults == [contract.default_config()]
    for entry in configs:
        for data_file in entry["data_files"]:
            assert data_file["path"] == contract.config_glob(
                entry["config_name"], data_file["split"]
            )


def test_a_language_config_reads_only_its_language_of_the_table_it_views(release):
    files = data_files(release)
    hindi = [p for p in files if fnmatch.fnmatch(p, contract.config_glob("hi", "in"))]
    assert hindi and all(
        p.startswith(contract.table_folder(contract.language_config_table(), "hi")) for p in hindi
    )
    assert scan(release, "hi").select(pl.col("language").unique()).collect()[
        "language"
    ].to_list() == ["hi"]


def test_annotators_cannot_be_narrowed_to_a_language():
    with pytest.raises(ValueError, match="split by country only"):
        contract.config_glob("annotators", language="en")


def test_an_unknown_config_is_named_in_the_error():
    with pytest.raises(ValueError, match="unknown config 'rows'"):
        contract.table_of_config("rows")


def test_ids_follow_their_templates(release):
    comparisons = scan(release, "comparisons").collect()
    assert comparisons.select(
        (pl.col("comparison_id") == contract.id_expr("comparison_id")).all()
    ).item()
    letters = [str(c) for c in schema.codes("choice")]
    pairs = scan(release, "pairs").collect()
    made = contract.id_expr(
        "pair_id",
        rejected_choice=pl.col("rejected_choice").replace_strict(
            list(range(len(letters))), letters, return_dtype=pl.String
        ),
    )
    assert pairs.height and pairs.select((pl.col("pair_id") == made).all()).item()


def test_item_ids_hash_the_context_as_the_contract_makes_it(release):
    comparisons = scan(release, "comparisons").collect()
    width = int(comparisons["context"].list.len().max())
    messages = [pl.col("context").list.get(k, null_on_oob=True) for k in range(width)]
    responses = [pl.col("responses").list.get(i) for i in range(len(schema.codes("choice")))]
    made = contract.item_id_expr(
        [(m.struct.field("role"), m.struct.field("content")) for m in messages],
        pl.col("prompt"),
        responses,
    )
    assert comparisons.select((pl.col("item_id") == made).all()).item()
    # the reply of a turn without a choice is unknown, so left out of the context after it
    partial = comparisons.filter(pl.col("comparison_id") == "17-2")
    roles = partial["context"].list.eval(pl.element().struct.field("role")).item().to_list()
    assert roles == [contract.message_roles()[0]]


def test_rows_are_in_the_contract_order(release):
    for table in schema.table_names():
        paths = [p for p in data_files(release) if p.startswith(contract.table_folder(table) + "/")]
        assert paths, table
        for path in paths:
            rows = pl.read_parquet(release / path)
            assert rows.equals(rows.sort(contract.table_order(table), nulls_last=True)), path


def test_quarantine_reasons_are_the_schema_codes_and_an_unknown_one_fails():
    assert contract.REASONS.missing_id == "missing_id"
    assert set(vars(contract.REASONS)) == set(contract.quarantine_reasons())
    with pytest.raises(AttributeError):
        contract.REASONS.no_such_reason  # noqa: B018


def test_manifest_is_where_the_contract_says(release):
    manifest = json.loads((release / contract.manifest_name()).read_text(encoding="utf-8"))
    assert sorted(p for p in manifest["files"] if p.endswith(".parquet")) == data_files(release)
