"""The ``modelarts-poller`` command line."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelarts-poller",
        description="Watch Huawei Cloud ModelArts dataset tasks until they finish.",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
