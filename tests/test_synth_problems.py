"""Each planted problem is found by a simple pandas analysis, and is gone when switched off.

The analyses below are written independently of the generator and of the answer key; they
are the checks a learner would run. The answer key is then compared with them.
"""

from __future__ import annotations

import json

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest

from clientprotection.synth import generate, load_scenario

SCENARIO = load_scenario("default")
SNAPSHOT = pd.Timestamp(SCENARIO.snapshot_date)
_CACHE: dict[str, object] = {}


def mfi(disabled: str | None = None):
    """The default MFI, or the same with one problem switched off (cached per module)."""
    key = disabled or "all"
    if key not in _CACHE:
        scenario = SCENARIO
        if disabled:
            scenario = SCENARIO.with_overrides({f"problems.{disabled}.enabled": False})
        _CACHE[key] = generate(scenario)
    return _CACHE[key]


def par30(loans):
    act = loans[loans["status"] == "active"]
    return act.loc[(act["days_late"] > 30) | act["restructured"], "outstanding"].sum() / act[
        "outstanding"].sum()


# ---------------------------------------------------------------------------- the analyses


def seasonal_late_ratio(t):
    """Where arrears start: share of loans whose first instalment more than 7 days late fell
    due in the lean months (January-March), P5 over the median of the other products."""
    rows = t["schedule"].merge(t["loans"][["loan_id", "product_id"]], on="loan_id")
    rows = rows[(rows["due_on"] < SNAPSHOT) & (rows["days_late"] > 7)]
    first = rows.groupby("loan_id").first()
    lean = first["due_on"].dt.month.isin([1, 2, 3]).groupby(first["product_id"]).mean()
    return lean["P5"] / lean.drop("P5").median()


def branch_dsr_gap(t):
    loans = t["loans"]
    over = loans["dsr_at_approval"] > 0.75
    in_b = loans["branch_id"] == "B04"
    apps = t["applications"]
    checked = apps.groupby(apps["branch_id"] == "B04")["bureau_checked"].mean()
    return over[in_b].mean() - over[~in_b].mean(), checked[False] - checked[True]


def apr_of_loan(t, loan_id):
    """APR on net disbursed from the schedule itself (numpy-financial IRR)."""
    loan = t["loans"].set_index("loan_id").loc[loan_id]
    rows = t["schedule"][t["schedule"]["loan_id"] == loan_id]
    flows = -(rows["principal_due"] + rows["interest_due"] + rows["fees_due"]).to_numpy()
    product = t["products"].set_index("product_id").loc[loan["product_id"]]
    years = loan["term"] / loan["periods_per_year"]
    flows[-1] += loan["compulsory_savings"] * (1 + product["savings_interest"] * years)
    flows = np.r_[loan["net_disbursed"], flows]
    return npf.irr(flows) * loan["periods_per_year"]


def median_loan(t, product_id):
    loans = t["loans"][t["loans"]["product_id"] == product_id]
    order = (loans["amount"] - loans["amount"].median()).abs() + (
        loans["term"] - loans["term"].median()).abs() * 1000
    return loans.loc[order.idxmin(), "loan_id"]


def officer_outside_hours(t):
    col = t["collections"]
    hour = col["action_at"].dt.hour
    outside = (hour < 9) | (hour >= 18)
    stats = outside.groupby(col["officer_id"]).agg(["mean", "size"])
    return stats[stats["size"] >= 30]["mean"]


def gap_within_bands(t):
    apps = t["applications"].merge(t["clients"][["client_id", "language_group"]], on="client_id")
    apps["approved"] = apps["decision"] == "approved"
    apps["band"] = pd.cut(apps["risk_score"], [-1, 40, 55, 70, 101])
    rates = apps.groupby(["band", "language_group"], observed=True)["approved"].mean().unstack()
    size = apps[apps["language_group"] == "minority"].groupby("band", observed=True).size()
    return float(((rates["minority"] - rates["majority"]) * size).sum() / size.sum())


def suspicious_staff(t):
    log = t["access_log"]
    home = t["officers"].set_index("officer_id")["branch_id"]
    branch = t["clients"].set_index("client_id")["branch_id"]
    hour = log["accessed_at"].dt.hour
    odd = ((hour >= 22) | (hour < 6)) & log["purpose"].isna() & (
        log["client_id"].map(branch) != log["officer_id"].map(home)) & log["officer_id"].map(
        home).notna()
    counts = odd.groupby(log["officer_id"]).sum()
    return counts[counts > 50]


def checked_without_consent(t):
    apps = t["applications"].merge(t["clients"][["client_id", "consent_data_sharing"]],
                                   on="client_id")
    return int((apps["bureau_checked"] & ~apps["consent_data_sharing"]).sum())


def overdue_resolution(t):
    cmp = t["complaints"]
    days = (cmp["resolved_on"] - cmp["received_on"]).dt.days
    age = (SNAPSHOT - cmp["received_on"]).dt.days
    late = (days > 20) | (days.isna() & (age > 20))
    sel = (cmp["branch_id"] == "B06") | (cmp["channel"] == "suggestion_box")
    return late[sel].mean(), late[~sel].mean()


def pricing_complaints_ratio(t):
    """Share of pricing complaints among all complaints after the P3 launch over before."""
    cmp = t["complaints"]
    pricing = cmp["category"] == "pricing_fees"
    after = cmp["received_on"] >= pd.Timestamp("2023-04-01")
    return pricing[after].mean() / pricing[~after].mean()


# ---------------------------------------------------------------------------- the tests


def test_1_seasonal_product():
    assert seasonal_late_ratio(mfi().tables) > 1.6
    assert seasonal_late_ratio(mfi("seasonal_product").tables) < 1.3
    loans = mfi().tables["loans"]
    seq = loans.sort_values(["client_id", "disbursed_on"])
    left = ~seq["client_id"].eq(seq["client_id"].shift(-1))
    done = (seq["status"] == "repaid") & (seq["maturity_on"] < SNAPSHOT - pd.Timedelta(days=120))
    drop = left[done].groupby(seq.loc[done, "product_id"]).mean()
    assert drop["P5"] > drop.drop("P5").max()


def test_2_over_indebtedness_branch():
    dsr_gap, check_gap = branch_dsr_gap(mfi().tables)
    assert dsr_gap > 0.10 and check_gap > 0.3
    dsr_gap, check_gap = branch_dsr_gap(mfi("over_indebtedness").tables)
    assert abs(dsr_gap) < 0.04 and abs(check_gap) < 0.08
    t = mfi().tables
    assert (t["branches"].set_index("branch_id").loc["B04", "incentive_scheme"]
            == "disbursement_volume")
    loans = t["loans"]
    assert par30(loans[loans["branch_id"] == "B04"]) > 1.5 * par30(loans[loans["branch_id"]
                                                                         != "B04"])
    off = mfi("over_indebtedness").tables
    assert "disbursement_volume" not in set(off["branches"]["incentive_scheme"])


def test_3_hidden_costs():
    t = mfi().tables
    advertised = 0.015 * 12
    assert apr_of_loan(t, median_loan(t, "P3")) - advertised > 0.6
    kfs = t["loans"].groupby(t["loans"]["product_id"] == "P3")["key_facts_given"].mean()
    assert kfs[True] < 0.6 and kfs[False] > 0.9
    off = mfi("hidden_costs").tables
    assert apr_of_loan(off, median_loan(off, "P3")) - advertised < 0.35
    kfs = off["loans"].groupby(off["loans"]["product_id"] == "P3")["key_facts_given"].mean()
    assert abs(kfs[True] - kfs[False]) < 0.05


def test_4_pricing_outlier():
    for disabled, expect_outlier in ((None, True), ("pricing_outlier", False)):
        t = mfi(disabled).tables
        aprs = {p: apr_of_loan(t, median_loan(t, p)) for p in ("P1", "P2", "P4", "P5", "P6")}
        others = np.median([v for p, v in aprs.items() if p != "P6"])
        assert bool(aprs["P6"] > 1.8 * others) is expect_outlier, aprs


def test_5_harsh_collection_officers():
    shares = officer_outside_hours(mfi().tables)
    flagged = sorted(shares[shares > 0.25].index)
    assert flagged == mfi().answer_key["problems"]["harsh_collection"]["officer_ids"]
    assert shares.drop(flagged).max() < 0.12
    cmp = mfi().tables["complaints"]
    coll = cmp[cmp["category"] == "collection_practices"]
    assert coll["officer_id"].isin(flagged).mean() > 0.5
    assert officer_outside_hours(mfi("harsh_collection").tables).max() < 0.12


def test_5_approval_gap_not_explained_by_risk():
    assert gap_within_bands(mfi().tables) < -0.07
    assert abs(gap_within_bands(mfi("approval_gap").tables)) < 0.03


def test_6_unauthorised_access():
    found = suspicious_staff(mfi().tables)
    assert list(found.index) == [mfi().answer_key["problems"]["unauthorised_access"][
        "officer_id"]]
    assert len(suspicious_staff(mfi("unauthorised_access").tables)) == 0


def test_6_bureau_checked_without_consent():
    assert checked_without_consent(mfi().tables) > 100
    assert checked_without_consent(mfi("consent_violation").tables) == 0


def test_7_complaints_backlog():
    late_sel, late_rest = overdue_resolution(mfi().tables)
    assert late_sel > 0.4 and late_rest < 0.1
    late_sel, late_rest = overdue_resolution(mfi("complaints_backlog").tables)
    assert late_sel < 0.1


def test_7_pricing_complaints_rise_after_launch():
    assert pricing_complaints_ratio(mfi().tables) > 2
    assert pricing_complaints_ratio(mfi("pricing_complaints").tables) < 1.5


def test_answer_key_agrees_with_recomputation():
    t, key = mfi().tables, mfi().answer_key
    json.dumps(key)  # serialisable
    again = generate(SCENARIO, n_clients=400).answer_key
    assert list(again) == list(key) and list(again["problems"]) == list(key["problems"])
    problems = key["problems"]
    assert key["portfolio"]["par30"] == pytest.approx(par30(t["loans"]), abs=1e-4)
    dsr_gap, _ = branch_dsr_gap(t)
    p = problems["over_indebtedness"]
    assert p["share_dsr_over_threshold_branch"] - p["share_dsr_over_threshold_others"] == (
        pytest.approx(dsr_gap, abs=1e-3))
    p = problems["hidden_costs"]
    assert p["advertised_apr"] == pytest.approx(0.18)
    assert p["true_apr"] == pytest.approx(apr_of_loan(t, median_loan(t, "P3")), abs=0.05)
    assert p["loans_without_key_facts"] == int(
        ((t["loans"]["product_id"] == "P3") & ~t["loans"]["key_facts_given"]).sum())
    p = problems["unauthorised_access"]
    assert p["night_outside_branch_no_purpose_events_officer"] == int(
        suspicious_staff(t).iloc[0])
    assert problems["consent_violation"]["applications_checked_without_consent"] == (
        checked_without_consent(t))
    late_sel, late_rest = overdue_resolution(t)
    p = problems["complaints_backlog"]
    assert p["overdue_resolution_share_branch_or_channel"] == pytest.approx(late_sel, abs=1e-4)
    assert p["overdue_resolution_share_others"] == pytest.approx(late_rest, abs=1e-4)
    apps = t["applications"].merge(t["clients"], on="client_id")
    raw = (apps["decision"] == "approved").groupby(apps["language_group"]).mean()
    assert problems["approval_gap"]["gap_raw"] == pytest.approx(
        raw["minority"] - raw["majority"], abs=1e-4)
    p = problems["pricing_complaints"]
    assert p["pricing_share_after_launch"] / p["pricing_share_before_launch"] == pytest.approx(
        pricing_complaints_ratio(t), rel=1e-2)
    p = problems["seasonal_product"]
    assert p["first_arrears_in_lean_months_product"] / p[
        "first_arrears_in_lean_months_other_products_median"] == pytest.approx(
        seasonal_late_ratio(t), rel=1e-2)
    for name, problem in problems.items():
        assert problem["enabled"] is True, name
    assert mfi("approval_gap").answer_key["problems"]["approval_gap"]["enabled"] is False
