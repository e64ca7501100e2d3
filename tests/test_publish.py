"""Publishing, offline: the dry run plans without uploading, an invalid release is refused, a push
is one commit of the whole folder then a tag (HfApi recorded, never reached), and the example CI
workflow parses."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from builder import publish as p
from builder.card import release_version
from builder.errors import BuildError
from tests.conftest import built_release, raw_row

TAG = f"v{release_version()}"  # publish tags a release with its own version

ROWS = [
    raw_row("10", "1", turns=2),
    raw_row("12", "2", language="hi", country="india", turns=2),
    raw_row("14", "4", language="fr", country="france", turns=1),
]
WORKFLOW = Path(__file__).resolve().parent.parent / "builder" / "ci" / "release.yml"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_release(tmp_path_factory, "publish", ROWS)


@pytest.fixture
def release(built, tmp_path):
    return shutil.copytree(built, tmp_path / "release")


def release_files(release: Path) -> set[str]:
    return {f.relative_to(release).as_posix() for f in release.rglob("*") if f.is_file()}


class FakeHub:
    """Records the HfApi calls a push makes; the Hub itself is never contacted."""

    def __init__(self, monkeypatch, *, remote=(".gitattributes",), tags=()):
        import huggingface_hub

        self.calls: list[tuple[str, dict]] = []
        self.remote, self.tags = list(remote), list(tags)

        def record(name, result=None):
            def method(api, *args, **kwargs):
                if args:
                    kwargs["repo_id"] = args[0]
                self.calls.append((name, kwargs))
                return result(kwargs) if callable(result) else result

            monkeypatch.setattr(huggingface_hub.HfApi, name, method)

        record("create_repo")
        record("create_branch")
        record(
            "list_repo_refs",
            lambda _: SimpleNamespace(tags=[SimpleNamespace(name=t) for t in self.tags]),
        )
        record("repo_info", lambda _: SimpleNamespace(sha="ab" * 20))
        record("list_repo_files", lambda _: list(self.remote))
        record(
            "create_commit",
            lambda _: SimpleNamespace(
                oid="c0ffee" * 6 + "c0ff", commit_url="https://hub/commit/c0ffee"
            ),
        )
        record("create_tag")
        record("upload_folder")
        record("upload_file")

    def named(self, name: str) -> list[dict]:
        return [kwargs for called, kwargs in self.calls if called == name]


def test_dry_run_plans_every_file_and_uploads_nothing(built, monkeypatch):
    hub = FakeHub(monkeypatch)
    plan = p.publish(built, "org/community-alignment")
    assert hub.calls == []
    assert plan.dry_run and plan.tag == TAG and plan.revision is None
    assert {path for path, _ in plan.files} == release_files(built)
    assert dict(plan.files)["README.md"] == (built / "README.md").stat().st_size
    assert plan.total_bytes == sum(f.stat().st_size for f in built.rglob("*") if f.is_file())
    assert plan.card_head.startswith("---\nlicense: cc-by-4.0\n")
    assert "  comparisons*: us, fr, in\n  pairs: us, fr, in" in plan.card_head
    assert "dataset_info: ..." in plan.card_head
    text = plan.render()
    assert text.startswith("Dry run: would upload") and "Nothing was uploaded" in text
    assert "data/pairs/en/us-00000-of-00001.parquet" in text and "total" in text
    # the card's examples name the default repo, not this one
    assert any("org/community-alignment" in w for w in plan.warnings)


def test_an_invalid_release_is_refused_before_any_upload(release, monkeypatch):
    hub = FakeHub(monkeypatch)
    (release / "notes.txt").write_text("scratch\n")
    with pytest.raises(BuildError) as caught:
        p.publish(release, "org/name", dry_run=False, load=False)
    assert "stray_files" in str(caught.value) and "notes.txt" in str(caught.value)
    assert "nothing was uploaded" in str(caught.value)
    assert hub.calls == []


def test_a_bad_repo_id_is_refused(built):
    with pytest.raises(BuildError, match="ORG/NAME"):
        p.publish(built, "no-slash", load=False)


def test_push_is_one_commit_of_the_whole_folder_then_a_tag(built, monkeypatch):
    hub = FakeHub(monkeypatch, remote=[".gitattributes", "README.md", "data/old/us.parquet"])
    plan = p.publish(built, "org/name", dry_run=False, token="hf_test", load=False)
    assert [name for name, _ in hub.calls] == [
        "create_repo",
        "list_repo_refs",
        "repo_info",
        "list_repo_files",
        "create_commit",
        "create_tag",
    ]
    for _, kwargs in hub.calls:
        assert kwargs["repo_id"] == "org/name" and kwargs["repo_type"] == "dataset"
    assert hub.named("create_repo")[0]["exist_ok"] is True
    (commit,) = hub.named("create_commit")
    added = {op.path_in_repo for op in commit["operations"] if hasattr(op, "path_or_fileobj")}
    deleted = {op.path_in_repo for op in commit["operations"] if not hasattr(op, "path_or_fileobj")}
    assert added == release_files(built)
    assert deleted == {"data/old/us.parquet"}  # stale file removed, .gitattributes kept
    assert commit["commit_message"] == f"Release {TAG}"
    assert commit["parent_commit"] == hub.named("list_repo_files")[0]["revision"] == "ab" * 20
    (tag,) = hub.named("create_tag")
    assert tag["tag"] == TAG and tag["revision"] == plan.commit
    assert not plan.dry_run and plan.render().startswith("Published")


def test_push_to_a_branch_with_a_chosen_tag(built, monkeypatch):
    hub = FakeHub(monkeypatch)
    p.publish(built, "org/name", revision="staging", tag="v0.1.0-rc1", dry_run=False, load=False)
    assert hub.named("create_branch")[0]["branch"] == "staging"
    assert hub.named("create_commit")[0]["revision"] == "staging"
    assert hub.named("create_tag")[0]["tag"] == "v0.1.0-rc1"


def test_an_existing_tag_is_never_moved(built, monkeypatch):
    hub = FakeHub(monkeypatch, tags=[TAG])
    with pytest.raises(BuildError, match=f"already has tag {TAG}"):
        p.publish(built, "org/name", dry_run=False, load=False)
    assert not hub.named("create_commit") and not hub.named("create_tag")


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    p.register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["publish", *argv])
    return args.run(args)


def test_cli_is_a_dry_run_unless_push(built, monkeypatch, capsys):
    seen = []
    real = p.publish
    monkeypatch.setattr(p, "publish", lambda *a, **k: seen.append(k) or real(*a, **k, load=False))
    hub = FakeHub(monkeypatch)
    assert run_cli(str(built), "--repo-id", "org/name") == 0
    assert "Dry run" in capsys.readouterr().out and hub.calls == []
    assert run_cli(str(built), "--repo-id", "org/name", "--push", "--tag", "v9") == 0
    assert seen[-1]["dry_run"] is False and hub.named("create_tag")[0]["tag"] == "v9"


def test_cli_reports_a_refusal(release, monkeypatch, capsys):
    real = p.publish
    monkeypatch.setattr(p, "publish", lambda *a, **k: real(*a, **k, load=False))
    (release / "manifest.json").write_text(json.dumps({"files": {}}))
    assert run_cli(str(release), "--repo-id", "org/name", "--push") == 1
    assert "publish refused" in capsys.readouterr().out


def test_the_example_workflow_builds_validates_and_publishes_on_tags():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers["push"]["tags"] == ["v*"] and "pull_request" in triggers
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "python -m builder build" in runs and "python -m builder validate release" in runs
    assert any(s.get("uses", "").startswith("actions/cache") for s in build["steps"])
    assert publish["needs"] == "build"
    assert "refs/tags/v" in publish["if"]
    (push,) = [s for s in publish["steps"] if "builder publish" in s.get("run", "")]
    assert "--push" in push["run"] and push["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
