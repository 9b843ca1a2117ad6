"""Workshop init, roster checks, collect (Moodle zip, Canvas zip, folder, exchange), leak scan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from clientprotection.cli import main

REPO = Path(__file__).resolve().parents[1]
EXERCISES = REPO / "tests" / "fixtures" / "grading" / "exercises"
ASSIGNMENT = "m99-fixture"
BIN = Path(sys.executable).parent
ROSTER = (
    "id,first_name,last_name,email,lms_id\n"
    "s01,Amina,Koné,amina@example.org,101\n"
    "s02,Bola,Adeyemi,bola@example.org,102\n"
    "s03,Chen,Li,chen@example.org,103\n"
)


@pytest.fixture(scope="module")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    base = tmp_path_factory.mktemp("collect")
    (base / "roster.csv").write_text(ROSTER, encoding="utf-8")
    root = base / "workshop"
    code = main(["workshop", "init", str(root), "--course-id", "cp-test", "--roster",
                 str(base / "roster.csv"), "--exercises", str(EXERCISES)])
    assert code == 0
    assert main(["release", "--workshop", str(root)]) == 0
    return root


def release_bytes(workshop: Path) -> bytes:
    return (workshop / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()


def submitted(workshop: Path, student: str) -> Path:
    return workshop / "submitted" / student / ASSIGNMENT


def test_init_writes_safe_settings_and_refuses_non_empty(workshop, tmp_path):
    config = (workshop / "nbgrader_config.py").read_text()
    assert "c.OverwriteCells.add_missing_cells = True" in config
    assert "c.Autograde.create_student = False" in config
    assert (workshop / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    assert oct((workshop / "source").stat().st_mode & 0o777) == "0o700"
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["workshop", "init", str(tmp_path)]) == 2
    assert main(["workshop", "init", str(tmp_path), "--force", "--exercises",
                 str(EXERCISES)]) == 0
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_bad_roster_names_every_bad_row_and_imports_nothing(tmp_path, capsys):
    (tmp_path / "roster.csv").write_text(
        "id,first_name,last_name,email\nok1,A,B,a@example.org\nbad id,C,D,c@example.org\n"
        "ok1,E,F,e@example.org\nok2,G,H,not-an-email\n"
    )
    code = main(["workshop", "init", str(tmp_path / "w"), "--roster", str(tmp_path / "roster.csv"),
                 "--exercises", str(EXERCISES)])
    error = capsys.readouterr().err
    assert code == 2
    assert "line 3" in error and "line 4" in error and "line 5" in error
    assert not (tmp_path / "w").exists()


def test_collect_moodle_zip_matches_names_and_renames(workshop, tmp_path, capsys):
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Amina Koné_5501_assignsubmission_file_/my work.ipynb", release_bytes(workshop))
        zf.writestr("Stranger Person_5599_assignsubmission_file_/m99-fixture.ipynb", b"{}")
    assert main(["collect", ASSIGNMENT, str(archive), "--workshop", str(workshop)]) == 0
    out = capsys.readouterr().out
    assert (submitted(workshop, "s01") / f"{ASSIGNMENT}.ipynb").read_bytes() == release_bytes(
        workshop
    )
    assert (submitted(workshop, "s01") / "timestamp.txt").is_file()
    assert "my work.ipynb -> m99-fixture.ipynb" in out
    assert "Stranger Person" in out


def test_collect_canvas_zip_records_lateness_and_keeps_newest_duplicate(workshop, tmp_path):
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("adeyemibola_LATE_102_9001_m99-fixture.ipynb",
                                    (2025, 3, 1, 9, 0, 0)), b'{"old": 1}')
        zf.writestr(zipfile.ZipInfo("adeyemibola_LATE_102_9002_m99-fixture-1.ipynb",
                                    (2025, 3, 2, 9, 0, 0)), release_bytes(workshop))
    assert main(["collect", ASSIGNMENT, str(archive), "--workshop", str(workshop)]) == 0
    assert (submitted(workshop, "s02") / f"{ASSIGNMENT}.ipynb").read_bytes() == release_bytes(
        workshop
    )
    manifest = json.loads((workshop / "reports" / ASSIGNMENT / "collected.json").read_text())
    assert manifest["s02"]["late"] is True
    kept = list((workshop / "collect-backups").rglob("*m99-fixture.ipynb"))
    assert any(p.read_bytes() == b'{"old": 1}' for p in kept)


def test_collect_never_overwrites_without_force_and_keeps_a_copy_with_force(workshop, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "s01.ipynb").write_bytes(b"new version")
    before = (submitted(workshop, "s01") / f"{ASSIGNMENT}.ipynb").read_bytes()
    assert main(["collect", ASSIGNMENT, str(folder), "--workshop", str(workshop)]) == 0
    assert (submitted(workshop, "s01") / f"{ASSIGNMENT}.ipynb").read_bytes() == before
    assert main(["collect", ASSIGNMENT, str(folder), "--force", "--workshop", str(workshop)]) == 0
    assert (submitted(workshop, "s01") / f"{ASSIGNMENT}.ipynb").read_bytes() == b"new version"
    backups = list((workshop / "collect-backups").rglob(f"replaced/s01/{ASSIGNMENT}/*.ipynb"))
    assert any(p.read_bytes() == before for p in backups)


def test_collect_folder_with_pattern_and_unknown_student(workshop, tmp_path, capsys):
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "homework-from-chen@example.org.ipynb").write_bytes(release_bytes(workshop))
    (folder / "homework-from-zed@example.org.ipynb").write_bytes(release_bytes(workshop))
    code = main(["collect", ASSIGNMENT, str(folder), "--workshop", str(workshop),
                 "--pattern", r"homework-from-(?P<student>[^/]+)\.ipynb"])
    assert code == 0
    assert (submitted(workshop, "s03") / f"{ASSIGNMENT}.ipynb").is_file()
    assert "zed@example.org" in capsys.readouterr().out
    assert not (workshop / "submitted" / "zed@example.org").exists()


def test_collect_from_the_exchange(workshop, tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    config = workshop / "nbgrader_config.py"
    original = config.read_text()
    config.write_text(original + f"\nc.Exchange.root = {str(exchange)!r}\n")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    try:
        subprocess.run([str(BIN / "nbgrader"), "release_assignment", ASSIGNMENT, "--force"],
                       cwd=workshop, env=env, check=True, capture_output=True)
        student_home = tmp_path / "student"
        student_home.mkdir()
        subprocess.run([str(BIN / "nbgrader"), "fetch_assignment", ASSIGNMENT,
                        "--course", "cp-test", f"--Exchange.root={exchange}"],
                       cwd=student_home, env=env, check=True, capture_output=True)
        subprocess.run([str(BIN / "nbgrader"), "submit", ASSIGNMENT, "--course", "cp-test",
                        f"--Exchange.root={exchange}"], cwd=student_home,
                       env=env, check=True, capture_output=True)
        # nbgrader names the submission after the OS user (root here): rename it as s03's
        for inbound in (exchange / "cp-test" / "inbound").iterdir():
            owner, rest = inbound.name.split("+", 1)
            inbound.rename(inbound.with_name("s03+" + rest))
        shutil.rmtree(submitted(workshop, "s03"), ignore_errors=True)
        assert main(["collect", ASSIGNMENT, "exchange", "--workshop", str(workshop)]) == 0
    finally:
        config.write_text(original)
    notebook = submitted(workshop, "s03") / f"{ASSIGNMENT}.ipynb"
    assert nbformat.read(notebook, as_version=4).cells


def test_release_leak_scan_catches_a_planted_answer(workshop, tmp_path, capsys):
    source = workshop / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    original = source.read_bytes()
    nb = nbformat.read(source, as_version=4)
    # an instructor's hint that gives away a solution line and a hidden test line
    nb.cells.insert(2, nbformat.v4.new_markdown_cell(
        "Hint: `ratio_of_income = repayment / income`\n\n"
        "check_close(total_repayments(repayments), 215.0)"))
    nbformat.write(nb, source)
    try:
        code = main(["release", "--workshop", str(workshop)])
        error = capsys.readouterr().err
    finally:
        source.write_bytes(original)
    assert code == 1
    assert "ratio_of_income = repayment / income" in error
    assert "hidden test" in error and "cell 3" in error
    assert main(["release", "--workshop", str(workshop)]) == 0
