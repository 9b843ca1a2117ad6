"""Grading speed: `cpcourse grade --workers 2` against plain `nbgrader autograde`, same session.

60 submissions of the real exercise m02-over-indebtedness, built from its release version: 40%
fully answered, 30% answered with plausible mistakes in two or three parts, 15% half answered,
15% blank. Both graders run on identical copies of one workshop, alternately, ``--runs`` times
each (median reported); their scores must be identical in every run. The floor is starting a
kernel and executing the fully answered notebook directly with nbclient (median of 5).

Run: ``.venv/bin/python benchmarks/bench_grading.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
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
ASSIGNMENT = "m02-over-indebtedness"
SUBMISSIONS = 60
WORKERS = 2

# plausible mistakes, by answer cell (a percentage instead of a fraction, >= instead of >,
# every application instead of the approved ones, PAR90 instead of PAR30, ...)
MISTAKES = {
    "m02_share_over_75_answer": (
        'share_over_75 = float((loans["dsr_at_approval"] >= 0.75).mean() * 100)'
    ),
    "m02_liv_bands_answer": (
        'bands = indebtedness.liv_band(loans["dsr_at_approval"])\n'
        "band_counts = bands.value_counts()"
    ),
    "m02_bureau_answer": (
        'bureau_checked_share = applications.groupby("branch_id", observed=True)'
        '["bureau_checked"].mean()'
    ),
    "m02_growth_answer": (
        "pairs = indebtedness.loan_growth(loans)\n"
        'median_growth = pairs.groupby("branch_id", observed=True)["growth"].mean() * 100'
    ),
    "m02_volume_branch_answer": 'volume_branch = str(branches["branch_id"].iloc[0])',
    "m02_par_answer": 'par30_by_branch = portfolio.par(loans, 90, by="branch_id")',
    "m02_bad_rates_answer": (
        'bad = loans["days_late"] > 30\n'
        'above = loans["dsr_at_approval"] > 0.75\n'
        "bad_rate_above = float(bad[above].mean())\n"
        "bad_rate_below = float(bad.mean())"
    ),
}


def solution_text(source: str) -> str:
    lines = []
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
            continue
        if "### BEGIN HIDDEN TESTS" in line:
            break
        lines.append(line)
    return "\n".join(lines)


def answer_ids(nb: nbformat.NotebookNode) -> list[str]:
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.cell_type == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]


def submission(
    release: nbformat.NotebookNode,
    source: nbformat.NotebookNode,
    answered: set[str],
    mistaken: set[str],
) -> nbformat.NotebookNode:
    """The release notebook with the solutions of ``answered`` and the mistakes of
    ``mistaken`` typed into their answer cells (the others left as released)."""
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: solution_text(c.source)
        for c in source.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in mistaken and grade_id in MISTAKES:
            cell.source = MISTAKES[grade_id]
        elif grade_id in answered:
            cell.source = solutions[grade_id]
    return nb


def cohort(release: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list:
    """60 submissions: 24 correct, 18 with mistakes, 9 half answered, 9 blank."""
    ids = answer_ids(source)
    mistake_ids = [i for i in ids if i in MISTAKES]
    notebooks = []
    for index in range(SUBMISSIONS):
        kind = index % 20
        if kind < 8:
            notebooks.append(submission(release, source, set(ids), set()))
        elif kind < 14:  # two or three parts wrong, a different set each time
            start = (kind * 2) % max(1, len(mistake_ids))
            wrong = set((mistake_ids * 2)[start : start + 2 + kind % 2])
            notebooks.append(submission(release, source, set(ids), wrong))
        elif kind < 17:
            notebooks.append(submission(release, source, set(ids[: len(ids) // 2]), set()))
        else:
            notebooks.append(copy.deepcopy(release))
    return notebooks


def run(args: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def scores(workshop: Path) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{workshop / 'gradebook.db'}") as gradebook:
        return {
            s.student.id: (round(s.code_score, 6), round(s.score, 6))
            for s in gradebook.assignment_submissions(ASSIGNMENT)
        }


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each grader (median)")
    options = parser.parse_args()
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    exercise = REPO / "exercises" / ASSIGNMENT
    if not (exercise / f"{ASSIGNMENT}.ipynb").is_file():
        raise SystemExit(f"{exercise} is missing: this benchmark grades the real exercise")
    from clientprotection import load_mfi

    load_mfi()  # fails loudly if the dataset does not load; warms the grader's own cache
    base = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        only = base / "exercises"
        shutil.copytree(exercise, only / ASSIGNMENT)
        ids = [f"b{i:03d}" for i in range(SUBMISSIONS)]
        (base / "roster.csv").write_text(
            "id,first_name,last_name,email\n" + "".join(f"{i},F,L,{i}@example.org\n" for i in ids)
        )
        prepared = base / "prepared"
        run([str(BIN / "cpcourse"), "workshop", "init", str(prepared), "--roster",
             str(base / "roster.csv"), "--exercises", str(only)], base)
        run([str(BIN / "cpcourse"), "release"], prepared)
        release = nbformat.read(prepared / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
        source = nbformat.read(prepared / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
        for student, nb in zip(ids, cohort(release, source), strict=True):
            folder = prepared / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
            (folder / "timestamp.txt").write_text("2025-03-01 10:00:00.000000 UTC")

        floor_dir = base / "floor"
        floor_dir.mkdir()
        shutil.copyfile(prepared / "submitted" / ids[0] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                        floor_dir / "answered.ipynb")

        def execute_directly() -> None:
            from nbclient import NotebookClient

            nb = nbformat.read(floor_dir / "answered.ipynb", 4)
            NotebookClient(nb, timeout=120, kernel_name="python3",
                           resources={"metadata": {"path": str(floor_dir)}}).execute()

        loads = [load_average()]
        floor = median_time(execute_directly, repeat=5)
        ours_times, plain_times, identical, distinct = [], [], True, set()
        for index in range(options.runs):
            ours, plain = base / f"ours-{index}", base / f"plain-{index}"
            shutil.copytree(prepared, ours)
            shutil.copytree(prepared, plain)
            graders = [
                (ours_times, ours, [str(BIN / "cpcourse"), "grade", ASSIGNMENT, "--workers",
                                    str(WORKERS), "--no-progress"]),
                (plain_times, plain, [str(BIN / "nbgrader"), "autograde", ASSIGNMENT]),
            ]
            for times, folder, command in graders if index % 2 == 0 else graders[::-1]:
                times.append(run(command, folder))
            ours_scores, plain_scores = scores(ours), scores(plain)
            same = ours_scores == plain_scores and len(ours_scores) == SUBMISSIONS
            if not same:
                for student in ids:
                    if ours_scores.get(student) != plain_scores.get(student):
                        print("differs:", student, ours_scores.get(student),
                              plain_scores.get(student))
            identical &= same
            distinct |= set(plain_scores.values())
            print(f"run {index + 1}: cpcourse {ours_times[-1]:.1f} s, nbgrader "
                  f"{plain_times[-1]:.1f} s, scores identical: {same}", flush=True)
            shutil.rmtree(ours, ignore_errors=True)
            shutil.rmtree(plain, ignore_errors=True)
        loads.append(load_average())
        ours_time, plain_time = statistics.median(ours_times), statistics.median(plain_times)
        ratio = ours_time / plain_time
        ratios = ", ".join(f"{o / p:.2f}" for o, p in zip(ours_times, plain_times, strict=True))
        per_ours = ours_time * WORKERS / SUBMISSIONS
        per_plain = plain_time / SUBMISSIONS
        above_ours, above_plain = per_ours - floor, per_plain - floor
        markdown = f"""## grading

Command: `.venv/bin/python benchmarks/bench_grading.py --runs {options.runs}`
({machine_line()}; load average {loads[0]} before, {loads[1]} after: other jobs share the
machine). {SUBMISSIONS} submissions of `{ASSIGNMENT}` built from its release version: 40% fully
answered, 30% with plausible mistakes in two or three parts, 15% half answered, 15% blank
({len(distinct)} distinct scores). Each grader ran {options.runs} times on fresh copies of the
same workshop, alternately; medians below.

| grader | wall time (median of {options.runs}) | per submission (x workers) | above the floor |
|---|---|---|---|
| plain `nbgrader autograde` | {plain_time:.1f} s | {per_plain:.2f} s | {above_plain:+.2f} s |
| `cpcourse grade --workers {WORKERS}` | {ours_time:.1f} s |\
 {per_ours:.2f} s | {above_ours:+.2f} s |

- ratio cpcourse / plain: **{ratio:.2f}x** (target at most 0.6x); per run: {ratios}
- scores identical in every run: **{identical}**
- floor (start a kernel and run the fully answered notebook with nbclient, median of 5):
  {floor:.2f} s
- `cpcourse grade` also checks each submission against the release, runs the guard before
  test cells, starts kernels through the sandbox launcher as an unprivileged user, and copies
  every result into the workshop gradebook; both graders pay nbgrader's start-up once per
  process.
"""
        write_section("grading", markdown)
        print(markdown)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
