"""The ``community-alignment`` command: analyses of a release from the shell."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="community-alignment",
        description="Analyse a Community Alignment release (a local folder or hf://datasets/...).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    from community_alignment import agreement, describe, evaluate, iw, iw_judge

    describe.register_cli(commands)
    agreement.register_cli(commands)
    iw_judge.describe_subcommands(iw.register_cli(commands))
    evaluate.register_cli(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from community_alignment.iw_judge import parse_subcommand

    argv = sys.argv[1:] if argv is None else list(argv)
    # `iw label` and `iw compare-labels` beside `iw RELEASE`, which argparse cannot tell apart
    args = parse_subcommand(argv) or build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (ValueError, FileNotFoundError) as error:
        print(f"community-alignment: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - a file or the Hub could not be read
        if not _is_read_error(error):
            raise
        print(f"community-alignment: error: {_read_error(args, error)}", file=sys.stderr)
        return 2


def _is_read_error(error: BaseException) -> bool:
    """An error of reading the release (polars, pyarrow, the OS, the Hub client), not a bug."""
    import polars as pl
    import pyarrow as pa

    kinds = (pl.exceptions.PolarsError, pa.ArrowException, OSError)
    return isinstance(error, kinds) or type(error).__module__.startswith("huggingface_hub")


def _read_error(args: argparse.Namespace, error: BaseException) -> str:
    """One line naming what could not be read and why."""
    import os

    source = getattr(args, "release", None) or getattr(args, "source", None) or "the input"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    said = lines[0] if lines else type(error).__name__
    message = f"cannot read {source}: {said}"
    if str(source).startswith("hf://") and os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0"):
        message += " (HF_HUB_OFFLINE is set, and hf:// paths are read from the Hub itself)"
    return message


if __name__ == "__main__":
    sys.exit(main())
