"""``python -m builder``: build, validate, publish and demo the release from a checkout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from builder import publish, validate
from builder.errors import BuildError


def _build(args: argparse.Namespace) -> int:
    from builder.build import build
    from builder.report import render_report

    result = build(
        args.source,
        args.out,
        report_dir=args.report_dir,
        split=args.split,
        repo_id=args.repo_id,
        iw_labels=args.iw_labels,
        expected_sha256=args.sha256,
        progress=sys.stderr.isatty(),
    )
    print(render_report(result.report))
    print(f"release: {result.release}\nreport and quarantine: {result.report_dir}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from builder import demo

    return demo.run(args.out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m builder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build a release folder from the raw CSV")
    build.add_argument(
        "--source", required=True, help="raw CSV path, or hf://datasets/ORG/NAME[@REVISION][/FILE]"
    )
    build.add_argument("--out", required=True, type=Path, help="release folder to (re)write")
    build.add_argument(
        "--report-dir",
        type=Path,
        help="where the report and quarantine go (default: OUT.build beside OUT)",
    )
    build.add_argument(
        "--repo-id", help="Hub repo the release is for, named in the card's examples"
    )
    build.add_argument(
        "--iw-labels",
        type=Path,
        help="IW labels of responses (CSV/Parquet, see community_alignment.iw); the card then "
        "shows each country's choices on the IW map",
    )
    build.add_argument(
        "--split",
        choices=["full", "filtered"],
        help="v1.0 layout: which of its two files to build (default: v1.1's file, else full)",
    )
    build.add_argument(
        "--sha256", help="expected sha256 of the raw file; the build stops if it differs"
    )
    build.set_defaults(run=_build)

    # `python -m builder generate ...` is handed to builder.generate before parsing (see main)
    commands.add_parser("generate", help="write realistic raw data (generate --help)")
    validate.register_cli(commands)
    publish.register_cli(commands)
    demo = commands.add_parser(
        "demo", help="build, validate, load and summarise the embedded sample"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("release"), help="release folder (default: release/)"
    )
    demo.set_defaults(run=_demo)
    return parser  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["generate"]:  # the generator has its own options
        from builder import generate

        return generate.main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BuildError as error:
        print(f"{args.command} failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
