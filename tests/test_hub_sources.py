"""``builder.sources`` against the test Hub: the real download code finds the layout a revision
has, says clearly what is missing, and a later offline run is served from the cache.

test_sources.py covers the same code with a cache filled by hand; here the files come over HTTP
(``HF_ENDPOINT``, in a subprocess, since huggingface_hub reads it at import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from builder.release import file_sha256
from tests.conftest import raw_row, write_raw
from tests.hub_server import HubServer

ROOT = Path(__file__).resolve().parent.parent
REPO = "acme/community-alignment-v10"

# Locates each source given on the command line; prints what it found or the error's message.
LOCATE = """
import json, sys
from builder.errors import BuildError
from builder.sources import resolve
out = []
for argument in sys.argv[1:]:
    source, _, split = argument.partition(" ")
    try:
        found = resolve(source, split=split or None)
        out.append(found.provenance())
    except BuildError as error:
        out.append({"error": str(error)})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A v1.0-layout repo (full and filtered files, no v1.1 file) on a test Hub: (server, commit)."""
    folder = tmp_path_factory.mktemp("v10")
    full = write_raw(folder / "full.csv", [raw_row("1"), raw_row("2")])
    filtered = write_raw(folder / "filtered.csv", [raw_row("1")])
    with HubServer() as server:
        api = HfApi(endpoint=server.endpoint, token="hf_test")
        api.create_repo(REPO, repo_type="dataset")
        files = {
            "data/full_community_alignment.csv": full,
            "data/filtered_community_alignment.csv": filtered,
        }
        operations = [CommitOperationAdd(p, str(f)) for p, f in files.items()]
        info = api.create_commit(REPO, operations, commit_message="v1.0", repo_type="dataset")
        yield server, info.oid, files


def locate(server: HubServer, home: Path, *sources: str, offline: bool = False) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")} | {
        "HF_ENDPOINT": server.endpoint,
        "HF_HOME": str(home),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "PYTHONPATH": str(ROOT),
    }
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", LOCATE, *sources], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_revision_without_a_file_name_finds_v10_and_a_split_picks_the_filtered_file(
    hub, tmp_path
):
    server, revision, files = hub
    source = f"hf://datasets/{REPO}@{revision}"
    full, filtered = locate(server, tmp_path, source, f"{source} filtered")
    assert (full["layout"], full["split"], full["revision"]) == ("v1.0", "full", revision)
    assert full["filename"] == "data/full_community_alignment.csv"
    assert (filtered["split"], filtered["size_bytes"]) == (
        "filtered",
        files["data/filtered_community_alignment.csv"].stat().st_size,
    )
    assert full["sha256"] == file_sha256(files["data/full_community_alignment.csv"])


def test_a_missing_revision_or_repo_is_a_clear_error(hub, tmp_path):
    server, _, _ = hub
    unknown = "b" * 40
    no_revision, no_repo = locate(
        server, tmp_path, f"hf://datasets/{REPO}@{unknown}", "hf://datasets/acme/nothing@main"
    )
    assert unknown in no_revision["error"] and REPO in no_revision["error"]
    assert "acme/nothing" in no_repo["error"]


def test_a_download_is_served_offline_from_the_cache_afterwards(hub, tmp_path):
    server, revision, _ = hub
    source = f"hf://datasets/{REPO}@{revision}/data/filtered_community_alignment.csv"
    (online,) = locate(server, tmp_path, source)
    before = len(server.requests)
    (offline,) = locate(server, tmp_path, source, offline=True)
    assert offline == online and "error" not in offline
    assert server.requests[before:] == []
