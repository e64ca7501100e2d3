"""Open a release (a local folder or an ``hf://datasets/...`` path) as polars or datasets views.

Data files live at ``data/<config>/<lang>/<country>-NNNNN-of-NNNNN.parquet`` (annotators at
``data/annotators/<country>-...``), so a country or a language is a glob, and a scan reads only
the files and columns a query needs.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from community_alignment import contract


def scan(
    source: str | Path,
    config: str = "comparisons",
    *,
    country: str | None = None,
    language: str | None = None,
) -> pl.LazyFrame:
    """A LazyFrame over one config of a release; ``country``/``language`` narrow the files read.

    ``source`` is a release folder or ``hf://datasets/ORG/NAME[@REVISION]``; an ``hf://`` path
    is read from the Hub that ``HF_ENDPOINT`` names (a mirror, say), huggingface.co by default.
    """
    pattern = contract.config_glob(config, country, language)
    base = str(source).rstrip("/")
    if not base.startswith("hf://"):
        root = Path(base)
        if not (root / contract.data_folder()).is_dir():
            raise FileNotFoundError(
                f"{root} is not a release folder: it has no {contract.data_folder()}/ folder"
            )
        if not any(root.glob(pattern)):
            raise FileNotFoundError(f"no data files match {pattern} in {root}")
        base = str(root)
    else:
        urls = _mirror_urls(base, pattern)
        if urls is not None:
            return pl.scan_parquet(urls)
    return pl.scan_parquet(f"{base}/{pattern}")


def _mirror_urls(base: str, pattern: str) -> list[str] | None:
    """The files an ``hf://`` glob matches, as download URLs of the Hub that ``HF_ENDPOINT`` names
    (None for huggingface.co): polars' own ``hf://`` reader asks huggingface.co, whatever is set."""
    from urllib.parse import quote

    from huggingface_hub import HfFileSystem, constants

    if constants.ENDPOINT == "https://huggingface.co":
        return None
    fs = HfFileSystem(skip_instance_cache=True)  # a cached listing would hide a newer push
    matched = sorted(fs.glob(f"{base}/{pattern}"))
    if not matched:
        raise FileNotFoundError(f"no data files match {pattern} in {base} (at {fs.endpoint})")
    urls = []
    for path in matched:
        where = fs.resolve_path(path)
        revision = quote(where.revision, safe="")
        urls.append(
            f"{fs.endpoint}/datasets/{where.repo_id}/resolve/{revision}/{quote(where.path_in_repo)}"
        )
    return urls
