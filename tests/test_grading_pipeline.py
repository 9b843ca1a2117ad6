"""End to end: `cpcourse grade` on a battery of crafted submissions in a real nbgrader course.

The fixture assignment (tests/fixtures/grading/exercises/m99-fixture) has three autograded parts
worth 1, 2 and 2 points and a 2-point written answer. Expected scores are the points of the
parts a submission really answers, worked out by hand from the crafted answers.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
from submissions import EXPECTED, WELL_FORMED, build_all  # noqa: E402

ASSIGNMENT = "m99-fixture"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def private_tmp() -> Path:
    """The TMPDIR of every grade run of this module, to look for leftovers in.

    Reachable (not listable) by other users: kernels run as the sandbox user when root.
    """
    folder = Path(tempfile.mkdtemp(prefix="grading-test-tmp-"))
    os.chmod(folder, 0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def grader_env(tmp: Path | None) -> dict[str, str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    return env


def cpcourse(
    *args: str, cwd: Path | None = None, check: bool = True, tmp: Path | None = None
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / "cpcourse"), *args], cwd=cwd, env=grader_env(tmp), capture_output=True,
        text=True,
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
def graded(tmp_path_factory: pytest.TempPathFactory, private_tmp: Path) -> dict:
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
    first = cpcourse("grade", ASSIGNMENT, "--workers", "2", cwd=workshop, tmp=private_tmp)
    with open(workshop / "reports" / ASSIGNMENT / "grading-status.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    return {
        "workshop": workshop,
        "plain": plain,
        "rows": rows,
        "protected": protected,
        "config_before": config_before,
        "stdout": first.stdout,
        "tmp": private_tmp,
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
    cpcourse("grade", ASSIGNMENT, "--workers", "2", "--no-progress", cwd=workshop,
             tmp=graded["tmp"])
    with open(workshop / "reports" / ASSIGNMENT / "grading-status.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    regraded = {sid for sid in rows if rows[sid]["graded_at"] != graded["rows"][sid]["graded_at"]}
    assert regraded <= {"s02", "s23", "zz99"}  # missing/unknown rows are cheap and rewritten
    assert "s02" in regraded
    assert rows["s02"]["score"] == graded["rows"]["s02"]["score"]


def test_grading_runs_leave_nothing_in_the_temp_folder(graded):
    # after the first run and the resumed one: no run folder, scratch copy or process left
    assert sorted(os.listdir(graded["tmp"])) == []
    assert processes_in(graded["tmp"]) == []


def processes_in(folder: Path) -> list[int]:
    """Processes working in ``folder`` or naming a path in it (found independently of the code
    under test)."""
    inside = str(folder) + os.sep
    found = []
    for process in psutil.process_iter(["pid", "cwd", "cmdline"]):
        cwd = process.info.get("cwd") or ""
        command = process.info.get("cmdline") or []
        if cwd.startswith(inside) or any(inside in arg for arg in command):
            found.append(process.pid)
    return found


def wait_for_a_submission_in_progress(tmp: Path, process: subprocess.Popen) -> None:
    """Wait until a worker grades a submission (a scratch folder in the run folder)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for run in tmp.glob("cpcourse-run-*"):
            try:
                if any(p.is_dir() and p.name.startswith("s") for p in run.iterdir()):
                    return
            except OSError:
                continue
        time.sleep(0.05)
    raise AssertionError("no submission was being graded after 120 s")


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigkill"])
def test_stopped_run_cleans_up_or_the_next_run_does(graded, tmp_path, how):
    workshop = tmp_path / "workshop"
    shutil.copytree(graded["workshop"], workshop)
    tmp = Path(tempfile.mkdtemp(prefix="grading-test-tmp-"))
    os.chmod(tmp, 0o711)
    try:
        process = subprocess.Popen(
            [str(BIN / "cpcourse"), "grade", ASSIGNMENT, "--workers", "2", "--force",
             "--no-progress"],
            cwd=workshop, env=grader_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )
        wait_for_a_submission_in_progress(tmp, process)
        if how == "ctrl-c":  # the terminal sends SIGINT to the whole process group
            os.killpg(process.pid, signal.SIGINT)
        elif how == "sigterm":
            process.send_signal(signal.SIGTERM)
        else:
            process.kill()
        _, err = process.communicate(timeout=120)
        if how == "sigkill":
            assert process.returncode == -signal.SIGKILL
            assert list(tmp.glob("cpcourse-run-*")), "a killed run cannot clean up"
            cpcourse("grade", ASSIGNMENT, "--student", "s01", "--no-progress", cwd=workshop,
                     tmp=tmp)
        else:
            assert process.returncode == 130, err
            assert "interrupted" in err
        deadline = time.monotonic() + 10  # kernels notice their worker is gone within seconds
        while processes_in(tmp) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sorted(os.listdir(tmp)) == []
        assert processes_in(tmp) == []
        # the statuses saved before the stop are kept: the next run resumes from them
        state = json.loads((workshop / "reports" / ASSIGNMENT / ".grading-state.json").read_text())
        assert state["s01"]["row"]["status"] == graded["rows"]["s01"]["status"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _visible_text(page: str) -> str:
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def _hidden_test_lines(source: Path) -> list[str]:
    lines, inside = [], False
    for cell in json.loads(source.read_text())["cells"]:
        for line in "".join(cell["source"]).split("\n"):
            if "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END HIDDEN TESTS" in line:
                inside = False
            elif inside and line.strip():
                lines.append(" ".join(line.split()))
    return lines


def plain_generate_feedback(workshop: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "nbgrader"), "generate_feedback", ASSIGNMENT, "--force", *args],
        cwd=workshop, env=grader_env(None), capture_output=True, text=True,
    )


def test_plain_nbgrader_generate_feedback_shows_no_hidden_test(graded, tmp_path):
    workshop = tmp_path / "workshop"
    shutil.copytree(graded["workshop"], workshop)
    hidden = _hidden_test_lines(FIXTURES / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert len(hidden) == 6
    # s13's wrong answer passes the visible test and fails a hidden one: its traceback points
    # into the hidden test
    autograded = workshop / "autograded" / "s13" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert "check_close(total_repayments(repayments), 215.0)" in autograded.read_text()

    # control: nbgrader's own settings put the hidden tests into the page
    config = workshop / "nbgrader_config.py"
    safe = config.read_text()
    config.write_text(re.sub(r"c\.GenerateFeedback\.[^\n]*(\n    [^\n]*)*(\n\])?", "", safe))
    assert "GenerateFeedback" not in config.read_text()
    result = plain_generate_feedback(workshop, "--student", "s13")
    assert result.returncode == 0, result.stderr
    page = workshop / "feedback" / "s13" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert any(line in _visible_text(page.read_text()) for line in hidden)
    shutil.rmtree(workshop / "feedback")

    config.write_text(safe)  # the workshop's settings, as `cpcourse workshop init` wrote them
    result = plain_generate_feedback(workshop)
    assert result.returncode == 0, result.stderr
    expected = sorted(p.parent.name for p in (workshop / "autograded").glob(f"*/{ASSIGNMENT}"))
    pages = sorted((workshop / "feedback").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.html"))
    assert [p.parent.parent.name for p in pages] == expected and "s13" in expected
    for path in pages:
        raw = path.read_text()
        text = _visible_text(raw)
        for line in hidden:
            assert line not in text, f"{path}: {line}"
            assert html.escape(line) not in raw
        # still real feedback: the visible test and the scores are there
        assert "check_close(debt_service_ratio(30.0, 120.0), 0.25)" in text
        assert "Score:" in text
    assert "A hidden test failed." in _visible_text(pages[expected.index("s13")].read_text())


def test_sweep_removes_only_the_folders_of_dead_runs(tmp_path):
    from clientprotection.grading.autograde import RunFolder, sweep_stale_runs

    an_hour_ago = time.time() - 3600
    live = RunFolder(tmp_path)  # a run in progress: locked
    os.utime(live.path / ".lock", (an_hour_ago, an_hour_ago))
    dead = tmp_path / "cpcourse-run-dead"  # a run killed with SIGKILL: lock file, no lock
    (dead / "s01-abc" / "kernel").mkdir(parents=True)
    (dead / ".lock").write_text("")
    os.utime(dead / ".lock", (an_hour_ago, an_hour_ago))
    (dead / "s01-abc" / "locked-away").mkdir(mode=0o000)  # student code made it unreadable
    other = tmp_path / "cpcourse-notes"  # not a run folder
    other.mkdir()
    sleeper = subprocess.Popen(["sleep", "120"], cwd=dead / "s01-abc" / "kernel")
    try:
        assert sweep_stale_runs(tmp_path) == [dead]
        sleeper.wait(timeout=10)  # the left-over process was stopped (long before 120 s)
        assert not psutil.pid_exists(sleeper.pid)
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
    assert not dead.exists() and other.is_dir() and live.path.is_dir()
    live.close()
    assert not live.path.exists()
    assert sweep_stale_runs(tmp_path) == []


def test_datasets_used_finds_every_load_mfi_call(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from clientprotection.grading.autograde import datasets_used

    path = tmp_path / "a.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("mfi = load_mfi()\nother = load_mfi('crisis')"),
        new_code_cell("small = load_mfi(scenario=\"small\")\nmine = load_mfi(folder)"),
        new_markdown_cell("`load_mfi('not-code')` in prose is not loaded"),
    ]), path)
    assert datasets_used([path, tmp_path / "missing.ipynb"]) == ["crisis", "default", "small"]


def test_cached_metadata_validation_raises_what_jsonschema_raises():
    import jsonschema
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    from clientprotection.grading.autograde import _CachedSchemaValidation

    schema = MetadataValidatorV3().schema
    cached = _CachedSchemaValidation(jsonschema)
    good = {"grade": True, "grade_id": "m99_x_test", "locked": True, "points": 1,
            "schema_version": 3, "solution": False}
    cases = [good, dict(good, points="two"), {"grade": True}, dict(good, grade_id=7)]
    messages = []
    for metadata in cases * 2:  # the second time from the cached validator
        expected = None
        try:
            jsonschema.validate(metadata, schema)
        except jsonschema.ValidationError as error:
            expected = error.message
        try:
            cached.validate(metadata, schema)
            found = None
        except jsonschema.ValidationError as error:
            found = error.message
        assert found == expected
        messages.append(found)
    assert messages[0] is None and all(messages[1:4])  # the bad ones are refused


def test_plain_nbgrader_generate_feedback_refuses_a_page_that_would_leak(graded, tmp_path):
    import nbformat

    workshop = tmp_path / "workshop"
    shutil.copytree(graded["workshop"], workshop)
    # an instructor's note in the graded notebook repeats a hidden test line: nothing can
    # clean it, so no page may be written for s01
    path = workshop / "autograded" / "s01" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "Note: check_close(total_repayments(repayments), 215.0)"))
    nbformat.write(nb, path)
    result = plain_generate_feedback(workshop, "--student", "s01")
    assert result.returncode != 0
    assert "HiddenTestLeakError" in result.stdout + result.stderr
    assert not list((workshop / "feedback").rglob("*.html"))


def test_a_kernel_port_clash_is_recognised_only_when_nothing_was_graded(tmp_path):
    from clientprotection.grading.autograde import _kernel_port_clash

    clash = "zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:33011')"
    autograded = tmp_path / "autograded" / "s01" / "m99"
    assert _kernel_port_clash(clash, autograded)
    assert not _kernel_port_clash("NameError: name 'x' is not defined", autograded)
    autograded.mkdir(parents=True)
    (autograded / "m99.ipynb").write_text("{}")
    # the student's own code may bind a port and fail: that run still produced its notebook
    assert not _kernel_port_clash(clash, autograded)
