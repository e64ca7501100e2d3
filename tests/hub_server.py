"""A small Hugging Face Hub for the tests: dataset repos over HTTP on 127.0.0.1, in memory.

It serves the part of the Hub's HTTP API that ``huggingface_hub`` (HfApi, hf_hub_download,
snapshot_download, HfFileSystem) and ``datasets`` use to publish, list and read a dataset repo.
Point a client at it with ``HF_ENDPOINT=<server.endpoint>``, set before ``huggingface_hub`` or
``datasets`` is imported (both read it into constants at import time).

Served (``{repo}`` is ``ORG/NAME``; ``{rev}`` a branch, a tag or a full commit id, percent-encoded
as one path segment, as the clients send it):

- ``POST /api/repos/create``: a new repo with one commit holding ``.gitattributes``, like the
  Hub's; 409 when it exists, naming the repo's URL as the Hub does (``create_repo(exist_ok=True)``
  reads it).
- ``GET /api/datasets/{repo}`` and ``.../revision/{rev}``: repo info (``sha``, ``siblings``,
  ``cardData``; sizes and blob ids with ``?blobs=true``).
- ``GET /api/datasets/{repo}/refs``: branches and tags.
- ``GET /api/datasets/{repo}/tree/{rev}[/{path}]``: a folder's entries (``?recursive=true``:
  everything below it), paginated with a ``Link: <...>; rel="next"`` header like the Hub's.
- ``POST /api/datasets/{repo}/paths-info/{rev}``: entries for the form field ``paths``.
- ``POST /api/datasets/{repo}/preupload/{rev}``: upload mode and current blob id of each file.
- ``POST /api/datasets/{repo}/commit/{rev}``: an NDJSON commit (``header``, ``file``,
  ``deletedFile``, ``deletedFolder``), atomic; 412 when ``parentCommit`` is not the branch's head,
  as on the Hub (``datasets`` retries on that status).
- ``POST /api/datasets/{repo}/tag/{rev}`` and ``.../branch/{name}``: 409 when the ref exists.
- ``POST /api/validate-yaml``: the card's front matter must parse as a YAML mapping.
- ``GET|HEAD /datasets/{repo}/resolve/{rev}/{path}``: the file, with ``ETag`` (the git blob id),
  ``X-Repo-Commit``, ``Content-Length`` and single ``Range`` requests (206 / 416).

Errors carry the ``X-Error-Code`` header the clients turn into exceptions (``RepoNotFound``,
``RevisionNotFound``, ``EntryNotFound``). Every request is recorded in ``server.requests``.

Where it differs from the real Hub:

- Looser: ``preupload`` answers ``regular`` for every file, so every file is committed inline
  (base64 in the NDJSON). The real Hub answers ``lfs`` for binary files (Parquet, PNG) and for
  anything over 10 MB, and the client then uploads them through Xet or LFS, which this server
  does not serve: that transport is not exercised here. ``lfsFile`` commit lines are refused.
- Looser: any ``Authorization: Bearer ...`` token may write to any repo; no private or gated
  repos; ``validate-yaml`` checks only that the front matter parses (the real Hub also checks
  ``configs``, ``dataset_info`` and known metadata fields); ``expand`` is ignored (no
  ``lastCommit`` or security status in listings); only dataset repos.
- Stricter: a write without a token is refused (401) rather than attributed to a user;
  ``create_repo`` needs an ``ORG/NAME`` id; a revision is a branch, a tag or a full 40-digit commit
  id (the real Hub also takes ``refs/...`` names and short ids); no pull requests
  (``create_pr``), no ``refs/convert/parquet`` (so no Parquet-converted view) and no dataset viewer.
- Same as the real Hub, checked against the clients' code: missing repos answer 401
  ``RepoNotFound`` (the Hub does not reveal private repos), commits to a tag or a commit id are
  refused, an unchanged file keeps its blob id so the client drops it from a commit.

Clients that ignore ``HF_ENDPOINT``: polars' native ``hf://`` reader builds
``https://huggingface.co/...`` URLs itself (and accepts https only), so ``pl.scan_parquet("hf://...")``
never reaches this server (``community_alignment.scan`` lists the files with ``huggingface_hub``
when another endpoint is set, and polars reads their resolve URLs, which it does over http).
DuckDB's ``hf://`` reader, which the card also shows, is not installed here and is not tested.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

import yaml

COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")
# The .gitattributes the Hub writes into a new dataset repo (abridged: the LFS patterns do not
# matter here, only that the file exists and is kept by publish).
GITATTRIBUTES = (
    b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n"
)
PAGE_SIZE = 1000  # the Hub's page size for tree listings without expand


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (what the Hub reports as a regular file's oid and ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    oid: str
    parent: str | None
    files: dict[str, bytes]
    title: str
    date: str


@dataclass
class Repo:
    repo_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        oid = self.branches.get(revision) or self.tags.get(revision)
        if oid is None and COMMIT_ID.match(revision):
            oid = revision
        return self.commits.get(oid) if oid else None

    def add_commit(self, parent: Commit | None, files: dict[str, bytes], title: str) -> Commit:
        date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        seed = json.dumps(
            [parent.oid if parent else None, sorted(files), title, date, len(self.commits)]
        )
        oid = hashlib.sha1(seed.encode()).hexdigest()
        commit = Commit(oid, parent.oid if parent else None, files, title, date)
        self.commits[oid] = commit
        return commit


class HubError(Exception):
    """An HTTP error answer: status, the X-Error-Code header (if any) and a message."""

    def __init__(
        self, status: int, message: str, code: str | None = None, commit: str | None = None, **body
    ):
        super().__init__(message)
        self.status, self.code, self.commit, self.body = status, code, commit, body


def entries(commit: Commit, folder: str, *, recursive: bool) -> list[dict]:
    """Tree entries under ``folder`` ("" for the root): folders first, then files, by path."""
    prefix = f"{folder}/" if folder else ""
    folders: set[str] = set()
    files = []
    for path in commit.files:
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        for depth in range(1, len(parts) if recursive else min(2, len(parts))):
            folders.add(prefix + "/".join(parts[:depth]))
        if recursive or len(parts) == 1:
            files.append(file_entry(path, commit.files[path]))
    if folder and not files and not folders:
        raise HubError(404, f"{folder} does not exist at {commit.oid}", "EntryNotFound", commit.oid)
    listed = [folder_entry(commit, f) for f in sorted(folders)]
    return listed + sorted(files, key=lambda e: e["path"])


def file_entry(path: str, data: bytes) -> dict:
    return {"type": "file", "oid": blob_id(data), "size": len(data), "path": path}


def folder_entry(commit: Commit, folder: str) -> dict:
    inside = sorted((p, blob_id(d)) for p, d in commit.files.items() if p.startswith(folder + "/"))
    return {
        "type": "directory",
        "oid": hashlib.sha1(repr(inside).encode()).hexdigest(),
        "path": folder,
    }


class Hub:
    """The repos and their history; every method takes the lock (the server is threaded)."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.lock = threading.Lock()

    def repo(self, repo_id: str) -> Repo:
        if repo_id not in self.repos:
            raise HubError(401, f"Repository Not Found for datasets/{repo_id}", "RepoNotFound")
        return self.repos[repo_id]

    def commit_at(self, repo_id: str, revision: str) -> Commit:
        commit = self.repo(repo_id).resolve(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def create(self, repo_id: str, url: str) -> None:
        if repo_id in self.repos:  # the Hub's answer names the repo: create_repo(exist_ok) reads it
            raise HubError(409, "You already created this dataset repo", url=url)
        repo = Repo(repo_id)
        first = repo.add_commit(None, {".gitattributes": GITATTRIBUTES}, "initial commit")
        repo.branches["main"] = first.oid
        self.repos[repo_id] = repo

    def commit(self, repo_id: str, branch: str, lines: list[dict]) -> Commit:
        repo = self.repo(repo_id)
        if branch not in repo.branches:
            if repo.resolve(branch) is not None:
                raise HubError(400, f"Invalid rev id: {branch} is not a branch")
            raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "the first NDJSON line must be the commit header")
        header = lines[0]["value"]
        head = repo.commits[repo.branches[branch]]
        parent = header.get("parentCommit")
        if parent and not head.oid.startswith(parent):
            raise HubError(
                412, f"A commit has happened since {parent}: the branch is at {head.oid}"
            )
        files = dict(head.files)
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value") or {}
            path = value.get("path", "")
            if (
                not path
                or path.startswith("/")
                or ".." in path.split("/")
                or path.startswith(".git/")
            ):
                raise HubError(400, f"invalid path {path!r}")
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, f"{path}: only base64 content is accepted")
                files[path] = base64.b64decode(value["content"], validate=True)
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise HubError(
                        404, f"A file with this name doesn't exist: {path}", "EntryNotFound"
                    )
            elif key == "deletedFolder":
                inside = [p for p in files if p.startswith(path.rstrip("/") + "/")]
                if not inside:
                    raise HubError(
                        404, f"A folder with this name doesn't exist: {path}", "EntryNotFound"
                    )
                for p in inside:
                    del files[p]
            elif key == "lfsFile":
                raise HubError(
                    400, f"{path}: this server stores regular files only (no LFS or Xet)"
                )
            else:
                raise HubError(400, f"unknown commit operation {key!r}")
        commit = repo.add_commit(head, files, header.get("summary") or "")
        repo.branches[branch] = commit.oid
        return commit

    def create_ref(self, repo_id: str, kind: str, name: str, revision: str) -> None:
        repo = self.repo(repo_id)
        refs = repo.tags if kind == "tag" else repo.branches
        if name in refs:
            raise HubError(409, f"{kind} {name} already exists")
        refs[name] = self.commit_at(repo_id, revision).oid


class HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' connection pools expect
    # Headers and body go out in two writes: with Nagle's algorithm on, each answer on a kept-alive
    # connection waits for the client's delayed ACK (40 ms), which made a publish take seconds.
    disable_nagle_algorithm = True
    server: HubServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # the tests read server.requests instead

    # --- plumbing -------------------------------------------------------------------------

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().strip() or b"0", 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(
        self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False
    ) -> None:
        self.send_response(status)
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            **(headers or {}),
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, value, status: int = 200, headers: dict | None = None) -> None:
        self._send(status, json.dumps(value).encode(), headers)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        segments = [unquote(s) for s in url.path.split("/")[1:]]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = self._body() if method == "POST" else b""
        self.server.requests.append((method, self.path))
        try:
            with self.server.hub.lock:
                self._route(method, segments, query, body)
        except HubError as error:
            headers = {"X-Error-Message": str(error)}
            if error.code:
                headers["X-Error-Code"] = error.code
            if error.commit:
                headers["X-Repo-Commit"] = error.commit
            self._send(
                error.status,
                json.dumps({"error": str(error), **error.body}).encode(),
                headers,
                method == "HEAD",
            )

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _need_token(self) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            raise HubError(
                401, "Invalid credentials in Authorization header: a write needs a token"
            )

    # --- routes -----------------------------------------------------------------------------

    def _route(self, method: str, seg: list[str], query: dict, body: bytes) -> None:
        hub = self.server.hub
        if seg[:2] == ["api", "repos"] and seg[2:] == ["create"] and method == "POST":
            self._need_token()
            payload = json.loads(body)
            if payload.get("type") != "dataset" or not payload.get("organization"):
                raise HubError(400, "this server holds dataset repos named ORG/NAME only")
            repo_id = f"{payload['organization']}/{payload['name']}"
            url = f"{self.server.endpoint}/datasets/{repo_id}"
            hub.create(repo_id, url)
            return self._json({"url": url, "name": repo_id})
        if seg == ["api", "validate-yaml"] and method == "POST":
            return self._validate_yaml(json.loads(body)["content"])
        if seg[:2] == ["api", "datasets"] and len(seg) >= 4:
            return self._api(method, f"{seg[2]}/{seg[3]}", seg[4:], query, body)
        if (
            seg[:1] == ["datasets"]
            and len(seg) >= 6
            and seg[3] == "resolve"
            and method in ("GET", "HEAD")
        ):
            commit = hub.commit_at(f"{seg[1]}/{seg[2]}", seg[4])
            return self._resolve(commit, "/".join(seg[5:]), head=method == "HEAD")
        raise HubError(404, f"{method} {self.path} is not served by this test Hub")

    def _api(self, method: str, repo_id: str, rest: list[str], query: dict, body: bytes) -> None:
        hub = self.server.hub
        action = rest[0] if rest else None
        if method == "GET" and action in (None, "revision"):
            commit = hub.commit_at(repo_id, rest[1] if rest else "main")
            return self._json(self._info(repo_id, commit, blobs=_true(query.get("blobs"))))
        if method == "GET" and action == "refs":
            repo = hub.repo(repo_id)
            return self._json(
                {
                    "branches": [_ref(n, "heads", o) for n, o in sorted(repo.branches.items())],
                    "converts": [],
                    "tags": [_ref(n, "tags", o) for n, o in sorted(repo.tags.items())],
                    "pullRequests": [],
                }
            )
        if len(rest) < 2:
            raise HubError(404, f"{method} {self.path} is not served by this test Hub")
        revision = rest[1]
        if method == "GET" and action == "tree":
            commit = hub.commit_at(repo_id, revision)
            listed = entries(
                commit, "/".join(rest[2:]).strip("/"), recursive=_true(query.get("recursive"))
            )
            return self._page(listed, int(query.get("cursor", 0)))
        if method == "POST" and action == "paths-info":
            commit = hub.commit_at(repo_id, revision)
            form = parse_qs(body.decode()) if body else {}
            found = []
            for path in form.get("paths", []):
                if path in commit.files:
                    found.append(file_entry(path, commit.files[path]))
                elif any(p.startswith(path.rstrip("/") + "/") for p in commit.files):
                    found.append(folder_entry(commit, path.rstrip("/")))
            return self._json(found)
        if method == "POST" and action == "preupload":
            if "create_pr" in query:
                raise HubError(400, "pull requests are not served by this test Hub")
            commit = hub.commit_at(repo_id, revision)
            files = [
                {
                    "path": f["path"],
                    "uploadMode": "regular",
                    "shouldIgnore": False,
                    "oid": blob_id(commit.files[f["path"]]) if f["path"] in commit.files else None,
                }
                for f in json.loads(body)["files"]
            ]
            return self._json({"files": files, "commitOid": commit.oid})
        if method == "POST" and action == "commit":
            self._need_token()
            if "create_pr" in query:
                raise HubError(400, "pull requests are not served by this test Hub")
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            commit = hub.commit(repo_id, revision, lines)
            url = f"{self.server.endpoint}/datasets/{repo_id}/commit/{commit.oid}"
            return self._json(
                {"success": True, "commitOid": commit.oid, "commitUrl": url, "pullRequestUrl": None}
            )
        if method == "POST" and action in ("tag", "branch"):
            self._need_token()
            payload = json.loads(body or b"{}")
            if action == "tag":
                hub.create_ref(repo_id, "tag", payload["tag"], revision)
            else:
                hub.create_ref(repo_id, "branch", revision, payload.get("startingPoint") or "main")
            return self._json({})
        raise HubError(404, f"{method} {self.path} is not served by this test Hub")

    def _info(self, repo_id: str, commit: Commit, *, blobs: bool) -> dict:
        siblings = []
        for path, data in sorted(commit.files.items()):
            sibling = {"rfilename": path}
            if blobs:
                sibling.update(size=len(data), blobId=blob_id(data))
            siblings.append(sibling)
        card = None
        readme = commit.files.get("README.md", b"").decode("utf-8", "replace")
        if readme.startswith("---\n"):
            card = yaml.safe_load(readme.split("---\n", 2)[1])
        first = min(self.server.hub.repo(repo_id).commits.values(), key=lambda c: c.date)
        return {
            "_id": repo_id,
            "id": repo_id,
            "author": repo_id.split("/")[0],
            "sha": commit.oid,
            "createdAt": first.date,
            "lastModified": commit.date,
            "private": False,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "cardData": card,
            "siblings": siblings,
            "usedStorage": sum(len(d) for d in commit.files.values()),
        }

    def _page(self, listed: list[dict], cursor: int) -> None:
        size = self.server.page_size
        headers = {}
        if cursor + size < len(listed):
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()} | {
                "cursor": str(cursor + size)
            }
            next_url = f"{self.server.endpoint}{url.path}?" + "&".join(
                f"{k}={quote(v)}" for k, v in query.items()
            )
            headers["Link"] = f'<{next_url}>; rel="next"'
        self._json(listed[cursor : cursor + size], headers=headers)

    def _validate_yaml(self, content: str) -> None:
        if not content.startswith("---\n"):
            return self._json(
                {"errors": [], "warnings": [{"message": "empty or missing yaml metadata"}]}
            )
        try:
            front = yaml.safe_load(content.split("---\n", 2)[1])
        except yaml.YAMLError as error:
            return self._json({"errors": [{"message": f"invalid YAML: {error}"}]}, status=400)
        if not isinstance(front, dict):
            return self._json(
                {"errors": [{"message": "the metadata is not a mapping"}]}, status=400
            )
        return self._json({"errors": [], "warnings": []})

    def _resolve(self, commit: Commit, path: str, *, head: bool) -> None:
        if path not in commit.files:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", commit.oid)
        data = commit.files[path]
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": f'"{blob_id(data)}"',
            "X-Repo-Commit": commit.oid,
            "Accept-Ranges": "bytes",
        }
        status, part = 200, data
        wanted = self.headers.get("Range")
        if wanted:
            span = _byte_range(wanted, len(data))
            if span is None:
                headers["Content-Range"] = f"bytes */{len(data)}"
                return self._send(416, b"", headers, head)
            start, end = span
            status, part = 206, data[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        self._send(status, part, {**headers, "Content-Length": str(len(part))}, head)


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


def _ref(name: str, kind: str, oid: str) -> dict:
    return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": oid}


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=a-b`` / ``a-`` / ``-n`` range; None if unsatisfiable."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else None


class HubServer(ThreadingHTTPServer):
    """The test Hub on 127.0.0.1 (a free port); ``with HubServer() as hub:`` runs it in a thread."""

    daemon_threads = True

    def __init__(self, *, page_size: int = PAGE_SIZE) -> None:
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.hub = Hub()
        self.page_size = page_size
        self.requests: list[tuple[str, str]] = []
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()
