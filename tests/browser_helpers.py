"""Helpers shared by the workspace, Binder and browser tests: repository copies, a small
nbgrader source assignment, free ports and a JupyterLab server on localhost."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

SOLUTION_BEGIN = "### BEGIN " + "SOLUTION"
SOLUTION_END = "### END " + "SOLUTION"
HIDDEN_BEGIN = "### BEGIN " + "HIDDEN TESTS"
HIDDEN_END = "### END " + "HIDDEN TESTS"

# Folders a learner copy never needs (and that would make copies slow).
_NOT_COPIED = {".venv", ".git", "my-exercises", "test-artifacts", "__pycache__", ".pytest_cache",
               ".ruff_cache", ".hypothesis", ".ipynb_checkpoints", "benchmarks/_work"}


def repository_files(repo: Path = REPO) -> list[Path]:
    """Tracked and untracked (not ignored) files of the checkout, as relative paths."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo, check=True, capture_output=True,
    ).stdout.decode()
    paths = sorted({Path(name) for name in listing.split("\0") if name})
    return [
        path for path in paths
        if (repo / path).is_file()
        and not any(part in _NOT_COPIED for part in path.parts)
        and not path.name.endswith((".pyc",))
    ]


def copy_repository(dest: Path, repo: Path = REPO) -> Path:
    """Copy the checkout's files (what a fresh clone plus work in progress would hold)."""
    for relative in repository_files(repo):
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / relative, target)
    return dest


def nbgrader_cell(kind: str, source: str, grade_id: str, *, points: float = 0, **meta) -> dict:
    """A notebook cell with nbgrader schema-3 metadata.

    kind: "setup" (locked code), "solution" (code answer), "tests" (autograded tests),
    "written" (manually graded markdown answer), "text" (plain markdown).
    """
    flags = {
        "setup": dict(grade=False, solution=False, locked=True),
        "solution": dict(grade=False, solution=True, locked=False),
        "tests": dict(grade=True, solution=False, locked=True, points=points),
        "written": dict(grade=True, solution=True, locked=False, points=points),
        "text": dict(grade=False, solution=False, locked=True),
    }[kind]
    metadata = {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "task": False,
                             **flags, **meta}}
    if kind in ("written", "text"):
        return nbformat.v4.new_markdown_cell(source, metadata=metadata)
    return nbformat.v4.new_code_cell(source, metadata=metadata)


SAMPLE_SOLUTION_LINE = "return round(instalment * 12 / income, 4)  # sample-solution-line"
SAMPLE_HIDDEN_LINE = "assert debt_service_ratio(50, 1000) == 0.6  # sample-hidden-line"


def write_sample_assignment(exercises_dir: Path, name: str = "m99-sample") -> Path:
    """A small nbgrader source assignment (with a data file) in ``exercises_dir/name``."""
    folder = exercises_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    cells = [
        nbgrader_cell("text", "# Sample exercise\nAnswer the questions.", "intro"),
        nbgrader_cell("setup", "import csv\nrows = list(csv.DictReader(open('incomes.csv')))",
                      "m99_setup"),
        nbgrader_cell(
            "solution",
            "def debt_service_ratio(instalment, income):\n"
            f"    {SOLUTION_BEGIN}\n    {SAMPLE_SOLUTION_LINE}\n    {SOLUTION_END}",
            "m99_dsr_answer",
        ),
        nbgrader_cell(
            "tests",
            "assert debt_service_ratio(100, 1200) == 1.0\n"
            f"{HIDDEN_BEGIN}\n{SAMPLE_HIDDEN_LINE}\n{HIDDEN_END}",
            "m99_dsr_tests", points=2,
        ),
        nbgrader_cell(
            "solution",
            f"share_over_threshold = None\n{SOLUTION_BEGIN}\n"
            "share_over_threshold = sum(float(r['dsr']) > 0.75 for r in rows) / len(rows)"
            f"\n{SOLUTION_END}",
            "m99_share_answer",
        ),
        nbgrader_cell("tests", "assert abs(share_over_threshold - 0.5) < 1e-9",
                      "m99_share_tests", points=1),
        nbgrader_cell("written", "YOUR ANSWER HERE", "m99_why_written", points=1),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, folder / f"{name}.ipynb")
    (folder / "incomes.csv").write_text("client,dsr\nA,0.5\nB,0.9\nC,0.8\nD,0.2\n")
    return folder


def split_marked(notebook_path: Path) -> tuple[list[str], list[str]]:
    """Stripped non-blank lines of a source notebook: (between solution or hidden-test markers,
    everywhere else). Marker lines themselves are in neither list."""
    notebook = nbformat.read(notebook_path, as_version=4)
    marked: list[str] = []
    unmarked: list[str] = []
    for cell in notebook.cells:
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped in (SOLUTION_BEGIN, HIDDEN_BEGIN):
                inside = True
            elif stripped in (SOLUTION_END, HIDDEN_END):
                inside = False
            elif stripped:
                (marked if inside else unmarked).append(stripped)
    return marked, unmarked


def marked_lines(notebook_path: Path) -> list[str]:
    """Every non-blank line between solution or hidden-test markers in a source notebook."""
    return split_marked(notebook_path)[0]


def secret_lines(notebook_path: Path, min_length: int = 12) -> list[str]:
    """Lines that only a solution or a hidden test holds: marked lines that do not also occur
    outside the markers (the visible part a learner legitimately sees), long enough to be
    specific, and not bare comments or punctuation."""
    marked, unmarked = split_marked(notebook_path)
    visible = set(unmarked)
    return sorted({
        line for line in marked
        if line not in visible and len(line) >= min_length and not line.startswith("#")
        and any(char.isalnum() for char in line)
    })


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def http_request(url: str, method: str = "GET", timeout: float = 10) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def wait_for(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, urllib.error.URLError) as error:  # server not up yet
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"gave up waiting for {what} after {timeout} s (last error: {last_error})")


def stop_process_group(process: subprocess.Popen, grace: float = 15) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it started."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
    except ProcessLookupError:
        pass


@dataclass
class LabServer:
    root: Path
    port: int
    token: str
    process: subprocess.Popen
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        query = {"token": self.token, **query}
        joined = "&".join(f"{key}={value}" if value != "" else key for key, value in query.items())
        return f"{self.base}/{path.lstrip('/')}?{joined}"

    def api(self, path: str, method: str = "GET") -> tuple[int, object]:
        status, body = http_request(self.url(f"api/{path}"), method=method)
        return status, (json.loads(body) if body.strip().startswith(("{", "[")) else body)

    def delete_sessions(self) -> None:
        status, sessions = self.api("sessions")
        for session in sessions if status == 200 else []:
            self.api(f"sessions/{session['id']}", method="DELETE")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


NEWS_OFF = {"fetchNews": "false", "checkForUpdates": False}


@contextmanager
def lab_server(root: Path, state_dir: Path, *, expose_app: bool = True,
               extra_args: tuple[str, ...] = ()) -> Iterator[LabServer]:
    """A JupyterLab server for ``root`` on a free localhost port, with its own settings and
    runtime folders under ``state_dir`` (news notification off, no browser)."""
    settings = state_dir / "lab-settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True, exist_ok=True)
    news.write_text(json.dumps(NEWS_OFF))
    token = os.urandom(12).hex()
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_TOKEN": token,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(state_dir / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(state_dir / "runtime"),
        "JUPYTER_CONFIG_DIR": str(state_dir / "config"),
        "IPYTHONDIR": str(state_dir / "ipython"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    command = [
        str(VENV_BIN / "jupyter"), "lab", "--no-browser",
        f"--port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=" + ("True" if expose_app else "False"),
        *extra_args,
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log_path = state_dir / "jupyter-lab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(root, port, token, process, log_path)
    try:
        wait_for(lambda: process.poll() is None and server.api("status")[0] == 200, 90,
                 what="JupyterLab to answer /api/status")
        yield server
    finally:
        stop_process_group(process)


URL_LINE = re.compile(r"Open (http://127\.0\.0\.1:\d+/lab/tree/\S+\?token=\S+)")
