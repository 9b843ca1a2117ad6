"""Portfolio quality: PAR, arrears over time, write-offs, yield, vintages, roll rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientprotection import portfolio as pf

D = pd.to_datetime


def snapshot_loans() -> pd.DataFrame:
    return pd.DataFrame({
        "loan_id": ["L1", "L2", "L3", "L4", "L5"],
        "branch_id": ["B1", "B1", "B2", "B2", "B2"],
        "status": ["active", "active", "active", "active", "repaid"],
        "outstanding": [1000.0, 500.0, 2000.0, 500.0, 0.0],
        "days_late": [31, 30, 0, 95, 0],
        "restructured": [False, False, True, False, False],
    })


# --- PAR -------------------------------------------------------------------------------------


def test_par_counts_whole_balance_and_restructured_loans_seep_mfrs():
    # SEEP Microfinance Financial Reporting Standards, asset quality ratios
    # (http://kdid.org/microfinance-financial-reporting-standards-draft-public-comment/
    # summary-asset-quality-ratios): PAR30 = outstanding principal of loans with an instalment
    # more than 30 days late + all renegotiated loans, over the gross loan portfolio; the whole
    # balance counts. Gross portfolio = 1000 + 500 + 2000 + 500 = 4000 (L5 is repaid).
    # At risk: L1 (31 > 30 days, all 1000), L3 (restructured, 2000), L4 (95 days, 500);
    # L2 is exactly 30 days late, not more. PAR30 = 3500 / 4000 = 0.875.
    assert pf.par(snapshot_loans(), 30) == pytest.approx(3500 / 4000)
    # without restructured loans: (1000 + 500) / 4000
    assert pf.par(snapshot_loans(), 30, include_restructured=False) == pytest.approx(0.375)
    # PAR90: L3 + L4 = 2500 / 4000
    assert pf.par(snapshot_loans(), 90) == pytest.approx(0.625)


def test_par_by_branch_and_by_list():
    by_branch = pf.par(snapshot_loans(), 30, by="branch_id")
    # B1: 1000 / 1500; B2: (2000 + 500) / 2500
    assert by_branch["B1"] == pytest.approx(1000 / 1500)
    assert by_branch["B2"] == pytest.approx(1.0)
    loans = snapshot_loans().assign(officer_id=["O1", "O2", "O3", "O3", "O3"])
    two_levels = pf.par(loans, 30, by=["branch_id", "officer_id"])
    assert two_levels[("B1", "O2")] == 0.0
    assert two_levels[("B1", "O1")] == 1.0


def test_par_without_status_column_uses_positive_balances():
    loans = snapshot_loans().drop(columns=["status", "restructured"])
    # 1000 + 500 (L4) over 4000
    assert pf.par(loans, 30) == pytest.approx(0.375)


def test_par_as_of_ignores_later_restructuring():
    loans = snapshot_loans().assign(
        restructured_on=D([None, None, "2024-06-01", None, None]))
    # on 2024-05-31 L3 is not yet restructured: (1000 + 500) / 4000
    assert pf.par(loans, 30, as_of="2024-05-31") == pytest.approx(0.375)
    assert pf.par(loans, 30, as_of="2024-06-01") == pytest.approx(0.875)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1e6, allow_nan=False), st.integers(0, 400), st.booleans()),
        min_size=1, max_size=40,
    ),
    st.integers(0, 200), st.integers(0, 200),
)
def test_par_is_a_share_and_does_not_rise_with_n(rows, n1, n2):
    loans = pd.DataFrame(rows, columns=["outstanding", "days_late", "restructured"])
    low, high = sorted((n1, n2))
    par_low, par_high = pf.par(loans, low), pf.par(loans, high)
    if loans["outstanding"].sum() == 0:
        assert np.isnan(par_low)
        return
    assert 0.0 <= par_high <= par_low <= 1.0 + 1e-12


# --- arrears from the schedule -----------------------------------------------------------------


def small_book() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two loans of 300, three monthly instalments of 100 principal + 10 interest + 2 fee."""
    loans = pd.DataFrame({
        "loan_id": ["L1", "L2"], "branch_id": ["B1", "B2"], "amount": [300.0, 300.0],
        "upfront_fee": [6.0, 6.0],
        "disbursed_on": D(["2024-01-01", "2024-01-15"]),
        "written_off_on": D([None, "2024-05-20"]),
        "restructured": [False, False], "restructured_on": D([None, None]),
    })
    schedule = pd.DataFrame({
        "loan_id": ["L1"] * 3 + ["L2"] * 3,
        "instalment_no": [1, 2, 3] * 2,
        "due_on": D(["2024-02-01", "2024-03-01", "2024-04-01",
                     "2024-02-15", "2024-03-15", "2024-04-15"]),
        "principal_due": [100.0] * 6,
        "interest_due": [10.0] * 6,
        "fees_due": [2.0] * 6,
        # L1 pays its second instalment 40 days late; L2 pays once, then stops
        "paid_on": D(["2024-02-01", "2024-04-10", "2024-04-10", "2024-02-15", None, None]),
        "amount_paid": [112.0, 112.0, 112.0, 112.0, 0.0, 0.0],
    })
    return loans, schedule


def test_days_late_as_of_oldest_unpaid_instalment():
    _, schedule = small_book()
    late = pf.days_late_as_of(schedule, "2024-04-05")
    # L1: instalment 2 due 1 Mar unpaid on 5 Apr -> 35 days (instalment 3 only 4 days)
    # L2: instalment 2 due 15 Mar -> 21 days
    assert late.to_dict() == {"L1": 35, "L2": 21}
    # after L1 pays on 10 Apr it is current
    assert pf.days_late_as_of(schedule, "2024-04-10")["L1"] == 0


def test_loans_as_of_restates_balances_and_status():
    loans, schedule = small_book()
    state = pf.loans_as_of(loans, schedule, "2024-04-05").set_index("loan_id")
    # L1 paid instalment 1: 300 - 100; L2 paid instalment 1: 300 - 100
    assert state.loc["L1", "outstanding"] == 200.0
    assert state.loc["L2", "outstanding"] == 200.0
    assert state.loc["L1", "status"] == "active"
    later = pf.loans_as_of(loans, schedule, "2024-05-31").set_index("loan_id")
    assert later.loc["L1", "status"] == "repaid" and later.loc["L1", "outstanding"] == 0.0
    assert later.loc["L2", "status"] == "written_off" and later.loc["L2", "outstanding"] == 0.0
    before = pf.loans_as_of(loans, schedule, "2024-01-10").set_index("loan_id")
    assert before.loc["L2", "status"] == "not_disbursed"


def test_par_from_schedule_and_monthly_series():
    loans, schedule = small_book()
    # 5 Apr: L1 35 days late (200), L2 21 days late (200): PAR30 = 200 / 400
    assert pf.par_from_schedule(loans, schedule, "2024-04-05", 30) == pytest.approx(0.5)
    series = pf.par_series(loans, schedule, pf.month_ends("2024-01-01", "2024-05-31"), 30)
    # 31 Jan: none late; 29 Feb: none; 31 Mar: L1 30 days (not > 30), L2 16 -> 0;
    # 30 Apr: L1 repaid, L2 46 days late on 200 of 200 -> 1; 31 May: nothing active -> NaN
    assert series.iloc[:4].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert np.isnan(series.iloc[4])
    by_branch = pf.par_series(loans, schedule, ["2024-04-05"], 30, by="branch_id")
    assert by_branch.loc[pd.Timestamp("2024-04-05"), "B1"] == 1.0


def test_infer_snapshot_date_from_open_arrears():
    _, schedule = small_book()
    schedule = schedule.assign(days_late=[0, 40, 9, 0, 77, 46])
    # unpaid instalment due 15 Mar with 77 days late: 15 Mar + 77 days = 31 May
    # (16 days to 31 Mar + 30 in April + 31 in May); due 15 Apr + 46 days is also 31 May
    assert pf.infer_snapshot_date(schedule) == pd.Timestamp("2024-05-31")


def test_write_off_ratio_by_hand():
    loans, schedule = small_book()
    # period (31 Mar, 31 May]; L2 written off on 20 May with 300 - 100 = 200 outstanding.
    # balances: 31 Mar: L1 200 (instalment 2 unpaid) + L2 200 = 400;
    #           30 Apr: L1 0 (paid 10 Apr) + L2 200 = 200; 31 May: 0. Average 600 / 3 = 200.
    assert pf.write_off_ratio(loans, schedule, "2024-03-31", "2024-05-31") == pytest.approx(1.0)
    per_branch = pf.write_off_ratio(loans, schedule, "2024-03-31", "2024-05-31", by="branch_id")
    # B2: 200 / ((200 + 200 + 0) / 3)
    assert per_branch["B2"] == pytest.approx(200 / (400 / 3))
    assert per_branch["B1"] == 0.0


def test_portfolio_yield_by_hand():
    loans, schedule = small_book()
    # period (31 Dec 2023, 31 Mar 2024]: upfront fees 6 + 6; paid instalments in the period:
    # L1 #1 and L2 #1, 12 each -> income 36. Balances: 31 Dec 0; 31 Jan 300 + 300 (L2 was
    # disbursed 15 Jan); 29 Feb 200 + 200; 31 Mar 200 + 200 -> average 1400 / 4 = 350.
    value = pf.portfolio_yield(loans, schedule, "2023-12-31", "2024-03-31", annualise=False)
    assert value == pytest.approx(36 / 350)
    annual = pf.portfolio_yield(loans, schedule, "2023-12-31", "2024-03-31")
    assert annual == pytest.approx(36 / 350 * 365 / 91)
    no_fees = pf.portfolio_yield(loans, schedule, "2023-12-31", "2024-03-31", annualise=False,
                                 include_upfront_fees=False)
    assert no_fees == pytest.approx(24 / 350)


def test_vintage_curves_by_hand():
    loans, schedule = small_book()
    curves = pf.vintage_curves(loans, schedule, 30, as_of="2024-05-31")
    # one January cohort of 2 loans. L1: instalment 2 (due 1 Mar) paid 10 Apr, 40 days late:
    # more than 30 days late from 1 Apr (1 Mar + 31 days) -> month 3 after January.
    # L2: instalment 2 due 15 Mar unpaid: bad on 15 Apr -> month 3 as well.
    assert curves.index.astype(str).tolist() == ["2024-01"]
    assert curves.iloc[0].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    # with a 45-day threshold L1 never goes bad (40 days), L2 bad on 30 Apr -> month 3
    assert pf.vintage_curves(loans, schedule, 45, as_of="2024-05-31").iloc[0, 3] == 0.5


def test_vintage_curves_leave_unobserved_months_empty():
    loans, schedule = small_book()
    curves = pf.vintage_curves(loans, schedule, 30, as_of="2024-03-31")
    # observed up to March: months 0, 1, 2; on 31 Mar L1 is exactly 30 days late: none bad
    assert curves.iloc[0].tolist() == [0.0, 0.0, 0.0]
    curves = pf.vintage_curves(loans, schedule, 30, as_of="2024-04-01")
    # on 1 Apr L1 is 31 days late (month 3); L2 (due 15 Mar) only 17
    assert curves.iloc[0].tolist() == [0.0, 0.0, 0.0, 0.5]


def test_roll_rates_by_hand():
    loans, schedule = small_book()
    dates = ["2024-02-29", "2024-03-31", "2024-04-30"]
    counts = pf.roll_rates(loans, schedule, dates, normalise=False)
    # 29 Feb: L1 current, L2 current. 31 Mar: L1 30 days (1-30), L2 16 days (1-30).
    # 30 Apr: L1 repaid, L2 46 days (31-60).
    assert counts.loc["current", "1-30"] == 2
    assert counts.loc["1-30", "repaid"] == 1
    assert counts.loc["1-30", "31-60"] == 1
    assert counts.to_numpy().sum() == 4
    shares = pf.roll_rates(loans, schedule, dates)
    assert shares.loc["1-30", "31-60"] == 0.5
    balance = pf.roll_rates(loans, schedule, dates, weight="balance", normalise=False)
    # 29 Feb balances: L1 200 (paid 1 Feb), L2 200 (paid 15 Feb)
    assert balance.loc["current", "1-30"] == 400.0


# --- repayment rate is not portfolio quality ---------------------------------------------------


def test_rosenberg_short_loans_repayment_rate_means_large_loss():
    # Rosenberg, CGAP "Measuring Microcredit Delinquency": a 95% repayment rate on 3-month
    # loans can mean losing about 40% of the portfolio a year: 5% lost per cycle, 4 cycles a
    # year, average balance half the loan amount -> 0.05 * 4 / 0.5 = 0.40.
    assert pf.annual_loss_from_repayment_rate(0.95, 3) == pytest.approx(0.40)
    # the same rate on 12-month loans: 0.05 * 1 / 0.5
    assert pf.annual_loss_from_repayment_rate(0.95, 12) == pytest.approx(0.10)


def test_repayment_rate_looks_fine_while_par_is_high():
    # 10 loans with 10 instalments of 100 each due in 2024; every loan missed its first
    # instalment (due 10 Jan) and paid the other nine. Repayment rate 9000 / 10000 = 90%,
    # yet on 30 Jun every loan has an instalment > 30 days late: PAR30 = 100%.
    n = 10
    due = pd.date_range("2024-01-10", periods=10, freq="MS") + pd.Timedelta(days=9)
    schedule = pd.DataFrame({
        "loan_id": np.repeat([f"L{i}" for i in range(n)], 10),
        "due_on": np.tile(due, n),
        "principal_due": 90.0, "interest_due": 10.0, "fees_due": 0.0,
        "amount_paid": np.tile([0.0] + [100.0] * 9, n),
    })
    rate = pf.repayment_rate(schedule, "2023-12-31", "2024-12-31")
    assert rate == pytest.approx(0.90)
    loans = pd.DataFrame({"status": ["active"] * n, "outstanding": [500.0] * n,
                          "days_late": [172] * n})
    assert pf.par(loans, 30) == 1.0


# --- errors ------------------------------------------------------------------------------------


def test_par_errors_are_clear():
    with pytest.raises(ValueError, match="no column.*'days_late'"):
        pf.par(snapshot_loans().drop(columns="days_late"))
    with pytest.raises(ValueError, match="empty"):
        pf.par(snapshot_loans().iloc[0:0])
    with pytest.raises(TypeError, match="DataFrame"):
        pf.par([1, 2, 3])
    with pytest.raises(TypeError, match="numeric"):
        pf.par(snapshot_loans().assign(outstanding=["1"] * 5))
    with pytest.raises(ValueError, match="0 or more"):
        pf.par(snapshot_loans(), -1)
    with pytest.raises(TypeError, match="whole number"):
        pf.par(snapshot_loans(), 30.5)
    with pytest.raises(ValueError, match="negative"):
        pf.par(snapshot_loans().assign(outstanding=[-1.0, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="no column.*'region'"):
        pf.par(snapshot_loans(), by="region")


def test_schedule_function_errors():
    loans, schedule = small_book()
    with pytest.raises(ValueError, match="'paid_on'"):
        pf.days_late_as_of(schedule.drop(columns="paid_on"), "2024-04-01")
    with pytest.raises(TypeError, match="date"):
        pf.days_late_as_of(schedule, "not a date")
    with pytest.raises(ValueError, match="after start"):
        pf.write_off_ratio(loans, schedule, "2024-05-31", "2024-03-31")
    with pytest.raises(ValueError, match="two dates"):
        pf.roll_rates(loans, schedule, ["2024-03-31"])
    with pytest.raises(ValueError, match="Nothing was due"):
        pf.repayment_rate(schedule, "2020-01-01", "2020-12-31")
    with pytest.raises(ValueError, match="between 0 and 1"):
        pf.annual_loss_from_repayment_rate(1.5, 3)


# --- smoke tests on the default scenario ---------------------------------------------------------


def test_default_scenario_portfolio_quality(mfi):
    loans, schedule = mfi["loans"], mfi["schedule"]
    par30, par90 = pf.par(loans, 30), pf.par(loans, 90)
    assert 0.0 <= par90 <= par30 <= 1.0
    by_branch = pf.par(loans, 30, by="branch_id")
    assert set(by_branch.index) <= set(mfi["branches"]["branch_id"])
    assert by_branch.between(0, 1).all()
    snapshot = pf.infer_snapshot_date(schedule)
    months = pf.month_ends(snapshot - pd.DateOffset(months=3), snapshot)
    series = pf.par_series(loans, schedule, months, 30)
    assert series.dropna().between(0, 1).all() and len(series) == len(months)
    curves = pf.vintage_curves(loans, schedule, 30)
    assert ((curves.diff(axis=1).iloc[:, 1:] >= -1e-12) | curves.iloc[:, 1:].isna()).all().all()
