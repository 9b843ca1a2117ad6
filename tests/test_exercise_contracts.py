"""Contracts of every graded exercise, checked through nbgrader's own API.

For each exercise with a cases file in tests/exercise_cases/ (see its __init__ for the format),
one temporary nbgrader course folder holds the source assignment; the harness generates the
release version, submits variants as different students and autogrades each of them once:

- the source solutions score full marks on the auto-graded parts;
- the untouched release version scores zero on them;
- each plausible wrong answer scores exactly its expected partial marks;
- tampering (test cell turned into ``pass`` or deleted, ``AssertionError`` redefined,
  ``numpy.isclose`` or pandas reductions monkeypatched, a library helper patched) scores no more
  than the wrong answer it accompanies;
- the release version holds no solution and no hidden test;
- nbgrader's Validator (what the Validate button runs) fails the release and passes the solution.

Settings follow the course's grading rules: ``OverwriteCells.add_missing_cells`` is on (a deleted
test cell comes back), students are created on the fly only inside this temporary course.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from exercise_cases import assignment_for, cases_modules, load_cases, source_notebook
from traitlets.config import Config

pytestmark = pytest.mark.slow

SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
GRADE_ID = re.compile(r"^m\d\d_[a-z0-9]+(?:_[a-z0-9]+)*_(answer|test(?:_\d+)?|written)$")


def _present_cases() -> list[str]:
    return [p for p in cases_modules() if source_notebook(assignment_for(p)).exists()]


CASES = _present_cases()


def _variants(kind: str) -> list[tuple[str, str]]:
    out = []
    for prefix in CASES:
        for entry in getattr(load_cases(prefix), kind):
            out.append((prefix, entry[0]))
    return out


# --- notebook helpers -----------------------------------------------------------------------


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _by_grade_id(nb) -> dict[str, nbformat.NotebookNode]:
    return {_meta(c)["grade_id"]: c for c in nb.cells if _meta(c).get("grade_id")}


def _is_auto_test(cell) -> bool:
    meta = _meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def _is_solution(cell) -> bool:
    meta = _meta(cell)
    return bool(meta.get("solution")) and cell.cell_type == "code"


def _between(source: str, begin: str, end: str) -> list[str]:
    """Non-blank lines between begin/end markers (all blocks of a cell)."""
    lines, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == begin:
            inside = True
        elif stripped == end:
            inside = False
        elif inside and stripped:
            lines.append(stripped)
    return lines


def _without_solution_markers(source: str) -> str:
    kept = [
        line
        for line in source.splitlines()
        if line.strip() not in (SOLUTION_BEGIN, SOLUTION_END)
    ]
    return "\n".join(kept) + "\n"


# --- grading one exercise once --------------------------------------------------------------


@dataclass
class GradedExercise:
    assignment: str
    source: nbformat.NotebookNode
    release: nbformat.NotebookNode
    release_path: Path
    filled_path: Path
    points: dict[str, float]  # auto-graded test cell -> max points
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> cell -> score
    logs: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.points.values())

    def score(self, student: str) -> float:
        assert student in self.scores, f"{student} was not graded:\n{self.logs.get(student, '')}"
        return sum(self.scores[student].get(g, 0.0) for g in self.points)


def _student_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _filled(source, release) -> nbformat.NotebookNode:
    """The release version with every solution cell (code or written) holding the source's."""
    nb = copy.deepcopy(release)
    solutions = {gid: c for gid, c in _by_grade_id(source).items() if _meta(c).get("solution")}
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if gid in solutions:
            cell.source = _without_solution_markers(solutions[gid].source)
    return nb


def _edited(nb, edits: dict[str, str | None]) -> nbformat.NotebookNode:
    out = copy.deepcopy(nb)
    cells = _by_grade_id(out)
    unknown = set(edits) - set(cells)
    assert not unknown, f"edits name grade ids that the notebook lacks: {sorted(unknown)}"
    out.cells = [c for c in out.cells if edits.get(_meta(c).get("grade_id"), "") is not None]
    for cell in out.cells:
        gid = _meta(cell).get("grade_id")
        if gid in edits:
            cell.source = edits[gid]
    return out


def _config(root: Path, tmp: Path) -> Config:
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "contracts"
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.Exchange.root = str(tmp / "exchange")
    config.OverwriteCells.add_missing_cells = True
    config.Execute.timeout = 120
    config.Autograde.create_student = True
    return config


def _grade(tmp: Path, prefix: str) -> GradedExercise:
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    cases = load_cases(prefix)
    assignment = assignment_for(prefix)
    root = tmp / "course"
    shutil.copytree(source_notebook(assignment).parent, root / "source" / assignment)
    (tmp / "exchange").mkdir()
    api = NbGraderAPI(config=_config(root, tmp))
    result = api.generate_assignment(assignment)
    assert result["success"], result.get("error", "") + result.get("log", "")

    notebook = f"{assignment}.ipynb"
    source = nbformat.read(source_notebook(assignment), as_version=4)
    release_path = root / "release" / assignment / notebook
    release = nbformat.read(release_path, as_version=4)
    points = {gid: float(_meta(c)["points"]) for gid, c in _by_grade_id(source).items()
              if _is_auto_test(c)}
    filled = _filled(source, release)
    filled_path = tmp / "filled" / notebook
    filled_path.parent.mkdir()
    nbformat.write(filled, filled_path)

    wrong = {name: (edits, score) for name, edits, score in cases.WRONG_ANSWERS}
    submissions: dict[str, nbformat.NotebookNode] = {"solution": filled, "release": release}
    for name, (edits, _) in wrong.items():
        submissions[f"wrong-{_student_id(name)}"] = _edited(filled, edits)
    for name, base, edits in cases.TAMPERING:
        submissions[f"tamper-{_student_id(name)}"] = _edited(
            _edited(filled, wrong[base][0]), edits
        )

    graded = GradedExercise(assignment, source, release, release_path, filled_path, points)
    for student, nb in submissions.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / notebook)
        outcome = api.autograde(assignment, student)
        graded.logs[student] = outcome.get("log", "") + outcome.get("error", "")
        if not outcome["success"]:
            continue
        with Gradebook(api.coursedir.db_url) as gradebook:
            submitted = gradebook.find_submission_notebook(assignment, assignment, student)
            graded.scores[student] = {
                g.name: float(g.auto_score or 0.0) for g in submitted.grades
            }
    return graded


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    cache: dict[str, GradedExercise] = {}

    def get(prefix: str) -> GradedExercise:
        if prefix not in cache:
            cache[prefix] = _grade(tmp_path_factory.mktemp(prefix), prefix)
        return cache[prefix]

    # nbgrader runs the `alembic` script of its environment: find it even when the virtualenv
    # is not activated (e.g. `.venv/bin/python -m pytest`)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(Path(sys.executable).parent), prepend=os.pathsep)
        yield get


# --- the contracts --------------------------------------------------------------------------

needs_cases = pytest.mark.skipif(not CASES, reason="no exercise with a cases file yet")


@needs_cases
@pytest.mark.parametrize("prefix", CASES)
def test_exercise_is_well_formed(prefix):
    assignment = assignment_for(prefix)
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    graded_cells = [c for c in nb.cells if _meta(c)]
    assert graded_cells, "the source notebook has no nbgrader cells"
    for cell in graded_cells:
        meta = _meta(cell)
        assert meta.get("schema_version") == 3, f"{meta.get('grade_id')}: schema_version 3"
        gid = meta.get("grade_id", "")
        if meta.get("grade") or meta.get("solution") or meta.get("task"):
            assert gid.startswith(f"{prefix}_"), f"grade id {gid!r} must start with {prefix}_"
            assert GRADE_ID.match(gid), f"grade id {gid!r} must be {prefix}_<topic>_<kind>"
            if _is_solution(cell):
                assert gid.endswith("_answer"), f"solution cell {gid!r} must end in _answer"
                assert SOLUTION_BEGIN in cell.source, f"{gid}: no {SOLUTION_BEGIN}"
            if _is_auto_test(cell):
                assert re.search(r"_test(_\d+)?$", gid), f"test cell {gid!r} must end in _test"
                assert meta.get("points", 0) > 0, f"{gid}: points"
                assert "assert" in cell.source.split(HIDDEN_BEGIN)[0], (
                    f"{gid}: visible asserts for self-study"
                )
                assert HIDDEN_BEGIN in cell.source, f"{gid}: hidden tests for grading"
            if cell.cell_type == "markdown" and meta.get("grade"):
                assert gid.endswith("_written"), f"written answer {gid!r} must end in _written"
    ids = [_meta(c).get("grade_id") for c in graded_cells]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    setup = code_cells[0]
    assert _meta(setup).get("locked") and not _meta(setup).get("solution"), (
        "the first code cell must be the locked setup cell"
    )
    assert "load_mfi" in setup.source and "warnings" in setup.source
    assert sum(_is_auto_test(c) for c in nb.cells) >= 6, "at least six auto-graded parts"
    written = [c for c in nb.cells if c.cell_type == "markdown" and _meta(c).get("grade")]
    assert written, "at least one manually graded written answer"
    rubric = source_notebook(assignment).parents[2] / "grading" / "rubrics" / f"{assignment}.md"
    assert rubric.exists(), f"missing rubric {rubric}"
    rubric_text = rubric.read_text()
    for cell in written:
        assert _meta(cell)["grade_id"] in rubric_text, "the rubric names each written answer"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None


@needs_cases
@pytest.mark.parametrize("prefix", CASES)
def test_cases_file_is_consistent(prefix):
    cases = load_cases(prefix)
    nb = nbformat.read(source_notebook(assignment_for(prefix)), as_version=4)
    cells = _by_grade_id(nb)
    total = sum(float(_meta(c)["points"]) for c in cells.values() if _is_auto_test(c))
    assert len(cases.WRONG_ANSWERS) >= 3, "at least three plausible wrong answers"
    names = [w[0] for w in cases.WRONG_ANSWERS]
    assert len(names) == len(set(names))
    for name, edits, expected in cases.WRONG_ANSWERS:
        assert edits and all(_is_solution(cells[g]) for g in edits), f"{name}: solution cells"
        assert 0 <= expected < total, f"{name}: a wrong answer scores less than full marks"
    assert cases.TAMPERING, "at least one tampering case"
    for name, base, edits in cases.TAMPERING:
        assert base in names, f"tampering {name!r} accompanies an unknown wrong answer {base!r}"
        assert set(edits) <= set(cells), f"tampering {name!r}: unknown grade ids"


@needs_cases
@pytest.mark.parametrize("prefix", CASES)
def test_solution_scores_full_marks(graded, prefix):
    result = graded(prefix)
    assert result.score("solution") == pytest.approx(result.total), result.scores["solution"]


@needs_cases
@pytest.mark.parametrize("prefix", CASES)
def test_untouched_release_scores_zero(graded, prefix):
    result = graded(prefix)
    assert result.score("release") == 0, result.scores["release"]


@needs_cases
@pytest.mark.parametrize(("prefix", "name"), _variants("WRONG_ANSWERS"))
def test_wrong_answer_scores_expected_partial_marks(graded, prefix, name):
    result = graded(prefix)
    expected = {n: s for n, _, s in load_cases(prefix).WRONG_ANSWERS}[name]
    student = f"wrong-{_student_id(name)}"
    assert result.score(student) == pytest.approx(expected), (
        result.scores[student], result.logs[student][-3000:]
    )


@needs_cases
@pytest.mark.parametrize(("prefix", "name"), _variants("TAMPERING"))
def test_tampering_gains_nothing(graded, prefix, name):
    result = graded(prefix)
    base = {n: b for n, b, _ in load_cases(prefix).TAMPERING}[name]
    tampered = result.score(f"tamper-{_student_id(name)}")
    honest = result.score(f"wrong-{_student_id(base)}")
    assert tampered <= honest, (name, result.scores[f"tamper-{_student_id(name)}"])


@needs_cases
@pytest.mark.parametrize("prefix", CASES)
def test_release_has_no_solution_or_hidden_test(graded, prefix):
    result = graded(prefix)
    text = result.release_path.read_text()
    for marker in (SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END):
        assert marker not in text
    release_sources = "\n".join(c.source for c in result.release.cells)
    for cell in result.source.cells:
        for line in _between(cell.source, SOLUTION_BEGIN, SOLUTION_END) + _between(
            cell.source, HIDDEN_BEGIN, HIDDEN_END
        ):
            if len(line) > 12 and not line.startswith("#"):
                assert line not in release_sources, f"leaked into the release: {line!r}"
    # no outputs either: nothing computed from the answers may ship
    for cell in json.loads(text)["cells"]:
        assert not cell.get("outputs")


@needs_cases
@pytest.mark.parametrize("prefix", CASES)
def test_validator_fails_release_and_passes_solution(graded, prefix):
    from nbgrader.validator import Validator

    result = graded(prefix)
    validator = Validator()
    assert validator.validate(str(result.release_path)).get("failed"), (
        "the untouched release must fail validation"
    )
    outcome = validator.validate(str(result.filled_path))
    assert not outcome.get("failed") and not outcome.get("changed"), outcome
