"""Find or download the raw file, recognise its layout, record where it came from and its sha256.

``--source`` is a local file or folder, or ``hf://datasets/ORG/NAME[@REVISION][/PATH]``. Hub
downloads go through ``huggingface_hub`` at a pinned revision (the schema's, unless one is
given), so the same source always means the same bytes; ``HF_HUB_OFFLINE=1`` serves them from
the cache. Two public layouts exist (``schema/raw.yaml``): v1.1, one file, and v1.0, a ``full``
file (which may have missing middle turns) and a ``filtered`` one; ``split`` picks between
v1.0's files.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath

from builder.errors import BuildError
from builder.release import file_sha256
from community_alignment import schema

HF_SOURCE = re.compile(
    r"^hf://datasets/(?P<repo>[^/@]+/[^/@]+)(?:@(?P<rev>[^/]+))?(?:/(?P<path>.+))?$"
)
SPLITS = ("full", "filtered")


@dataclass(frozen=True)
class Source:
    """A raw file on disk and its provenance, as recorded in the release manifest."""

    path: Path
    origin: str
    repo_id: str | None
    revision: str | None
    filename: str
    layout: str
    split: str | None
    sha256: str | None  # None until checked (see with_checksum)
    size_bytes: int

    def provenance(self) -> dict:
        record = asdict(self)
        record.pop("path")
        return record


def layouts() -> dict[str, dict[str, str]]:
    """layout -> {split name -> file path in the Hub repo}."""
    return {name: spec["files"] for name, spec in schema.load("raw")["source"]["layouts"].items()}


def recognise(filename: str) -> tuple[str, str | None]:
    """The layout (and v1.0 split) a file name belongs to; unknown names are read as v1.1.

    >>> recognise("data/filtered_community_alignment.csv"), recognise("my_copy.csv")
    (('v1.0', 'filtered'), ('v1.1', None))
    """
    name = PurePosixPath(filename).name
    for layout, files in layouts().items():
        for split, path in files.items():
            if PurePosixPath(path).name == name:
                return layout, (None if split == "default" else split)
    return "v1.1", None


def candidates(split: str | None) -> list[str]:
    """Files to look for, in order, when the source names a repo or folder but no file."""
    if split is not None and split not in SPLITS:
        raise BuildError(f"unknown split {split!r}: v1.0 has {', '.join(SPLITS)}")
    files = layouts()
    if split:
        return [files["v1.0"][split]]
    return [files["v1.1"]["default"], files["v1.0"]["full"]]


def resolve(
    source: str | Path,
    *,
    split: str | None = None,
    expected_sha256: str | None = None,
    cache_dir: str | None = None,
) -> Source:
    """Turn ``--source`` into a local file, downloading from the Hub when asked, with its
    sha256 (checked against ``expected_sha256`` when given)."""
    found = locate(source, split=split, cache_dir=cache_dir)
    return with_checksum(found, file_sha256(found.path), expected_sha256)


def with_checksum(source: Source, digest: str, expected_sha256: str | None = None) -> Source:
    """The source with its sha256; a mismatch with ``expected_sha256`` stops the build."""
    if expected_sha256 and digest != expected_sha256.lower():
        raise BuildError(
            f"{source.origin}: sha256 is {digest}, expected {expected_sha256}; the file changed "
            "or is damaged: download it again or update the expected checksum"
        )
    return replace(source, sha256=digest)


def locate(source: str | Path, *, split: str | None = None, cache_dir: str | None = None) -> Source:
    """:func:`resolve` without the checksum, which a build computes while it reads the file."""
    text = str(source)
    match = HF_SOURCE.match(text)
    if match:
        repo_id = match["repo"]
        revision = match["rev"] or schema.load("raw")["source"]["revision"]
        names = [match["path"]] if match["path"] else candidates(split)
        path, filename = _download(repo_id, revision, names, cache_dir)
        origin = f"hf://datasets/{repo_id}@{revision}/{filename}"
    elif text.startswith("hf://"):
        raise BuildError(
            f"cannot read source {text!r}: expected hf://datasets/ORG/NAME[@REVISION][/PATH]"
        )
    else:
        path = Path(text)
        if path.is_dir():
            found = [path / name for name in candidates(split) if (path / name).is_file()]
            if not found:
                raise BuildError(
                    f"source folder {path} has none of {candidates(split)}; pass the CSV itself"
                )
            path = found[0]
        if not path.is_file():
            raise BuildError(f"source {path} does not exist or is not a file")
        repo_id, revision, filename, origin = None, None, path.name, path.name
    layout, file_split = recognise(filename)
    return Source(
        path=path,
        origin=origin,
        repo_id=repo_id,
        revision=revision,
        filename=filename,
        layout=layout,
        split=file_split,
        sha256=None,
        size_bytes=path.stat().st_size,
    )


def _download(
    repo_id: str, revision: str, filenames: list[str], cache_dir: str | None
) -> tuple[Path, str]:
    """The first of ``filenames`` that the repo has at ``revision``, downloaded or cached."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    missing = []
    for filename in filenames:
        try:
            path = hf_hub_download(
                repo_id=repo_id,
                filename=filename,
                repo_type="dataset",
                revision=revision,
                cache_dir=cache_dir,
            )
            return Path(path), filename
        except (EntryNotFoundError, LocalEntryNotFoundError) as error:
            missing.append(f"{filename} ({type(error).__name__})")
        except Exception as error:  # RevisionNotFound, HTTP and network errors
            raise BuildError(
                f"cannot download {filename} of dataset {repo_id} at revision {revision}: {error}"
            ) from error
    raise BuildError(
        f"cannot get the raw file of dataset {repo_id} at revision {revision}: tried "
        f"{', '.join(missing)}; not in the cache and not reachable on the Hub. Check the "
        "network or HF_HUB_OFFLINE, name the file (hf://datasets/ORG/NAME@REV/FILE), or pass a "
        "local path as --source."
    )
