"""Complaints: rates per 1,000 clients, handling times, overdue cases, monthly trends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clientprotection import complaints as cp

D = pd.to_datetime


def cases() -> pd.DataFrame:
    return pd.DataFrame({
        "complaint_id": ["K1", "K2", "K3", "K4", "K5"],
        "branch_id": ["B1", "B1", "B2", "B2", "B2"],
        "channel": ["hotline", "sms", "hotline", "branch_desk", "sms"],
        "category": ["collection_practices", "pricing_fees", "collection_practices",
                     "service_delay", "collection_practices"],
        "received_on": D(["2024-01-02", "2024-01-10", "2024-02-05", "2024-03-01", "2024-03-20"]),
        "acknowledged_on": D(["2024-01-03", "2024-01-20", "2024-02-06", None, "2024-03-21"]),
        "resolved_on": D(["2024-01-12", "2024-02-20", None, None, "2024-03-25"]),
    })


def test_handling_times_calendar_days_with_open_cases_to_as_of():
    times = cp.handling_times(cases(), as_of="2024-03-31")
    # K1: ack 1 day, resolved 10 days; K2: 10 and 41 (10 Jan -> 20 Feb);
    # K3: ack 1, still open on 31 Mar: 5 Feb -> 31 Mar = 55 days;
    # K4: nothing done: 30 days to 31 Mar for both; K5: 1 and 5.
    assert times["days_to_acknowledge"].tolist() == [1, 10, 1, 30, 1]
    assert times["days_to_resolve"].tolist() == [10, 41, 55, 30, 5]
    assert times["resolved"].tolist() == [True, True, False, False, True]
    assert times["acknowledged"].tolist() == [True, True, True, False, True]


def test_overdue_against_cbb_targets_5_and_20_days():
    # Central Bank of Bahrain rulebook BC-2.3.2 (https://cbben.thomsonreuters.com/rulebook/
    # bc-232-8): acknowledge within 5 business days, final answer within 20.
    assert (cp.ACKNOWLEDGE_WITHIN_DAYS, cp.RESOLVE_WITHIN_DAYS) == (5, 20)
    flags = cp.overdue(cases(), as_of="2024-03-31")
    # acknowledge > 5 days: K2 (10), K4 (30 and counting)
    assert flags["acknowledge_overdue"].tolist() == [False, True, False, True, False]
    # resolve > 20 days: K2 (41), K3 (55, open), K4 (30, open)
    assert flags["resolve_overdue"].tolist() == [False, True, True, True, False]
    assert flags["open_overdue"].tolist() == [False, False, True, True, False]
    # targets are parameters: with 45 days to resolve only K3 is late
    lenient = cp.overdue(cases(), as_of="2024-03-31", resolve_within=45)
    assert lenient["resolve_overdue"].tolist() == [False, False, True, False, False]


def test_business_days_with_a_bahrain_week_and_a_holiday():
    one = pd.DataFrame({"received_on": D(["2024-03-07"]),   # a Thursday
                        "acknowledged_on": D(["2024-03-14"]),  # the next Thursday
                        "resolved_on": D(["2024-03-14"])})
    # Monday-Friday week: Fri 8, Mon 11, Tue 12, Wed 13, Thu 14 -> 5 business days
    assert cp.handling_times(one, business_days=True)["days_to_acknowledge"].iloc[0] == 5
    # Bahrain (Sunday-Thursday): Sun 10, Mon 11, Tue 12, Wed 13, Thu 14 -> 5 as well;
    # with 12 March a holiday -> 4
    bahrain = "Sun Mon Tue Wed Thu"
    assert cp.handling_times(one, business_days=True, weekmask=bahrain,
                             holidays=["2024-03-12"])["days_to_acknowledge"].iloc[0] == 4
    # from Thursday 7 to Saturday 9 March: Friday counts Mon-Fri, not in Bahrain
    weekend = one.assign(acknowledged_on=D(["2024-03-09"]))
    assert cp.handling_times(weekend, business_days=True)["days_to_acknowledge"].iloc[0] == 1
    assert cp.handling_times(weekend, business_days=True,
                             weekmask=bahrain)["days_to_acknowledge"].iloc[0] == 0
    # the independent numpy count agrees (days after receipt, up to and including the date)
    assert np.busday_count("2024-03-08", "2024-03-15") == 5


def test_complaint_rate_per_1000_clients_a_year():
    # 5 complaints from (31 Dec 2023, 31 Mar 2024] = 91 days, 2,000 clients:
    # 5 / 2000 * 1000 * 365 / 91 = 10.03 per 1,000 clients a year
    rate = cp.complaint_rate(cases(), 2000, start="2023-12-31", end="2024-03-31")
    assert rate == pytest.approx(5 / 2000 * 1000 * 365 / 91)
    # not annualised: 2.5 per 1,000 in the quarter
    assert cp.complaint_rate(cases(), 2000, start="2023-12-31", end="2024-03-31",
                             annualise=False) == pytest.approx(2.5)


def test_complaint_rate_by_branch_uses_branch_client_base():
    clients = pd.DataFrame({"client_id": [f"C{i}" for i in range(5)],
                            "branch_id": ["B1", "B1", "B1", "B1", "B2"]})
    rate = cp.complaint_rate(cases(), clients, by="branch_id", start="2023-12-31",
                             end="2024-03-31", annualise=False, per=1)
    # B1: 2 complaints / 4 clients; B2: 3 / 1
    assert rate.to_dict() == {"B1": 0.5, "B2": 3.0}
    # channel is not a client attribute: the whole base (5 clients) is used
    by_channel = cp.complaint_rate(cases(), clients, by="channel", start="2023-12-31",
                                   end="2024-03-31", annualise=False, per=1)
    assert by_channel["hotline"] == pytest.approx(2 / 5)


def test_handling_summary_per_category():
    summary = cp.handling_summary(cases(), "category", as_of="2024-03-31")
    row = summary.loc["collection_practices"]
    # K1, K3, K5: 3 complaints; resolved K1 (10) and K5 (5): median 7.5; K3 open and overdue
    assert row["complaints"] == 3
    assert row["median_days_to_resolve"] == 7.5
    assert row["share_resolved"] == pytest.approx(2 / 3)
    assert row["open_overdue"] == 1
    overall = cp.handling_summary(cases(), as_of="2024-03-31")
    assert overall["complaints"] == 5


def test_monthly_trend_fills_empty_months():
    trend = cp.monthly_trend(cases())
    assert [str(p) for p in trend.index] == ["2024-01", "2024-02", "2024-03"]
    assert trend["collection_practices"].tolist() == [1, 1, 1]
    assert trend["service_delay"].tolist() == [0, 0, 1]
    gap = cases().assign(received_on=D(["2024-01-02", "2024-01-10", "2024-04-05", "2024-04-06",
                                        "2024-04-07"]))
    totals = cp.monthly_trend(gap, by=None)
    assert totals.tolist() == [2, 0, 0, 3]


def test_errors_are_clear():
    with pytest.raises(ValueError, match="'resolved_on'"):
        cp.handling_times(cases().drop(columns="resolved_on"))
    with pytest.raises(ValueError, match="empty"):
        cp.overdue(cases().iloc[0:0])
    bad = cases().assign(resolved_on=D(["2023-01-01", None, None, None, None]))
    with pytest.raises(ValueError, match="before received_on"):
        cp.handling_times(bad)
    with pytest.raises(ValueError, match="received after as_of"):
        cp.handling_times(cases(), as_of="2024-02-01")
    with pytest.raises(ValueError, match="whole number"):
        cp.overdue(cases(), resolve_within=-3)
    with pytest.raises(TypeError, match="clients must be"):
        cp.complaint_rate(cases(), "many")
    with pytest.raises(TypeError, match="dates"):
        cp.monthly_trend(cases().assign(received_on=["soon"] * 5))


# --- smoke tests on the default scenario ---------------------------------------------------------


def test_default_scenario_complaints(mfi):
    complaints = mfi["complaints"]
    times = cp.handling_times(complaints)
    assert (times[["days_to_acknowledge", "days_to_resolve"]] >= 0).all().all()
    summary = cp.handling_summary(complaints, "category")
    assert summary["complaints"].sum() == len(complaints)
    trend = cp.monthly_trend(complaints)
    assert trend.to_numpy().sum() == len(complaints)
    rate = cp.complaint_rate(complaints, mfi["clients"], by="branch_id")
    assert (rate >= 0).all()
