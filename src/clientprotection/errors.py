"""Errors the course raises for bad input: each message says what is wrong and what to do."""


class CourseError(Exception):
    """A problem the user can fix (bad file, wrong folder, missing option).

    The command-line interface prints the message without a traceback and exits with status 2.
    """


class ScenarioError(CourseError, ValueError):
    """A scenario file is invalid: the message names the key, the value and what is allowed."""


class DatasetError(CourseError):
    """A dataset folder is missing, incomplete or does not match its datapackage.json."""
