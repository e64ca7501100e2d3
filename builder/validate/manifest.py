"""Checks of manifest.json: it parses, lists every file and only those, with their
checksums and row counts; and the release holds no file that does not belong."""

from __future__ import annotations

import re

from builder.validate.card import ASSET
from builder.validate.reader import MANIFEST, README, Release
from builder.validate.registry import Problem, check


def _allowed_file(path: str) -> bool:
    return (
        path in (README, MANIFEST)
        or (path.startswith("data/") and path.endswith(".parquet"))
        or bool(ASSET.match(path))
    )


@check("manifest_parses", "manifest")
def _manifest_parses(release: Release):
    """manifest.json parses, with release_version, builder_version, source and a sha256 for each file.

    Fix: manifest.json is written by `builder build`; rebuild
    """
    manifest, error = release.manifest
    if error:
        yield Problem(MANIFEST, error.removeprefix(f"{MANIFEST} "))
        return
    for key in ("release_version", "builder_version", "source"):
        if not manifest.get(key):
            yield Problem(MANIFEST, f"has no `{key}`")
    for path, entry in manifest["files"].items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            yield Problem(path, "has no sha256 in the manifest")


@check("manifest_files_exist", "manifest", needs=("manifest",))
def _manifest_files_exist(release: Release):
    """Every file the manifest lists exists.

    Fix: restore the file, or rebuild the release so the manifest matches
    """
    present = set(release.files)
    for path in release.manifest[0]["files"]:
        if path not in present:
            yield Problem(path, "is in the manifest but missing from the release")


@check("manifest_complete", "manifest", needs=("manifest",))
def _manifest_complete(release: Release):
    """Every file of the release (but manifest.json) is in the manifest.

    Fix: remove the file, or rebuild so the manifest lists it
    """
    listed = release.manifest[0]["files"]
    for path in release.files:
        if path != MANIFEST and path not in listed:
            yield Problem(path, "is in the release but not in the manifest")


@check("manifest_checksums", "manifest", needs=("manifest",))
def _manifest_checksums(release: Release):
    """Every listed file's sha256 matches the manifest.

    Fix: the file changed after the build: rebuild the release (never edit files by hand)
    """
    from builder.release import file_sha256

    for path, entry in release.manifest[0]["files"].items():
        full = release.root / path
        if full.is_file() and isinstance(entry, dict):
            digest = file_sha256(full)
            if digest != entry.get("sha256"):
                yield Problem(path, f"sha256 is {digest}, the manifest says {entry.get('sha256')}")


@check("manifest_rows", "manifest", needs=("manifest",))
def _manifest_rows(release: Release):
    """Every data file's row count in the manifest equals its Parquet row count.

    Fix: the manifest's row counts come from the build; rebuild
    """
    files = release.manifest[0]["files"]
    for f in release.data_files:
        entry = files.get(f.path)
        if not isinstance(entry, dict) or f.read_error:
            continue
        if entry.get("rows") != f.rows:
            yield Problem(
                f.path, f"the manifest says {entry.get('rows')} rows, the file has {f.rows}"
            )


@check("stray_files", "manifest")
def _stray_files(release: Release):
    """No file besides README.md, manifest.json, data/**/*.parquet and assets/*.png.

    Fix: a release holds only README.md, manifest.json, data/**/*.parquet and the card's
    figures assets/*.png; remove the file
    """
    for path in release.files:
        if not _allowed_file(path):
            yield Problem(path, "does not belong in a release")
