"""The learner workspace: student versions of the exercises, built with nbgrader.

The exercises in ``exercises/<assignment>/`` are nbgrader *source* assignments: they hold the
solutions and the hidden tests. A learner works in the *student* versions, which nbgrader's own
``generate_assignment`` step produces (solutions replaced by a stub, hidden tests removed,
checksums recorded so that the Validate button works). This module runs that step in a
throw-away course folder and copies the result into a workspace folder (``my-exercises/`` for
``make lab`` and Binder).

A learner's work is precious: a file that already exists in the workspace is never overwritten
or deleted. With ``refresh=True`` a newer student version is written beside it under a new name
(``m03-transparency.new.ipynb``, then ``.new-2``, ...).

Command line::

    python -m clientprotection.workspace my-exercises            # build or complete
    python -m clientprotection.workspace my-exercises --refresh  # also write newer versions
"""

from __future__ import annotations

import argparse
import filecmp
import logging
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from clientprotection.errors import CourseError

__all__ = [
    "WORKSPACE_DIRNAME",
    "build_student_workspace",
    "default_exercises_dir",
    "list_assignments",
    "main",
]

logger = logging.getLogger(__name__)

#: Name of the learner workspace folder at the repository root (ignored by git).
WORKSPACE_DIRNAME = "my-exercises"

# Files that belong to no assignment: editor and interpreter leftovers.
_IGNORED_NAMES = (".ipynb_checkpoints", "__pycache__", "*.pyc", ".DS_Store", "gradebook.db")


def default_exercises_dir() -> Path:
    """Return the ``exercises/`` folder of the repository this package was installed from.

    Returns
    -------
    Path
        ``<repository>/exercises`` (the package is installed editable from ``src/``).

    Raises
    ------
    CourseError
        If the folder does not exist (for example after a non-editable install).

    Examples
    --------
    >>> default_exercises_dir().name  # doctest: +SKIP
    'exercises'
    """
    candidate = Path(__file__).resolve().parents[2] / "exercises"
    if not candidate.is_dir():
        raise CourseError(
            f"No exercises folder at {candidate}. Pass the folder explicitly "
            "(python -m clientprotection.workspace DEST --exercises PATH) or install the "
            "course from a checkout with `pip install -e .`."
        )
    return candidate


def list_assignments(exercises_dir: Path) -> list[str]:
    """Names of the nbgrader source assignments in ``exercises_dir``, sorted.

    An assignment is a sub-folder (not hidden) that contains at least one notebook.

    Parameters
    ----------
    exercises_dir : Path
        The ``exercises/`` folder (``exercises/<assignment>/<assignment>.ipynb``).

    Returns
    -------
    list of str

    Examples
    --------
    >>> list_assignments(Path("exercises"))  # doctest: +SKIP
    ['m01-product-design', 'm02-over-indebtedness', 'm03-transparency']
    """
    exercises_dir = Path(exercises_dir)
    if not exercises_dir.is_dir():
        raise CourseError(f"The exercises folder {exercises_dir} does not exist.")
    return sorted(
        folder.name
        for folder in exercises_dir.iterdir()
        if folder.is_dir()
        and not folder.name.startswith((".", "_"))
        and any(folder.glob("*.ipynb"))
    )


def _generate_release(course_root: Path, assignment: str) -> Path:
    """Run nbgrader's generate_assignment for one assignment; return its release folder."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    # An explicit, empty configuration: no nbgrader_config.py of the user or of the current
    # directory may change what a learner receives.
    config = Config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.assignment_id = assignment
    config.CourseDirectory.ignore = list(_IGNORED_NAMES) + ["feedback"]
    # `nbgrader generate_assignment --no-db`: a learner's copy needs no gradebook, and the
    # gradebook would call the `alembic` script, which is not on PATH outside an activated venv.
    config.GenerateAssignment.no_database = True
    config.SaveCells.enabled = False

    captured: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(self.format(record))

    nbgrader_log = logging.getLogger(f"{__name__}.nbgrader")
    nbgrader_log.propagate = False
    nbgrader_log.setLevel(logging.WARNING)
    handler = _Collect(level=logging.WARNING)
    nbgrader_log.addHandler(handler)
    try:
        coursedir = CourseDirectory(config=config)
        converter = GenerateAssignment(coursedir=coursedir, config=config, log=nbgrader_log)
        converter.force = True
        converter.start()
    except Exception as error:  # nbgrader raises NbGraderException and friends
        details = "\n".join(captured) or str(error)
        raise CourseError(
            f"nbgrader could not generate the student version of '{assignment}': {details}\n"
            f"Check the source notebook with `nbgrader validate` on exercises/{assignment}."
        ) from error
    finally:
        nbgrader_log.removeHandler(handler)
    release = course_root / "release" / assignment
    if not any(release.glob("*.ipynb")):
        raise CourseError(
            f"nbgrader produced no notebook for '{assignment}'"
            + (": " + "\n".join(captured) if captured else ".")
        )
    return release


def _place(source: Path, target: Path, *, refresh: bool) -> Path | None:
    """Copy one released file into the workspace without ever replacing a learner's file."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return target
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return None  # already the current student version
    if not refresh:
        logger.warning(
            "Kept your file %s (not replaced). A newer student version exists: run "
            "`python -m clientprotection.workspace %s --refresh` to get it beside your file.",
            target,
            target.parents[1],
        )
        return None
    # Look for a free (or identical) ".new" name: never replace an earlier ".new" copy either,
    # since the learner may have started working in it.
    counter = 1
    while True:
        suffix = ".new" if counter == 1 else f".new-{counter}"
        beside = target.with_name(f"{target.stem}{suffix}{target.suffix}")
        if not beside.exists():
            shutil.copyfile(source, beside)
            logger.warning("Kept your file %s; the newer version is %s.", target, beside.name)
            return beside
        if beside.is_file() and filecmp.cmp(source, beside, shallow=False):
            return None
        counter += 1


def build_student_workspace(
    dest: Path,
    exercises_dir: Path | None = None,
    *,
    assignments: Iterable[str] | None = None,
    refresh: bool = False,
) -> list[Path]:
    """Write the student version of every exercise into ``dest/<assignment>/``.

    The student versions come from nbgrader's own ``generate_assignment`` run in a temporary
    course folder: solution regions become ``raise NotImplementedError()`` stubs, hidden tests
    are removed, and the cell checksums that the Validate button needs are recorded. Data files
    next to a notebook are copied as well.

    Existing files in ``dest`` are never overwritten or deleted. A file that differs from the
    new student version is kept and reported (a warning on the ``clientprotection.workspace``
    logger); with ``refresh=True`` the new version is written beside it as
    ``<name>.new<suffix>`` (``.new-2`` and so on if that name is taken).

    Parameters
    ----------
    dest : Path
        The workspace folder, created if needed (``my-exercises/`` for learners).
    exercises_dir : Path, optional
        The folder of nbgrader source assignments; the repository's ``exercises/`` by default.
    assignments : iterable of str, optional
        Only these assignments (default: all of them).
    refresh : bool, default False
        Write newer student versions beside files the learner already has.

    Returns
    -------
    list of Path
        The files written by this call (an empty list when everything was up to date).

    Raises
    ------
    CourseError
        If the exercises folder or an assignment is missing, or nbgrader fails on a source.

    Examples
    --------
    >>> written = build_student_workspace(Path("my-exercises"))  # doctest: +SKIP
    >>> [path.name for path in written]                           # doctest: +SKIP
    ['m02-over-indebtedness.ipynb', 'm03-transparency.ipynb']
    >>> build_student_workspace(Path("my-exercises"))             # doctest: +SKIP
    []
    """
    exercises_dir = Path(exercises_dir) if exercises_dir is not None else default_exercises_dir()
    available = list_assignments(exercises_dir)
    wanted = available if assignments is None else list(assignments)
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise CourseError(
            f"No source assignment {', '.join(unknown)} in {exercises_dir}; "
            f"available: {', '.join(available) or 'none'}."
        )
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise CourseError(f"The workspace {dest} exists and is not a folder.")

    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="cp-course-") as tmp:
        course_root = Path(tmp)
        for assignment in wanted:
            shutil.copytree(
                exercises_dir / assignment,
                course_root / "source" / assignment,
                ignore=shutil.ignore_patterns(*_IGNORED_NAMES),
            )
            release = _generate_release(course_root, assignment)
            released_files = sorted(path for path in release.rglob("*") if path.is_file())
            for released in released_files:
                target = dest / assignment / released.relative_to(release)
                placed = _place(released, target, refresh=refresh)
                if placed is not None:
                    written.append(placed)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m clientprotection.workspace DEST [--refresh]``."""
    parser = argparse.ArgumentParser(
        prog="python -m clientprotection.workspace",
        description=(
            "Build the learner workspace: the student versions of the exercises (no solutions, "
            "no hidden tests). Files you already have are never replaced."
        ),
    )
    parser.add_argument("dest", type=Path, help="workspace folder, e.g. my-exercises")
    parser.add_argument(
        "--exercises", type=Path, default=None, help="source assignments (default: exercises/)"
    )
    parser.add_argument(
        "--assignment", action="append", dest="assignments", help="only this assignment"
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="write newer versions beside your files as NAME.new.ipynb",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        written = build_student_workspace(
            args.dest, args.exercises, assignments=args.assignments, refresh=args.refresh
        )
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"{args.dest}: nothing new to write.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
