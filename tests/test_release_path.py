"""The whole release path, end to end, through a Hub on this machine (tests/hub_server.py).

The example CI workflow's own steps (builder/ci/release.yml: build from the raw file on the Hub,
validate, check the tag, publish) run here as written, in bash, with ``HF_ENDPOINT`` pointing at
the test Hub; then the published release is read back the ways users read it (``builder
validate hf://...@TAG``, ``datasets.load_dataset("ORG/NAME", config)``, ``community-alignment
describe`` / ``agreement`` on ``hf://``) and compared with the local folder. A corrected build
is pushed as a new version, and a release that fails validation is refused before any request.
Every client runs in a subprocess, as users run it: ``huggingface_hub`` and ``datasets`` read
``HF_ENDPOINT`` when they are imported.

What cannot run against a local server, and what runs instead:

- polars' native ``hf://`` reader builds ``https://huggingface.co`` URLs itself and accepts
  https only. ``community_alignment.scan`` therefore lists an ``hf://`` glob with
  ``huggingface_hub`` whenever ``HF_ENDPOINT`` names another Hub, and polars reads the files'
  resolve URLs: that path is tested here; polars' own reader (used for huggingface.co) is not.
- Parquet and PNG files go to the real Hub through Xet (or LFS); this server takes every file
  inline in the commit (its docstring says so), so the upload transport is not exercised.
- actionlint does not install here (see ``lint_workflow``); the workflow is checked against
  GitHub's workflow schema with check-jsonschema instead.
- The raw source's pinned revision (``schema/raw.yaml``) is a commit id of the real Hub, which
  this server cannot mint: the build names the test Hub's commit id explicitly
  (``hf://datasets/ORG/NAME@REV/FILE``), which is the same download code at a pinned revision.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from huggingface_hub import CommitOperationAdd, HfApi

from builder.build import build
from builder.card import release_version
from builder.release import file_sha256
from tests.hub_server import HubServer

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "builder" / "ci" / "release.yml"
SAMPLE = ROOT / "builder" / "sample" / "community_alignment_sample.csv"
VERSION = release_version()
TAG = f"v{VERSION}"
# Steps of the workflow that this test does not run, and why; every other `run:` step runs.
NOT_RUN = {
    "Install": "the test runs in the installed environment",
    "Test the builder": "this test is part of that suite",
}

# Loads a release's configs (those named after the local folder's path, else every config of its
# card) from the Hub and from the local folder, and the default config's splits one at a time
# from the Hub; prints rows per split and what differs.
LOAD_BOTH = """
import json, sys
import datasets, yaml
datasets.disable_progress_bars()
repo, revision, local, *names = sys.argv[1:]
front = open(f"{local}/README.md", encoding="utf-8").read().split("---\\n")[1]
rows, differ = {}, []
for name in names or [entry["config_name"] for entry in yaml.safe_load(front)["configs"]]:
    hub = datasets.load_dataset(repo, name, revision=revision, verification_mode="all_checks")
    here = datasets.load_dataset(local, name, verification_mode="all_checks")
    rows[name] = {split: hub[split].num_rows for split in hub}
    if set(hub) != set(here):
        differ.append(f"{name}: splits {sorted(hub)} vs {sorted(here)}")
    differ += [f"{name}/{s}" for s in here if s in hub and not hub[s].data.table.equals(here[s].data.table)]
    if name == "comparisons":  # one split at a time, as the card shows
        for s in hub:
            one = datasets.load_dataset(repo, name, split=s, revision=revision, verification_mode="all_checks")
            differ += [f"{name} split={s}"] if not one.data.table.equals(hub[s].data.table) else []
print(json.dumps({"rows": rows, "differ": differ}))
"""

# Runs `community-alignment describe --json` and `agreement --json` on each source.
STATISTICS = """
import contextlib, io, json, sys
from community_alignment.cli import main
out = {}
for source in sys.argv[1:]:
    for command in (["describe", source, "--json"],
                    ["agreement", source, "--by", "country", "--resamples", "100", "--json"]):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main(command)
        result = json.loads(printed.getvalue())
        result.pop("source", None)
        out.setdefault(source, {})[command[0]] = {"exit": code, "result": result}
print(json.dumps(out))
"""


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def run_steps() -> dict[str, dict]:
    """The workflow's `run:` steps by name, across jobs, in order."""
    return {s["name"]: s for job in workflow()["jobs"].values() for s in job["steps"] if "run" in s}


@pytest.fixture(scope="module")
def hub():
    # a small page, so the clients follow the tree listing's pagination as on a large repo
    with HubServer(page_size=7) as server:
        yield server


@pytest.fixture(scope="module")
def env(hub, tmp_path_factory) -> dict[str, str]:
    """The environment of every command: the test Hub, a token, a fresh cache; no offline mode."""
    home = tmp_path_factory.mktemp("hf-home")
    base = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    return base | {
        "HF_ENDPOINT": hub.endpoint,
        "HF_TOKEN": "hf_test",
        "HF_HOME": str(home),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def python(*args: str, env: dict, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def start(*args: str, env: dict, cwd: Path = ROOT) -> subprocess.Popen:
    """A command started in the background, for readers that can run side by side."""
    pipe = subprocess.PIPE
    return subprocess.Popen(
        [sys.executable, *args], env=env, cwd=cwd, stdout=pipe, stderr=pipe, text=True
    )


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, (
        f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def run_step(step: dict, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    """One `run:` step in bash as GitHub runs it: -e, and pipefail with `shell: bash`. A step's
    env entries that are expressions (the token secret) come from ``env`` instead."""
    assert "${{" not in step["run"], "a run: line with an expression cannot run outside Actions"
    flags = ["-eo", "pipefail"] if step.get("shell") == "bash" else ["-e"]
    return subprocess.run(
        ["bash", "--noprofile", "--norc", *flags, "-c", step["run"]],
        env=env | {k: str(v) for k, v in step.get("env", {}).items() if "${{" not in str(v)},
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def raw(hub) -> tuple[str, str]:
    """The sample raw file on the test Hub, in the repo the workflow names: (repo, commit)."""
    repo = workflow()["env"]["RAW_SOURCE"].removeprefix("hf://datasets/")
    api = HfApi(endpoint=hub.endpoint, token="hf_test")
    api.create_repo(repo, repo_type="dataset")
    add = CommitOperationAdd(path_in_repo="community_alignment.csv", path_or_fileobj=str(SAMPLE))
    info = api.create_commit(repo, [add], commit_message="v1.1", repo_type="dataset")
    return repo, info.oid


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Path:
    """The same raw file built from a local path."""
    return build(SAMPLE, tmp_path_factory.mktemp("local") / "release").release


@pytest.fixture(scope="module")
def ci(hub, env, raw, corrected, tmp_path_factory):
    """The workflow's steps, in order, in a fresh folder: (folder, {step name: (result, requests
    sent)}). The corrected build runs beside them."""
    repo, revision = raw
    folder = tmp_path_factory.mktemp("ci")
    names = workflow()["env"] | {
        "RAW_SOURCE": f"hf://datasets/{repo}@{revision}/community_alignment.csv",
        "GITHUB_REF_NAME": TAG,
    }
    results = {}
    for name, step in run_steps().items():
        if name in NOT_RUN:
            continue
        before = len(hub.requests)
        done = run_step(step, env | {k: str(v) for k, v in names.items()}, folder)
        ok(done)
        results[name] = (done, hub.requests[before:])
    return folder, results


@pytest.fixture(scope="module")
def published(ci) -> tuple[str, Path]:
    folder, _ = ci
    return workflow()["env"]["HF_REPO_ID"], folder / "release"


@pytest.fixture(scope="module")
def read_back(published, env, local, tmp_path_factory) -> dict:
    """The published release read back the ways users read it, the readers side by side; beside
    them, a push of an invalid release to a Hub of its own: {name: result} and the requests that
    Hub received."""
    repo_id, _ = published
    remote = f"hf://datasets/{repo_id}"
    invalid = shutil.copytree(local, tmp_path_factory.mktemp("invalid") / "release")
    (invalid / "notes.txt").write_text("scratch\n")
    with HubServer() as elsewhere:
        running = {
            "validate": start("-m", "builder", "validate", f"{remote}@{TAG}", env=env),
            "load": start("-c", LOAD_BOTH, repo_id, TAG, str(local), env=env),
            "statistics": start("-c", STATISTICS, remote, str(local), env=env),
            "invalid push": start("-m", "builder", "publish", str(invalid), "--repo-id", repo_id,
                                  "--push", env=env | {"HF_ENDPOINT": elsewhere.endpoint}),
        }  # fmt: skip
        done = {name: finish(process) for name, process in running.items()}
        return done | {"invalid push requests": list(elsewhere.requests)}


def test_every_run_step_of_the_workflow_runs_here_or_is_excused():
    steps = run_steps()
    assert set(NOT_RUN) <= set(steps)
    run = [n for n in steps if n not in NOT_RUN]
    assert run == [
        "Build the release",
        "Validate the release",
        "Check the tag names the builder version",
        "Publish",
    ]


def lint_workflow(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema against the GitHub workflow schema it ships (SchemaStore's), offline.

    actionlint, which also checks expressions and shell, does not install here: its PyPI wrapper
    downloads the binary from GitHub at install time."""
    lint = ["-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)]
    return python(*lint, env=dict(os.environ))


def test_the_workflow_passes_the_github_workflow_schema(tmp_path):
    assert "ok -- validation done" in ok(lint_workflow(WORKFLOW))
    broken = tmp_path / "release.yml"
    text = WORKFLOW.read_text(encoding="utf-8")
    broken.write_text(text.replace("timeout-minutes: 60", "timeout-minutes: an hour", 1))
    done = lint_workflow(broken)
    assert done.returncode == 1 and "an hour" in done.stdout


def test_ci_build_from_the_hub_records_the_same_sha256_as_a_local_build(ci, raw, local):
    folder, _ = ci
    repo, revision = raw
    source = json.loads((folder / "release" / "manifest.json").read_text())["source"]
    expected = json.loads((local / "manifest.json").read_text())["source"]["sha256"]
    assert source["sha256"] == expected == file_sha256(SAMPLE)
    assert (source["repo_id"], source["revision"]) == (repo, revision)
    assert source["origin"] == f"hf://datasets/{repo}@{revision}/community_alignment.csv"
    data = sorted(p.relative_to(local) for p in (local / "data").rglob("*.parquet"))
    assert data and all(
        (folder / "release" / p).read_bytes() == (local / p).read_bytes() for p in data
    )


def files_of(release: Path) -> dict[str, bytes]:
    return {
        p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()
    }


def test_publish_sends_one_commit_then_the_version_tag(ci, hub, published):
    _, results = ci
    repo_id, release = published
    _, sent = results["Publish"]
    writes = [(m, p) for m, p in sent if m == "POST" and "/preupload/" not in p]
    assert writes == [
        ("POST", "/api/repos/create"),
        ("POST", "/api/validate-yaml"),
        ("POST", f"/api/datasets/{repo_id}/commit/main"),
        ("POST", f"/api/datasets/{repo_id}/tag/{hub.hub.repos[repo_id].tags[TAG]}"),
    ]
    repo = hub.hub.repos[repo_id]
    commit = repo.commits[repo.tags[TAG]]
    assert repo.branches["main"] == commit.oid and len(repo.commits) == 2  # the Hub's first + ours
    assert {k: v for k, v in commit.files.items() if k != ".gitattributes"} == files_of(release)
    assert "tagged " + TAG in results["Publish"][0].stdout


def test_validate_of_the_published_tag_passes(published, read_back):
    repo_id, _ = published
    out = ok(read_back["validate"])
    assert out.startswith(f"Release hf://datasets/{repo_id}@{TAG}: valid")


def test_load_dataset_of_every_config_and_split_equals_the_local_folder(published, read_back):
    _, release = published
    loaded = json.loads(ok(read_back["load"]))
    assert loaded["differ"] == []
    front = (release / "README.md").read_text(encoding="utf-8").split("---\n")[1]
    card = {
        c["config_name"]: sorted(f["split"] for f in c["data_files"])
        for c in yaml.safe_load(front)["configs"]
    }
    assert {name: sorted(splits) for name, splits in loaded["rows"].items()} == card
    assert all(n > 0 for splits in loaded["rows"].values() for n in splits.values())


def test_describe_and_agreement_on_hf_equal_the_local_folder(published, read_back, local):
    repo_id, _ = published
    remote = f"hf://datasets/{repo_id}"
    out = json.loads(ok(read_back["statistics"]))
    for command in ("describe", "agreement"):
        assert out[remote][command]["exit"] == 0
        assert out[remote][command]["result"] == out[str(local)][command]["result"]
    assert out[remote]["describe"]["result"]["comparisons"] > 0


def corrected_project(folder: Path, version: str) -> Path:
    """A copy of the project whose schema/versions.yaml has ``version`` on top, as a maintainer
    adds it before building a corrected release."""
    skip = shutil.ignore_patterns("__pycache__", "sample")
    for name in ("builder", "community_alignment", "schema"):
        shutil.copytree(ROOT / name, folder / name, ignore=skip)
    shutil.copy(ROOT / "dataset_card.md", folder / "dataset_card.md")
    versions = folder / "schema" / "versions.yaml"
    entry = (
        f'  - version: {version}\n    date: "2026-12-03"\n    changes:\n'
        "      - Italy's conversations are withdrawn.\n"
    )
    versions.write_text(versions.read_text().replace("versions:\n", "versions:\n" + entry, 1))
    return folder


def corrected_raw(path: Path) -> Path:
    """The sample raw file without Italy's conversations (withdrawn, say): the corrected release
    has no `it` split or config, so publishing it must delete files."""
    with open(SAMPLE, encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    with open(path, "w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(r for r in rows if r["annotator_country"] != "italy")
    return path


@pytest.fixture(scope="module")
def corrected(env, tmp_path_factory):
    """A corrected build, the next patch version, from its own checkout; it needs no Hub, so it
    starts at once and runs beside the first release's steps: (version, checkout, env, build)."""
    major, minor, patch = VERSION.split(".")
    version = f"{major}.{minor}.{int(patch) + 1}"
    folder = tmp_path_factory.mktemp("v2")
    project = corrected_project(folder / "project", version)
    there = env | {"PYTHONPATH": str(project)}
    raw = corrected_raw(folder / "community_alignment.csv")
    out = str(project / "release")
    return version, project, there, start("-m", "builder", "build", "--source", str(raw),
                                          "--out", out, env=there, cwd=project)  # fmt: skip


@pytest.fixture(scope="module")
def second(published, corrected, hub):
    """The corrected build published: (version, release folder, requests the publish sent)."""
    repo_id, _ = published
    version, project, there, building = corrected
    ok(finish(building))
    before = len(hub.requests)
    ok(python("-m", "builder", "publish", "release", "--repo-id", repo_id, "--push",
              env=there, cwd=project))  # fmt: skip
    return version, project / "release", hub.requests[before:]


def test_a_corrected_version_leaves_the_first_loadable_at_its_tag(
    published, second, hub, env, local
):
    repo_id, first = published
    version, release, sent = second
    repo = hub.hub.repos[repo_id]
    assert set(repo.tags) == {TAG, f"v{version}"} and len(repo.commits) == 3
    assert repo.branches["main"] == repo.tags[f"v{version}"] != repo.tags[TAG]
    assert sum(1 for m, p in sent if m == "POST" and "/commit/" in p) == 1
    old, new = (repo.commits[repo.tags[t]].files for t in (TAG, f"v{version}"))
    assert old == {".gitattributes": old[".gitattributes"], **files_of(first)}
    # one commit replaced the release: Italy's files are gone from main, kept at the first tag
    assert new == {".gitattributes": old[".gitattributes"], **files_of(release)}
    assert any("/it/" in p or "/it-" in p for p in set(old) - set(new))
    remote = f"hf://datasets/{repo_id}"
    at_first = start("-c", LOAD_BOTH, repo_id, TAG, str(local), "comparisons", env=env)
    at_main = start("-c", LOAD_BOTH, repo_id, "main", str(release), "comparisons", env=env)
    stats = start("-c", STATISTICS, f"{remote}@{TAG}", str(local), remote, str(release), env=env)
    loaded, newer, numbers = (json.loads(ok(finish(p))) for p in (at_first, at_main, stats))
    assert loaded["differ"] == [] and newer["differ"] == []
    assert "it" in loaded["rows"]["comparisons"] and "it" not in newer["rows"]["comparisons"]
    assert numbers[f"{remote}@{TAG}"] == numbers[str(local)]
    assert numbers[remote] == numbers[str(release)] != numbers[str(local)]


def test_a_release_that_fails_validation_is_refused_before_any_request(read_back):
    done = read_back["invalid push"]
    assert done.returncode == 1
    assert "publish refused" in done.stdout and "notes.txt" in done.stdout
    assert read_back["invalid push requests"] == []
