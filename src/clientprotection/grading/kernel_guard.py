"""Runs inside the grading kernel: keeps test cells running with the original checks.

The executor calls :func:`step` (as a user expression, so a patched ``run_cell`` cannot skip
it) before every code cell. Before a test cell it undoes what a submission may have done to make
failing tests pass: patched builtins, shadowed builtins or locked helpers used by the test,
monkeypatched functions of numeric and testing modules, IPython input transformers, custom
exception handlers and trace functions. It returns a JSON list of what it had to undo.

This is a guard against the usual tricks, not a security boundary: code in the same
interpreter can study and defeat it, so the grader also scans the source of the submission.
"""

from __future__ import annotations

import builtins
import json
import sys
import types

WATCHED_PREFIXES = (
    "math",
    "cmath",
    "operator",
    "numbers",
    "decimal",
    "fractions",
    "numpy",
    "numpy.testing",
    "pandas",
    "pandas.testing",
    "unittest",
    "clientprotection",
)
_MISSING = object()
_state: dict = {}


def _watched(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in WATCHED_PREFIXES) and (
        name.count(".") <= 2
    )


def _from_notebook(value: object) -> bool:
    module = getattr(value, "__module__", None)
    code = getattr(value, "__code__", None)
    filename = getattr(code, "co_filename", "") if code is not None else ""
    return module == "__main__" or "ipykernel" in filename or filename.startswith("<ipython")


def _snapshot_modules() -> None:
    modules = _state["modules"]
    for name, module in list(sys.modules.items()):
        if name in modules or not isinstance(module, types.ModuleType) or not _watched(name):
            continue
        try:
            attributes = dict(vars(module))
        except TypeError:
            continue
        modules[name] = {
            key: value
            for key, value in attributes.items()
            if callable(value) and not _from_notebook(value)
        }


def _install(shell: object) -> None:
    _state.update(
        builtins=dict(vars(builtins)),
        modules={},
        locked={},
        previous_ns={},
        stash={},
        excepthook=sys.excepthook,
        # what the kernel itself puts there (IPython's own open, its traceback hooks)
        namespace={k: v for k, v in shell.user_ns.items() if k in vars(builtins)},
        shell_attributes={
            name: vars(shell).get(name, _MISSING)
            for name in ("run_cell", "run_cell_async", "showtraceback", "_showtraceback")
        },
        run_cell=type(shell).run_cell,
        transformers={
            name: list(getattr(shell, name, []))
            for name in (
                "input_transformers_cleanup",
                "input_transformers_post",
                "ast_transformers",
            )
        },
        events={
            name: list(callbacks) for name, callbacks in shell.events.callbacks.items()
        },
    )
    _snapshot_modules()


def _restore_shell(shell: object, found: list[str]) -> None:
    for name, original in _state["transformers"].items():
        current = getattr(shell, name, None)
        if current is not None and list(current) != original:
            current[:] = original
            found.append(f"IPython {name} changed")
    if getattr(shell, "custom_exceptions", ()):
        shell.custom_exceptions = ()
        found.append("custom exception handler installed")
    for attribute, original in _state["shell_attributes"].items():
        if vars(shell).get(attribute, _MISSING) is not original:
            if original is _MISSING:
                delattr(shell, attribute)
            else:
                setattr(shell, attribute, original)
            found.append(f"IPython shell.{attribute} replaced")
    if type(shell).run_cell is not _state["run_cell"]:
        found.append("IPython run_cell replaced on the class")
    for name, callbacks in shell.events.callbacks.items():
        original = _state["events"].get(name, [])
        if list(callbacks) != original:
            callbacks[:] = original
            found.append(f"IPython event {name} callbacks changed")
    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.settrace(None)
        sys.setprofile(None)
        found.append("trace function installed")
    if sys.excepthook is not _state["excepthook"]:
        sys.excepthook = _state["excepthook"]
        found.append("sys.excepthook replaced")


def _restore_builtins(found: list[str]) -> None:
    current = vars(builtins)
    for key, value in _state["builtins"].items():
        if current.get(key, _MISSING) is not value:
            current[key] = value
            found.append(f"builtin {key} replaced")
    for key in set(current) - set(_state["builtins"]):
        if not key.startswith("_"):
            del current[key]
            found.append(f"builtin {key} added")


def _restore_modules(found: list[str], unrestorable: list[str]) -> None:
    for name, attributes in _state["modules"].items():
        module = sys.modules.get(name)
        if module is None:
            continue
        namespace = vars(module)
        for key, value in attributes.items():
            if namespace.get(key, _MISSING) is not value:
                namespace[key] = value
                found.append(f"{name}.{key} monkeypatched")
        for key, value in list(namespace.items()):
            if key not in attributes and callable(value) and _from_notebook(value):
                unrestorable.append(f"{name}.{key} monkeypatched")


def _before_test(user_ns: dict, names: list[str], found: list[str]) -> None:
    """Put back read-only helpers and hide builtins shadowed in the notebook for the test.

    Helpers defined in read-only cells look names up in the notebook namespace too, so every
    shadowed builtin is hidden, not only those the test cell names.
    """
    stash = _state["stash"]
    for name, value in _state["locked"].items():
        if user_ns.get(name, _MISSING) is not value:
            user_ns[name] = value
            found.append(f"read-only helper {name} redefined")
    for name in list(user_ns):
        if name.startswith("_") or name not in _state["builtins"]:
            continue
        if user_ns[name] is _state["namespace"].get(name, _MISSING):
            continue
        if user_ns[name] is not _state["builtins"][name]:
            stash[name] = user_ns.pop(name)
            if callable(stash[name]) or name in names:
                found.append(f"builtin {name} shadowed")


def step(previous_locked: bool, kind: str, names: list[str] | None = None) -> str:
    """Record the effect of the cell just run and prepare the next one; return findings as JSON.

    ``kind`` is ``"test"`` for an autograder test cell, ``"locked"`` for another read-only
    cell, ``"student"`` otherwise; ``names`` are the names the test cell reads.

    Examples
    --------
    >>> step(False, "student")  # doctest: +SKIP
    '[]'
    """
    from IPython import get_ipython

    shell = get_ipython()
    user_ns = shell.user_ns
    if not _state:
        _install(shell)
    found: list[str] = []
    unrestorable: list[str] = []
    for name, value in _state["stash"].items():  # give back what a test cell borrowed
        user_ns.setdefault(name, value)
    _state["stash"] = {}
    if previous_locked:
        previous = _state["previous_ns"]
        for name, value in user_ns.items():
            if name.startswith("_") or previous.get(name, _MISSING) is value:
                continue
            if isinstance(value, types.ModuleType) or callable(value):
                _state["locked"][name] = value
        _snapshot_modules()
    if kind == "test":
        _restore_shell(shell, found)
        _restore_builtins(found)
        _restore_modules(found, unrestorable)
        _before_test(user_ns, list(names or []), found)
    _state["previous_ns"] = dict(user_ns) if kind == "locked" else {}
    return json.dumps({"found": found, "unrestorable": unrestorable})
