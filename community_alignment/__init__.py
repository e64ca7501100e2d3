"""Tools for people who use the Community Alignment preference dataset.

``community_alignment.scan(source, config)`` opens a release (a folder or
``hf://datasets/...``) as a polars LazyFrame and ``community_alignment.describe(source)``
gives its headline statistics; both are imported on first use, so importing the package
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "describe", "scan"]


def __getattr__(name: str) -> Any:
    if name == "scan":
        return importlib.import_module("community_alignment.load").scan
    if name == "describe":
        # The module community_alignment.describe, callable as its describe() function: once
        # imported, the module would be this attribute anyway.
        return importlib.import_module("community_alignment.describe")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
