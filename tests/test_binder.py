"""A simulated Binder build: binder/requirements.txt in a fresh virtual environment, then
binder/postBuild on a copy of the repository, then the learner's first steps in it.

repo2docker itself needs Docker to build an image; ``jupyter-repo2docker --no-build`` only
prints the Dockerfile it would use, which is how we check that binder/ is detected. Everything
else that happens in the image (pip install, postBuild, opening notebooks, Validate) is
replayed here with the same files and commands.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_helpers import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    SOLUTION_BEGIN,
    SOLUTION_END,
    copy_repository,
    repository_files,
    secret_lines,
    write_sample_assignment,
)
from conftest import IN_CI

pytestmark = [pytest.mark.binder, pytest.mark.slow, pytest.mark.timeout(1500)]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"

# What postBuild must remove from the image (trainer-only material), relative to the repo.
REMOVED = ["exercises", "tests", "grading/rubrics", "course/trainer-guide", ".git"]


def is_removed(relative: Path) -> bool:
    text = relative.as_posix()
    return any(text == gone or text.startswith(gone + "/") for gone in REMOVED) or (
        relative.parts[0] == "datasets" and relative.name.startswith("answer_key")
    )


def need_course_file(path: Path) -> None:
    """Course content is written alongside this test: until it exists, skip (fail under CI)."""
    if not path.exists():
        message = f"{path.relative_to(REPO)} does not exist yet"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class BinderBuild:
    venv: Path
    repo: Path
    home: Path
    source_notebooks: list[Path]
    used_sample_exercise: bool
    postbuild: subprocess.CompletedProcess
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "CPCOURSE_DATA", "JUPYTER_CONFIG_DIR",
                              "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_PATH",
                              "VIRTUAL_ENV", "PYTHONHOME")}
        env.update(PATH=f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                   HOME=str(self.home), VIRTUAL_ENV=str(self.venv), MPLBACKEND="Agg")
        return env

    def run_python(self, code: str, *args: str, cwd: Path | None = None, timeout: float = 600):
        return subprocess.run([str(self.python), "-c", code, *args], cwd=cwd or self.home,
                              env=self.env(), capture_output=True, text=True, timeout=timeout)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="module")
def binder_build(tmp_path_factory) -> Iterator[BinderBuild]:
    base = tmp_path_factory.mktemp("binder")
    timings: dict[str, float] = {}

    # 1. the image's environment: a fresh venv with binder/requirements.txt (pip's cache on)
    venv = base / "venv"
    started = time.monotonic()
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "-r", str(REPO / "binder" / "requirements.txt")], timeout=1200)
    timings["pip install -r binder/requirements.txt"] = time.monotonic() - started

    # 2. the repository as Binder clones it (plus work in progress that is not committed yet)
    repo = copy_repository(base / "repo")
    sources = sorted((repo / "exercises").glob("*/*.ipynb"))
    used_sample = not sources
    if used_sample:  # no exercise written yet: postBuild still has to build something
        write_sample_assignment(repo / "exercises")
        sources = sorted((repo / "exercises").glob("*/*.ipynb"))
    # keep the sources outside the copy: postBuild deletes them there
    kept_sources = base / "sources"
    shutil.copytree(repo / "exercises", kept_sources)
    source_notebooks = [kept_sources / path.relative_to(repo / "exercises") for path in sources]

    home = base / "home"
    home.mkdir()
    build = BinderBuild(venv, repo, home, source_notebooks, used_sample, None, timings)
    started = time.monotonic()
    build.postbuild = subprocess.run(["bash", str(repo / "binder" / "postBuild")], cwd=repo,
                                     env=build.env(), capture_output=True, text=True,
                                     timeout=600)
    timings["binder/postBuild"] = time.monotonic() - started
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "binder-postBuild.log").write_text(build.postbuild.stdout + build.postbuild.stderr)
    yield build
    # how long each step took, for the maintainers (no timed assertion)
    lines = [f"{name}: {seconds:.1f} s" for name, seconds in timings.items()]
    (ARTIFACTS / "binder-timings.txt").write_text("\n".join(lines) + "\n")


def test_postbuild_succeeds_and_builds_the_workspace(binder_build):
    result = binder_build.postbuild
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    workspace = binder_build.repo / "my-exercises"
    for source in binder_build.source_notebooks:
        assert (workspace / source.parent.name / source.name).is_file()
    # the package is importable from anywhere and points at this repository's data
    found = binder_build.run_python(
        "import clientprotection, pathlib; print(pathlib.Path(clientprotection.__file__))"
    )
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).is_relative_to(binder_build.repo / "src")


def test_trainer_material_is_gone(binder_build):
    repo = binder_build.repo
    for gone in REMOVED:
        assert not (repo / gone).exists(), gone
    assert not list(repo.glob("datasets/**/answer_key*"))
    # what remains is what a learner needs
    assert (repo / "src" / "clientprotection").is_dir()
    assert (repo / "binder" / "postBuild").is_file()


LEARNER_FOLDERS = ("my-exercises", "course", "datasets")


def all_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_no_solution_or_hidden_test_anywhere_in_the_image(binder_build):
    repo = binder_build.repo
    markers = (SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END)
    # Lines that only solutions and hidden tests hold. A line that the kept course material
    # legitimately shows as well (a module notebook, the library) cannot be a leak signal.
    kept_text = "\n".join(
        (REPO / relative).read_text(errors="replace")
        for relative in repository_files(REPO)
        if not is_removed(relative)
    )
    secrets = {
        line for source in binder_build.source_notebooks for line in secret_lines(source)
        if line not in kept_text and json.dumps(line)[1:-1] not in kept_text
    }
    if not binder_build.used_sample_exercise:
        assert secrets, "the exercises should have solution lines to look for"

    leaks: list[str] = []
    for path in all_files(repo):
        relative = path.relative_to(repo)
        text = path.read_text(errors="replace")
        # Markers may be named in code and guides that explain them (the grading package's leak
        # scan, grading/README.md, a benchmark); in a notebook or a learner's folder they mean
        # a solution or hidden test was left behind.
        learner_facing = path.suffix == ".ipynb" or relative.parts[0] in LEARNER_FOLDERS
        if learner_facing:
            leaks += [f"{relative}: {marker}" for marker in markers if marker in text]
        leaks += [f"{relative}: {line}" for line in secrets
                  if line in text or json.dumps(line)[1:-1] in text]
    assert leaks == []


def test_learner_tools_only(binder_build):
    env = binder_build.env()
    jupyter = str(binder_build.venv / "bin" / "jupyter")
    server = subprocess.run([jupyter, "server", "extension", "list"], env=env,
                            capture_output=True, text=True)
    listing = server.stdout + server.stderr

    def state(name: str) -> str:
        line = next(line for line in listing.splitlines() if line.strip().startswith(name + " "))
        return "enabled" if "enabled" in line else "disabled"

    assert state("nbgrader.server_extensions.validate_assignment") == "enabled"
    for name in ("formgrader", "course_list", "assignment_list"):
        assert state(f"nbgrader.server_extensions.{name}") == "disabled", listing

    lab = subprocess.run([jupyter, "labextension", "list"], env=env, capture_output=True,
                         text=True)
    lab_listing = lab.stdout + lab.stderr
    disabled = lab_listing.split("Disabled extensions:", 1)[1]
    for plugin in ("formgrader", "create-assignment", "course-list", "assignment-list"):
        assert f"@jupyter/nbgrader:{plugin}" in disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled

    overrides = binder_build.run_python(
        "import sys, json, pathlib; print(json.loads((pathlib.Path(sys.prefix) / 'share' / "
        "'jupyter' / 'lab' / 'settings' / 'overrides.json').read_text()))"
    )
    assert "'fetchNews': 'false'" in overrides.stdout, overrides.stderr


EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
path = sys.argv[1]
notebook = nbformat.read(path, as_version=4)
client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}})
client.execute()
errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
          if o.output_type == "error"]
print("ERRORS", len(errors))
"""


@pytest.mark.parametrize("notebook", ["course/index.ipynb", "course/modules/03-transparency.ipynb"])
def test_landing_page_and_a_module_run_in_the_image(binder_build, notebook):
    path = binder_build.repo / notebook
    need_course_file(REPO / notebook)
    started = time.monotonic()
    result = binder_build.run_python(EXECUTE, str(path), str(path.parent), timeout=900)
    binder_build.timings[f"execute {notebook}"] = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "ERRORS 0" in result.stdout


VALIDATE = """
import sys, json
import nbformat
from nbclient import NotebookClient
from nbgrader.validator import Validator
path = sys.argv[1]
outcome = Validator().validate(path)
# where does the untouched notebook first go wrong? (it must be an answer, not the setup)
notebook = nbformat.read(path, as_version=4)
NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
first = next(({"grade_id": c.metadata.get("nbgrader", {}).get("grade_id"),
               "solution": c.metadata.get("nbgrader", {}).get("solution", False),
               "error": o.ename}
              for c in notebook.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"), None)
print(json.dumps({"outcome": outcome, "first_error": first}))
"""


def test_untouched_exercise_validates_as_failing_not_erroring(binder_build):
    workspace = binder_build.repo / "my-exercises"
    source = binder_build.source_notebooks[0]
    student = workspace / source.parent.name / source.name
    result = binder_build.run_python(VALIDATE, str(student), str(student.parent),
                                     cwd=binder_build.home, timeout=900)
    assert result.returncode == 0, result.stderr[-5000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    outcome = report["outcome"]
    # failing tests only: no changed checksums, no changed cell types (an error would be those
    # or a traceback from the validator itself)
    assert set(outcome) == {"failed"}, outcome.keys()
    assert outcome["failed"]
    # the setup cell (data loading) runs; the first error is an unanswered question's stub
    assert report["first_error"]["solution"] is True, report["first_error"]
    assert report["first_error"]["error"] == "NotImplementedError"


def test_repo2docker_detects_the_configuration(tmp_path_factory, binder_build):
    base = tmp_path_factory.mktemp("repo2docker")
    venv = base / "venv"
    started = time.monotonic()
    run([sys.executable, "-m", "venv", str(venv)])
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                              "jupyter-repo2docker"], capture_output=True, text=True, timeout=600)
    if install.returncode != 0:
        message = f"jupyter-repo2docker could not be installed: {install.stderr[-2000:]}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    binder_build.timings["pip install jupyter-repo2docker"] = time.monotonic() - started
    repo = copy_repository(base / "repo")  # the repository as cloned, before postBuild
    result = subprocess.run([str(venv / "bin" / "jupyter-repo2docker"), "--no-build", "--debug",
                             str(repo)], capture_output=True, text=True, timeout=300)
    dockerfile = result.stdout + result.stderr
    (ARTIFACTS / "repo2docker-Dockerfile.txt").write_text(dockerfile)
    assert result.returncode == 0, dockerfile[-3000:]
    # binder/runtime.txt: the conda environment is built for Python 3.11 (not the default 3.10)
    assert re.search(r"Building conda environment for python=3\.11\b", dockerfile)
    assert re.search(r"RUN .*pip install .*-r \"?binder/requirements\.txt", dockerfile)
    assert re.search(r"RUN \./binder/postBuild", dockerfile)
