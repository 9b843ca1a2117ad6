"""Grade reports for instructors: per question, per student, per principle, for the LMS.

Everything is read from nbgrader's gradebook (``nbgrader.api.Gradebook``), so the numbers are
the ones ``nbgrader export`` and the formgrader show; the flags that the gradebook cannot hold
(unreadable, timed out, tampered, cells restored) come from the ``grading-status.csv`` that
``cpcourse grade`` writes, when it is there. Every student of the roster appears in every
table: a student with no submission is flagged ``missing``, never dropped.

:func:`write_report` writes, under ``<workshop>/reports/<assignment or all>/``:

==========================  ==================================================================
``grades-long.csv``         one row per student and question: score, max, needs manual grading
``grades-wide.csv``         one row per student and assignment, one column per grade id, flags
``grades-principles.csv``   one row per student, score and maximum per principle
``item-analysis.csv``       per question: mean, share of full marks and of zero, discrimination
``lms-moodle.csv``          Moodle grade import (First name, Last name, ID number, Email address)
``lms-canvas.csv``          Canvas gradebook import (Student, ID, SIS User ID, Section, with
                            the "Points Possible" row)
``score-distribution.png``  histogram of the students' final scores (percent)
``question-means.png``      mean score per question (percent of its maximum)
``summary.html``            one self-contained page: plots, students and flags, item analysis
==========================  ==================================================================

Examples
--------
>>> from clientprotection.grading.report import write_report
>>> report = write_report("my-workshop", "m02-over-indebtedness")  # doctest: +SKIP
>>> print(report.terminal_summary)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # reports are written headless, on a server or in CI

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from nbgrader.api import Gradebook  # noqa: E402

from clientprotection.errors import CourseError  # noqa: E402
from clientprotection.grading.feedback import Workshop, load_workshop  # noqa: E402
from clientprotection.principles import module_for_assignment, module_for_grade_id  # noqa: E402

__all__ = [
    "GradeData",
    "Report",
    "STATUS_FILE",
    "canvas_table",
    "discrimination_index",
    "item_analysis",
    "item_rest_correlation",
    "load_grade_data",
    "moodle_table",
    "principle_label",
    "principle_table",
    "read_grading_status",
    "student_table",
    "terminal_summary",
    "write_report",
]

STATUS_FILE = "grading-status.csv"
GRADED = "graded"
NEEDS_MANUAL = "needs manual grading"
TIMED_OUT = "timed out"
UNREADABLE = "unreadable"
TAMPERED = "tampered"
CELLS_RESTORED = "cells restored"
MISSING = "missing"
CRASHED = "crashed"
ERROR = "error"
#: statuses of ``grading-status.csv`` that mean the grading itself did not finish
PROBLEM_STATUSES = (UNREADABLE, TIMED_OUT, CRASHED, ERROR)
#: statuses whose score is not final: the LMS files leave the grade empty for them
PENDING_STATUSES = (NEEDS_MANUAL, *PROBLEM_STATUSES)
FLAG_COLUMNS = ("needs_manual_grading", "unreadable", "timed_out", "tampered",
                "cells_restored", "late", "missing")
UPPER_LOWER_SHARE = 0.27  # Kelley's upper and lower 27 % groups for the discrimination index
_TRUE_WORDS = {"1", "true", "yes", "y", "t"}


# --------------------------------------------------------------------------------------------
# Reading


def principle_label(grade_id: str, assignment: str = "") -> str:
    """The principle a question counts towards, from the course map in ``principles.py``.

    The grade id prefix (``m02_``) decides; the assignment name is the fallback; modules
    without a principle (introduction, capstone) use the module title.

    Examples
    --------
    >>> principle_label("m02_dsr_share_answer")
    'Prevention of over-indebtedness'
    >>> principle_label("m99_sum_test", "m99-sums")
    'm99 (not in the course map)'
    """
    for lookup, key in ((module_for_grade_id, grade_id), (module_for_assignment, assignment)):
        try:
            module = lookup(key)
        except ValueError:
            continue
        return module.principle or module.title
    prefix = grade_id.split("_", 1)[0] if grade_id else assignment
    return f"{prefix} (not in the course map)"


def _as_bool(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip().str.lower().isin(_TRUE_WORDS)


def read_grading_status(workshop: Workshop, assignment: str) -> pd.DataFrame:
    """The status table ``cpcourse grade`` wrote for an assignment (empty if there is none).

    Returns
    -------
    DataFrame
        Columns ``assignment, student_id, status, detail, late``; ``late`` is boolean.

    Examples
    --------
    >>> read_grading_status(load_workshop("my-workshop"), "m02-over-indebtedness")  # doctest: +SKIP
    """
    path = workshop.root / "reports" / assignment / STATUS_FILE
    columns = ["assignment", "student_id", "status", "detail", "late"]
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "student_id" not in table or "status" not in table:
        raise CourseError(
            f"{path} has no student_id and status columns; delete it and run "
            f"`cpcourse grade {assignment}` again"
        )
    table["assignment"] = assignment
    table["status"] = table["status"].str.strip().str.lower()
    table["detail"] = table.get("detail", pd.Series("", index=table.index))
    table["late"] = _as_bool(table.get("late", pd.Series("", index=table.index)))
    return table.drop_duplicates("student_id", keep="last")[columns].reset_index(drop=True)


@dataclass
class GradeData:
    """What the gradebook knows about a set of assignments, as tables.

    Attributes
    ----------
    assignments : list of str
        The assignments covered.
    roster : DataFrame
        One row per student: ``student_id, first_name, last_name, email, lms_user_id``.
    items : DataFrame
        One row per graded question: ``assignment, notebook, grade_id, cell_type, max_score,
        principle, order``.
    submissions : DataFrame
        One row per student and assignment: ``submitted, raw_score, late_penalty, score,
        max_score, needs_manual_grading, seconds_late, timestamp``. ``score`` is
        ``max(0, raw_score - late_penalty)``, as ``nbgrader export`` computes it; a student
        without a submission has no raw score and a score of 0.
    grades : DataFrame
        One row per student and question (also for students with no submission, whose scores
        are empty): ``score, max_score, auto_score, manual_score, extra_credit,
        needs_manual_grading``.
    """

    assignments: list[str]
    roster: pd.DataFrame
    items: pd.DataFrame
    submissions: pd.DataFrame
    grades: pd.DataFrame


def _question_order(workshop: Workshop, assignment: str, notebook: str) -> dict[str, int]:
    path = workshop.step_folder("source", ".", assignment) / f"{notebook}.ipynb"
    if not path.is_file():
        return {}
    source = nbformat.read(path, as_version=4)
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in source.cells]
    return {grade_id: index for index, grade_id in enumerate(ids) if grade_id}


def load_grade_data(
    workshop: Workshop, assignments: Sequence[str] | None = None
) -> GradeData:
    """Read scores, maxima and manual-grading flags from the gradebook.

    Parameters
    ----------
    workshop : Workshop
        The open workshop folder.
    assignments : sequence of str, optional
        Which assignments; all assignments of the gradebook when omitted.

    Returns
    -------
    GradeData

    Raises
    ------
    CourseError
        If an assignment is not in the gradebook, or the gradebook has none.

    Examples
    --------
    >>> data = load_grade_data(load_workshop("my-workshop"))  # doctest: +SKIP
    >>> data.grades.groupby("student_id")["score"].sum()  # doctest: +SKIP
    """
    roster_rows, item_rows, submission_rows, grade_rows = [], [], [], []
    with Gradebook(workshop.db_url) as gradebook:
        known = [a.name for a in gradebook.assignments]
        chosen = list(assignments) if assignments else known
        if not chosen:
            raise CourseError(
                f"the gradebook of {workshop.root} has no assignment yet; run "
                "`cpcourse release` and `cpcourse grade ASSIGNMENT` first"
            )
        for name in chosen:
            if name not in known:
                raise CourseError(
                    f"assignment {name!r} is not in the gradebook of {workshop.root}; known: "
                    f"{', '.join(known) or 'none'}. Release it with `cpcourse release {name}`."
                )
        for student in gradebook.students:
            roster_rows.append({
                "student_id": student.id, "first_name": student.first_name or "",
                "last_name": student.last_name or "", "email": student.email or "",
                "lms_user_id": student.lms_user_id or "",
            })
        for name in chosen:
            assignment = gradebook.find_assignment(name)
            for notebook in assignment.notebooks:
                order = _question_order(workshop, name, notebook.name)
                for cell in list(notebook.grade_cells) + list(notebook.task_cells):
                    item_rows.append({
                        "assignment": name, "notebook": notebook.name, "grade_id": cell.name,
                        "cell_type": cell.cell_type, "max_score": float(cell.max_score),
                        "principle": principle_label(cell.name, name),
                        "order": order.get(cell.name, len(order) + 1000),
                    })
            for submission in assignment.submissions:
                submission_rows.append({
                    "assignment": name, "student_id": submission.student.id,
                    "submitted": True, "raw_score": float(submission.score),
                    "late_penalty": float(submission.late_submission_penalty or 0.0),
                    "max_score": float(assignment.max_score),
                    "needs_manual_grading": bool(submission.needs_manual_grade),
                    "seconds_late": float(submission.total_seconds_late),
                    "timestamp": submission.timestamp,
                })
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        grade_rows.append({
                            "assignment": name, "student_id": submission.student.id,
                            "notebook": notebook.name, "grade_id": grade.name,
                            "score": float(grade.score), "max_score": float(grade.max_score),
                            "auto_score": grade.auto_score, "manual_score": grade.manual_score,
                            "extra_credit": grade.extra_credit,
                            "needs_manual_grading": bool(grade.needs_manual_grade),
                        })
            max_score = float(assignment.max_score)
            submitted_ids = {s.student.id for s in assignment.submissions}
            for student in gradebook.students:
                if student.id not in submitted_ids:
                    submission_rows.append({
                        "assignment": name, "student_id": student.id, "submitted": False,
                        "raw_score": np.nan, "late_penalty": 0.0, "max_score": max_score,
                        "needs_manual_grading": False, "seconds_late": 0.0, "timestamp": None,
                    })
    roster = pd.DataFrame(
        roster_rows, columns=["student_id", "first_name", "last_name", "email", "lms_user_id"])
    items = pd.DataFrame(item_rows, columns=[
        "assignment", "notebook", "grade_id", "cell_type", "max_score", "principle", "order"])
    items = items.sort_values(["assignment", "notebook", "order", "grade_id"]).reset_index(
        drop=True)
    submissions = pd.DataFrame(submission_rows)
    submissions["score"] = (submissions["raw_score"] - submissions["late_penalty"]).clip(
        lower=0.0).fillna(0.0)
    graded = pd.DataFrame(grade_rows, columns=[
        "assignment", "student_id", "notebook", "grade_id", "score", "max_score", "auto_score",
        "manual_score", "extra_credit", "needs_manual_grading"])
    # every roster student gets a row per question; no submission leaves the score empty
    frame = submissions[["assignment", "student_id"]].merge(
        items[["assignment", "notebook", "grade_id", "max_score", "principle", "order"]],
        on="assignment")
    grades = frame.merge(
        graded.drop(columns="max_score"), on=["assignment", "student_id", "notebook", "grade_id"],
        how="left")
    grades["needs_manual_grading"] = grades["needs_manual_grading"].astype("boolean").fillna(
        False).astype(bool)
    grades = grades.sort_values(["assignment", "student_id", "notebook", "order"]).reset_index(
        drop=True)
    return GradeData(chosen, roster, items, submissions, grades)


# --------------------------------------------------------------------------------------------
# Tables


def student_table(data: GradeData, status: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per student and assignment: a column per grade id, totals, status and flags.

    Parameters
    ----------
    data : GradeData
    status : DataFrame, optional
        The ``grading-status.csv`` rows (see :func:`read_grading_status`).

    Returns
    -------
    DataFrame
        ``assignment, student_id, first_name, last_name, email``, one column per grade id
        (empty for a student without submission), ``raw_score, late_penalty, score, max_score,
        percent, status, detail`` and the boolean flags ``needs_manual_grading, unreadable,
        timed_out, tampered, cells_restored, late, missing``.

    Notes
    -----
    The status is decided in this order: unreadable, timed out, crashed or error (from the
    status file); no submission in the gradebook, or "missing" in the status file; a question
    still waiting for a manual grade (the gradebook decides, so a grade given in the
    formgrader clears it); tampered or cells restored (from the status file); otherwise
    graded. A submission with an unfinished status is left out of the item analysis.

    Examples
    --------
    >>> table = student_table(load_grade_data(load_workshop("w")))  # doctest: +SKIP
    """
    if status is None or status.empty:
        status = pd.DataFrame(columns=["assignment", "student_id", "status", "detail", "late"])
    wide = data.grades.pivot_table(
        index=["assignment", "student_id"], columns="grade_id", values="score",
        aggfunc="sum", dropna=False, sort=False, min_count=1)
    grade_columns = list(dict.fromkeys(data.items["grade_id"]))
    wide = wide.reindex(columns=grade_columns).reset_index()
    wide.columns.name = None
    table = data.submissions.merge(wide, on=["assignment", "student_id"], how="left")
    extra = status[~status.set_index(["assignment", "student_id"]).index.isin(
        table.set_index(["assignment", "student_id"]).index)]
    if not extra.empty:  # in the status file only (e.g. unreadable and never in the gradebook)
        max_by_assignment = data.submissions.groupby("assignment")["max_score"].first()
        table = pd.concat([table, pd.DataFrame({
            "assignment": extra["assignment"], "student_id": extra["student_id"],
            "submitted": False, "raw_score": np.nan, "late_penalty": 0.0, "score": 0.0,
            "max_score": extra["assignment"].map(max_by_assignment),
            "needs_manual_grading": False, "seconds_late": 0.0, "timestamp": None,
        })], ignore_index=True)
    table = table.merge(status[["assignment", "student_id", "status", "detail", "late"]].rename(
        columns={"status": "file_status", "late": "file_late"}),
        on=["assignment", "student_id"], how="left")
    file_status = table["file_status"].fillna("")
    table["unreadable"] = file_status.eq(UNREADABLE)
    table["timed_out"] = file_status.eq(TIMED_OUT)
    table["tampered"] = file_status.eq(TAMPERED)
    table["cells_restored"] = file_status.eq(CELLS_RESTORED)
    problem = file_status.isin(PROBLEM_STATUSES)
    table["missing"] = (~table["submitted"].astype(bool) & ~problem) | file_status.eq(MISSING)
    table["needs_manual_grading"] = table["needs_manual_grading"].astype(bool)
    table["late"] = (table["seconds_late"] > 0) | table["file_late"].astype("boolean").fillna(
        False).astype(bool)
    table["status"] = np.select(
        [problem, table["missing"], table["needs_manual_grading"], table["tampered"],
         table["cells_restored"]],
        [file_status, MISSING, NEEDS_MANUAL, TAMPERED, CELLS_RESTORED],
        default=GRADED)
    table["detail"] = table["detail"].fillna("")
    table["percent"] = np.where(
        table["max_score"] > 0, 100.0 * table["score"] / table["max_score"], np.nan)
    table = table.merge(data.roster, on="student_id", how="left")
    for column in ("first_name", "last_name", "email", "lms_user_id"):
        table[column] = table[column].fillna("")
    columns = (
        ["assignment", "student_id", "first_name", "last_name", "email"]
        + [c for c in grade_columns]
        + ["raw_score", "late_penalty", "score", "max_score", "percent", "status", "detail"]
        + list(FLAG_COLUMNS)
    )
    return table.sort_values(["assignment", "student_id"])[columns].reset_index(drop=True)


def principle_table(data: GradeData, students: pd.DataFrame) -> pd.DataFrame:
    """Score and maximum per principle for each student, summed over the chosen assignments.

    Returns
    -------
    DataFrame
        ``student_id``, then ``<principle>`` (score) and ``<principle> (max)`` column pairs,
        then ``status`` (the statuses that are not "graded", joined) and the flags, true when
        true for any assignment. Students without submission have empty scores.

    Examples
    --------
    >>> principle_table(data, student_table(data))  # doctest: +SKIP
    """
    grades = data.grades
    scores = grades.pivot_table(index="student_id", columns="principle", values="score",
                                aggfunc="sum", min_count=1, dropna=False)
    maxima = grades.pivot_table(index="student_id", columns="principle", values="max_score",
                                aggfunc="sum", dropna=False)
    principles = list(dict.fromkeys(data.items["principle"]))
    table = pd.DataFrame({"student_id": sorted(set(students["student_id"]))})
    for principle in principles:
        table[principle] = table["student_id"].map(scores[principle]) if principle in scores else (
            np.nan)
        table[f"{principle} (max)"] = table["student_id"].map(maxima[principle]).fillna(
            data.items.loc[data.items["principle"] == principle, "max_score"].sum())
    flags = students.groupby("student_id")[list(FLAG_COLUMNS)].any()
    not_graded = students[students["status"] != GRADED]
    status = not_graded.groupby("student_id").apply(
        lambda g: "; ".join(f"{a}: {s}" for a, s in zip(g["assignment"], g["status"],
                                                          strict=True)),
        include_groups=False) if len(data.assignments) > 1 else not_graded.set_index(
        "student_id")["status"]
    table["status"] = table["student_id"].map(status).fillna(GRADED)
    return table.merge(flags, left_on="student_id", right_index=True, how="left")


def discrimination_index(
    item_share: np.ndarray, total: np.ndarray, share: float = UPPER_LOWER_SHARE
) -> float:
    """Upper-lower discrimination index: mean item score (fraction of its maximum) of the top
    group minus that of the bottom group, groups being the top and bottom ``share`` of students
    by total score (Kelley's 27 %, at least one student each).

    Students are ranked by total score, highest first, ties kept in the order given. NaN with
    fewer than two students.

    Examples
    --------
    >>> discrimination_index(np.array([1.0, 1.0, 0.0, 0.0]), np.array([9.0, 7.0, 3.0, 1.0]))
    1.0
    """
    item_share = np.asarray(item_share, dtype=float)
    total = np.asarray(total, dtype=float)
    n = item_share.size
    if n < 2:
        return float("nan")
    group = max(1, int(np.floor(share * n + 0.5)))
    group = min(group, n // 2)
    ranked = np.argsort(-total, kind="stable")
    return float(item_share[ranked[:group]].mean() - item_share[ranked[-group:]].mean())


def item_rest_correlation(item: np.ndarray, total: np.ndarray) -> float:
    """Point-biserial (Pearson) correlation of an item with the rest of the test.

    The item is correlated with ``total - item`` (the "corrected" item-total correlation), so
    an item does not correlate with itself. NaN when either has no spread.

    Examples
    --------
    >>> round(item_rest_correlation(np.array([1.0, 1, 0, 0]), np.array([3.0, 2, 1, 0])), 4)
    0.7071
    """
    item = np.asarray(item, dtype=float)
    rest = np.asarray(total, dtype=float) - item
    if item.size < 3 or np.ptp(item) == 0 or np.ptp(rest) == 0:
        return float("nan")
    return float(np.corrcoef(item, rest)[0, 1])


def item_analysis(data: GradeData, students: pd.DataFrame) -> pd.DataFrame:
    """Per question statistics over the students with a submission.

    Returns
    -------
    DataFrame
        ``assignment, notebook, grade_id, principle, max_score, n_students, mean_score,
        mean_percent, share_full_marks, share_zero, discrimination_index,
        item_rest_correlation, n_needs_manual_grading``. The total used for discrimination is
        the student's raw assignment score from the gradebook.

    Examples
    --------
    >>> item_analysis(data, student_table(data))  # doctest: +SKIP
    """
    scored = students.loc[
        ~students["missing"] & ~students["status"].isin(PROBLEM_STATUSES),
        ["assignment", "student_id", "raw_score"]]
    grades = data.grades.merge(scored, on=["assignment", "student_id"])
    grades = grades[grades["score"].notna()].sort_values(["assignment", "student_id"])
    rows = []
    for (assignment, notebook, grade_id), group in grades.groupby(
            ["assignment", "notebook", "grade_id"], sort=False):
        maximum = float(group["max_score"].iloc[0])
        score = group["score"].to_numpy(dtype=float)
        share = score / maximum if maximum > 0 else np.full(score.size, np.nan)
        total = group["raw_score"].to_numpy(dtype=float)
        rows.append({
            "assignment": assignment, "notebook": notebook, "grade_id": grade_id,
            "principle": group["principle"].iloc[0], "max_score": maximum,
            "n_students": int(score.size), "mean_score": float(score.mean()),
            "mean_percent": float(100.0 * share.mean()),
            "share_full_marks": float(np.mean(score >= maximum)),
            "share_zero": float(np.mean(score == 0)),
            "discrimination_index": discrimination_index(share, total),
            "item_rest_correlation": item_rest_correlation(score, total),
            "n_needs_manual_grading": int(group["needs_manual_grading"].sum()),
            "order": int(group["order"].iloc[0]),
        })
    columns = ["assignment", "notebook", "grade_id", "principle", "max_score", "n_students",
               "mean_score", "mean_percent", "share_full_marks", "share_zero",
               "discrimination_index", "item_rest_correlation", "n_needs_manual_grading"]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows).sort_values(["assignment", "notebook", "order"])
    return table[columns].reset_index(drop=True)


def _lms_grades(students: pd.DataFrame) -> pd.DataFrame:
    """Final score per student and assignment; empty while the grade is not final."""
    grade = students["score"].where(~students["status"].isin(PENDING_STATUSES))
    return students.assign(lms_grade=grade).pivot_table(
        index="student_id", columns="assignment", values="lms_grade", aggfunc="first",
        dropna=False)


def moodle_table(students: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    """Grades in Moodle's CSV grade import layout: one row per student.

    Columns ``First name, Last name, ID number, Email address`` (match users on "ID number" or
    "Email address" in Moodle's import form), then one column per assignment. A grade that is
    not final (needs manual grading, unreadable, timed out) is left empty so the import does
    not record a provisional number; a missing submission counts 0, as in ``nbgrader export``.

    Examples
    --------
    >>> list(moodle_table(students, data.roster).columns)  # doctest: +SKIP
    ['First name', 'Last name', 'ID number', 'Email address', 'm02-over-indebtedness']
    """
    grades = _lms_grades(students)
    people = _people(students, roster)
    table = pd.DataFrame({
        "First name": people["first_name"].to_numpy(),
        "Last name": people["last_name"].to_numpy(),
        "ID number": people["student_id"].to_numpy(),
        "Email address": people["email"].to_numpy(),
    })
    for assignment in grades.columns:
        table[assignment] = people["student_id"].map(grades[assignment]).to_numpy()
    return table


def canvas_table(students: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    """Grades in Canvas's gradebook import layout, with the "Points Possible" row first.

    Columns ``Student, ID, SIS User ID, Section``, then one column per assignment. ``Student``
    is "Last, First"; ``ID`` is the Canvas user id kept in nbgrader's ``lms_user_id`` (empty if
    unknown: Canvas then matches on ``SIS User ID``, the nbgrader student id). Grades that are
    not final are empty, as in :func:`moodle_table`.

    Examples
    --------
    >>> canvas_table(students, data.roster).iloc[0]["Student"]  # doctest: +SKIP
    '    Points Possible'
    """
    grades = _lms_grades(students)
    people = _people(students, roster)
    names = np.where(
        (people["last_name"] != "") | (people["first_name"] != ""),
        people["last_name"] + ", " + people["first_name"], people["student_id"])
    table = pd.DataFrame({
        "Student": names, "ID": people["lms_user_id"].to_numpy(),
        "SIS User ID": people["student_id"].to_numpy(), "Section": "",
    })
    points = {"Student": "    Points Possible", "ID": "", "SIS User ID": "", "Section": ""}
    for assignment in grades.columns:
        table[assignment] = people["student_id"].map(grades[assignment]).to_numpy()
        points[assignment] = students.loc[students["assignment"] == assignment,
                                          "max_score"].iloc[0]
    return pd.concat([pd.DataFrame([points]), table], ignore_index=True)


def _people(students: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    ids = pd.DataFrame({"student_id": sorted(set(students["student_id"]))})
    people = ids.merge(roster, on="student_id", how="left")
    return people.fillna("")


# --------------------------------------------------------------------------------------------
# Plots and the HTML page


def _png(figure: plt.Figure, path: Path) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def plot_score_distribution(students: pd.DataFrame, path: Path) -> bytes:
    """Histogram of final scores (percent of the maximum) of the students who submitted.

    Submissions that could not be graded (unreadable, timed out, crashed, error) are left out:
    their 0 is not a score.

    Returns the PNG bytes (also written to ``path``).
    """
    final = ~students["missing"] & ~students["status"].isin(PROBLEM_STATUSES)
    scored = students.loc[final, "percent"].dropna()
    figure, axes = plt.subplots(figsize=(6, 3.2))
    axes.hist(scored.to_numpy(), bins=np.linspace(0, 100, 11), color="#2b6f9e",
              edgecolor="white")
    axes.set_xlabel("final score (% of maximum)")
    axes.set_ylabel("students")
    axes.set_title(f"Score distribution ({scored.size} submissions)")
    axes.set_xlim(0, 100)
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure, path)


def plot_question_means(items: pd.DataFrame, path: Path) -> bytes:
    """Horizontal bars: mean score of each question as a percent of its maximum."""
    labels = items["grade_id"].astype(str).to_numpy()
    if items["assignment"].nunique() > 1:
        labels = (items["assignment"] + " / " + items["grade_id"]).to_numpy()
    figure, axes = plt.subplots(figsize=(6, 0.45 * max(len(items), 2) + 1.2))
    positions = np.arange(len(items))
    axes.barh(positions, items["mean_percent"].fillna(0).to_numpy(), color="#c9622b")
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("mean score (% of the question's maximum)")
    axes.set_title("Mean score per question")
    return _png(figure, path)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;
max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f2f2f2}td.text,th.text{text-align:left}
tr.flagged td{background:#fff4e0}tr.missing td{background:#fde8e8}
.plots{display:flex;flex-wrap:wrap;gap:1rem}.plots img{max-width:100%;border:1px solid #ddd}
.muted{color:#666;font-size:.85rem}
"""


def _shorten(text: object, limit: int = 140) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cell(value: object, text: bool = False) -> str:
    if isinstance(value, (bool, np.bool_)):
        shown = "yes" if value else ""
    elif isinstance(value, (float, np.floating)):
        shown = "" if np.isnan(value) else f"{value:.2f}".rstrip("0").rstrip(".")
    else:
        shown = "" if value is None else str(value)
    css = ' class="text"' if text else ""
    return f"<td{css}>{html.escape(shown)}</td>"


def _html_table(table: pd.DataFrame, text_columns: Sequence[str] = (),
                row_classes: Sequence[str] | None = None) -> str:
    head = "".join(
        f'<th{" class=text" if c in text_columns else ""}>{html.escape(str(c))}</th>'
        for c in table.columns)
    rows = []
    for index, record in enumerate(table.itertuples(index=False)):
        css = f' class="{row_classes[index]}"' if row_classes and row_classes[index] else ""
        cells = "".join(_cell(v, c in text_columns) for c, v in zip(table.columns, record,
                                                                     strict=True))
        rows.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def summary_html(
    title: str, students: pd.DataFrame, items: pd.DataFrame, principles: pd.DataFrame,
    images: dict[str, bytes],
) -> str:
    """The one-page, self-contained HTML summary (plots inlined as base64 PNG)."""
    counts = students["status"].value_counts()
    count_text = ", ".join(f"{n} {html.escape(s)}" for s, n in counts.items())
    flags = [c for c in FLAG_COLUMNS]
    shown_students = students[
        ["assignment", "student_id", "first_name", "last_name", "score", "max_score", "percent",
         "status"] + flags + ["detail"]]
    if students["assignment"].nunique() == 1:
        shown_students = shown_students.drop(columns="assignment")
    # the full detail is in grading-status.csv; a page row stays one line high
    shown_students = shown_students.assign(detail=shown_students["detail"].map(_shorten))
    row_classes = np.where(students["missing"], "missing",
                           np.where(students["status"] != GRADED, "flagged", "")).tolist()
    pending = items["n_needs_manual_grading"] > 0
    wrong = items[~pending & (items["share_full_marks"] < 0.5)].sort_values(
        ["mean_percent", "share_full_marks"])
    if wrong.empty:
        wrong_html = ("<p>Every graded question got full marks from at least half of the "
                      "students.</p>")
    else:
        entries = "".join(
            f"<li><b>{html.escape(r.grade_id)}</b> ({html.escape(r.principle)}): "
            f"{100 * (1 - r.share_full_marks):.0f}% of students did not get full marks, "
            f"mean {r.mean_percent:.0f}% of the maximum</li>"
            for r in wrong.itertuples())
        wrong_html = f"<ol>{entries}</ol>"
    if pending.any():
        waiting = ", ".join(
            f"<b>{html.escape(r.grade_id)}</b> ({r.n_needs_manual_grading})"
            for r in items[pending].itertuples())
        wrong_html += (f'<p class="muted">Awaiting manual grading (submissions): {waiting}. '
                       "Grade them in the formgrader, then run <code>cpcourse report</code> "
                       "again.</p>")
    pictures = "".join(
        f'<img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(data).decode("ascii")}">'
        for name, data in images.items())
    item_columns = ["grade_id", "principle", "max_score", "n_students", "mean_score",
                    "mean_percent", "share_full_marks", "share_zero", "discrimination_index",
                    "item_rest_correlation", "n_needs_manual_grading"]
    if items["assignment"].nunique() > 1:
        item_columns = ["assignment"] + item_columns
    generated = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">Generated {generated} from the nbgrader gradebook. {len(students)} rows:
{count_text}.</p>
<h2>Questions most students got wrong</h2>{wrong_html}
<div class="plots">{pictures}</div>
<h2>Students</h2>
<p class="muted">Rows in red have no submission; rows in orange need attention (manual grading,
unreadable, timed out, tampered or restored cells).</p>
{_html_table(shown_students, ["assignment", "student_id", "first_name", "last_name", "status",
                              "detail"], row_classes)}
<h2>Item analysis</h2>
<p class="muted">share_full_marks and share_zero are fractions of the students with a
submission; discrimination_index is the mean score share of the top 27% minus the bottom 27%
by total; item_rest_correlation is the correlation of the question with the rest of the
test.</p>
{_html_table(items[item_columns], ["assignment", "grade_id", "principle"])}
<h2>By principle</h2>
{_html_table(principles, ["student_id", "status"])}
</body></html>
"""


# --------------------------------------------------------------------------------------------
# The whole report


@dataclass
class Report:
    """The files of a report and the tables behind them."""

    folder: Path
    students: pd.DataFrame
    items: pd.DataFrame
    principles: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def terminal_summary(self) -> str:
        """A short table for the terminal."""
        return terminal_summary(self.students, self.folder)


def terminal_summary(students: pd.DataFrame, folder: Path | None = None) -> str:
    """Students, scores and flags as a short plain-text table, with counts per status.

    Examples
    --------
    >>> table = pd.DataFrame({"assignment": ["a"], "student_id": ["amina"], "score": [3.0],
    ...     "max_score": [5.0], "status": ["graded"], "late": [True], "missing": [False]})
    >>> print(terminal_summary(table))  # doctest: +NORMALIZE_WHITESPACE
    student score status flags
      amina   3/5 graded  late
    1 rows: 1 graded
    """
    flag_names = [c for c in FLAG_COLUMNS if c in students and c != "missing"]
    labels = [c.replace("_", " ") for c in flag_names]
    flag_values = students[flag_names].to_numpy(dtype=bool) if flag_names else None
    flags = [
        ", ".join(label for label, on in zip(labels, row, strict=True) if on and label != status)
        for row, status in zip(
            flag_values if flag_values is not None else [[]] * len(students),
            students["status"], strict=True)
    ]

    def number(x: float) -> str:
        return f"{x:g}"

    shown = pd.DataFrame({
        "student": students["student_id"],
        "score": students["score"].map(number) + "/" + students["max_score"].map(number),
        "status": students["status"],
        "flags": flags,
    })
    if students["assignment"].nunique() > 1:
        shown.insert(0, "assignment", students["assignment"])
    counts = students["status"].value_counts()
    lines = [shown.to_string(index=False),
             f"{len(students)} rows: " + ", ".join(f"{n} {s}" for s, n in counts.items())]
    if folder is not None:
        lines.append(f"report written to {folder}")
    return "\n".join(lines)


def write_report(
    workshop: str | Path | Workshop | None, assignment: str | None = None
) -> Report:
    """Write every report file for one assignment (or all) and return the tables.

    Parameters
    ----------
    workshop : str, Path, Workshop or None
        The workshop folder (None: the current folder).
    assignment : str, optional
        One assignment; all assignments of the gradebook when omitted (folder ``all``).

    Returns
    -------
    Report

    Raises
    ------
    CourseError
        If the folder is not a workshop or the assignment is not in the gradebook.

    Examples
    --------
    >>> report = write_report("my-workshop", "m02-over-indebtedness")  # doctest: +SKIP
    >>> sorted(report.files)  # doctest: +SKIP
    ['canvas', 'item_analysis', 'long', 'moodle', 'principles', 'question_means', ...]
    """
    if not isinstance(workshop, Workshop):
        workshop = load_workshop(workshop)
    data = load_grade_data(workshop, [assignment] if assignment else None)
    status = pd.concat(
        [read_grading_status(workshop, name) for name in data.assignments], ignore_index=True)
    students = student_table(data, status)
    items = item_analysis(data, students)
    principles = principle_table(data, students)

    folder = workshop.root / "reports" / (assignment or "all")
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "long": folder / "grades-long.csv", "wide": folder / "grades-wide.csv",
        "principles": folder / "grades-principles.csv",
        "item_analysis": folder / "item-analysis.csv", "moodle": folder / "lms-moodle.csv",
        "canvas": folder / "lms-canvas.csv",
        "score_distribution": folder / "score-distribution.png",
        "question_means": folder / "question-means.png", "summary": folder / "summary.html",
    }
    long = data.grades.merge(
        students[["assignment", "student_id", "status"]], on=["assignment", "student_id"],
        how="left")
    long[["assignment", "student_id", "notebook", "grade_id", "principle", "score", "max_score",
          "auto_score", "manual_score", "extra_credit", "needs_manual_grading", "status"]].to_csv(
        files["long"], index=False)
    students.to_csv(files["wide"], index=False)
    principles.to_csv(files["principles"], index=False)
    items.to_csv(files["item_analysis"], index=False)
    moodle_table(students, data.roster).to_csv(files["moodle"], index=False)
    canvas_table(students, data.roster).to_csv(files["canvas"], index=False)
    images = {
        "score distribution": plot_score_distribution(students, files["score_distribution"]),
        "mean score per question": plot_question_means(items, files["question_means"]),
    }
    title = f"Grades: {assignment}" if assignment else "Grades: all assignments"
    files["summary"].write_text(
        summary_html(title, students, items, principles, images), encoding="utf-8")
    return Report(folder, students, items, principles, files)
