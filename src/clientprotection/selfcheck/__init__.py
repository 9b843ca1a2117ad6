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

Graded exercises use :func:`verify` in their visible test cells: it returns silently when the
answer is right and raises ``AssertionError`` with the current hint when it is not, so that
nbgrader's Validate button gives the same feedback to a learner studying alone. Their questions
live in ``clientprotection/selfcheck/mNN_exercise.py``.

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
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Question",
    "hash_answer",
    "check",
    "verify",
    "questions",
    "matches",
    "reset_attempts",
]

KINDS = ("number", "choice", "choices", "text", "series", "numbers")
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
        options, order does not matter), ``"text"`` (compared after normalising case,
        spaces and surrounding punctuation), ``"series"`` (one number per label, e.g. a
        pandas Series indexed by ``branch_id``; labels compared as text, order does not
        matter) or ``"numbers"`` (a sequence of numbers, in order).
    expected
        A salted hash from :func:`hash_answer`, or a function that computes the answer
        (typically from :func:`clientprotection.load_mfi`). The function takes no arguments,
        or the keyword arguments named in ``depends_on``.
    hints
        Progressive hints: one more is shown on each wrong attempt.
    tolerance
        For numbers computed by a function: absolute tolerance (per value for ``"series"``
        and ``"numbers"``).
    decimals
        For hashed numbers: answers are rounded to this many decimals before hashing.
    common_mistakes
        ``{hash_answer(wrong_answer, ...): targeted hint}`` for wrong answers worth a
        specific explanation (hashed like the expected answer, with the same ``decimals``).
    computed_mistakes
        ``((function, targeted hint), ...)`` for wrong answers that depend on the data: each
        function computes a plausible wrong answer like ``expected`` does (same arguments),
        and an answer matching it gets the hint.
    depends_on
        Names of earlier answers the expected value depends on (e.g. ``("apr",)`` for an EIR
        computed from the learner's own APR, so one mistake is not charged twice). They are
        passed by keyword to :func:`check`, :func:`verify` and :func:`matches`, and on to
        ``expected`` and the ``computed_mistakes`` functions.
    """

    id: str
    kind: str
    expected: str | Callable[..., object]
    hints: tuple[str, ...]
    tolerance: float = 0.0
    decimals: int | None = None
    common_mistakes: dict[str, str] = field(default_factory=dict)
    computed_mistakes: tuple[tuple[Callable[..., object], str], ...] = ()
    depends_on: tuple[str, ...] = ()

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
        if not isinstance(self.computed_mistakes, tuple) or not all(
            isinstance(m, tuple) and len(m) == 2 and callable(m[0]) and isinstance(m[1], str)
            for m in self.computed_mistakes
        ):
            raise TypeError(
                f"question {self.id!r}: computed_mistakes must be a tuple of "
                "(function, hint) pairs"
            )
        if isinstance(self.depends_on, str) or not isinstance(self.depends_on, tuple):
            raise TypeError(f"question {self.id!r}: depends_on must be a tuple of names")
        if self.depends_on and not callable(self.expected):
            raise ValueError(
                f"question {self.id!r}: an answer that depends on earlier answers must be "
                "computed by a function, not hashed"
            )


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


def _as_labelled_numbers(value: object) -> dict[str, float]:
    """``{label as text: number}`` from a pandas Series or a mapping."""
    if hasattr(value, "index") and hasattr(value, "to_numpy") and getattr(value, "ndim", 0) == 1:
        labels, values = list(value.index), list(value.to_numpy())  # a pandas Series
    elif isinstance(value, Mapping):
        labels, values = list(value.keys()), list(value.values())
    else:
        raise AnswerFormatError(
            f"give a pandas Series (one number per label), got a {type(value).__name__}"
        )
    out: dict[str, float] = {}
    for label, item in zip(labels, values, strict=True):
        key = str(label)
        if key in out:
            raise AnswerFormatError(f"the label {key!r} appears twice; give one row per label")
        try:
            out[key] = _as_number(item)
        except AnswerFormatError as exc:
            raise AnswerFormatError(f"the value for {key!r} is not usable: {exc}") from None
    return out


def _as_numbers(value: object) -> list[float]:
    """A list of numbers from a list, tuple, numpy array or pandas Series."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise AnswerFormatError(f"give a list of numbers, got a {type(value).__name__}")
    if getattr(value, "ndim", 1) != 1:
        raise AnswerFormatError("give a flat list of numbers (one dimension)")
    out = []
    for position, item in enumerate(value):
        try:
            out.append(_as_number(item))
        except AnswerFormatError as exc:
            raise AnswerFormatError(f"value number {position} is not usable: {exc}") from None
    return out


def _canonical(value: object, kind: str, decimals: int | None) -> str:
    """The normalised text form of an answer that hashing and comparison use."""
    if kind == "series":
        labelled = _as_labelled_numbers(value)
        return "|".join(
            f"{label}={_canonical(labelled[label], 'number', decimals)}"
            for label in sorted(labelled)
        )
    if kind == "numbers":
        return "|".join(_canonical(v, "number", decimals) for v in _as_numbers(value))
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


# computed answers (and computed mistakes), once per question and earlier answers per kernel
_expected_cache: dict[Hashable, object] = {}


def _checked_given(question: Question, given: dict[str, object]) -> dict[str, object]:
    if set(given) != set(question.depends_on):
        if question.depends_on:
            needed = ", ".join(f"{name}=..." for name in question.depends_on)
            raise TypeError(
                f"question {question.id!r} depends on earlier answers: pass them as {needed}"
            )
        raise TypeError(
            f"question {question.id!r} does not depend on earlier answers; got "
            f"{', '.join(sorted(given))}"
        )
    # numpy and pandas scalars become plain Python values, so they key the cache alike
    return {
        name: value.item() if hasattr(value, "item") and getattr(value, "size", 0) == 1
        else value
        for name, value in given.items()
    }


def _cached(key: tuple[object, ...], compute: Callable[[], object]) -> object:
    try:
        hash(key)
    except TypeError:  # an unhashable earlier answer: compute without caching
        return compute()
    if key not in _expected_cache:
        _expected_cache[key] = compute()
    return _expected_cache[key]


def _computed_expected(question: Question, given: dict[str, object] | None = None) -> object:
    given = given or {}
    key = (question.id, "expected", tuple(sorted(given.items())))
    return _cached(key, lambda: question.expected(**given))  # type: ignore[operator]


def _same(question: Question, answer: object, wanted: object) -> bool:
    """``answer`` equals the computed ``wanted`` within the question's tolerance."""
    tolerance = max(question.tolerance, 1e-12)

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=tolerance)

    if question.kind == "number":
        return close(_as_number(answer), _as_number(wanted))
    if question.kind == "series":
        got, want = _as_labelled_numbers(answer), _as_labelled_numbers(wanted)
        return set(got) == set(want) and all(close(got[k], want[k]) for k in want)
    if question.kind == "numbers":
        got_list, want_list = _as_numbers(answer), _as_numbers(wanted)
        return len(got_list) == len(want_list) and all(
            close(a, b) for a, b in zip(got_list, want_list, strict=True)
        )
    return _canonical(answer, question.kind, None) == _canonical(wanted, question.kind, None)


def matches(question: Question, answer: object, **given: object) -> bool:
    """True when ``answer`` is right for ``question`` (no feedback shown).

    Parameters
    ----------
    question
        The question.
    answer
        The learner's answer.
    **given
        The earlier answers named in ``question.depends_on``.

    Raises
    ------
    AnswerFormatError
        When the answer cannot be read as the question's kind (e.g. text for a number).

    Examples
    --------
    >>> q = Question("m00.demo", "series", lambda: {"B01": 0.5, "B02": 0.25}, ("h",))
    >>> import pandas as pd
    >>> matches(q, pd.Series({"B02": 0.25, "B01": 0.5}))
    True
    >>> matches(q, pd.Series({"B01": 0.5, "B02": 0.3}))
    False
    """
    given = _checked_given(question, given)
    if isinstance(question.expected, str):
        return hash_answer(answer, kind=question.kind, decimals=question.decimals) == (
            question.expected
        )
    return _same(question, answer, _computed_expected(question, given))


_PERCENTAGE_HINT = "This looks like a percentage: give the answer as a fraction (0.25 for 25%)."


def _looks_like_percentage(question: Question, answer: object, wanted: object) -> bool:
    tolerance = 100 * max(question.tolerance, 1e-12)

    def hundredfold(a: float, b: float) -> bool:
        return b != 0 and math.isclose(a, 100 * b, rel_tol=1e-9, abs_tol=tolerance)

    if question.kind == "number":
        return hundredfold(_as_number(answer), _as_number(wanted))
    if question.kind == "series":
        got, want = _as_labelled_numbers(answer), _as_labelled_numbers(wanted)
        return set(got) == set(want) and any(want.values()) and all(
            hundredfold(got[k], want[k]) or got[k] == want[k] == 0 for k in want
        )
    return False


def _partly_right(question: Question, answer: object, wanted: object) -> str | None:
    """For a series right on some labels only: which labels to look at again."""
    if question.kind != "series":
        return None
    got, want = _as_labelled_numbers(answer), _as_labelled_numbers(wanted)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"not expected: {', '.join(extra)}")
        return "The index is not the expected one: " + "; ".join(parts) + "."
    tolerance = max(question.tolerance, 1e-12)
    wrong = [
        k for k in sorted(want)
        if not math.isclose(got[k], want[k], rel_tol=1e-9, abs_tol=tolerance)
    ]
    if 0 < len(wrong) < len(want):
        return (
            f"Right for {len(want) - len(wrong)} of {len(want)} rows; look again at "
            f"{', '.join(wrong)}."
        )
    return None


def _mistake_hints(question: Question, answer: object, given: dict[str, object]) -> list[str]:
    """Targeted hints for a wrong answer (never the expected answer itself)."""
    if question.common_mistakes:
        key = hash_answer(answer, kind=question.kind, decimals=question.decimals)
        if key in question.common_mistakes:
            return [question.common_mistakes[key]]
    if not callable(question.expected):
        return []
    for position, (mistake, hint) in enumerate(question.computed_mistakes):
        key = (question.id, "mistake", position, tuple(sorted(given.items())))
        wrong = _cached(key, lambda mistake=mistake: mistake(**given))
        if _same(question, answer, wrong):
            return [hint]
    wanted = _computed_expected(question, given)
    if _looks_like_percentage(question, answer, wanted):
        return [_PERCENTAGE_HINT]
    partly = _partly_right(question, answer, wanted)
    return [partly] if partly else []


def _feedback_for_wrong(question: Question, answer: object, given: dict[str, object]) -> list[str]:
    """Count a wrong attempt; the targeted hint and the progressive hints to show."""
    _attempts[question.id] = _attempts.get(question.id, 0) + 1
    lines = _mistake_hints(question, answer, given)
    shown = min(_attempts[question.id], len(question.hints))
    lines.extend(f"Hint {i + 1}: {hint}" for i, hint in enumerate(question.hints[:shown]))
    return lines or ["Try again."]


# --- feedback ------------------------------------------------------------------------------

_attempts: dict[str, int] = {}


def reset_attempts(question_id: str | None = None) -> None:
    """Forget wrong attempts (all questions, or one), so hints start again from the first.

    Examples
    --------
    >>> reset_attempts()              # every question starts again from its first hint
    >>> reset_attempts("m02.liv_band")
    """
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


def check(question_id: str, answer: Any, **given: Any) -> bool:
    """Check an answer and show feedback: "correct", or the next hint.

    Parameters
    ----------
    question_id
        For example ``"m02.liv_band"``.
    answer
        The learner's answer; ``...`` or ``None`` means "not answered yet".
    **given
        The earlier answers the question depends on (see ``Question.depends_on``).

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
    given = _checked_given(question, given)
    if answer is Ellipsis or answer is None:
        _show("unanswered", question.id, ["Replace ... with your answer and run the cell again."])
        return False
    try:
        correct = matches(question, answer, **given)
    except AnswerFormatError as exc:
        _show("format", question.id, [f"This question needs a {question.kind} answer: {exc}."])
        return False
    if correct:
        _show("correct", question.id, ["Well done."])
        return True
    _show("wrong", question.id, _feedback_for_wrong(question, answer, given))
    return False


def verify(question_id: str, answer: Any, **given: Any) -> None:
    """Check an answer in a test cell: silent when right, ``AssertionError`` with a hint if not.

    Made for the visible checks of graded exercises: nbgrader's Validate button (and the
    grader) treat the error as a failed check and show its message, which names the question
    and gives the current hint (one more on each wrong attempt in the same kernel), never the
    expected answer. Nothing is displayed or printed.

    Parameters
    ----------
    question_id
        For example ``"m02_exercise.share_over_75"``.
    answer
        The learner's answer.
    **given
        The earlier answers the question depends on (see ``Question.depends_on``), e.g.
        ``verify("m03_exercise.easy_eir", easy_eir, apr=easy_apr)``.

    Raises
    ------
    AssertionError
        When the answer is missing, of the wrong form, or wrong.

    Examples
    --------
    >>> verify("m02_exercise.share_over_75", 0.5)  # doctest: +SKIP
    Traceback (most recent call last):
    AssertionError: share_over_75 is not right yet (m02_exercise.share_over_75).
      Hint 1: ...
    """
    question = _find(question_id)
    given = _checked_given(question, given)
    name = question.id.split(".", 1)[1]
    if answer is Ellipsis or answer is None:
        raise AssertionError(f"{name} has no answer yet ({question.id}): give your answer.")
    try:
        correct = matches(question, answer, **given)
    except AnswerFormatError as exc:
        raise AssertionError(
            f"{name} needs a {question.kind} answer ({question.id}): {exc}."
        ) from None
    if correct:
        return
    lines = _feedback_for_wrong(question, answer, given)
    raise AssertionError(
        f"{name} is not right yet ({question.id}).\n" + "\n".join(f"  {line}" for line in lines)
    )
