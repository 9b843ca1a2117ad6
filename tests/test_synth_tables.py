"""The generated tables: schema, determinism, keys and the arithmetic of loans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clientprotection.schema import TABLES
from clientprotection.synth import generate, load_scenario

SMALL = 1500


@pytest.fixture(scope="module")
def default():
    return generate(load_scenario("default"))


@pytest.fixture(scope="module")
def small():
    return generate(load_scenario("default"), n_clients=SMALL, seed=11)


def _csv(tables):
    return {name: frame.to_csv(index=False).encode() for name, frame in tables.items()}


def test_same_seed_gives_identical_tables_and_bytes(small):
    again = generate(load_scenario("default"), n_clients=SMALL, seed=11)
    for name in TABLES:
        pd.testing.assert_frame_equal(small.tables[name], again.tables[name])
    assert _csv(small.tables) == _csv(again.tables)
    assert small.answer_key == again.answer_key


def test_different_seeds_differ(small):
    other = generate(load_scenario("default"), n_clients=SMALL, seed=12)
    for name in ("clients", "loans", "schedule", "complaints", "access_log"):
        assert not small.tables[name].equals(other.tables[name]), name


def test_progress_is_reported_up_to_done():
    calls = []
    generate("default", n_clients=300, progress=lambda step, f: calls.append((step, f)))
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(step, str) for step, _ in calls)


def test_every_table_has_the_schema_columns_and_types(small):
    assert list(small.tables) == list(TABLES)
    for name, table in TABLES.items():
        frame = small.tables[name]
        assert list(frame.columns) == table.column_names, name
        assert len(frame) > 0, name
        for f in table.fields:
            col = frame[f.name]
            if not f.required:
                pass
            else:
                assert col.notna().all(), f"{name}.{f.name} has missing values"
            if f.type in ("date", "datetime"):
                assert pd.api.types.is_datetime64_any_dtype(col), f"{name}.{f.name}"
                if f.type == "date":
                    assert (col.dropna() == col.dropna().dt.normalize()).all()
            elif f.type == "boolean":
                assert col.dtype == bool, f"{name}.{f.name}"
            elif f.type == "integer":
                assert col.dtype == np.int64, f"{name}.{f.name}"
            elif f.type == "number":
                assert col.dtype == np.float64, f"{name}.{f.name}"
                if f.unit == "currency":
                    assert np.allclose(col, col.round(2)), f"{name}.{f.name} not to the cent"
            else:
                assert col.dropna().map(type).eq(str).all(), f"{name}.{f.name}"


def test_primary_keys_unique_and_sorted(small):
    for name, table in TABLES.items():
        frame = small.tables[name]
        key = list(table.sort_by or table.primary_key)
        assert not frame.duplicated(list(table.primary_key)).any(), name
        assert frame[key].equals(frame.sort_values(key)[key].reset_index(drop=True)), name


def test_foreign_keys_resolve(small):
    t = small.tables
    for name, table in TABLES.items():
        for column, ref_table, ref_column in table.foreign_keys:
            values = t[name][column].dropna()
            missing = ~values.isin(t[ref_table][ref_column])
            assert not missing.any(), f"{name}.{column}: {values[missing].head().tolist()}"


def test_applications_and_loans_match_one_to_one(small):
    apps, loans = small.tables["applications"], small.tables["loans"]
    approved = apps[apps["decision"] == "approved"]
    assert sorted(approved["application_id"]) == sorted(loans["application_id"])
    merged = loans.merge(apps, on="application_id", suffixes=("", "_app"))
    for col in ("client_id", "branch_id", "officer_id", "product_id", "cycle", "term"):
        assert (merged[col] == merged[f"{col}_app"]).all(), col
    assert (merged["dsr_at_approval"] == merged["dsr"]).all()
    assert (merged["amount"] == merged["amount_requested"]).all()
    assert (merged["disbursed_on"] >= merged["applied_on"]).all()
    assert apps.loc[apps["decision"] == "rejected", "rejection_reason"].notna().all()
    assert approved["rejection_reason"].isna().all()


def test_loan_amounts_and_pricing(small):
    loans, products = small.tables["loans"], small.tables["products"]
    net = loans["amount"] - loans["upfront_fee"] - loans["insurance_premium"] - loans[
        "compulsory_savings"]
    assert np.allclose(loans["net_disbursed"], net, atol=0.005)
    merged = loans.merge(products, on="product_id", suffixes=("", "_p"))
    assert np.allclose(merged["upfront_fee"], (merged["amount"] * merged["upfront_fee_p"]).round(2))
    assert (merged["term"].between(merged["min_term"], merged["max_term"])).all()
    assert (merged["amount"].between(merged["min_amount"], merged["max_amount"])).all()
    assert (merged["rate_yearly"] == merged["rate_yearly_p"]).all()


def test_schedule_follows_the_product_pricing(small):
    loans, sched = small.tables["loans"], small.tables["schedule"]
    rows = sched.merge(loans[["loan_id", "amount", "rate_yearly", "periods_per_year", "term",
                              "interest_method", "product_id", "disbursed_on"]], on="loan_id")
    products = small.tables["products"].set_index("product_id")
    rows["tax"] = rows["product_id"].map(products["tax_on_interest"])
    rows["balloon"] = rows["product_id"].map(products["frequency"]) == "balloon"
    # principal adds up to the amount, instalment numbers run 1..term
    sums = rows.groupby("loan_id").agg(principal=("principal_due", "sum"),
                                       n=("instalment_no", "size"), top=("instalment_no", "max"))
    check = loans.set_index("loan_id").join(sums)
    assert np.allclose(check["principal"], check["amount"], atol=0.005)
    assert (check["n"] == check["term"]).all() and (check["top"] == check["term"]).all()
    # flat: interest = principal x yearly rate / periods per year, every period
    flat = rows[rows["interest_method"] == "flat"]
    expected = (flat["amount"] * flat["rate_yearly"] / flat["periods_per_year"]
                * (1 + flat["tax"])).round(2)
    assert np.allclose(flat["interest_due"], expected, atol=0.006)
    # declining (amortising): level annuity payment; interest on the running balance
    dec = rows[(rows["interest_method"] == "declining") & ~rows["balloon"]].copy()
    i = dec["rate_yearly"] / dec["periods_per_year"]
    annuity = dec["amount"] * i / (1 - (1 + i) ** -dec["term"])
    level = dec["instalment_no"] < dec["term"]
    total = dec["principal_due"] + dec["interest_due"] + dec["fees_due"]
    assert np.allclose(total[level], annuity[level], atol=0.011)
    paid_before = dec.groupby("loan_id")["principal_due"].cumsum() - dec["principal_due"]
    assert np.allclose(dec["interest_due"], ((dec["amount"] - paid_before) * i).round(2),
                       atol=0.02)
    # balloon: the whole principal with the last instalment
    bal = rows[rows["balloon"]]
    assert (bal.loc[bal["instalment_no"] < bal["term"], "principal_due"] == 0).all()
    # due dates after disbursement and increasing
    assert (rows["due_on"] > rows["disbursed_on"]).all()
    assert rows.groupby("loan_id")["due_on"].is_monotonic_increasing.all()


def test_repayments_never_before_disbursement_and_balances_never_negative(small):
    loans, sched = small.tables["loans"], small.tables["schedule"]
    snapshot = pd.Timestamp(load_scenario("default").snapshot_date)
    rows = sched.merge(loans[["loan_id", "disbursed_on"]], on="loan_id")
    paid = rows["paid_on"].notna()
    assert (rows.loc[paid, "paid_on"] >= rows.loc[paid, "disbursed_on"]).all()
    assert (rows.loc[paid, "paid_on"] >= rows.loc[paid, "due_on"]).all()
    assert (rows["paid_on"].dropna() <= snapshot).all()
    due_total = rows["principal_due"] + rows["interest_due"] + rows["fees_due"]
    assert (rows["amount_paid"] <= due_total + 0.005).all()
    assert np.allclose(rows.loc[paid, "amount_paid"], due_total[paid], atol=0.005)
    assert (rows["amount_paid"] >= 0).all() and (loans["outstanding"] >= 0).all()
    assert (loans["outstanding"] <= loans["amount"]).all()
    late = np.where(paid, (rows["paid_on"] - rows["due_on"]).dt.days,
                    (snapshot - rows["due_on"]).dt.days.clip(lower=0))
    assert (rows["days_late"] == late).all()


def test_outstanding_and_days_late_agree_with_the_schedule(small):
    loans, sched = small.tables["loans"], small.tables["schedule"]
    snapshot = pd.Timestamp(load_scenario("default").snapshot_date)
    unpaid = sched["paid_on"].isna()
    balance = sched.loc[unpaid].groupby("loan_id")["principal_due"].sum()
    overdue = unpaid & (sched["due_on"] < snapshot)
    oldest = sched.loc[overdue].groupby("loan_id")["due_on"].min()
    state = loans.set_index("loan_id")
    active = state["status"] == "active"
    expected_balance = balance.reindex(state.index, fill_value=0.0).where(active, 0.0)
    assert np.allclose(state["outstanding"], expected_balance, atol=0.005)
    expected_late = (snapshot - oldest).dt.days.reindex(state.index).fillna(0).where(active, 0)
    assert (state["days_late"] == expected_late.astype(int)).all()
    # status: repaid means every instalment paid; written off means a write-off date
    all_paid = (~unpaid).groupby(sched["loan_id"]).all().reindex(state.index)
    assert (all_paid[state["status"] == "repaid"]).all()
    assert (state["written_off"] == (state["status"] == "written_off")).all()
    assert (state["written_off"] == state["written_off_on"].notna()).all()
    assert (state["restructured"] == state["restructured_on"].notna()).all()
    assert (state.loc[state["written_off"], "outstanding"] == 0).all()
    assert (state["restructured_on"].dropna() <= snapshot).all()
    assert (state.loc[state["written_off"], "written_off_on"]
            > state.loc[state["written_off"], "disbursed_on"]).all()


def test_agrees_with_the_portfolio_module(small):
    portfolio = pytest.importorskip("clientprotection.portfolio")
    loans, sched = small.tables["loans"], small.tables["schedule"]
    snapshot = load_scenario("default").snapshot_date
    restated = portfolio.loans_as_of(loans, sched, snapshot)
    assert np.allclose(restated["outstanding"], loans["outstanding"], atol=0.005)
    assert (restated["days_late"] == loans["days_late"]).all()
    assert (restated["status"] == loans["status"]).all()


def test_bureau_feeds_dsr_and_other_lenders(small):
    t = small.tables
    apps, bureau, clients, loans, sched = (t["applications"], t["bureau"], t["clients"],
                                           t["loans"], t["schedule"])
    checked = apps[apps["bureau_checked"] & (apps["decision"] == "approved")]
    pairs = checked[["application_id", "client_id", "applied_on"]].merge(bureau, on="client_id")
    active = pairs[(pairs["opened_on"] <= pairs["applied_on"])
                   & (pairs["closed_on"] > pairs["applied_on"])]
    count = active.groupby("application_id").size().reindex(checked["application_id"],
                                                             fill_value=0)
    assert (count.to_numpy() == checked["other_lenders"].to_numpy()).all()
    payment = active.groupby("application_id")["monthly_payment"].sum().reindex(
        checked["application_id"], fill_value=0.0)
    # own debt service: the loan's scheduled payments per month of term
    totals = (sched["principal_due"] + sched["interest_due"] + sched["fees_due"]).groupby(
        sched["loan_id"]).sum()
    lo = loans.set_index("application_id").loc[checked["application_id"]]
    months = lo["term"] * 12 / lo["periods_per_year"]
    own = totals.reindex(lo["loan_id"]).to_numpy() / months.to_numpy()
    net = clients.set_index("client_id").loc[checked["client_id"]]
    net_income = (net["monthly_income"] - net["monthly_expenses"]).to_numpy()
    dsr = (own + payment.to_numpy()) / net_income
    assert np.allclose(dsr, checked["dsr"].to_numpy(), atol=2e-3)
    # not checked: self-declared, never more than the bureau shows
    unchecked = apps[~apps["bureau_checked"]]
    pairs = unchecked[["application_id", "client_id", "applied_on"]].merge(bureau, on="client_id")
    visible = pairs[(pairs["opened_on"] <= pairs["applied_on"])
                    & (pairs["closed_on"] > pairs["applied_on"])].groupby(
        "application_id").size().reindex(unchecked["application_id"], fill_value=0)
    assert (unchecked["other_lenders"].to_numpy() <= visible.to_numpy()).all()


def test_collections_complaints_and_access_follow_the_loans(small):
    t = small.tables
    loans = t["loans"].set_index("loan_id")
    snapshot = pd.Timestamp(load_scenario("default").snapshot_date)
    col = t["collections"]
    assert (col["action_at"].dt.normalize() > col["loan_id"].map(loans["disbursed_on"])).all()
    assert (col["action_at"] < snapshot + pd.Timedelta(days=1)).all()
    assert (col["client_id"] == col["loan_id"].map(loans["client_id"])).all()
    cmp = t["complaints"]
    joined = cmp["client_id"].map(t["clients"].set_index("client_id")["joined_on"])
    assert (cmp["received_on"] >= joined).all()
    assert (cmp["acknowledged_on"].dropna() >= cmp["received_on"][cmp["acknowledged_on"].notna()]
            ).all()
    assert ((cmp["outcome"] == "open") == cmp["resolved_on"].isna()).all()
    log = t["access_log"]
    joined = log["client_id"].map(t["clients"].set_index("client_id")["joined_on"])
    assert (log["accessed_at"].dt.normalize() >= joined).all()


def test_realism_bands_default(default):
    t = default.tables
    loans, clients, products = t["loans"], t["clients"], t["products"]
    borrowers = loans.drop_duplicates("client_id").merge(clients, on="client_id").merge(
        products[["product_id", "methodology"]], on="product_id")
    women = borrowers["gender"] == "female"
    # Microfinance Barometer 2018: about 80% women, 64% rural
    assert 0.75 <= women.mean() <= 0.85
    assert 0.90 <= women[borrowers["methodology"] == "group"].mean() <= 1.0
    assert 0.50 <= women[borrowers["methodology"] == "individual"].mean() <= 0.65
    assert 0.58 <= borrowers["rural"].mean() <= 0.70
    assert 10_000 <= len(clients) <= 14_000
    # MIFIDA: groups of 3 to 9; group loans weekly 6-12 months; individual monthly declining
    sizes = clients.dropna(subset=["group_id"]).groupby("group_id").size()
    assert sizes.between(3, 9).all()
    merged = loans.merge(products, on="product_id", suffixes=("", "_p"))
    group = merged[merged["methodology"] == "group"]
    assert (group["frequency"] == "weekly").all() and group["term"].between(13, 52).all()
    business = merged[(merged["methodology"] == "individual") & (merged["purpose"] == "business")]
    assert (business["frequency"] == "monthly").all()
    assert (business["interest_method"] == "declining").all()
    assert business["term"].between(6, 24).all()
    assert (products["frequency"] == "balloon").any()
    # Malawi pricing study: about a third flat, most pay a fee and insurance, many save
    assert 0.25 <= (loans["interest_method"] == "flat").mean() <= 0.42
    assert (loans["upfront_fee"] > 0).mean() > 0.7
    assert (loans["insurance_premium"] > 0).mean() > 0.65
    assert (loans["compulsory_savings"] > 0).mean() > 0.35
    # loan growth 20-50% per clean cycle outside the planted branch
    seq = loans.sort_values(["client_id", "disbursed_on"])
    prev = seq.groupby("client_id")["amount"].shift()
    growth = (seq["amount"] / prev - 1)[prev.notna() & (seq["branch_id"] != "B04")]
    assert 0.2 <= growth.median() <= 0.5
    # caseloads of group officers: 300-500 active clients
    active = loans[loans["status"] == "active"].merge(
        t["officers"][["officer_id", "methodology"]], on="officer_id")
    caseload = active[active["methodology"] == "group"].groupby("officer_id").size()
    assert 300 <= caseload.median() <= 500
    # PAR30 2-7%, DSR over 0.75 5-15%, write-offs 1-3% a year
    act = loans[loans["status"] == "active"]
    par30 = act.loc[(act["days_late"] > 30) | act["restructured"], "outstanding"].sum() / act[
        "outstanding"].sum()
    assert 0.02 <= par30 <= 0.07
    assert 0.05 <= (loans["dsr_at_approval"] > 0.75).mean() <= 0.15
    snapshot = pd.Timestamp(load_scenario("default").snapshot_date)
    recent = loans[loans["written_off"] & (loans["written_off_on"] > snapshot
                                           - pd.Timedelta(days=365))]
    sched = t["schedule"]
    lost = sched[sched["loan_id"].isin(recent["loan_id"]) & sched["paid_on"].isna()][
        "principal_due"].sum()
    assert 0.01 <= lost / act["outstanding"].sum() <= 0.03


def test_realism_bands_crisis():
    t = generate(load_scenario("crisis")).tables
    loans = t["loans"]
    assert 6000 <= len(t["clients"]) <= 8000
    act = loans[loans["status"] == "active"]
    par30 = act.loc[(act["days_late"] > 30) | act["restructured"], "outstanding"].sum() / act[
        "outstanding"].sum()
    assert 0.10 <= par30 <= 0.20
    assert 0.20 <= (loans["dsr_at_approval"] > 0.75).mean() <= 0.30
    checked = t["applications"][t["applications"]["bureau_checked"]]
    assert (checked["other_lenders"] > 0).mean() > 0.3  # saturated market
