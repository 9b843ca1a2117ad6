"""Loan pricing: schedules, the borrower's cash flows and the rates regulators use.

What a loan really costs a client is the interest rate that makes the present value of what
the client receives equal to the present value of what the client pays. Every transparency
standard the course uses is a variant of that one equation; they differ only in how they
count time and how they annualise the rate.

Conventions and their sources
-----------------------------
Borrower's view
    Flows are seen from the client: the disbursement (the net amount actually received) is
    positive, payments are negative, refunds (compulsory savings returned with the last
    payment) are positive. Everything the client must pay to get the loan is a cost: fees,
    insurance, tax on interest, and money withheld as compulsory savings, which reduces the
    amount received and comes back later (MFTransparency glossary, "Full APR",
    https://www.mftransparency.org/glossary/).
Periodic rate, APR and EIR (MFTransparency; RBI 2022 directions)
    :func:`periodic_rate` is the internal rate of return per instalment period of equally
    spaced flows. The APR is the nominal yearly rate ``periodic rate x periods per year`` and
    the EIR the compounded one ``(1 + periodic rate) ** periods per year - 1``: a rate of 1% a
    month is an APR of 12% and an EIR of 12.68% (MFTransparency interest rate formulas,
    http://www.mftransparency.org/resources/mftransparency-interest-rate-formulas/). The
    Reserve Bank of India's microfinance directions of 2022 and its Key Facts Statement ask
    for the APR computed on the net disbursed amount "using IRR approach and reducing balance
    method", with charges paid to third parties (insurance) included
    (https://rbi.org.in/Scripts/BS_ViewMasDirections.aspx?id=12256): that is :func:`apr` on
    the flows of :func:`loan_flows`.
APRC on actual days (EU Directive 2008/48/EC, Annex I)
    :func:`xirr` solves ``sum A_k (1 + X) ** (-t_k) = 0`` with ``t_k`` the time in years of
    365 days since the first drawdown: the EU annual percentage rate of charge and
    MFTransparency's XIRR (https://legislation.gov.uk/eudr/2008/48/annexes/2008-04-23/data.html).
    The directive also allows 366-day leap years; this module always divides by 365, as
    spreadsheet XIRR does.
US actuarial method (Regulation Z, 12 CFR 1026, Appendix J)
    :func:`apr_us_actuarial` implements the general equation of Appendix J (b)(8): each
    advance and payment is discounted by ``(1 + f i) (1 + i) ** t`` where ``t`` is the number
    of whole unit-periods and ``f`` the fraction of a unit-period from the start of the term,
    counted with the rules of (b)(5): months are counted back from the later date and the odd
    days divided by 30; multi-month and semimonthly unit-periods use 30 days a month; weeks
    divide the actual days; a year unit-period takes the spare months / 12 or the spare days /
    365. Months run from a date to the same date of another month, from month end to month end
    for a series on the last day of the month, and February's last day stands in for the 29th
    and 30th ((b)(3)(iv)). APR = unit-period rate x unit-periods per year
    (https://www.consumerfinance.gov/rules-policy/regulations/1026/J/).

Which root is "the" rate
------------------------
A loan whose flows change sign once (money in, then money out) has exactly one rate, and the
solver always finds it. Flows with a net refund on the last date (compulsory savings bigger
than the last instalment, common on weekly group loans) change sign twice, and such an
equation always has a second, spurious root below -0 (between -100% and 0%). The rate is
therefore sought on the side of zero set by the undiscounted balance: above zero when the
client pays back more than she receives, below zero when she pays back less, zero when both
are equal. On that side the rate must be unique. Descartes' rule of signs settles almost every
loan: a disbursement, payments, then refunds (at most two sign changes) with a net cost has
exactly one rate above zero, and flows with one sign change and a net gain exactly one below.
Otherwise the number of sign changes of the running (cumulative) sums of the flows bounds the
number of roots (Norstrom's criterion, an extension of Descartes' rule). When that bound is
above one, a fine grid decides; if two or more roots remain the input is ambiguous and a
``ValueError`` says so. Flows with no payment, a zero
or negative disbursement, or no root at all raise a ``ValueError`` too; for a 2-D input the
message names the failing rows.

Money rounding
--------------
The engine works on unrounded amounts: :func:`loan_flows` returns exact instalments and the
rates are computed from them. :func:`schedule` shows amounts rounded to the cent, and the last
instalment's principal absorbs the rounding so that the balance ends at exactly zero.
Regulators compute the disclosed rate from the (rounded) amounts the client actually pays:
Appendix J's examples use payments rounded to the cent, and the RBI Key Facts Statement
illustration rounds the instalment to the rupee (Rs 8,885 on Rs 100,000 at 12% for 12 months)
and takes the total interest from the rounded instalment. Pass the rounded flows to
:func:`apr` to reproduce a disclosure to the last digit; on realistic microloans the
difference from the unrounded rate is below 0.01 percentage point.

Loan arguments
--------------
``principal`` is the loan amount; ``rate`` is a yearly rate: for ``method="declining"`` the
period rate is ``rate / periods_per_year`` on the outstanding balance with equal instalments
(annuity); for ``method="flat"`` the interest per period is ``principal * rate /
periods_per_year`` whatever has been repaid, and principal is repaid in equal parts.
``upfront_fee``, ``insurance`` (credit-life premium) and ``compulsory_savings`` are fractions
of the principal deducted at disbursement; ``fee_per_payment`` is a fraction of the principal
charged with every instalment; ``tax_on_interest`` (e.g. VAT) is charged on each period's
interest. Compulsory savings are returned with the last instalment together with *simple*
interest at the yearly ``savings_interest`` for the term of the loan (``savings *
savings_interest * n_payments / periods_per_year``), as passbook savings usually are.

Examples
--------
>>> import numpy as np
>>> from clientprotection import pricing
>>> flows = pricing.loan_flows(1000, 12, 12, 0.12)       # 1% a month, declining balance
>>> round(pricing.apr(flows, 12), 4), round(pricing.eir(flows, 12), 4)
(0.12, 0.1268)
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "periodic_rate",
    "apr",
    "eir",
    "rates",
    "Rates",
    "xirr",
    "apr_us_actuarial",
    "loan_flows",
    "schedule",
    "key_facts",
    "KeyFacts",
]

# Rows solved together: the transposed block (3.5 MB for 53 columns) stays in cache while
# the Halley and Newton steps sweep it, and memory stays flat for any number of loans.
_BLOCK_ROWS = 8_192
_TRANSPOSE_ROWS = 512  # rows per slice of the transposing copy (see _transposed)
_MAX_ITERATIONS = 200
# Newton stops once a step is below 1e-11: convergence is quadratic, so the root is then
# accurate to far below 1e-15. Bisection steps stop on a bracket narrower than 1e-15.
_STEP_TOLERANCE = 1e-11
_X_TOLERANCE = 1e-15  # on the discount factor, which lies in (0, 1)
_GRID_POINTS = 2_000  # to count roots when the sign-change bound is above one
_MAX_ROWS_IN_MESSAGE = 10
_METHODS = ("declining", "flat")


# --------------------------------------------------------------------------------------------
# Equally spaced flows: vectorised solver
# --------------------------------------------------------------------------------------------


def _flow_matrix(flows: Any) -> tuple[np.ndarray, bool]:
    """Return flows as a 2-D float array (a view when possible) and whether the input was 1-D."""
    if isinstance(flows, pd.DataFrame):
        flows = flows.to_numpy(dtype=np.float64)
    try:
        matrix = np.asarray(flows, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            "flows must be numbers: a 1-D sequence for one loan or a 2-D array with one loan "
            f"per row ({error})."
        ) from None
    if matrix.ndim == 1:
        one_loan = True
        matrix = matrix[np.newaxis, :]
    elif matrix.ndim == 2:
        one_loan = False
    else:
        raise ValueError(
            f"flows must be 1-D (one loan) or 2-D (one loan per row); got {matrix.ndim} "
            "dimensions."
        )
    if matrix.shape[0] == 0:
        raise ValueError("flows has no loan (0 rows): pass at least one loan.")
    if matrix.shape[1] < 2:
        raise ValueError(
            "flows needs at least two values per loan: the disbursement at index 0 and at least "
            f"one payment; got {matrix.shape[1]}."
        )
    return matrix, one_loan


def _signs_forward_filled(values: np.ndarray) -> np.ndarray:
    """Signs of ``values`` along rows, each zero replaced by the previous non-zero sign."""
    signs = np.sign(values)
    columns = np.arange(values.shape[1])
    last_nonzero = np.where(signs != 0, columns, 0)
    np.maximum.accumulate(last_nonzero, axis=1, out=last_nonzero)
    return np.take_along_axis(signs, last_nonzero, axis=1)


def _sign_changes(values: np.ndarray) -> np.ndarray:
    """Number of sign changes along each row, zeros ignored."""
    filled = _signs_forward_filled(values)
    return np.count_nonzero(filled[:, 1:] * filled[:, :-1] < 0, axis=1)


def _horner(
    coefficients_t: np.ndarray, x: np.ndarray, curvature: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Value, first and (optionally) second derivative of ``sum_j c[j] x**j`` per column."""
    value = coefficients_t[-1].copy()
    slope = np.zeros_like(value)
    half_bend = np.zeros_like(value) if curvature else None
    for coefficient in coefficients_t[-2::-1]:
        if half_bend is not None:
            half_bend *= x
            half_bend += slope
        slope *= x
        slope += value
        value *= x
        value += coefficient
    return value, slope, None if half_bend is None else 2 * half_bend


def _grid_brackets(
    coefficients: np.ndarray, sign_at_zero: np.ndarray, sign_at_one: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Count the roots of each row's polynomial in (0, 1) on a grid and bracket the first one.

    Returns (number of roots seen, lower end, upper end, roots seen per row).
    """
    grid = np.linspace(0.0, 1.0, _GRID_POINTS + 1)
    values = np.zeros((coefficients.shape[0], grid.size))
    for column in range(coefficients.shape[1] - 1, -1, -1):
        values *= grid
        values += coefficients[:, column : column + 1]
    # The ends have known signs: the value at zero may be 0 for padded rows.
    values[:, 0] = sign_at_zero
    values[:, -1] = sign_at_one
    filled = _signs_forward_filled(values)
    change = filled[:, 1:] * filled[:, :-1] < 0
    counts = np.count_nonzero(change, axis=1)
    first = np.argmax(change, axis=1)
    lower = grid[first]
    upper = grid[first + 1]
    roots = [grid[np.flatnonzero(row)] for row in change]
    return counts, lower, upper, roots


def _newton_bracketed(
    coefficients_t: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    sign_at_lower: np.ndarray,
    start: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Newton iteration with a bisection fallback on brackets [lower, upper].

    Each column of ``coefficients_t`` is one polynomial with exactly one root in its bracket.
    The first step is Halley's (cubic convergence, one more Horner line per coefficient): from
    the closed-form start of :func:`_starting_rates` it lands so close to the root that the
    second step, Newton's, meets the tolerance for nearly every column; the few others take a
    third step on a compacted copy. Two sweeps of the coefficients instead of five.
    Returns the roots and a mask of the columns that converged.
    """
    lower = lower.copy()
    upper = upper.copy()
    inside = (start > lower) & (start < upper)
    x = np.where(inside, start, 0.5 * (lower + upper))
    converged = np.zeros(x.size, dtype=bool)
    work = np.arange(x.size)  # columns still iterated, as indices into x
    coefficients_work = coefficients_t
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for iteration in range(_MAX_ITERATIONS):
            everything = work.size == x.size  # no fancy indexing while all columns iterate
            xw = x if everything else x[work]
            value, slope, bend = _horner(coefficients_work, xw, curvature=iteration == 0)
            keeps_sign = np.sign(value) == (sign_at_lower if everything else sign_at_lower[work])
            lo = np.where(keeps_sign, xw, lower if everything else lower[work])
            hi = np.where(keeps_sign, upper if everything else upper[work], xw)
            if bend is None:
                step = value / slope
            else:  # Halley: f / f' / (1 - f f'' / (2 f'**2))
                step = value / slope
                step /= 1 - 0.5 * step * bend / slope
            newton = xw - step
            use_bisection = ~((newton >= lo) & (newton <= hi))
            new_x = np.where(use_bisection, 0.5 * (lo + hi), newton)
            done = (
                (value == 0)
                | ((np.abs(step) <= _STEP_TOLERANCE) & ~use_bisection)
                | (hi - lo <= _X_TOLERANCE)
            )
            # Columns that converged earlier keep their root; they only ride along until
            # the working set is shrunk.
            settled = converged if everything else converged[work]
            new_x = np.where(settled | (value == 0), xw, new_x)
            if everything:
                lower, upper, x = lo, hi, new_x
                converged |= done
                pending = ~converged
            else:
                lower[work], upper[work], x[work] = lo, hi, new_x
                converged[work[done]] = True
                pending = ~converged[work]
            if not pending.any():
                break
            # Drop finished columns once they are the majority (one copy of the rest).
            if pending.mean() < 0.5:
                work = work[pending]
                coefficients_work = coefficients_work[:, pending]
    return x, converged


def _transposed(block: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """``block.T`` as a C-contiguous array in ``buffer``, copied a few hundred rows at a time.

    One large transposing copy writes to dozens of far-apart places per row and runs out of
    cache; slices of ``_TRANSPOSE_ROWS`` rows stay in it and copy about twice as fast. The
    buffer is reused from block to block (no fresh pages to fault in).
    """
    n_rows, n_columns = block.shape
    out = buffer[: n_rows * n_columns].reshape(n_columns, n_rows)
    for start in range(0, n_rows, _TRANSPOSE_ROWS):
        stop = min(start + _TRANSPOSE_ROWS, n_rows)
        out[:, start:stop] = block[start:stop].T
    return out


def _sign_pattern(coefficients_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Sign pattern of each column of ``coefficients_t`` after its first value, in one sweep.

    Returns, per column: whether a negative value follows the first one, whether a positive
    value follows a negative one, whether a negative value follows that positive one (a third
    sign change when the first value is positive), and the number of leading rows that hold a
    non-zero value in some column (the width the polynomials need).
    """
    n_rows, n_polynomials = coefficients_t.shape
    seen_negative = np.zeros(n_polynomials, dtype=bool)
    positive_after_negative = np.zeros(n_polynomials, dtype=bool)
    third_change = np.zeros(n_polynomials, dtype=bool)
    negative = np.empty(n_polynomials, dtype=bool)
    positive = np.empty(n_polynomials, dtype=bool)
    scratch = np.empty(n_polynomials, dtype=bool)
    width = 1
    for row in range(1, n_rows):
        np.less(coefficients_t[row], 0, out=negative)
        np.greater(coefficients_t[row], 0, out=positive)
        np.logical_and(negative, positive_after_negative, out=scratch)
        third_change |= scratch
        np.logical_and(positive, seen_negative, out=scratch)
        positive_after_negative |= scratch
        seen_negative |= negative
        if negative.any() or positive.any():
            width = row + 1
    return seen_negative, positive_after_negative, third_change, max(width, 2)


def _last_nonzero(rows: np.ndarray) -> np.ndarray:
    """Column index of the last non-zero value of each row."""
    return rows.shape[1] - 1 - np.argmax(rows[:, ::-1] != 0, axis=1)


def _starting_rates(
    first: np.ndarray, total: np.ndarray, moment_1: np.ndarray, moment_2: np.ndarray
) -> np.ndarray:
    """Closed-form approximation of the periodic rate from the flows' sums (Newton's start).

    With ``S = first - total`` the amount paid back net of refunds, the payments' weights
    ``p_k / S`` have a mean time ``m`` and a variance ``s2`` (from ``moment_1 = sum k f_k`` and
    ``moment_2 = sum k**2 f_k``). Expanding the log of ``sum p_k e**(-d k)`` to second order
    in ``d = log(1 + rate)`` (the cumulant expansion) turns ``first = sum p_k e**(-d k)`` into
    ``m d - s2 d**2 / 2 = log(S / first)``, a quadratic with a closed-form root. On
    instalment loans the start is within about 0.01% of the rate (0.3% in the worst percent),
    against about 7% for the usual "N-ratio" approximation, so Newton needs one or two steps.
    Rows where the expansion fails fall back to the N-ratio ``2 (S - first) / (first (n + 1))``
    with ``n`` the instalment count approximated by the mean time.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        paid = first - total
        mean_time = -moment_1 / paid
        variance = -moment_2 / paid - mean_time * mean_time
        log_ratio = np.log(paid / first)
        discriminant = mean_time * mean_time - 2 * variance * log_ratio
        delta = 2 * log_ratio / (mean_time + np.sqrt(discriminant))
        rates = np.expm1(delta)
        fallback = -total / (first * (mean_time + 0.5))
    return np.where(np.isfinite(rates), rates, fallback)


_BALANCED_TOLERANCE = 1e-12  # relative: net flows this small are zero up to rounding


def _solve_block(
    block: np.ndarray, row_offset: int, problems: dict[int, str], buffer: np.ndarray
) -> np.ndarray:
    """Periodic rates of the loans in ``block`` (rows); failures go into ``problems``.

    ``buffer`` is scratch space for ``block.size`` floats.
    """
    n_rows, n_columns = block.shape
    rates = np.full(n_rows, np.nan)

    # One transposed copy: the Newton sweeps read one instalment number at a time for all
    # loans. The row sums and one sweep of sign tests are all the other passes needed.
    coefficients_t = _transposed(block, buffer)
    total = coefficients_t.sum(axis=0)  # NaN or infinite whenever a value is
    first = block[:, 0]
    has_payment, positive_after_payment, third_change, width = _sign_pattern(coefficients_t)
    coefficients_t = coefficients_t[:width]  # trailing all-zero columns add nothing
    bad = np.zeros(n_rows, dtype=bool)

    def fail(mask: np.ndarray, reason: str) -> None:
        nonlocal bad
        new = mask & ~bad
        for row in np.flatnonzero(new):
            problems[row_offset + int(row)] = reason
        bad |= new

    fail(~np.isfinite(total), "contains NaN or infinite values")
    fail(first == 0, "zero disbursement: index 0 must be the net amount received (positive)")
    fail(
        first < 0,
        "the first flow is negative: give flows in the borrower's view (disbursement "
        "positive, payments negative)",
    )
    fail(
        ~has_payment,
        "all flows have the same sign (no payment): no interest rate can equate what the "
        "client receives and what she pays",
    )
    ok = ~bad
    # Payments that give back exactly what was received (a 0% loan with its savings returned)
    # cost nothing; float rounding can leave a 1e-15 remainder, which is no sign of a rate.
    scale = np.abs(coefficients_t).sum(axis=0)
    balanced = ok & (np.abs(total) <= _BALANCED_TOLERANCE * scale)
    rates[balanced] = 0.0
    total = np.where(balanced, 0.0, total)
    # Descartes' rule of signs with a positive first flow. Positive rates are the roots of
    # P(v) = sum f_k v**k with v = 1/(1+r) in (0, 1), where P(0) > 0 > P(1): with at most two
    # sign changes (payments, then refunds such as savings returned) P has at most two
    # positive roots and an odd number in (0, 1), so exactly one. Negative rates are the
    # roots of Q(w) = sum f_k w**(width-1-k) with w = 1+r in (0, 1), where Q(1) > 0 and the
    # root is unique when there is one sign change. Other rows go through Norstrom's
    # criterion and, if need be, a grid.
    at_most_two_changes = ~third_change
    one_change = ~positive_after_payment

    for positive_side in (True, False):
        rows = np.flatnonzero(ok & ((total < 0) if positive_side else (total > 0)))
        if rows.size == 0:
            continue
        if positive_side:
            sign_at_zero = np.ones(rows.size)
            solvable = at_most_two_changes[rows]
        else:
            sign_at_zero = np.sign(block[rows, _last_nonzero(block[rows, :width])])
            solvable = one_change[rows]
        sign_at_one = np.sign(total[rows])
        lower = np.zeros(rows.size)
        upper = np.ones(rows.size)
        unsettled = np.flatnonzero(~solvable)
        if unsettled.size:
            subset = block[rows[unsettled], :width]
            coefficients = subset if positive_side else subset[:, ::-1]
            changes = _sign_changes(np.cumsum(coefficients, axis=1))
            solvable[unsettled[changes == 1]] = True
            doubtful_here = changes != 1
            doubtful = unsettled[doubtful_here]
            coefficients = coefficients[doubtful_here]
        else:
            doubtful = unsettled
        if doubtful.size:
            counts, grid_lower, grid_upper, roots = _grid_brackets(
                coefficients, sign_at_zero[doubtful], sign_at_one[doubtful]
            )
            # Roots on the other side of zero make the flows ambiguous too.
            other_rows = rows[doubtful]
            if positive_side:
                other = block[other_rows, :width][:, ::-1]
                other_sign = np.sign(
                    block[other_rows, _last_nonzero(block[other_rows, :width])]
                )
            else:
                other = block[other_rows, :width]
                other_sign = np.ones(other_rows.size)
            other_counts, _, _, other_roots = _grid_brackets(
                other, other_sign, sign_at_one[doubtful]
            )
            for position, count, found, count_other, found_other in zip(
                doubtful, counts, roots, other_counts, other_roots, strict=True
            ):
                row = row_offset + int(rows[position])
                if positive_side:
                    found_rates = np.concatenate([1 / found - 1, found_other - 1])
                else:
                    found_rates = np.concatenate([found - 1, 1 / found_other - 1])
                count = count + count_other
                if count == 0:
                    problems[row] = (
                        "no interest rate solves these flows (what the client pays never "
                        "balances what she receives)"
                    )
                elif count > 1:
                    listed = ", ".join(f"{rate:.2%}" for rate in np.sort(found_rates)[:5])
                    problems[row] = (
                        f"ambiguous: the flows change sign several times and {count} rates "
                        f"solve them (about {listed}); pass flows with one disbursement "
                        "followed by payments"
                    )
                else:
                    solvable[position] = True
            single = (counts == 1) & (other_counts == 0)
            lower[doubtful[single]] = grid_lower[single]
            upper[doubtful[single]] = grid_upper[single]
        chosen = np.flatnonzero(solvable)
        if chosen.size == 0:
            continue
        chosen_rows = rows[chosen]
        # The whole block is solved on the transposed copy itself; subsets are gathered.
        in_order = coefficients_t if chosen_rows.size == n_rows else (
            coefficients_t[:, chosen_rows]
        )
        instalment_number = np.arange(width, dtype=np.float64)
        moments = np.einsum(
            "ij,jk->ik", np.vstack([instalment_number, instalment_number**2]), in_order
        )
        rough = _starting_rates(first[chosen_rows], total[chosen_rows], moments[0], moments[1])
        if positive_side:
            polynomials, start = in_order, 1 / (1 + rough)
        else:
            polynomials, start = np.ascontiguousarray(in_order[::-1]), 1 + rough
        roots, converged = _newton_bracketed(
            polynomials, lower[chosen], upper[chosen], sign_at_zero[chosen], start
        )
        with np.errstate(divide="ignore"):
            found_rates = (1 - roots) / roots if positive_side else roots - 1
        rates[chosen_rows] = np.where(converged, found_rates, np.nan)
        for row in chosen_rows[~converged]:
            problems[row_offset + int(row)] = "the solver did not converge"
    return rates


def _raise_problems(problems: dict[int, str], one_loan: bool, n_loans: int) -> None:
    if not problems:
        return
    if one_loan:
        raise ValueError(f"cannot compute a rate for these flows: {problems[0]}.")
    rows = sorted(problems)
    shown = "; ".join(f"row {row}: {problems[row]}" for row in rows[:_MAX_ROWS_IN_MESSAGE])
    more = f" (and {len(rows) - _MAX_ROWS_IN_MESSAGE} more)" if len(rows) > 10 else ""
    raise ValueError(
        f"cannot compute a rate for {len(rows)} of {n_loans} loans: {shown}{more}. Fix or drop "
        "these rows."
    )


def _solve(matrix: np.ndarray, one_loan: bool) -> np.ndarray:
    """Periodic rates of every row of ``matrix``, block by block; raises on bad rows."""
    n_loans = matrix.shape[0]
    rates = np.empty(n_loans)
    problems: dict[int, str] = {}
    buffer = np.empty(min(n_loans, _BLOCK_ROWS) * matrix.shape[1])
    for start in range(0, n_loans, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n_loans)
        rates[start:stop] = _solve_block(matrix[start:stop], start, problems, buffer)
    _raise_problems(problems, one_loan, n_loans)
    return rates


def periodic_rate(flows: Any) -> float | np.ndarray:
    """Internal rate of return per period of equally spaced borrower flows.

    Parameters
    ----------
    flows : array-like
        Borrower's view, one value per period: index 0 the net amount received (positive),
        then payments (negative) and refunds (positive). A 2-D array holds one loan per row;
        shorter loans are padded with trailing zeros.

    Returns
    -------
    float or numpy.ndarray
        The rate per period (a fraction) for 1-D input, one rate per row for 2-D input.

    Raises
    ------
    ValueError
        When a loan has no solution (no payment, zero or negative disbursement) or several
        (see the module notes); for 2-D input the message lists the failing rows.

    Notes
    -----
    All rows are solved together, in blocks of rows so that memory stays flat: a closed-form
    approximation from the flows' sums starts a vectorised Halley-then-Newton iteration on the
    discount factor, with a bracket and a bisection fallback.

    Examples
    --------
    >>> round(periodic_rate([1000, -300, -300, -300, -300]), 6)
    0.077138
    >>> periodic_rate([[100, -110, 0], [100, -60, -60]]).round(4)
    array([0.1   , 0.1307])
    """
    matrix, one_loan = _flow_matrix(flows)
    rates = _solve(matrix, one_loan)
    return float(rates[0]) if one_loan else rates


def _periods(periods_per_year: Any, n_loans: int, one_loan: bool) -> np.ndarray:
    periods = np.asarray(periods_per_year, dtype=np.float64)
    if periods.ndim > 1 or (periods.ndim == 1 and periods.size not in (1, n_loans)):
        raise ValueError(
            "periods_per_year must be one number or one number per loan "
            f"({n_loans} loans); got shape {periods.shape}."
        )
    if one_loan and periods.ndim == 1 and periods.size != 1:
        raise ValueError("one loan takes one periods_per_year.")
    if not np.all(np.isfinite(periods)) or np.any(periods <= 0):
        raise ValueError(
            "periods_per_year must be positive, e.g. 12 for monthly, 52 for weekly, 26 for "
            "fortnightly instalments."
        )
    return periods.reshape(-1) if periods.ndim else periods


def apr(flows: Any, periods_per_year: float | Sequence[float]) -> float | np.ndarray:
    """Nominal annual percentage rate: periodic rate x periods per year.

    This is the APR of MFTransparency and of the RBI Key Facts Statement (IRR on the net
    disbursed amount, reducing balance).

    Parameters
    ----------
    flows : array-like
        Borrower's flows as in :func:`periodic_rate` (1-D, or 2-D with one loan per row).
    periods_per_year : float or array-like
        Instalment periods in a year (12 monthly, 26 fortnightly, 52 weekly); for 2-D flows
        one number for all loans or one per loan.

    Returns
    -------
    float or numpy.ndarray

    See Also
    --------
    rates : the periodic rate, APR and EIR from one solve.

    Examples
    --------
    >>> flows = loan_flows(1000, 12, 12, 0.12)   # 1% a month on the declining balance
    >>> round(apr(flows, 12), 6)
    0.12
    """
    matrix, one_loan = _flow_matrix(flows)
    periods = _periods(periods_per_year, matrix.shape[0], one_loan)
    result = _solve(matrix, one_loan) * periods
    return float(result[0]) if one_loan else result


def eir(flows: Any, periods_per_year: float | Sequence[float]) -> float | np.ndarray:
    """Effective interest rate: ``(1 + periodic rate) ** periods_per_year - 1``.

    Parameters
    ----------
    flows : array-like
        Borrower's flows as in :func:`periodic_rate`.
    periods_per_year : float or array-like
        As in :func:`apr`.

    Returns
    -------
    float or numpy.ndarray

    See Also
    --------
    rates : the periodic rate, APR and EIR from one solve.

    Examples
    --------
    >>> flows = loan_flows(1000, 12, 12, 0.12)   # 1% a month: EIR 12.68% (MFTransparency)
    >>> round(eir(flows, 12), 4)
    0.1268
    """
    matrix, one_loan = _flow_matrix(flows)
    periods = _periods(periods_per_year, matrix.shape[0], one_loan)
    result = np.expm1(periods * np.log1p(_solve(matrix, one_loan)))
    return float(result[0]) if one_loan else result


class Rates(NamedTuple):
    """The rates of one loan (floats) or of many (arrays, one value per loan); see :func:`rates`."""

    periodic_rate: float | np.ndarray
    apr: float | np.ndarray
    eir: float | np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with one row per loan and columns ``periodic_rate``, ``apr``, ``eir``."""
        return pd.DataFrame({name: np.atleast_1d(value) for name, value in self._asdict().items()})


def rates(flows: Any, periods_per_year: float | Sequence[float]) -> Rates:
    """Periodic rate, APR and EIR of the same flows from one solve.

    :func:`apr` and :func:`eir` each solve for the periodic rate; when both are wanted,
    this function solves once, which halves the work on a large portfolio.

    Parameters
    ----------
    flows : array-like
        Borrower's flows as in :func:`periodic_rate` (1-D, or 2-D with one loan per row).
    periods_per_year : float or array-like
        As in :func:`apr`.

    Returns
    -------
    Rates
        A named tuple ``(periodic_rate, apr, eir)``: floats for 1-D flows, arrays for 2-D
        flows. ``.to_frame()`` gives a DataFrame with one row per loan.

    Examples
    --------
    >>> result = rates(loan_flows(1000, 12, 12, 0.12), 12)   # 1% a month
    >>> round(result.apr, 4), round(result.eir, 4)
    (0.12, 0.1268)
    >>> rates([[100, -110, 0], [100, -60, -60]], 1).to_frame().round(4)
       periodic_rate     apr     eir
    0         0.1000  0.1000  0.1000
    1         0.1307  0.1307  0.1307
    """
    matrix, one_loan = _flow_matrix(flows)
    periods = _periods(periods_per_year, matrix.shape[0], one_loan)
    periodic = _solve(matrix, one_loan)
    nominal = periodic * periods
    effective = np.expm1(periods * np.log1p(periodic))
    if one_loan:
        return Rates(float(periodic[0]), float(nominal[0]), float(effective[0]))
    return Rates(periodic, nominal, effective)


# --------------------------------------------------------------------------------------------
# Dated flows
# --------------------------------------------------------------------------------------------


def _dated(dated_flows: Any) -> tuple[list[_dt.date], np.ndarray]:
    """Sorted dates and amounts from (date, amount) pairs or a DataFrame."""
    if isinstance(dated_flows, pd.DataFrame):
        columns = {str(c).lower(): c for c in dated_flows.columns}
        if "date" in columns and "amount" in columns:
            raw_dates = dated_flows[columns["date"]]
            raw_amounts = dated_flows[columns["amount"]]
        elif dated_flows.shape[1] == 2:
            raw_dates = dated_flows.iloc[:, 0]
            raw_amounts = dated_flows.iloc[:, 1]
        else:
            raise ValueError(
                "dated_flows as a DataFrame needs a 'date' and an 'amount' column; got "
                f"{list(dated_flows.columns)}."
            )
        pairs = list(zip(raw_dates, raw_amounts, strict=True))
    else:
        try:
            pairs = [tuple(pair) for pair in dated_flows]
        except TypeError:
            raise TypeError(
                "dated_flows must be a sequence of (date, amount) pairs or a DataFrame with "
                "'date' and 'amount' columns."
            ) from None
    if len(pairs) < 2:
        raise ValueError(
            "dated_flows needs at least two flows: an advance (positive) and a payment "
            "(negative)."
        )
    dates: list[_dt.date] = []
    amounts: list[float] = []
    for position, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(f"flow {position} is {pair!r}: expected a (date, amount) pair.")
        when, amount = pair
        try:
            day = pd.Timestamp(when).date()
        except (TypeError, ValueError):
            raise ValueError(f"flow {position}: {when!r} is not a date.") from None
        dates.append(day)
        amounts.append(float(amount))
    order = sorted(range(len(dates)), key=dates.__getitem__)
    values = np.array([amounts[i] for i in order])
    if not np.all(np.isfinite(values)):
        raise ValueError("dated_flows contains NaN or infinite amounts.")
    return [dates[i] for i in order], values


def _check_dated_signs(amounts: np.ndarray, first_date_total: float) -> None:
    if not (amounts < 0).any() or not (amounts > 0).any():
        raise ValueError(
            "cannot compute a rate: all flows have the same sign. Give the borrower's view: "
            "advances positive, payments negative."
        )
    if first_date_total <= 0:
        raise ValueError(
            "cannot compute a rate: the flows must start with an advance (a positive amount "
            "on the first date); got a zero or negative amount there."
        )


def _solve_scalar(npv_at: Any, total: float) -> float:
    """Root of a one-loan present-value function on the side of zero given by ``total``.

    ``npv_at(rates)`` is evaluated on arrays of rates. The root must be unique on that side.
    """
    if total == 0:
        return 0.0
    grid = np.linspace(0.0, 1.0, 4 * _GRID_POINTS + 1)[1:-1]
    if total < 0:  # positive rates, discount factor v = 1/(1+r) in (0, 1)
        candidates = 1 / grid[::-1] - 1  # increasing rates
    else:  # negative rates, w = 1 + r in (0, 1)
        candidates = grid - 1
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        values = npv_at(candidates)
    finite = np.isfinite(values)
    candidates, values = candidates[finite], values[finite]
    signs = np.sign(values)
    nonzero = signs != 0
    changes = np.flatnonzero(signs[nonzero][1:] * signs[nonzero][:-1] < 0)
    if changes.size == 0:
        raise ValueError(
            "cannot compute a rate: no interest rate balances what the client receives and "
            "what she pays."
        )
    if changes.size > 1:
        positions = np.flatnonzero(nonzero)
        listed = ", ".join(f"{candidates[positions[c]]:.2%}" for c in changes[:5])
        raise ValueError(
            f"ambiguous flows: they change sign several times and {changes.size} rates solve "
            f"them (about {listed})."
        )
    positions = np.flatnonzero(nonzero)
    lo = float(candidates[positions[changes[0]]])
    hi = float(candidates[positions[changes[0] + 1]])
    value_lo = float(npv_at(np.array([lo]))[0])
    # Bisection, then secant polish; the function is smooth and the bracket tight.
    for _ in range(200):
        middle = 0.5 * (lo + hi)
        value = float(npv_at(np.array([middle]))[0])
        if value == 0 or hi - lo <= 1e-15 * max(1.0, abs(middle)):
            return middle
        if np.sign(value) == np.sign(value_lo):
            lo, value_lo = middle, value
        else:
            hi = middle
    return 0.5 * (lo + hi)


def xirr(dated_flows: Any) -> float:
    """Annual effective rate of dated flows on actual/365 days (EU APRC, MFTransparency XIRR).

    Solves ``sum A_k * (1 + X) ** (-d_k / 365) = 0`` where ``d_k`` is the number of days
    from the first flow (EU Directive 2008/48/EC, Annex I).

    Parameters
    ----------
    dated_flows : sequence of (datetime.date, float) or DataFrame
        Borrower's view: advances positive, payments negative. A DataFrame needs ``date`` and
        ``amount`` columns. Order does not matter; flows on the same day add up.

    Returns
    -------
    float
        The yearly rate X (a fraction).

    Examples
    --------
    EU Directive 98/7/EC, Annex III, first example: 1,000 lent on 1 January 1994 and 1,200
    repaid on 1 July 1995 (546 days later):

    >>> from datetime import date
    >>> round(xirr([(date(1994, 1, 1), 1000), (date(1995, 7, 1), -1200)]), 4)
    0.1296
    """
    dates, amounts = _dated(dated_flows)
    days = np.array([(day - dates[0]).days for day in dates], dtype=np.float64)
    _check_dated_signs(amounts, float(amounts[days == 0].sum()))
    years = days / 365.0

    def npv_at(rates: np.ndarray) -> np.ndarray:
        return (amounts[None, :] * np.exp(-np.log1p(rates)[:, None] * years[None, :])).sum(1)

    return _solve_scalar(npv_at, float(amounts.sum()))


# Regulation Z, Appendix J ------------------------------------------------------------------

_NAMED_UNIT_PERIODS = {
    "day": ("day", 1),
    "week": ("week", 1),
    "biweek": ("week", 2),
    "semimonth": ("semimonth", 1),
    "month": ("month", 1),
    "quarter": ("month", 3),
    "half-year": ("month", 6),
    "year": ("month", 12),
}


def _parse_unit_period(unit_period: str) -> tuple[str, int]:
    if not isinstance(unit_period, str):
        raise TypeError(f"unit_period must be a string such as 'month'; got {unit_period!r}.")
    text = unit_period.strip().lower()
    if text in _NAMED_UNIT_PERIODS:
        return _NAMED_UNIT_PERIODS[text]
    match = re.fullmatch(r"(\d+)\s*(week|month)s?", text)
    if match:
        count, kind = int(match.group(1)), match.group(2)
        if count >= 1 and (kind == "week" or count <= 12):
            return kind, count
    raise ValueError(
        f"unknown unit_period {unit_period!r}: use 'week', 'biweek', 'semimonth', 'month', "
        "'quarter', 'half-year', 'year', 'day', or 'N weeks' / 'N months' (N months at most 12)."
    )


def _is_month_end(day: _dt.date) -> bool:
    return (day + _dt.timedelta(days=1)).month != day.month


def _months_back(later: _dt.date, months: int, series_day: int) -> _dt.date:
    """The date ``months`` whole months before ``later`` (Appendix J (b)(3)(iv), (b)(5)(ii)).

    Months run from a date to the same date of another month. ``series_day`` is the day of
    the month the flows are scheduled for: when ``later`` is a month end short of that day
    (30 April or 28 February in a series on the 30th or 31st), the count runs from the
    scheduled day, so a series on the 30th counts back to 30 January and a series on the last
    day of each month runs from month end to month end. A day that does not exist in the
    earlier month becomes its last day (the last day of February for the 29th and 30th).
    """
    index = later.year * 12 + later.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = _dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - _dt.timedelta(days=1)).day
    scheduled = series_day if _is_month_end(later) and series_day > later.day else later.day
    return _dt.date(year, month, min(scheduled, last_day))


def _full_months_and_days(
    earlier: _dt.date, later: _dt.date, series_day: int
) -> tuple[int, int]:
    """Whole months counted back from ``later`` without passing ``earlier``, and the odd days."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    months = max(months, 0)
    while months > 0 and _months_back(later, months, series_day) < earlier:
        months -= 1
    return months, (_months_back(later, months, series_day) - earlier).days


def _unit_periods(
    start: _dt.date, day: _dt.date, kind: str, size: int, series_day: int
) -> tuple[int, float]:
    """Whole unit-periods t and fraction f from ``start`` to ``day`` (Appendix J (b)(5))."""
    if kind == "day":  # (b)(5)(iv): days / days per unit-period
        return (day - start).days, 0.0
    if kind == "week":  # (b)(5)(iv): days / (7 x weeks per unit-period)
        whole, odd = divmod((day - start).days, 7 * size)
        return whole, odd / (7 * size)
    months, odd_days = _full_months_and_days(start, day, series_day)
    if kind == "month" and size == 1:  # (b)(5)(ii): months back, then odd days / 30
        return months, odd_days / 30
    if kind == "month" and size == 12:  # (b)(5)(v): years, then months / 12 or days / 365
        years, spare_months = divmod(months, 12)
        if odd_days == 0:
            return years, spare_months / 12
        year_start = _months_back(day, 12 * years, series_day)
        return years, (year_start - start).days / 365
    # (b)(5)(iii): 30 days a month plus the odd days, over 15 or 30 x months per unit-period
    unit_days = 15 if kind == "semimonth" else 30 * size
    whole, odd = divmod(30 * months + odd_days, unit_days)
    return whole, odd / unit_days


def apr_us_actuarial(dated_flows: Any, unit_period: str) -> float:
    """APR by the US actuarial method of Regulation Z, Appendix J (odd first and last periods).

    Each advance and payment ``A_j`` is discounted with ``(1 + f_j i) (1 + i) ** t_j``, where
    ``t_j`` is the number of whole unit-periods and ``f_j`` the fraction of a unit-period
    between the start of the term (the first flow) and the flow, counted back from the flow's
    date with the rules of Appendix J (b)(5); the unit-period rate ``i`` solves
    ``sum A_j / ((1 + f_j i) (1 + i) ** t_j) = 0`` and the APR is ``i`` times the number of
    unit-periods in a year. Because each flow is counted back from its own date, an odd first
    period (long or short) and an odd last period (a last payment off the regular calendar)
    both end up as fractions of a unit-period. A single advance repaid by a single payment in
    less than a year uses the term as the unit-period ((b)(5)(vi)-(vii)), whatever
    ``unit_period`` says.

    Parameters
    ----------
    dated_flows : sequence of (datetime.date, float) or DataFrame
        Borrower's view: advances positive, payments negative.
    unit_period : str
        ``"week"``, ``"biweek"``, ``"semimonth"``, ``"month"``, ``"quarter"``,
        ``"half-year"``, ``"year"``, ``"day"``, or ``"N weeks"`` / ``"N months"``.

    Returns
    -------
    float
        The APR as a fraction. Regulation Z counts a disclosed APR as accurate within 1/8 of
        a percentage point of it (1/4 in irregular transactions), 12 CFR 1026.22(a)(2)-(3).

    Examples
    --------
    Appendix J (c)(1)(ii): 6,000 advanced on 10 February 1978, 36 monthly payments of 200
    from 1 April 1978 (a long first period: one month back from 1 April is 1 March, plus the
    19 days from 10 February, so t = 1 and f = 19/30); APR 11.82%:

    >>> from datetime import date
    >>> payments = [(date(1978 + (m + 3) // 12, (m + 3) % 12 + 1, 1), -200.0) for m in range(36)]
    >>> round(apr_us_actuarial([(date(1978, 2, 10), 6000.0)] + payments, "month"), 4)
    0.1182
    """
    kind, size = _parse_unit_period(unit_period)
    dates, amounts = _dated(dated_flows)
    start = dates[0]
    _check_dated_signs(amounts, float(sum(a for d, a in zip(dates, amounts, strict=True)
                                          if d == start)))
    if dates[-1] == start:
        raise ValueError("all flows fall on the same date: there is no time to charge for.")

    # The day of the month the flows are scheduled for: a series on the 29th, 30th or 31st
    # shows it on its longer months only (Appendix J (b)(3)(iv)).
    series_day = max(day.day for day in dates)
    advances = amounts > 0
    term_days = (dates[-1] - start).days
    if advances.sum() == 1 and (~advances).sum() == 1 and term_days < 365:
        months, odd_days = _full_months_and_days(start, dates[-1], series_day)
        per_year = 12 / months if odd_days == 0 else 365 / term_days
        whole = np.array([0.0, 1.0])
        fraction = np.zeros(2)
    else:
        counts = [_unit_periods(start, day, kind, size, series_day) for day in dates]
        whole = np.array([c[0] for c in counts], dtype=np.float64)
        fraction = np.array([c[1] for c in counts])
        per_year = {
            "day": 365.0,
            "week": 52.0 / size,
            "semimonth": 24.0,
            "month": 12.0 / size,
        }[kind]

    def npv_at(rates: np.ndarray) -> np.ndarray:
        i = rates[:, None]
        discount = (1 + fraction[None, :] * i) * np.exp(whole[None, :] * np.log1p(i))
        return (amounts[None, :] / discount).sum(axis=1)

    return _solve_scalar(npv_at, float(amounts.sum())) * per_year


# --------------------------------------------------------------------------------------------
# Loans: flows, schedule, key facts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Terms:
    """Loan terms broadcast to one value per loan."""

    principal: np.ndarray
    n_payments: np.ndarray
    periods_per_year: np.ndarray
    rate: np.ndarray
    flat: np.ndarray
    upfront_fee: np.ndarray
    fee_per_payment: np.ndarray
    insurance: np.ndarray
    compulsory_savings: np.ndarray
    savings_interest: np.ndarray
    tax_on_interest: np.ndarray
    scalar: bool

    @property
    def n_loans(self) -> int:
        return self.principal.size

    @property
    def disbursed(self) -> np.ndarray:
        deducted = self.upfront_fee + self.insurance + self.compulsory_savings
        return self.principal * (1 - deducted)

    @property
    def savings_refund(self) -> np.ndarray:
        years = self.n_payments / self.periods_per_year
        return self.principal * self.compulsory_savings * (1 + self.savings_interest * years)

    @cached_property
    def _annuity(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Period rate, ``(1+i)**n - 1`` and the equal instalment of the declining method."""
        period_rate = self.rate / self.periods_per_year
        growth = np.expm1(self.n_payments * np.log1p(period_rate))
        with np.errstate(divide="ignore", invalid="ignore"):
            annuity = np.where(
                period_rate > 0,
                self.principal * period_rate * (1 + growth) / growth,
                self.principal / self.n_payments,
            )
        return period_rate, growth, annuity

    def instalment_parts(self, k: int) -> dict[str, np.ndarray]:
        """Principal, interest, fees and tax of instalment ``k`` (1-based) of every loan."""
        n = self.n_payments
        due = k <= n
        period_rate, growth, annuity = self._annuity
        with np.errstate(divide="ignore", invalid="ignore"):
            grown = np.expm1((k - 1) * np.log1p(period_rate))  # (1+i)**(k-1) - 1
            balance_before = np.where(
                period_rate > 0,
                self.principal * (growth - grown) / growth,
                self.principal * (1 - (k - 1) / n),
            )
        declining_interest = balance_before * period_rate
        declining_principal = np.where(k == n, balance_before, annuity - declining_interest)
        interest = np.where(self.flat, self.principal * period_rate, declining_interest)
        principal = np.where(self.flat, self.principal / n, declining_principal)
        return {
            "principal": np.where(due, principal, 0.0),
            "interest": np.where(due, interest, 0.0),
            "fees": np.where(due, self.principal * self.fee_per_payment, 0.0),
            "tax": np.where(due, interest * self.tax_on_interest, 0.0),
        }


def _terms(
    principal: Any,
    n_payments: Any,
    periods_per_year: Any,
    rate: Any,
    method: Any,
    upfront_fee: Any,
    fee_per_payment: Any,
    insurance: Any,
    compulsory_savings: Any,
    savings_interest: Any,
    tax_on_interest: Any,
) -> _Terms:
    raw = {
        "principal": principal,
        "n_payments": n_payments,
        "periods_per_year": periods_per_year,
        "rate": rate,
        "upfront_fee": upfront_fee,
        "fee_per_payment": fee_per_payment,
        "insurance": insurance,
        "compulsory_savings": compulsory_savings,
        "savings_interest": savings_interest,
        "tax_on_interest": tax_on_interest,
    }
    methods = np.asarray(method)
    scalar = all(np.ndim(value) == 0 for value in raw.values()) and methods.ndim == 0
    arrays: dict[str, np.ndarray] = {}
    for name, value in raw.items():
        try:
            arrays[name] = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number (or an array of numbers); got "
                            f"{value!r}.") from None
    try:
        shapes = [a.shape for a in arrays.values()] + [methods.shape]
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(
            "loan arguments given as arrays must have the same length (one value per loan)."
        ) from None
    if len(shape) > 1:
        raise ValueError("loan arguments must be numbers or 1-D arrays (one value per loan).")
    size = int(np.prod(shape)) if shape else 1
    if size == 0:
        raise ValueError("no loan: the loan arguments are empty arrays.")
    values = {name: np.broadcast_to(a, shape).reshape(size) for name, a in arrays.items()}
    methods = np.broadcast_to(methods, shape).reshape(size)
    unknown = sorted({str(m) for m in methods} - set(_METHODS))
    if unknown:
        raise ValueError(
            f"method must be 'declining' or 'flat'; got {', '.join(map(repr, unknown))}."
        )
    for name, array in values.items():
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be a finite number; got NaN or infinity.")
    if np.any(values["principal"] <= 0):
        raise ValueError("principal must be positive (the loan amount).")
    n = values["n_payments"]
    if np.any(n < 1) or np.any(n != np.round(n)):
        raise ValueError("n_payments must be a whole number of instalments, at least 1.")
    if np.any(values["periods_per_year"] <= 0):
        raise ValueError("periods_per_year must be positive, e.g. 12 for monthly instalments.")
    for name in ("rate", "fee_per_payment", "savings_interest", "tax_on_interest"):
        if np.any(values[name] < 0):
            raise ValueError(
                f"{name} must not be negative; rates and fees are fractions (0.02 means 2%)."
            )
    for name in ("upfront_fee", "insurance", "compulsory_savings"):
        if np.any(values[name] < 0) or np.any(values[name] >= 1):
            raise ValueError(
                f"{name} is a fraction of the principal between 0 and 1 (0.02 means 2%); got "
                f"{values[name][(values[name] < 0) | (values[name] >= 1)][0]!r}."
            )
    deducted = values["upfront_fee"] + values["insurance"] + values["compulsory_savings"]
    if np.any(deducted >= 1):
        raise ValueError(
            "upfront_fee + insurance + compulsory_savings take the whole principal: the client "
            "would receive nothing. Their sum must be below 1."
        )
    return _Terms(
        principal=values["principal"],
        n_payments=n.astype(np.int64),
        periods_per_year=values["periods_per_year"],
        rate=values["rate"],
        flat=methods == "flat",
        upfront_fee=values["upfront_fee"],
        fee_per_payment=values["fee_per_payment"],
        insurance=values["insurance"],
        compulsory_savings=values["compulsory_savings"],
        savings_interest=values["savings_interest"],
        tax_on_interest=values["tax_on_interest"],
        scalar=scalar,
    )


def loan_flows(
    principal: float | Sequence[float],
    n_payments: int | Sequence[int],
    periods_per_year: float | Sequence[float],
    rate: float | Sequence[float],
    *,
    method: str | Sequence[str] = "declining",
    upfront_fee: float | Sequence[float] = 0.0,
    fee_per_payment: float | Sequence[float] = 0.0,
    insurance: float | Sequence[float] = 0.0,
    compulsory_savings: float | Sequence[float] = 0.0,
    savings_interest: float | Sequence[float] = 0.0,
    tax_on_interest: float | Sequence[float] = 0.0,
) -> np.ndarray:
    """The borrower's cash flows of a loan, ready for :func:`apr` and :func:`eir`.

    Parameters
    ----------
    principal : float
        Loan amount.
    n_payments : int
        Number of instalments.
    periods_per_year : float
        Instalments per year (12 monthly, 26 fortnightly, 52 weekly).
    rate : float
        Yearly interest rate stated in the contract (flat or declining, see ``method``).
    method : {"declining", "flat"}
        Interest on the outstanding balance with equal instalments, or on the original
        principal for the whole term.
    upfront_fee, insurance, compulsory_savings : float
        Fractions of the principal deducted at disbursement; savings come back with the last
        instalment.
    fee_per_payment : float
        Fraction of the principal charged with every instalment.
    savings_interest : float
        Yearly simple interest paid on compulsory savings.
    tax_on_interest : float
        Tax charged on each period's interest (fraction of the interest).

    Every argument may also be an array with one value per loan: the result is then a 2-D
    array with one loan per row, padded with zeros after each loan's last instalment.

    Returns
    -------
    numpy.ndarray
        ``n_payments + 1`` flows: the net amount received, then minus each instalment (the
        last one net of the savings refund). Amounts are not rounded.

    Examples
    --------
    A flat 24% a year on 1,000 over 4 monthly instalments with a 2% fee:

    >>> loan_flows(1000, 4, 12, 0.24, method="flat", upfront_fee=0.02)
    array([ 980., -270., -270., -270., -270.])
    """
    terms = _terms(
        principal, n_payments, periods_per_year, rate, method, upfront_fee, fee_per_payment,
        insurance, compulsory_savings, savings_interest, tax_on_interest,
    )
    width = int(terms.n_payments.max())
    flows = np.zeros((terms.n_loans, width + 1))
    flows[:, 0] = terms.disbursed
    for k in range(1, width + 1):  # one pass per instalment number, vectorised over loans
        parts = terms.instalment_parts(k)
        flows[:, k] = -(parts["principal"] + parts["interest"] + parts["fees"] + parts["tax"])
    rows = np.arange(terms.n_loans)
    flows[rows, terms.n_payments] += terms.savings_refund
    return flows[0] if terms.scalar else flows


def _single_loan_terms(**arguments: Any) -> _Terms:
    terms = _terms(**arguments)
    if not terms.scalar:
        raise TypeError(
            "schedule() and key_facts() describe one loan: pass numbers, not arrays. Use "
            "loan_flows() for many loans at once."
        )
    return terms


def schedule(
    principal: float,
    n_payments: int,
    periods_per_year: float,
    rate: float,
    *,
    method: str = "declining",
    upfront_fee: float = 0.0,
    fee_per_payment: float = 0.0,
    insurance: float = 0.0,
    compulsory_savings: float = 0.0,
    savings_interest: float = 0.0,
    tax_on_interest: float = 0.0,
) -> pd.DataFrame:
    """Repayment schedule of one loan, one row per instalment, amounts rounded to the cent.

    Parameters
    ----------
    principal, n_payments, periods_per_year, rate, method, upfront_fee, fee_per_payment, \
insurance, compulsory_savings, savings_interest, tax_on_interest
        As in :func:`loan_flows` (numbers: one loan).

    Returns
    -------
    pandas.DataFrame
        Columns ``instalment_no``, ``principal``, ``interest``, ``fees``, ``tax``, ``total``
        (what the client pays), ``savings_refund`` (non-zero on the last row only) and
        ``balance`` (principal outstanding after the instalment). Each amount is rounded to
        the cent; the last principal absorbs the rounding so that the balance ends at zero.

    Examples
    --------
    >>> schedule(1000, 4, 12, 0.24, method="flat")[["principal", "interest", "total"]]
       principal  interest  total
    0      250.0      20.0  270.0
    1      250.0      20.0  270.0
    2      250.0      20.0  270.0
    3      250.0      20.0  270.0
    """
    terms = _single_loan_terms(
        principal=principal, n_payments=n_payments, periods_per_year=periods_per_year,
        rate=rate, method=method, upfront_fee=upfront_fee, fee_per_payment=fee_per_payment,
        insurance=insurance, compulsory_savings=compulsory_savings,
        savings_interest=savings_interest, tax_on_interest=tax_on_interest,
    )
    n = int(terms.n_payments[0])
    parts = {name: np.empty(n) for name in ("principal", "interest", "fees", "tax")}
    for k in range(1, n + 1):
        for name, value in terms.instalment_parts(k).items():
            parts[name][k - 1] = value[0]
    cents = {name: np.round(values, 2) for name, values in parts.items()}
    loan = round(float(terms.principal[0]), 2)
    cents["principal"][-1] = round(loan - float(cents["principal"][:-1].sum()), 2)
    refund = np.zeros(n)
    refund[-1] = round(float(terms.savings_refund[0]), 2)
    total = cents["principal"] + cents["interest"] + cents["fees"] + cents["tax"]
    balance = np.round(loan - np.cumsum(cents["principal"]), 2)
    return pd.DataFrame(
        {
            "instalment_no": np.arange(1, n + 1),
            "principal": cents["principal"],
            "interest": cents["interest"],
            "fees": cents["fees"],
            "tax": cents["tax"],
            "total": np.round(total, 2),
            "savings_refund": refund,
            "balance": balance + 0.0,  # no negative zeros
        }
    )


_FREQUENCIES = {52: "weekly", 26: "fortnightly", 24: "semi-monthly", 12: "monthly",
                4: "quarterly", 2: "half-yearly", 1: "yearly"}


@dataclass(frozen=True)
class KeyFacts:
    """Key Facts Statement of one loan (see :func:`key_facts`)."""

    currency: str
    loan_amount: float
    upfront_fee: float
    insurance: float
    compulsory_savings: float
    net_disbursed: float
    method: str
    nominal_rate: float
    n_payments: int
    periods_per_year: float
    first_instalment: float
    last_instalment: float
    total_interest: float
    total_fees_per_payment: float
    total_tax: float
    total_fees_and_charges: float
    savings_refund: float
    total_paid: float
    total_cost: float
    apr: float
    eir: float
    rows: list[tuple[str, Any, str]] = field(repr=False, default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The statement as a table: ``item``, ``value`` and ``unit`` columns."""
        return pd.DataFrame(self.rows, columns=["item", "value", "unit"])

    def _formatted_rows(self) -> list[tuple[str, str]]:
        out = []
        for item, value, unit in self.rows:
            if unit == "fraction":
                text = f"{value:.2%}"
            elif unit == self.currency:
                text = f"{value:,.2f} {self.currency}"
            else:
                text = f"{value}" if not unit else f"{value} {unit}"
            out.append((item, text))
        return out

    def to_html(self) -> str:
        """An HTML table for notebooks and printed handouts."""
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(item)}</th>"
            f"<td style='text-align:right'>{html.escape(text)}</td></tr>"
            for item, text in self._formatted_rows()
        )
        return (
            "<table class='key-facts'><caption>Key Facts Statement</caption>"
            f"<tbody>{body}</tbody></table>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        rows = self._formatted_rows()
        width = max(len(item) for item, _ in rows)
        return "\n".join(f"{item:<{width}}  {text}" for item, text in rows)


def key_facts(
    principal: float,
    n_payments: int,
    periods_per_year: float,
    rate: float,
    *,
    method: str = "declining",
    upfront_fee: float = 0.0,
    fee_per_payment: float = 0.0,
    insurance: float = 0.0,
    compulsory_savings: float = 0.0,
    savings_interest: float = 0.0,
    tax_on_interest: float = 0.0,
    currency: str = "USD",
) -> KeyFacts:
    """Key Facts Statement of one loan: amounts, every charge, instalments, APR and EIR.

    Follows the items of the RBI Key Facts Statement (loan amount, fees and charges including
    those paid to third parties such as insurance, net disbursed amount, number and amount of
    instalments, total interest, APR on the net disbursed amount) and adds the EIR, the
    compulsory savings and their refund.

    Parameters
    ----------
    principal, n_payments, periods_per_year, rate, method, upfront_fee, fee_per_payment, \
insurance, compulsory_savings, savings_interest, tax_on_interest
        As in :func:`loan_flows` (numbers: one loan).
    currency : str
        Currency code or name shown with the amounts.

    Returns
    -------
    KeyFacts
        Attributes for each figure; ``.to_frame()`` gives a DataFrame, ``.to_html()`` and the
        notebook display an HTML table. Amounts are rounded to the cent as in
        :func:`schedule`; the rates come from the unrounded flows.

    Examples
    --------
    >>> facts = key_facts(100_000, 12, 12, 0.12, upfront_fee=0.02, insurance=0.01,
    ...                   currency="INR")
    >>> facts.net_disbursed, round(facts.first_instalment)
    (97000.0, 8885)
    >>> round(facts.apr, 4)                       # from the unrounded instalment
    0.1782
    """
    if not isinstance(currency, str) or not currency.strip():
        raise TypeError("currency must be a non-empty string such as 'USD' or 'INR'.")
    arguments = dict(
        principal=principal, n_payments=n_payments, periods_per_year=periods_per_year,
        rate=rate, method=method, upfront_fee=upfront_fee, fee_per_payment=fee_per_payment,
        insurance=insurance, compulsory_savings=compulsory_savings,
        savings_interest=savings_interest, tax_on_interest=tax_on_interest,
    )
    terms = _single_loan_terms(**arguments)
    table = schedule(**arguments)
    flows = loan_flows(**arguments)
    ppy = float(terms.periods_per_year[0])
    loan = round(float(terms.principal[0]), 2)
    fee = round(loan * float(terms.upfront_fee[0]), 2)
    premium = round(loan * float(terms.insurance[0]), 2)
    savings = round(loan * float(terms.compulsory_savings[0]), 2)
    net = round(loan - fee - premium - savings, 2)
    total_interest = round(float(table["interest"].sum()), 2)
    fees_per_payment = round(float(table["fees"].sum()), 2)
    tax = round(float(table["tax"].sum()), 2)
    charges = round(fee + premium + fees_per_payment + tax, 2)
    refund = float(table["savings_refund"].iloc[-1])
    total_paid = round(float(table["total"].sum()), 2)
    total_cost = round(total_paid - refund - net, 2)
    rate_apr = float(apr(flows, ppy))
    rate_eir = float(eir(flows, ppy))
    n = int(terms.n_payments[0])
    method_name = str(method)
    frequency = _FREQUENCIES.get(int(ppy), f"{ppy:g} a year") if ppy == int(ppy) else (
        f"{ppy:g} a year"
    )
    rows: list[tuple[str, Any, str]] = [
        ("Loan amount", loan, currency),
        ("Upfront fee (deducted at disbursement)", fee, currency),
        ("Insurance premium (deducted at disbursement)", premium, currency),
        ("Compulsory savings withheld", savings, currency),
        ("Net amount disbursed", net, currency),
        (f"Interest rate ({method_name}, per year)", float(terms.rate[0]), "fraction"),
        ("Number of instalments", n, frequency),
        ("Instalment amount (first)", float(table["total"].iloc[0]), currency),
        ("Instalment amount (last)", float(table["total"].iloc[-1]), currency),
        ("Total interest", total_interest, currency),
        ("Fees charged with the instalments", fees_per_payment, currency),
        ("Tax on interest", tax, currency),
        ("Total fees and charges", charges, currency),
        ("Savings refunded with the last instalment", refund, currency),
        ("Total amount paid in instalments", total_paid, currency),
        ("Total cost of credit", total_cost, currency),
        ("Annual percentage rate (APR)", rate_apr, "fraction"),
        ("Effective interest rate (EIR)", rate_eir, "fraction"),
    ]
    return KeyFacts(
        currency=currency,
        loan_amount=loan,
        upfront_fee=fee,
        insurance=premium,
        compulsory_savings=savings,
        net_disbursed=net,
        method=method_name,
        nominal_rate=float(terms.rate[0]),
        n_payments=n,
        periods_per_year=ppy,
        first_instalment=float(table["total"].iloc[0]),
        last_instalment=float(table["total"].iloc[-1]),
        total_interest=total_interest,
        total_fees_per_payment=fees_per_payment,
        total_tax=tax,
        total_fees_and_charges=charges,
        savings_refund=refund,
        total_paid=total_paid,
        total_cost=total_cost,
        apr=rate_apr,
        eir=rate_eir,
        rows=rows,
    )
