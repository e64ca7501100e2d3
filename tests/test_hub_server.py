"""The test Hub (tests/hub_server.py) speaks the protocol the clients expect; the validator and
``scan`` read a published release as they read the local folder; publish never commits over a
push it did not see.

These run in this process: ``huggingface_hub`` takes the server's address as an ``endpoint``
argument, and where the code under test follows ``HF_ENDPOINT`` its constant is patched. The whole
release path, through subprocesses, is in test_release_path.py.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, HfFileSystem
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils.sha import git_hash

from builder.validate import validate_folder
from community_alignment.load import scan
from tests.conftest import built_release, raw_row
from tests.hub_server import HubServer

REPO = "org/release"
DATASET = {"repo_id": REPO, "repo_type": "dataset"}


@pytest.fixture
def server():
    with HubServer(page_size=3) as hub:
        yield hub


@pytest.fixture
def api(server):
    return HfApi(endpoint=server.endpoint, token="hf_test")


def commit(api: HfApi, files: dict[str, bytes], deleted=(), message="update") -> str:
    operations = [CommitOperationDelete(path_in_repo=p) for p in deleted]
    operations += [CommitOperationAdd(path_in_repo=p, path_or_fileobj=d) for p, d in files.items()]
    return api.create_commit(**DATASET, operations=operations, commit_message=message).oid


def get(url: str, **headers: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_a_commit_is_atomic_and_a_tag_keeps_pointing_at_it(api):
    api.create_repo(**DATASET)
    first = commit(api, {"a.txt": b"one", "data/b.txt": b"two"})
    api.create_tag(**DATASET, tag="v1", revision=first)
    second = commit(api, {"a.txt": b"ONE"}, deleted=["data/b.txt"])
    assert second != first
    assert api.list_repo_refs(**DATASET).tags[0].target_commit == first
    assert sorted(api.list_repo_files(**DATASET, revision="v1")) == [
        ".gitattributes",
        "a.txt",
        "data/b.txt",
    ]
    assert sorted(api.list_repo_files(**DATASET)) == [".gitattributes", "a.txt"]
    assert api.repo_info(**DATASET, revision="v1").sha == first
    assert api.repo_info(**DATASET).sha == second
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_tag(**DATASET, tag="v1", revision=second)
    assert caught.value.response.status_code == 409


def test_an_unchanged_file_is_left_out_of_the_next_commit(api, server):
    api.create_repo(**DATASET)
    first = commit(api, {"a.txt": b"same"})
    assert commit(api, {"a.txt": b"same"}) == first  # the client saw the blob id: no commit
    assert [r for r in server.requests if "/commit/" in r[1]] == [
        ("POST", f"/api/datasets/{REPO}/commit/main")
    ]


def test_resolve_gives_the_blob_id_commit_size_and_byte_ranges(api, server, tmp_path):
    api.create_repo(**DATASET)
    data = bytes(range(256)) * 4
    head = commit(api, {"data/x.bin": data})
    url = f"{server.endpoint}/datasets/{REPO}/resolve/main/data/x.bin"
    meta = huggingface_hub.get_hf_file_metadata(url)
    assert (meta.etag, meta.commit_hash, meta.size) == (git_hash(data), head, len(data))
    status, headers, body = get(url, Range="bytes=10-19")
    assert (status, body, headers["Content-Range"]) == (206, data[10:20], "bytes 10-19/1024")
    assert get(url, Range="bytes=-4")[2] == data[-4:]
    assert get(url, Range="bytes=5000-")[0] == 416
    with HfFileSystem(endpoint=server.endpoint, skip_instance_cache=True).open(
        f"datasets/{REPO}/data/x.bin", block_size=64
    ) as handle:
        handle.seek(700)
        assert handle.read(30) == data[700:730]
    downloaded = huggingface_hub.hf_hub_download(
        **DATASET, filename="data/x.bin", endpoint=server.endpoint, cache_dir=tmp_path
    )
    assert Path(downloaded).read_bytes() == data


def test_missing_repo_revision_and_file_are_the_clients_errors(api, server, tmp_path):
    def download(repo_id: str, filename: str, revision: str = "main") -> str:
        return huggingface_hub.hf_hub_download(
            repo_id, filename, repo_type="dataset", revision=revision,
            endpoint=server.endpoint, cache_dir=tmp_path,
        )  # fmt: skip

    api.create_repo(**DATASET)
    with pytest.raises(RepositoryNotFoundError):
        download("org/nothing", "a.txt")
    with pytest.raises(RevisionNotFoundError):
        download(REPO, ".gitattributes", revision="v9")
    with pytest.raises(EntryNotFoundError):
        download(REPO, "a.txt")


def test_writes_need_a_token(server):
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(endpoint=server.endpoint, token=False).create_repo(**DATASET)
    assert caught.value.response.status_code == 401
    assert not server.hub.repos


def test_tree_listings_are_paginated_and_followed(api, server):
    api.create_repo(**DATASET)
    commit(api, {f"data/{n}.txt": b"x" for n in range(7)})
    listed = list(api.list_repo_tree(**DATASET, recursive=True))
    assert sorted(e.path for e in listed) == sorted(
        [".gitattributes", "data", *(f"data/{n}.txt" for n in range(7))]
    )
    pages = [r for r in server.requests if "/tree/" in r[1]]
    assert len(pages) == 3 and "cursor=3" in pages[1][1] and "cursor=6" in pages[2][1]


# --- readers of a published release ------------------------------------------------------------


@pytest.fixture(scope="module")
def small_release(tmp_path_factory):
    rows = [raw_row("10", "1"), raw_row("12", "2", language="hi", country="india")]
    return built_release(tmp_path_factory, "hub-reader", rows)


def publish_folder(api: HfApi, release: Path) -> None:
    api.create_repo(**DATASET)
    commit(
        api,
        {
            p.relative_to(release).as_posix(): p.read_bytes()
            for p in release.rglob("*")
            if p.is_file()
        },
    )


def test_validate_accepts_a_hub_snapshot_whose_files_are_links(
    api, server, small_release, tmp_path
):
    """snapshot_download links every file into its blob store: an image check that followed the
    links found the card's figures 'outside the release'."""
    publish_folder(api, small_release)
    snapshot = huggingface_hub.snapshot_download(
        REPO, repo_type="dataset", endpoint=server.endpoint, cache_dir=tmp_path
    )
    assert (Path(snapshot) / "assets").is_dir() and (Path(snapshot) / "README.md").is_symlink()
    report = validate_folder(Path(snapshot), load=False, ignore=(".gitattributes",))
    assert report.ok, report.render()


def test_scan_of_an_hf_path_reads_the_hub_that_hf_endpoint_names(
    api, server, small_release, monkeypatch
):
    """polars' own hf:// reader would ask huggingface.co even with HF_ENDPOINT set."""
    publish_folder(api, small_release)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", server.endpoint)
    for config, country in (("comparisons", None), ("pairs", "in"), ("annotators", "us")):
        remote = scan(f"hf://datasets/{REPO}", config, country=country).collect()
        local = scan(small_release, config, country=country).collect()
        assert remote.height > 0 and remote.equals(local)
    assert any(r[1].startswith(f"/datasets/{REPO}/resolve/main/data/") for r in server.requests)
    with pytest.raises(FileNotFoundError, match="no data files match"):
        scan(f"hf://datasets/{REPO}", "pairs", country="fr")


def test_creating_an_existing_repo_with_exist_ok_is_not_an_error(api):
    first = api.create_repo(**DATASET)
    assert api.create_repo(**DATASET, exist_ok=True) == first
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_repo(**DATASET)
    assert caught.value.response.status_code == 409


def test_scan_after_a_new_push_reads_the_new_files(api, server, small_release, monkeypatch):
    """A notebook that scans, then scans again after a push, must not get the old listing."""
    publish_folder(api, small_release)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", server.endpoint)
    source = f"hf://datasets/{REPO}"
    assert (
        scan(source, "comparisons").collect().equals(scan(small_release, "comparisons").collect())
    )
    commit(api, {}, deleted=["data/comparisons/hi/in-00000-of-00001.parquet"])
    after = scan(source, "comparisons").collect()  # a stale listing: 404 for the deleted file
    assert after.equals(scan(small_release, "comparisons", country="us").collect())


def test_publish_is_refused_when_someone_pushes_while_it_plans(
    api, server, small_release, monkeypatch
):
    """Without naming its parent commit, the release commit landed on top of the other push,
    whose file then stayed beside the release under the version tag."""
    from builder import publish
    from builder.errors import BuildError

    api.create_repo(**DATASET)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", server.endpoint)
    listed = HfApi.list_repo_files

    def list_then_someone_pushes(self, *args, **kwargs):
        files = listed(self, *args, **kwargs)
        commit(api, {"notes.txt": b"pushed meanwhile"})
        return files

    monkeypatch.setattr(HfApi, "list_repo_files", list_then_someone_pushes)
    with pytest.raises(BuildError, match="changed while this release was being published"):
        publish.publish(small_release, REPO, dry_run=False, token="hf_test", load=False)
    repo = server.hub.repos[REPO]
    assert not repo.tags and len(repo.commits) == 2  # the Hub's first and the other push
    assert set(repo.commits[repo.branches["main"]].files) == {".gitattributes", "notes.txt"}
