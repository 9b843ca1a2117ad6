"""End to end: `cpcourse grade` on a battery of crafted submissions in a real nbgrader course.

The fixture assignment (tests/fixtures/grading/exercises/m99-fixture) has three autograded parts
worth 1, 2 and 2 points and a 2-point written answer. Expected scores are the points of the
parts a submission really answers, worked out by hand from the crafted answers.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
from submissions import EXPECTED, WELL_FORMED, build_all  # noqa: E402

ASSIGNMENT = "m99-fixture"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.timeout(600)


def cpcourse(
    *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        [str(BIN / "cpcourse"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"cpcourse {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_roster(path: Path, ids: list[str]) -> None:
    lines = ["id,first_name,last_name,email"] + [
        f"{sid},First{sid},Last{sid},{sid}@example.org" for sid in ids
    ]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("battery")
    workshop = base / "workshop"
    roster_ids = sorted(sid for sid in EXPECTED if sid != "zz99")
    write_roster(base / "roster.csv", roster_ids)
    cpcourse(
        "workshop", "init", str(workshop), "--course-id", "cp-test",
        "--roster", str(base / "roster.csv"), "--exercises", str(FIXTURES / "exercises"),
        "--cell-timeout", "4", "--notebook-timeout", "25", "--memory-mb", "768",
    )
    cpcourse("release", cwd=workshop)
    built = build_all(workshop / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", workshop)
    for sid, files in built.items():
        folder = workshop / "submitted" / sid / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        (folder / "timestamp.txt").write_text("2025-03-01 10:00:00.000000 UTC")
    plain = base / "plain"
    shutil.copytree(workshop, plain)
    protected = {
        name: checksums(workshop / name) for name in ("submitted", "source", "release")
    }
    config_before = (workshop / "nbgrader_config.py").read_bytes()
    first = cpcourse("grade", ASSIGNMENT, "--workers", "2", cwd=workshop)
    with open(workshop / "reports" / ASSIGNMENT / "grading-status.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    return {
        "workshop": workshop,
        "plain": plain,
        "rows": rows,
        "protected": protected,
        "config_before": config_before,
        "stdout": first.stdout,
    }


def gradebook_scores(workshop: Path) -> dict[str, tuple[float, float, bool, bool]]:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{workshop / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            flagged = any(nb.flagged for nb in submission.notebooks)
            scores[submission.student.id] = (
                submission.code_score,
                submission.score,
                submission.needs_manual_grade,
                flagged,
            )
    return scores


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_ends_with_its_status_and_no_unearned_points(graded, student):
    status, most, exact = EXPECTED[student]
    row = graded["rows"][student]
    assert row["status"] == status, row
    scores = gradebook_scores(graded["workshop"])
    if most is None:
        assert student not in scores
        return
    code_score = scores[student][0]
    assert code_score <= most
    assert code_score == exact


def test_status_table_is_printed(graded):
    assert "s05" in graded["stdout"] and "timed out" in graded["stdout"]


def test_csv_and_gradebook_agree(graded):
    scores = gradebook_scores(graded["workshop"])
    for sid, row in graded["rows"].items():
        if sid in scores:
            _, total, needs_manual, flagged = scores[sid]
            assert float(row["score"]) == total
            assert float(row["max_score"]) == 7.0
            assert row["needs_manual_grading"] == str(needs_manual).lower()
            assert flagged == (row["status"] not in {"graded", "needs manual grading"})
        else:
            assert row["status"] in {"missing", "unknown student"}


def test_no_student_file_or_course_file_is_changed(graded):
    workshop = graded["workshop"]
    for name, before in graded["protected"].items():
        assert checksums(workshop / name) == before, name
    assert (workshop / "nbgrader_config.py").read_bytes() == graded["config_before"]
    assert (workshop / "autograded" / "s01" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


def test_details_name_the_problem(graded):
    rows = graded["rows"]
    assert "empty file" in rows["s11"]["detail"]
    assert "malformed JSON" in rows["s10"]["detail"]
    assert "Copy of m99-fixture.ipynb" in rows["s12"]["detail"]
    assert "m99_dsr_test" in rows["s14"]["detail"]
    assert "memory" in rows["s07"]["detail"]
    assert "isclose" in rows["s16"]["detail"]


def test_huge_output_is_truncated(graded):
    path = graded["workshop"] / "autograded" / "s08" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 300_000


def test_scores_equal_plain_nbgrader_autograde(graded):
    plain = graded["plain"]
    for sid in EXPECTED:
        if sid not in WELL_FORMED:
            shutil.rmtree(plain / "submitted" / sid, ignore_errors=True)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run(
        [str(BIN / "nbgrader"), "autograde", ASSIGNMENT], cwd=plain, env=env,
        capture_output=True, text=True,
    )
    ours = gradebook_scores(graded["workshop"])
    theirs = gradebook_scores(plain)
    assert sorted(theirs) == sorted(WELL_FORMED)
    for sid in WELL_FORMED:
        assert ours[sid][:3] == theirs[sid][:3], sid


def test_second_run_resumes_and_grades_nothing_new(graded):
    workshop = graded["workshop"]
    state = workshop / "reports" / ASSIGNMENT / ".grading-state.json"
    import json

    saved = json.loads(state.read_text())
    del saved["s02"]  # as if the run had stopped before s02 was merged
    state.write_text(json.dumps(saved))
    cpcourse("grade", ASSIGNMENT, "--workers", "2", "--no-progress", cwd=workshop)
    with open(workshop / "reports" / ASSIGNMENT / "grading-status.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    regraded = {sid for sid in rows if rows[sid]["graded_at"] != graded["rows"][sid]["graded_at"]}
    assert regraded <= {"s02", "s23", "zz99"}  # missing/unknown rows are cheap and rewritten
    assert "s02" in regraded
    assert rows["s02"]["score"] == graded["rows"]["s02"]["score"]
