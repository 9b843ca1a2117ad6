"""The repository keeps its promises: one pinned environment, the two commands, CI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "binder/requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", line), (
            f"binder/requirements.txt must pin exact versions, got {line!r}"
        )
        name, version = line.split("==")
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_every_dependency_is_pinned_and_satisfied():
    pins = _pins()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    for spec in declared:
        requirement = Requirement(spec)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{requirement.name} is not pinned in binder/requirements.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"pin {name}=={pins[name]} does not satisfy {spec}"
        )


def test_the_pins_match_the_designed_stack():
    pins = _pins()
    assert pins["nbgrader"] == "0.9.6"
    assert pins["jupyterlab"].startswith("4.")
    assert (REPO / "binder/runtime.txt").read_text().strip() == "python-3.11"


def test_ci_runs_make_test_and_make_installs_from_the_pins():
    assert "make test" in (REPO / ".ci/run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^lab:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "-r binder/requirements.txt" in makefile


def test_readme_opens_with_the_two_commands():
    readme = (REPO / "README.md").read_text()
    head = readme[: readme.index("## Quick start")]
    assert "make lab" in head and "make test" in head
