"""The DSR-cap explorer of module 02: hand-computed cases, properties, and the real data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientprotection.explorers.overindebtedness import (
    CAP_RANGE,
    IMPACT_COLUMNS,
    bad_loans,
    dsr_cap_curve,
    dsr_cap_impact,
)


@pytest.fixture
def loans() -> pd.DataFrame:
    # Six loans, values chosen so that every rule is exercised once:
    # L2 late today, L3 restructured, L4 exactly at 0.75 (a cap of 0.75 lets it through),
    # L5 repaid but once 35 days late (visible only in the schedule), L6 no recorded ratio.
    return pd.DataFrame(
        {
            "loan_id": ["L1", "L2", "L3", "L4", "L5", "L6"],
            "branch_id": ["B1", "B1", "B1", "B2", "B2", "B2"],
            "dsr_at_approval": [0.40, 0.80, 1.20, 0.75, 0.95, np.nan],
            "amount": [1000.0, 2000.0, 1500.0, 500.0, 800.0, 700.0],
            "outstanding": [0.0, 1500.0, 1200.0, 300.0, 0.0, 700.0],
            "days_late": [0, 45, 0, 10, 0, 90],
            "status": ["repaid", "active", "active", "active", "repaid", "active"],
            "restructured": [False, False, True, False, False, False],
            "written_off": [False] * 6,
        }
    )


@pytest.fixture
def schedule() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "loan_id": ["L1", "L1", "L5", "L5", "L5"],
            "instalment_no": [1, 2, 1, 2, 3],
            "days_late": [0, 3, 0, 35, 0],
        }
    )


def test_bad_loans_from_snapshot_and_schedule(loans, schedule):
    assert bad_loans(loans).tolist() == [False, True, True, False, False, True]
    assert bad_loans(loans, schedule).tolist() == [False, True, True, False, True, True]
    # a higher threshold drops L2 (45 days) but keeps L6 (90) and the restructured L3
    assert bad_loans(loans, late_days=60).tolist() == [False, False, True, False, False, True]


def test_cap_075_hand_computed(loans):
    r = dsr_cap_impact(loans, cap=0.75)
    # blocked: L2 (0.80), L3 (1.20), L5 (0.95); L4 at exactly 0.75 passes; L6 unknown passes
    assert r["blocked"] == 3
    assert r["blocked_share"] == pytest.approx(3 / 6)
    assert r["blocked_amount"] == pytest.approx(2000 + 1500 + 800)
    # bad without the schedule: L2 (45 days), L3 (restructured), L6 (90 days)
    assert r["bad_loans"] == 3
    assert r["bad_blocked"] == 2
    assert r["bad_avoided_share"] == pytest.approx(2 / 3)
    assert r["outstanding_avoided"] == pytest.approx(1500 + 1200)
    assert r["good_blocked"] == 1  # L5 repaid without trouble on the snapshot
    assert r["bad_rate_blocked"] == pytest.approx(2 / 3)
    assert r["bad_rate_kept"] == pytest.approx(1 / 3)  # L6 among L1, L4, L6
    assert set(r) == set(IMPACT_COLUMNS)


def test_schedule_reveals_past_arrears(loans, schedule):
    r = dsr_cap_impact(loans, cap=0.75, schedule=schedule)
    assert (r["bad_loans"], r["bad_blocked"], r["good_blocked"]) == (4, 3, 0)
    assert r["bad_rate_blocked"] == pytest.approx(1.0)
    # L5 is repaid: nothing of it is outstanding, so the avoided balance does not change
    assert r["outstanding_avoided"] == pytest.approx(2700.0)


def test_higher_cap_blocks_less(loans):
    r = dsr_cap_impact(loans, cap=1.0)
    assert (r["blocked"], r["bad_blocked"], r["outstanding_avoided"]) == (1, 1, 1200.0)
    r = dsr_cap_impact(loans, cap=1.5)
    assert r["blocked"] == 0 and math.isnan(r["bad_rate_blocked"])
    assert r["bad_rate_kept"] == pytest.approx(3 / 6)


def test_by_branch(loans):
    table = dsr_cap_impact(loans, cap=0.75, by="branch_id")
    assert list(table.columns) == list(IMPACT_COLUMNS)
    assert table.index.tolist() == ["B1", "B2"]
    assert table.loc["B1", ["loans", "blocked", "bad_blocked"]].tolist() == [3, 2, 2]
    assert table.loc["B2", ["loans", "blocked", "bad_blocked", "good_blocked"]].tolist() == [
        3, 1, 0, 1,
    ]
    assert table.loc["B1", "outstanding_avoided"] == pytest.approx(2700.0)
    total = dsr_cap_impact(loans, cap=0.75)
    for column in ("loans", "blocked", "bad_loans", "bad_blocked", "outstanding_avoided"):
        assert table[column].sum() == pytest.approx(total[column])


def test_curve_matches_single_calls(loans, schedule):
    caps = [0.3, 0.75, 0.9, 1.5]
    curve = dsr_cap_curve(loans, caps, schedule=schedule)
    for row, cap in zip(curve.to_dict("records"), caps, strict=True):
        single = dsr_cap_impact(loans, cap, schedule=schedule)
        for key in IMPACT_COLUMNS:
            assert row[key] == pytest.approx(single[key], nan_ok=True), (cap, key)
    default = dsr_cap_curve(loans)
    assert default["cap"].iloc[0] == pytest.approx(CAP_RANGE[0])
    assert default["cap"].iloc[-1] == pytest.approx(CAP_RANGE[1])


@pytest.mark.parametrize("cap", [0, -0.5, float("nan"), float("inf")])
def test_rejects_impossible_caps(loans, cap):
    with pytest.raises(ValueError, match="cap must be a positive"):
        dsr_cap_impact(loans, cap)


@pytest.mark.parametrize("cap", ["high", None, True])
def test_rejects_non_numeric_caps(loans, cap):
    with pytest.raises(TypeError, match="cap must be a number"):
        dsr_cap_impact(loans, cap)


def test_clear_errors_for_wrong_tables(loans):
    with pytest.raises(ValueError, match="dsr_at_approval"):
        dsr_cap_impact(loans.drop(columns="dsr_at_approval"), 0.75)
    with pytest.raises(ValueError, match="empty"):
        dsr_cap_impact(loans.iloc[:0], 0.75)
    with pytest.raises(TypeError, match="DataFrame"):
        dsr_cap_impact(loans.to_dict(), 0.75)
    with pytest.raises(ValueError, match="late_days"):
        dsr_cap_impact(loans, 0.75, late_days=-1)
    with pytest.raises(ValueError, match="region"):
        dsr_cap_impact(loans, 0.75, by="region")
    with pytest.raises(ValueError, match="caps is empty"):
        dsr_cap_curve(loans, [])


frames = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "dsr": st.lists(st.floats(0.0, 2.0), min_size=n, max_size=n),
            "late": st.lists(st.integers(0, 120), min_size=n, max_size=n),
            "out": st.lists(st.floats(0.0, 5000.0), min_size=n, max_size=n),
        }
    )
)


@settings(max_examples=60, deadline=None)
@given(frames, st.floats(0.3, 1.5), st.floats(0.3, 1.5))
def test_properties_on_random_portfolios(data, cap_a, cap_b):
    n = len(data["dsr"])
    loans = pd.DataFrame(
        {
            "loan_id": [f"L{i}" for i in range(n)],
            "dsr_at_approval": data["dsr"],
            "amount": 1000.0,
            "outstanding": data["out"],
            "days_late": data["late"],
        }
    )
    low, high = sorted((cap_a, cap_b))
    a, b = dsr_cap_impact(loans, low), dsr_cap_impact(loans, high)
    # independent recount
    dsr = np.asarray(data["dsr"])
    late = np.asarray(data["late"]) > 30
    assert a["blocked"] == int((dsr > low).sum())
    assert a["bad_blocked"] == int(((dsr > low) & late).sum())
    # a looser cap never blocks more, never avoids more
    assert b["blocked"] <= a["blocked"]
    assert b["bad_blocked"] <= a["bad_blocked"]
    assert b["outstanding_avoided"] <= a["outstanding_avoided"] + 1e-9
    assert a["bad_blocked"] + a["good_blocked"] == a["blocked"]
    assert a["bad_loans"] == b["bad_loans"]


# --- the real data ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mfi():
    from clientprotection import load_mfi

    return load_mfi()


def test_real_data_is_monotone_in_the_cap(mfi):
    curve = dsr_cap_curve(mfi["loans"], schedule=mfi["schedule"])
    for column in ("blocked", "bad_blocked", "outstanding_avoided", "blocked_amount"):
        steps = np.diff(curve[column].to_numpy(dtype=float))
        assert (steps <= 1e-9).all(), f"{column} grows with the cap"
    assert curve["bad_loans"].nunique() == 1
    loans = mfi["loans"]
    assert curve["blocked"].iloc[0] == int((loans["dsr_at_approval"] > CAP_RANGE[0]).sum())


def test_real_data_high_dsr_loans_go_bad_more_often(mfi):
    # the planted problem: loans approved over Liv's 75% threshold go bad more often
    r = dsr_cap_impact(mfi["loans"], 0.75, schedule=mfi["schedule"])
    assert r["blocked"] > 0
    assert r["bad_rate_blocked"] > r["bad_rate_kept"]


def test_real_data_by_branch_adds_up(mfi):
    table = dsr_cap_impact(mfi["loans"], 0.75, by="branch_id")
    total = dsr_cap_impact(mfi["loans"], 0.75)
    assert set(table.index) == set(mfi["loans"]["branch_id"].unique())
    for column in ("loans", "blocked", "bad_blocked"):
        assert int(table[column].sum()) == total[column]


def test_precomputed_flags_give_the_same_answer(loans, schedule):
    flags = bad_loans(loans, schedule)
    assert dsr_cap_impact(loans, 0.9, went_bad=flags) == dsr_cap_impact(
        loans, 0.9, schedule=schedule
    )
    with pytest.raises(ValueError, match="went_bad"):
        dsr_cap_impact(loans, 0.9, went_bad=flags.iloc[:3])
