"""The Hub source path, exercised offline through huggingface_hub with a pre-filled cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builder.release import file_sha256
from community_alignment import schema
from tests.conftest import raw_row, write_raw

PINNED = schema.load("raw")["source"]["revision"]
ROOT = Path(__file__).resolve().parent.parent


def prefilled_cache(
    tmp_path: Path, repo_id: str, revision: str, filename: str
) -> tuple[Path, Path]:
    """A Hugging Face cache holding one file of a dataset repo at one revision."""
    cache = tmp_path / "hf-cache"
    snapshot = cache / f"datasets--{repo_id.replace('/', '--')}" / "snapshots" / revision
    target = snapshot / filename
    target.parent.mkdir(parents=True)
    write_raw(target, [raw_row("1"), raw_row("2", language="hi", country="india")])
    return cache, target


def run_builder(tmp_path: Path, cache: Path, source: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "builder", "build", "--source", source, "--out", str(tmp_path / "rel")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_hub_source_at_pinned_revision_is_read_from_cache_and_recorded(tmp_path):
    cache, cached = prefilled_cache(
        tmp_path, "facebook/community-alignment-dataset", PINNED, "community_alignment.csv"
    )
    done = run_builder(tmp_path, cache, "hf://datasets/facebook/community-alignment-dataset")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "rel" / "manifest.json").read_text())
    assert manifest["source"]["revision"] == PINNED
    assert manifest["source"]["repo_id"] == "facebook/community-alignment-dataset"
    assert manifest["source"]["sha256"] == file_sha256(cached)
    card = (tmp_path / "rel" / "README.md").read_text()
    assert file_sha256(cached) in card and PINNED in card


def test_hub_source_with_explicit_revision_and_path(tmp_path):
    revision = "a" * 40
    cache, _ = prefilled_cache(
        tmp_path, "acme/ca", revision, "data/filtered_community_alignment.csv"
    )
    done = run_builder(
        tmp_path, cache, f"hf://datasets/acme/ca@{revision}/data/filtered_community_alignment.csv"
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "rel" / "manifest.json").read_text())
    assert manifest["source"]["filename"] == "data/filtered_community_alignment.csv"


def test_hub_revision_missing_offline_is_a_clear_error(tmp_path):
    cache, _ = prefilled_cache(tmp_path, "acme/ca", PINNED, "community_alignment.csv")
    done = run_builder(tmp_path, cache, f"hf://datasets/acme/ca@{'b' * 40}")
    assert done.returncode == 1
    assert "not in the cache" in done.stderr and "b" * 40 in done.stderr
    assert not (tmp_path / "rel").exists()


def test_malformed_hub_source_is_a_clear_error(tmp_path):
    done = run_builder(tmp_path, tmp_path, "hf://models/acme/ca")
    assert done.returncode == 1 and "hf://datasets/ORG/NAME" in done.stderr


def test_v10_revision_without_a_path_falls_back_to_the_full_file(tmp_path):
    revision = "c" * 40
    cache, _ = prefilled_cache(tmp_path, "acme/ca", revision, "data/full_community_alignment.csv")
    done = run_builder(tmp_path, cache, f"hf://datasets/acme/ca@{revision}")
    assert done.returncode == 0, done.stderr
    source = json.loads((tmp_path / "rel" / "manifest.json").read_text())["source"]
    assert (source["layout"], source["split"]) == ("v1.0", "full")
    assert "layout v1.0 (full)" in done.stdout


def test_split_option_picks_the_filtered_file_of_a_local_v10_folder(tmp_path):
    from builder.build import build

    folder = tmp_path / "v10" / "data"
    folder.mkdir(parents=True)
    write_raw(folder / "full_community_alignment.csv", [raw_row("1"), raw_row("2")])
    write_raw(folder / "filtered_community_alignment.csv", [raw_row("1")])
    result = build(tmp_path / "v10", tmp_path / "rel", split="filtered")
    assert (result.report["source"]["layout"], result.report["source"]["split"]) == (
        "v1.0",
        "filtered",
    )
    assert result.report["books"]["raw_rows"] == 1
    full = build(tmp_path / "v10", tmp_path / "rel-full")
    assert full.report["source"]["split"] == "full" and full.report["books"]["raw_rows"] == 2


def test_unknown_split_is_an_error(tmp_path):
    from builder.build import build
    from builder.errors import BuildError

    with pytest.raises(BuildError, match="unknown split"):
        build(tmp_path, tmp_path / "rel", split="partial")
