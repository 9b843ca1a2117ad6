"""``cpcourse workshop init``: a standard nbgrader course folder with safe settings and a roster."""

from __future__ import annotations

import csv
import os
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from clientprotection.errors import CourseError
from clientprotection.grading.settings import CONFIG_NAME, default_exercises_dir

COURSE_FOLDERS = ("source", "release", "submitted", "autograded", "feedback", "reports")
# Folders only the instructor may read: student kernels run as another user (see README).
PRIVATE_FOLDERS = ("source", "submitted", "autograded", "feedback", "reports")
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ROSTER_COLUMNS = ("id", "first_name", "last_name", "email")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster (nbgrader's columns plus an optional LMS id)."""

    id: str
    first_name: str
    last_name: str
    email: str
    lms_id: str = ""


def is_safe_id(value: str) -> bool:
    """Whether ``value`` is usable as an nbgrader student or assignment id (a safe folder name).

    Examples
    --------
    >>> is_safe_id("amina.k"), is_safe_id("../etc"), is_safe_id("a+b")
    (True, False, False)
    """
    return bool(SAFE_ID.match(value)) and value not in {".", ".."}


def read_roster(path: str | os.PathLike[str]) -> list[RosterEntry]:
    """Read and check a roster CSV (``id, first_name, last_name, email``, optional ``lms_id``).

    Every row is checked before anything is returned: a missing, malformed or duplicate id, or
    a malformed email, makes the whole file fail with one message that lists every bad row.

    Raises
    ------
    CourseError
        If the file is missing, lacks a column, or has bad rows.

    Examples
    --------
    >>> read_roster("roster.csv")  # doctest: +SKIP
    [RosterEntry(id='s01', first_name='Amina', last_name='Kone', email='amina@example.org')]
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"roster file {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in ("id",) if name not in header]
        if missing:
            raise CourseError(
                f"roster {path} has no column {', '.join(missing)}; the header must be "
                f"{','.join(ROSTER_COLUMNS)} (nbgrader's roster format), found {header}"
            )
        rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    problems: list[str] = []
    seen: dict[str, int] = {}
    entries: list[RosterEntry] = []
    for line, row in enumerate(rows, start=2):
        student_id = row.get("id", "")
        if not student_id:
            problems.append(f"line {line}: empty id")
        elif not is_safe_id(student_id):
            problems.append(
                f"line {line}: id {student_id!r} is not a safe folder name (use letters, digits, "
                "'.', '_' or '-', starting with a letter or digit, at most 64 characters)"
            )
        elif student_id in seen:
            problems.append(f"line {line}: id {student_id!r} repeats line {seen[student_id]}")
        else:
            seen[student_id] = line
        email = row.get("email", "")
        if email and not EMAIL.match(email):
            problems.append(f"line {line}: email {email!r} is malformed")
        entries.append(
            RosterEntry(
                id=student_id,
                first_name=row.get("first_name", ""),
                last_name=row.get("last_name", ""),
                email=email,
                lms_id=row.get("lms_id", ""),
            )
        )
    if problems:
        raise CourseError(
            f"roster {path} has {len(problems)} bad row(s); nothing was imported:\n  "
            + "\n  ".join(problems)
        )
    if not entries:
        raise CourseError(f"roster {path} has no students")
    return entries


def import_roster(workshop: Path, roster: str | os.PathLike[str]) -> list[RosterEntry]:
    """Check ``roster`` and add (or update) its students in the workshop gradebook.

    The checked roster is also saved as ``workshop/roster.csv`` (used to match LMS names).

    Examples
    --------
    >>> import_roster(Path("my-workshop"), "roster.csv")  # doctest: +SKIP
    """
    from nbgrader.api import Gradebook

    entries = read_roster(roster)
    with Gradebook(f"sqlite:///{workshop / 'gradebook.db'}") as gradebook:
        for entry in entries:
            gradebook.update_or_create_student(
                entry.id,
                first_name=entry.first_name or None,
                last_name=entry.last_name or None,
                email=entry.email or None,
                lms_user_id=entry.lms_id or None,
            )
    known = {entry.id: entry for entry in load_roster(workshop)}
    known.update({entry.id: entry for entry in entries})
    write_roster(workshop / "roster.csv", sorted(known.values(), key=lambda e: e.id))
    return entries


def write_roster(path: Path, entries: list[RosterEntry]) -> None:
    """Write ``entries`` as a roster CSV with an ``lms_id`` column."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow((*ROSTER_COLUMNS, "lms_id"))
        for e in entries:
            writer.writerow((e.id, e.first_name, e.last_name, e.email, e.lms_id))


def load_roster(workshop: Path) -> list[RosterEntry]:
    """The students of the workshop: its ``roster.csv`` merged with the gradebook's students."""
    from nbgrader.api import Gradebook

    entries: dict[str, RosterEntry] = {}
    if (workshop / "roster.csv").is_file():
        entries = {e.id: e for e in read_roster(workshop / "roster.csv")}
    with Gradebook(f"sqlite:///{workshop / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            if student.id not in entries:
                entries[student.id] = RosterEntry(
                    student.id,
                    student.first_name or "",
                    student.last_name or "",
                    student.email or "",
                    student.lms_user_id or "",
                )
    return list(entries.values())


def render_config(
    course_id: str,
    *,
    cell_timeout: int = 30,
    notebook_timeout: int = 300,
    memory_mb: int = 2048,
    max_processes: int = 256,
    max_file_size_mb: int = 64,
    max_output_lines: int = 1000,
    sandbox_user: str = "nobody",
) -> str:
    """The workshop's ``nbgrader_config.py`` text with the given limits.

    Examples
    --------
    >>> "add_missing_cells = True" in render_config("cp-2025")
    True
    """
    template = resources.files("clientprotection.grading").joinpath("nbgrader_config.py.tpl")
    return Template(template.read_text(encoding="utf-8")).substitute(
        course_id=course_id,
        cell_timeout=cell_timeout,
        notebook_timeout=notebook_timeout,
        memory_mb=memory_mb,
        max_processes=max_processes,
        max_file_size_mb=max_file_size_mb,
        max_output_lines=max_output_lines,
        sandbox_user=sandbox_user,
    )


def copy_exercises(exercises: Path, source: Path, *, overwrite: bool = False) -> list[str]:
    """Copy every ``exercises/<assignment>/`` that holds a notebook into ``source/``.

    Returns the assignment names copied; an existing ``source/<assignment>`` is kept unless
    ``overwrite``.
    """
    copied = []
    if not exercises.is_dir():
        return copied
    for folder in sorted(p for p in exercises.iterdir() if p.is_dir()):
        if not any(folder.glob("*.ipynb")) or not is_safe_id(folder.name):
            continue
        target = source / folder.name
        if target.exists() and not overwrite:
            continue
        shutil.copytree(
            folder,
            target,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc"),
        )
        copied.append(folder.name)
    return copied


def init_workshop(
    directory: str | os.PathLike[str],
    *,
    course_id: str = "client-protection",
    roster: str | os.PathLike[str] | None = None,
    exercises: str | os.PathLike[str] | None = None,
    force: bool = False,
    **limits: int | str,
) -> Path:
    """Create a standard nbgrader course folder with safe settings.

    Parameters
    ----------
    directory
        The new workshop folder. A non-empty folder is refused unless ``force``; even then
        nothing in it is deleted, and existing files are kept.
    course_id
        nbgrader course id (a safe folder name).
    roster
        Optional roster CSV, checked and imported (all rows or none).
    exercises
        Folder of ``<assignment>/<notebook>.ipynb`` source assignments; default the repository's
        ``exercises/``.
    **limits
        Overrides for :func:`render_config` (``cell_timeout``, ``notebook_timeout``, ...).

    Examples
    --------
    >>> init_workshop("workshop-dakar", course_id="cp-dakar")  # doctest: +SKIP
    PosixPath('/home/trainer/workshop-dakar')
    """
    from nbgrader.api import Gradebook

    root = Path(directory).resolve()
    if not is_safe_id(course_id):
        raise CourseError(f"course id {course_id!r} is not a safe folder name")
    if root.exists() and not root.is_dir():
        raise CourseError(f"{root} exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not force:
        raise CourseError(
            f"{root} is not empty; choose a new folder or pass --force (nothing is deleted)"
        )
    entries = read_roster(roster) if roster is not None else None  # fail before writing
    exercises_dir = Path(exercises) if exercises is not None else default_exercises_dir()
    root.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FOLDERS:
        (root / name).mkdir(exist_ok=True)
    for name in PRIVATE_FOLDERS:
        os.chmod(root / name, 0o700)
    config_path = root / CONFIG_NAME
    if not config_path.exists():
        config_path.write_text(render_config(course_id, **limits), encoding="utf-8")  # type: ignore[arg-type]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id):
        pass
    os.chmod(root / "gradebook.db", 0o600)
    copy_exercises(exercises_dir, root / "source")
    if entries is not None:
        import_roster(root, roster)  # type: ignore[arg-type]
    return root
