"""Grade reports: every number equals the gradebook, nobody in the roster is dropped."""

from __future__ import annotations

import argparse
import base64
import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nbgrader.api import Gradebook, MissingEntry

from clientprotection.grading import cli_report
from clientprotection.grading.feedback import load_workshop
from clientprotection.grading.report import (
    GradeData,
    discrimination_index,
    item_rest_correlation,
    principle_label,
    principle_table,
    student_table,
)
from clientprotection.principles import MODULES

pytestmark = pytest.mark.timeout(300)

_BUILDER_PATH = Path(__file__).parent / "fixtures" / "report" / "course_builder.py"
_spec = importlib.util.spec_from_file_location("report_course_builder", _BUILDER_PATH)
builder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(builder)

A, NB = builder.ASSIGNMENT, builder.NOTEBOOK
GRADE_IDS = ["m99_sum_test", "m99_mean_test", "m99_why_answer"]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = builder.build_course(tmp_path_factory.mktemp("report") / "workshop")
    parser = argparse.ArgumentParser(prog="cpcourse")
    cli_report.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", A, "--workshop", str(root)])
    assert args.func(args) == 0
    args = parser.parse_args(["report", "--workshop", str(root)])
    assert args.func(args) == 0
    return root


@pytest.fixture(scope="module")
def truth(course) -> dict:
    """Scores read straight from the gradebook, independently of the report code."""
    found: dict = {"grades": {}, "submissions": {}}
    with Gradebook(load_workshop(course).db_url) as gradebook:
        found["max_score"] = gradebook.find_assignment(A).max_score
        found["roster"] = sorted(s.id for s in gradebook.students)
        for student in found["roster"]:
            try:
                submission = gradebook.find_submission(A, student)
            except MissingEntry:
                continue
            found["submissions"][student] = (
                submission.score, submission.late_submission_penalty,
                submission.needs_manual_grade, submission.total_seconds_late)
            for grade_id in GRADE_IDS:
                grade = gradebook.find_grade(grade_id, NB, A, student)
                found["grades"][student, grade_id] = (
                    grade.score, grade.max_score, grade.needs_manual_grade)
    return found


def _read(course: Path, name: str, folder: str = A) -> pd.DataFrame:
    return pd.read_csv(course / "reports" / folder / name, keep_default_na=False,
                       na_values=[""])


def test_long_csv_equals_gradebook(course, truth):
    long = _read(course, "grades-long.csv")
    assert len(long) == len(truth["roster"]) * len(GRADE_IDS)
    for row in long.itertuples():
        if row.student_id in truth["submissions"]:
            score, maximum, manual = truth["grades"][row.student_id, row.grade_id]
            assert row.score == score
            assert row.max_score == maximum
            assert bool(row.needs_manual_grading) == manual
        else:
            assert math.isnan(row.score)
    assert set(long.loc[long["student_id"] == "erin", "status"]) == {"missing"}
    # bob's written answer is still waiting for a grader
    bob = long[(long["student_id"] == "bob") & (long["grade_id"] == "m99_why_answer")]
    assert bob["needs_manual_grading"].item()


def test_wide_csv_equals_gradebook_and_flags_every_roster_student(course, truth):
    wide = _read(course, "grades-wide.csv").set_index("student_id")
    assert sorted(wide.index) == truth["roster"] == builder.ROSTER
    for student, (raw, penalty, manual, seconds_late) in truth["submissions"].items():
        row = wide.loc[student]
        assert row["raw_score"] == raw
        assert row["late_penalty"] == penalty
        assert row["score"] == max(0.0, raw - penalty)
        assert row["max_score"] == truth["max_score"]
        assert bool(row["needs_manual_grading"]) == manual
        assert bool(row["late"]) == (seconds_late > 0)
        for grade_id in GRADE_IDS:
            assert row[grade_id] == truth["grades"][student, grade_id][0]
    assert wide.loc["erin", "status"] == "missing" and wide.loc["erin", "missing"]
    assert wide.loc["frank", "status"] == "unreadable" and wide.loc["frank", "unreadable"]
    assert not wide.loc["frank", "missing"]
    assert wide.loc["bob", "status"] == "needs manual grading"
    assert wide.loc["alice", "status"] == "graded"  # graded by hand after autograding
    assert wide.loc["dave", "late"]
    assert wide.loc["alice", "score"] == 5.0  # all right, written answer 2/2


def test_principle_csv_sums_the_gradebook(course, truth):
    table = _read(course, "grades-principles.csv").set_index("student_id")
    label = "m99 (not in the course map)"
    for student, (raw, *_rest) in truth["submissions"].items():
        assert table.loc[student, label] == raw
        assert table.loc[student, f"{label} (max)"] == truth["max_score"]
    assert math.isnan(table.loc["erin", label]) and table.loc["erin", "missing"]


def test_lms_csvs_have_the_import_headers_and_one_row_per_student(course, truth):
    moodle = _read(course, "lms-moodle.csv")
    assert list(moodle.columns) == ["First name", "Last name", "ID number", "Email address", A]
    assert sorted(moodle["ID number"]) == truth["roster"]
    grades = moodle.set_index("ID number")[A]
    assert grades["alice"] == truth["submissions"]["alice"][0]
    assert grades["carol"] == 0.0 and grades["erin"] == 0.0  # blank hand-in, no hand-in
    assert math.isnan(grades["bob"])  # not final: written answer not graded yet
    assert math.isnan(grades["frank"])  # unreadable: a grader must look first
    assert moodle.set_index("ID number").loc["alice", "Email address"] == "alice@example.org"

    canvas = _read(course, "lms-canvas.csv")
    assert list(canvas.columns) == ["Student", "ID", "SIS User ID", "Section", A]
    assert canvas.loc[0, "Student"].strip() == "Points Possible"
    assert canvas.loc[0, A] == truth["max_score"]
    students = canvas.iloc[1:]
    assert sorted(students["SIS User ID"]) == truth["roster"]
    assert students.set_index("SIS User ID").loc["alice", "Student"] == "Tester, Alice"


def test_item_analysis_recomputed_from_the_gradebook(course, truth):
    items = _read(course, "item-analysis.csv").set_index("grade_id")
    assert list(items.index) == GRADE_IDS  # notebook order
    scored = sorted(truth["submissions"])  # erin and frank have nothing to analyse
    totals = np.array([truth["submissions"][s][0] for s in scored])
    for grade_id in GRADE_IDS:
        score = np.array([truth["grades"][s, grade_id][0] for s in scored])
        maximum = truth["grades"][scored[0], grade_id][1]
        row = items.loc[grade_id]
        assert row["n_students"] == len(scored)
        assert row["mean_score"] == pytest.approx(score.mean())
        assert row["share_full_marks"] == pytest.approx(np.mean(score == maximum))
        assert row["share_zero"] == pytest.approx(np.mean(score == 0))
        # point-biserial against the rest score, by its textbook formula
        rest = totals - score
        correct = score == maximum
        if 0 < correct.sum() < len(score) and rest.std() > 0 and set(score) <= {0, maximum}:
            p = correct.mean()
            expected = ((rest[correct].mean() - rest[~correct].mean()) / rest.std()
                        * math.sqrt(p * (1 - p)))
            assert row["item_rest_correlation"] == pytest.approx(expected)


def test_all_assignments_report_and_html_summary(course):
    for folder in (A, "all"):
        page = (course / "reports" / folder / "summary.html").read_text()
        assert page.count('src="data:image/png;base64,') == 2
        encoded = page.split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
        assert base64.b64decode(encoded).startswith(b"\x89PNG")
        assert "Questions most students got wrong" in page
        assert "m99_why_answer" in page and "erin" in page
        assert "<script" not in page and "http" not in page.split("<body>", 1)[1]
        for png in ("score-distribution.png", "question-means.png"):
            assert (course / "reports" / folder / png).read_bytes().startswith(b"\x89PNG")
    # the status file of the grade step is left alone
    assert "frank,unreadable" in (course / "reports" / A / "grading-status.csv").read_text()


def test_summary_keeps_ungraded_written_answers_out_of_the_wrong_list(course):
    items = _read(course, "item-analysis.csv").set_index("grade_id")
    pending = items.index[items["n_needs_manual_grading"] > 0].tolist()
    assert pending, "the fixture has a written answer that still needs manual grading"
    page = (course / "reports" / A / "summary.html").read_text()
    wrong_list = page.split("Questions most students got wrong", 1)[1].split("Awaiting", 1)[0]
    for grade_id in pending:
        assert f"<b>{grade_id}</b>" not in wrong_list
    assert "Awaiting manual grading" in page


def test_terminal_summary(course, capsys):
    parser = argparse.ArgumentParser(prog="cpcourse")
    cli_report.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", A, "--workshop", str(course)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "erin" in out and "missing" in out and "unreadable" in out
    assert "5/5" in out  # alice


# ------------------------------------------------------------------------- unit tests


def test_discrimination_index_matches_the_upper_lower_27_percent_formula():
    # UCLA Test Scoring, "Interpretation of statistics": DI = (a - b) / n with a and b the
    # correct answers of the upper and lower 27 % and n the size of one group
    # (https://teaching.ucla.edu/test-scoring/interpretation-of-statistics/; also Lopez,
    # Rasch Measurement Transactions 12:1, 1998, p. 626). 40 students: groups of 11;
    # 9 of the top 11 and 3 of the bottom 11 answer correctly, so DI = (9 - 3) / 11.
    totals = np.arange(40, 0, -1, dtype=float)
    item = np.zeros(40)
    item[[0, 1, 2, 3, 4, 5, 6, 7, 8]] = 1.0  # 9 in the top 11
    item[[12, 15, 20, 25]] = 1.0  # the middle does not count
    item[[29, 33, 39]] = 1.0  # 3 in the bottom 11
    assert discrimination_index(item, totals) == pytest.approx(6 / 11)
    assert math.isnan(discrimination_index(np.array([1.0]), np.array([1.0])))


def test_item_rest_correlation_is_point_biserial_on_the_rest_score():
    rng = np.random.default_rng(7)
    item = (rng.random(30) > 0.4).astype(float)
    total = item * 2 + rng.integers(0, 10, 30)
    rest = total - item
    p = item.mean()
    expected = (rest[item == 1].mean() - rest[item == 0].mean()) / rest.std() * math.sqrt(
        p * (1 - p))
    assert item_rest_correlation(item, total) == pytest.approx(expected)
    assert math.isnan(item_rest_correlation(np.ones(5), np.arange(5.0)))


def test_principle_label_uses_the_course_map():
    assert principle_label("m02_dsr_share_answer") == MODULES["02"].principle
    assert principle_label("m03_apr_flat_test", "m03-transparency") == "Transparency"
    assert principle_label("m08_scorecard_answer") == MODULES["08"].title
    assert principle_label("q1", "m05-fair-treatment") == MODULES["05"].principle


def test_principle_table_sums_questions_by_principle():
    items = pd.DataFrame({
        "assignment": "m08-capstone", "notebook": "capstone",
        "grade_id": ["m02_dsr_test", "m02_par_test", "m03_apr_test"],
        "cell_type": "code", "max_score": [2.0, 3.0, 4.0],
        "principle": [principle_label(g) for g in ["m02_dsr_test", "m02_par_test",
                                                   "m03_apr_test"]],
        "order": [0, 1, 2],
    })
    submissions = pd.DataFrame({
        "assignment": "m08-capstone", "student_id": ["amina", "bao"], "submitted": [True, False],
        "raw_score": [6.0, np.nan], "late_penalty": 0.0, "max_score": 9.0,
        "needs_manual_grading": False, "seconds_late": 0.0, "timestamp": None, "score": [6.0, 0],
    })
    grades = pd.DataFrame({
        "assignment": "m08-capstone", "student_id": ["amina"] * 3 + ["bao"] * 3,
        "notebook": "capstone", "grade_id": list(items["grade_id"]) * 2,
        "score": [2.0, 1.0, 3.0, np.nan, np.nan, np.nan], "max_score": [2.0, 3.0, 4.0] * 2,
        "principle": list(items["principle"]) * 2, "order": [0, 1, 2] * 2,
        "needs_manual_grading": False,
    })
    roster = pd.DataFrame({"student_id": ["amina", "bao"], "first_name": "", "last_name": "",
                           "email": "", "lms_user_id": ""})
    data = GradeData(["m08-capstone"], roster, items, submissions, grades)
    table = principle_table(data, student_table(data)).set_index("student_id")
    over = MODULES["02"].principle
    assert table.loc["amina", over] == 3.0 and table.loc["amina", f"{over} (max)"] == 5.0
    assert table.loc["amina", "Transparency"] == 3.0
    assert table.loc["amina", "Transparency (max)"] == 4.0
    assert math.isnan(table.loc["bao", over]) and table.loc["bao", "missing"]
    assert table.loc["bao", "status"] == "missing"
