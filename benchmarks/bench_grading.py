"""Grading speed: `cpcourse grade --workers 2` against plain `nbgrader autograde`, same run.

60 submissions of a real exercise (m02-over-indebtedness when present, else the test fixture):
a third fully answered, a third half answered, a third blank. Both graders run on identical
copies of one workshop; the scores must be identical. The floor is starting a kernel and
executing the answered notebook directly with nbclient (median of 3).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine_line, median_time, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SUBMISSIONS = 60
WORKERS = 2


def pick_exercise() -> tuple[Path, str, str]:
    """The exercise to grade, and why the fixture was used if it was."""
    why = "no m02/m03 exercise in exercises/"
    for name in ("m02-over-indebtedness", "m03-transparency"):
        if (REPO / "exercises" / name / f"{name}.ipynb").is_file():
            try:
                from clientprotection import load_mfi

                load_mfi()
            except Exception as error:  # noqa: BLE001 - any failure means: use the fixture
                why = f"{name} exists but its dataset does not load ({type(error).__name__})"
                break
            return REPO / "exercises", name, ""
    return REPO / "tests" / "fixtures" / "grading" / "exercises", "m99-fixture", why


def solution_text(source: str) -> str:
    lines = []
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
            continue
        if "### BEGIN HIDDEN TESTS" in line:
            break
        lines.append(line)
    return "\n".join(lines)


def answered(release: nbformat.NotebookNode, source: nbformat.NotebookNode, share: float):
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: solution_text(c.source)
        for c in source.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    nb = copy.deepcopy(release)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
           if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    keep = set(ids[: round(len(ids) * share)])
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in keep:
            cell.source = solutions[grade_id]
    return nb


def run(args: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def scores(workshop: Path, assignment: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{workshop / 'gradebook.db'}") as gradebook:
        return {
            s.student.id: (round(s.code_score, 6), round(s.score, 6))
            for s in gradebook.assignment_submissions(assignment)
        }


def main() -> None:
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    exercises, assignment, why = pick_exercise()
    base = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        only = base / "exercises"
        shutil.copytree(exercises / assignment, only / assignment)
        ids = [f"b{i:03d}" for i in range(SUBMISSIONS)]
        (base / "roster.csv").write_text(
            "id,first_name,last_name,email\n" + "".join(f"{i},F,L,{i}@example.org\n" for i in ids)
        )
        ours = base / "ours"
        run([str(BIN / "cpcourse"), "workshop", "init", str(ours), "--roster",
             str(base / "roster.csv"), "--exercises", str(only)], base)
        run([str(BIN / "cpcourse"), "release"], ours)
        release = nbformat.read(ours / "release" / assignment / f"{assignment}.ipynb", 4)
        source = nbformat.read(ours / "source" / assignment / f"{assignment}.ipynb", 4)
        variants = [answered(release, source, share) for share in (1.0, 0.5, 0.0)]
        for index, student in enumerate(ids):
            folder = ours / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(variants[index % 3], folder / f"{assignment}.ipynb")
            (folder / "timestamp.txt").write_text("2025-03-01 10:00:00.000000 UTC")
        plain = base / "plain"
        shutil.copytree(ours, plain)

        floor_dir = base / "floor"
        floor_dir.mkdir()
        nbformat.write(variants[0], floor_dir / "answered.ipynb")

        def execute_directly() -> None:
            from nbclient import NotebookClient

            nb = nbformat.read(floor_dir / "answered.ipynb", 4)
            NotebookClient(nb, timeout=120, kernel_name="python3",
                           resources={"metadata": {"path": str(floor_dir)}}).execute()

        floor = median_time(execute_directly, repeat=3)
        ours_time = run([str(BIN / "cpcourse"), "grade", assignment, "--workers", str(WORKERS),
                         "--no-progress"], ours)
        plain_time = run([str(BIN / "nbgrader"), "autograde", assignment], plain)
        ours_scores, plain_scores = scores(ours, assignment), scores(plain, assignment)
        identical = ours_scores == plain_scores and len(ours_scores) == SUBMISSIONS
        ratio = ours_time / plain_time
        per_ours = ours_time * WORKERS / SUBMISSIONS
        per_plain = plain_time / SUBMISSIONS
        above_ours, above_plain = per_ours - floor, per_plain - floor
        markdown = f"""## grading

`benchmarks/bench_grading.py`: {SUBMISSIONS} submissions of `{assignment}` (a third answered,
a third half answered, a third blank), one run of each grader on identical copies of the
workshop; {machine_line()}.{f" Fixture used: {why}." if why else ""}

| grader | wall time | per submission (x workers) | above the floor |
|---|---|---|---|
| plain `nbgrader autograde` | {plain_time:.1f} s | {per_plain:.2f} s | {above_plain:+.2f} s |
| `cpcourse grade`, {WORKERS} workers | {ours_time:.1f} s | {per_ours:.2f} s | {above_ours:+.2f} s |

- ratio cpcourse / plain: **{ratio:.2f}x** (target at most 0.6x)
- scores identical: **{identical}**
- floor (start a kernel and run the answered notebook with nbclient, median of 3): {floor:.2f} s
- `cpcourse grade` also runs the checks, the guard before each test cell and the sandbox
  launcher; both graders pay nbgrader's start-up once per process.
"""
        write_section("grading", markdown)
        print(markdown)
        if not identical:
            for student in ids:
                if ours_scores.get(student) != plain_scores.get(student):
                    print(student, ours_scores.get(student), plain_scores.get(student))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
