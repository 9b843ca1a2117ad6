"""Benchmark: APR and EIR of 1,000,000 loans against a per-loan numpy_financial.irr loop.

Run as a script from the repository root::

    .venv/bin/python benchmarks/bench_pricing.py

It builds a realistic mixed portfolio (12 to 52 instalments, weekly and monthly, flat and
declining, fees, insurance, compulsory savings) as one zero-padded 1,000,000 x 53 float64
matrix and times two ways of getting both rates of every loan:

* ``pricing.apr(...)`` then ``pricing.eir(...)``, as a user calls them: two solves (the
  measure the targets apply to);
* ``pricing.rates(...)``, which returns the periodic rate, APR and EIR from one solve.

The baseline, a Python loop calling ``numpy_financial.irr`` per loan, is timed on a random
sample of 2,000 loans and scaled per loan (the full loop would take minutes). All timings are
medians of several runs in the same process. It checks that the rates agree with the baseline
to 1e-8 on the sample and writes the "pricing" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import numpy_financial as npf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import machine_line, median_time, write_section  # noqa: E402

from clientprotection import pricing  # noqa: E402

N_LOANS = 1_000_000
SAMPLE = 2_000
REPEAT = 5
BASELINE_REPEAT = 3
TARGET_SECONDS = 2.0
TARGET_SPEEDUP = 100.0
TOLERANCE = 1e-8


def portfolio(n_loans: int, seed: int = 2024) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded borrower flows, instalment counts and periods per year of a mixed portfolio."""
    rng = np.random.default_rng(seed)
    weekly = rng.random(n_loans) < 0.5
    n_payments = np.where(weekly, rng.integers(16, 53, n_loans), rng.integers(12, 25, n_loans))
    periods_per_year = np.where(weekly, 52, 12)
    flows = pricing.loan_flows(
        rng.lognormal(np.log(600), 0.6, n_loans).round(-1) + 50,
        n_payments,
        periods_per_year,
        rng.uniform(0.18, 0.60, n_loans),
        method=np.where(rng.random(n_loans) < 1 / 3, "flat", "declining"),
        upfront_fee=rng.choice([0.0, 0.01, 0.02, 0.03], n_loans),
        insurance=rng.choice([0.0, 0.005, 0.01], n_loans),
        compulsory_savings=rng.choice([0.0, 0.0, 0.1, 0.2], n_loans),
        savings_interest=0.03,
    )
    return flows, n_payments, periods_per_year


def peak_memory(fn) -> int:
    """Peak bytes allocated (tracemalloc) while ``fn()`` runs."""
    tracemalloc.start()
    fn()
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak_bytes


def main() -> None:
    load_before = os.getloadavg()
    start = time.perf_counter()
    flows, n_payments, periods_per_year = portfolio(N_LOANS)
    build_seconds = time.perf_counter() - start
    refunds = float(np.mean(flows[np.arange(N_LOANS), n_payments] > 0))

    def apr_then_eir() -> tuple[np.ndarray, np.ndarray]:
        return pricing.apr(flows, periods_per_year), pricing.eir(flows, periods_per_year)

    def one_solve() -> pricing.Rates:
        return pricing.rates(flows, periods_per_year)

    apr_eir_seconds = median_time(apr_then_eir, REPEAT)
    rates_seconds = median_time(one_solve, REPEAT)
    aprs, eirs = apr_then_eir()
    both = one_solve()
    apr_eir_peak = peak_memory(apr_then_eir)
    rates_peak = peak_memory(one_solve)

    sample = np.random.default_rng(1).choice(N_LOANS, SAMPLE, replace=False)
    rows = [flows[i, : n_payments[i] + 1] for i in sample]

    def baseline() -> np.ndarray:
        return np.array([npf.irr(row) for row in rows])

    baseline_seconds = median_time(baseline, BASELINE_REPEAT)
    reference_rates = baseline()
    reference_apr = reference_rates * periods_per_year[sample]
    reference_eir = (1 + reference_rates) ** periods_per_year[sample] - 1
    apr_gap = float(max(np.max(np.abs(reference_apr - aprs[sample])),
                        np.max(np.abs(reference_apr - both.apr[sample]))))
    eir_gap = float(max(np.max(np.abs(reference_eir - eirs[sample])),
                        np.max(np.abs(reference_eir - both.eir[sample]))))
    load_after = os.getloadavg()

    baseline_full = baseline_seconds / SAMPLE * N_LOANS
    speedup = baseline_full / apr_eir_seconds
    rates_speedup = baseline_full / rates_seconds
    rows_md = [
        "## pricing",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_pricing.py` ({machine_line()}, "
        f"numpy {np.__version__}; load average {load_before[0]:.1f} before the run, "
        f"{load_after[0]:.1f} after).",
        "",
        f"Portfolio: {N_LOANS:,} loans as one zero-padded {flows.shape[0]:,} x "
        f"{flows.shape[1]} float64 matrix ({flows.nbytes / 1e6:,.0f} MB, built in "
        f"{build_seconds:.1f} s by `loan_flows`); 12 to 52 instalments, half weekly, a third "
        f"flat, fees, insurance, compulsory savings ({refunds:.0%} of loans end with a net "
        "savings refund, i.e. two sign changes).",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| `apr` then `eir` on all loans, as a user calls them: two solves (median of "
        f"{REPEAT}) | {apr_eir_seconds:.2f} s | <= {TARGET_SECONDS:.0f} s |",
        f"| `rates` on all loans: periodic rate, APR and EIR from one solve (median of "
        f"{REPEAT}) | {rates_seconds:.2f} s | |",
        f"| `numpy_financial.irr` loop, per loan (median of {BASELINE_REPEAT} runs on "
        f"{SAMPLE:,} sampled loans) | {baseline_seconds / SAMPLE * 1e6:.0f} us | |",
        f"| loop scaled to {N_LOANS:,} loans | {baseline_full:.0f} s | |",
        f"| speed-up of `apr` then `eir` | {speedup:,.0f}x | >= {TARGET_SPEEDUP:.0f}x |",
        f"| speed-up of `rates` | {rates_speedup:,.0f}x | |",
        f"| largest APR / EIR difference on the sample (both ways) | {apr_gap:.1e} / "
        f"{eir_gap:.1e} | <= {TOLERANCE:.0e} |",
        f"| peak extra memory (tracemalloc): `apr` then `eir` / `rates` | "
        f"{apr_eir_peak / 1e6:,.0f} MB / {rates_peak / 1e6:,.0f} MB | input "
        f"{flows.nbytes / 1e6:,.0f} MB |",
        "",
        "The baseline loop is timed on a sample and scaled per loan: the full loop would take "
        "minutes. Each of `apr` and `eir` solves the rates once; `rates` solves once for both. "
        f"The solver works through blocks of {pricing._BLOCK_ROWS:,} loans, so its working "
        "memory does not grow "
        "with the portfolio. The machine is shared: timings move with its load (shown above), "
        "the ratios much less.",
    ]
    markdown = "\n".join(rows_md)
    write_section("pricing", markdown)
    print(markdown)
    ok = (apr_eir_seconds <= TARGET_SECONDS and speedup >= TARGET_SPEEDUP
          and max(apr_gap, eir_gap) <= TOLERANCE)
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")


if __name__ == "__main__":
    main()
