"""Checks on a submitted notebook before it is run: readable, intact, free of known tricks."""

from __future__ import annotations

import ast
import builtins
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from clientprotection.grading.executor import cell_kind, names_read

SUSPICIOUS_NAMES = {
    "__builtins__": "touches __builtins__",
    "builtins": "touches the builtins module",
    "get_ipython": "uses the IPython shell",
    "kernel_guard": "touches the grading guard",
    "settrace": "installs a trace function",
    "setprofile": "installs a profile function",
    "excepthook": "replaces sys.excepthook",
    "set_custom_exc": "installs a custom exception handler",
    "input_transformers_cleanup": "changes IPython input transformers",
    "input_transformers_post": "changes IPython input transformers",
    "ast_transformers": "changes IPython AST transformers",
}
BUILTIN_NAMES = set(dir(builtins))


@dataclass
class NotebookCheck:
    """What the checks found in one submitted notebook."""

    notebook: NotebookNode | None = None
    unreadable: str = ""
    edited: list[str] = field(default_factory=list)
    deleted_tests: list[str] = field(default_factory=list)
    deleted_other: list[str] = field(default_factory=list)
    suspicious: list[str] = field(default_factory=list)


def read_submission(path: Path) -> NotebookCheck:
    """Read a submitted notebook; say why it is unreadable when it is.

    Examples
    --------
    >>> read_submission(Path("empty.ipynb")).unreadable  # doctest: +SKIP
    'empty file'
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        return NotebookCheck(unreadable=f"cannot read the file ({error.strerror})")
    if not raw.strip():
        return NotebookCheck(unreadable="empty file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return NotebookCheck(unreadable="not text (binary file)")
    except json.JSONDecodeError as error:
        return NotebookCheck(unreadable=f"malformed JSON (line {error.lineno}: {error.msg})")
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        return NotebookCheck(unreadable="JSON but not a notebook (no cells or nbformat)")
    try:
        notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        return NotebookCheck(unreadable=f"not a valid notebook ({first_line})")
    return NotebookCheck(notebook=notebook)


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def compare_with_release(check: NotebookCheck, release: NotebookNode) -> None:
    """Record locked or test cells of ``release`` that the submission edited or deleted."""
    assert check.notebook is not None
    submitted = {_grade_id(c): c for c in check.notebook.cells if _grade_id(c)}
    for cell in release.cells:
        grade_id = _grade_id(cell)
        kind = cell_kind(cell)
        if not grade_id or kind == "student":
            continue
        mine = submitted.get(grade_id)
        if mine is None:
            (check.deleted_tests if kind == "test" else check.deleted_other).append(grade_id)
        elif mine.source.strip() != cell.source.strip() or mine.cell_type != cell.cell_type:
            check.edited.append(grade_id)


def scan_for_tricks(check: NotebookCheck, release: NotebookNode) -> None:
    """Flag student code that patches checks: builtins, locked helpers, modules, IPython."""
    assert check.notebook is not None
    test_names: set[str] = set()
    locked_helpers: set[str] = set()
    for cell in release.cells:
        if cell.cell_type != "code":
            continue
        if cell_kind(cell) == "test":
            test_names.update(names_read(cell.source))
        elif cell_kind(cell) == "locked":
            locked_helpers.update(_defined_callables(cell.source))
    for index, cell in enumerate(check.notebook.cells):
        if cell.cell_type != "code" or cell_kind(cell) != "student":
            continue
        label = _grade_id(cell) or f"cell {index + 1}"
        tree = _parse(cell.source)
        if tree is None:
            continue
        modules = _module_aliases(tree) | {"np", "pd", "math", "numpy", "pandas"}
        for node in ast.walk(tree):
            for finding in _node_findings(node, modules, test_names, locked_helpers):
                message = f"{label}: {finding}"
                if message not in check.suspicious:
                    check.suspicious.append(message)


def _parse(source: str) -> ast.Module | None:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _defined_callables(source: str) -> set[str]:
    tree = _parse(source)
    names: set[str] = set()
    if tree is None:
        return names
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _module_aliases(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _bound_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return []


def _node_findings(
    node: ast.AST, modules: set[str], test_names: set[str], locked_helpers: set[str]
) -> list[str]:
    findings = []
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        if name in SUSPICIOUS_NAMES:
            findings.append(SUSPICIOUS_NAMES[name])
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute):
                base = target.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in modules:
                    findings.append(f"monkeypatches {ast.unparse(target)}")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in {"setattr", "delattr"} and node.args:
            first = node.args[0]
            if isinstance(first, ast.Name) and first.id in modules:
                findings.append(f"monkeypatches {first.id} with {node.func.id}")
    for name in _bound_names(node):
        if name in test_names and name in BUILTIN_NAMES:
            findings.append(f"redefines builtin {name!r} used by the tests")
        elif name in test_names and name in locked_helpers:
            findings.append(f"redefines {name!r} from a read-only cell used by the tests")
    return findings
