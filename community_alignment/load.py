"""Open a release (a local folder or an ``hf://datasets/...`` path) as polars or datasets views.

Data files live at ``data/<config>/<lang>/<country>-NNNNN-of-NNNNN.parquet`` (annotators at
``data/annotators/<country>-...``), so a country or a language is a glob, and a scan reads only
the files and columns a query needs.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from community_alignment import schema

TABLE_CONFIGS = ("comparisons", "pairs", "conversations", "annotators")


def _config_glob(config: str, country: str | None = None, language: str | None = None) -> str:
    if config in schema.codes("languages"):
        config, language = "comparisons", config
    if config not in TABLE_CONFIGS:
        raise ValueError(
            f"unknown config {config!r}: expected one of {TABLE_CONFIGS} or a language "
            f"{tuple(schema.codes('languages'))}"
        )
    shard = f"{country or '*'}-*.parquet"
    if config == "annotators":
        if language is not None:
            raise ValueError("the annotators config is split by country only, not by language")
        return f"data/annotators/{shard}"
    return f"data/{config}/{language or '*'}/{shard}"


def scan(
    source: str | Path,
    config: str = "comparisons",
    *,
    country: str | None = None,
    language: str | None = None,
) -> pl.LazyFrame:
    """A LazyFrame over one config of a release; ``country``/``language`` narrow the files read.

    ``source`` is a release folder or ``hf://datasets/ORG/NAME[@REVISION]``.
    """
    pattern = _config_glob(config, country, language)
    base = str(source).rstrip("/")
    if not base.startswith("hf://"):
        root = Path(base)
        if not (root / "data").is_dir():
            raise FileNotFoundError(f"{root} is not a release folder: it has no data/ folder")
        if not any(root.glob(pattern)):
            raise FileNotFoundError(f"no data files match {pattern} in {root}")
        base = str(root)
    return pl.scan_parquet(f"{base}/{pattern}")
