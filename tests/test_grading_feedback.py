"""Feedback pages: scores and visible tests shown, hidden tests and unwritten solutions never."""

from __future__ import annotations

import argparse
import html
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.api import Gradebook

from clientprotection.errors import CourseError
from clientprotection.grading import cli_report, feedback
from clientprotection.grading.feedback import (
    FeedbackError,
    HiddenTestFilter,
    HiddenTestLeakError,
    LeakCheckedHTMLExporter,
    NotebookSecrets,
    find_leaks,
    generate_feedback,
    load_workshop,
    notebook_secrets,
    strip_hidden_tests,
)

pytestmark = pytest.mark.timeout(300)

_BUILDER_PATH = Path(__file__).parent / "fixtures" / "report" / "course_builder.py"
_spec = importlib.util.spec_from_file_location("report_course_builder", _BUILDER_PATH)
builder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(builder)

SOURCE = builder.HERE / "source" / builder.ASSIGNMENT / f"{builder.NOTEBOOK}.ipynb"


def _text(page: str) -> str:
    """What a reader sees, whitespace collapsed (written here independently of the module)."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def _region_lines(begin: str, end: str) -> list[str]:
    """Non-blank lines between the markers in the raw source notebook JSON."""
    lines, inside = [], False
    for cell in json.loads(SOURCE.read_text())["cells"]:
        for line in "".join(cell["source"]).split("\n"):
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif inside and line.strip():
                lines.append(" ".join(line.split()))
    return lines


HIDDEN_LINES = _region_lines("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
SOLUTION_LINES = _region_lines("### BEGIN SOLUTION", "### END SOLUTION") + [
    # the written answer of the source notebook is a solution as a whole
    "An average blends comfortable payers with clients who skip meals to pay,",
]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = builder.build_course(tmp_path_factory.mktemp("feedback") / "workshop")
    results = generate_feedback(root, builder.ASSIGNMENT)
    assert [r.student_id for r in results] == sorted(builder.ANSWERS)
    return root


def _page(course: Path, student: str) -> str:
    path = course / "feedback" / student / builder.ASSIGNMENT / f"{builder.NOTEBOOK}.html"
    return path.read_text(encoding="utf-8")


def test_fixture_has_hidden_tests_and_nbgrader_leaks_them_unfiltered(course):
    # the fixture really exercises the gap: the autograded notebook holds the hidden tests
    assert len(HIDDEN_LINES) == 4
    autograded = (course / "autograded" / "dave" / builder.ASSIGNMENT
                  / f"{builder.NOTEBOOK}.ipynb").read_text()
    assert "secret_case_7319" in autograded


@pytest.mark.parametrize("student", sorted(builder.ANSWERS))
def test_no_hidden_test_line_anywhere_in_feedback(course, student):
    page = _page(course, student)
    text = _text(page)
    assert "secret_case_7319" not in page
    for line in HIDDEN_LINES:
        assert line not in text, f"hidden test line in {student}'s feedback: {line}"
        assert html.escape(line) not in page


@pytest.mark.parametrize("student", sorted(builder.ANSWERS))
def test_no_solution_the_student_did_not_write(course, student):
    text = _text(_page(course, student))
    written = " ".join(" ".join(a.split()) for a in builder.ANSWERS[student].values())
    for line in SOLUTION_LINES:
        if line not in written:
            assert line not in text, f"solution line in {student}'s feedback: {line}"


def test_feedback_shows_scores_from_the_gradebook(course):
    with Gradebook(load_workshop(course).db_url) as gradebook:
        for student in builder.ANSWERS:
            submission = gradebook.find_submission(builder.ASSIGNMENT, student)
            text = _text(_page(course, student))
            assert f"Score: {submission.score:.1f} / {submission.max_score:.1f}" in text
            grade = gradebook.find_grade(
                "m99_sum_test", builder.NOTEBOOK, builder.ASSIGNMENT, student)
            assert f"Score: {grade.score:.1f} / {grade.max_score:.1f}" in text


def test_feedback_keeps_visible_tests_and_their_results(course):
    bob = _text(_page(course, "bob"))
    assert 'assert total_of([1, 2]) == 3, "total_of([1, 2]) should be 3"' in bob
    assert "visible total check passed" in bob
    # bob's visible failure stays readable: the failing line and its message
    assert 'assert mean_of([2, 4]) == 3, "mean_of([2, 4]) should be 3"' in bob
    assert "AssertionError: mean_of([2, 4]) should be 3" in bob
    carol = _text(_page(course, "carol"))
    assert "NotImplementedError" in carol


def test_failing_hidden_test_gives_a_neutral_but_useful_message(course):
    dave = _text(_page(course, "dave"))
    assert "A hidden test failed." in dave
    assert "AssertionError: refunds and decimals must count too" in dave
    # the error raised in dave's own function still shows his own code
    assert "ZeroDivisionError: division by zero" in dave
    assert "return total_of(values) / len(values)" in dave
    assert "visible total check passed" in dave


def test_feedback_lands_where_release_feedback_looks(course):
    folder = course / "feedback" / "dave" / builder.ASSIGNMENT
    assert (folder / f"{builder.NOTEBOOK}.html").is_file()
    assert (folder / "timestamp.txt").read_text() == builder.TIMESTAMPS["dave"]


def test_a_leak_that_survives_cleaning_stops_the_page(course, monkeypatch):
    # break the cleaning step on purpose: the final scan must refuse the page
    monkeypatch.setattr(feedback, "strip_hidden_tests", lambda nb, forbidden, **kw: nb)
    page = course / "feedback" / "dave" / builder.ASSIGNMENT / f"{builder.NOTEBOOK}.html"
    results = generate_feedback(course, builder.ASSIGNMENT, "dave", strict=False)
    assert len(results) == 1 and not results[0].ok
    assert "hidden test" in results[0].error
    assert not page.exists()
    with pytest.raises(FeedbackError, match="dave"):
        generate_feedback(course, builder.ASSIGNMENT, "dave")
    assert not page.exists()
    monkeypatch.undo()
    assert generate_feedback(course, builder.ASSIGNMENT, "dave")[0].ok
    assert "secret_case_7319" not in page.read_text()


def test_cli_feedback_command(course, capsys):
    parser = argparse.ArgumentParser(prog="cpcourse")
    cli_report.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["feedback", builder.ASSIGNMENT, "--student", "bob", "--workshop", str(course)])
    assert args.func(args) == 0
    assert "1 page(s) written" in capsys.readouterr().out
    args = parser.parse_args(["feedback", builder.ASSIGNMENT, "--workshop", str(course.parent)])
    with pytest.raises(CourseError, match="nbgrader_config.py"):
        args.func(args)
    args = parser.parse_args(
        ["feedback", builder.ASSIGNMENT, "--student", "erin", "--workshop", str(course)])
    with pytest.raises(CourseError, match="cpcourse grade"):
        args.func(args)


# ------------------------------------------------------------------------- unit tests


def _grade_meta(grade_id: str) -> dict:
    return {"nbgrader": {"grade": True, "grade_id": grade_id, "points": 1, "locked": True,
                         "solution": False, "schema_version": 3}}


def test_notebook_secrets_of_the_fixture_source():
    secrets = notebook_secrets(nbformat.read(SOURCE, as_version=4))
    assert set(HIDDEN_LINES) <= secrets.hidden_lines
    assert "return math.fsum(float(value) for value in values) # exact float sum" in (
        secrets.solution_lines)
    assert 'assert total_of([1, 2]) == 3, "total_of([1, 2]) should be 3"' in secrets.public_lines
    assert not secrets.hidden_lines & secrets.public_lines


def test_visible_failure_in_a_cell_with_hidden_tests_shows_only_the_visible_line():
    source = ("check = 5\nassert check == 6, 'check should be 6'\n### BEGIN HIDDEN TESTS\n"
              "quiet_probe_881 = 7\nassert check + quiet_probe_881 == 13\n### END HIDDEN TESTS")
    cell = new_code_cell(source, execution_count=4, metadata=_grade_meta("m99_check_test"))
    context = "\n".join(f"      {i} {line}" for i, line in enumerate(source.split("\n"), 1))
    cell.outputs = [new_output(
        "error", ename="AssertionError", evalue="check should be 6",
        traceback=["\x1b[31m-----\x1b[39m", "AssertionError  Traceback (most recent call last)",
                   f"\x1b[36mCell\x1b[39m In[4], line 2\n{context}",
                   "AssertionError: check should be 6"])]
    clean = strip_hidden_tests(new_notebook(cells=[cell]), ["quiet_probe_881 = 7"])
    shown = json.dumps(clean.cells[0])
    assert "quiet_probe_881" not in shown
    assert "assert check == 6, 'check should be 6'" in shown
    assert "A hidden test failed." not in shown
    assert "AssertionError: check should be 6" in shown


def test_assertion_message_quoting_hidden_source_is_dropped():
    line = "assert mystery_rate(12) == 0.31, 'assert mystery_rate(12) == 0.31'"
    cell = new_code_cell(f"### BEGIN HIDDEN TESTS\n{line}\n### END HIDDEN TESTS",
                         execution_count=1, metadata=_grade_meta("m99_rate_test"))
    cell.outputs = [new_output("error", ename="AssertionError",
                               evalue="assert mystery_rate(12) == 0.31",
                               traceback=["Cell In[1], line 2", "AssertionError: ..."])]
    clean = strip_hidden_tests(new_notebook(cells=[cell]), ["assert mystery_rate(12) == 0.31"])
    shown = json.dumps(clean.cells[0])
    assert "mystery_rate" not in shown
    assert feedback.HIDDEN_MESSAGE_NOTE in shown


def test_find_leaks_sees_through_highlighting_and_markdown():
    page = ('<pre><span class="k">assert</span> <span class="n">probe</span>'
            '(<span class="mi">3</span>) == <span class="mi">9</span></pre>'
            "<p>Averages <em>hide</em> the clients who struggle</p>")
    assert find_leaks(page, ["assert probe(3) == 9"]) == ["assert probe(3) == 9"]
    assert find_leaks(page, ["Averages *hide* the clients who struggle"])
    assert find_leaks(page, ["assert probe(4) == 16"]) == []


def test_exporter_refuses_a_page_that_still_quotes_a_hidden_line():
    # an instructor's markdown cell repeats a hidden test line: nothing can remove it
    notebook = new_notebook(cells=[
        new_markdown_cell("Remember: assert total_of(secret_case_7319) == 11",
                          metadata=_grade_meta("m99_note")),
    ])
    secrets = NotebookSecrets(
        hidden_lines=frozenset({"assert total_of(secret_case_7319) == 11"}))
    exporter = LeakCheckedHTMLExporter()
    exporter.register_preprocessor(HiddenTestFilter({"sums": secrets}), enabled=True)
    with pytest.raises(HiddenTestLeakError, match="not written"):
        exporter.from_notebook_node(notebook, {"nbgrader": {"notebook": "sums"}})
    with pytest.raises(HiddenTestLeakError, match="without the hidden-test filter"):
        LeakCheckedHTMLExporter().from_notebook_node(notebook)


# ------------------------------------------------------------------------- the real exercises

EXERCISES = sorted((Path(__file__).resolve().parents[1] / "exercises").glob("*/*.ipynb"))


def _student_version(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release version as nbgrader's own preprocessors make it (no gradebook needed)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

    student = nbformat.from_dict(json.loads(json.dumps(source)))
    for preprocessor in (ClearSolutions(), ClearHiddenTests(), ClearMarkScheme()):
        student, _ = preprocessor.preprocess(student, {})
    return student


@pytest.mark.parametrize("path", EXERCISES, ids=[p.parent.name for p in EXERCISES])
def test_what_the_student_version_shows_is_never_reported_as_a_leak(path):
    # A hidden test that repeats a phrase of the task text (an assertion message, say) must not
    # stop every student's feedback: the release shows that phrase anyway.
    from nbconvert import HTMLExporter

    source = nbformat.read(path, as_version=4)
    release = _student_version(source)
    forbidden = feedback.forbidden_lines(feedback.notebook_secrets(source),
                                         feedback.student_written_lines(release))
    assert forbidden, "the exercise has hidden tests, so some lines must stay forbidden"
    page, _ = HTMLExporter().from_notebook_node(release)
    assert find_leaks(page, forbidden) == []
    # and the check still bites: the source notebook itself shows its hidden tests
    source_page, _ = HTMLExporter().from_notebook_node(source)
    assert find_leaks(source_page, forbidden)
