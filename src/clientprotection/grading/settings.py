"""Where the workshop and the exercises are, and the grading limits read from its config."""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Integer, Unicode
from traitlets.config import Config, Configurable, PyFileConfigLoader

import clientprotection
from clientprotection.errors import CourseError

CONFIG_NAME = "nbgrader_config.py"


class GradingLimits(Configurable):
    """Limits ``cpcourse grade`` applies to each kernel that runs a submission.

    Read from the ``GradingLimits`` section of the workshop's ``nbgrader_config.py`` (nbgrader
    itself ignores the section).

    Examples
    --------
    >>> GradingLimits().notebook_timeout
    300
    """

    notebook_timeout = Integer(300, help="Seconds for the whole notebook.").tag(config=True)
    memory_mb = Integer(2048, help="Address space of the kernel, MiB (RLIMIT_AS).").tag(
        config=True
    )
    max_processes = Integer(256, help="Processes and threads (RLIMIT_NPROC).").tag(config=True)
    max_file_size_mb = Integer(64, help="Largest file the kernel may write, MiB.").tag(
        config=True
    )
    sandbox_user = Unicode("nobody", help="Unprivileged user for kernels (root only).").tag(
        config=True
    )


def default_exercises_dir() -> Path:
    """The repository's ``exercises/`` folder, found from the installed package.

    Examples
    --------
    >>> default_exercises_dir().name
    'exercises'
    """
    return Path(clientprotection.__file__).resolve().parents[2] / "exercises"


def find_workshop(workshop: str | os.PathLike[str] | None) -> Path:
    """The workshop folder: ``workshop`` if given, else the current folder.

    Raises
    ------
    CourseError
        If the folder has no ``nbgrader_config.py`` or ``gradebook.db``.

    Examples
    --------
    >>> find_workshop("/nonexistent")  # doctest: +SKIP
    Traceback (most recent call last):
    CourseError: /nonexistent is not a workshop folder ...
    """
    root = Path(workshop if workshop is not None else os.getcwd()).resolve()
    if not (root / CONFIG_NAME).is_file() or not (root / "gradebook.db").is_file():
        raise CourseError(
            f"{root} is not a workshop folder (no {CONFIG_NAME} or gradebook.db). "
            "Run the command inside a folder made by `cpcourse workshop init DIR`, "
            "or pass --workshop DIR."
        )
    return root


def load_config(workshop: Path) -> Config:
    """The traitlets config of ``workshop/nbgrader_config.py``, rooted at the workshop.

    Examples
    --------
    >>> cfg = load_config(Path("my-workshop"))  # doctest: +SKIP
    >>> cfg.CourseDirectory.root                 # doctest: +SKIP
    '/home/trainer/my-workshop'
    """
    loader = PyFileConfigLoader(CONFIG_NAME, path=str(workshop))
    config = loader.load_config()
    config.CourseDirectory.root = str(workshop)
    return config


def grading_limits(config: Config) -> GradingLimits:
    """The :class:`GradingLimits` set in ``config`` (defaults for anything unset)."""
    return GradingLimits(config=config)


def course_id(config: Config) -> str:
    """The course id of the workshop config (``""`` if unset)."""
    return str(config.CourseDirectory.get("course_id", ""))
