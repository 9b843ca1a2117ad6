"""The instructor commands of ``cpcourse``: workshop init, release, collect, grade."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from clientprotection.errors import CourseError


def register(commands: Any) -> None:
    """Add ``workshop``, ``release``, ``collect`` and ``grade`` to the ``cpcourse`` parser.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers())
    """
    workshop = commands.add_parser("workshop", help="create a workshop (nbgrader course) folder")
    workshop_commands = workshop.add_subparsers(dest="workshop_command", metavar="ACTION")
    workshop_commands.required = True
    init = workshop_commands.add_parser(
        "init", help="a standard nbgrader course folder with safe settings"
    )
    init.add_argument("directory", metavar="DIR")
    init.add_argument("--course-id", default="client-protection")
    init.add_argument("--roster", help="roster CSV: id,first_name,last_name,email[,lms_id]")
    init.add_argument(
        "--exercises", help="folder of <assignment>/<notebook>.ipynb (default: the course's)"
    )
    init.add_argument(
        "--force", action="store_true", help="use a non-empty folder (deletes nothing)"
    )
    init.add_argument("--cell-timeout", type=int, default=30, help="seconds per cell")
    init.add_argument("--notebook-timeout", type=int, default=300, help="seconds per notebook")
    init.add_argument("--memory-mb", type=int, default=2048, help="kernel address space, MiB")
    init.set_defaults(func=_init)
    roster = workshop_commands.add_parser("roster", help="import (or update) students from a CSV")
    roster.add_argument("roster", metavar="ROSTER_CSV")
    _workshop_option(roster)
    roster.set_defaults(func=_roster)

    release = commands.add_parser(
        "release", help="generate the student versions and check them for leaked answers"
    )
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    _workshop_option(release)
    release.set_defaults(func=_release)

    collect = commands.add_parser(
        "collect", help="bring submissions in from an LMS zip, a folder or the exchange"
    )
    collect.add_argument("assignment", metavar="ASSIGNMENT")
    collect.add_argument("origin", metavar="FROM", help="zip file, folder, or 'exchange'")
    collect.add_argument("--pattern", help="regex with a named group 'student' for file names")
    collect.add_argument("--force", action="store_true", help="replace existing submissions")
    _workshop_option(collect)
    collect.set_defaults(func=_collect)

    grade = commands.add_parser("grade", help="autograde in parallel, in a sandbox, resumable")
    grade.add_argument("assignment", metavar="ASSIGNMENT")
    grade.add_argument("--workers", type=int, default=1, help="submissions at the same time")
    grade.add_argument("--student", action="append", help="only this student (repeatable)")
    grade.add_argument("--force", action="store_true", help="regrade unchanged submissions")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    _workshop_option(grade)
    grade.set_defaults(func=_grade)

    try:
        from clientprotection.grading import cli_report
    except ImportError:
        cli_report = None
    if cli_report is not None:
        cli_report.register(commands)


def _workshop_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workshop", metavar="DIR", help="workshop folder (default: here)")


def _workshop(args: argparse.Namespace) -> Path:
    from clientprotection.grading.autograde import ensure_tools_on_path
    from clientprotection.grading.settings import find_workshop

    ensure_tools_on_path()
    return find_workshop(args.workshop)


def _init(args: argparse.Namespace) -> int:
    from clientprotection.grading.autograde import ensure_tools_on_path
    from clientprotection.grading.settings import default_exercises_dir
    from clientprotection.grading.workshop import init_workshop

    ensure_tools_on_path()
    exercises = Path(args.exercises) if args.exercises else default_exercises_dir()
    root = init_workshop(
        args.directory,
        course_id=args.course_id,
        roster=args.roster,
        exercises=exercises,
        force=args.force,
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.notebook_timeout,
        memory_mb=args.memory_mb,
    )
    assignments = sorted(p.name for p in (root / "source").iterdir() if p.is_dir())
    print(f"workshop ready in {root}")
    print(f"assignments: {', '.join(assignments) or f'none yet (no notebooks in {exercises})'}")
    if args.roster:
        print(f"roster imported from {args.roster}")
    print("next: cd into it and run `cpcourse release`")
    return 0


def _roster(args: argparse.Namespace) -> int:
    from clientprotection.grading.workshop import import_roster

    entries = import_roster(_workshop(args), args.roster)
    print(f"imported {len(entries)} student(s)")
    return 0


def _release(args: argparse.Namespace) -> int:
    from clientprotection.grading.release import release_assignments

    root = _workshop(args)
    leaks = release_assignments(root, args.assignments or None)
    if leaks:
        print("LEAK: the student version contains solution or hidden-test text:", file=sys.stderr)
        for leak in leaks:
            print(f"  {leak}", file=sys.stderr)
        print("fix the source notebook and run `cpcourse release` again; do not distribute "
              "release/ until this passes", file=sys.stderr)
        return 1
    print(f"released to {root / 'release'}; no solution or hidden test found in it")
    return 0


def _collect(args: argparse.Namespace) -> int:
    from clientprotection.grading.collect import collect

    report = collect(
        _workshop(args), args.assignment, args.origin, pattern=args.pattern, force=args.force
    )
    print("\n".join(report.lines()))
    return 0


def _grade(args: argparse.Namespace) -> int:
    from clientprotection.grading.autograde import format_table, grade_assignment
    from clientprotection.grading.sandbox import isolation_summary
    from clientprotection.grading.settings import grading_limits, load_config

    root = _workshop(args)
    if args.workers < 1:
        raise CourseError("--workers must be at least 1")
    limits = grading_limits(load_config(root))
    print(f"isolation: {isolation_summary(limits.sandbox_user)}", file=sys.stderr)
    rows = grade_assignment(
        root,
        args.assignment,
        workers=args.workers,
        students=args.student,
        force=args.force,
        progress=not args.no_progress,
    )
    print(format_table(rows))
    print(f"status saved to {root / 'reports' / args.assignment / 'grading-status.csv'}")
    return 0
