"""Loan arithmetic shared by the generator and the answer key: schedules, totals, APR.

Vectorised over many loans. Rates are fractions; ``rate`` is the contract rate per year, flat
(on the original principal) or declining (on the balance); balloon loans pay interest every
period and the whole principal with the last instalment.
"""

from __future__ import annotations

import numpy as np


def period_rate(rate_yearly: np.ndarray, periods_per_year: np.ndarray) -> np.ndarray:
    return np.asarray(rate_yearly, float) / np.asarray(periods_per_year, float)


def annuity(principal: np.ndarray, i: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Level payment of a declining-balance loan (principal and interest, no tax)."""
    i = np.asarray(i, float)
    n = np.asarray(n, float)
    safe = np.where(i > 0, i, 1.0)
    factor = np.where(i > 0, safe / (1.0 - (1.0 + safe) ** -n), 1.0 / n)
    return np.asarray(principal, float) * factor


def scheduled_total(principal, n, i, declining, balloon, tax, fee_per_payment) -> np.ndarray:
    """Sum of every scheduled payment (principal, interest with tax, fees), unrounded."""
    principal = np.asarray(principal, float)
    n = np.asarray(n, float)
    amortising = np.asarray(declining, bool) & ~np.asarray(balloon, bool)
    interest = np.where(amortising, annuity(principal, i, n) * n - principal, principal * i * n)
    return principal + interest * (1.0 + np.asarray(tax, float)) + principal * fee_per_payment * n


def schedule_rows(principal, n, i, declining, balloon, tax, fee_per_payment, k, loan_of_row,
                  out=None):
    """Principal, interest (with tax) and fees due per schedule row, rounded to the cent.

    ``k`` is the instalment number (1..n) of each row and ``loan_of_row`` the position of its
    loan in the loan arrays; rows of a loan must be contiguous and in instalment order. The
    rounded principal of the last instalment absorbs the rounding so that it sums to the
    principal exactly. ``out`` (optional) is three float arrays, one row each, to write the
    result into.
    """
    principal = np.asarray(principal, float)
    n = np.asarray(n)
    i = np.asarray(i, float)
    balloon = np.asarray(balloon, bool)
    amortising = np.asarray(declining, bool) & ~balloon
    # per loan: flat principal share, interest of flat/balloon loans, annuity of declining ones
    flat_principal = np.where(balloon, 0.0, np.round(principal / n, 2))
    level_interest = principal * i
    pay = annuity(principal, i, n)
    if out is None:
        out = tuple(np.empty(len(loan_of_row)) for _ in range(3))
    # mode="clip" (the rows are valid anyway) lets numpy write into out without a copy
    principal_due = np.take(flat_principal, loan_of_row, out=out[0], mode="clip")
    interest_raw = level_interest[loan_of_row]
    rows = np.flatnonzero(amortising[loan_of_row])
    if len(rows):
        loan = loan_of_row[rows]
        il = i[loan]
        # balance before instalment k in closed form: P(1+i)^(k-1) - A((1+i)^(k-1) - 1)/i
        growth = np.exp((k[rows] - 1) * np.log1p(il))
        safe = np.where(il > 0, il, 1.0)
        balance = np.where(il > 0, principal[loan] * growth - pay[loan] * (growth - 1.0) / safe,
                           principal[loan] - pay[loan] * (k[rows] - 1))
        interest = balance * il
        interest_raw[rows] = interest
        principal_due[rows] = np.round(pay[loan] - interest, 2)
    last = np.flatnonzero(k == n[loan_of_row])
    principal_due[last] = 0.0
    paid_before_last = np.bincount(loan_of_row, weights=principal_due, minlength=len(principal))
    principal_due[last] = np.round(principal[loan_of_row[last]]
                                   - paid_before_last[loan_of_row[last]], 2)
    interest_raw *= (1.0 + np.asarray(tax, float))[loan_of_row]
    interest_due = np.round(interest_raw, 2, out=out[1])
    fees = np.round(principal * np.asarray(fee_per_payment, float), 2)
    fees_due = np.take(fees, loan_of_row, out=out[2], mode="clip")
    return principal_due, interest_due, fees_due


def borrower_flows(principal, n, rate_yearly, periods_per_year, *, method, balloon=False,
                   upfront_fee=0.0, fee_per_payment=0.0, insurance=0.0,
                   compulsory_savings=0.0, savings_interest=0.0, tax_on_interest=0.0):
    """Borrower's flows of one loan: net disbursed (positive), then payments (negative).

    Compulsory savings are withheld at disbursement and returned, with simple interest at
    ``savings_interest`` a year, with the last payment.
    """
    n = int(n)
    ppy = int(periods_per_year)
    i = np.array([rate_yearly / ppy])
    k = np.arange(1, n + 1)
    rows = np.zeros(n, dtype=np.int64)
    pr, it, fe = schedule_rows(np.array([principal]), np.array([n]), i,
                               np.array([method == "declining"]), np.array([balloon]),
                               np.array([tax_on_interest]), np.array([fee_per_payment]), k, rows)
    flows = np.zeros(n + 1)
    flows[0] = principal * (1 - upfront_fee - insurance - compulsory_savings)
    flows[1:] = -(pr + it + fe)
    flows[-1] += principal * compulsory_savings * (1 + savings_interest * n / ppy)
    return flows


def loan_apr(principal, n, rate_yearly, periods_per_year, **pricing) -> float:
    """Nominal APR (periodic IRR x periods per year) on the net disbursed amount."""
    from clientprotection.pricing import periodic_rate

    flows = borrower_flows(principal, n, rate_yearly, periods_per_year, **pricing)
    return float(periodic_rate(flows)) * int(periods_per_year)
