"""Speed of the analytics library on the default scenario, against a per-row Python loop.

Measures PAR30 by branch (:func:`clientprotection.portfolio.par`) and the debt-service ratio
of every borrower on the snapshot date (:func:`clientprotection.indebtedness.dsr_today`), each
as the median of several runs, next to a plain per-row loop computing the same numbers in the
same run. Target: at most 0.5 s per call on the default scenario.

Run: ``.venv/bin/python benchmarks/bench_analytics.py`` (writes the "analytics" section of
benchmarks/RESULTS.md). ``--synthetic N`` times a generated book of N loans instead and
writes nothing (to try the script without the dataset).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import machine_line, median_time, write_section  # noqa: E402

from clientprotection.indebtedness import dsr_today  # noqa: E402
from clientprotection.portfolio import infer_snapshot_date, par, par_from_schedule  # noqa: E402

TARGET_SECONDS = 0.5


def par_by_branch_loop(loans: pd.DataFrame, days: int = 30) -> dict[str, float]:
    """PAR by branch, one loan at a time."""
    portfolio: dict[str, float] = defaultdict(float)
    at_risk: dict[str, float] = defaultdict(float)
    for row in loans.itertuples(index=False):
        if row.status != "active":
            continue
        portfolio[row.branch_id] += row.outstanding
        if row.days_late > days or bool(row.restructured):
            at_risk[row.branch_id] += row.outstanding
    return {b: at_risk[b] / total for b, total in portfolio.items() if total > 0}


def dsr_loop(loans: pd.DataFrame, clients: pd.DataFrame, bureau: pd.DataFrame,
             as_of: pd.Timestamp) -> dict[str, float]:
    """Debt-service ratio per borrower, one row at a time."""
    own: dict[str, float] = defaultdict(float)
    for row in loans.itertuples(index=False):
        written_off = row.written_off_on is not pd.NaT and not pd.isna(row.written_off_on) and (
            row.written_off_on <= as_of)
        if row.disbursed_on <= as_of <= row.maturity_on and not written_off:
            own[row.client_id] += row.instalment * row.periods_per_year / 12.0
    other: dict[str, float] = defaultdict(float)
    for row in bureau.itertuples(index=False):
        if row.client_id in own and row.opened_on <= as_of and (
                pd.isna(row.closed_on) or row.closed_on > as_of):
            other[row.client_id] += row.monthly_payment
    net = {row.client_id: row.monthly_income - row.monthly_expenses
           for row in clients.itertuples(index=False)}
    return {c: ((own[c] + other[c]) / net[c] if net[c] > 0 else math.inf) for c in own}


def synthetic_tables(n_loans: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    """A random book with the schema's columns, for trying the script without the dataset."""
    rng = np.random.default_rng(seed)
    n_clients = max(1, n_loans // 2)
    clients = pd.DataFrame({
        "client_id": [f"C{i:06d}" for i in range(n_clients)],
        "branch_id": rng.choice([f"B{i:02d}" for i in range(12)], n_clients),
        "monthly_income": rng.uniform(200, 2000, n_clients).round(2),
        "monthly_expenses": rng.uniform(100, 1200, n_clients).round(2),
    })
    disbursed = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n_loans), "D")
    client = rng.integers(0, n_clients, n_loans)
    loans = pd.DataFrame({
        "loan_id": [f"L{i:07d}" for i in range(n_loans)],
        "client_id": clients["client_id"].to_numpy()[client],
        "branch_id": clients["branch_id"].to_numpy()[client],
        "status": rng.choice(["active", "repaid", "written_off"], n_loans, p=[0.5, 0.45, 0.05]),
        "outstanding": rng.uniform(0, 5000, n_loans).round(2),
        "days_late": rng.choice([0, 0, 0, 5, 40, 120], n_loans),
        "restructured": rng.random(n_loans) < 0.02,
        "instalment": rng.uniform(20, 400, n_loans).round(2),
        "periods_per_year": rng.choice([52, 26, 12], n_loans),
        "disbursed_on": disbursed,
        "maturity_on": disbursed + pd.to_timedelta(rng.integers(90, 720, n_loans), "D"),
        "written_off_on": pd.NaT,
    })
    n_bureau = n_loans // 2
    opened = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n_bureau), "D")
    bureau = pd.DataFrame({
        "client_id": clients["client_id"].to_numpy()[rng.integers(0, n_clients, n_bureau)],
        "monthly_payment": rng.uniform(10, 300, n_bureau).round(2),
        "opened_on": opened,
        "closed_on": opened + pd.to_timedelta(rng.integers(60, 900, n_bureau), "D"),
        "lender": rng.choice(["X", "Y", "Z"], n_bureau),
    })
    return {"loans": loans, "clients": clients, "bureau": bureau}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=0, metavar="N",
                        help="time a generated book of N loans; do not write RESULTS.md")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    schedule = None
    if args.synthetic:
        tables = synthetic_tables(args.synthetic)
        as_of = pd.Timestamp("2024-06-30")
        source = f"synthetic book of {args.synthetic:,} loans"
    else:
        from clientprotection import load_mfi
        from clientprotection.errors import DatasetError

        try:
            tables = load_mfi()
        except DatasetError as error:
            print(f"The default dataset is not available ({error}); run "
                  "`cpcourse data generate` first, or try --synthetic 200000.", file=sys.stderr)
            return 1
        schedule = tables["schedule"]
        as_of = infer_snapshot_date(schedule)
        source = "default scenario"
    loans, clients, bureau = tables["loans"], tables["clients"], tables["bureau"]

    # same numbers both ways before timing anything
    fast_par = par(loans, 30, by="branch_id")
    slow_par = par_by_branch_loop(loans)
    assert np.allclose([slow_par[b] for b in fast_par.index], fast_par.to_numpy())
    fast_dsr = dsr_today(loans, clients, bureau, as_of)["dsr"]
    slow_dsr = dsr_loop(loans, clients, bureau, as_of)
    assert np.allclose([slow_dsr[c] for c in fast_dsr.index], fast_dsr.to_numpy())

    rows = []
    cases = [
        ("PAR30 by branch (`par`)", f"{len(loans):,} loans",
         lambda: par(loans, 30, by="branch_id"), lambda: par_by_branch_loop(loans)),
        ("DSR per borrower on the snapshot date (`dsr_today`)",
         f"{len(loans):,} loans, {len(bureau):,} bureau records",
         lambda: dsr_today(loans, clients, bureau, as_of),
         lambda: dsr_loop(loans, clients, bureau, as_of)),
    ]
    for name, size, fast, slow in cases:
        fast_s = median_time(fast, args.repeat)
        slow_s = median_time(slow, max(3, args.repeat // 2))
        rows.append((name, size, fast_s, slow_s))
        print(f"{name}: {fast_s:.4f} s vectorised, {slow_s:.4f} s loop, "
              f"{slow_s / fast_s:.0f}x", flush=True)
    extra = ""
    if schedule is not None:
        past = as_of - pd.offsets.MonthEnd(1)
        history_s = median_time(lambda: par_from_schedule(loans, schedule, past, 30), 3)
        extra = (f"\nPAR30 restated from the schedule for one past month-end "
                 f"(`par_from_schedule`, {len(schedule):,} instalments): {history_s:.3f} s "
                 "(median of 3); a 24-month PAR series costs about 24 times that.\n")
        print(extra.strip())

    lines = [
        "## analytics",
        "",
        f"Script: `benchmarks/bench_analytics.py`. Data: {source}, snapshot {as_of.date()}. "
        f"{machine_line()}. Medians of {args.repeat} runs (loop: "
        f"{max(3, args.repeat // 2)}); both ways give the same numbers (checked in the run).",
        "",
        "| operation | size | vectorised (s) | per-row loop (s) | speed-up | target <= 0.5 s |",
        "|---|---|---|---|---|---|",
    ]
    for name, size, fast_s, slow_s in rows:
        verdict = "met" if fast_s <= TARGET_SECONDS else "MISSED"
        lines.append(f"| {name} | {size} | {fast_s:.4f} | {slow_s:.4f} | "
                     f"{slow_s / fast_s:.0f}x | {verdict} |")
    markdown = "\n".join(lines) + "\n" + extra
    if args.synthetic:
        print("\n" + markdown)
        print("(synthetic run: RESULTS.md not written)")
    else:
        write_section("analytics", markdown)
        print("wrote the analytics section of benchmarks/RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
