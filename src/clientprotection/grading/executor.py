"""nbgrader's ``Execute`` with a guard before test cells and a whole-notebook time limit."""

from __future__ import annotations

import ast
import json
import os
import time
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Dict as DictTrait
from traitlets import Integer

from clientprotection.grading.sandbox import launcher_command

RUN_EVENTS: list[dict[str, Any]] = []  # one entry per notebook run in this process

GUARD_CALL = (
    "__import__('clientprotection.grading.kernel_guard', fromlist=['step'])"
    ".step({previous_locked!r}, {kind!r}, {names!r})"
)


class SandboxKernelManager(AsyncKernelManager):
    """An async kernel manager whose kernels start through the sandbox launcher."""

    sandbox = DictTrait({}, help="Settings from sandbox_settings().").tag(config=True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        if not self.sandbox:
            return command
        return launcher_command(self.sandbox, command)


def cell_kind(cell: NotebookNode) -> str:
    """``"test"`` for an autograder test cell, ``"locked"`` for other read-only cells, else
    ``"student"``.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell
    >>> cell_kind(new_code_cell("x = 1"))
    'student'
    """
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution"):
        return "test"
    if meta.get("locked") and not meta.get("solution"):
        return "locked"
    return "student"


def names_read(source: str) -> list[str]:
    """The global names a cell's code reads (empty if it does not parse).

    Examples
    --------
    >>> names_read("assert abs(total - 3) < 1e-9")
    ['abs', 'total']
    """
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    return sorted(
        {
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
    )


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output as the kernel would produce it."""
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class GuardedExecute(Execute):
    """Execute a submission in a sandboxed kernel; record timeouts, crashes and tampering.

    The events of the last run are in :attr:`events` (read by the grading worker).
    """

    notebook_timeout = Integer(300, help="Seconds for the whole notebook.").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(**kwargs)
        self.events: dict[str, Any] = {}

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self.events = {
            "timeouts": [],
            "test_timeouts": [],
            "crashed": None,
            "notebook_timeout": False,
            "tampering": [],
            "skipped": 0,
        }
        self._started = time.monotonic()
        self._previous_locked = False
        self._previous_kind: str | None = None  # kind of the last code cell run
        self._stop_reason: tuple[str, str] | None = None
        path = (resources or {}).get("metadata", {}).get("path") or os.getcwd()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            _reclaim(path)
            RUN_EVENTS.append(self.events)

    async def async_execute_cell(
        self,
        cell: NotebookNode,
        cell_index: int,
        execution_count: int | None = None,
        store_history: bool = True,
    ) -> NotebookNode:
        if cell.cell_type != "code" or not cell.source.strip():
            return cell
        label = _label(cell, cell_index)
        if self._stop_reason is None and time.monotonic() - self._started > self.notebook_timeout:
            self.events["notebook_timeout"] = True
            self._stop_reason = (
                "NotebookTimeLimit",
                f"the notebook ran over its {self.notebook_timeout} s limit before {label}",
            )
        if self._stop_reason is not None:
            cell.outputs = [error_output(*self._stop_reason)]
            self.events["skipped"] += 1
            return cell
        kind = cell_kind(cell)
        try:
            await self._guard(kind, cell, label)
            self._current = (label, kind)
            result = await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        except DeadKernelError:
            self.events["crashed"] = label
            cell.outputs = [error_output("KernelDied", f"the kernel died while running {label}")]
            self._stop_reason = ("KernelDied", f"not run: the kernel died in {label}")
            return cell
        self._previous_locked = kind == "locked"
        self._previous_kind = kind
        return result

    # nbconvert calls the synchronous execute_cell, bound to nbclient's coroutine: rebind it
    execute_cell = run_sync(async_execute_cell)

    async def _guard(self, kind: str, cell: NotebookNode, label: str) -> None:
        """Run the kernel guard before ``cell`` (one request on the shell channel).

        Before a student cell that follows another student cell the guard has nothing to do
        (nothing to record, nothing to give back), so no request is sent. Before other
        non-test cells its answer is not needed: the request is sent and the cell's own
        request follows at once (the kernel handles them in order), which saves a round trip.
        Before a test cell the answer is awaited, as it says what the guard had to undo.
        """
        if kind == "student" and self._previous_kind == "student":
            return
        names = names_read(cell.source) if kind == "test" else []
        code = GUARD_CALL.format(
            previous_locked=self._previous_locked, kind=kind, names=names
        )
        msg_id = await _maybe_await(
            self.kc.execute("", silent=True, store_history=False, user_expressions={"g": code})
        )
        if kind != "test":
            return
        reply = await self.async_wait_for_reply(msg_id)
        report = _guard_report(reply)
        if report is None:
            self.events["tampering"].append(f"{label}: the test guard did not answer")
            cell.metadata.setdefault("cpcourse", {})["unguarded"] = True
            return
        for finding in report["found"]:
            self.events["tampering"].append(f"{label}: {finding}")
        for finding in report["unrestorable"]:
            self.events["tampering"].append(f"{label}: {finding} (test scored 0)")
        if report["unrestorable"]:
            cell.metadata.setdefault("cpcourse", {})["unguarded"] = True

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None) -> Any:
        label, kind = getattr(self, "_current", ("a cell", "student"))
        if kind == "test":
            self.events["test_timeouts"].append(label)
        else:
            self.events["timeouts"].append(label)
            self._stop_reason = ("NotRun", f"not run: {label} timed out")
        return await super()._async_handle_timeout(timeout, cell)

    def on_cell_executed(self, **kwargs: Any) -> None:
        super().on_cell_executed(**kwargs)
        cell = kwargs["cell"]
        if cell.metadata.get("cpcourse", {}).pop("unguarded", False):
            cell.outputs.append(
                error_output("TamperingDetected", "checks were patched; this test scores 0")
            )
        if not cell.metadata.get("cpcourse"):
            cell.metadata.pop("cpcourse", None)


async def _maybe_await(value: Any) -> Any:
    if hasattr(value, "__await__"):
        return await value
    return value


def _guard_report(reply: dict[str, Any] | None) -> dict[str, list[str]] | None:
    try:
        expression = reply["content"]["user_expressions"]["g"]  # type: ignore[index]
        if expression.get("status") != "ok":
            return None
        return json.loads(ast.literal_eval(expression["data"]["text/plain"]))
    except (KeyError, TypeError, ValueError, SyntaxError):
        return None


def _label(cell: NotebookNode, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {grade_id}" if grade_id else f"cell {index + 1}"


def _reclaim(path: str) -> None:
    """Take the kernel's working folder back: drop symlinks, give files back to the grader."""
    uid, gid = os.getuid(), os.getgid()
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(folder, name)
            if os.path.islink(full):
                os.unlink(full)
            elif uid == 0:
                os.chown(full, uid, gid)
        if uid == 0:
            os.chown(folder, uid, gid)
