"""Find or download the raw file; record where it came from and its sha256.

``--source`` is a local path or ``hf://datasets/ORG/NAME[@REVISION][/PATH]``. Hub downloads go
through ``huggingface_hub`` at a pinned revision (the schema's, unless one is given), so the
same source always means the same bytes; ``HF_HUB_OFFLINE=1`` serves them from the cache.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from builder.errors import BuildError
from community_alignment import schema

HF_SOURCE = re.compile(
    r"^hf://datasets/(?P<repo>[^/@]+/[^/@]+)(?:@(?P<rev>[^/]+))?(?:/(?P<path>.+))?$"
)


@dataclass(frozen=True)
class Source:
    """A raw file on disk and its provenance, as recorded in the release manifest."""

    path: Path
    origin: str
    repo_id: str | None
    revision: str | None
    filename: str
    sha256: str
    size_bytes: int

    def provenance(self) -> dict:
        record = asdict(self)
        record.pop("path")
        return record


def sha256_of(path: Path, chunk_bytes: int = 8 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def default_filename(split: str = "default") -> str:
    return schema.load("raw")["source"]["layouts"]["v1.1"]["files"][split]


def resolve(
    source: str | Path, *, expected_sha256: str | None = None, cache_dir: str | None = None
) -> Source:
    """Turn ``--source`` into a local file, downloading from the Hub when asked."""
    text = str(source)
    match = HF_SOURCE.match(text)
    if match:
        repo_id = match["repo"]
        revision = match["rev"] or schema.load("raw")["source"]["revision"]
        filename = match["path"] or default_filename()
        path = _download(repo_id, revision, filename, cache_dir)
        origin = f"hf://datasets/{repo_id}@{revision}/{filename}"
    elif text.startswith("hf://"):
        raise BuildError(
            f"cannot read source {text!r}: expected hf://datasets/ORG/NAME[@REVISION][/PATH]"
        )
    else:
        path = Path(text)
        if not path.is_file():
            raise BuildError(f"source {path} does not exist or is not a file")
        repo_id, revision, filename, origin = None, None, path.name, path.name
    digest = sha256_of(path)
    if expected_sha256 and digest != expected_sha256.lower():
        raise BuildError(
            f"{origin}: sha256 is {digest}, expected {expected_sha256}; the file changed or is "
            "damaged: download it again or update the expected checksum"
        )
    return Source(
        path=path,
        origin=origin,
        repo_id=repo_id,
        revision=revision,
        filename=filename,
        sha256=digest,
        size_bytes=path.stat().st_size,
    )


def _download(repo_id: str, revision: str, filename: str, cache_dir: str | None) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(
            hf_hub_download(
                repo_id=repo_id,
                filename=filename,
                repo_type="dataset",
                revision=revision,
                cache_dir=cache_dir,
            )
        )
    except LocalEntryNotFoundError as error:
        raise BuildError(
            f"cannot get {filename} of dataset {repo_id} at revision {revision}: not in the cache "
            f"and the Hub cannot be reached ({error}). Check the network or HF_HUB_OFFLINE, or "
            "pass a local path as --source."
        ) from error
    except Exception as error:  # EntryNotFound, RevisionNotFound, HTTP errors
        raise BuildError(
            f"cannot download {filename} of dataset {repo_id} at revision {revision}: {error}"
        ) from error
