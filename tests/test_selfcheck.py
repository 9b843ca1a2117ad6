"""Self-check questions: normalisation, hashing, feedback, and the question banks."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pandas as pd
import pytest

import clientprotection.selfcheck as selfcheck
from clientprotection.selfcheck import Question, check, hash_answer, matches, questions

# question files shipped with the course (others may appear; each is checked generically)
BANKS = sorted(p.stem for p in Path(selfcheck.__file__).parent.glob("m[0-9][0-9].py"))


@pytest.fixture(autouse=True)
def fresh_attempts():
    selfcheck.reset_attempts()
    yield
    selfcheck.reset_attempts()


# --- hashing and normalisation ---------------------------------------------------------------


def test_hash_is_salted_sha256():
    import hashlib

    plain = hashlib.sha256(b"7").hexdigest()
    hashed = hash_answer(7, kind="number", decimals=0)
    assert re.fullmatch(r"[0-9a-f]{64}", hashed) and hashed != plain


@pytest.mark.parametrize(
    ("a", "b", "kind", "decimals"),
    [
        (0.754, "0.75", "number", 2),
        (0.7549, 0.75, "number", 2),
        (7, 7.0, "number", 0),
        (-0.0001, 0, "number", 2),  # no "-0.00"
        ("B", " b) ", "choice", None),
        ({"a", "c"}, ["C", "a", "a"], "choices", None),
        ({"a", "c"}, "a, c", "choices", None),
        ("  B03 ", "b03.", "text", None),
        ("Fixed  Salary", "fixed salary", "text", None),
    ],
)
def test_equivalent_answers_hash_alike(a, b, kind, decimals):
    assert hash_answer(a, kind=kind, decimals=decimals) == hash_answer(
        b, kind=kind, decimals=decimals
    )


@pytest.mark.parametrize(
    ("a", "b", "kind", "decimals"),
    [
        (0.75, 0.76, "number", 2),
        ("a", "b", "choice", None),
        ({"a"}, {"a", "c"}, "choices", None),
        ("b03", "b30", "text", None),
    ],
)
def test_different_answers_hash_apart(a, b, kind, decimals):
    assert hash_answer(a, kind=kind, decimals=decimals) != hash_answer(
        b, kind=kind, decimals=decimals
    )


def test_numpy_and_pandas_scalars_are_numbers():
    import numpy as np

    q = Question("m99.x", "number", hash_answer(0.25, kind="number", decimals=2), ("h",),
                 decimals=2)
    assert matches(q, np.float64(0.25)) and matches(q, pd.Series([0.25]).mean())


def test_question_refuses_plain_text_answers():
    with pytest.raises(ValueError, match="never the answer in plain text"):
        Question("m99.x", "text", "b03", ("h",))
    with pytest.raises(ValueError, match="kind must be one of"):
        Question("m99.x", "essay", hash_answer("x"), ("h",))
    with pytest.raises(ValueError, match="must look like"):
        Question("nodot", "text", hash_answer("x"), ("h",))
    with pytest.raises(TypeError, match="hints must be a tuple"):
        Question("m99.x", "text", hash_answer("x"), "one hint")  # type: ignore[arg-type]


# --- feedback --------------------------------------------------------------------------------


@pytest.fixture
def bank(monkeypatch):
    """A small question file m99 registered in place of a real one."""
    computed = 0.4321
    fixed = Question(
        "m99.fixed", "number", hash_answer(6000, kind="number", decimals=0),
        ("first hint", "second hint", "third hint"), decimals=0,
        common_mistakes={hash_answer(9000, kind="number", decimals=0): "that is 75%, not 50%"},
    )
    data = Question("m99.data", "number", lambda: computed, ("use the loans table",),
                    tolerance=0.001)
    choice = Question("m99.choice", "choice", hash_answer("c", kind="choice"), ("look again",))
    real = selfcheck.questions
    monkeypatch.setattr(
        selfcheck, "questions", lambda p: [fixed, data, choice] if p == "m99" else real(p)
    )
    return computed


def test_correct_answer(bank, capsys):
    assert check("m99.fixed", 6000) is True
    out = capsys.readouterr().out
    assert out.startswith("Correct")


def test_hints_are_progressive_and_answer_never_shown(bank, capsys):
    assert check("m99.fixed", 5000) is False
    first = capsys.readouterr().out
    assert "first hint" in first and "second hint" not in first
    check("m99.fixed", 5000)
    second = capsys.readouterr().out
    assert "first hint" in second and "second hint" in second and "third" not in second
    for _ in range(5):
        check("m99.fixed", 5000)
    last = capsys.readouterr().out
    assert "third hint" in last
    assert "6000" not in first + second + last


def test_common_mistake_gets_its_own_hint(bank, capsys):
    check("m99.fixed", 9000)
    assert "that is 75%, not 50%" in capsys.readouterr().out


def test_computed_answer_with_tolerance(bank, capsys):
    assert check("m99.data", bank + 0.0009) is True
    assert check("m99.data", bank + 0.002) is False
    out = capsys.readouterr().out
    assert str(bank) not in out and "0.43" not in out


def test_percentage_instead_of_fraction_is_pointed_out(bank, capsys):
    assert check("m99.data", bank * 100) is False
    assert "percentage" in capsys.readouterr().out


@pytest.mark.parametrize("placeholder", [..., None])
def test_unanswered(bank, capsys, placeholder):
    assert check("m99.choice", placeholder) is False
    assert "No answer yet" in capsys.readouterr().out


def test_wrong_form_of_answer(bank, capsys):
    assert check("m99.fixed", "a lot") is False
    assert "number" in capsys.readouterr().out
    assert check("m99.choice", ["a", "b"]) is False
    assert "one option" in capsys.readouterr().out


def test_unknown_question_lists_the_known_ones(bank):
    with pytest.raises(ValueError, match="m99.fixed"):
        check("m99.nope", 1)
    with pytest.raises(ValueError, match="no question file"):
        questions("m98")


def test_html_feedback_in_jupyter(bank, monkeypatch):
    shown = []
    monkeypatch.setattr(selfcheck, "_in_notebook", lambda: True)
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    check("m99.choice", "a")
    html = shown[-1].data
    assert "Not yet" in html and "look again" in html and "<div" in html


# --- the question banks shipped with the course ----------------------------------------------


@pytest.mark.parametrize("prefix", BANKS)
def test_bank_is_well_formed(prefix):
    bank = questions(prefix)
    assert len(bank) >= 4
    ids = [q.id for q in bank]
    assert len(ids) == len(set(ids))
    kinds = {q.kind for q in bank}
    assert len(kinds) >= 2, "mix question kinds"
    for q in bank:
        assert q.hints and all(isinstance(h, str) and h for h in q.hints)
        assert q.id.startswith(f"{prefix}.")


@pytest.mark.parametrize("prefix", BANKS)
def test_bank_file_holds_no_answer_in_plain_text(prefix):
    source = inspect.getsource(__import__(f"clientprotection.selfcheck.{prefix}",
                                          fromlist=["QUESTIONS"]))
    assert "hash_answer(" not in source, "store the hash, not hash_answer(<answer>)"


# Fixed answers, checked here against the sources the module cites (DOMAIN.md).
FIXED_ANSWERS = {
    # Smart Campaign, Client Protection Principles (2011 revision): seven principles
    "m00.principles_2011": 7,
    # 2008 list: over-indebtedness, pricing, collections, staff, grievances, privacy;
    # product design and delivery was split out in 2011 (option c)
    "m00.new_in_2011": "c",
    # CFI: Smart Certification retired in 2020, last awards by 30 April 2021
    "m00.certification_retired": 2020,
    # Cerise+SPTF Universal Standards, Dimension 4 "Client Protection"
    "m00.dimension": 4,
    # net income 400, instalments 340: DSR 0.85, Liv (2013) at risk (option b)
    "m02.liv_band": "b",
    # RBI 2022: repayments at most 50% of monthly household income of 12,000
    "m02.rbi_cap": 6000,
    # CFI: multiple borrowing is not over-indebtedness; 40% is solvent by Liv (option a)
    "m02.multiple_vs_over": "a",
    # SEEP MFRS: whole balance of late loans (a) and restructured loans (c)
    "m02.par_numerator": {"a", "c"},
}


@pytest.mark.parametrize("question_id", sorted(FIXED_ANSWERS))
def test_fixed_answers_are_accepted(question_id):
    question = selfcheck._find(question_id)
    assert matches(question, FIXED_ANSWERS[question_id])


# --- answers computed from the data, checked against an independent computation --------------


@pytest.fixture(scope="module")
def mfi():
    from clientprotection import load_mfi

    return load_mfi()


def test_m00_computed_answers(mfi):
    clients = mfi["clients"]
    women = clients["gender"].astype(str).eq("female").sum() / len(clients)
    assert matches(selfcheck._find("m00.women_share"), women)
    assert matches(selfcheck._find("m00.personal_data"), {"a", "c", "e"})


def test_m02_computed_answers(mfi):
    loans, branches = mfi["loans"], mfi["branches"]
    dsr = loans["dsr_at_approval"].dropna().to_numpy()
    assert matches(selfcheck._find("m02.share_insolvent"), (dsr > 1.0).sum() / dsr.size)
    volume = branches.loc[branches["incentive_scheme"].astype(str) == "disbursement_volume"]
    branch = volume["branch_id"].iloc[0]
    assert matches(selfcheck._find("m02.volume_branch"), branch.lower())
    mine = loans[(loans["branch_id"] == branch) & (loans["status"].astype(str) == "active")]
    risky = mine["days_late"].gt(30) | mine["restructured"].astype(bool)
    par30 = mine.loc[risky, "outstanding"].sum() / mine["outstanding"].sum()
    assert matches(selfcheck._find("m02.volume_branch_par30"), par30)


# --- verify: the visible checks of the graded exercises ---------------------------------------


def test_verify_is_silent_when_right(bank, capsys):
    assert selfcheck.verify("m99.fixed", 6000) is None
    assert selfcheck.verify("m99.data", bank + 0.0009) is None
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verify_raises_with_progressive_hints_and_never_the_answer(bank, capsys):
    with pytest.raises(AssertionError) as first:
        selfcheck.verify("m99.fixed", 5000)
    message = str(first.value)
    assert "fixed is not right yet (m99.fixed)" in message
    assert "first hint" in message and "second hint" not in message
    with pytest.raises(AssertionError) as second:
        selfcheck.verify("m99.fixed", 5000)
    assert "second hint" in str(second.value)
    with pytest.raises(AssertionError, match="that is 75%, not 50%"):
        selfcheck.verify("m99.fixed", 9000)
    with pytest.raises(AssertionError) as computed:
        selfcheck.verify("m99.data", bank + 0.01)
    for shown in (message, str(second.value), str(computed.value)):
        assert "6000" not in shown and "0.43" not in shown
    out = capsys.readouterr()
    assert out.out == "" and out.err == "", "verify shows nothing: the error carries the hint"


def test_verify_does_not_count_on_the_learner_assertion_error(bank):
    # a learner who rebinds the name in the notebook does not change what verify raises
    fake = type("AssertionError", (Exception,), {})
    with pytest.raises(AssertionError) as raised:
        selfcheck.verify("m99.fixed", 5000)
    assert type(raised.value) is AssertionError and not isinstance(raised.value, fake)


@pytest.mark.parametrize("placeholder", [..., None])
def test_verify_unanswered(bank, placeholder):
    with pytest.raises(AssertionError, match="no answer yet"):
        selfcheck.verify("m99.choice", placeholder)


def test_verify_wrong_form(bank):
    with pytest.raises(AssertionError, match="needs a number answer"):
        selfcheck.verify("m99.fixed", "a lot")
    with pytest.raises(AssertionError, match="percentage"):
        selfcheck.verify("m99.data", bank * 100)


# --- answers that are Series or lists, and answers that depend on earlier answers ------------


@pytest.fixture
def table_bank(monkeypatch):
    """Questions on a small table: a Series, a list of flows, and an answer built on another."""
    shares = {"B01": 0.25, "B02": 0.5, "B03": 0.125}
    by_branch = Question(
        "m99.by_branch", "series", lambda: pd.Series(shares), ("group by branch_id",),
        tolerance=1e-9,
        computed_mistakes=((lambda: {k: 2 * v for k, v in shares.items()},
                            "these are doubled"),),
    )
    flows = Question("m99.flows", "numbers", lambda: [950.0, -520.0, -520.0], ("price it",),
                     tolerance=0.01)
    calls = []

    def eir_from(apr):
        calls.append(apr)
        return (1 + apr / 12) ** 12 - 1

    eir = Question("m99.eir", "number", eir_from, ("compound it",), tolerance=1e-6,
                   depends_on=("apr",),
                   computed_mistakes=((lambda apr: apr, "that is the APR"),))
    real = selfcheck.questions
    monkeypatch.setattr(
        selfcheck, "questions", lambda p: [by_branch, flows, eir] if p == "m99" else real(p)
    )
    return shares, calls


def test_series_answers_compare_by_label(table_bank):
    shares, _ = table_bank
    question = selfcheck._find("m99.by_branch")
    reordered = pd.Series(shares).iloc[::-1]
    assert matches(question, reordered)
    assert matches(question, dict(shares))
    categorical = pd.Series(list(shares.values()),
                            index=pd.CategoricalIndex(list(shares), name="branch_id"))
    assert matches(question, categorical)
    assert not matches(question, pd.Series({**shares, "B02": 0.51}))
    assert not matches(question, pd.Series({"B01": 0.25, "B02": 0.5}))  # a branch missing


def test_series_feedback_names_the_rows_to_look_at_not_the_values(table_bank):
    shares, _ = table_bank
    with pytest.raises(AssertionError) as partly:
        selfcheck.verify("m99.by_branch", pd.Series({**shares, "B02": 0.4}))
    assert "2 of 3 rows" in str(partly.value) and "B02" in str(partly.value)
    assert "0.5" not in str(partly.value)
    with pytest.raises(AssertionError, match="missing B03"):
        selfcheck.verify("m99.by_branch", pd.Series({"B01": 0.25, "B02": 0.5}))
    with pytest.raises(AssertionError, match="these are doubled"):
        selfcheck.verify("m99.by_branch", pd.Series({k: 2 * v for k, v in shares.items()}))
    with pytest.raises(AssertionError, match="percentage"):
        selfcheck.verify("m99.by_branch", pd.Series({k: 100 * v for k, v in shares.items()}))
    with pytest.raises(AssertionError, match="needs a series answer"):
        selfcheck.verify("m99.by_branch", [0.25, 0.5, 0.125])
    with pytest.raises(AssertionError, match="'B02' is not usable"):
        selfcheck.verify("m99.by_branch", pd.Series({**shares, "B02": float("nan")}))


def test_series_answers_can_be_hashed():
    counts = pd.Series({"solvent": 10, "at_risk": 3})
    stored = hash_answer(counts, kind="series", decimals=0)
    question = Question("m99.counts", "series", stored, ("count them",), decimals=0)
    assert matches(question, {"at_risk": 3.0, "solvent": 10})
    assert not matches(question, {"at_risk": 4, "solvent": 9})


def test_lists_of_numbers_compare_in_order(table_bank):
    import numpy as np

    question = selfcheck._find("m99.flows")
    assert matches(question, np.array([950.004, -520.0, -520.0]))
    assert matches(question, (950, -520, -520))
    assert not matches(question, [-520.0, 950.0, -520.0])
    assert not matches(question, [950.0, -520.0])
    with pytest.raises(AssertionError, match="needs a numbers answer"):
        selfcheck.verify("m99.flows", "950, -520")


def test_answer_checked_against_the_learners_earlier_answer(table_bank):
    import numpy as np

    _, calls = table_bank
    own_apr = 0.3
    own_eir = (1 + own_apr / 12) ** 12 - 1  # what a right method gives from a (wrong) APR
    assert selfcheck.verify("m99.eir", own_eir, apr=own_apr) is None
    assert selfcheck.verify("m99.eir", own_eir, apr=np.float64(own_apr)) is None
    assert calls == [own_apr], "computed once per earlier answer, then cached"
    with pytest.raises(AssertionError, match="that is the APR"):
        selfcheck.verify("m99.eir", own_apr, apr=own_apr)
    with pytest.raises(TypeError, match="apr=..."):
        selfcheck.verify("m99.eir", own_eir)
    with pytest.raises(TypeError, match="does not depend"):
        selfcheck.verify("m99.flows", [950.0], apr=0.3)


def test_dependent_answers_must_be_computed():
    with pytest.raises(ValueError, match="computed by a function"):
        Question("m99.x", "number", hash_answer(1, kind="number"), ("h",), depends_on=("a",))
    with pytest.raises(TypeError, match="computed_mistakes"):
        Question("m99.x", "number", lambda: 1, ("h",), computed_mistakes=("oops",))


# --- the questions behind the exercises' visible checks --------------------------------------

EXERCISE_BANKS = {"m02_exercise": "m02-over-indebtedness", "m03_exercise": "m03-transparency"}
REPO = Path(__file__).resolve().parents[1]


def _exercise_notebook(prefix: str):
    import nbformat

    assignment = EXERCISE_BANKS[prefix]
    return nbformat.read(REPO / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def _grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


VERIFY_CALL = re.compile(r'verify\(\s*"(?P<id>[a-z0-9_]+\.[a-z0-9_]+)",\s*(?P<answer>\w+)'
                         r'(?P<given>(?:,\s*\w+=\w+)*)\s*\)')


def _visible_checks(prefix: str) -> dict[str, tuple[str, str, dict[str, str]]]:
    """``{question id: (test cell grade id, answer variable, {keyword: earlier variable})}``."""
    found = {}
    for cell in _exercise_notebook(prefix).cells:
        if cell.cell_type != "code" or "### BEGIN HIDDEN TESTS" not in cell.source:
            continue
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        for call in VERIFY_CALL.finditer(visible):
            given = dict(
                part.strip().split("=") for part in call["given"].split(",") if part.strip()
            )
            found[call["id"]] = (_grade_id(cell), call["answer"], given)
    return found


def _without_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def _solved_namespace(prefix: str, replaced: dict[str, str] | None = None) -> dict:
    """The namespace after the setup cell and every solution cell (or its replacement) ran."""
    import contextlib
    import io

    replaced = replaced or {}
    namespace: dict = {}
    for cell in _exercise_notebook(prefix).cells:
        gid = _grade_id(cell)
        if cell.cell_type == "code" and (gid.endswith("_setup") or gid.endswith("_answer")):
            source = replaced.get(gid, _without_markers(cell.source))
            with contextlib.redirect_stdout(io.StringIO()):
                exec(source, namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def solved():
    """The exercises' namespaces with every answer right (the source solutions)."""
    return {prefix: _solved_namespace(prefix) for prefix in EXERCISE_BANKS}


def _verify(namespace: dict, question_id: str, variable: str, given: dict[str, str]) -> None:
    selfcheck.verify(question_id, namespace[variable],
                     **{key: namespace[name] for key, name in given.items()})


@pytest.mark.parametrize("prefix", sorted(EXERCISE_BANKS))
def test_every_exercise_question_is_checked_in_a_visible_test(prefix):
    bank = {q.id for q in questions(prefix)}
    checks = _visible_checks(prefix)
    assert set(checks) == bank, "one visible verify(...) per question, before the hidden tests"
    for question in questions(prefix):
        _, variable, given = checks[question.id]
        assert question.id == f"{prefix}.{variable}", "question names follow the answer names"
        assert set(given) == set(question.depends_on)
        assert question.hints and all(isinstance(h, str) and h for h in question.hints)
        assert callable(question.expected), "computed from the data, never stored"


@pytest.mark.parametrize("prefix", sorted(EXERCISE_BANKS))
def test_exercise_notebook_holds_no_answer_in_plain_text(prefix, solved):
    text = "\n".join(
        cell.source.split("### BEGIN HIDDEN TESTS")[0]
        for cell in _exercise_notebook(prefix).cells
        # solution cells (code and written) are replaced by a stub in the student version
        if not cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    )
    for question in questions(prefix):
        _, variable, given = _visible_checks(prefix)[question.id]
        for shown in _forms_of(solved[prefix][variable]):
            assert shown not in text, f"{question.id}: {shown!r} in the notebook"


@pytest.mark.parametrize(
    "question_id",
    sorted(f"{p}.{q.id.split('.', 1)[1]}" for p in EXERCISE_BANKS for q in questions(p)),
)
def test_exercise_solution_passes_its_visible_check(question_id, solved):
    prefix = question_id.split(".", 1)[0]
    _, variable, given = _visible_checks(prefix)[question_id]
    _verify(solved[prefix], question_id, variable, given)


def _forms_of(value) -> set[str]:
    """Ways a message could give a value away (three significant digits or more)."""
    import numpy as np

    if isinstance(value, str):
        return {value, value.lower()}
    if isinstance(value, pd.Series):
        return set().union(*(_forms_of(v) for v in value.to_numpy()))
    if isinstance(value, (list, tuple, np.ndarray)):
        return set().union(*(_forms_of(v) for v in value))
    number = float(value)
    if number == int(number):
        return {str(int(number)), f"{int(number):,}"} if abs(number) >= 100 else set()
    forms = {f"{number:.3f}", f"{number:.4f}", repr(number), f"{100 * number:.1f}"}
    return {form for form in forms if len(form.strip("-0.")) >= 3}


def _wrong_answers(prefix: str) -> list[tuple[str, dict[str, str]]]:
    """``(name, {grade id: source})`` of plausible wrong answers: the contract cases, and more."""
    from exercise_cases import load_cases

    cases = [(name, edits) for name, edits, _ in load_cases(prefix[:3]).WRONG_ANSWERS]
    return cases + EXTRA_WRONG_ANSWERS[prefix]


EXTRA_WRONG_ANSWERS = {
    "m02_exercise": [
        ("insolvent share for part 1", {
            "m02_share_over_75_answer":
                'share_over_75 = float((loans["dsr_at_approval"] > 1.0).mean())\n'}),
        ("another branch", {
            "m02_volume_branch_answer":
                'volume_branch = str(branches.loc[branches["incentive_scheme"] != '
                '"disbursement_volume", "branch_id"].iloc[0])\n'}),
        ("bands as shares", {
            "m02_liv_bands_answer":
                "band_counts = indebtedness.liv_band(loans['dsr_at_approval']).value_counts("
                "normalize=True).reindex(['solvent', 'at_risk', 'insolvent'])\n"}),
    ],
    "m03_exercise": [
        ("flat computed declining", {
            "m03_flat_declining_answer":
                'interest_flat = float(pricing.schedule(1500, 20, 52, 0.18, method="declining")'
                '["interest"].sum())\n'
                "interest_declining = interest_flat\n"}),
        ("highest advertised product as easy_id", {
            "m03_net_disbursed_answer":
                'easy = products.loc[products["advertised_rate_monthly"].idxmax()]\n'
                'easy_id = str(easy["product_id"])\n'
                'net_disbursed = 1000 * (1 - easy["upfront_fee"] - easy["insurance"]'
                ' - easy["compulsory_savings"])\n'}),
        ("loans with a kfs counted", {
            "m03_kfs_share_answer":
                'given = loans.loc[loans["product_id"] == largest_gap_product, '
                '"key_facts_given"]\n'
                "kfs_share = float(given.mean())\n"
                "loans_without_kfs = int(given.sum())\n"}),
    ],
}


def _assigned_names(sources: dict[str, str]) -> set[str]:
    import ast

    return {
        node.id
        for source in sources.values()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


@pytest.mark.parametrize(
    ("prefix", "name"),
    [(p, name) for p in sorted(EXERCISE_BANKS) for name, _ in _wrong_answers(p)],
)
def test_exercise_wrong_value_fails_with_a_hint_and_not_the_answer(prefix, name, solved):
    edits = dict(_wrong_answers(prefix))[name]
    right = solved[prefix]
    wrong = _solved_namespace(prefix, edits)  # later answers recomputed from the wrong ones
    changed = _assigned_names(edits)
    failed = []
    for question_id, (_, variable, given) in _visible_checks(prefix).items():
        try:
            _verify(wrong, question_id, variable, given)
        except AssertionError as error:
            message = str(error)
            failed.append(variable)
            assert "Hint 1:" in message and f"({question_id})" in message, message
            leaked = [form for form in _forms_of(right[variable]) if form in message]
            assert not leaked, f"{question_id} shows the answer: {leaked}"
    assert failed, f"{name}: no visible check noticed the wrong value"
    if name not in dict(EXTRA_WRONG_ANSWERS[prefix]):
        # as in the contract cases: an answer built on a wrong earlier answer (the EIR on the
        # APR, the Key Facts on the product) is checked against it, not charged twice
        assert set(failed) <= changed, f"{name}: checks of untouched answers failed: {failed}"


def test_exercise_answers_match_an_independent_computation(mfi):
    """The expected values against plain numpy re-computations (as the hidden tests do)."""
    import numpy as np
    import numpy_financial as npf

    def expected(question_id, **given):
        return selfcheck._computed_expected(selfcheck._find(question_id), given)

    loans, applications, products = mfi["loans"], mfi["applications"], mfi["products"]
    dsr = loans["dsr_at_approval"].to_numpy(dtype=float)
    assert expected("m02_exercise.share_over_75") == pytest.approx((dsr > 0.75).mean())
    bands = expected("m02_exercise.band_counts")
    assert [bands["solvent"], bands["at_risk"], bands["insolvent"]] == [
        (dsr <= 0.75).sum(), ((dsr > 0.75) & (dsr <= 1.0)).sum(), (dsr > 1.0).sum()]
    approved = applications[applications["decision"].astype(str) == "approved"]
    ids = approved["branch_id"].astype(str).to_numpy()
    checked = approved["bureau_checked"].to_numpy(dtype=float)
    shares = expected("m02_exercise.bureau_checked_share").rename(index=str)
    for branch in np.unique(ids):
        assert shares[branch] == pytest.approx(checked[ids == branch].mean())
    bad = ((loans["days_late"].to_numpy() > 30) | loans["restructured"].to_numpy(dtype=bool)
           | loans["written_off"].to_numpy(dtype=bool))
    assert expected("m02_exercise.bad_rate_above") == pytest.approx(bad[dsr > 0.75].mean())
    assert expected("m02_exercise.bad_rate_below") == pytest.approx(bad[dsr <= 0.75].mean())

    # part 1 of m03: flat interest = P x r x t; declining = n x annuity payment - P
    weekly = 0.18 / 52
    assert expected("m03_exercise.interest_flat") == pytest.approx(1500 * 0.18 * 20 / 52)
    assert expected("m03_exercise.interest_declining") == pytest.approx(
        20 * 1500 * weekly / (1 - (1 + weekly) ** -20) - 1500)
    easy = products.loc[products["advertised_rate_monthly"].astype(float).idxmin()]
    assert expected("m03_exercise.easy_id") == str(easy["product_id"])
    net = 1000 * (1 - easy["upfront_fee"] - easy["insurance"] - easy["compulsory_savings"])
    assert expected("m03_exercise.net_disbursed") == pytest.approx(float(net))
    flows = expected("m03_exercise.easy_flows")
    assert len(flows) == int(easy["max_term"]) + 1 and flows[0] == pytest.approx(float(net))
    per_year = int(easy["periods_per_year"])
    assert expected("m03_exercise.easy_apr") == pytest.approx(
        npf.irr(flows) * per_year, abs=1e-6)
    assert expected("m03_exercise.easy_eir", apr=0.5) == pytest.approx(
        (1 + 0.5 / per_year) ** per_year - 1)
    mine = loans["product_id"].astype(str).to_numpy() == "P1"
    given = loans["key_facts_given"].to_numpy(dtype=bool)
    assert expected("m03_exercise.kfs_share", product_id="P1") == pytest.approx(
        given[mine].mean())
    assert expected("m03_exercise.loans_without_kfs", product_id="P1") == (~given[mine]).sum()
