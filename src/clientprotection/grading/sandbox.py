"""Run a student kernel with resource limits, as an unprivileged user when grading runs as root.

``SandboxKernelManager`` (in :mod:`clientprotection.grading.executor`) wraps the kernel command
in this file, run as a script::

    python -I -S .../sandbox.py --settings JSON -- python -m ipykernel_launcher -f CF

The launcher (still the grader's user) copies the connection file into the scratch folder,
gives the scratch folder to the sandbox user, sets the rlimits, drops privileges (when root) and
then ``exec``s the real kernel, so nothing of the grader's rights survives in the kernel.

The module imports nothing but the standard library at the top, so the launcher starts in
milliseconds with ``-I -S`` (no site-packages, no environment variables read by Python) for
every submission.
"""

from __future__ import annotations

import json
import os
import pwd
import resource
import shutil
import sys
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
LAUNCHER = os.path.abspath(__file__)


def sandbox_settings(
    scratch: str,
    *,
    memory_mb: int,
    max_processes: int,
    max_file_size_mb: int,
    cpu_seconds: int,
    user: str,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The settings the launcher needs, as a JSON-ready dict.

    When the grader is not root, ``user`` is ignored (the kernel keeps the grader's user).
    The Python that runs the kernel is worked out here, once, so the launcher does not have
    to; ``env`` adds variables to the kernel's environment (for instance ``CPCOURSE_CACHE``).

    Examples
    --------
    >>> s = sandbox_settings("/tmp/x", memory_mb=512, max_processes=64, max_file_size_mb=8,
    ...                      cpu_seconds=60, user="nobody")
    >>> s["limits"]["RLIMIT_AS"]
    536870912
    """
    limits = {
        "RLIMIT_AS": memory_mb * MIB,
        "RLIMIT_FSIZE": max_file_size_mb * MIB,
        "RLIMIT_CPU": cpu_seconds,
        "RLIMIT_CORE": 0,
    }
    interpreter, prefix = kernel_interpreter(user) if os.geteuid() == 0 and user else ("", [])
    drop_to = user if interpreter else ""
    if drop_to:
        limits["RLIMIT_NPROC"] = max_processes
    else:  # RLIMIT_NPROC counts every process of the user: leave room for the grader's own
        limits["RLIMIT_NPROC"] = _user_process_count() + max_processes
    return {
        "scratch": scratch,
        "limits": limits,
        "user": drop_to,
        "interpreter": [interpreter, *prefix] if drop_to else [],
        "env": dict(env or {}),
    }


def launcher_command(settings: dict[str, Any], command: list[str]) -> list[str]:
    """``command`` (a kernel command line) wrapped in the sandbox launcher.

    Examples
    --------
    >>> launcher_command({"limits": {}}, ["python", "-m", "ipykernel_launcher"])[1:3]
    ['-I', '-S']
    """
    return [sys.executable, "-I", "-S", LAUNCHER, "--settings", json.dumps(settings), "--",
            *command]


def _user_process_count() -> int:
    try:
        import psutil

        uid = os.getuid()
        return sum(p.info["uids"].real == uid for p in psutil.process_iter(["uids"]))
    except Exception:  # noqa: BLE001 - psutil missing or a process vanished
        return 1024


BOOT = (
    "import site, sys, runpy; site.addsitedir(sys.argv.pop(1)); "
    "runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)"
)


def accessible_by(path: str | os.PathLike[str], uid: int, gid: int, mode: int = 5) -> bool:
    """Whether user ``uid``/``gid`` can reach ``path`` and open it with ``mode`` (rwx bits).

    Examples
    --------
    >>> accessible_by("/", 65534, 65534)
    True
    """
    target = Path(os.path.realpath(path))
    for folder in [*reversed(target.parents), target]:
        info = folder.stat()
        wanted = 1 if folder != target else mode
        if info.st_uid == uid:
            bits = (info.st_mode >> 6) & 7
        elif info.st_gid == gid:
            bits = (info.st_mode >> 3) & 7
        else:
            bits = info.st_mode & 7
        if bits & wanted != wanted:
            return False
    return True


def kernel_interpreter(user: str) -> tuple[str, list[str]]:
    """The Python the sandbox user can run the kernel with, and the arguments to prepend.

    The grading interpreter itself when the user can run it; otherwise a system Python of the
    same version started with ``-S`` that adds this environment's site-packages (for instance
    when the environment's Python lives in a private home folder, as pyenv under /root).
    ``("", [])`` when there is none.

    Examples
    --------
    >>> kernel_interpreter("")[0] == sys.executable
    True
    """
    if not user or os.geteuid() != 0:
        return sys.executable, []
    record = pwd.getpwnam(user)
    if accessible_by(sys.executable, record.pw_uid, record.pw_gid):
        return sys.executable, []
    import sysconfig

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    site_dir = sysconfig.get_paths()["purelib"]
    if not accessible_by(site_dir, record.pw_uid, record.pw_gid):
        return "", []
    for candidate in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        if os.path.exists(candidate) and accessible_by(candidate, record.pw_uid, record.pw_gid):
            return candidate, ["-S", "-c", BOOT, site_dir]
    return "", []


def isolation_summary(user: str) -> str:
    """One sentence saying what the kernels of this run are isolated from.

    Examples
    --------
    >>> isinstance(isolation_summary("nobody"), str)
    True
    """
    if os.geteuid() == 0 and user and not kernel_interpreter(user)[0]:
        return (
            f"WARNING: user {user!r} cannot run this Python (its folder is private) and no "
            f"system python{sys.version_info.major}.{sys.version_info.minor} was found: "
            "kernels run as root with resource limits in a scratch copy, NOT isolated from "
            "the workshop; install the environment in a folder other users can read"
        )
    if os.geteuid() == 0 and user:
        return (
            f"kernels run as user {user!r} in a scratch copy, with memory, process, file-size "
            "and CPU limits; they cannot write the gradebook, source, release or other "
            "students' folders"
        )
    return (
        "grading is not running as root: kernels run as YOUR user with memory, process, "
        "file-size and CPU limits in a scratch copy, but student code can still read and "
        "write anything your user can (run `cpcourse grade` as root, or in a container, "
        "for full isolation)"
    )


def _prepare_and_exec(settings: dict[str, Any], command: list[str]) -> None:
    scratch = Path(settings["scratch"])
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    # the connection file lives in the grader's private runtime folder: hand the kernel a copy
    for index, arg in enumerate(command[:-1]):
        if arg == "-f":
            original = Path(command[index + 1])
            copy = home / original.name
            shutil.copyfile(original, copy)
            os.chmod(copy, 0o600)
            command[index + 1] = str(copy)
    user = settings.get("user") or ""
    if user:
        interpreter = list(settings.get("interpreter") or [])
        if not interpreter:  # settings written without it: work it out here
            found, prefix = kernel_interpreter(user)
            interpreter = [found, *prefix]
        if command[1:3] == ["-m", "ipykernel_launcher"] and interpreter[0] != command[0]:
            command = [*interpreter, *command[3:]]
        record = pwd.getpwnam(user)
        cwd = Path.cwd()
        for path in (home, cwd):
            for folder, _dirs, files in os.walk(path):
                os.chown(folder, record.pw_uid, record.pw_gid)
                for name in files:
                    os.chown(os.path.join(folder, name), record.pw_uid, record.pw_gid)
    env = os.environ
    env.update(settings.get("env") or {})
    env.update(
        {
            "HOME": str(home),
            "IPYTHONDIR": str(home / ".ipython"),
            "MPLCONFIGDIR": str(home / ".matplotlib"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "PYTHONWARNINGS": "ignore",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "TMPDIR": str(home),
        }
    )
    for name in ("JPY_SESSION_NAME", "NBGRADER_DB_URL"):
        env.pop(name, None)
    for name, value in settings["limits"].items():
        limit = getattr(resource, name, None)
        if limit is not None:
            resource.setrlimit(limit, (value, value))
    if user:
        os.setgroups([])
        os.setgid(record.pw_gid)
        os.setuid(record.pw_uid)
        if os.getuid() == 0 or os.geteuid() == 0:  # pragma: no cover - paranoia
            raise SystemExit("sandbox: could not drop root privileges")
    os.umask(0o077)
    os.execvpe(command[0], command, env)


def __getattr__(name: str) -> Any:  # the kernel manager moved to the executor module
    if name == "SandboxKernelManager":
        from clientprotection.grading.executor import SandboxKernelManager

        return SandboxKernelManager
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the launcher: ``--settings JSON -- KERNEL COMMAND...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 4 or argv[0] != "--settings" or argv[2] != "--":
        raise SystemExit("usage: python -I -S sandbox.py --settings JSON -- KERNEL COMMAND")
    _prepare_and_exec(json.loads(argv[1]), argv[3:])


if __name__ == "__main__":
    main()
