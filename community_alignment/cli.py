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


if __name__ == "__main__":
    sys.exit(main())
