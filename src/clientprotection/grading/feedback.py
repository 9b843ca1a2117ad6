"""Student feedback that shows scores and visible test results but never a hidden test.

nbgrader 0.9.6 restores the instructor's test cells into every autograded notebook, hidden tests
included, and its ``generate_feedback`` exports them as they are: the hidden test source is in
the HTML, and a failing hidden test also quotes its own lines in the traceback. This module
closes that gap in three steps, inside nbgrader's own ``GenerateFeedback`` converter so that the
files land where ``nbgrader release_feedback`` and the exchange expect them
(``feedback/<student>/<assignment>/<notebook>.html``):

1. :class:`HiddenTestFilter` (an nbconvert preprocessor) removes hidden-test and mark-scheme
   regions from a copy of the autograded notebook and rewrites every output that could quote
   them: a traceback frame that points into a hidden test becomes "inside a hidden test", the
   assertion message is kept only when it quotes no hidden line, stream lines that quote a hidden
   line are dropped.
2. The notebook is exported with nbgrader's feedback template (scores and comments included).
3. :class:`LeakCheckedHTMLExporter` searches the finished HTML for every distinctive hidden-test
   line of the source notebook (and every solution line the student did not write) and refuses
   to return the page if one is there, so nothing is written for that student.

Examples
--------
>>> import nbformat
>>> from nbformat.v4 import new_code_cell, new_notebook
>>> cell = new_code_cell(
...     "assert f(1) == 2\\n### BEGIN HIDDEN TESTS\\nassert f(-7) == 41\\n### END HIDDEN TESTS",
...     metadata={"nbgrader": {"grade": True, "grade_id": "m99_f_test", "points": 1,
...                            "locked": True, "solution": False, "schema_version": 3}})
>>> notebook = new_notebook(cells=[cell])
>>> sorted(notebook_secrets(notebook).hidden_lines)
['assert f(-7) == 41']
>>> print(strip_hidden_tests(notebook, ["assert f(-7) == 41"]).cells[0].source)
assert f(1) == 2
# (hidden tests are not shown in feedback)
"""

from __future__ import annotations

import copy
import html
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader.converters import GenerateFeedback
from nbgrader.converters.base import NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from clientprotection.errors import CourseError

__all__ = [
    "FeedbackResult",
    "HiddenTestFilter",
    "HiddenTestLeakError",
    "LeakCheckedHTMLExporter",
    "NotebookSecrets",
    "Workshop",
    "WorkshopHiddenTestFilter",
    "find_leaks",
    "forbidden_lines",
    "generate_feedback",
    "load_workshop",
    "notebook_secrets",
    "strip_hidden_tests",
]

HIDDEN_PLACEHOLDER = "# (hidden tests are not shown in feedback)"
MARK_SCHEME_PLACEHOLDER = "(the marking scheme is not shown in feedback)"
HIDDEN_FAILURE_NOTE = "A hidden test failed."
HIDDEN_FRAME_NOTE = "inside a hidden test (its code is not shown)"
HIDDEN_MESSAGE_NOTE = "(message not shown: it quotes a hidden test)"
REMOVED_LINE_NOTE = "[a line that quotes a hidden test was removed]"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_WHITESPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_STYLE_BLOCK = re.compile(r"<style\b.*?</style>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
# IPython 8 and 9 ("Cell In[3], line 6") and IPython 7 ("Input In [3], in <cell line: 6>()").
_CELL_FRAME = re.compile(
    r"^\s*(?:Cell In\s*\[(?P<count>\d+)\],\s*line (?P<line>\d+)"
    r"|Input In\s*\[(?P<count7>\d+)\].*?<cell line: (?P<line7>\d+)>)"
)
_TEXT_MIME_TYPES = (
    "text/plain", "text/html", "text/markdown", "text/latex", "application/json",
    "image/svg+xml", "application/javascript",
)
_MIN_DISTINCTIVE_CHARS = 8
_MIN_WORDS_FOR_PROSE_MATCH = 4


class HiddenTestLeakError(CourseError):
    """Feedback would show a hidden test or a solution line; the page was not written."""


# --------------------------------------------------------------------------------------------
# Workshop folder


@dataclass(frozen=True)
class Workshop:
    """An nbgrader course folder opened with its own ``nbgrader_config.py``.

    Attributes
    ----------
    root : Path
        The folder that holds ``nbgrader_config.py``.
    config : traitlets.config.Config
        The loaded configuration, with ``CourseDirectory.root`` set to ``root``.
    coursedir : nbgrader.coursedir.CourseDirectory
        Paths and the gradebook address of the course.
    """

    root: Path
    config: Config
    coursedir: CourseDirectory

    @property
    def db_url(self) -> str:
        """The gradebook address (``sqlite:///...``)."""
        return self.coursedir.db_url

    def step_folder(self, step: str, student: str, assignment: str) -> Path:
        """Folder of one nbgrader step (``source``, ``autograded``, ``feedback``...)."""
        name = getattr(self.coursedir, f"{step}_directory")
        return Path(self.coursedir.format_path(name, student, assignment))


def load_workshop(folder: str | Path | None = None) -> Workshop:
    """Open a workshop folder: read its ``nbgrader_config.py`` the way ``nbgrader`` does.

    Parameters
    ----------
    folder : str or Path, optional
        The workshop folder; the current folder when omitted.

    Returns
    -------
    Workshop

    Raises
    ------
    CourseError
        If the folder does not exist or has no ``nbgrader_config.py``.

    Examples
    --------
    >>> workshop = load_workshop("my-workshop")  # doctest: +SKIP
    >>> workshop.db_url  # doctest: +SKIP
    'sqlite:////home/trainer/my-workshop/gradebook.db'
    """
    root = Path(folder if folder is not None else ".").expanduser().resolve()
    if not root.is_dir():
        raise CourseError(
            f"workshop folder {root} does not exist; create one with "
            "`cpcourse workshop init DIR` or pass --workshop DIR"
        )
    if not (root / "nbgrader_config.py").is_file():
        raise CourseError(
            f"{root} is not a workshop folder: it has no nbgrader_config.py. Run this command "
            "inside the folder made by `cpcourse workshop init DIR`, or pass --workshop DIR."
        )
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    db_url = config.CourseDirectory.get("db_url")
    if isinstance(db_url, str) and db_url.startswith("sqlite:///"):
        db_path = Path(db_url[len("sqlite:///"):])
        if not db_path.is_absolute():  # nbgrader reads it from the workshop folder
            config.CourseDirectory.db_url = f"sqlite:///{root / db_path}"
    coursedir = CourseDirectory(config=config)
    return Workshop(root=root, config=config, coursedir=coursedir)


# --------------------------------------------------------------------------------------------
# What must never be shown


@dataclass(frozen=True)
class Delimiters:
    """The region markers of the course (nbgrader's defaults unless the config changes them)."""

    hidden_begin: str = "BEGIN HIDDEN TESTS"
    hidden_end: str = "END HIDDEN TESTS"
    solution_begin: str = "BEGIN SOLUTION"
    solution_end: str = "END SOLUTION"
    mark_scheme_begin: str = "BEGIN MARK SCHEME"
    mark_scheme_end: str = "END MARK SCHEME"

    @classmethod
    def from_config(cls, config: Config) -> Delimiters:
        """Read the delimiters a workshop's ``nbgrader_config.py`` may have changed."""
        default = cls()
        return cls(
            hidden_begin=config.ClearHiddenTests.get("begin_test_delimeter", default.hidden_begin),
            hidden_end=config.ClearHiddenTests.get("end_test_delimeter", default.hidden_end),
            solution_begin=config.ClearSolutions.get(
                "begin_solution_delimeter", default.solution_begin),
            solution_end=config.ClearSolutions.get(
                "end_solution_delimeter", default.solution_end),
            mark_scheme_begin=config.ClearMarkScheme.get(
                "begin_mark_scheme_delimeter", default.mark_scheme_begin),
            mark_scheme_end=config.ClearMarkScheme.get(
                "end_mark_scheme_delimeter", default.mark_scheme_end),
        )


DEFAULT_DELIMITERS = Delimiters()


def normalize_line(text: str) -> str:
    """One line as it is compared: ANSI colours removed, runs of whitespace as one space.

    Examples
    --------
    >>> normalize_line("  assert  f(1) ==  2 ")
    'assert f(1) == 2'
    """
    return _WHITESPACE.sub(" ", _ANSI.sub("", text)).strip()


def _words(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def _region_line_numbers(lines: Sequence[str], begin: str, end: str) -> set[int]:
    """Indexes of the lines of every ``begin``..``end`` region, markers included.

    An unterminated region runs to the end of the cell: when in doubt, hide.
    """
    inside = False
    region: set[int] = set()
    for index, line in enumerate(lines):
        if begin in line:
            inside = True
        if inside:
            region.add(index)
        if inside and end in line:
            inside = False
    return region


def _is_marker(line: str, delimiters: Delimiters) -> bool:
    return any(
        marker in line
        for marker in (
            delimiters.hidden_begin, delimiters.hidden_end, delimiters.solution_begin,
            delimiters.solution_end, delimiters.mark_scheme_begin, delimiters.mark_scheme_end,
        )
    )


def _nbgrader_meta(cell: NotebookNode) -> Mapping[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


@dataclass(frozen=True)
class NotebookSecrets:
    """The lines of one source notebook that a student must not see, and those they may.

    Attributes
    ----------
    hidden_lines : frozenset of str
        Normalised lines inside hidden-test and mark-scheme regions.
    solution_lines : frozenset of str
        Normalised lines of the instructor's solutions.
    public_lines : frozenset of str
        Normalised lines the released student version shows anyway.
    public_text : str
        The public lines in notebook order, so that a hidden line which only repeats a phrase
        of the visible text (an assertion message quoting the task, say) is not taken for a
        leak.
    """

    hidden_lines: frozenset[str] = field(default_factory=frozenset)
    solution_lines: frozenset[str] = field(default_factory=frozenset)
    public_lines: frozenset[str] = field(default_factory=frozenset)
    public_text: str = ""

    def union(self, other: NotebookSecrets) -> NotebookSecrets:
        """Both sets of secrets together (for example the file and the gradebook copy)."""
        return NotebookSecrets(
            self.hidden_lines | other.hidden_lines,
            self.solution_lines | other.solution_lines,
            self.public_lines | other.public_lines,
            "\n".join(text for text in (self.public_text, other.public_text) if text),
        )


def _cell_secrets(
    source: str, cell_type: str, meta: Mapping[str, Any], delimiters: Delimiters,
    include_solutions: bool,
) -> tuple[set[str], set[str], list[str]]:
    lines = source.split("\n")
    hidden_index = _region_line_numbers(lines, delimiters.hidden_begin, delimiters.hidden_end)
    hidden_index |= _region_line_numbers(
        lines, delimiters.mark_scheme_begin, delimiters.mark_scheme_end)
    solution_index = _region_line_numbers(
        lines, delimiters.solution_begin, delimiters.solution_end)
    if meta.get("solution") and not solution_index:
        # nbgrader replaces a whole solution cell that has no delimiters
        solution_index = set(range(len(lines)))
    hidden, solution, public = set(), set(), []
    for index, line in enumerate(lines):
        text = normalize_line(line)
        if not text or _is_marker(line, delimiters):
            continue
        if index in hidden_index:
            hidden.add(text)
        elif index in solution_index:
            if include_solutions:
                solution.add(text)
        elif cell_type != "markdown" or not meta.get("solution"):
            public.append(text)
    return hidden, solution, public


def notebook_secrets(
    notebook: NotebookNode,
    *,
    include_solutions: bool = True,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
) -> NotebookSecrets:
    """Hidden-test, solution and public lines of an nbgrader source notebook.

    Parameters
    ----------
    notebook : NotebookNode
        A source notebook (or an autograded one, with ``include_solutions=False``: its
        solution cells hold the student's own answer).
    include_solutions : bool, default True
        Whether solution regions count as secret.
    delimiters : Delimiters
        The region markers of the course.

    Returns
    -------
    NotebookSecrets

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> cell = new_code_cell("def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x + 1\\n"
    ...                      "    ### END SOLUTION", metadata={"nbgrader": {"solution": True}})
    >>> secrets = notebook_secrets(new_notebook(cells=[cell]))
    >>> sorted(secrets.solution_lines), sorted(secrets.public_lines)
    (['return 2 * x + 1'], ['def f(x):'])
    """
    hidden: set[str] = set()
    solution: set[str] = set()
    public: list[str] = []
    for cell in notebook.cells:
        cell_hidden, cell_solution, cell_public = _cell_secrets(
            cell.source, cell.cell_type, _nbgrader_meta(cell), delimiters, include_solutions)
        hidden |= cell_hidden
        solution |= cell_solution
        public += cell_public
    return NotebookSecrets(frozenset(hidden), frozenset(solution), frozenset(public),
                           "\n".join(public))


def _gradebook_secrets(
    db_url: str, assignment: str, notebook: str, delimiters: Delimiters
) -> NotebookSecrets:
    """Secrets of the instructor's cells as the gradebook stored them at release time."""
    from nbgrader.api import Gradebook, MissingEntry

    secrets = NotebookSecrets()
    with Gradebook(db_url) as gradebook:
        try:
            stored = gradebook.find_notebook(notebook, assignment)
        except MissingEntry:
            return secrets
        for source_cell in stored.source_cells:
            hidden, _, _ = _cell_secrets(
                source_cell.source or "", source_cell.cell_type, {}, delimiters, False)
            secrets = secrets.union(NotebookSecrets(hidden_lines=frozenset(hidden)))
    return secrets


def student_written_lines(
    notebook: NotebookNode, delimiters: Delimiters = DEFAULT_DELIMITERS
) -> set[str]:
    """Normalised lines the student typed: answer cells and cells they added themselves.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> answer = new_code_cell("total = sum(values)", metadata={"nbgrader": {"solution": True}})
    >>> sorted(student_written_lines(new_notebook(cells=[answer])))
    ['total = sum(values)']
    """
    written: set[str] = set()
    for cell in notebook.cells:
        meta = _nbgrader_meta(cell)
        if meta and not meta.get("solution"):
            continue
        lines = cell.source.split("\n")
        hidden_index = _region_line_numbers(lines, delimiters.hidden_begin, delimiters.hidden_end)
        written |= {
            normalize_line(line) for index, line in enumerate(lines)
            if index not in hidden_index and normalize_line(line)
        }
    return written


def is_distinctive(line: str) -> bool:
    """Whether a line is specific enough to search for in a page without false alarms.

    Very short lines and lines made of a single word and punctuation (``else:``, ``pass``,
    ``)``) would match everywhere, so they are not searched for; the regions that hold them are
    still removed from the notebook before export.

    Examples
    --------
    >>> is_distinctive("assert total_of([]) == 0"), is_distinctive("return")
    (True, False)
    """
    text = normalize_line(line)
    if len(text.replace(" ", "")) < _MIN_DISTINCTIVE_CHARS:
        return False
    return len(re.findall(r"\w+", text)) >= 2


def forbidden_lines(
    secrets: NotebookSecrets, written_by_student: Iterable[str] = ()
) -> list[str]:
    """The lines a student's feedback must not contain, longest first.

    Hidden-test and solution lines, minus lines the released notebook shows anyway (also when
    they only repeat a phrase of its visible text), minus lines the student wrote themselves,
    minus lines too generic to search for.

    Examples
    --------
    >>> secrets = NotebookSecrets(hidden_lines=frozenset({"assert f(-7) == 41", "pass"}),
    ...                           solution_lines=frozenset({"return 2 * x + 1"}))
    >>> forbidden_lines(secrets, written_by_student={"return 2 * x + 1"})
    ['assert f(-7) == 41']
    """
    allowed = set(secrets.public_lines) | {normalize_line(x) for x in written_by_student}
    candidates = (secrets.hidden_lines | secrets.solution_lines) - allowed
    distinctive = [x for x in candidates if is_distinctive(x)]
    if secrets.public_text and distinctive:
        already_shown = set(_LeakMatcher(distinctive).leaks(secrets.public_text))
        distinctive = [x for x in distinctive if x not in already_shown]
    return sorted(distinctive, key=lambda x: (-len(x), x))


class _LeakMatcher:
    """Finds forbidden lines in text, also after markdown or HTML has reshaped them."""

    def __init__(self, forbidden: Iterable[str]):
        self.exact = [normalize_line(x) for x in forbidden if normalize_line(x)]
        self.prose = [
            (f" {_words(x)} ", x) for x in self.exact
            if len(_words(x).split()) >= _MIN_WORDS_FOR_PROSE_MATCH
        ]

    def leaks(self, text: str) -> list[str]:
        exact_text = normalize_line(text)
        found = {x for x in self.exact if x in exact_text}
        if self.prose:
            word_text = f" {_words(text)} "
            found |= {line for words, line in self.prose if words in word_text}
        return sorted(found)

    def __bool__(self) -> bool:
        return bool(self.exact)


def html_text(page: str, tag_separator: str = "") -> str:
    """The text a reader sees in an HTML page (tags and style sheets removed, entities decoded).

    Examples
    --------
    >>> html_text("<pre><span>assert</span> f(1) &gt;= 2</pre>")
    'assert f(1) >= 2'
    """
    return html.unescape(_TAG.sub(tag_separator, _STYLE_BLOCK.sub(" ", page)))


def find_leaks(page: str, forbidden: Iterable[str]) -> list[str]:
    """The forbidden lines that appear in an HTML page (empty when the page is clean).

    The page is searched both as HTML source and as the text a browser shows, so syntax
    highlighting (one ``<span>`` per token) or ANSI-coloured tracebacks do not hide a match.

    Examples
    --------
    >>> page = '<pre><span class="k">assert</span> f(-7) == 41</pre>'
    >>> find_leaks(page, ["assert f(-7) == 41"])
    ['assert f(-7) == 41']
    >>> find_leaks(page, ["assert g(3) == 0"])
    []
    """
    matcher = _LeakMatcher(forbidden)
    if not matcher:
        return []
    found = (
        matcher.leaks(html_text(page))  # highlighted code: tokens are adjacent spans
        + matcher.leaks(html_text(page, " "))  # prose: block tags separate words
        + matcher.leaks(html.unescape(page))
    )
    return sorted(set(found))


# --------------------------------------------------------------------------------------------
# Cleaning the autograded notebook


@dataclass(frozen=True)
class _CodeCellLines:
    lines: tuple[str, ...]  # the source that ran, hidden tests included
    hidden: frozenset[int]  # 0-based indexes of hidden-region lines


def _remove_regions(
    source: str, delimiters: Delimiters
) -> tuple[str, frozenset[int], bool]:
    lines = source.split("\n")
    hidden = _region_line_numbers(lines, delimiters.hidden_begin, delimiters.hidden_end)
    scheme = _region_line_numbers(
        lines, delimiters.mark_scheme_begin, delimiters.mark_scheme_end)
    kept: list[str] = []
    for index, line in enumerate(lines):
        if index in hidden:
            if index - 1 not in hidden:  # one note per region
                kept.append(HIDDEN_PLACEHOLDER)
        elif index in scheme:
            if index - 1 not in scheme:
                kept.append(MARK_SCHEME_PLACEHOLDER)
        else:
            kept.append(line)
    return "\n".join(kept), frozenset(hidden), bool(scheme)


def _strip_text_lines(text: str, matcher: _LeakMatcher) -> str:
    if not matcher or not text:
        return text
    kept, removed = [], False
    for line in text.splitlines(keepends=True):
        if matcher.leaks(line):
            removed = True
        else:
            kept.append(line)
    if removed:
        kept.append(REMOVED_LINE_NOTE + "\n")
    return "".join(kept)


def _clean_frame(
    element: str, cells: Mapping[int, _CodeCellLines], matcher: _LeakMatcher
) -> tuple[str, bool]:
    """One traceback element made safe; also whether it points into a hidden test."""
    plain = _ANSI.sub("", element)
    match = _CELL_FRAME.match(plain)
    if match is None:
        return (element, False) if not matcher.leaks(plain) else (REMOVED_LINE_NOTE, False)
    count = int(match.group("count") or match.group("count7"))
    line_number = int(match.group("line") or match.group("line7"))
    header = plain.strip().splitlines()[0]
    cell = cells.get(count)
    if cell is None:
        return header, True  # cannot tell where it points: show no code
    if not cell.hidden:
        if matcher.leaks(plain):
            return header, False
        return element, False
    if line_number - 1 in cell.hidden or not 0 < line_number <= len(cell.lines):
        return f"{header}: {HIDDEN_FRAME_NOTE}", True
    pointed = cell.lines[line_number - 1]
    if matcher.leaks(pointed):
        return f"{header}: {HIDDEN_FRAME_NOTE}", True
    return f"{header}\n----> {line_number} {pointed}", False


def _clean_error(
    output: NotebookNode, cells: Mapping[int, _CodeCellLines], matcher: _LeakMatcher,
    own_cell: _CodeCellLines | None,
) -> NotebookNode:
    ename = str(output.get("ename", "Error"))
    evalue = str(output.get("evalue", ""))
    evalue_hidden = bool(matcher.leaks(evalue)) or (
        own_cell is not None
        and bool(own_cell.hidden)
        and normalize_line(evalue) in {normalize_line(own_cell.lines[i]) for i in own_cell.hidden}
    )
    safe_evalue = HIDDEN_MESSAGE_NOTE if evalue_hidden else evalue
    traceback = list(output.get("traceback", []))
    frames, hidden_failure = [], False
    # the first elements are the banner, the last one repeats "ename: evalue"
    for element in traceback[:-1] if traceback else []:
        cleaned, points_to_hidden = _clean_frame(element, cells, matcher)
        hidden_failure = hidden_failure or points_to_hidden
        frames.append(cleaned)
    if not frames:
        hidden_failure = own_cell is not None and bool(own_cell.hidden)
    banner = [HIDDEN_FAILURE_NOTE] if hidden_failure else []
    last = f"{ename}: {safe_evalue}" if safe_evalue else ename
    cleaned_output = copy.deepcopy(output)
    cleaned_output["evalue"] = safe_evalue
    cleaned_output["traceback"] = banner + frames + [last]
    return cleaned_output


def _clean_data(output: NotebookNode, matcher: _LeakMatcher) -> NotebookNode:
    data = output.get("data", {})
    for mime in _TEXT_MIME_TYPES:
        value = data.get(mime)
        if value is None:
            continue
        if isinstance(value, str):
            text = value
        elif isinstance(value, list):
            text = "".join(map(str, value))
        else:
            text = json.dumps(value)
        if matcher.leaks(text):
            return nbformat.from_dict(
                {"output_type": "stream", "name": "stdout", "text": REMOVED_LINE_NOTE + "\n"})
    return output


def strip_hidden_tests(
    notebook: NotebookNode,
    forbidden: Iterable[str],
    *,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
) -> NotebookNode:
    """A copy of an autograded notebook with hidden tests removed from sources and outputs.

    Parameters
    ----------
    notebook : NotebookNode
        The autograded notebook (it is not changed).
    forbidden : iterable of str
        Lines no output may quote (see :func:`forbidden_lines`).
    delimiters : Delimiters
        The region markers of the course.

    Returns
    -------
    NotebookNode
        Hidden-test and mark-scheme regions replaced by a one-line note; tracebacks that point
        into a hidden test rebuilt as "A hidden test failed." with the frames that are safe to
        show and the exception message when it quotes no hidden line; stream and display lines
        that quote a forbidden line removed.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_notebook, new_output
    >>> cell = new_code_cell(
    ...     "x = 1\\n### BEGIN HIDDEN TESTS\\nassert x == 2, 'x must be two'\\n"
    ...     "### END HIDDEN TESTS", execution_count=1,
    ...     metadata={"nbgrader": {"grade": True, "grade_id": "m99_x_test", "points": 1}})
    >>> cell.outputs = [new_output("error", ename="AssertionError", evalue="x must be two",
    ...     traceback=["Traceback", "Cell In[1], line 3\\n----> 3 assert x == 2, 'x must be two'",
    ...                "AssertionError: x must be two"])]
    >>> clean = strip_hidden_tests(new_notebook(cells=[cell]), ["assert x == 2, 'x must be two'"])
    >>> print("\\n".join(clean.cells[0].outputs[0].traceback))
    A hidden test failed.
    Traceback
    Cell In[1], line 3: inside a hidden test (its code is not shown)
    AssertionError: x must be two
    """
    matcher = _LeakMatcher(forbidden)
    clean = copy.deepcopy(notebook)
    code_cells: dict[int, _CodeCellLines] = {}
    own_lines: list[_CodeCellLines | None] = []
    for cell in clean.cells:
        original = cell.source
        new_source, hidden, had_scheme = _remove_regions(original, delimiters)
        if hidden or had_scheme:
            cell.source = new_source
        lines = _CodeCellLines(tuple(original.split("\n")), hidden)
        own_lines.append(lines if cell.cell_type == "code" else None)
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            code_cells[int(cell.execution_count)] = lines
    for cell, lines in zip(clean.cells, own_lines, strict=True):
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                outputs.append(_clean_error(output, code_cells, matcher, lines))
            elif kind == "stream":
                output = copy.deepcopy(output)
                output["text"] = _strip_text_lines(output.get("text", ""), matcher)
                outputs.append(output)
            elif kind in ("display_data", "execute_result"):
                outputs.append(_clean_data(output, matcher))
            else:
                outputs.append(output)
        cell.outputs = outputs
    # nbgrader's own "celltoolbar" would show the create-assignment toolbar
    clean.metadata.pop("celltoolbar", None)
    return clean


# --------------------------------------------------------------------------------------------
# nbconvert and nbgrader plumbing


class HiddenTestFilter(Preprocessor):
    """nbconvert preprocessor: removes hidden tests from an autograded notebook before export.

    It also records, in ``resources["clientprotection"]["forbidden_lines"]``, the lines that the
    exported page must not contain, for :class:`LeakCheckedHTMLExporter` to check.

    Parameters
    ----------
    secrets_by_notebook : mapping of str to NotebookSecrets, optional
        Secrets of each source notebook, by notebook name (without ``.ipynb``). The hidden
        regions found in the autograded notebook itself are always added.
    delimiters : Delimiters
        The region markers of the course.

    Examples
    --------
    >>> from nbconvert.exporters import HTMLExporter
    >>> exporter = LeakCheckedHTMLExporter()
    >>> exporter.register_preprocessor(HiddenTestFilter(), enabled=True)  # doctest: +ELLIPSIS
    <...HiddenTestFilter object at ...>
    """

    def __init__(
        self,
        secrets_by_notebook: Mapping[str, NotebookSecrets] | None = None,
        delimiters: Delimiters = DEFAULT_DELIMITERS,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.secrets_by_notebook = dict(secrets_by_notebook or {})
        self.delimiters = delimiters
        self.enabled = True

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        notebook_id = (resources.get("nbgrader") or {}).get("notebook", "")
        secrets = self.secrets_by_notebook.get(notebook_id, NotebookSecrets())
        own = notebook_secrets(nb, include_solutions=False, delimiters=self.delimiters)
        # the page being checked cannot vouch for itself: only the source's released text
        # (public_text) may excuse a phrase, never the autograded notebook's own text
        secrets = secrets.union(NotebookSecrets(own.hidden_lines, own.solution_lines,
                                                own.public_lines))
        forbidden = forbidden_lines(secrets, student_written_lines(nb, self.delimiters))
        clean = strip_hidden_tests(nb, forbidden, delimiters=self.delimiters)
        resources.setdefault("clientprotection", {})["forbidden_lines"] = forbidden
        return clean, resources


class WorkshopHiddenTestFilter(HiddenTestFilter):
    """:class:`HiddenTestFilter` that finds the secrets itself, for plain nbgrader.

    A workshop's ``nbgrader_config.py`` puts it first in ``GenerateFeedback.preprocessors``
    (with :class:`LeakCheckedHTMLExporter` as ``GenerateFeedback.exporter_class``), so that
    ``nbgrader generate_feedback`` and the formgrader's feedback button also strip hidden tests
    and refuse a page that still quotes one. nbgrader builds it with no arguments; it reads the
    hidden tests and solutions of each notebook from the gradebook and from the course's
    ``source/`` folder, as ``cpcourse feedback`` does.

    Examples
    --------
    >>> WorkshopHiddenTestFilter().secrets_by_notebook
    {}
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.delimiters = Delimiters.from_config(self.config)
        self._loaded: set[tuple[str, str]] = set()

    def _coursedir(self) -> CourseDirectory:
        owner = self.parent
        while owner is not None:
            coursedir = getattr(owner, "coursedir", None)
            if isinstance(coursedir, CourseDirectory):
                return coursedir
            owner = getattr(owner, "parent", None)
        return CourseDirectory(config=self.config)

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources.get("nbgrader") or {}
        assignment, notebook = info.get("assignment", ""), info.get("notebook", "")
        if assignment and notebook and (assignment, notebook) not in self._loaded:
            coursedir = self._coursedir()
            db_url = info.get("db_url") or coursedir.db_url
            found = _gradebook_secrets(db_url, assignment, notebook, self.delimiters)
            source_file = Path(
                coursedir.format_path(coursedir.source_directory, ".", assignment)
            ) / f"{notebook}.ipynb"
            if source_file.is_file():
                found = found.union(notebook_secrets(
                    nbformat.read(source_file, as_version=4), delimiters=self.delimiters))
            self.secrets_by_notebook[notebook] = found
            self._loaded.add((assignment, notebook))
        return super().preprocess(nb, resources)


class LeakCheckedHTMLExporter(HTMLExporter):
    """HTML exporter that refuses to return a page quoting a hidden test or a solution.

    It must run with :class:`HiddenTestFilter` registered; without it no page is produced.

    Raises
    ------
    HiddenTestLeakError
        If the page contains a forbidden line, or if the filter did not run.
    """

    def from_notebook_node(
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        output, resources = super().from_notebook_node(nb, resources, **kw)
        info = (resources or {}).get("clientprotection")
        if info is None:
            raise HiddenTestLeakError(
                "feedback was exported without the hidden-test filter; nothing was written. "
                "Use `cpcourse feedback`, which registers it."
            )
        leaks = find_leaks(output, info["forbidden_lines"])
        if leaks:
            shown = "; ".join(repr(x) for x in leaks[:3])
            raise HiddenTestLeakError(
                f"the feedback page would show {len(leaks)} hidden test or solution line(s), "
                f"for example {shown}; it was not written. Check the notebook's hidden-test "
                "delimiters and outputs, then run `cpcourse feedback` again."
            )
        return output, resources


@dataclass(frozen=True)
class FeedbackResult:
    """The outcome of the feedback page of one student's notebook.

    Attributes
    ----------
    student_id, notebook : str
        Who and which notebook (without ``.ipynb``).
    path : Path or None
        The HTML file written, or None when nothing was written.
    error : str or None
        Why nothing was written.
    """

    student_id: str
    notebook: str
    path: Path | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the page was written."""
        return self.error is None


class FeedbackError(CourseError):
    """Feedback could not be written for some students; ``results`` says which and why."""

    def __init__(self, message: str, results: Sequence[FeedbackResult]):
        super().__init__(message)
        self.results = list(results)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


class _SafeGenerateFeedback(GenerateFeedback):
    """nbgrader's feedback converter with the hidden-test filter and the leak check."""

    def __init__(self, hidden_filter: HiddenTestFilter, **kwargs: Any):
        super().__init__(**kwargs)
        self.preprocessors = [hidden_filter, GetGrades, CSSHTMLHeaderPreprocessor]
        self.exporter_class = LeakCheckedHTMLExporter
        self.force = True  # feedback is derived: always rebuild it from the gradebook
        self.outcomes: list[FeedbackResult] = []

    def convert_single_notebook(self, notebook_filename: str) -> None:
        resources = self.init_single_notebook_resources(notebook_filename)
        student = resources["nbgrader"]["student"]
        notebook = resources["nbgrader"]["notebook"]
        try:
            super().convert_single_notebook(notebook_filename)
        except Exception as error:
            self.outcomes.append(FeedbackResult(student, notebook, None, str(error)))
            raise
        dest = Path(self._format_dest(resources["nbgrader"]["assignment"], student))
        self.outcomes.append(FeedbackResult(student, notebook, dest / f"{notebook}.html"))


def _source_secrets(workshop: Workshop, assignment: str, delimiters: Delimiters) -> dict[
    str, NotebookSecrets
]:
    source_folder = workshop.step_folder("source", ".", assignment)
    names = {path.stem for path in source_folder.glob("*.ipynb")}
    autograded = workshop.step_folder("autograded", "*", assignment)
    names |= {path.stem for path in autograded.parent.parent.glob(f"*/{assignment}/*.ipynb")}
    secrets: dict[str, NotebookSecrets] = {}
    for name in sorted(names):
        found = _gradebook_secrets(workshop.db_url, assignment, name, delimiters)
        source_file = source_folder / f"{name}.ipynb"
        if source_file.is_file():
            found = found.union(
                notebook_secrets(nbformat.read(source_file, as_version=4), delimiters=delimiters))
        secrets[name] = found
    return secrets


def generate_feedback(
    workshop: str | Path | Workshop | None,
    assignment: str,
    student: str | None = None,
    *,
    strict: bool = True,
) -> list[FeedbackResult]:
    """Write HTML feedback with no hidden test in it, where nbgrader's exchange expects it.

    Parameters
    ----------
    workshop : str, Path, Workshop or None
        The workshop folder (None: the current folder).
    assignment : str
        The assignment name, e.g. ``m02-over-indebtedness``.
    student : str, optional
        One student id; every autograded student when omitted.
    strict : bool, default True
        Raise :class:`FeedbackError` when any page could not be written. With False the
        failures are only reported in the results.

    Returns
    -------
    list of FeedbackResult
        One per student notebook, sorted by student and notebook.

    Raises
    ------
    CourseError
        If there is no autograded submission to give feedback on.
    FeedbackError
        (``strict`` only) if a page would have shown a hidden test or could not be made.

    Examples
    --------
    >>> results = generate_feedback("my-workshop", "m02-over-indebtedness")  # doctest: +SKIP
    >>> [(r.student_id, r.path.name) for r in results]  # doctest: +SKIP
    [('amina', 'over-indebtedness.html'), ('bao', 'over-indebtedness.html')]
    """
    if not isinstance(workshop, Workshop):
        workshop = load_workshop(workshop)
    students = [student] if student else sorted(
        path.name for path in workshop.step_folder("autograded", ".", ".").glob("*")
        if (path / assignment).is_dir()
    )
    students = [
        sid for sid in students if (workshop.step_folder("autograded", sid, assignment)).is_dir()
    ]
    if not students:
        who = f"student {student!r}" if student else "any student"
        raise CourseError(
            f"there is no autograded submission of {assignment!r} for {who} in "
            f"{workshop.root}; run `cpcourse grade {assignment}` first"
        )
    delimiters = Delimiters.from_config(workshop.config)
    hidden_filter = HiddenTestFilter(_source_secrets(workshop, assignment, delimiters), delimiters)

    config = copy.deepcopy(workshop.config)
    config.HTMLExporter.template_name = "feedback"
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    coursedir.student_id = student if student else "*"

    log_handler = _ListHandler()
    logger = logging.getLogger(f"{__name__}.nbgrader")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(log_handler)
    converter = _SafeGenerateFeedback(hidden_filter, coursedir=coursedir, config=config, log=logger)
    try:
        converter.start()
    except NbGraderException:
        pass  # each failure is in converter.outcomes; the log keeps nbgrader's details
    finally:
        logger.removeHandler(log_handler)

    reported = {(x.student_id, x.notebook) for x in converter.outcomes}
    outcomes = list(converter.outcomes)
    for sid in students:
        if not any(x[0] == sid for x in reported):
            outcomes.append(FeedbackResult(
                sid, "*", None,
                "nbgrader did not process this submission: "
                + (" | ".join(log_handler.messages[-3:]) or "no log"),
            ))
    outcomes.sort(key=lambda x: (x.student_id, x.notebook))
    failed = [x for x in outcomes if not x.ok]
    if failed and strict:
        lines = "\n".join(f"  {x.student_id}/{x.notebook}: {x.error}" for x in failed)
        raise FeedbackError(f"feedback was not written for {len(failed)} notebook(s):\n{lines}",
                            outcomes)
    return outcomes
