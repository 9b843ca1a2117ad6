"""``cpcourse release``: nbgrader's student versions, then a scan of them for leaked answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from clientprotection.errors import CourseError

MARKERS = {
    "solution": ("### BEGIN SOLUTION", "### END SOLUTION"),
    "hidden test": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
}
TRIVIAL = re.compile(
    r"^(pass|return|else:|try:|finally:|break|continue|raise NotImplementedError(\(\))?|"
    r"(from \S+ )?import .*|[)\]}]+,?|#.{0,12})$"
)
MIN_LENGTH = 8


@dataclass(frozen=True)
class Leak:
    """A piece of secret text (solution or hidden test) found in a released file."""

    file: Path
    cell: str
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.file} {self.cell}: {self.kind} text {self.text!r}"


def _secret_lines(notebook: nbformat.NotebookNode) -> tuple[dict[str, str], set[str]]:
    """Secret lines (text -> kind) and lines of visible code outside any secret region."""
    secret: dict[str, str] = {}
    visible: set[str] = set()
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        lines = cell.source.splitlines()
        has_markers = any(begin in cell.source for begin, _ in MARKERS.values())
        if cell.cell_type == "markdown" and meta.get("solution") and not has_markers:
            for line in lines:  # a whole written-answer cell is replaced in the release
                secret.setdefault(line.strip(), "solution")
            continue
        inside: str | None = None
        for line in lines:
            stripped = line.strip()
            opened = [k for k, (begin, _) in MARKERS.items() if stripped.startswith(begin)]
            closed = [k for k, (_, end) in MARKERS.items() if stripped.startswith(end)]
            if opened:
                inside = opened[0]
            elif closed:
                inside = None
            elif inside is not None:
                secret.setdefault(stripped, inside)
            elif cell.cell_type == "code":
                visible.add(stripped)
    return secret, visible


def _worth_checking(line: str) -> bool:
    return len(line) >= MIN_LENGTH and not TRIVIAL.match(line)


def scan_release(source: Path, release: Path) -> list[Leak]:
    """Find solution or hidden-test text of ``source`` notebooks in the ``release`` folder.

    Every non-trivial line between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` or
    ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` in a source notebook (and every line
    of a written-answer cell) is looked for in each cell (source and outputs) of the released
    notebooks and in the other text files of the release. Lines that also appear in visible
    code outside those regions are not secret. Leftover markers are leaks too.

    Examples
    --------
    >>> scan_release(Path("source/m02"), Path("release/m02"))  # doctest: +SKIP
    []
    """
    secret: dict[str, str] = {}
    visible: set[str] = set()
    for path in sorted(source.glob("*.ipynb")):
        lines, shown = _secret_lines(nbformat.read(path, as_version=4))
        for line, kind in lines.items():
            secret.setdefault(line, kind)
        visible |= shown
    secret = {k: v for k, v in secret.items() if _worth_checking(k) and k not in visible}
    leaks: list[Leak] = []
    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        if path.suffix == ".ipynb":
            notebook = nbformat.read(path, as_version=4)
            chunks = [
                (_cell_label(cell, index), _cell_text(cell))
                for index, cell in enumerate(notebook.cells)
            ]
        else:
            try:
                chunks = [("(file)", path.read_text(encoding="utf-8"))]
            except (UnicodeDecodeError, OSError):
                continue
        for label, text in chunks:
            for marker_kind, (begin, end) in MARKERS.items():
                if begin in text or end in text:
                    leaks.append(Leak(path, label, marker_kind, begin if begin in text else end))
            for line, kind in secret.items():
                if line in text:
                    leaks.append(Leak(path, label, kind, line))
    return leaks


def _cell_label(cell: nbformat.NotebookNode, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")


def _cell_text(cell: nbformat.NotebookNode) -> str:
    parts = [cell.source]
    for output in cell.get("outputs", []):
        parts.append(str(output.get("text", "")))
        parts.extend(str(v) for v in output.get("data", {}).values())
        parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def release_assignments(workshop: Path, assignments: list[str] | None = None) -> list[Leak]:
    """Generate the student versions (nbgrader ``generate_assignment``) and scan them.

    Raises
    ------
    CourseError
        If an assignment has no source folder or nbgrader fails.

    Examples
    --------
    >>> release_assignments(Path("."), ["m02-over-indebtedness"])  # doctest: +SKIP
    []
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from clientprotection.grading.settings import load_config

    available = sorted(p.name for p in (workshop / "source").iterdir() if p.is_dir())
    names = assignments or available
    unknown = [name for name in names if name not in available]
    if unknown:
        raise CourseError(
            f"no source assignment {', '.join(unknown)} in {workshop / 'source'}; "
            f"available: {', '.join(available) or 'none'}"
        )
    config = load_config(workshop)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    leaks: list[Leak] = []
    for name in names:
        result = api.generate_assignment(name, force=True, create=True)
        if not result.get("success"):
            detail = (result.get("error") or result.get("log") or "").strip().splitlines()
            raise CourseError(
                f"nbgrader generate_assignment failed for {name}: "
                + (detail[-1] if detail else "no log")
            )
        leaks += scan_release(workshop / "source" / name, workshop / "release" / name)
    return leaks
