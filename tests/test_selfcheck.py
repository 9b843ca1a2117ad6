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
