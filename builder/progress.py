"""Progress of a build on a terminal: on standard error, so that standard output (where the
report goes) stays clean."""

from __future__ import annotations

import sys


def show(line: str | None = None) -> None:
    """Progress on a terminal (standard error, so that what goes to standard output stays
    clean): a line replaces the one before (padded over a longer one); none ends it."""
    print(
        "" if line is None else f"\r{line:<60}",
        end="" if line else "\n",
        file=sys.stderr,
        flush=True,
    )
