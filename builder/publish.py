"""Publish a release folder to the Hugging Face Hub: validate, upload in one commit, tag.

``publish(release, "ORG/NAME")`` refuses a release that does not validate. By default it is a
dry run: it returns (and the CLI prints) the plan, every file with its size, the total and the
card's YAML head, and uploads nothing. With ``dry_run=False`` it creates the dataset repo if
needed, commits the whole folder in a single commit (files no longer in the release are deleted
in that same commit, ``.gitattributes`` kept) and tags that commit ``v<release_version>`` (the release's own version, schema/versions.yaml).

``python -m builder publish DIR --repo-id ORG/NAME [--revision BRANCH] [--tag TAG] [--push]``
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from builder.errors import BuildError
from builder.validate import MANIFEST, README, ValidationReport, validate

REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
KEEP_REMOTE = (".gitattributes",)  # the Hub's own file; never deleted


@dataclass
class PublishPlan:
    """What a publish uploads (or would upload, in a dry run)."""

    release: Path
    repo_id: str
    revision: str | None
    tag: str
    files: list[tuple[str, int]]  # (path in the repo, bytes)
    card_head: str
    dry_run: bool = True
    warnings: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # remote files the commit removes
    commit: str | None = None  # the commit's id once pushed
    commit_url: str | None = None

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)

    def render(self) -> str:
        where = f"hf://datasets/{self.repo_id}" + (f"@{self.revision}" if self.revision else "")
        if self.dry_run:
            head = (
                f"Dry run: would upload {len(self.files)} files ({_size(self.total_bytes)}) "
                f"from {self.release} to {where} in one commit, then tag it {self.tag}. "
                "Nothing was uploaded; pass --push to publish."
            )
        else:
            head = (
                f"Published {len(self.files)} files ({_size(self.total_bytes)}) to {where} "
                f"in commit {self.commit}, tagged {self.tag}."
            )
        width = len(_size(self.total_bytes))
        lines = [head, ""]
        lines += [f"  {_size(size):>{width}}  {path}" for path, size in self.files]
        lines += [f"  {_size(self.total_bytes):>{width}}  total"]
        if self.deleted:
            lines += ["", "Deleted from the repo (not in this release):"]
            lines += [f"  {path}" for path in self.deleted]
        lines += ["", "Card YAML head:", self.card_head.rstrip()]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


def _size(count: float) -> str:
    """Bytes for people: 812 B, 15.3 kB, 1.2 GB."""
    if count < 1000:
        return f"{int(count)} B"
    for unit in ("kB", "MB", "GB", "TB"):
        count /= 1000
        if count < 1000 or unit == "TB":
            return f"{count:.1f} {unit}"
    raise AssertionError("unreachable")


def card_head(release: Path) -> str:
    """The card's YAML front matter, with configs summarised and dataset_info left out."""
    text = (release / README).read_text(encoding="utf-8")
    _, front, _ = text.split("---\n", 2)
    lines = []
    for line in front.splitlines():
        if line.startswith(("configs:", "dataset_info:")):
            break
        lines.append(line)
    configs = yaml.safe_load(front).get("configs") or []
    lines.append(f"configs:  # {len(configs)} configs, * = default; splits")
    for entry in configs:
        splits = ", ".join(str(f.get("split")) for f in entry.get("data_files") or [])
        star = "*" if entry.get("default") else ""
        lines.append(f"  {entry.get('config_name')}{star}: {splits}")
    lines.append("dataset_info: ...  # features and split sizes of every config")
    return "---\n" + "\n".join(lines) + "\n---\n"


def plan_release(
    release: Path, repo_id: str, *, revision: str | None = None, tag: str | None = None
) -> PublishPlan:
    manifest = json.loads((release / MANIFEST).read_text(encoding="utf-8"))
    tag = tag or f"v{manifest['release_version']}"
    files = sorted(
        (p.relative_to(release).as_posix(), p.stat().st_size)
        for p in release.rglob("*")
        if p.is_file()
    )
    plan = PublishPlan(release, repo_id, revision, tag, files, card_head(release))
    readme = (release / README).read_text(encoding="utf-8")
    named = set(re.findall(r'load_dataset\("([^"]+)"', readme))
    if named and named != {repo_id}:
        plan.warnings.append(
            f"the card's examples load {sorted(named)}, not {repo_id}: rebuild the card for "
            "this repo"
        )
    return plan


def _refusal(report: ValidationReport) -> str:
    lines = [f"{report.release} does not validate, so nothing was uploaded:"]
    lines += [f"  {r.check}: {r.message}" for r in report.failed]
    lines.append(f"Run `python -m builder validate {report.release}` for the full report.")
    return "\n".join(lines)


def publish(
    release_dir: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    tag: str | None = None,
    dry_run: bool = True,
    token: str | None = None,
    load: bool = True,
    iw_labels: str | Path | None = None,
) -> PublishPlan:
    """Validate, then (unless ``dry_run``) upload the folder in one commit and tag it.

    ``load=False`` skips the validator's load_dataset check (tests; never for a real push).
    ``iw_labels`` are the labels the build was given, for a card with IW summaries.
    """
    release = Path(release_dir)
    if not REPO_ID.match(repo_id):
        raise BuildError(f"repo id {repo_id!r} is not ORG/NAME")
    report = validate(release, load=load, iw_labels=iw_labels)
    if not report.ok:
        raise BuildError(_refusal(report))
    plan = plan_release(release, repo_id, revision=revision, tag=tag)
    plan.dry_run = dry_run
    if dry_run:
        return plan
    _push(plan, token)
    return plan


def _push(plan: PublishPlan, token: str | None) -> None:
    """One commit with every file of the release (and deletions of files it no longer has).

    ``HfApi.upload_folder`` may split a large upload into several commits (``hf_xet``'s
    pipelined upload batches by file count and time), so the commit is made with
    ``create_commit``, which is atomic: readers see the old release or the new one, never half.
    The commit names the head it was planned on (``parent_commit``), so a push by someone else in
    between is refused by the Hub instead of leaving its files beside the release.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    repo = {"repo_id": plan.repo_id, "repo_type": "dataset"}
    api.create_repo(**repo, exist_ok=True)
    tags = {t.name for t in api.list_repo_refs(**repo).tags}
    if plan.tag in tags:
        raise BuildError(
            f"{plan.repo_id} already has tag {plan.tag}; nothing was uploaded. A published "
            "version is never moved: bump the builder version or pass another --tag"
        )
    if plan.revision and plan.revision != "main":
        api.create_branch(**repo, branch=plan.revision, exist_ok=True)
    ours = {path for path, _ in plan.files}
    head = api.repo_info(**repo, revision=plan.revision).sha
    remote = api.list_repo_files(**repo, revision=head)
    plan.deleted = sorted(p for p in remote if p not in ours and p not in KEEP_REMOTE)
    operations: list[Any] = [CommitOperationDelete(path_in_repo=p) for p in plan.deleted]
    operations += [
        CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(plan.release / path))
        for path, _ in plan.files
    ]
    try:
        info = api.create_commit(
            **repo,
            operations=operations,
            commit_message=f"Release {plan.tag}",
            commit_description=(
                f"{len(plan.files)} files, {_size(plan.total_bytes)}; built by the "
                "community-alignment builder and validated before upload."
            ),
            revision=plan.revision,
            parent_commit=head,
        )
    except HfHubHTTPError as error:
        if error.response is None or error.response.status_code not in (409, 412):
            raise
        raise BuildError(
            f"{plan.repo_id} changed while this release was being published (its branch is no "
            f"longer at {head}); nothing was committed or tagged. Run publish again."
        ) from error
    plan.commit, plan.commit_url = info.oid, info.commit_url
    api.create_tag(**repo, tag=plan.tag, revision=info.oid, tag_message=f"Release {plan.tag}")


def _run_cli(args: argparse.Namespace) -> int:
    try:
        plan = publish(
            args.release,
            args.repo_id,
            revision=args.revision,
            tag=args.tag,
            dry_run=not args.push,
            iw_labels=args.iw_labels,
        )
    except BuildError as error:
        print(f"publish refused: {error}")
        return 1
    print(plan.render(), end="")
    return 0


def register_cli(commands: Any) -> argparse.ArgumentParser:
    """Add ``publish DIR --repo-id ORG/NAME [--revision] [--tag] [--push]`` to the CLI."""
    parser = commands.add_parser(
        "publish",
        help="validate a release and upload it to the Hub (a dry run unless --push)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("release", metavar="DIR", help="the release folder to publish")
    parser.add_argument("--repo-id", required=True, metavar="ORG/NAME", help="Hub dataset repo")
    parser.add_argument("--revision", metavar="BRANCH", help="branch to commit to (default main)")
    parser.add_argument(
        "--tag", help="tag for the commit (default v<release_version> from the manifest)"
    )
    parser.add_argument(
        "--push", action="store_true", help="really upload (uses HF_TOKEN or your saved login)"
    )
    parser.add_argument(
        "--iw-labels",
        metavar="FILE",
        help="the IW labels the build was given (needed when the card shows IW summaries)",
    )
    parser.set_defaults(run=_run_cli)
    return parser
