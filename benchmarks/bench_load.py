"""How long `load_mfi()` takes for the default scenario, cold (parsing the CSVs) and cached.

Run: ``.venv/bin/python benchmarks/bench_load.py``. Each measurement runs in a fresh Python
process (imports included, as a notebook's first cell pays them), median of 5; the baseline is
the same process doing nothing but ``import pandas``, measured in the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine_line, write_section  # noqa: E402

RUNS = 5
LOAD = "from clientprotection import load_mfi; load_mfi('default')"


def _seconds(code: str, cache: str) -> float:
    env = {"CPCOURSE_CACHE": cache, "PATH": "/usr/bin:/bin"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def _inner(cache: str) -> float:
    """Seconds spent inside load_mfi itself (imports excluded)."""
    timed = (
        "import time; from clientprotection import load_mfi; import pandas; "
        "t = time.perf_counter(); load_mfi('default'); print(time.perf_counter() - t)"
    )
    env = {"CPCOURSE_CACHE": cache, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", timed], check=True, env=env,
                         capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> None:
    baseline, cold, warm, cold_inner, warm_inner = [], [], [], [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as cache:
            baseline.append(_seconds("import pandas", cache))
            cold_inner.append(_inner(cache))  # fills the cache
            warm_inner.append(_inner(cache))
        with tempfile.TemporaryDirectory() as cache:
            cold.append(_seconds(LOAD, cache))
            warm.append(_seconds(LOAD, cache))
    b, c, w = (statistics.median(x) for x in (baseline, cold, warm))
    ci, wi = statistics.median(cold_inner), statistics.median(warm_inner)
    table = (
        "## load: `load_mfi()` on the default scenario (`benchmarks/bench_load.py`)\n\n"
        f"{machine_line()}; fresh process per measurement, median of {RUNS}. Target: under a "
        "second.\n\n"
        "| measurement | whole process (s) | inside `load_mfi` (s) | x `import pandas` |\n"
        "|---|---:|---:|---:|\n"
        f"| baseline: `import pandas` | {b:.2f} | | 1.0 |\n"
        f"| first load (parse the CSVs, write the cache) | {c:.2f} | {ci:.2f} | {c / b:.1f} |\n"
        f"| later loads (from the cache) | {w:.2f} | {wi:.2f} | {w / b:.1f} |\n"
    )
    print(table)
    write_section("load", table)


if __name__ == "__main__":
    main()
