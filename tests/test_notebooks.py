"""The course notebooks: each runs top to bottom on a fresh kernel, and the course hangs together.

Execution: every ``.ipynb`` under course/ runs with nbclient on a fresh ``python3`` kernel, in
its own folder, without an error and without anything on stderr (a warning is a defect to fix,
not to silence), including inside the output of widgets (an explorer's callback error would
otherwise hide there).

Lint: every module states its time, questions, objectives and key points as headings; nothing
in course/ or exercises/ is committed with outputs or execution counts; relative links between
the landing page, the modules, the trainer guide and the exercises resolve (a student-workspace
link ``my-exercises/<a>/<a>.ipynb`` resolves when ``exercises/<a>/<a>.ipynb`` exists); the landing
page lists every module of :data:`clientprotection.principles.MODULES` with the minutes the
module states, or marks it as coming; every module links its exercise when one exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from clientprotection.principles import MODULES

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "course"
EXERCISES = REPO / "exercises"
INDEX = COURSE / "index.ipynb"

COURSE_NOTEBOOKS = sorted(COURSE.rglob("*.ipynb"))
MODULE_NOTEBOOKS = sorted((COURSE / "modules").glob("[0-9][0-9]-*.ipynb"))
ALL_NOTEBOOKS = sorted(
    p for p in [*COURSE_NOTEBOOKS, *EXERCISES.rglob("*.ipynb")] if ".ipynb_checkpoints" not in
    p.parts
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
TIME = re.compile(r"Teaching:\**\s*(\d+)\s*min.*?Exercises:\**\s*(\d+)\s*min", re.S)


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _headings(nb) -> list[str]:
    return [
        line.lstrip("#").strip().lower()
        for line in _markdown(nb).splitlines()
        if re.match(r"^#{1,6}\s", line)
    ]


def _module_minutes(path: Path) -> tuple[int, int]:
    match = TIME.search(_markdown(nbformat.read(path, as_version=4)))
    assert match, f"{_rel(path)}: state 'Teaching: N min' and 'Exercises: N min'"
    return int(match.group(1)), int(match.group(2))


# --- execution -----------------------------------------------------------------------------


def _bad_outputs(outputs) -> list[str]:
    problems = []
    for out in outputs:
        if out.get("output_type") == "error":
            problems.append(f"error: {out.get('ename')}: {out.get('evalue')}")
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            problems.append(f"stderr: {out.get('text', '')[:500]}")
    return problems


def _widget_outputs(nb) -> list[dict]:
    """Outputs captured inside Output widgets (where interactive() shows its callback)."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    outputs = []
    for model in state.get("state", {}).values():
        outputs.extend(model.get("state", {}).get("outputs", []) or [])
    return outputs


@pytest.mark.slow
@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=_rel)
def test_notebook_runs_clean(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    client.execute()
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            problems += [f"cell {index}: {p}" for p in _bad_outputs(cell.get("outputs", []))]
    problems += [f"widget: {p}" for p in _bad_outputs(_widget_outputs(nb))]
    assert not problems, "\n".join(problems)


# --- lint ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_rel)
def test_no_committed_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"cell {index} has outputs: clear them"
            assert cell.get("execution_count") is None, f"cell {index} has an execution count"
    assert "widgets" not in nb.metadata, "saved widget state: clear it"


@pytest.mark.parametrize("path", MODULE_NOTEBOOKS, ids=_rel)
def test_module_anatomy(path):
    nb = nbformat.read(path, as_version=4)
    headings = _headings(nb)
    for wanted in ("time", "questions", "objectives", "key points"):
        assert any(h == wanted or h.startswith(wanted) for h in headings), (
            f"{_rel(path)}: no '{wanted}' heading"
        )
    teaching, exercises = _module_minutes(path)
    assert 0 < teaching <= 240 and 0 <= exercises <= 240
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert any(h.startswith("further reading") for h in headings)
    text = _markdown(nb)
    assert "Think" in text, "give at least one 'Think' prompt for group discussion"


def _links(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        text = _markdown(nbformat.read(path, as_version=4))
    else:
        text = path.read_text()
    return [m.group(1) for m in LINK.finditer(text)]


def _resolves(source: Path, target: str) -> bool:
    parsed = urlparse(target)
    if parsed.scheme or target.startswith("#") or target.startswith("mailto:"):
        return True
    resolved = (source.parent / unquote(parsed.path)).resolve()
    parts = resolved.relative_to(REPO.resolve()).parts if resolved.is_relative_to(
        REPO.resolve()) else ()
    if parts[:1] == ("my-exercises",):
        # the student workspace is generated from exercises/ by the launcher and by Binder
        return (EXERCISES.joinpath(*parts[1:])).exists()
    return resolved.exists()


LINKED_FILES = sorted(
    [*COURSE_NOTEBOOKS, *COURSE.rglob("*.md"), *EXERCISES.rglob("*.ipynb")], key=str
)


@pytest.mark.parametrize("path", LINKED_FILES, ids=_rel)
def test_relative_links_resolve(path):
    broken = [t for t in _links(path) if not _resolves(path, t)]
    assert not broken, f"{_rel(path)}: broken links {broken}"


def _exercise_link(assignment: str, depth: int) -> str:
    return "../" * depth + f"my-exercises/{assignment}/{assignment}.ipynb"


@pytest.mark.parametrize("path", MODULE_NOTEBOOKS, ids=_rel)
def test_module_links_its_exercise(path):
    number = path.name[:2]
    assignment = MODULES[number].assignment
    links = _links(path)
    if (EXERCISES / assignment / f"{assignment}.ipynb").exists():
        assert _exercise_link(assignment, 2) in links, f"link the exercise {assignment}"
    assert "../index.ipynb" in links, "link back to the course map"


def test_index_lists_every_module():
    assert INDEX.exists()
    nb = nbformat.read(INDEX, as_version=4)
    text = _markdown(nb)
    links = _links(INDEX)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()
            if re.match(r"^\|\s*\d\d\s*\|", line)}
    for number, module in MODULES.items():
        assert number in rows, f"the course map has no row for module {number}"
        row = rows[number]
        notebook = COURSE / "modules" / f"{number}-{module.slug}.ipynb"
        if notebook.exists():
            assert f"modules/{notebook.name}" in links, f"link module {number}"
            teaching, exercises = _module_minutes(notebook)
            assert re.search(rf"\b{teaching}\s*\+\s*{exercises}\b", row), (
                f"module {number}: the map must show {teaching} + {exercises} minutes"
            )
        else:
            assert "coming" in row.lower(), f"module {number} is not written: mark it coming"
        exercise = EXERCISES / module.assignment / f"{module.assignment}.ipynb"
        if exercise.exists():
            assert _exercise_link(module.assignment, 1) in links, (
                f"link the exercise of module {number}"
            )
        assert module.title.split(":")[0] in row, f"module {number}: show its title"
