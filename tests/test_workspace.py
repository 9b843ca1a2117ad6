"""The learner workspace (student versions built with nbgrader) and the `make lab` launcher."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from browser_helpers import (
    HIDDEN_BEGIN,
    SAMPLE_HIDDEN_LINE,
    SAMPLE_SOLUTION_LINE,
    SOLUTION_BEGIN,
    SOLUTION_END,
    URL_LINE,
    free_port,
    http_get,
    secret_lines,
    stop_process_group,
    write_sample_assignment,
)

from clientprotection import lab
from clientprotection.errors import CourseError
from clientprotection.workspace import build_student_workspace, list_assignments, main

SAMPLE = "m99-sample"


@pytest.fixture()
def exercises(tmp_path: Path) -> Path:
    folder = tmp_path / "exercises"
    write_sample_assignment(folder, SAMPLE)
    return folder


def all_text(folder: Path) -> str:
    files = (path for path in folder.rglob("*") if path.is_file())
    return "\n".join(path.read_text(errors="replace") for path in files)


def cells_by_grade_id(path: Path) -> dict[str, nbformat.NotebookNode]:
    notebook = nbformat.read(path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells}


# --- build_student_workspace ---------------------------------------------------------------


def test_student_version_has_stubs_and_no_solutions_or_hidden_tests(exercises, tmp_path):
    dest = tmp_path / "my-exercises"
    written = build_student_workspace(dest, exercises)

    notebook_path = dest / SAMPLE / f"{SAMPLE}.ipynb"
    assert sorted(written) == sorted([notebook_path, dest / SAMPLE / "incomes.csv"])
    assert (dest / SAMPLE / "incomes.csv").read_text() == (
        exercises / SAMPLE / "incomes.csv"
    ).read_text()

    source = exercises / SAMPLE / f"{SAMPLE}.ipynb"
    assert {SAMPLE_SOLUTION_LINE, SAMPLE_HIDDEN_LINE} <= set(secret_lines(source))
    text = all_text(dest)
    for leaked in (SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, SAMPLE_SOLUTION_LINE,
                   SAMPLE_HIDDEN_LINE, "sum(float(r['dsr'])"):
        assert leaked not in text
    cells = cells_by_grade_id(notebook_path)
    # nbgrader's stub replaces the solution region; the visible test stays; checksums exist
    assert "raise NotImplementedError()" in cells["m99_dsr_answer"].source
    assert cells["m99_dsr_answer"].source.startswith("def debt_service_ratio(instalment, income):")
    assert cells["m99_dsr_tests"].source.strip() == "assert debt_service_ratio(100, 1200) == 1.0"
    assert "YOUR ANSWER HERE" in cells["m99_why_written"].source
    assert all("checksum" in cell.metadata["nbgrader"] for cell in cells.values())
    assert cells["m99_setup"].metadata.get("editable") is False


def test_rebuilding_is_a_no_op_and_never_replaces_learner_work(exercises, tmp_path, caplog):
    dest = tmp_path / "my-exercises"
    build_student_workspace(dest, exercises)
    notebook_path = dest / SAMPLE / f"{SAMPLE}.ipynb"
    assert build_student_workspace(dest, exercises) == []

    learner = nbformat.read(notebook_path, as_version=4)
    learner.cells[2].source = "def debt_service_ratio(instalment, income):\n    return 0.5"
    nbformat.write(learner, notebook_path)
    learner_bytes = notebook_path.read_bytes()
    (dest / SAMPLE / "incomes.csv").unlink()  # a deleted data file comes back

    with caplog.at_level(logging.WARNING, logger="clientprotection.workspace"):
        written = build_student_workspace(dest, exercises)
    assert written == [dest / SAMPLE / "incomes.csv"]
    assert notebook_path.read_bytes() == learner_bytes
    assert str(notebook_path) in caplog.text and "--refresh" in caplog.text

    written = build_student_workspace(dest, exercises, refresh=True)
    beside = dest / SAMPLE / f"{SAMPLE}.new.ipynb"
    assert written == [beside]
    assert notebook_path.read_bytes() == learner_bytes
    assert "raise NotImplementedError()" in beside.read_text()
    # the same refresh again writes nothing; once the learner edits the .new copy, it is kept
    assert build_student_workspace(dest, exercises, refresh=True) == []
    beside.write_text(beside.read_text().replace("YOUR ANSWER HERE", "My answer"))
    assert build_student_workspace(dest, exercises, refresh=True) == [
        dest / SAMPLE / f"{SAMPLE}.new-2.ipynb"
    ]
    assert "My answer" in beside.read_text()


def test_only_requested_assignments_and_clear_errors(exercises, tmp_path):
    write_sample_assignment(exercises, "m98-other")
    assert list_assignments(exercises) == ["m98-other", SAMPLE]
    (exercises / "notes").mkdir()  # a folder without notebooks is no assignment
    assert list_assignments(exercises) == ["m98-other", SAMPLE]

    dest = tmp_path / "ws"
    build_student_workspace(dest, exercises, assignments=["m98-other"])
    assert sorted(path.name for path in dest.iterdir()) == ["m98-other"]

    with pytest.raises(CourseError, match="m00-missing"):
        build_student_workspace(dest, exercises, assignments=["m00-missing"])
    with pytest.raises(CourseError, match="does not exist"):
        build_student_workspace(dest, tmp_path / "nowhere")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CourseError, match="not a folder"):
        build_student_workspace(tmp_path / "a-file", exercises)


def test_broken_source_gives_a_course_error(tmp_path):
    folder = tmp_path / "exercises" / "m97-broken"
    folder.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"x = 1\n{SOLUTION_BEGIN}\nx = 2\n",  # no end marker: nbgrader refuses it
        metadata={"nbgrader": {"grade_id": "a", "grade": False, "solution": True,
                               "locked": False, "schema_version": 3, "task": False}},
    )])
    nbformat.write(notebook, folder / "m97-broken.ipynb")
    with pytest.raises(CourseError, match="m97-broken"):
        build_student_workspace(tmp_path / "ws", tmp_path / "exercises")
    assert not (tmp_path / "ws" / "m97-broken" / "m97-broken.ipynb").exists()


def test_untouched_student_version_fails_validation_and_solved_one_passes(exercises, tmp_path):
    from nbgrader.validator import Validator

    dest = tmp_path / "ws"
    build_student_workspace(dest, exercises)
    notebook_path = dest / SAMPLE / f"{SAMPLE}.ipynb"

    results = Validator().validate(str(notebook_path))
    assert set(results) == {"failed"}  # failing tests, not changed cells or type errors
    failures = [cell["raw_error"] for cell in results["failed"]]
    assert len(failures) == 3  # two test cells and the unanswered written answer
    assert any("NotImplementedError" in error for error in failures)
    assert "You did not provide a response." in failures

    # Fill every answer with the source's solution (marker lines dropped): now it passes.
    source_cells = cells_by_grade_id(exercises / SAMPLE / f"{SAMPLE}.ipynb")
    student = nbformat.read(notebook_path, as_version=4)
    for cell in student.cells:
        meta = cell.metadata["nbgrader"]
        if meta["solution"] and cell.cell_type == "code":
            cell.source = "\n".join(
                line for line in source_cells[meta["grade_id"]].source.splitlines()
                if "### " not in line
            )
        elif meta["solution"]:
            cell.source = "Clients over the threshold pay more than they can afford."
    nbformat.write(student, notebook_path)
    assert Validator().validate(str(notebook_path)) == {}


def test_command_line(exercises, tmp_path, capsys):
    dest = tmp_path / "ws"
    assert main([str(dest), "--exercises", str(exercises)]) == 0
    assert f"wrote {dest / SAMPLE / (SAMPLE + '.ipynb')}" in capsys.readouterr().out
    assert main([str(dest), "--exercises", str(exercises)]) == 0
    assert "nothing new" in capsys.readouterr().out
    assert main([str(dest), "--exercises", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


def real_assignments() -> list[str]:
    folder = Path(__file__).resolve().parents[1] / "exercises"
    return list_assignments(folder) if folder.is_dir() else []


@pytest.mark.skipif(not real_assignments(), reason="no source assignments in exercises/ yet")
def test_real_exercises_build_without_leaks(tmp_path, repo_root):
    dest = tmp_path / "my-exercises"
    build_student_workspace(dest)
    assert sorted(p.name for p in dest.iterdir()) == real_assignments()
    text = all_text(dest)
    assert SOLUTION_BEGIN not in text and HIDDEN_BEGIN not in text
    for assignment in real_assignments():
        for notebook in (repo_root / "exercises" / assignment).glob("*.ipynb"):
            student = dest / assignment / notebook.name
            assert student.is_file()
            student_lines = {line.strip() for cell in nbformat.read(student, as_version=4).cells
                             for line in cell.source.splitlines()}
            leaked = [line for line in secret_lines(notebook) if line in student_lines]
            assert leaked == [], f"{assignment}: solution or hidden-test lines in student version"


# --- the `make lab` launcher ---------------------------------------------------------------


def test_lab_command_for_normal_user_and_root(tmp_path):
    user = lab.jupyter_lab_command(tmp_path, 8890, python="/venv/bin/python", as_root=False,
                                   open_browser=True)
    assert user[:3] == ["/venv/bin/python", "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={tmp_path}" in user
    assert "--ServerApp.port=8890" in user and "--ServerApp.port_retries=0" in user
    assert "--LabApp.default_url=/lab/tree/course/index.ipynb" in user
    assert "--allow-root" not in user and "--no-browser" not in user

    root = lab.jupyter_lab_command(tmp_path, 8890, as_root=True, open_browser=False)
    assert root[0] == sys.executable
    assert "--allow-root" in root and "--no-browser" in root
    # the default follows the user actually running the tests
    default = lab.jupyter_lab_command(tmp_path, 8890, open_browser=False)
    assert ("--allow-root" in default) == (os.geteuid() == 0)


def test_lab_url_and_display_detection():
    assert lab.lab_url(8888, "t0k") == "http://127.0.0.1:8888/lab/tree/course/index.ipynb?token=t0k"
    assert lab.lab_url(9000, "x", host="0.0.0.0").startswith("http://127.0.0.1:9000/lab/tree/")
    with pytest.raises(ValueError, match="port"):
        lab.lab_url(0, "x")
    assert lab.display_available({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not lab.display_available({"TERM": "xterm"}, "linux")
    assert lab.display_available({}, "win32")


def make_course_root(tmp_path: Path) -> Path:
    root = tmp_path / "course-repo"
    (root / "course").mkdir(parents=True)
    landing = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Landing page")])
    nbformat.write(landing, root / "course" / "index.ipynb")
    write_sample_assignment(root / "exercises", SAMPLE)
    return root


def test_find_course_root_and_workspace_on_first_start(tmp_path):
    root = make_course_root(tmp_path)
    # the checkout the package was installed from wins; otherwise the folder is searched
    repo = Path(__file__).resolve().parents[1]
    expected = repo if (repo / lab.LANDING_PAGE).is_file() else root
    assert lab.find_course_root(root / "exercises") == expected
    if expected == root:
        with pytest.raises(CourseError, match="--root"):
            lab.find_course_root(tmp_path)
    written = lab.ensure_workspace(root)
    assert root / "my-exercises" / SAMPLE / f"{SAMPLE}.ipynb" in written
    assert lab.ensure_workspace(root) == []  # existing folder: untouched
    write_sample_assignment(root / "exercises", "m98-new")
    assert [p.parent.name for p in lab.ensure_workspace(root)] == ["m98-new", "m98-new"]


def test_busy_port_is_reported(tmp_path, capsys):
    root = make_course_root(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert lab.main(["--root", str(root), "--port", str(port)]) == 2
    assert f"Port {port} is already in use" in capsys.readouterr().err


def test_lab_starts_serves_the_landing_page_and_stops(tmp_path):
    root = make_course_root(tmp_path)
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTER_CONFIG_DIR": str(home / "config")}
    env.pop("DISPLAY", None)
    env.pop("JUPYTER_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "clientprotection.lab", "--root", str(root), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    found = threading.Event()

    def read_output() -> None:
        for line in process.stdout:
            lines.append(line)
            if "Stop with Ctrl+C" in line:  # the banner's last line, after the address
                found.set()

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    try:
        assert found.wait(120), "no 'Open http://...' line:\n" + "".join(lines)
        url = URL_LINE.search("".join(lines)).group(1)
        assert url.startswith(f"http://127.0.0.1:{port}/lab/tree/course/index.ipynb?token=")
        token = url.rsplit("token=", 1)[1]
        assert len(token) >= 32
        assert any("No browser was opened" in line for line in lines)

        status, body = http_get(f"http://127.0.0.1:{port}/api/status?token={token}")
        assert status == 200 and "started" in json.loads(body)
        status, _ = http_get(f"http://127.0.0.1:{port}/api/status?token=wrong")
        assert status == 403
        status, page = http_get(url)
        assert status == 200 and "JupyterLab" in page
        status, body = http_get(
            f"http://127.0.0.1:{port}/api/contents/course/index.ipynb?token={token}"
        )
        assert status == 200 and "Landing page" in body
        assert (root / "my-exercises" / SAMPLE / f"{SAMPLE}.ipynb").is_file()
    finally:
        # SIGTERM to the launcher alone: it must stop JupyterLab itself
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=30)
        finally:
            stop_process_group(process)
    assert process.returncode is not None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
