"""Tests of clientprotection.pricing against published worked examples and re-computation."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientprotection import pricing

# --------------------------------------------------------------------------------------------
# Published worked examples
# --------------------------------------------------------------------------------------------


def test_mftransparency_one_percent_a_month():
    # MFTransparency, "MFTransparency Interest Rate Formulas" (2012): a periodic rate of 1% a
    # month is an APR of 12% and an EIR of 12.68%.
    # http://www.mftransparency.org/resources/mftransparency-interest-rate-formulas/
    flows = pricing.loan_flows(1000, 12, 12, 0.12)
    assert pricing.periodic_rate(flows) == pytest.approx(0.01, abs=1e-12)
    assert round(pricing.apr(flows, 12), 4) == 0.12
    assert round(pricing.eir(flows, 12), 4) == 0.1268


def test_rbi_key_facts_statement_illustration():
    # RBI circular "Key Facts Statement (KFS) for Loans & Advances" (RBI/2024-25/18,
    # DOR.STR.REC.13/13.03.00/2024-25, 15 April 2024; it harmonises the KFS of paragraph 6 of
    # the Master Direction "Regulatory Framework for Microfinance Loans", 14 March 2022), Annex B
    # "Illustration for computation of APR for Retail and MSME loans": Rs 1,00,000 sanctioned,
    # 12% on reducing balance, 12 monthly EMIs of Rs 8,885, total interest Rs 6,620, fees and
    # charges Rs 3,000, net disbursed Rs 97,000, total paid Rs 1,06,620; APR computed on the net
    # disbursed amount with the IRR approach and reducing balance method.
    # Copy of the circular: https://www.scribd.com/document/731916741/CIRCULARKFS1504242AE2500BAF494C2A82442B0B642705C1
    # The APR figure printed in Annex B could not be read from a stored copy of the circular
    # (only its first page is available), so it is not pinned here: the APR is re-computed
    # independently from the illustration's amounts with numpy_financial instead.
    facts = pricing.key_facts(100_000, 12, 12, 0.12, upfront_fee=0.02, insurance=0.01,
                              currency="INR")
    assert round(facts.first_instalment) == 8885
    assert facts.net_disbursed == 97_000
    assert facts.upfront_fee + facts.insurance == 3_000
    rounded_emi = round(facts.first_instalment)
    assert 12 * rounded_emi - 100_000 == 6_620
    assert 12 * rounded_emi == 106_620
    # The disclosed APR uses the rounded EMI; re-computed independently with numpy_financial.
    rounded_flows = [97_000] + [-rounded_emi] * 12
    expected = npf.irr(rounded_flows) * 12
    assert pricing.apr(rounded_flows, 12) == pytest.approx(expected, abs=1e-10)
    assert round(expected, 4) == 0.1783
    # Unrounded engine and rounded disclosure differ by less than 0.01 percentage point.
    assert abs(facts.apr - expected) < 1e-4


def test_eu_directive_first_example_single_repayment():
    # Directive 98/7/EC amending 87/102/EEC, Annex III "Examples of calculation", first
    # example (the method kept by 2008/48/EC Annex I): 1,000 lent on 1 January 1994, 1,200
    # repaid on 1 July 1995 (546 days): 12.96%.
    # https://parlementairemonitor.nl/9353000/1/j4nvirkkkr58fyw_j9tvgajcor7dxyk_j9vvij5epmj1ey0/vi8rm2xukhzg
    rate = pricing.xirr([(date(1994, 1, 1), 1000), (date(1995, 7, 1), -1200)])
    assert round(rate * 100, 2) == 12.96


def test_eu_directive_second_example_charge_withheld():
    # Same Annex III, second example: the creditor keeps 50 of the 1,000 for administrative
    # costs, so 950 are lent against the same 1,200 after 546 days. Closed form of Annex I.
    rate = pricing.xirr([(date(1994, 1, 1), 950), (date(1995, 7, 1), -1200)])
    assert rate == pytest.approx((1200 / 950) ** (365 / 546) - 1, abs=1e-12)


def test_xirr_matches_annex_i_equation_with_many_flows():
    # 2008/48/EC Annex I: sum C_k (1+X)^-t_k = sum D_l (1+X)^-s_l, t in years of 365 days.
    start = date(2023, 3, 15)
    flows = [(start, 2000.0)] + [(start + timedelta(days=30 * k + k % 3), -190.0)
                                 for k in range(1, 13)]
    rate = pricing.xirr(flows)
    present_value = sum(a * (1 + rate) ** (-(d - start).days / 365) for d, a in flows)
    assert present_value == pytest.approx(0, abs=1e-8)
    frame = pd.DataFrame(flows, columns=["date", "amount"]).iloc[::-1]
    assert pricing.xirr(frame) == pytest.approx(rate, abs=1e-12)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


def _monthly(first: date, count: int, step: int = 1) -> list[date]:
    return [_add_months(first, step * k) for k in range(count)]


def _weekly(first: date, count: int, weeks: int = 1) -> list[date]:
    return [first + timedelta(days=7 * weeks * k) for k in range(count)]


def _semimonthly(first: date, count: int) -> list[date]:  # 1st and 16th of each month
    days, day = [], first
    while len(days) < count:
        days.append(day)
        day = day.replace(day=16) if day.day == 1 else _add_months(day.replace(day=1), 1)
    return days


# 12 CFR 1026 (Regulation Z), Appendix J, paragraph (c) "Examples for the actuarial method"
# (the same examples as 12 CFR 226 Appendix J): for each example, the amount financed, the
# date of the advance, the payment schedule (amounts and dates), the unit-period and the APR
# the appendix states, keyed by paragraph.
# https://www.consumerfinance.gov/rules-policy/regulations/1026/J/
# http://www.law.cornell.edu/cfr/text/12/part-226/appendix-J
# (c)(1) single advance, odd first period or not, otherwise regular; (c)(2) odd first
# payment; (c)(3) odd final payment; (c)(4) odd first and final payments; (c)(5) single
# advance, single payment.
REG_Z_EXAMPLES = {
    "(c)(1)(i) monthly, regular first period": (
        5000, date(1978, 1, 10), [(d, 230) for d in _monthly(date(1978, 2, 10), 24)],
        "month", 9.69),
    "(c)(1)(ii) monthly, long first period": (
        6000, date(1978, 2, 10), [(d, 200) for d in _monthly(date(1978, 4, 1), 36)],
        "month", 11.82),
    "(c)(1)(iii) semimonthly, short first period": (
        5000, date(1978, 2, 23), [(d, 219.17) for d in _semimonthly(date(1978, 3, 1), 24)],
        "semimonth", 10.34),
    "(c)(1)(iv) quarterly, long first period": (
        10000, date(1978, 5, 23), [(d, 385) for d in _monthly(date(1978, 10, 1), 40, 3)],
        "quarter", 8.97),
    "(c)(1)(v) weekly, long first period": (
        500, date(1978, 3, 20), [(d, 17.60) for d in _weekly(date(1978, 4, 21), 30)],
        "week", 14.96),
    "(c)(2)(i) monthly, irregular first payment": (
        5000, date(1978, 1, 10),
        [(date(1978, 2, 10), 250)] + [(d, 230) for d in _monthly(date(1978, 3, 10), 23)],
        "month", 10.08),
    "(c)(2)(ii) every 4 weeks, long first period, irregular first payment": (
        400, date(1978, 3, 18),
        [(date(1978, 4, 20), 39.50)] + [(d, 38.31) for d in _weekly(date(1978, 5, 18), 11, 4)],
        "4 weeks", 28.50),
    "(c)(3)(i) monthly, irregular final payment": (
        5000, date(1978, 1, 10),
        [(d, 230) for d in _monthly(date(1978, 2, 10), 23)] + [(date(1980, 1, 10), 280)],
        "month", 10.50),
    "(c)(3)(ii) every 2 weeks, short first period, irregular final payment": (
        200, date(1978, 4, 3),
        [(d, 9.50) for d in _weekly(date(1978, 4, 11), 19, 2)]
        + [(date(1978, 4, 11) + timedelta(days=14 * 19), 30)],
        "biweek", 12.22),
    "(c)(4)(i) monthly, irregular first and final payments": (
        5000, date(1978, 1, 10),
        [(date(1978, 2, 10), 250)] + [(d, 230) for d in _monthly(date(1978, 3, 10), 22)]
        + [(date(1980, 1, 10), 280)],
        "month", 10.90),
    "(c)(4)(ii) every 2 months, short first period, irregular first and final payments": (
        8000, date(1978, 1, 10),
        [(date(1978, 3, 1), 449.36)] + [(d, 465) for d in _monthly(date(1978, 5, 1), 18, 2)]
        + [(date(1981, 5, 1), 200)],
        "2 months", 7.30),
    "(c)(5)(i) single advance, single payment, term in days": (
        1000, date(1978, 1, 3), [(date(1978, 9, 15), 1080)], "month", 11.45),
    # (c)(5)(ii)-(iv) state the term, not the dates, and the rate depends on the term only
    # ((b)(5)(v)-(vi)); the dates below start on 3 January 1978.
    "(c)(5)(ii) single advance, single payment, term of 6 months": (
        1000, date(1978, 1, 3), [(date(1978, 7, 3), 1044)], "month", 8.80),
    "(c)(5)(iii) single advance, single payment, term of 18 months, unit-period a year": (
        1000, date(1978, 1, 3), [(date(1979, 7, 3), 1135.19)], "year", 8.76),
    "(c)(5)(iv) single advance, single payment, term of 2 years": (
        1000, date(1978, 1, 3), [(date(1980, 1, 3), 1240)], "year", 11.36),
}

# Appendix J (c) also prints, for each example, the "first period (t)" (whole unit-periods)
# and the "odd days (f)" (fraction of a unit-period) of the first payment; later payments are
# one unit-period apart. These test the counting rules of (b)(5) on their own.
REG_Z_PRINTED_FIRST_PERIOD = {
    "(c)(1)(i) monthly, regular first period": (1, 0),
    "(c)(1)(ii) monthly, long first period": (1, 19 / 30),
    "(c)(1)(iii) semimonthly, short first period": (0, 6 / 15),
    "(c)(1)(iv) quarterly, long first period": (1, 39 / 90),
    "(c)(1)(v) weekly, long first period": (4, 4 / 7),
    "(c)(2)(i) monthly, irregular first payment": (1, 0),
    "(c)(2)(ii) every 4 weeks, long first period, irregular first payment": (1, 5 / 28),
    "(c)(3)(i) monthly, irregular final payment": (1, 0),
    "(c)(3)(ii) every 2 weeks, short first period, irregular final payment": (0, 8 / 14),
    "(c)(4)(i) monthly, irregular first and final payments": (1, 0),
    "(c)(4)(ii) every 2 months, short first period, irregular first and final payments": (
        0, 52 / 60),
}
UNIT_PERIODS_PER_YEAR = {"month": 12, "semimonth": 24, "quarter": 4, "week": 52, "4 weeks": 13,
                         "biweek": 26, "2 months": 6}


@pytest.mark.parametrize("name", sorted(REG_Z_EXAMPLES))
def test_regulation_z_appendix_j_examples(name):
    advance, advanced_on, payments, unit, stated_apr = REG_Z_EXAMPLES[name]
    flows = [(advanced_on, advance)] + [(day, -amount) for day, amount in payments]
    assert round(pricing.apr_us_actuarial(flows, unit) * 100, 2) == stated_apr


def _bisect(function, lo, hi):
    for _ in range(200):
        middle = (lo + hi) / 2
        if np.sign(function(middle)) == np.sign(function(lo)):
            lo = middle
        else:
            hi = middle
    return (lo + hi) / 2


def _general_equation_apr(amounts, whole, fraction, per_year):
    # Appendix J (b)(8): sum A_j / ((1 + f_j i) (1 + i) ** t_j) = 0, APR = i x unit-periods.
    def equation(i):
        return sum(a / ((1 + f * i) * (1 + i) ** t)
                   for a, t, f in zip(amounts, whole, fraction, strict=True))

    return _bisect(equation, 1e-9, 1.0) * per_year


@pytest.mark.parametrize("name", sorted(REG_Z_PRINTED_FIRST_PERIOD))
def test_regulation_z_unit_periods_match_the_printed_examples(name):
    advance, advanced_on, payments, unit, _ = REG_Z_EXAMPLES[name]
    first_period, odd_fraction = REG_Z_PRINTED_FIRST_PERIOD[name]
    amounts = [advance] + [-amount for _, amount in payments]
    whole = [0] + [first_period + k for k in range(len(payments))]
    fraction = [0.0] + [odd_fraction] * len(payments)
    expected = _general_equation_apr(amounts, whole, fraction, UNIT_PERIODS_PER_YEAR[unit])
    flows = [(advanced_on, advance)] + [(day, -amount) for day, amount in payments]
    assert pricing.apr_us_actuarial(flows, unit) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize(
    ("advanced_on", "payment_days"),
    [
        # A series on the 30th: 28 February, then the 30th of every month, 30-day months too.
        (date(2023, 1, 30), [date(2023, 2, 28)] + [date(2023, m, 30) for m in range(3, 13)]
         + [date(2024, 1, 30)]),
        # A series on the last day of each month: month end to month end.
        (date(2023, 1, 31), [date(2023, m + 1, 1) - timedelta(days=1) for m in range(2, 12)]
         + [date(2023, 12, 31), date(2024, 1, 31)]),
        # A series on the 28th: 28 February is a month end but the count stays on the 28th.
        (date(2023, 1, 28), [date(2023, m, 28) for m in range(2, 13)] + [date(2024, 1, 28)]),
    ],
)
def test_regulation_z_month_end_series_are_regular(advanced_on, payment_days):
    # Appendix J (b)(3)(iv): full months run to the same date of another month, from last day
    # to last day for a series on the last day of each month, and the last day of February
    # stands in for the 29th and 30th. Each of these loans is regular: every payment lies a
    # whole number of months after the advance, so the APR is the plain monthly IRR x 12.
    assert len(payment_days) == 12
    flows = [(advanced_on, 1000.0)] + [(day, -90.0) for day in payment_days]
    expected = npf.irr([1000.0] + [-90.0] * 12) * 12
    assert pricing.apr_us_actuarial(flows, "month") == pytest.approx(expected, abs=1e-12)


def test_regulation_z_odd_last_period_counts_back_from_the_payment():
    # Appendix J (b)(5)(ii): whole months counted back from the later date, odd days / 30.
    # 1,000 on 10 Jan 2023; 11 payments of 90 on the 10th from Feb; the last, 60, on 25 Dec:
    # 11 whole months back from 25 Dec reach 25 Jan, leaving 15 days: t = 11, f = 15/30.
    start = date(2023, 1, 10)
    regular = [(_add_months(date(2023, 2, 10), k), -90.0) for k in range(11)]
    flows = [(start, 1000.0)] + regular + [(date(2023, 12, 25), -60.0)]
    whole = [0] + list(range(1, 12)) + [11]
    fraction = [0.0] * 12 + [0.5]
    amounts = [a for _, a in flows]

    def equation(i):
        return sum(a / ((1 + f * i) * (1 + i) ** t)
                   for a, t, f in zip(amounts, whole, fraction, strict=True))

    expected = _bisect(equation, 1e-9, 1.0) * 12
    assert pricing.apr_us_actuarial(flows, "month") == pytest.approx(expected, abs=1e-10)


def test_regulation_z_unit_period_names():
    start = date(2024, 1, 1)
    flows = [(start, 1000.0)] + [(start + timedelta(days=14 * k), -100.0) for k in range(1, 12)]
    assert pricing.apr_us_actuarial(flows, "biweek") == pytest.approx(
        pricing.apr_us_actuarial(flows, "2 weeks"), abs=1e-12)
    expected = npf.irr([1000] + [-100] * 11) * 26
    assert pricing.apr_us_actuarial(flows, "biweek") == pytest.approx(expected, abs=1e-9)
    yearly = [(date(2020, 3, 1), 1000.0)] + [(date(2020 + k, 3, 1), -300.0) for k in range(1, 5)]
    assert pricing.apr_us_actuarial(yearly, "year") == pytest.approx(
        npf.irr([1000, -300, -300, -300, -300]), abs=1e-9)
    half = [(date(2020, 1, 15), 1000.0)] + [(_add_months(date(2020, 1, 15), 6 * k), -300.0)
                                           for k in range(1, 5)]
    assert pricing.apr_us_actuarial(half, "half-year") == pytest.approx(
        npf.irr([1000, -300, -300, -300, -300]) * 2, abs=1e-9)


def test_flat_rate_example():
    # Wikipedia, "Flat rate (finance)": a loan of $1,200 repaid in 12 monthly instalments of
    # $100 principal plus 1% a month flat ($12) pays $112 a month.
    # https://en.wikipedia.org/wiki/Flat_rate_(finance)
    table = pricing.schedule(1200, 12, 12, 0.12, method="flat")
    assert (table["total"] == 112).all()
    assert (table["interest"] == 12).all()
    flows = pricing.loan_flows(1200, 12, 12, 0.12, method="flat")
    assert pricing.apr(flows, 12) == pytest.approx(npf.irr(flows) * 12, abs=1e-10)
    # Flat interest on the original amount roughly doubles the declining-balance cost
    # (CGAP and MFTransparency; https://cgdev.org/blog/reflections-transparency).
    assert 1.7 < pricing.apr(flows, 12) / 0.12 < 2.0


def test_compulsory_savings_raise_the_cost():
    # MFTransparency: compulsory deposits reduce the amount the client can use and are a
    # cost; an advertised 36% with a 2% fee and 15% savings can exceed 100% APR.
    # http://www.mftransparency.org/making-microfinance-prices-more-transparent-ideas-for-improving-regulation/
    plain = pricing.apr(pricing.loan_flows(1000, 16, 52, 0.36, method="flat"), 52)
    loaded = pricing.apr(pricing.loan_flows(1000, 16, 52, 0.36, method="flat",
                                            upfront_fee=0.02, compulsory_savings=0.15), 52)
    assert loaded > 1.0 > plain


# --------------------------------------------------------------------------------------------
# Schedules and flows, re-computed by hand
# --------------------------------------------------------------------------------------------


def test_declining_schedule_matches_numpy_financial():
    table = pricing.schedule(5000, 12, 12, 0.30)
    instalment = -npf.pmt(0.025, 12, 5000)
    assert table["total"].iloc[:-1].to_numpy() == pytest.approx(round(instalment, 2), abs=0.01)
    assert table["principal"].sum() == pytest.approx(5000, abs=1e-9)
    assert table["balance"].iloc[-1] == 0
    assert table["interest"].iloc[0] == pytest.approx(125.0)
    interest_parts = -npf.ipmt(0.025, np.arange(1, 13), 12, 5000)
    assert table["interest"].to_numpy() == pytest.approx(interest_parts, abs=0.006)


def test_fees_tax_insurance_and_savings_in_the_flows():
    flows = pricing.loan_flows(1000, 4, 12, 0.24, method="flat", upfront_fee=0.02,
                               insurance=0.01, compulsory_savings=0.10, fee_per_payment=0.005,
                               savings_interest=0.06, tax_on_interest=0.15)
    # Disbursed: 1000 - 20 - 10 - 100. Each instalment: 250 + 20 interest + 5 fee + 3 tax.
    assert flows[0] == pytest.approx(870)
    assert flows[1:4] == pytest.approx([-278, -278, -278])
    # Savings come back with simple interest for 4 months at 6% a year: 100 * (1 + 0.02).
    assert flows[4] == pytest.approx(-278 + 102)
    table = pricing.schedule(1000, 4, 12, 0.24, method="flat", compulsory_savings=0.10,
                             savings_interest=0.06, tax_on_interest=0.15)
    assert table["savings_refund"].tolist() == [0, 0, 0, 102.0]
    assert table["tax"].tolist() == [3.0] * 4


def test_zero_rate_loan_costs_only_its_fees():
    flows = pricing.loan_flows(1200, 12, 12, 0.0)
    assert flows[1:] == pytest.approx([-100] * 12)
    assert pricing.apr(flows, 12) == pytest.approx(0, abs=1e-12)


def test_vectorised_loan_flows_equal_single_loans():
    principal = [1000, 500, 2500]
    n = [4, 12, 6]
    methods = ["flat", "declining", "declining"]
    matrix = pricing.loan_flows(principal, n, [12, 52, 26], 0.3, method=methods,
                                compulsory_savings=[0.1, 0.0, 0.2])
    assert matrix.shape == (3, 13)
    for row in range(3):
        single = pricing.loan_flows(principal[row], n[row], [12, 52, 26][row], 0.3,
                                    method=methods[row],
                                    compulsory_savings=[0.1, 0.0, 0.2][row])
        assert matrix[row, : n[row] + 1] == pytest.approx(single)
        assert (matrix[row, n[row] + 1 :] == 0).all()


def test_schedule_rounds_to_the_cent_and_balances():
    table = pricing.schedule(1000, 7, 52, 0.37, upfront_fee=0.01, tax_on_interest=0.16)
    for column in ("principal", "interest", "tax", "total", "balance"):
        assert (np.round(table[column], 2) == table[column]).all()
    assert table["principal"].sum() == pytest.approx(1000, abs=1e-9)
    assert table["balance"].iloc[-1] == 0.0


def test_key_facts_frame_and_html():
    facts = pricing.key_facts(1000, 12, 12, 0.36, method="flat", upfront_fee=0.03,
                              insurance=0.01, compulsory_savings=0.1, currency="KES")
    frame = facts.to_frame()
    assert list(frame.columns) == ["item", "value", "unit"]
    values = dict(zip(frame["item"], frame["value"], strict=True))
    assert values["Net amount disbursed"] == 860
    assert values["Total interest"] == pytest.approx(360)
    assert values["Number of instalments"] == 12
    assert values["Annual percentage rate (APR)"] == pytest.approx(facts.apr)
    assert facts.apr < facts.eir
    assert facts.total_cost == pytest.approx(360 + 30 + 10, abs=0.01)
    page = facts._repr_html_()
    assert page == facts.to_html()
    assert "<table" in page and "Key Facts Statement" in page and "KES" in page
    assert "Net amount disbursed" in str(facts)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

loans = st.fixed_dictionaries({
    "principal": st.floats(50, 50_000),
    "n_payments": st.integers(2, 60),
    "periods_per_year": st.sampled_from([12, 26, 52]),
    "rate": st.floats(0.01, 1.2),
})


@settings(max_examples=60, deadline=None)
@given(loans)
def test_declining_loans_agree_with_numpy_financial(loan):
    flows = pricing.loan_flows(**loan)
    period = loan["rate"] / loan["periods_per_year"]
    instalment = -npf.pmt(period, loan["n_payments"], loan["principal"])
    assert flows[1:] == pytest.approx(-instalment, rel=1e-10)
    assert pricing.periodic_rate(flows) == pytest.approx(npf.irr(flows), abs=1e-10)
    assert pricing.apr(flows, loan["periods_per_year"]) == pytest.approx(loan["rate"], rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(loans)
def test_apr_below_eir_and_flat_dearer_than_declining(loan):
    declining = pricing.loan_flows(**loan)
    flat = pricing.loan_flows(**loan, method="flat")
    ppy = loan["periods_per_year"]
    assert pricing.apr(declining, ppy) < pricing.eir(declining, ppy)
    assert pricing.apr(flat, ppy) > pricing.apr(declining, ppy)


@settings(max_examples=60, deadline=None)
@given(loans, st.sampled_from(["upfront_fee", "insurance", "compulsory_savings",
                               "fee_per_payment", "tax_on_interest"]),
       st.floats(0.001, 0.3), st.sampled_from(["flat", "declining"]))
def test_extra_charges_never_lower_the_apr(loan, charge, amount, method):
    ppy = loan["periods_per_year"]
    base = pricing.apr(pricing.loan_flows(**loan, method=method), ppy)
    charged = pricing.apr(pricing.loan_flows(**loan, method=method, **{charge: amount}), ppy)
    assert charged >= base - 1e-12


@settings(max_examples=30, deadline=None)
@given(st.lists(loans, min_size=1, max_size=8), st.floats(0, 0.25))
def test_matrix_result_equals_row_by_row(loan_list, savings):
    frame = pd.DataFrame(loan_list)
    matrix = pricing.loan_flows(frame["principal"], frame["n_payments"],
                                frame["periods_per_year"], frame["rate"],
                                compulsory_savings=savings, method="flat")
    rates = pricing.periodic_rate(matrix)
    aprs = pricing.apr(matrix, frame["periods_per_year"].to_numpy())
    for row, loan in enumerate(loan_list):
        flows = pricing.loan_flows(**loan, compulsory_savings=savings, method="flat")
        assert rates[row] == pytest.approx(pricing.periodic_rate(flows), abs=1e-13)
        assert aprs[row] == pytest.approx(pricing.apr(flows, loan["periods_per_year"]),
                                          abs=1e-12)


def test_savings_refund_larger_than_the_last_instalment():
    # Weekly group loan with 20% savings: the last flow is a net refund (two sign changes);
    # the rate is still unique above zero and matches numpy_financial.
    flows = pricing.loan_flows(1000, 16, 52, 0.3, method="flat", compulsory_savings=0.2)
    assert flows[-1] > 0
    assert pricing.periodic_rate(flows) == pytest.approx(npf.irr(flows), abs=1e-10)


def test_rates_solve_once_and_match_apr_and_eir():
    rng = np.random.default_rng(11)
    matrix = pricing.loan_flows(rng.uniform(100, 900, 50), rng.integers(3, 30, 50), 52,
                                rng.uniform(0.05, 0.9, 50), method="flat",
                                compulsory_savings=0.15)
    result = pricing.rates(matrix, 52)
    assert result.apr == pytest.approx(pricing.apr(matrix, 52), abs=1e-15)
    assert result.eir == pytest.approx(pricing.eir(matrix, 52), abs=1e-15)
    assert result.periodic_rate == pytest.approx(pricing.periodic_rate(matrix), abs=1e-15)
    frame = result.to_frame()
    assert list(frame.columns) == ["periodic_rate", "apr", "eir"] and len(frame) == 50
    one = pricing.rates([1000, -300, -300, -300, -300], 12)
    monthly = npf.irr([1000, -300, -300, -300, -300])
    assert isinstance(one.apr, float)
    assert one.apr == pytest.approx(12 * monthly, abs=1e-12)
    assert one.eir == pytest.approx((1 + monthly) ** 12 - 1, abs=1e-12)
    with pytest.raises(ValueError, match="zero disbursement"):
        pricing.rates([0, -10, 20], 12)


def test_solver_on_unusual_rows_matches_numpy_financial():
    # Rows far from instalment loans, where the closed-form start is rough or fails: negative
    # and zero rates, a rate of 200% a period, a balloon, a refund larger than the payments
    # before it, interior zeros, a 240-period loan, a second disbursement.
    rows = [
        [100, -30, -30, -30],
        [100, -50, -50],
        [100, -300],
        [100, -1, -1, -1, -1, -1, -1, -1, -1, -150],
        [100, -90, -90, 75],
        [100, 0, 0, -60, 0, -60],
        [1000] + [-9.0] * 240,
        [100, 50, -80, -80],
        [100, -0.5, -0.5, -0.5, -100.0],
    ]
    width = max(len(row) for row in rows)
    matrix = np.array([row + [0.0] * (width - len(row)) for row in rows])
    expected = [npf.irr(row) for row in rows]
    assert pricing.periodic_rate(matrix) == pytest.approx(expected, abs=1e-12)


def test_large_matrix_in_blocks_and_padding():
    rng = np.random.default_rng(7)
    size = 70_000  # more than two solver blocks
    n = rng.integers(3, 30, size)
    matrix = pricing.loan_flows(rng.uniform(100, 900, size), n, 12, rng.uniform(0.05, 0.9, size))
    rates = pricing.periodic_rate(matrix)
    sample = rng.choice(size, 200, replace=False)
    expected = [npf.irr(matrix[i, : n[i] + 1]) for i in sample]
    assert rates[sample] == pytest.approx(expected, abs=1e-10)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flows", "message"),
    [
        ([100, 20, 30], "same sign"),
        ([0, -10, 20], "zero disbursement"),
        ([-100, 60, 60], "first flow is negative"),
        ([100, np.nan, -50], "NaN"),
        ([100, -230, 132], "ambiguous"),
        ([100, -50, 10], "no interest rate"),
        ([100], "at least two"),
        ([[[100, -110]]], "1-D"),
        (np.empty((0, 3)), "no loan"),
    ],
)
def test_bad_flows_raise(flows, message):
    with pytest.raises(ValueError, match=message):
        pricing.periodic_rate(flows)


def test_matrix_errors_name_the_rows():
    flows = [[100, -110, 0], [0, -5, 0], [100, -60, -60], [100, 10, 10]]
    with pytest.raises(ValueError, match=r"2 of 4 loans: row 1: zero disbursement.*row 3"):
        pricing.apr(flows, 12)


def test_bad_periods_and_types():
    with pytest.raises(ValueError, match="periods_per_year"):
        pricing.apr([100, -110], 0)
    with pytest.raises(ValueError, match="one number per loan"):
        pricing.eir([[100, -110], [100, -120]], [12, 12, 12])
    with pytest.raises(TypeError, match="numbers"):
        pricing.periodic_rate(["a", "b"])


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"principal": 0}, ValueError, "principal"),
        ({"n_payments": 2.5}, ValueError, "whole number"),
        ({"periods_per_year": -12}, ValueError, "periods_per_year"),
        ({"rate": -0.1}, ValueError, "rate"),
        ({"method": "balloon"}, ValueError, "declining"),
        ({"upfront_fee": 1.5}, ValueError, "upfront_fee"),
        ({"insurance": 0.5, "compulsory_savings": 0.6}, ValueError, "receive nothing"),
        ({"principal": [100, 200], "rate": [0.1, 0.2, 0.3]}, ValueError, "same length"),
        ({"rate": "high"}, TypeError, "rate"),
    ],
)
def test_bad_loan_arguments_raise(arguments, error, message):
    loan = {"principal": 1000, "n_payments": 12, "periods_per_year": 12, "rate": 0.3}
    loan.update(arguments)
    positional = [loan.pop(k) for k in ("principal", "n_payments", "periods_per_year", "rate")]
    with pytest.raises(error, match=message):
        pricing.loan_flows(*positional, **loan)


def test_schedule_and_key_facts_take_one_loan():
    with pytest.raises(TypeError, match="one loan"):
        pricing.schedule([1000, 2000], 12, 12, 0.3)
    with pytest.raises(TypeError, match="currency"):
        pricing.key_facts(1000, 12, 12, 0.3, currency="")


@pytest.mark.parametrize(
    ("flows", "error", "message"),
    [
        ([(date(2024, 1, 1), 100)], ValueError, "at least two"),
        ([(date(2024, 1, 1), 100), (date(2024, 2, 1), 50)], ValueError, "same sign"),
        ([(date(2024, 1, 1), -100), (date(2024, 2, 1), 150)], ValueError, "advance"),
        ([(date(2024, 1, 1), 100), ("not a date", -110)], ValueError, "not a date"),
        ([(date(2024, 1, 1), 100, 3)], ValueError, "at least two"),
        (42, TypeError, "pairs"),
    ],
)
def test_bad_dated_flows_raise(flows, error, message):
    with pytest.raises(error, match=message):
        pricing.xirr(flows)


def test_bad_unit_period_and_same_day():
    flows = [(date(2024, 1, 1), 100.0), (date(2024, 2, 1), -110.0)]
    with pytest.raises(ValueError, match="unknown unit_period"):
        pricing.apr_us_actuarial(flows, "fortnight")
    with pytest.raises(ValueError, match="unknown unit_period"):
        pricing.apr_us_actuarial(flows, "13 months")
    with pytest.raises(TypeError, match="unit_period"):
        pricing.apr_us_actuarial(flows, 12)
    same_day = [(date(2024, 1, 1), 100.0), (date(2024, 1, 1), -110.0)]
    with pytest.raises(ValueError):
        pricing.apr_us_actuarial(same_day, "month")


def test_docstring_examples_run():
    import doctest

    failures, tried = doctest.testmod(pricing, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried >= 10
    assert failures == 0


def test_payments_that_only_give_back_the_money_cost_nothing_despite_rounding():
    # A 0% loan whose compulsory savings come back: what the client pays equals what she got,
    # up to float rounding (about 1e-14 here), which must not be read as a sign change.
    flows = pricing.loan_flows(1000, 26, 52, 0.0, compulsory_savings=0.2)
    assert abs(flows.sum()) < 1e-9
    assert pricing.periodic_rate(flows) == 0.0
    stacked = np.array([[100.0, -50.0, -50.0 + 1e-13], [100.0, -60.0, -60.0]])
    rates = pricing.periodic_rate(stacked)
    assert rates[0] == 0.0
    # independent check of the second row: 100 = 60/(1+r) + 60/(1+r)^2
    r = rates[1]
    assert abs(60 / (1 + r) + 60 / (1 + r) ** 2 - 100) < 1e-9
