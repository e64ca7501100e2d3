"""Validate a release folder before it is published: card, data, contract, statistics, manifest.

``validate(release)`` runs every check against a built release folder (or a Hub snapshot of one,
``hf://datasets/ORG/NAME@REV``) and returns a :class:`ValidationReport`: one result per check,
with the number of offending things, the first one, and a message saying what to do. The rules
come from ``schema/`` (via :mod:`community_alignment.schema`); nothing is re-typed here.

``python -m builder validate DIR [--json] [--no-load] [--iw-labels FILE]`` prints the report
and exits 0 only when every check holds.

The package: :mod:`~builder.validate.registry` (checks, results, running them),
:mod:`~builder.validate.reader` (the release as the checks see it), then one module per group
of checks, imported below in the order the report lists them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from builder.card_tables import parse_card_table, parse_headline, parse_split_table, table_cells
from builder.errors import BuildError

# importing a group's module registers its checks; the report lists them in GROUPS order
from builder.validate import card, contract, data, loading, manifest, statistics, trl  # noqa: F401
from builder.validate.card import card_images
from builder.validate.reader import MANIFEST, README, DataFile, Release, glob_regex
from builder.validate.registry import (
    CHECKS,
    GROUPS,
    Check,
    CheckResult,
    Problem,
    ValidationReport,
    check,
    check_names,
    hub_snapshot,
    validate,
    validate_folder,
)
from builder.validate.statistics import CARD_STATISTICS, compare_numbers

_glob_regex = glob_regex  # the name the tests knew

__all__ = [
    "CARD_STATISTICS",
    "CHECKS",
    "GROUPS",
    "MANIFEST",
    "README",
    "Check",
    "CheckResult",
    "DataFile",
    "Problem",
    "Release",
    "ValidationReport",
    "card_images",
    "check",
    "check_names",
    "compare_numbers",
    "hub_snapshot",
    "parse_card_table",
    "parse_headline",
    "parse_split_table",
    "register_cli",
    "table_cells",
    "validate",
    "validate_folder",
]


def _run_cli(args: argparse.Namespace) -> int:
    try:
        report = validate(args.release, load=args.load, iw_labels=args.iw_labels)
    except BuildError as error:
        print(f"validate failed: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(report.to_json())
    else:
        print(report.render(), end="")
    return 0 if report.ok else 1


def register_cli(commands: Any) -> argparse.ArgumentParser:
    """Add ``validate DIR [--json] [--no-load] [--iw-labels FILE]`` to ``python -m builder``'s subcommands."""
    parser = commands.add_parser(
        "validate",
        help="check a release folder (or hf://datasets/ORG/NAME@REV) before publishing",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "release", metavar="DIR", help="release folder, or hf://datasets/ORG/NAME[@REVISION]"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--no-load",
        dest="load",
        action="store_false",
        help="skip loading every config with datasets.load_dataset",
    )
    parser.add_argument(
        "--iw-labels",
        metavar="FILE",
        help="the IW labels the build was given, to recompute the card's IW summaries",
    )
    parser.set_defaults(run=_run_cli)
    return parser
