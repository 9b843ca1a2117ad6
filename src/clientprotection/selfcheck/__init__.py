"""Check-your-understanding questions with instant, hint-giving feedback.

A module notebook asks a question in Markdown, the learner writes ``my_answer = ...`` in a code
cell and runs ``check("m02.liv_band", my_answer)``. The feedback says "correct" or shows one more
hint on every wrong attempt; it never shows the expected answer.

Questions live in one file per module, ``clientprotection/selfcheck/mNN.py``, each defining
``QUESTIONS: list[Question]``. The expected answer is stored either as a salted hash
(:func:`hash_answer`) for fixed answers, or as a function that computes it from the data, so no
answer sits in plain text in the notebook or in the question file. (The salt keeps a web search
for the hash from finding the answer; it is a study aid, not a security measure: graded work
goes through nbgrader.)

Examples
--------
>>> from clientprotection.selfcheck import Question, hash_answer, matches
>>> q = Question("m00.demo", "choice", hash_answer("b", kind="choice"), ("Re-read section 2.",))
>>> matches(q, "B")
True
>>> matches(q, "a")
False
"""

from __future__ import annotations

import hashlib
import html
import importlib
import math
import numbers
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Question", "hash_answer", "check", "questions", "matches", "reset_attempts"]

KINDS = ("number", "choice", "choices", "text")
_SALT = "clientprotection/selfcheck/v1"
_HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Question:
    """One check-your-understanding question.

    Parameters
    ----------
    id
        ``"<module>.<name>"``, e.g. ``"m02.liv_band"``; the prefix before the dot names the
        question file ``clientprotection/selfcheck/m02.py``.
    kind
        ``"number"``, ``"choice"`` (one option such as ``"b"``), ``"choices"`` (a set of
        options, order does not matter) or ``"text"`` (compared after normalising case,
        spaces and surrounding punctuation).
    expected
        A salted hash from :func:`hash_answer`, or a function without arguments that computes
        the answer (typically from :func:`clientprotection.load_mfi`).
    hints
        Progressive hints: one more is shown on each wrong attempt.
    tolerance
        For numbers computed by a function: absolute tolerance.
    decimals
        For hashed numbers: answers are rounded to this many decimals before hashing.
    common_mistakes
        ``{hash_answer(wrong_answer, ...): targeted hint}`` for wrong answers worth a
        specific explanation (hashed like the expected answer, with the same ``decimals``).
    """

    id: str
    kind: str
    expected: str | Callable[[], object]
    hints: tuple[str, ...]
    tolerance: float = 0.0
    decimals: int | None = None
    common_mistakes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "." not in self.id:
            raise ValueError(
                f"question id {self.id!r} must look like 'm02.name': the part before the dot "
                "names the question file"
            )
        if self.kind not in KINDS:
            raise ValueError(
                f"question {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}"
            )
        if isinstance(self.expected, str):
            if not _HASH_PATTERN.match(self.expected):
                raise ValueError(
                    f"question {self.id!r}: expected must be a hash from hash_answer(...) or a "
                    "function computing the answer, never the answer in plain text"
                )
        elif not callable(self.expected):
            raise TypeError(f"question {self.id!r}: expected must be a hash string or a callable")
        if isinstance(self.hints, str) or not isinstance(self.hints, tuple):
            raise TypeError(f"question {self.id!r}: hints must be a tuple of strings")
        if self.tolerance < 0:
            raise ValueError(f"question {self.id!r}: tolerance must be >= 0")


# --- normalisation and hashing -------------------------------------------------------------


class AnswerFormatError(ValueError):
    """The answer cannot be read as the kind of answer the question asks for."""


def _normalise_option(value: object) -> str:
    text = str(value).strip().lower()
    return text.strip(" .)(")


def _as_number(value: object) -> float:
    if isinstance(value, bool):
        raise AnswerFormatError("give a number, not True/False")
    if isinstance(value, numbers.Real):
        number = float(value)
    elif hasattr(value, "item") and getattr(value, "size", 1) == 1:  # numpy / pandas scalar
        return _as_number(value.item())
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        if text.endswith("%"):
            raise AnswerFormatError("give a fraction (0.25), not a percentage string ('25%')")
        try:
            number = float(text)
        except ValueError as exc:
            raise AnswerFormatError(f"give a number, got the text {value!r}") from exc
    else:
        raise AnswerFormatError(f"give one number, got a {type(value).__name__}")
    if not math.isfinite(number):
        raise AnswerFormatError("give a finite number")
    return number


def _canonical(value: object, kind: str, decimals: int | None) -> str:
    """The normalised text form of an answer that hashing and comparison use."""
    if kind == "number":
        number = _as_number(value)
        if decimals is not None:
            if decimals < 0:
                raise ValueError("decimals must be 0 or more")
            text = f"{round(number, decimals):.{decimals}f}"
            return text.lstrip("-") if float(text) == 0 else text  # no "-0.00"
        return format(number, ".12g")
    if kind == "choice":
        if isinstance(value, (list, tuple, set, frozenset)):
            raise AnswerFormatError("give one option, e.g. \"b\"")
        return _normalise_option(value)
    if kind == "choices":
        if isinstance(value, str):
            items: Iterable[object] = [v for v in re.split(r"[,\s]+", value) if v]
        elif isinstance(value, Iterable):
            items = value
        else:
            raise AnswerFormatError('give a set of options, e.g. {"a", "c"}')
        return "|".join(sorted({_normalise_option(v) for v in items}))
    if kind == "text":
        if not isinstance(value, str):
            raise AnswerFormatError("give a text answer in quotes")
        return re.sub(r"\s+", " ", value).strip().strip(".!?;:'\"").strip().casefold()
    raise ValueError(f"unknown kind {kind!r}; use one of {KINDS}")


def hash_answer(value: object, *, kind: str = "text", decimals: int | None = None) -> str:
    """Salted SHA-256 of a normalised answer, to store in :class:`Question.expected`.

    Parameters
    ----------
    value
        The answer: a number, an option such as ``"b"``, a set of options or a text.
    kind
        ``"number"``, ``"choice"``, ``"choices"`` or ``"text"``.
    decimals
        For numbers: round to this many decimals first (use the same value in the Question).

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> hash_answer(0.754, kind="number", decimals=2) == hash_answer("0.75", kind="number",
    ...                                                               decimals=2)
    True
    >>> hash_answer({"a", "c"}, kind="choices") == hash_answer(["C", "a"], kind="choices")
    True
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    canonical = _canonical(value, kind, decimals)
    return hashlib.sha256(f"{_SALT}|{kind}|{canonical}".encode()).hexdigest()


# --- the question bank ---------------------------------------------------------------------


def questions(prefix: str) -> list[Question]:
    """The questions of one question file, e.g. ``questions("m02")``.

    Examples
    --------
    >>> [q.id for q in questions("m00")][:1]  # doctest: +SKIP
    ['m00.principles_2011']
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", prefix):
        raise ValueError(f"question file prefix must look like 'm02', got {prefix!r}")
    try:
        module = importlib.import_module(f"{__name__}.{prefix}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{prefix}":
            raise
        raise ValueError(
            f"there is no question file for {prefix!r} (expected clientprotection/selfcheck/"
            f"{prefix}.py defining QUESTIONS)"
        ) from exc
    bank = getattr(module, "QUESTIONS", None)
    if not isinstance(bank, list) or not all(isinstance(q, Question) for q in bank):
        raise TypeError(f"clientprotection.selfcheck.{prefix}.QUESTIONS must be a list[Question]")
    for question in bank:
        if question.id.split(".", 1)[0] != prefix:
            raise ValueError(f"question {question.id!r} is in the file for {prefix!r}")
    return list(bank)


def _find(question_id: str) -> Question:
    if not isinstance(question_id, str) or "." not in question_id:
        raise ValueError(f"question id must look like 'm02.liv_band', got {question_id!r}")
    prefix = question_id.split(".", 1)[0]
    bank = questions(prefix)
    for question in bank:
        if question.id == question_id:
            return question
    known = ", ".join(q.id for q in bank)
    raise ValueError(f"unknown question {question_id!r}; questions in {prefix}: {known}")


_expected_cache: dict[str, object] = {}


def _computed_expected(question: Question) -> object:
    if question.id not in _expected_cache:
        _expected_cache[question.id] = question.expected()  # type: ignore[operator]
    return _expected_cache[question.id]


def matches(question: Question, answer: object) -> bool:
    """True when ``answer`` is right for ``question`` (no feedback shown).

    Raises
    ------
    AnswerFormatError
        When the answer cannot be read as the question's kind (e.g. text for a number).
    """
    if isinstance(question.expected, str):
        return hash_answer(answer, kind=question.kind, decimals=question.decimals) == (
            question.expected
        )
    expected = _computed_expected(question)
    if question.kind == "number":
        given, wanted = _as_number(answer), _as_number(expected)
        return math.isclose(given, wanted, rel_tol=1e-9, abs_tol=max(question.tolerance, 1e-12))
    return _canonical(answer, question.kind, None) == _canonical(expected, question.kind, None)


def _mistake_hint(question: Question, answer: object) -> str | None:
    if question.common_mistakes:
        key = hash_answer(answer, kind=question.kind, decimals=question.decimals)
        if key in question.common_mistakes:
            return question.common_mistakes[key]
    if question.kind == "number" and callable(question.expected):
        given, wanted = _as_number(answer), _as_number(_computed_expected(question))
        tolerance = max(question.tolerance, 1e-12)
        if wanted != 0 and math.isclose(given, 100 * wanted, rel_tol=1e-9, abs_tol=100 * tolerance):
            return "This looks like a percentage: give the answer as a fraction (0.25 for 25%)."
    return None


# --- feedback ------------------------------------------------------------------------------

_attempts: dict[str, int] = {}


def reset_attempts(question_id: str | None = None) -> None:
    """Forget wrong attempts (all questions, or one), so hints start again from the first."""
    if question_id is None:
        _attempts.clear()
    else:
        _attempts.pop(question_id, None)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


_STYLES = {
    "correct": ("#e6f4ea", "#1e7e34", "Correct"),
    "wrong": ("#fdecea", "#b02a37", "Not yet"),
    "unanswered": ("#eef2f7", "#35506b", "No answer yet"),
    "format": ("#fff4e5", "#8a5300", "Check the form of your answer"),
}


def _show(status: str, question_id: str, lines: list[str]) -> None:
    background, colour, title = _STYLES[status]
    if _in_notebook():
        from IPython.display import HTML, display

        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        body = f"<ul style='margin:0.3em 0 0 1em'>{items}</ul>" if items else ""
        display(
            HTML(
                f"<div style='background:{background};border-left:4px solid {colour};"
                f"padding:0.5em 0.8em;margin:0.3em 0'><b style='color:{colour}'>{title}</b> "
                f"<span style='color:#555'>({html.escape(question_id)})</span>{body}</div>"
            )
        )
    else:
        print(f"{title} ({question_id})")
        for line in lines:
            print(f"  - {line}")


def check(question_id: str, answer: Any) -> bool:
    """Check an answer and show feedback: "correct", or the next hint.

    Parameters
    ----------
    question_id
        For example ``"m02.liv_band"``.
    answer
        The learner's answer; ``...`` or ``None`` means "not answered yet".

    Returns
    -------
    bool
        True when the answer is right. The expected answer is never shown.

    Examples
    --------
    >>> check("m00.principles_2011", ...)  # doctest: +SKIP
    No answer yet (m00.principles_2011)
      - Replace ... with your answer and run the cell again.
    False
    """
    question = _find(question_id)
    if answer is Ellipsis or answer is None:
        _show("unanswered", question.id, ["Replace ... with your answer and run the cell again."])
        return False
    try:
        correct = matches(question, answer)
    except AnswerFormatError as exc:
        _show("format", question.id, [f"This question needs a {question.kind} answer: {exc}."])
        return False
    if correct:
        _show("correct", question.id, ["Well done."])
        return True
    _attempts[question.id] = _attempts.get(question.id, 0) + 1
    lines: list[str] = []
    targeted = _mistake_hint(question, answer)
    if targeted:
        lines.append(targeted)
    shown = min(_attempts[question.id], len(question.hints))
    lines.extend(f"Hint {i + 1}: {hint}" for i, hint in enumerate(question.hints[:shown]))
    if not lines:
        lines.append("Try again.")
    _show("wrong", question.id, lines)
    return False
