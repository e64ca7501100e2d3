"""Checks of the annotators' activity, the manifest and the card's features, each shown failing
on a built release broken in one way (the release of tests/test_validate.py)."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest

from tests.conftest import built_release
from tests.test_validate import ROWS, assert_caught, check, edit_card, rewrite_rows

ANNOTATORS = "data/annotators/us-00000-of-00001.parquet"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_release(tmp_path_factory, "caught", ROWS)


@pytest.fixture
def release(built, tmp_path):
    return shutil.copytree(built, tmp_path / "release")


def edit_manifest(release, change) -> None:
    path = release / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def test_an_annotator_whose_comparison_count_is_off_by_one(release):
    rewrite_rows(
        release,
        ANNOTATORS,
        lambda f: f.with_columns(
            pl.when(pl.int_range(pl.len()) == 0)
            .then(pl.col("num_comparisons") + 1)
            .otherwise("num_comparisons")
            .alias("num_comparisons")
        ),
    )
    assert_caught(
        check(release), {"annotator_activity"}, "annotator_activity", ANNOTATORS, "num_comparisons"
    )


def test_an_annotator_whose_languages_differ_from_their_conversations(release):
    rewrite_rows(
        release,
        ANNOTATORS,
        lambda f: f.with_columns(pl.col("languages").list.concat(pl.lit(["hi"]))),
    )
    assert_caught(check(release), {"annotator_activity"}, "annotator_activity", "languages")


def test_a_manifest_row_count_that_is_not_the_file_s(release):
    edit_manifest(release, lambda m: m["files"][ANNOTATORS].update(rows=99))
    assert_caught(check(release), {"manifest_rows"}, "manifest_rows", ANNOTATORS, "says 99 rows")


def test_a_manifest_without_its_builder_version(release):
    edit_manifest(release, lambda m: m.pop("builder_version"))
    assert_caught(check(release), {"manifest_parses"}, "manifest_parses", "builder_version")


def test_a_manifest_that_is_not_json(release):
    (release / "manifest.json").write_text("{not json")
    # the checks that need a manifest are not run, and say so
    needing = {"manifest_files_exist", "manifest_complete", "manifest_checksums", "manifest_rows"}
    report = check(release)
    assert_caught(report, {"manifest_parses", *needing}, "manifest_parses", "not valid JSON")
    assert all(report[name].skipped for name in needing)


def test_a_card_feature_whose_type_differs_from_the_schema(release):
    def retype(meta: dict) -> None:
        info = next(i for i in meta["dataset_info"] if i["config_name"] == "annotators")
        feature = next(f for f in info["features"] if f["name"] == "fold")
        feature["dtype"] = "int64"

    edit_card(release, meta=retype)
    assert_caught(
        check(release),
        {"card_dataset_info_features"},
        "card_dataset_info_features",
        "dataset_info annotators",
        "differ from the schema of `annotators`",
    )
