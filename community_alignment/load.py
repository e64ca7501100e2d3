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

    ``source`` is a release folder or ``hf://datasets/ORG/NAME[@REVISION]``.
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
    return pl.scan_parquet(f"{base}/{pattern}")
