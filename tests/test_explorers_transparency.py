"""The loan-cost explorer of module 03: hand-computed cases, the pricing engine, the real data."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clientprotection import pricing
from clientprotection.explorers.transparency import (
    COMPONENTS,
    FREQUENCIES,
    SUMMARY_KEYS,
    cost_buildup,
    loan_cost_summary,
    product_costs,
    readout_text,
)


def _two_payment_rate(received: float, first: float, second: float) -> float:
    """Periodic rate r solving received = first v + second v**2, v = 1 / (1 + r), by hand
    (quadratic formula), for checks that do not use any solver."""
    a, b, c = second, first, -received
    v = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return 1 / v - 1


# --- hand-computed cases ----------------------------------------------------------------------


def test_mftransparency_one_percent_a_month():
    # MFTransparency interest rate formulas: a monthly rate of 1% is an APR of 12% and an EIR
    # of 12.68% (http://www.mftransparency.org/resources/mftransparency-interest-rate-formulas/).
    summary = loan_cost_summary(1000, 12, "monthly", "declining", 0.12)
    assert summary["apr"] == pytest.approx(0.12, abs=1e-9)
    assert summary["eir"] == pytest.approx(1.01**12 - 1, abs=1e-9)
    assert round(summary["eir"], 4) == 0.1268


def test_rbi_key_facts_illustration_instalment():
    # RBI Key Facts Statement illustration (microfinance directions 2022, Annex): Rs 100,000 at
    # 12% a year on the reducing balance for 12 months is an instalment of Rs 8,885
    # (https://rbi.org.in/Scripts/BS_ViewMasDirections.aspx?id=12256).
    summary = loan_cost_summary(100_000, 12, "monthly", "declining", 0.12)
    assert round(summary["instalment"]) == 8885
    assert summary["net_disbursed"] == 100_000


def test_flat_versus_declining_interest_hand_computed():
    # 1,000 over 12 monthly instalments at 24% a year.
    # Flat: 1,000 x 24% x 12/12 = 240 of interest, instalment 1000/12 + 20 = 103.33.
    # Declining: 2% a month, annuity 1000 x 0.02 / (1 - 1.02**-12) = 94.5596, interest 134.72.
    flat = loan_cost_summary(1000, 12, "monthly", "flat", 0.24)
    declining = loan_cost_summary(1000, 12, "monthly", "declining", 0.24)
    assert flat["total_interest"] == pytest.approx(240.0)
    assert flat["instalment"] == pytest.approx(103.3333, abs=1e-4)
    assert declining["instalment"] == pytest.approx(94.5596, abs=1e-4)
    assert declining["total_interest"] == pytest.approx(134.7152, abs=1e-4)
    assert declining["apr"] == pytest.approx(0.24, abs=1e-9)
    # The flat loan's APR from an independent solver (numpy-financial's rate).
    assert flat["apr"] == pytest.approx(12 * npf.rate(12, -1000 / 12 - 20, 1000, 0), abs=1e-7)
    assert flat["apr"] > 1.7 * declining["apr"]  # "roughly doubles" (CGD, DOMAIN.md)


def test_fee_on_a_two_instalment_loan():
    # 1,000 at 0% with a 10% fee, two monthly instalments of 500: the client gets 900.
    summary = loan_cost_summary(1000, 2, "monthly", "declining", 0.0, upfront_fee=0.10)
    expected = 12 * _two_payment_rate(900, 500, 500)
    assert summary["net_disbursed"] == pytest.approx(900)
    assert summary["apr"] == pytest.approx(expected, abs=1e-9)
    assert summary["total_fees"] == pytest.approx(100)
    assert summary["total_cost"] == pytest.approx(100)


def test_compulsory_savings_raise_the_apr_but_cost_no_money():
    # Same loan plus 10% savings withheld and returned with the last instalment:
    # flows 800, -500, -400. The money cost is unchanged (the savings come back), the APR rises.
    with_fee = loan_cost_summary(1000, 2, "monthly", "declining", 0.0, upfront_fee=0.10)
    both = loan_cost_summary(1000, 2, "monthly", "declining", 0.0, upfront_fee=0.10,
                             compulsory_savings=0.10)
    assert both["net_disbursed"] == pytest.approx(800)
    assert both["apr"] == pytest.approx(12 * _two_payment_rate(800, 500, 400), abs=1e-9)
    assert both["total_cost"] == pytest.approx(with_fee["total_cost"])
    assert both["savings_effect"] == pytest.approx(both["apr"] - with_fee["apr"], abs=1e-12)
    assert both["savings_effect"] > 0.1


def test_savings_alone_at_zero_interest_cost_nothing():
    # 1,000 at 0%, 10% savings: flows 900, -500, -400 balance exactly: a rate of zero.
    summary = loan_cost_summary(1000, 2, "monthly", "declining", 0.0, compulsory_savings=0.10)
    assert summary["apr"] == pytest.approx(0.0, abs=1e-12)
    assert summary["total_cost"] == pytest.approx(0.0)


def test_balloon_loan_hand_computed():
    # Balloon: interest every month on the whole principal, principal at the end. At 24% a year
    # that is 2% a month on a constant balance, so the APR is exactly 24%, flat or declining.
    for method in ("flat", "declining"):
        summary = loan_cost_summary(1000, 3, "balloon", method, 0.24)
        assert summary["apr"] == pytest.approx(0.24, abs=1e-9)
        assert summary["instalment"] == pytest.approx(20.0)
        assert summary["total_interest"] == pytest.approx(60.0)
    # With 1% insurance the client gets 990 and pays 20, 20, 1020 (numpy-financial's IRR).
    insured = loan_cost_summary(1000, 3, "balloon", "declining", 0.24, insurance=0.01)
    assert insured["apr"] == pytest.approx(12 * npf.irr([990, -20, -20, -1020]), abs=1e-9)


def test_fee_per_payment_tax_and_savings_interest_money():
    # 1,200 flat 12% monthly over 12: interest 144, tax 10% of it 14.4; fees 1% upfront (12)
    # and 0.5% per instalment (6 x 12 = 72); savings 10% (120) earning 5% a year for a year: 6.
    summary = loan_cost_summary(1200, 12, "monthly", "flat", 0.12, upfront_fee=0.01,
                                compulsory_savings=0.10, fee_per_payment=0.005,
                                savings_interest=0.05, tax_on_interest=0.10)
    assert summary["total_interest"] == pytest.approx(144)
    assert summary["total_tax"] == pytest.approx(14.4)
    assert summary["total_fees"] == pytest.approx(84)
    assert summary["savings_withheld"] == pytest.approx(120)
    assert summary["savings_interest"] == pytest.approx(6)
    assert summary["total_cost"] == pytest.approx(144 + 14.4 + 84 - 6)
    assert summary["instalment"] == pytest.approx(100 + 12 * 1.1 + 6)
    assert summary["net_disbursed"] == pytest.approx(1200 - 12 - 120)


# --- agreement with the pricing engine --------------------------------------------------------

loan_terms = st.fixed_dictionaries(
    {
        "amount": st.floats(50, 20_000),
        "term": st.integers(1, 60),
        "frequency": st.sampled_from(["weekly", "fortnightly", "monthly"]),
        "method": st.sampled_from(["flat", "declining"]),
        "rate": st.floats(0, 0.9),
        "upfront_fee": st.floats(0, 0.1),
        "insurance": st.floats(0, 0.05),
        "compulsory_savings": st.floats(0, 0.3),
        "fee_per_payment": st.floats(0, 0.01),
        "savings_interest": st.floats(0, 0.1),
        "tax_on_interest": st.floats(0, 0.2),
    }
)


def _client_pays_interest(terms: dict) -> bool:
    """The savings earn less than the loan charges: the client pays back more than she gets.

    (When the savings earn more than the loan costs the rate is negative, a case the course
    never meets and the solver may call ambiguous.)
    """
    return terms["compulsory_savings"] * terms["savings_interest"] < terms["rate"] / 2 or (
        terms["savings_interest"] == 0
    )


@settings(max_examples=60, deadline=None)
@given(loan_terms)
def test_summary_agrees_with_pricing_engine(terms):
    assume(_client_pays_interest(terms))
    summary = loan_cost_summary(**terms)
    assert set(summary) == set(SUMMARY_KEYS)
    ppy = FREQUENCIES[terms["frequency"]]
    flows = pricing.loan_flows(
        terms["amount"], terms["term"], ppy, terms["rate"], method=terms["method"],
        upfront_fee=terms["upfront_fee"], fee_per_payment=terms["fee_per_payment"],
        insurance=terms["insurance"], compulsory_savings=terms["compulsory_savings"],
        savings_interest=terms["savings_interest"], tax_on_interest=terms["tax_on_interest"],
    )
    assert summary["net_disbursed"] == pytest.approx(flows[0])
    # the money cost is what the client pays beyond what she receives, over the loan
    assert summary["total_cost"] == pytest.approx(-flows.sum(), abs=1e-6 * terms["amount"])
    if flows.sum() != 0:
        assert summary["apr"] == pytest.approx(pricing.apr(flows, ppy), abs=1e-9)
        assert summary["eir"] == pytest.approx(pricing.eir(flows, ppy), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(loan_terms)
def test_buildup_components_add_up_to_the_totals(terms):
    assume(_client_pays_interest(terms))
    parts = cost_buildup(**terms)
    summary = loan_cost_summary(**terms)
    assert list(parts.index) == list(COMPONENTS)
    assert parts["apr_points"].sum() == pytest.approx(summary["apr"], abs=1e-9)
    assert parts["money"].sum() == pytest.approx(summary["total_cost"], abs=1e-9 * terms["amount"])
    assert parts.loc["compulsory savings", "apr_points"] == pytest.approx(
        summary["savings_effect"], abs=1e-12
    )
    # every charge makes the loan dearer (savings interest aside, which the client earns)
    assert (parts["apr_points"].drop("compulsory savings") >= -1e-9).all()


def test_buildup_first_row_is_the_interest_alone():
    parts = cost_buildup(1000, 26, "weekly", "flat", 0.18, 0.05, 0.03, 0.20)
    alone = loan_cost_summary(1000, 26, "weekly", "flat", 0.18)
    assert parts.loc["interest", "apr_points"] == pytest.approx(alone["apr"])
    assert parts.loc["tax on interest"].tolist() == [0.0, 0.0]
    assert parts.loc["fees", "money"] == pytest.approx(50)
    assert parts.loc["insurance", "money"] == pytest.approx(30)


@settings(max_examples=40, deadline=None)
@given(loan_terms, st.sampled_from(["upfront_fee", "insurance", "compulsory_savings"]),
       st.floats(0.01, 0.2))
def test_apr_rises_with_every_deduction(terms, charge, extra):
    higher = dict(terms, **{charge: terms[charge] + extra})
    assume(_client_pays_interest(higher))
    if charge == "compulsory_savings":
        # savings that earn more than the loan charges would lower the price: never seen
        assume(terms["savings_interest"] < terms["rate"])
    assert loan_cost_summary(**higher)["apr"] > loan_cost_summary(**terms)["apr"] - 1e-12


# --- the product table ------------------------------------------------------------------------


@pytest.fixture
def products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": ["A", "B", "C"],
            "name": ["Plain", "Easy", "Harvest"],
            "frequency": ["monthly", "weekly", "balloon"],
            "periods_per_year": [12, 52, 12],
            "interest_method": ["declining", "flat", "declining"],
            "rate_yearly": [0.24, 0.18, 0.30],
            "upfront_fee": [0.0, 0.05, 0.0],
            "fee_per_payment": [0.0, 0.0, 0.0],
            "insurance": [0.0, 0.03, 0.01],
            "compulsory_savings": [0.0, 0.20, 0.0],
            "savings_interest": [0.0, 0.0, 0.0],
            "tax_on_interest": [0.0, 0.0, 0.0],
            "min_term": [6, 16, 3],
            "max_term": [18, 26, 9],
            "advertised_rate_monthly": [0.02, 0.015, 0.025],
        }
    )


def test_product_costs_hand_checked(products):
    table = product_costs(products)
    assert table.index.tolist() == ["B", "C", "A"]  # largest gap first
    assert table.loc["A", "term"] == 12 and table.loc["B", "term"] == 21
    # A: declining 24% without charges, advertised 2% a month: no gap at all
    assert table.loc["A", "apr"] == pytest.approx(0.24, abs=1e-9)
    assert table.loc["A", "gap"] == pytest.approx(0.0, abs=1e-9)
    # C: balloon at 30% (2.5% a month) with 1% insurance, 6 months: the client gets 990 and
    # pays 25 five times, then 1,025 (numpy-financial's IRR)
    assert table.loc["C", "apr"] == pytest.approx(12 * npf.irr([990] + [-25] * 5 + [-1025]))
    assert 0 < table.loc["C", "gap"] < table.loc["B", "gap"]
    assert table.loc["B", "advertised_yearly"] == pytest.approx(0.18)
    expected_b = loan_cost_summary(1000, 21, "weekly", "flat", 0.18, 0.05, 0.03, 0.20)["apr"]
    assert table.loc["B", "apr"] == pytest.approx(expected_b, abs=1e-9)
    assert table.loc["B", "ratio"] == pytest.approx(expected_b / 0.18)
    assert table.loc["B", "eir"] > table.loc["B", "apr"]


def test_product_costs_takes_the_median_term_of_the_loans(products):
    loans = pd.DataFrame({"product_id": ["B", "B", "B", "A"], "term": [16, 16, 26, 12]})
    table = product_costs(products, loans)
    assert table.loc["B", "term"] == 16
    assert table.loc["C", "term"] == 6  # no loans: the middle of 3..9
    shorter = loan_cost_summary(1000, 16, "weekly", "flat", 0.18, 0.05, 0.03, 0.20)["apr"]
    assert table.loc["B", "apr"] == pytest.approx(shorter, abs=1e-9)


def test_product_costs_at_the_longest_term(products):
    loans = pd.DataFrame({"product_id": ["B", "B", "B", "A"], "term": [16, 16, 26, 12]})
    table = product_costs(products, loans, term="max")
    assert table["term"].to_dict() == {"A": 18, "B": 26, "C": 9}
    longest = loan_cost_summary(1000, 26, "weekly", "flat", 0.18, 0.05, 0.03, 0.20)["apr"]
    assert table.loc["B", "apr"] == pytest.approx(longest, abs=1e-9)
    with pytest.raises(ValueError, match="term"):
        product_costs(products, term="median")


def test_product_costs_rejects_a_wrong_table(products):
    with pytest.raises(ValueError, match="advertised_rate_monthly"):
        product_costs(products.drop(columns="advertised_rate_monthly"))
    with pytest.raises(TypeError, match="DataFrame"):
        product_costs(products.to_dict())
    with pytest.raises(ValueError, match="frequencies"):
        product_costs(products.assign(frequency=["daily", "weekly", "monthly"]))


# --- readout and bad input --------------------------------------------------------------------


def test_readout_starts_with_the_apr():
    summary = loan_cost_summary(1000, 26, "weekly", "flat", 0.18, 0.05, 0.03, 0.20)
    text = readout_text(summary, "KLD")
    assert text.startswith(f"APR {summary['apr']:.1%} · EIR ")
    assert "total cost 170 KLD" in text
    assert readout_text(summary).count("KLD") == 0


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"frequency": "daily"}, ValueError, "frequency"),
        ({"method": "reducing"}, ValueError, "method"),
        ({"rate": -0.1}, ValueError, "rate"),
        ({"term": 0}, ValueError, "term"),
        ({"term": 2.5}, ValueError, "term"),
        ({"amount": 0}, ValueError, "amount"),
        ({"rate": "18%"}, TypeError, "rate"),
        ({"upfront_fee": 0.5, "compulsory_savings": 0.5}, ValueError, "receive nothing"),
        ({"insurance": True}, TypeError, "insurance"),
    ],
)
def test_bad_input_says_what_to_fix(change, error, message):
    terms = dict(amount=1000, term=12, frequency="monthly", method="flat", rate=0.2)
    with pytest.raises(error, match=message):
        loan_cost_summary(**{**terms, **change})


# --- the course's MFI -------------------------------------------------------------------------


def test_planted_product_has_the_largest_gap(mfi):
    key = mfi.answer_key()
    table = product_costs(mfi["products"], mfi["loans"])
    planted = _planted_product(key)
    assert table.index[0] == planted
    assert table.loc[planted, "apr"] > 3 * table.loc[planted, "advertised_yearly"]
    # every other product's true price is nearer its advertisement
    others = table.drop(index=planted)
    assert (others["gap"] < table.loc[planted, "gap"]).all()
    # the generator's own computation (on rounded instalments) agrees within a rate point
    problem = next(v for v in _walk(key) if isinstance(v, dict) and v.get("principle") == 3
                   and "true_apr" in v)
    assert table.loc[planted, "apr"] == pytest.approx(problem["true_apr"], abs=0.01)


def test_planted_product_often_lacks_a_key_facts_statement(mfi):
    planted = _planted_product(mfi.answer_key())
    loans = mfi["loans"]
    given_share = loans.groupby("product_id", observed=True)["key_facts_given"].mean()
    assert given_share.idxmin() == planted
    assert given_share[planted] < given_share.drop(index=planted).min() - 0.2


def _planted_product(key: dict) -> str:
    """The product of the planted transparency problem in the answer key."""
    found = [v for v in _walk(key) if isinstance(v, dict) and v.get("principle") == 3
             and ("product_id" in v or "product" in v)]
    assert found, "the answer key names no transparency product"
    return str(found[0].get("product_id", found[0].get("product")))


def _walk(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def test_frequencies_cover_the_products_table():
    from clientprotection.schema import TABLES

    described = next(f for f in TABLES["products"].fields if f.name == "frequency").description
    for name in FREQUENCIES:
        assert f"'{name}'" in described
    assert np.array_equal(sorted(set(FREQUENCIES.values())), [12, 26, 52])


# --- the module's self-check answers ----------------------------------------------------------

# Fixed answers of clientprotection.selfcheck.m03, each checked against its source.
M03_FIXED_ANSWERS = {
    # 1,000 x 24% x 12/12 months, flat (CGD "Reflections on transparency": flat interest is on
    # the original amount for the whole term)
    "m03.flat_interest": 240,
    # MFTransparency interest rate formulas: EIR = (1 + 0.02) ** 12 - 1 = 0.2682
    "m03.eir_from_monthly": 0.2682,
    # MFTransparency glossary: anything that reduces the money available is a cost (option b)
    "m03.savings_raise_apr": "b",
    # RBI 2022 directions: interest, fees and third-party charges; not contingent penalties
    "m03.apr_includes": {"a", "b", "c"},
}


@pytest.mark.parametrize("question_id", sorted(M03_FIXED_ANSWERS))
def test_m03_fixed_answers_are_accepted(question_id):
    from clientprotection.selfcheck import _find, matches

    assert matches(_find(question_id), M03_FIXED_ANSWERS[question_id])


def test_m03_fixed_answers_match_the_explorer():
    # the self-check's numbers agree with the library's own computation
    flat = loan_cost_summary(1000, 12, "monthly", "flat", 0.24)
    assert flat["total_interest"] == pytest.approx(M03_FIXED_ANSWERS["m03.flat_interest"])
    two_percent = loan_cost_summary(1000, 12, "monthly", "declining", 0.24)
    assert round(two_percent["eir"], 4) == M03_FIXED_ANSWERS["m03.eir_from_monthly"]
    with_savings = loan_cost_summary(1000, 12, "monthly", "flat", 0.24, compulsory_savings=0.2)
    assert with_savings["apr"] > flat["apr"]


def test_m03_computed_answers(mfi):
    from clientprotection.selfcheck import _find, matches

    planted = _planted_product(mfi.answer_key())
    assert matches(_find("m03.largest_gap"), planted.lower())
    loans = mfi["loans"]
    mine = loans["product_id"].astype(str).to_numpy() == planted
    given = loans["key_facts_given"].to_numpy(dtype=bool)
    assert matches(_find("m03.key_facts_share"), (given & mine).sum() / mine.sum())
    assert not matches(_find("m03.key_facts_share"), 100 * (given & mine).sum() / mine.sum())
