"""Cases for the exercise contracts (tests/test_exercise_contracts.py).

One file per graded exercise, ``tests/exercise_cases/mNN.py``, next to
``exercises/mNN-<name>/mNN-<name>.ipynb``. The harness grades, through nbgrader's own API, the
source notebook (full marks on auto-graded parts), the untouched release version (zero), every
wrong answer and every tampering attempt, each as a different student of one course folder.

A cases file defines:

``WRONG_ANSWERS: list[tuple[str, dict[str, str], float]]``
    ``(name, {grade_id: new source of that solution cell}, expected auto-graded score)``.
    The submission starts from the release version with every solution cell filled with the
    source solution (a learner who got everything right), then the listed solution cells are
    replaced. The expected score is the total of the auto-graded points it should still earn:
    write it as a sum of the points of the test cells that must pass, so the arithmetic is
    visible.

``TAMPERING: list[tuple[str, str, dict[str, str | None]]]``
    ``(name, wrong answer it accompanies, {grade_id: new source, or None to delete the cell})``.
    The edits apply on top of that wrong answer's submission and may target solution cells
    (e.g. append a monkeypatch after the wrong code) or test cells (e.g. replace them by
    ``pass``, or delete them). A tampering attempt must score no more than its wrong answer.

``ASSIGNMENT: str`` (optional)
    The assignment name, if it differs from the module's in
    :data:`clientprotection.principles.MODULES`.

The snippets below are shared tampering moves that every cases file can append to a wrong
solution (``wrong_source + REDEFINE_ASSERTION_ERROR``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from clientprotection.principles import MODULES

CASES_DIR = Path(__file__).resolve().parent
REPO = CASES_DIR.parents[1]
EXERCISES = REPO / "exercises"

REDEFINE_ASSERTION_ERROR = (
    "\n# make failing checks harmless\n"
    "AssertionError = type('AssertionError', (Exception,), {})\n"
)
PATCH_NUMPY_ISCLOSE = (
    "\nimport numpy as _np\n"
    "_np.isclose = lambda *args, **kwargs: True\n"
    "_np.allclose = lambda *args, **kwargs: True\n"
    "_np.testing.assert_allclose = lambda *args, **kwargs: None\n"
)
TEST_CELL_PASS = "pass\n"


def patch_pandas_reductions(value: float) -> str:
    """Source that makes pandas' mean, sum, median and max of any Series return ``value``."""
    return (
        "\nimport pandas as _pd\n"
        f"for _name in ('mean', 'sum', 'median', 'max', 'min'):\n"
        f"    setattr(_pd.Series, _name, lambda self, *a, **k: {value!r})\n"
    )


def cases_modules() -> list[str]:
    """Names of the cases files present, e.g. ``["m02", "m03"]``."""
    return sorted(p.stem for p in CASES_DIR.glob("m[0-9][0-9].py"))


def load_cases(prefix: str):
    """Import ``tests/exercise_cases/<prefix>.py``."""
    return importlib.import_module(f"exercise_cases.{prefix}")


def assignment_for(prefix: str) -> str:
    """Assignment name of a cases file: its ``ASSIGNMENT`` or the module's in principles."""
    module = load_cases(prefix)
    explicit = getattr(module, "ASSIGNMENT", None)
    if explicit:
        return explicit
    number = prefix[1:]
    if number not in MODULES:
        raise ValueError(f"cases file {prefix}.py does not match a course module")
    return MODULES[number].assignment


def source_notebook(assignment: str) -> Path:
    """``exercises/<assignment>/<assignment>.ipynb``."""
    return EXERCISES / assignment / f"{assignment}.ipynb"
