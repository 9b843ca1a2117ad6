"""Over-indebtedness: DSR at approval and today, capacity, multiple borrowing, loan growth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientprotection import indebtedness as ind

D = pd.to_datetime


def book() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    loans = pd.DataFrame({
        "loan_id": ["L1", "L2", "L3", "L4"],
        "client_id": ["C1", "C1", "C2", "C3"],
        "branch_id": ["B1", "B1", "B1", "B2"],
        "cycle": [1, 2, 1, 1],
        "amount": [1000.0, 1500.0, 800.0, 500.0],
        "instalment": [100.0, 60.0, 200.0, 50.0],
        "periods_per_year": [12, 52, 12, 26],
        "disbursed_on": D(["2023-01-01", "2024-01-01", "2024-02-01", "2024-03-01"]),
        "maturity_on": D(["2023-12-31", "2024-12-31", "2025-01-31", "2024-05-31"]),
        "written_off_on": D([None, None, None, None]),
        "dsr_at_approval": [0.30, 0.80, 1.20, 0.40],
    })
    clients = pd.DataFrame({
        "client_id": ["C1", "C2", "C3"],
        "branch_id": ["B1", "B1", "B2"],
        "monthly_income": [1000.0, 700.0, 400.0],
        "monthly_expenses": [600.0, 500.0, 300.0],
    })
    bureau = pd.DataFrame({
        "client_id": ["C1", "C1", "C1", "C2", "C3"],
        "lender": ["X", "X", "Y", "Z", "X"],
        "opened_on": D(["2024-01-01", "2024-02-01", "2023-01-01", "2024-01-01", "2023-01-01"]),
        "closed_on": D([None, None, "2024-03-01", "2024-12-31", "2023-12-31"]),
        "monthly_payment": [40.0, 20.0, 999.0, 100.0, 999.0],
    })
    return loans, clients, bureau


def test_monthly_equivalent_of_weekly_and_fortnightly_instalments():
    # weekly 60 -> 60 * 52 / 12 = 260; fortnightly 50 -> 50 * 26 / 12 = 108.33
    assert ind.monthly_equivalent(60.0, 52) == pytest.approx(260.0)
    assert ind.monthly_equivalent(50.0, 26) == pytest.approx(108.3333, abs=1e-4)
    np.testing.assert_allclose(ind.monthly_equivalent([100.0, 100.0], [12, 52]),
                               [100.0, 433.3333], atol=1e-4)


def test_dsr_today_by_hand():
    loans, clients, bureau = book()
    table = ind.dsr_today(loans, clients, bureau, "2024-04-15")
    # active own loans on 15 Apr 2024: L2 (C1, weekly 60 -> 260), L3 (C2, 200), L4 (C3,
    # fortnightly 50 -> 108.33); L1 matured in 2023.
    # bureau open on 15 Apr: C1 X 40 + X 20 (Y closed 1 Mar); C2 Z 100; C3 X closed 2023.
    c1, c2, c3 = table.loc["C1"], table.loc["C2"], table.loc["C3"]
    assert c1["debt_service"] == pytest.approx(260 + 60)
    assert c1["net_income"] == 400.0
    assert c1["dsr"] == pytest.approx(320 / 400)           # 0.80
    assert c1["debt_to_income"] == pytest.approx(320 / 1000)
    assert c1["repayment_capacity"] == pytest.approx(80.0)
    assert c2["dsr"] == pytest.approx(300 / 200)            # 1.50
    assert c3["dsr"] == pytest.approx(108.3333 / 100, abs=1e-5)
    assert list(table.index) == ["C1", "C2", "C3"]


def test_dsr_today_with_no_net_income_is_infinite():
    loans, clients, bureau = book()
    clients.loc[clients["client_id"] == "C2", "monthly_expenses"] = 700.0
    table = ind.dsr_today(loans, clients, None, "2024-04-15")
    assert np.isinf(table.loc["C2", "dsr"])
    assert table.loc["C2", "other_debt_service"] == 0.0


def test_liv_2013_bands():
    # Liv (2013), Cambodia (https://paperzz.com/doc/8184606/study-on-the-drivers-of-over-
    # indebtedness-of-microfinance): debt service over net income of 75% or less is solvent,
    # 76-100% at risk, above 100% insolvent.
    bands = ind.liv_band([0.10, 0.75, 0.7501, 0.90, 1.00, 1.0001, np.nan])
    assert bands.iloc[:6].tolist() == ["solvent", "solvent", "at_risk", "at_risk", "at_risk",
                                       "insolvent"]
    assert pd.isna(bands.iloc[6])
    assert bands.cat.ordered


def test_share_above_named_thresholds():
    dsr = pd.Series([0.2, 0.5, 0.6, 0.8, 1.0, 1.3, np.nan])
    # RBI microfinance directions 2022: repayments capped at 50% of household income
    # (https://rbi.org.in/Scripts/BS_ViewMasDirections.aspx?id=12256): 0.6, 0.8, 1.0, 1.3 of
    # the six known values are above 0.5 -> 4 / 6 (0.5 itself is at the cap, not above).
    assert ind.share_above(dsr, "rbi_2022") == pytest.approx(4 / 6)
    assert ind.share_above(dsr, "liv_at_risk") == pytest.approx(3 / 6)
    assert ind.share_above(dsr, "liv_insolvent") == pytest.approx(1 / 6)
    assert ind.share_above(dsr, 0.55) == pytest.approx(4 / 6)
    groups = pd.Series(["a", "a", "a", "b", "b", "b", "b"])
    per_group = ind.share_above(dsr, 0.75, by=groups)
    assert per_group.to_dict() == {"a": 0.0, "b": 1.0}


def test_dsr_at_approval_from_loans_and_applications():
    loans, _, _ = book()
    assert ind.dsr_at_approval(loans)["L3"] == 1.2
    applications = pd.DataFrame({"application_id": ["A1"], "dsr": [0.45]})
    assert ind.dsr_at_approval(applications).to_dict() == {"A1": 0.45}


def test_repayment_capacity():
    # income 1000 - expenses 600 = 400 net; minus 320 of debt service
    assert ind.repayment_capacity(1000.0, 600.0, 320.0) == 80.0


def test_lenders_and_multiple_borrowing_by_hand():
    loans, clients, bureau = book()
    lenders = ind.lenders_per_client(loans, bureau, "2024-04-15")
    # C1: own + X (two records, one lender) = 2; C2: own + Z = 2; C3: own only = 1
    assert lenders.to_dict() == {"C1": 2, "C2": 2, "C3": 1}
    summary = ind.multiple_borrowing(loans, bureau, "2024-04-15", cap=1)
    assert summary["borrowers"] == 3
    assert summary["share_2plus"] == pytest.approx(2 / 3)
    assert summary["share_3plus"] == 0.0
    assert summary["share_over_cap"] == pytest.approx(2 / 3)
    by_branch = ind.multiple_borrowing(loans, bureau, "2024-04-15", by="branch_id",
                                       clients=clients)
    assert by_branch.loc["B1", "share_2plus"] == 1.0
    assert by_branch.loc["B2", "share_2plus"] == 0.0
    # on 15 Feb 2024 C1 also owes Y: own + X + Y = 3
    assert ind.lenders_per_client(loans, bureau, "2024-02-15")["C1"] == 3


def test_mfin_lender_cap_is_three_from_2025():
    # MFIN guardrails (business-standard.com, Nov 2024): at most 4 lenders, 3 from April 2025
    assert ind.MFIN_LENDER_CAP == 3


def test_loan_growth_by_hand():
    loans, _, _ = book()
    growth = ind.loan_growth(loans)
    # only C1 has two cycles: 1500 / 1000
    assert growth["growth"].tolist() == [1.5]
    assert growth["branch_id"].tolist() == ["B1"]
    more = pd.DataFrame({"client_id": ["A", "A", "B", "B", "B"], "cycle": [1, 2, 1, 2, 3],
                         "amount": [100.0, 200.0, 100.0, 120.0, 150.0],
                         "branch_id": ["X", "X", "Y", "Y", "Y"]})
    pairs = ind.loan_growth(more)
    # A: 2.0; B: 1.2 then 1.25
    assert sorted(pairs["growth"].round(4).tolist()) == [1.2, 1.25, 2.0]
    summary = ind.summarise_loan_growth(pairs, "branch_id")
    assert summary.loc["X", "share_fast"] == 1.0
    assert summary.loc["Y", "median_growth"] == pytest.approx(1.225)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=50),
       st.floats(0, 2), st.floats(0, 2))
def test_share_above_does_not_rise_with_threshold(values, a, b):
    series = pd.Series(values)
    low, high = sorted((a, b))
    assert 0.0 <= ind.share_above(series, high) <= ind.share_above(series, low) <= 1.0


def test_errors_are_clear():
    loans, clients, bureau = book()
    with pytest.raises(ValueError, match="'monthly_expenses'"):
        ind.dsr_today(loans, clients.drop(columns="monthly_expenses"), bureau, "2024-04-15")
    with pytest.raises(ValueError, match="empty"):
        ind.dsr_today(loans.iloc[0:0], clients, bureau, "2024-04-15")
    with pytest.raises(ValueError, match="as_of is required"):
        ind.dsr_today(loans, clients, bureau, None)
    with pytest.raises(ValueError, match="Unknown threshold"):
        ind.share_above(pd.Series([0.5]), "rbi")
    with pytest.raises(TypeError, match="numeric"):
        ind.share_above(pd.Series(["a"]), 0.5)
    with pytest.raises(ValueError, match="neither"):
        ind.dsr_at_approval(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="No client had an active loan"):
        ind.multiple_borrowing(loans, bureau, "2010-01-01")
    with pytest.raises(ValueError, match="positive"):
        ind.monthly_equivalent(10.0, 0)
    with pytest.raises(ValueError, match="clients=..."):
        ind.multiple_borrowing(loans, bureau, "2024-04-15", by="branch_id")


# --- smoke tests on the default scenario ---------------------------------------------------------


def test_default_scenario_indebtedness(mfi):
    from clientprotection.portfolio import infer_snapshot_date

    loans, clients, bureau = mfi["loans"], mfi["clients"], mfi["bureau"]
    as_of = infer_snapshot_date(mfi["schedule"])
    table = ind.dsr_today(loans, clients, bureau, as_of)
    assert len(table) > 0 and (table["debt_service"] > 0).all()
    assert set(table.index) <= set(clients["client_id"])
    bands = ind.liv_band(table["dsr"])
    assert bands.notna().all()
    summary = ind.multiple_borrowing(loans, bureau, as_of)
    assert 1 >= summary["share_2plus"] >= summary["share_3plus"] >= summary["share_4plus"] >= 0
    growth = ind.summarise_loan_growth(ind.loan_growth(loans), "branch_id")
    assert (growth["median_growth"] > 0).all()
    assert 0 <= ind.share_above(ind.dsr_at_approval(loans), "liv_at_risk") <= 1
