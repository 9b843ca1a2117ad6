"""The trainer-only answer key: the planted truth and its size, measured on the tables.

Every measure here is a short pandas computation on the generated tables, with its
definition written next to it in the key, so a trainer can re-compute it in a notebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from clientprotection.synth import _amounts
from clientprotection.synth.scenario import Scenario

DSR_THRESHOLD = 0.75  # Liv 2013: above 75% of net income is at risk
WORK_START, WORK_END = 9, 18  # RBI 2022: no recovery calls before 9 a.m. or after 6 p.m.
NIGHT_START, NIGHT_END = 22, 6


def _r(x: Any, digits: int = 4) -> float | None:
    x = float(x)
    return None if np.isnan(x) else round(x, digits)


def par30(loans: pd.DataFrame) -> float:
    """PAR30 (SEEP MFRS): outstanding of active loans over 30 days late or restructured,
    over the outstanding of all active loans."""
    return _par30(loans["status"] == "active", loans)


def _par30(active: Any, loans: pd.DataFrame) -> float:
    total = loans.loc[active, "outstanding"].sum()
    risky_rows = active & ((loans["days_late"] > 30) | loans["restructured"])
    risky = loans.loc[risky_rows, "outstanding"].sum()
    return float(risky / total) if total > 0 else float("nan")


class _Codes:
    """A column factorised once, to compare it with many values cheaply (as ``==`` does)."""

    def __init__(self, column: pd.Series) -> None:
        self.codes, self.uniques = pd.factorize(column)

    def eq(self, value: Any) -> np.ndarray:
        where = np.flatnonzero(np.asarray(self.uniques == value, dtype=bool))
        if len(where) == 0:
            return np.zeros(len(self.codes), bool)
        return self.codes == where[0]


def _positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Row of ``keys`` holding each of ``values`` (a foreign-key lookup)."""
    rows = pd.Index(keys).get_indexer(values)
    if len(rows) and rows.min() < 0:
        raise ValueError(f"{values.name} has values missing from the table it refers to.")
    return rows


def _client_rank(loans: pd.DataFrame) -> np.ndarray:
    """Rank of each loan's client_id in sorted order (missing ids last)."""
    codes, uniques = pd.factorize(loans["client_id"], sort=True)
    return np.where(codes < 0, len(uniques), codes)


def _by_client_and_date(loans: pd.DataFrame, client_rank: np.ndarray | None) -> np.ndarray:
    """The row order of ``loans.sort_values(["client_id", "disbursed_on"])`` (stable)."""
    rank = _client_rank(loans) if client_rank is None else client_rank
    day = loans["disbursed_on"].to_numpy()
    key = np.where(np.isnat(day), np.iinfo(np.int64).max, day.view(np.int64))
    return np.lexsort((key, rank))


def typical_apr(products: pd.DataFrame, loans: pd.DataFrame) -> dict[str, float]:
    """APR (on net disbursed, IRR x periods per year) of each product's median loan."""
    out = {}
    loans = loans[["product_id", "term", "amount"]]
    product = _Codes(loans["product_id"])
    for row in products.itertuples(index=False):  # one row per product
        own = loans[product.eq(row.product_id)]
        if own.empty:
            continue
        term = int(own["term"].median())
        amount = float(own["amount"].median())
        out[row.product_id] = _amounts.loan_apr(
            amount, term, row.rate_yearly, row.periods_per_year,
            method=row.interest_method, balloon=row.frequency == "balloon",
            upfront_fee=row.upfront_fee, fee_per_payment=row.fee_per_payment,
            insurance=row.insurance, compulsory_savings=row.compulsory_savings,
            savings_interest=row.savings_interest, tax_on_interest=row.tax_on_interest)
    return out


def dropout_rate(loans: pd.DataFrame, snapshot: pd.Timestamp, *,
                 client_rank: np.ndarray | None = None) -> pd.Series:
    """Per product: share of loans repaid at least 120 days before the snapshot whose client
    took no later loan.

    ``client_rank`` (optional) ranks each loan's client_id in sorted order, when known.
    """
    rank = _client_rank(loans) if client_rank is None else client_rank
    order = _by_client_and_date(loans, rank)
    client = rank[order]
    has_next = np.r_[client[1:] == client[:-1], False]
    done = ((loans["status"] == "repaid") & (
        loans["maturity_on"] <= snapshot - pd.Timedelta(days=120))).to_numpy()[order]
    frame = pd.DataFrame({"product_id": loans["product_id"].array.take(order[done]),
                          "left": ~has_next[done]})
    return frame.groupby("product_id")["left"].mean()


def cycle_growth(loans: pd.DataFrame, *, client_rank: np.ndarray | None = None) -> pd.DataFrame:
    """Growth of the loan amount from one loan to the client's next (ratio - 1).

    ``client_rank`` (optional) ranks each loan's client_id in sorted order, when known.
    """
    rank = _client_rank(loans) if client_rank is None else client_rank
    order = _by_client_and_date(loans, rank)
    client = rank[order]
    loans = loans.take(order)
    amount = loans["amount"].to_numpy()
    prev = np.full(len(amount), np.nan)
    same_client = np.flatnonzero(client[1:] == client[:-1]) + 1
    prev[same_client] = amount[same_client - 1]
    out = loans.assign(growth=amount / prev - 1)
    return out[~np.isnan(prev)]


def _first_arrears_in_months(sched: pd.DataFrame, loans: pd.DataFrame, snapshot: pd.Timestamp,
                             months: list[int]) -> pd.Series:
    """Per product: share of loans whose first instalment more than 7 days late fell due in
    one of ``months``. Uses the row order (schedule and loans both sorted by loan id)."""
    loan_start = np.flatnonzero(sched["instalment_no"].to_numpy() == 1)
    due = sched["due_on"].to_numpy()
    late = np.flatnonzero((due < snapshot.to_datetime64()) & (sched["days_late"].to_numpy() > 7))
    code = np.searchsorted(loan_start, late, side="right") - 1  # the loan of each late row
    first = late[np.r_[True, code[1:] != code[:-1]]] if len(late) else late
    code = code[np.r_[True, code[1:] != code[:-1]]] if len(late) else code
    month = pd.DatetimeIndex(due[first]).month
    product = loans["product_id"].to_numpy()[code]
    return pd.Series(np.isin(month, months)).groupby(product).mean()


def approval_gap(applications: pd.DataFrame, clients: pd.DataFrame, group: str, *,
                 client_rows: np.ndarray | None = None) -> dict:
    """Approval rate of the group vs the others, raw and within risk-score bands of 20.

    ``client_rows`` (optional) is the row in ``clients`` of each application's client.
    """
    if client_rows is None:
        apps = applications.merge(clients[["client_id", "language_group"]], on="client_id")
    else:
        apps = applications.assign(
            language_group=clients["language_group"].array.take(client_rows))
    apps = apps.assign(approved=apps["decision"] == "approved",
                       target=apps["language_group"] == group,
                       band=np.minimum(apps["risk_score"] // 20, 4))
    raw = apps.groupby("target")["approved"].mean()
    by_band = apps.groupby(["band", "target"])["approved"].mean().unstack()
    weights = apps[apps["target"]].groupby("band").size()
    diff = (by_band[True] - by_band[False]).reindex(weights.index)
    within = float((diff * weights).sum() / weights[diff.notna()].sum())
    return {"approval_rate_group": _r(raw.get(True, np.nan)),
            "approval_rate_others": _r(raw.get(False, np.nan)),
            "gap_raw": _r(raw.get(True, np.nan) - raw.get(False, np.nan)),
            "gap_within_risk_bands": _r(within)}


def outside_hours(times: pd.Series) -> pd.Series:
    hour = times.dt.hour
    return (hour < WORK_START) | (hour >= WORK_END)


def night(times: pd.Series) -> pd.Series:
    hour = times.dt.hour
    return (hour >= NIGHT_START) | (hour < NIGHT_END)


def table_links(t: Mapping[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Rows that the answer key looks up across tables, found from the ids.

    ``loan_client``, ``application_client`` and ``access_client``: row in ``clients``;
    ``access_officer``: row in ``officers``; ``loan_client_rank``: rank of the loan's
    client_id in sorted order.

    Examples
    --------
    >>> from clientprotection.synth import generate
    >>> mfi = generate("default", n_clients=300, seed=1)
    >>> links = table_links(mfi.tables)
    >>> bool((mfi.tables["clients"]["client_id"].to_numpy()[links["loan_client"]]
    ...       == mfi.tables["loans"]["client_id"].to_numpy()).all())
    True
    """
    clients, officers = t["clients"]["client_id"], t["officers"]["officer_id"]
    loan_client = _positions(t["loans"]["client_id"], clients)
    sorted_clients = pd.Index(clients).is_monotonic_increasing
    return {
        "loan_client": loan_client,
        "loan_client_rank": loan_client if sorted_clients else _client_rank(t["loans"]),
        "application_client": _positions(t["applications"]["client_id"], clients),
        "access_client": _positions(t["access_log"]["client_id"], clients),
        "access_officer": _positions(t["access_log"]["officer_id"], officers),
    }


def build_answer_key(sc: Scenario, t: dict[str, pd.DataFrame], planted: dict[str, Any],
                     seed: int, links: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    """The planted truth for each problem, with its size measured on the tables.

    ``links`` holds the cross-table rows of :func:`table_links` when the caller already has
    them (the generator does); they are found from the ids otherwise.
    """
    loans, apps, clients = t["loans"], t["applications"], t["clients"]
    links = table_links(t) if links is None else links
    loan_product = _Codes(loans["product_id"])
    active = _Codes(loans["status"]).eq("active")
    risk = loans[["outstanding", "days_late", "restructured"]].assign(active=active)

    def par(rows: Any = None) -> float | None:
        part = risk if rows is None else risk[rows]
        return _r(_par30(part["active"], part))

    snapshot = pd.Timestamp(sc.snapshot_date)
    key: dict[str, Any] = {
        "scenario": sc.name, "seed": int(seed), "snapshot_date": sc.snapshot_date.isoformat(),
        "definitions": {
            "par30": "outstanding of active loans with days_late > 30 or restructured, over the "
                     "outstanding of all active loans (SEEP MFRS)",
            "dsr_threshold": DSR_THRESHOLD,
            "outside_hours": f"before {WORK_START}:00 or from {WORK_END}:00 (RBI 2022)",
            "night": f"from {NIGHT_START}:00 to {NIGHT_END}:00",
            "apr": "periodic IRR of the borrower's flows on the net disbursed amount x periods "
                   "per year, for the product's median amount and term",
            "overdue_acknowledgement": "not acknowledged within the target (calendar days), or "
                                       "never when the target has passed by the snapshot",
            "overdue_resolution": "not resolved within the target, or still open past it",
            "first_arrears_in_lean_months": "share of loans whose first instalment more than 7 "
                                            "days late fell due in a lean month",
            "pricing_share": "pricing_fees complaints over all complaints received",
        },
        "portfolio": {"par30": par(), "active_loans": int(active.sum()), "loans": len(loans),
                      "clients": len(clients)},
        "problems": {},
    }
    problems = key["problems"]
    for name, problem in sc.problems.items():
        problems[name] = {"principle": problem.principle, "enabled": problem.enabled,
                          "strength": problem.strength, "description": problem.description}

    # 1 product design: seasonal product
    p = sc.problems["seasonal_product"]
    pid = p["product"]
    sched = t["schedule"]
    lean_share = _first_arrears_in_months(sched, loans, snapshot, list(p["lean_months"]))
    drop = dropout_rate(loans, snapshot, client_rank=links["loan_client_rank"])
    problems["seasonal_product"].update({
        "product_id": pid, "lean_months": list(p["lean_months"]),
        "par30_product": par(loan_product.eq(pid)),
        "par30_other_products": par(~loan_product.eq(pid)),
        "first_arrears_in_lean_months_product": _r(lean_share.get(pid, np.nan)),
        "first_arrears_in_lean_months_other_products_median": _r(
            lean_share.drop(pid, errors="ignore").median()),
        "dropout_product": _r(drop.get(pid, np.nan)),
        "dropout_other_products": _r(drop.drop(pid, errors="ignore").mean()),
    })

    # 2 over-indebtedness
    p = sc.problems["over_indebtedness"]
    bid = p["branch"]
    in_b = loans["branch_id"] == bid
    over = loans["dsr_at_approval"] > DSR_THRESHOLD
    growth = cycle_growth(loans[["client_id", "disbursed_on", "amount", "branch_id"]],
                          client_rank=links["loan_client_rank"])
    clean_growth = growth["growth"]
    apps_b = apps["branch_id"] == bid
    approved = apps["decision"] == "approved"
    officers = t["officers"]
    problems["over_indebtedness"].update({
        "branch_id": bid,
        "officer_ids": officers.loc[(officers["branch_id"] == bid)
                                    & (officers["role"] == "loan_officer"),
                                    "officer_id"].tolist(),
        "incentive_scheme": t["branches"].set_index("branch_id").loc[bid, "incentive_scheme"],
        "share_dsr_over_threshold_branch": _r(over[in_b].mean()),
        "share_dsr_over_threshold_others": _r(over[~in_b].mean()),
        "median_growth_per_cycle_branch": _r(clean_growth[growth["branch_id"] == bid].median()),
        "median_growth_per_cycle_others": _r(clean_growth[growth["branch_id"] != bid].median()),
        "bureau_checked_share_branch": _r(apps.loc[apps_b, "bureau_checked"].mean()),
        "bureau_checked_share_others": _r(apps.loc[~apps_b, "bureau_checked"].mean()),
        "multiple_borrowing_share_branch": _r(
            (apps.loc[apps_b & approved & apps["bureau_checked"], "other_lenders"] > 0).mean()),
        "multiple_borrowing_share_others": _r(
            (apps.loc[~apps_b & approved & apps["bureau_checked"], "other_lenders"] > 0).mean()),
        "par30_branch": par(in_b),
        "par30_others": par(~in_b),
    })

    # 3 transparency: hidden costs
    p = sc.problems["hidden_costs"]
    pid = p["product"]
    products = t["products"]
    aprs = typical_apr(products, loans)
    advertised = products.set_index("product_id")["advertised_rate_monthly"] * 12
    in_p = loan_product.eq(pid)
    problems["hidden_costs"].update({
        "product_id": pid,
        "advertised_apr": _r(advertised[pid]),
        "true_apr": _r(aprs.get(pid, np.nan)),
        "apr_gap": _r(aprs.get(pid, np.nan) - advertised[pid]),
        "apr_gap_other_products_median": _r(np.median(
            [aprs[q] - advertised[q] for q in aprs if q != pid])),
        "key_facts_share_product": _r(loans.loc[in_p, "key_facts_given"].mean()),
        "key_facts_share_others": _r(loans.loc[~in_p, "key_facts_given"].mean()),
        "loans_without_key_facts": int((in_p & ~loans["key_facts_given"]).sum()),
    })

    # 4 responsible pricing: outlier
    p = sc.problems["pricing_outlier"]
    pid = p["product"]
    others = [v for q, v in aprs.items() if q != pid]
    in_p = loan_product.eq(pid)
    problems["pricing_outlier"].update({
        "product_id": pid,
        "apr_by_product": {q: _r(v) for q, v in aprs.items()},
        "apr_product": _r(aprs.get(pid, np.nan)),
        "apr_other_products_median": _r(np.median(others)),
        "par30_product": par(in_p),
        "par30_other_products": par(~in_p),
        "written_off_share_product": _r(loans.loc[in_p, "written_off"].mean()),
        "written_off_share_others": _r(loans.loc[~in_p, "written_off"].mean()),
    })

    # 5 fair treatment: harsh collection and the approval gap
    col, cmp = t["collections"], t["complaints"]
    harsh = planted["harsh_officers"]
    is_h = col["officer_id"].isin(harsh)
    out_h = outside_hours(col["action_at"])
    harsh_methods = col["method"].isin(["workplace_visit", "collateral_seizure"])
    coll_cmp = cmp[cmp["category"] == "collection_practices"]
    problems["harsh_collection"].update({
        "officer_ids": harsh,
        "outside_hours_share_officers": _r(out_h[is_h].mean()),
        "outside_hours_share_others": _r(out_h[~is_h].mean()),
        "harsh_method_share_officers": _r(harsh_methods[is_h].mean()),
        "harsh_method_share_others": _r(harsh_methods[~is_h].mean()),
        "collection_complaints_total": len(coll_cmp),
        "collection_complaints_about_officers": int(coll_cmp["officer_id"].isin(harsh).sum()),
        "collection_complaints_per_100_actions_officers": _r(
            100 * coll_cmp["officer_id"].isin(harsh).sum() / max(is_h.sum(), 1)),
        "collection_complaints_per_100_actions_others": _r(
            100 * (~coll_cmp["officer_id"].isin(harsh) & coll_cmp["officer_id"].notna()).sum()
            / max((~is_h).sum(), 1)),
    })
    p = sc.problems["approval_gap"]
    problems["approval_gap"].update({"group": p["group"], **approval_gap(
        apps, clients, p["group"], client_rows=links["application_client"])})

    # 6 privacy: unauthorised access and consent
    log = t["access_log"]
    spy = planted["unauthorised_officer"]
    home = officers.set_index("officer_id")["branch_id"]
    # the client's branch against the officer's home branch (none for head office)
    branch_code, _ = pd.factorize(pd.concat([clients["branch_id"], officers["branch_id"]],
                                            ignore_index=True))
    client_branch = branch_code[: len(clients)][links["access_client"]]
    officer_branch = branch_code[len(clients):][links["access_officer"]]
    outside_branch = (client_branch != officer_branch) | (client_branch < 0) | (
        officer_branch < 0)
    branch_staff = officer_branch >= 0
    flagged = outside_branch & branch_staff & night(log["accessed_at"]) & log["purpose"].isna()
    spy_row = int(np.flatnonzero((officers["officer_id"] == spy).to_numpy())[0])
    by_spy = links["access_officer"] == spy_row
    problems["unauthorised_access"].update({
        "officer_id": spy,
        "branch_id": home[spy],
        "events_outside_branch": int((by_spy & outside_branch).sum()),
        "events_at_night": int((by_spy & night(log["accessed_at"])).sum()),
        "exports_without_purpose": int((by_spy & (log["action"] == "export")
                                        & log["purpose"].isna()).sum()),
        "clients_accessed_outside_branch": int(log.loc[by_spy & outside_branch,
                                                       "client_id"].nunique()),
        "night_outside_branch_no_purpose_events_officer": int((flagged & by_spy).sum()),
        "night_outside_branch_no_purpose_events_others": int((flagged & ~by_spy).sum()),
    })
    consent = clients["consent_data_sharing"].to_numpy()[links["application_client"]]
    checked_no_consent = apps["bureau_checked"] & ~consent.astype(bool)
    problems["consent_violation"].update({
        "applications_checked_without_consent": int(checked_no_consent.sum()),
        "clients_checked_without_consent": int(apps.loc[checked_no_consent,
                                                        "client_id"].nunique()),
        "checked_share_without_consent": _r(apps.loc[~consent.astype(bool),
                                                     "bureau_checked"].mean()),
        "checked_share_with_consent": _r(apps.loc[consent.astype(bool), "bureau_checked"].mean()),
    })

    # 7 complaints: backlog and pricing complaints after the launch
    p = sc.problems["complaints_backlog"]
    cfg = sc.complaints
    ack_t, res_t = cfg["acknowledge_target_days"], cfg["resolve_target_days"]
    ack_days = (cmp["acknowledged_on"] - cmp["received_on"]).dt.days
    res_days = (cmp["resolved_on"] - cmp["received_on"]).dt.days
    age = (snapshot - cmp["received_on"]).dt.days
    ack_late = (ack_days > ack_t) | (ack_days.isna() & (age > ack_t))
    res_late = (res_days > res_t) | (res_days.isna() & (age > res_t))
    sel = (cmp["branch_id"] == p["branch"]) | (cmp["channel"] == p["channel"])
    problems["complaints_backlog"].update({
        "branch_id": p["branch"], "channel": p["channel"],
        "acknowledge_target_days": ack_t, "resolve_target_days": res_t,
        "complaints_branch_or_channel": int(sel.sum()),
        "overdue_acknowledgement_share_branch_or_channel": _r(ack_late[sel].mean()),
        "overdue_acknowledgement_share_others": _r(ack_late[~sel].mean()),
        "overdue_resolution_share_branch_or_channel": _r(res_late[sel].mean()),
        "overdue_resolution_share_others": _r(res_late[~sel].mean()),
        "overdue_resolution_total": int(res_late.sum()),
        "open_past_target_total": int((res_days.isna() & (age > res_t)).sum()),
    })
    p = sc.problems["pricing_complaints"]
    launch = pd.Timestamp(products.set_index("product_id").loc[p["product"], "launched_on"])
    is_pricing = cmp["category"] == "pricing_fees"
    pricing = cmp[is_pricing]
    after_launch = cmp["received_on"] >= launch
    start = pd.Timestamp(sc.start_date)
    months_before = max((launch - start).days / 30.4375, 1e-9)
    months_after = max((snapshot - launch).days / 30.4375, 1e-9)
    before = (pricing["received_on"] < launch).sum()
    after = (pricing["received_on"] >= launch).sum()
    problems["pricing_complaints"].update({
        "product_id": p["product"], "launched_on": launch.date().isoformat(),
        "pricing_complaints_per_month_before_launch": _r(before / months_before, 2),
        "pricing_complaints_per_month_after_launch": _r(after / months_after, 2),
        "pricing_share_before_launch": _r(is_pricing[~after_launch].mean()),
        "pricing_share_after_launch": _r(is_pricing[after_launch].mean()),
        "pricing_complaints_about_product": int((pricing["product_id"] == p["product"]).sum()),
    })
    return key
