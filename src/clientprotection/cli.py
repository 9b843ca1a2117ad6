"""The ``cpcourse`` command: data generation for trainers, the grading pipeline for instructors.

Each command family lives in its own module and registers its subcommands here, so that this
file stays a thin dispatcher.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from clientprotection import __version__
from clientprotection.errors import CourseError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpcourse",
        description="Client protection course: synthetic MFI data and nbgrader grading.",
    )
    parser.add_argument("--version", action="version", version=f"cpcourse {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from clientprotection import data_cli

    data_cli.register(commands)
    try:
        from clientprotection.grading import cli as grading_cli
    except ImportError:  # the grading package is optional while it is being built
        grading_cli = None
    if grading_cli is not None:
        grading_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # nbgrader's gradebook code triggers SQLAlchemy autoflush notices that mean nothing to an
    # instructor; they would bury the status table
    warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CourseError as error:
        print(f"cpcourse: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cpcourse: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
