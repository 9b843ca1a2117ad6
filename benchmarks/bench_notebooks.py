"""How long each module and exercise takes to run top to bottom on a fresh kernel.

Every notebook under course/modules/ and every exercise source notebook is executed with
nbclient on a fresh ``python3`` kernel, three times; the median is compared with the baseline,
an empty notebook executed the same way in the same run (kernel start-up and shutdown). Target:
at most 20 s per notebook. Writes the "notebooks" section of benchmarks/RESULTS.md.

Run: ``.venv/bin/python benchmarks/bench_notebooks.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine_line, median_time, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 20.0


def notebooks() -> list[Path]:
    modules = sorted((REPO / "course" / "modules").glob("[0-9][0-9]-*.ipynb"))
    exercises = sorted((REPO / "exercises").glob("*/*.ipynb"))
    return [*modules, *exercises]


def execute(path: Path | None) -> None:
    """Run one notebook (None: an empty one) on a fresh kernel, in its folder."""
    nb = nbformat.v4.new_notebook() if path is None else nbformat.read(path, as_version=4)
    folder = REPO if path is None else path.parent
    client = NotebookClient(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    baseline = median_time(lambda: execute(None), args.repeat)
    rows = []
    for path in notebooks():
        seconds = median_time(lambda p=path: execute(p), args.repeat)
        verdict = "ok" if seconds <= TARGET_SECONDS else "SLOW"
        rows.append((path.relative_to(REPO), seconds, seconds / baseline, verdict))
        print(f"{path.relative_to(REPO)}: {seconds:.1f} s ({seconds / baseline:.1f}x) {verdict}")

    lines = [
        "## Notebooks",
        "",
        f"`benchmarks/bench_notebooks.py`: each notebook run top to bottom on a fresh kernel "
        f"(nbclient), median of {args.repeat} runs; baseline = an empty notebook on a fresh "
        f"kernel in the same run ({baseline:.2f} s). Target: at most {TARGET_SECONDS:.0f} s "
        f"each. {machine_line()}.",
        "",
        "| notebook | median (s) | x baseline | target |",
        "|---|---|---|---|",
        *[f"| {name} | {s:.1f} | {r:.1f} | {v} |" for name, s, r, v in rows],
    ]
    write_section("notebooks", "\n".join(lines))


if __name__ == "__main__":
    main()
