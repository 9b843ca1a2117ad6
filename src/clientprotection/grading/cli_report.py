"""``cpcourse feedback`` and ``cpcourse report``: the last two steps of the grading pipeline.

Both run in a workshop folder (the current folder, or ``--workshop DIR``) that holds the
``nbgrader_config.py`` written by ``cpcourse workshop init``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clientprotection.grading.feedback import generate_feedback, load_workshop
from clientprotection.grading.report import write_report


def _add_workshop_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workshop", metavar="DIR", type=Path, default=None,
        help="the workshop folder (default: the current folder; it must hold nbgrader_config.py)",
    )


def feedback_command(args: argparse.Namespace) -> int:
    """Write feedback pages; exit status 1 if any page was refused or failed."""
    workshop = load_workshop(args.workshop)
    results = generate_feedback(workshop, args.assignment, args.student, strict=False)
    written = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    for result in written:
        print(f"  {result.student_id:<20} {result.path.relative_to(workshop.root)}")
    for result in failed:
        print(f"  {result.student_id:<20} NOT WRITTEN: {result.error}", file=sys.stderr)
    print(f"feedback for {args.assignment}: {len(written)} page(s) written, "
          f"{len(failed)} not written; hidden tests removed and checked.")
    if written:
        print(f"Return it with `nbgrader release_feedback {args.assignment}` (exchange) or send "
              "the HTML files from the feedback folder.")
    return 1 if failed else 0


def report_command(args: argparse.Namespace) -> int:
    """Write the grade report and print a short summary table."""
    report = write_report(load_workshop(args.workshop), args.assignment)
    print(report.terminal_summary)
    print(f"open {report.files['summary']} in a browser for plots and item analysis")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``feedback`` and ``report`` subcommands to ``cpcourse``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="cpcourse")
    >>> register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["report", "m02-over-indebtedness"]).assignment
    'm02-over-indebtedness'
    """
    feedback = commands.add_parser(
        "feedback", help="HTML feedback per student, with no hidden test in it",
        description="Write HTML feedback for each autograded student in nbgrader's feedback "
        "folder. Hidden tests are removed from the code and from tracebacks, and each page is "
        "checked for hidden-test lines before it is written.",
    )
    feedback.add_argument("assignment", metavar="ASSIGNMENT", help="e.g. m02-over-indebtedness")
    feedback.add_argument("--student", metavar="ID", default=None,
                          help="only this student (default: every autograded student)")
    _add_workshop_option(feedback)
    feedback.set_defaults(func=feedback_command)

    report = commands.add_parser(
        "report", help="grades per question and principle, flags, LMS files, plots",
        description="Write grade tables (per question, per student, per principle), LMS import "
        "files for Moodle and Canvas, an item analysis, plots and an HTML summary under "
        "reports/<ASSIGNMENT or all>/ in the workshop folder.",
    )
    report.add_argument("assignment", metavar="ASSIGNMENT", nargs="?", default=None,
                        help="one assignment (default: every assignment in the gradebook)")
    _add_workshop_option(report)
    report.set_defaults(func=report_command)
