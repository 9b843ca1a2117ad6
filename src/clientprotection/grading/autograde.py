"""``cpcourse grade``: parallel, resumable, sandboxed autograding with a status per submission.

How it works (and why): nbgrader's gradebook is one SQLite file, and parallel ``nbgrader
autograde`` processes writing it fail with "database is locked". Each worker process therefore
grades one submission at a time with nbgrader's own ``Autograde`` converter in a private scratch
course (a copy of the source assignment, a copy of the gradebook with this student only, a copy
of the submission), with its kernel in the sandbox. The parent process alone writes the
workshop: it copies the executed notebook to ``autograded/`` (replacing the previous one only
when the new one is complete) and records the grades in the workshop gradebook with nbgrader's
``SaveAutoGrades`` and ``AssignLatePenalties`` on that notebook, so scores are those of plain
``nbgrader autograde``. Each result is saved as soon as it arrives, so a run stopped by Ctrl-C
or a crash resumes where it stopped.

Every scratch file of a run lives in one run folder (``$TMPDIR/cpcourse-run-*``) that the parent
removes when the run ends, also on Ctrl-C, SIGTERM or an error, after killing any process left
in it. The parent holds a lock on the folder for the whole run: a run killed outright (SIGKILL,
a power cut) leaves its folder unlocked, and the next run removes it.
"""

from __future__ import annotations

import concurrent.futures as futures
import csv
import fcntl
import functools
import hashlib
import io
import json
import logging
import multiprocessing
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clientprotection.errors import CourseError

RUN_PREFIX = "cpcourse-run-"
LOCK_NAME = ".lock"
STALE_UNLOCKED_SECONDS = 3600  # a run folder without a lock file is stale after this
STARTING_RUN_SECONDS = 2  # a lock file younger than this may belong to a run still starting
STATUS_COLUMNS = (
    "student_id",
    "status",
    "detail",
    "score",
    "max_score",
    "needs_manual_grading",
    "late",
    "graded_at",
)


@dataclass
class Outcome:
    """What a worker learnt about one submission."""

    student_id: str
    fingerprint: str
    unreadable: dict[str, str] = field(default_factory=dict)  # notebook -> why
    missing_notebooks: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    deleted_tests: list[str] = field(default_factory=list)
    deleted_other: list[str] = field(default_factory=list)
    suspicious: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    test_timeouts: list[str] = field(default_factory=list)
    notebook_timeout: bool = False
    crashed: str = ""
    memory_errors: list[str] = field(default_factory=list)
    error: str = ""
    scratch: str = ""
    autograded: str = ""
    seconds: float = 0.0


def submission_fingerprint(folder: Path) -> str:
    """sha256 over the names and bytes of every file of a submission folder.

    Examples
    --------
    >>> len(submission_fingerprint(Path("submitted/s01/m02-over-indebtedness")))  # doctest: +SKIP
    64
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def expected_notebooks(workshop: Path, assignment: str) -> list[str]:
    """Names (without ``.ipynb``) of the notebooks of ``assignment`` in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{workshop / 'gradebook.db'}") as gradebook:
        try:
            record = gradebook.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(
                f"assignment {assignment!r} is not in the gradebook; run `cpcourse release "
                f"{assignment}` first"
            ) from None
        return sorted(notebook.name for notebook in record.notebooks)


# --------------------------------------------------------------------------- worker side


def grade_submission(job: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission in a scratch course; return an :class:`Outcome` as a dict.

    Runs in a worker process. Never writes the workshop.
    """
    started = time.monotonic()
    workshop = Path(job["workshop"])
    assignment, student = job["assignment"], job["student"]
    submitted = workshop / "submitted" / student / assignment
    outcome = Outcome(student_id=student, fingerprint=submission_fingerprint(submitted))
    scratch = Path(tempfile.mkdtemp(prefix=f"{student}-", dir=job.get("run_folder")))
    os.chmod(scratch, 0o711)
    outcome.scratch = str(scratch)
    try:
        _grade_in_scratch(job, workshop, submitted, scratch, outcome)
    except Exception as error:  # noqa: BLE001 - one bad submission never stops the batch
        outcome.error = f"{type(error).__name__}: {error}"
    except BaseException:  # Ctrl-C, SIGTERM: leave nothing behind
        remove_tree(scratch)
        raise
    outcome.seconds = time.monotonic() - started
    return asdict(outcome)


@functools.lru_cache(maxsize=8)
def _release_notebook(path: str, mtime_ns: int, size: int) -> Any:
    """The release notebook, parsed once per worker (keyed by its time stamp and size)."""
    import nbformat

    return nbformat.read(path, as_version=4)


def _copy_source_files(source: Path, target: Path) -> None:
    """The source assignment's other files, which nbgrader copies next to every submission.

    The source notebooks stay out of the scratch folder: nbgrader restores cells from the
    gradebook, not from them.
    """
    shutil.copytree(
        source,
        target,
        symlinks=False,
        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"),
    )


def _grade_in_scratch(
    job: dict[str, Any], workshop: Path, submitted: Path, scratch: Path, outcome: Outcome
) -> None:
    import nbformat

    from clientprotection.grading import checks, executor

    assignment, student = job["assignment"], job["student"]
    course = scratch / "course"
    course.mkdir(mode=0o711)
    source = course / "source"
    source.mkdir(mode=0o700)
    _copy_source_files(workshop / "source" / assignment, source / assignment)
    gradebook = course / "gradebook.db"
    shutil.copyfile(job["template_db"], gradebook)
    os.chmod(gradebook, 0o600)
    db = sqlite3.connect(gradebook)
    try:  # this student only: others stay private
        db.execute("PRAGMA synchronous = OFF")  # a throw-away copy: no fsync
        with db:
            db.execute("DELETE FROM student WHERE id != ?", (student,))
    finally:
        db.close()
    target = course / "submitted" / student / assignment
    target.mkdir(parents=True, mode=0o700)
    os.chmod(course / "submitted", 0o700)

    notebooks = job["notebooks"]
    files = [p for p in submitted.rglob("*") if p.is_file() and not p.is_symlink()]
    given = {p.stem: p for p in files if p.suffix == ".ipynb" and p.parent == submitted}
    extra = sorted(set(given) - set(notebooks))
    for name in notebooks:
        path = given.get(name)
        if path is None and len(extra) == 1 and len(notebooks) == 1:
            path = given[extra.pop()]
            outcome.renamed.append(f"{path.name} -> {name}.ipynb")
        if path is None:
            outcome.missing_notebooks.append(name)
            continue
        check = checks.read_submission(path)
        if check.unreadable:
            outcome.unreadable[name] = check.unreadable
            continue
        release_path = workshop / "release" / assignment / f"{name}.ipynb"
        if release_path.is_file():
            stat = release_path.stat()
            release = _release_notebook(str(release_path), stat.st_mtime_ns, stat.st_size)
            checks.compare_with_release(check, release)
            checks.scan_for_tricks(check, release)
        outcome.edited += [f"{name}:{g}" for g in check.edited]
        outcome.deleted_tests += [f"{name}:{g}" for g in check.deleted_tests]
        outcome.deleted_other += [f"{name}:{g}" for g in check.deleted_other]
        outcome.suspicious += [f"{name}: {s}" for s in check.suspicious]
        shutil.copyfile(path, target / f"{name}.ipynb")
    outcome.ignored = [f"{n}.ipynb" for n in extra]
    for path in files:  # data files and timestamp.txt travel with the submission
        if path.suffix != ".ipynb":
            destination = target / path.relative_to(submitted)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    if not any(target.glob("*.ipynb")):
        return

    autograded = course / "autograded" / student / assignment
    for _attempt in range(KERNEL_START_ATTEMPTS):
        executor.RUN_EVENTS.clear()
        log = _run_nbgrader_autograde(job, course, scratch)
        if not _kernel_port_clash(log, autograded):
            break
    for events in executor.RUN_EVENTS:
        outcome.timeouts += events["timeouts"]
        outcome.test_timeouts += events["test_timeouts"]
        outcome.notebook_timeout |= events["notebook_timeout"]
        outcome.crashed = outcome.crashed or (events["crashed"] or "")
        outcome.tampering += events["tampering"]
    if autograded.is_dir() and any(autograded.glob("*.ipynb")):
        outcome.autograded = str(autograded)
        for path in autograded.glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            for index, cell in enumerate(nb.cells):
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error" and output.get("ename") == (
                        "MemoryError"
                    ):
                        outcome.memory_errors.append(f"{path.stem} cell {index + 1}")
    elif not outcome.error:
        outcome.error = "nbgrader autograde failed: " + _last_error(log)


#: Two kernels starting at once in parallel workers can pick the same free TCP port; the loser
#: fails to bind ("Address already in use") before any student code runs, so it is started again.
KERNEL_START_ATTEMPTS = 3


def _kernel_port_clash(log: str, autograded: Path) -> bool:
    """Whether a run failed only because its kernel could not bind its ports."""
    produced = autograded.is_dir() and any(autograded.glob("*.ipynb"))
    return not produced and "Address already in use" in log


def _run_nbgrader_autograde(job: dict[str, Any], course: Path, scratch: Path) -> str:
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from clientprotection.grading.executor import GuardedExecute
    from clientprotection.grading.sandbox import sandbox_settings
    from clientprotection.grading.settings import grading_limits, load_config

    config = load_config(Path(job["workshop"]))
    limits = grading_limits(config)
    cell_timeout = int(config.Execute.get("timeout", 30) or 30)
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    config.CourseDirectory.assignment_id = job["assignment"]
    config.CourseDirectory.student_id = job["student"]
    config.Autograde.autograde_preprocessors = [
        GuardedExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    config.GuardedExecute.notebook_timeout = limits.notebook_timeout
    # every output is in by then and the scratch kernel is never reused: stop it at once
    # rather than wait (a tenth of a second or more) for a polite shutdown
    config.GuardedExecute.shutdown_kernel = "immediate"
    config.SandboxKernelManager.sandbox = sandbox_settings(
        str(scratch / "kernel"),
        memory_mb=limits.memory_mb,
        max_processes=limits.max_processes,
        max_file_size_mb=limits.max_file_size_mb,
        cpu_seconds=limits.notebook_timeout + cell_timeout + 10,
        user=limits.sandbox_user,
        env={"CPCOURSE_CACHE": job["data_cache"]} if job.get("data_cache") else None,
    )
    (scratch / "kernel").mkdir()
    os.chmod(scratch / "kernel", 0o711)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.INFO)
    coursedir = CourseDirectory(config=config)
    converter = Autograde(coursedir=coursedir, config=config)
    converter.log.addHandler(handler)
    converter.log.setLevel(logging.INFO)
    converter.log.propagate = False
    try:
        converter.start()
    except Exception as error:  # noqa: BLE001 - logged below, judged by the parent
        stream.write(f"\n{type(error).__name__}: {error}\n")
    finally:
        converter.log.removeHandler(handler)
    return stream.getvalue()


def _last_error(log: str) -> str:
    lines = [line for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else "no log"


# --------------------------------------------------------------------------- parent side


def _status(outcome: Outcome, notebooks: list[str]) -> tuple[str, str]:
    details: list[str] = []
    if outcome.renamed:
        details.append("renamed " + ", ".join(outcome.renamed))
    if outcome.ignored:
        details.append("ignored extra " + ", ".join(outcome.ignored))
    if outcome.missing_notebooks:
        details.append("no " + ", ".join(f"{n}.ipynb" for n in outcome.missing_notebooks))
    if outcome.unreadable:
        details.append("; ".join(f"{n}.ipynb: {why}" for n, why in outcome.unreadable.items()))
    if outcome.memory_errors:
        details.append("memory limit hit in " + ", ".join(outcome.memory_errors))
    if outcome.test_timeouts:
        details.append("test timed out: " + ", ".join(outcome.test_timeouts))
    if outcome.error:
        return "error", "; ".join([outcome.error, *details])
    if not outcome.autograded:
        if outcome.unreadable:
            return "unreadable", "; ".join(details)
        return "missing", "; ".join(details) or "no notebook in the submission"
    if outcome.crashed:
        return "crashed", "; ".join(
            [f"the kernel died in {outcome.crashed} (os._exit, a crash or a limit); "
             "autograded parts scored 0", *details]
        )
    if outcome.timeouts or outcome.notebook_timeout:
        where = ", ".join(outcome.timeouts) or "the whole-notebook limit"
        return "timed out", "; ".join(
            [f"{where} timed out; the notebook does not run to the end, autograded parts "
             "scored 0", *details]
        )
    tampering = (
        [f"edited read-only {g} (restored)" for g in outcome.edited]
        + [f"deleted test {g} (restored)" for g in outcome.deleted_tests]
        + outcome.suspicious
        + outcome.tampering
    )
    if tampering:
        return "tampered", "; ".join([*tampering, *details])
    if outcome.deleted_other:
        return "cells restored", "; ".join(
            [f"restored deleted {', '.join(outcome.deleted_other)}", *details]
        )
    if outcome.test_timeouts:
        return "timed out", "; ".join(details)
    return "graded", "; ".join(details)


def _merge(workshop: Path, assignment: str, outcome: Outcome, notebooks: list[str]) -> dict:
    """Write one outcome into the workshop (parent process only). Returns the status row."""
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
    from nbgrader.utils import parse_utc

    from clientprotection.grading.settings import load_config

    status, detail = _status(outcome, notebooks)
    # the notebook does not run to the end: nothing it printed before can earn marks
    fatal = bool(outcome.crashed or outcome.timeouts or outcome.notebook_timeout)
    db_url = f"sqlite:///{workshop / 'gradebook.db'}"
    student, now = outcome.student_id, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    row = dict.fromkeys(STATUS_COLUMNS, "")
    row.update(student_id=student, status=status, detail=detail, graded_at=now)
    if status == "error" and not outcome.autograded:
        return row
    timestamp_file = workshop / "submitted" / student / assignment / "timestamp.txt"
    timestamp = None
    if timestamp_file.is_file():
        try:
            timestamp = parse_utc(timestamp_file.read_text().strip())
        except Exception:  # noqa: BLE001 - a bad timestamp must not stop grading
            timestamp = None
    if outcome.autograded:
        _replace_folder(Path(outcome.autograded), workshop / "autograded" / student / assignment)
    config = load_config(workshop)
    with Gradebook(db_url) as gradebook:
        if timestamp is not None:
            gradebook.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gradebook.update_or_create_submission(assignment, student)
        submission = gradebook.find_submission(assignment, student)
        for record in submission.notebooks:
            for grade in record.grades:  # start from zero, like a fresh autograde
                grade.auto_score = 0 if grade.cell.cell_type == "code" else grade.auto_score
            gradebook.db.commit()
    for name in notebooks:
        path = workshop / "autograded" / student / assignment / f"{name}.ipynb"
        if not outcome.autograded or not path.is_file():
            continue
        nb = nbformat.read(path, as_version=4)
        resources = {
            "nbgrader": {
                "student": student,
                "assignment": assignment,
                "notebook": name,
                "db_url": db_url,
            }
        }
        nb, resources = SaveAutoGrades(config=config).preprocess(nb, resources)
        AssignLatePenalties(config=config).preprocess(nb, resources)
    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        for record in submission.notebooks:
            unusable = (
                not outcome.autograded
                or record.name in outcome.unreadable
                or record.name in outcome.missing_notebooks
            )
            for grade in record.grades:
                if unusable:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                elif fatal and grade.cell.cell_type == "code":
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            record.flagged = status not in {"graded", "cells restored"}
        gradebook.db.commit()
        submission = gradebook.find_submission(assignment, student)
        row.update(
            score=_number(submission.score),
            max_score=_number(submission.max_score),
            needs_manual_grading=str(bool(submission.needs_manual_grade)).lower(),
            late=str(bool(submission.total_seconds_late > 0)).lower(),
        )
        if status == "graded" and submission.needs_manual_grade:
            row["status"] = "needs manual grading"
    return row


def _number(value: float) -> str:
    return f"{float(value):g}"


def _replace_folder(new: Path, final: Path) -> None:
    """Put ``new`` at ``final``; the old folder is removed only once the new one is in place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.with_name(final.name + ".incoming")
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(new, staging, symlinks=True, ignore=_ignore_links)
    old = final.with_name(final.name + ".previous")
    if final.exists():
        if old.exists():
            shutil.rmtree(old)
        final.rename(old)
    staging.rename(final)
    if old.exists():
        shutil.rmtree(old)


def _ignore_links(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if os.path.islink(os.path.join(folder, n))]


class StatusStore:
    """The status CSV and the resume state of one assignment (``reports/<assignment>/``)."""

    def __init__(self, workshop: Path, assignment: str) -> None:
        self.folder = workshop / "reports" / assignment
        self.folder.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.folder / "grading-status.csv"
        self.state_path = self.folder / ".grading-state.json"
        self.state: dict[str, dict[str, Any]] = {}
        if self.state_path.is_file():
            try:
                self.state = json.loads(self.state_path.read_text())
            except json.JSONDecodeError:
                self.state = {}

    def done(self, student: str, fingerprint: str) -> bool:
        entry = self.state.get(student)
        return bool(entry) and entry.get("fingerprint") == fingerprint and entry["row"][
            "status"
        ] not in {"error"}

    def save(self, row: dict[str, str], fingerprint: str = "") -> None:
        self.state[row["student_id"]] = {"fingerprint": fingerprint, "row": row}
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.state, indent=1, sort_keys=True))
        temporary.replace(self.state_path)
        self.write_csv()

    def drop(self, keep: set[str]) -> None:
        for student in set(self.state) - keep:
            del self.state[student]

    def rows(self) -> list[dict[str, str]]:
        return [self.state[s]["row"] for s in sorted(self.state)]

    def write_csv(self) -> None:
        temporary = self.csv_path.with_suffix(".tmp")
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=STATUS_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows())
        temporary.replace(self.csv_path)


def _template_gradebook(workshop: Path, folder: Path) -> Path:
    """A copy of the gradebook with the assignments and students but no submissions.

    Each worker copies this file (one file copy, no schema creation) for its submission.
    """
    template = folder / "template.db"
    with sqlite3.connect(workshop / "gradebook.db") as source, sqlite3.connect(template) as copy:
        source.backup(copy)
    with sqlite3.connect(template) as db:
        for table in ("comment", "grade", "submitted_notebook", "submitted_assignment"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    os.chmod(template, 0o600)
    return template


def grade_assignment(
    workshop: Path,
    assignment: str,
    *,
    workers: int = 1,
    students: list[str] | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[dict[str, str]]:
    """Autograde every submission of ``assignment``; return one status row per student.

    Parameters
    ----------
    workshop
        The workshop folder.
    assignment
        Assignment id (released and collected).
    workers
        Submissions graded at the same time (one kernel each).
    students
        Only these students (always regraded); default everyone.
    force
        Regrade submissions already graded and unchanged since.
    progress
        Show a tqdm progress bar with an ETA on stderr.

    Examples
    --------
    >>> rows = grade_assignment(Path("."), "m02-over-indebtedness", workers=2)  # doctest: +SKIP
    >>> rows[0]["status"]                                                       # doctest: +SKIP
    'needs manual grading'
    """
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    notebooks = expected_notebooks(workshop, assignment)
    with Gradebook(f"sqlite:///{workshop / 'gradebook.db'}") as gradebook:
        roster = {s.id for s in gradebook.students}
    submitted_root = workshop / "submitted"
    folders = {
        p.parent.name: p
        for p in submitted_root.glob(f"*/{assignment}")
        if p.is_dir() and not p.parent.name.startswith(".")
    }
    wanted = set(students) if students else set(roster) | set(folders)
    if students:
        unknown = set(students) - roster - set(folders)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise CourseError(f"no student {names} in the roster or in submitted/")
    store = StatusStore(workshop, assignment)
    if not students:
        store.drop(wanted)
    jobs = []
    for student in sorted(wanted):
        folder = folders.get(student)
        if folder is None:
            store.save(
                dict(
                    zip(
                        STATUS_COLUMNS,
                        (student, "missing", "no submission collected", "0", "", "false",
                         "false", ""),
                        strict=True,
                    )
                )
            )
            continue
        if student not in roster:
            store.save(
                dict(
                    zip(
                        STATUS_COLUMNS,
                        (student, "unknown student",
                         f"submitted/{student} is not in the roster; import the roster "
                         "(cpcourse workshop init --roster) or remove the folder", "", "",
                         "false", "false", ""),
                        strict=True,
                    )
                )
            )
            continue
        if not force and not students and store.done(student, submission_fingerprint(folder)):
            continue
        jobs.append(student)
    sweep_stale_runs()
    if not jobs:
        store.write_csv()
        return store.rows()
    with RunFolder() as run, _terminate_as_interrupt():
        cache = _start_data_cache(run.path / "cache", workshop, assignment)
        template = _template_gradebook(workshop, run.path)
        _preload()
        common = {
            "workshop": str(workshop),
            "assignment": assignment,
            "notebooks": notebooks,
            "template_db": str(template),
            "run_folder": str(run.path),
            "data_cache": _finish_data_cache(cache),
        }
        # fork after the slow imports (nbformat's validator alone takes seconds): every worker
        # starts warm. The parent holds no kernel, event loop, thread or open gradebook here.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = futures.ProcessPoolExecutor(
            max_workers=max(1, workers),
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(run.lock_fd, str(run.path)),
        )
        bar = None
        try:
            pending = {pool.submit(grade_submission, {**common, "student": s}): s for s in jobs}
            bar = tqdm(total=len(jobs), desc=f"grading {assignment}", unit="nb",
                       disable=not progress)
            for future in futures.as_completed(pending):
                student = pending[future]
                try:
                    outcome = Outcome(**future.result())
                except Exception as error:  # noqa: BLE001 - a dead worker fails one submission
                    outcome = Outcome(student_id=student, fingerprint="", error=repr(error))
                try:
                    row = _merge(workshop, assignment, outcome, notebooks)
                finally:
                    if outcome.scratch:
                        remove_tree(Path(outcome.scratch))
                store.save(row, outcome.fingerprint)
                bar.set_postfix_str(f"{student}: {row['status']}")
                bar.update()
        except BaseException:
            # Ctrl-C, SIGTERM or a grader error: stop the workers now rather than let them
            # finish their submissions (up to the notebook time limit)
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                if process.is_alive():
                    process.terminate()
            raise
        finally:
            if bar is not None:
                bar.close()
            pool.shutdown(wait=True, cancel_futures=True)
    return store.rows()


# --------------------------------------------------------------------------- run folder


class RunFolder:
    """The private scratch folder of one grade run: locked while the run lives, then removed.

    Everything a run writes outside the workshop goes in here: the template gradebook, the
    shared data cache and one folder per submission. The lock (``flock`` on ``.lock``) is held
    by the parent process only; the operating system releases it when that process dies, which
    is how :func:`sweep_stale_runs` tells a folder of a killed run from one in use.

    Examples
    --------
    >>> with RunFolder() as run:
    ...     run.path.name.startswith(RUN_PREFIX)
    True
    """

    def __init__(self, parent: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=parent))
        os.chmod(self.path, 0o711)  # kernels reach their own folder; nobody lists the others
        self.lock_fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def close(self) -> None:
        """Kill what still runs in the folder, remove it, then release the lock."""
        if self.lock_fd < 0:
            return
        try:
            kill_processes_in(self.path)
            remove_tree(self.path)
        finally:
            os.close(self.lock_fd)
            self.lock_fd = -1

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _init_worker(lock_fd: int, run_folder: str) -> None:
    """Set up a worker process: it must not keep the run's lock, nor outlive the parent."""
    for number in _terminate_as_interrupt.signals:  # the parent's handlers are not for us
        signal.signal(number, signal.SIG_DFL)
    try:
        os.close(lock_fd)  # the parent's copy keeps the lock; a dead parent releases it
    except OSError:
        pass
    _die_with_parent()
    _fast_scratch_sqlite(run_folder)
    _reuse_metadata_validators()


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the parent dies (no effect elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _fast_scratch_sqlite(run_folder: str) -> None:
    """No fsync on the scratch gradebooks of this worker: they are thrown away after use."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    prefix = os.path.realpath(run_folder) + os.sep

    @event.listens_for(Engine, "connect")
    def _scratch_pragmas(connection: Any, _record: Any) -> None:
        if not isinstance(connection, sqlite3.Connection):
            return
        files = [row[2] for row in connection.execute("PRAGMA database_list") if row[2]]
        if files and all(os.path.realpath(f).startswith(prefix) for f in files):
            connection.execute("PRAGMA synchronous = OFF")
            connection.execute("PRAGMA journal_mode = MEMORY")


class _CachedSchemaValidation:
    """``jsonschema.validate`` with the validator of each schema built once, not once per cell.

    nbgrader checks the metadata of every cell with ``jsonschema.validate(meta, schema)``,
    which checks the schema itself and builds a validator on every call (about 0.1 s per
    submission). Same checks, same first error raised.
    """

    def __init__(self, jsonschema: Any) -> None:
        self._jsonschema = jsonschema
        self._validators: dict[int, tuple[Any, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jsonschema, name)

    def validate(self, instance: Any, schema: Any, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            return self._jsonschema.validate(instance, schema, *args, **kwargs)
        known = self._validators.get(id(schema))
        if known is None or known[0] is not schema:
            cls = self._jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            if len(self._validators) > 32:
                self._validators.clear()
            known = self._validators[id(schema)] = (schema, cls(schema))
        error = self._jsonschema.exceptions.best_match(known[1].iter_errors(instance))
        if error is not None:
            raise error
        return None


def _reuse_metadata_validators() -> None:
    """Make nbgrader's cell metadata checks in this worker build each validator once."""
    try:
        from nbgrader.nbgraderformat import common
    except ImportError:  # pragma: no cover - nbgrader is a dependency
        return
    if not isinstance(common.jsonschema, _CachedSchemaValidation):
        common.jsonschema = _CachedSchemaValidation(common.jsonschema)


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C so that the run cleans up after itself."""


class _terminate_as_interrupt:  # noqa: N801 - used as a context manager
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt in the main thread, for a ``with`` block."""

    signals = (signal.SIGTERM, signal.SIGHUP)

    def __enter__(self) -> None:
        self.previous: dict[int, Any] = {}
        for number in self.signals:
            try:
                self.previous[number] = signal.signal(number, self._raise)
            except ValueError:  # not the main thread: leave signals alone
                pass

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    @staticmethod
    def _raise(number: int, _frame: Any) -> None:
        raise _Terminated(f"stopped by signal {signal.Signals(number).name}")


def remove_tree(folder: Path) -> None:
    """Remove ``folder`` even when student code left read-only or unreadable folders in it.

    Examples
    --------
    >>> remove_tree(Path(tempfile.mkdtemp()))
    """
    if not os.path.lexists(folder):
        return
    if folder.is_symlink() or not folder.is_dir():
        folder.unlink(missing_ok=True)
        return
    uid = os.geteuid()
    for current, dirs, _files in os.walk(folder):
        for name in dirs:  # top-down: made enterable before os.walk lists them
            path = os.path.join(current, name)
            try:
                if not os.path.islink(path) and (uid == 0 or os.stat(path).st_uid == uid):
                    os.chmod(path, 0o700)
            except OSError:
                pass
    shutil.rmtree(folder, ignore_errors=True)


def kill_processes_in(folder: Path) -> int:
    """Kill every process working in ``folder`` or naming a path inside it; return how many.

    Kernels whose worker died, and processes a submission started and left running, are found
    by their working folder or their command line (the kernel's connection file is in its
    scratch folder).
    """
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency of the course
        return 0
    root = os.path.realpath(folder)
    inside = root + os.sep
    victims = []
    for process in psutil.process_iter(["pid", "cwd", "cmdline"]):
        if process.pid == os.getpid():
            continue
        cwd = process.info.get("cwd") or ""
        command = process.info.get("cmdline") or []
        if cwd == root or cwd.startswith(inside) or any(inside in arg for arg in command):
            victims.append(process)
    for process in victims:
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(victims, timeout=5)
    return len(victims)


def sweep_stale_runs(parent: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the run folders of grade runs that were killed before they could clean up.

    A folder is stale when nobody holds its lock (its run is dead), or when it has no lock file
    and is older than an hour. Only folders of the current user are touched.

    Examples
    --------
    >>> sweep_stale_runs(tempfile.mkdtemp())
    []
    """
    removed = []
    base = Path(parent if parent is not None else tempfile.gettempdir())
    for folder in sorted(base.glob(RUN_PREFIX + "*")):
        try:
            info = folder.lstat()
        except OSError:
            continue
        if folder.is_symlink() or not folder.is_dir() or info.st_uid != os.geteuid():
            continue
        try:
            fd = os.open(folder / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            if time.time() - info.st_mtime < STALE_UNLOCKED_SECONDS:
                continue  # a run that is just starting
            fd = -1
        except OSError:
            continue
        try:
            if fd >= 0:
                if time.time() - os.fstat(fd).st_mtime < STARTING_RUN_SECONDS:
                    continue  # created a moment ago: its run may not have locked it yet
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live run holds it
            kill_processes_in(folder)
            remove_tree(folder)
            removed.append(folder)
        finally:
            if fd >= 0:
                os.close(fd)
    return removed


# --------------------------------------------------------------------------- shared data cache

_LOAD_MFI_CALL = re.compile(r"load_mfi\(\s*(?:scenario\s*=\s*)?(?:[\"']([^\"']+)[\"'])?\s*\)")


def datasets_used(notebooks: list[Path]) -> list[str]:
    """The datasets the notebooks load with ``load_mfi(...)`` (``"default"`` for no argument).

    Examples
    --------
    >>> import nbformat
    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> path = Path(tempfile.mkdtemp()) / "a.ipynb"
    >>> nbformat.write(new_notebook(cells=[new_code_cell("mfi = load_mfi()")]), path)
    >>> datasets_used([path])
    ['default']
    """
    found: set[str] = set()
    for path in notebooks:
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            found.update(match or "default" for match in _LOAD_MFI_CALL.findall(text))
    return sorted(found)


_FILL_CACHE = (  # a dataset that does not load is left to the kernels (and their errors)
    "import sys\n"
    "from clientprotection.data import load_mfi\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        load_mfi(name)\n"
    "    except Exception:\n"
    "        pass\n"
)


def _start_data_cache(
    cache: Path, workshop: Path, assignment: str
) -> tuple[Path, subprocess.Popen] | None:
    """Start filling a data cache the kernels can read (parsed once, not once per submission).

    The grader writes it before any student code runs, in a folder the kernels can read but
    not write; kernels find it through ``CPCOURSE_CACHE``. It is filled in a child process,
    while the parent prepares the rest of the run.
    """
    names = datasets_used(sorted((workshop / "source" / assignment).glob("*.ipynb")))
    if not names:
        return None
    cache.mkdir(mode=0o755)
    env = dict(os.environ, CPCOURSE_CACHE=str(cache), PYTHONWARNINGS="ignore")
    process = subprocess.Popen(
        [sys.executable, "-c", _FILL_CACHE, *names],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return cache, process


def _finish_data_cache(started: tuple[Path, subprocess.Popen] | None) -> str:
    """Wait for the cache; make it read-only for everyone. ``""`` when there is none."""
    if started is None:
        return ""
    cache, process = started
    try:
        code = process.wait(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        code = -1
    if code != 0 or not any(cache.rglob("*.pickle")):  # nothing cached: as without a cache
        remove_tree(cache)
        return ""
    for current, dirs, files in os.walk(cache):
        for name in files:
            os.chmod(os.path.join(current, name), 0o444)
        for name in dirs:
            os.chmod(os.path.join(current, name), 0o555)
    os.chmod(cache, 0o555)
    return str(cache)


def _preload() -> None:
    import nbconvert.preprocessors  # noqa: F401
    import nbformat
    import nbgrader.api  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401
    import sqlalchemy  # noqa: F401

    from clientprotection.grading import checks, executor  # noqa: F401

    nbformat.validate(nbformat.v4.new_notebook())


def format_table(rows: list[dict[str, str]]) -> str:
    """The status rows as a fixed-width text table.

    Examples
    --------
    >>> print(format_table([{"student_id": "s01", "status": "graded", "score": "3",
    ...                      "max_score": "3", "detail": ""}]))
    student  status  score  detail
    s01      graded  3/3
    """
    table = [("student", "status", "score", "detail")] + [
        (
            r["student_id"],
            r["status"],
            f"{r['score']}/{r['max_score']}" if r.get("max_score") else r.get("score", ""),
            (r.get("detail") or "")[:100],
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(line[:3], widths, strict=True)), line[3]])
        .rstrip()
        for line in table
    )


def ensure_tools_on_path() -> None:
    """Put the interpreter's folder on PATH (nbgrader calls ``alembic`` from there)."""
    folder = str(Path(sys.executable).parent)
    if folder not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = folder + os.pathsep + os.environ.get("PATH", "")
