"""``make lab``: open the course in JupyterLab on this computer.

``python -m clientprotection.lab --port 8888`` builds the learner workspace (``my-exercises/``,
the student versions of the exercises) if it is missing, starts JupyterLab from the same Python
environment with the repository as its root folder, and prints the address of the landing page
``course/index.ipynb``. It works as a normal user and as root (containers), with or without a
display (without one, no browser is opened: copy the printed address into a browser).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from clientprotection.errors import CourseError

__all__ = [
    "LANDING_PAGE",
    "display_available",
    "ensure_workspace",
    "find_course_root",
    "jupyter_lab_command",
    "lab_url",
    "main",
]

#: The notebook the course opens on, relative to the repository root.
LANDING_PAGE = "course/index.ipynb"


def find_course_root(start: Path | None = None) -> Path:
    """Return the repository folder that holds ``course/index.ipynb``.

    The package is installed editable from ``<root>/src``, so the root is found from this file;
    otherwise ``start`` (default: the current directory) and its parents are searched.

    Raises
    ------
    CourseError
        If no folder with ``course/index.ipynb`` is found.

    Examples
    --------
    >>> (find_course_root() / LANDING_PAGE).is_file()  # doctest: +SKIP
    True
    """
    candidates = [Path(__file__).resolve().parents[2]]
    here = (start or Path.cwd()).resolve()
    candidates += [here, *here.parents]
    for candidate in candidates:
        if (candidate / LANDING_PAGE).is_file():
            return candidate
    raise CourseError(
        f"Cannot find {LANDING_PAGE}. Run `make lab` from the course repository, or pass "
        "--root PATH to the folder that contains course/ and exercises/."
    )


def lab_url(port: int, token: str, *, host: str = "127.0.0.1", path: str = LANDING_PAGE) -> str:
    """The address that opens ``path`` in JupyterLab, logged in with ``token``.

    Examples
    --------
    >>> lab_url(8888, "abc")
    'http://127.0.0.1:8888/lab/tree/course/index.ipynb?token=abc'
    """
    if not 0 < int(port) < 65536:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    if host in ("0.0.0.0", "", "::"):  # listening everywhere: the local address still works
        host = "127.0.0.1"
    return f"http://{host}:{int(port)}/lab/tree/{path.lstrip('/')}?token={token}"


def display_available(
    environ: Mapping[str, str] | None = None, platform: str | None = None
) -> bool:
    """Whether a web browser can be opened on this machine.

    macOS and Windows always have a desktop; on Linux and other Unix systems a browser needs an
    X11 or Wayland display (none in containers, SSH sessions or CI).

    Examples
    --------
    >>> display_available({"DISPLAY": ":0"}, "linux")
    True
    >>> display_available({}, "linux")
    False
    >>> display_available({}, "darwin")
    True
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith(("win", "darwin")) and platform != "cygwin":
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def jupyter_lab_command(
    root: Path,
    port: int,
    *,
    python: str | None = None,
    ip: str = "127.0.0.1",
    as_root: bool | None = None,
    open_browser: bool | None = None,
    log_level: str = "WARN",
) -> list[str]:
    """The ``jupyter lab`` command line for the course.

    Parameters
    ----------
    root : Path
        Repository folder; JupyterLab's file browser starts here.
    port : int
        Port to listen on; if it is taken JupyterLab stops rather than picking another one,
        so that the printed address is always right.
    python : str, optional
        Interpreter of the environment that has JupyterLab (default: this one).
    ip : str, default "127.0.0.1"
        Interface to listen on (``0.0.0.0`` inside a container whose port is published).
    as_root : bool, optional
        Add ``--allow-root`` (default: when running as root).
    open_browser : bool, optional
        Let JupyterLab open a browser (default: when a display is available).
    log_level : str, default "WARN"
        JupyterLab's log level (``INFO`` shows every request).

    Examples
    --------
    >>> cmd = jupyter_lab_command(Path("/course"), 8888, python="python3", as_root=False,
    ...                           open_browser=False)
    >>> cmd[:3], "--no-browser" in cmd, "--allow-root" in cmd
    (['python3', '-m', 'jupyterlab'], True, False)
    """
    if as_root is None:
        as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if open_browser is None:
        open_browser = display_available()
    command = [
        python or sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={Path(root)}",
        f"--ServerApp.ip={ip}",
        f"--ServerApp.port={int(port)}",
        "--ServerApp.port_retries=0",
        f"--LabApp.default_url=/lab/tree/{LANDING_PAGE}",
        f"--ServerApp.log_level={log_level}",
    ]
    if not open_browser:
        command.append("--no-browser")
    if as_root:
        command.append("--allow-root")
    return command


def ensure_workspace(root: Path) -> list[Path]:
    """Build the student versions of exercises that are not yet in ``root/my-exercises``.

    Existing assignment folders are left untouched (the learner's work); an assignment added to
    ``exercises/`` since the last start is added. Returns the files written.

    Examples
    --------
    >>> ensure_workspace(find_course_root())  # doctest: +SKIP
    []
    """
    from clientprotection.workspace import (
        WORKSPACE_DIRNAME,
        build_student_workspace,
        list_assignments,
    )

    exercises = Path(root) / "exercises"
    if not exercises.is_dir():
        return []
    workspace = Path(root) / WORKSPACE_DIRNAME
    missing = [name for name in list_assignments(exercises) if not (workspace / name).exists()]
    if not missing:
        return []
    return build_student_workspace(workspace, exercises, assignments=missing)


def _port_is_free(ip: str, port: int) -> bool:
    host = "127.0.0.1" if ip in ("0.0.0.0", "", "::", "localhost") else ip
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _wait_until_serving(process: subprocess.Popen, port: int, token: str, timeout: float) -> bool:
    status_url = f"http://127.0.0.1:{port}/api/status?token={token}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.3)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``make lab`` (``python -m clientprotection.lab --port N``)."""
    parser = argparse.ArgumentParser(
        prog="python -m clientprotection.lab",
        description="Open the client protection course in JupyterLab.",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8888)))
    parser.add_argument("--ip", default="127.0.0.1", help="interface (0.0.0.0 in a container)")
    parser.add_argument("--root", type=Path, default=None, help="course repository folder")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--verbose", action="store_true", help="show JupyterLab's full log")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="  %(message)s", stream=sys.stdout)

    def say(text: str = "") -> None:
        print(text, flush=True)

    try:
        root = args.root.resolve() if args.root else find_course_root()
        if not _port_is_free(args.ip, args.port):
            raise CourseError(
                f"Port {args.port} is already in use (another JupyterLab?). "
                f"Choose another one: make lab PORT={args.port + 1}"
            )
        say("")
        say("  Client Protection course: microfinance client protection in practice")
        say(f"  Course folder:  {root}")
        written = ensure_workspace(root)
        workspace = root / "my-exercises"
        if written:
            say(f"  Your exercises: {workspace} (new: {len(written)} files)")
        else:
            say(f"  Your exercises: {workspace} (kept as you left them)")
    except CourseError as error:
        print(f"make lab: {error}", file=sys.stderr)
        return 2

    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
    open_browser = display_available() and not args.no_browser
    command = jupyter_lab_command(
        root,
        args.port,
        ip=args.ip,
        open_browser=open_browser,
        log_level="INFO" if args.verbose else "WARN",
    )
    say(f"  Starting JupyterLab on port {args.port} ...")
    # The token goes through the environment, so it does not show in `ps`.
    process = subprocess.Popen(command, cwd=root, env={**os.environ, "JUPYTER_TOKEN": token})

    def forward(signum: int, _frame: object) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM if signum != signal.SIGINT else signum)

    # Ctrl+C in a terminal reaches JupyterLab directly (same process group): it then asks for
    # confirmation. A SIGTERM or SIGHUP sent to this launcher stops JupyterLab too.
    signal.signal(signal.SIGTERM, forward)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, forward)
    signal.signal(signal.SIGINT, lambda *_: None)

    if _wait_until_serving(process, args.port, token, timeout=180):
        url = lab_url(args.port, token, host=args.ip)
        say("")
        say("  " + "=" * 72)
        say(f"  Open {url}")
        say("  " + "=" * 72)
        if not open_browser:
            say("  (No browser was opened: copy the address above into your browser.)")
        say("  Your work is saved in my-exercises/ and course/. Stop with Ctrl+C, twice.")
        say("")
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:  # pragma: no cover - interactive only
            continue


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
