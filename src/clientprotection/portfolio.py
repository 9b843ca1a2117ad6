"""Portfolio quality: portfolio at risk, write-offs, yield, vintages and roll rates.

Definitions follow the SEEP Network's Microfinance Financial Reporting Standards (MFRS):

* **PAR>N** is the outstanding principal of every loan with an instalment more than N days
  late, plus the outstanding principal of every restructured (renegotiated) loan, over the gross
  loan portfolio (the outstanding principal of all active loans). The *whole* balance of a late
  loan counts, not just the overdue instalments.
* **Write-off ratio**: principal written off in a period over the average gross loan portfolio.
* **Portfolio yield** (MFRS R1): interest and fees received on loans over the average gross
  loan portfolio.

Periods are ``(start, end]``: a payment or write-off on ``start`` belongs to the previous period;
balances are averaged over ``start``, every month-end in between and ``end``.

Repayment (collection) rates are not a measure of portfolio quality: see
:func:`repayment_rate` and :func:`annual_loss_from_repayment_rate` (Rosenberg, CGAP,
"Measuring Microcredit Delinquency").

Examples
--------
>>> import pandas as pd
>>> loans = pd.DataFrame({
...     "branch_id": ["B1", "B1", "B2"], "status": ["active"] * 3,
...     "outstanding": [600.0, 400.0, 1000.0], "days_late": [45, 0, 0],
...     "restructured": [False, False, True]})
>>> float(par(loans, 30))           # (600 + 1000) / 2000
0.8
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clientprotection._validation import (
    as_list,
    require_columns,
    require_fraction,
    require_frame,
    require_numeric,
    to_bool,
    to_datetime,
    to_timestamp,
)

__all__ = [
    "ARREARS_BUCKETS",
    "annual_loss_from_repayment_rate",
    "days_late_as_of",
    "gross_loan_portfolio",
    "infer_snapshot_date",
    "loans_as_of",
    "month_ends",
    "par",
    "par_from_schedule",
    "par_series",
    "portfolio_yield",
    "repayment_rate",
    "roll_rates",
    "vintage_curves",
    "write_off_ratio",
]

ARREARS_BUCKETS: tuple[int, ...] = (0, 30, 60, 90)
"""Upper edges (days late) of the arrears buckets used by :func:`roll_rates`:
current (0), 1-30, 31-60, 61-90, and 91+."""

By = Hashable | Sequence[Hashable] | None


def _check_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int | np.integer):
        raise TypeError(f"days must be a whole number of days, e.g. 30, got {days!r}.")
    if days < 0:
        raise ValueError(f"days must be 0 or more, got {days}.")
    return int(days)


def _ratio(numerator: pd.Series, denominator: pd.Series, by: list[Hashable], frame: pd.DataFrame,
           name: str) -> float | pd.Series:
    """Sum numerator and denominator (per group when ``by``) and divide; 0/0 gives NaN."""
    if not by:
        total = float(denominator.sum())
        return float(numerator.sum()) / total if total > 0 else float("nan")
    keys = [frame[c] for c in by]
    sums = pd.DataFrame({"num": numerator, "den": denominator}).groupby(
        keys, observed=True, dropna=False
    ).sum()
    ratio = sums["num"] / sums["den"].where(sums["den"] > 0)
    ratio.name = name
    return ratio


def _active_mask(loans: pd.DataFrame, status: str, outstanding: str) -> np.ndarray:
    if status in loans.columns:
        return (loans[status].astype("string") == "active").fillna(False).to_numpy(dtype=bool)
    return loans[outstanding].to_numpy(dtype=float) > 0


def gross_loan_portfolio(
    loans: pd.DataFrame,
    *,
    by: By = None,
    outstanding: str = "outstanding",
    status: str = "status",
) -> float | pd.Series:
    """Gross loan portfolio: outstanding principal of all active loans.

    Parameters
    ----------
    loans : DataFrame
        One row per loan with ``outstanding`` and (optionally) ``status``; when ``status`` is
        absent, every loan with a positive balance counts as active.
    by : column name or list of names, optional
        Group the total (e.g. ``"branch_id"``).
    outstanding, status : str
        Column names.

    Returns
    -------
    float or Series
        Total, or one total per group.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"status": ["active", "repaid"], "outstanding": [500.0, 0.0]})
    >>> float(gross_loan_portfolio(loans))
    500.0
    """
    require_frame(loans, "loans")
    by_cols = as_list(by)
    require_columns(loans, [outstanding, *by_cols], "loans")
    require_numeric(loans, [outstanding], "loans")
    balance = loans[outstanding].fillna(0.0) * _active_mask(loans, status, outstanding)
    if not by_cols:
        return float(balance.sum())
    return balance.groupby([loans[c] for c in by_cols], observed=True, dropna=False).sum()


def par(
    loans: pd.DataFrame,
    days: int = 30,
    *,
    by: By = None,
    as_of: Any = None,
    include_restructured: bool = True,
    outstanding: str = "outstanding",
    days_late: str = "days_late",
    status: str = "status",
    restructured: str = "restructured",
    restructured_on: str = "restructured_on",
) -> float | pd.Series:
    """Portfolio at risk over ``days`` days (PAR>N), SEEP MFRS definition.

    PAR>N = outstanding principal of active loans with an instalment more than ``days`` days
    late, plus outstanding principal of restructured loans, over the gross loan portfolio
    (outstanding principal of all active loans). The whole balance of a late loan counts.

    Parameters
    ----------
    loans : DataFrame
        One row per loan, e.g. ``load_mfi()["loans"]`` (a snapshot), or the output of
        :func:`loans_as_of` for another date.
    days : int, default 30
        Threshold N: a loan is at risk when ``days_late > days``.
    by : column name or list of names, optional
        Compute one PAR per group (``"branch_id"``, ``["branch_id", "officer_id"]``...).
    as_of : date-like, optional
        Date the table describes. When given and ``restructured_on`` exists, only loans
        restructured on or before it count as restructured.
    include_restructured : bool, default True
        Count restructured loans as at risk whatever their arrears (SEEP MFRS).
    outstanding, days_late, status, restructured, restructured_on : str
        Column names. Without a ``status`` column every loan with a positive balance is active;
        without a ``restructured`` column no loan is restructured.

    Returns
    -------
    float or Series
        A fraction between 0 and 1 (NaN for a group without active loans).

    Raises
    ------
    ValueError
        Empty table, missing column, negative ``days`` or negative balances.
    TypeError
        Non-numeric balances or arrears.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({
    ...     "branch_id": ["B1", "B1", "B2", "B2"],
    ...     "status": ["active", "active", "active", "repaid"],
    ...     "outstanding": [600.0, 400.0, 1000.0, 0.0],
    ...     "days_late": [45, 10, 0, 0],
    ...     "restructured": [False, False, True, False]})
    >>> float(par(loans, 30))                 # (600 + 1000) / 2000
    0.8
    >>> float(par(loans, 30, include_restructured=False))   # 600 / 2000
    0.3
    >>> par(loans, 30, by="branch_id").round(2).tolist()    # B1: 600/1000, B2: 1000/1000
    [0.6, 1.0]
    """
    require_frame(loans, "loans")
    days = _check_days(days)
    by_cols = as_list(by)
    require_columns(loans, [outstanding, days_late, *by_cols], "loans")
    require_numeric(loans, [outstanding, days_late], "loans")
    balance = loans[outstanding].fillna(0.0).to_numpy(dtype=float)
    if (balance < 0).any():
        raise ValueError(f"loans[{outstanding!r}] has negative balances; fix the data first.")
    active = _active_mask(loans, status, outstanding)
    late = loans[days_late].fillna(0).to_numpy() > days
    at_risk = late
    if include_restructured and restructured in loans.columns:
        rescheduled = to_bool(loans[restructured], f"loans[{restructured!r}]")
        if as_of is not None and restructured_on in loans.columns:
            when = to_datetime(loans[restructured_on], f"loans[{restructured_on!r}]")
            rescheduled &= (when <= to_timestamp(as_of, "as_of")).fillna(False).to_numpy(bool)
        at_risk = late | rescheduled
    glp = pd.Series(balance * active, index=loans.index)
    risky = pd.Series(balance * (active & at_risk), index=loans.index)
    return _ratio(risky, glp, by_cols, loans, f"par{days}")


def infer_snapshot_date(schedule: pd.DataFrame) -> pd.Timestamp:
    """Snapshot date of a schedule table: when its ``days_late`` were measured.

    For an unpaid, overdue instalment ``days_late`` counts to the snapshot date, so
    ``due_on + days_late`` gives it; otherwise the latest ``paid_on`` or ``due_on`` is used.

    Examples
    --------
    >>> import pandas as pd
    >>> schedule = pd.DataFrame({"due_on": pd.to_datetime(["2024-01-10", "2024-02-10"]),
    ...     "paid_on": pd.to_datetime(["2024-01-10", None]), "days_late": [0, 20]})
    >>> infer_snapshot_date(schedule).date()
    datetime.date(2024, 3, 1)
    """
    require_frame(schedule, "schedule")
    require_columns(schedule, ["due_on", "paid_on"], "schedule")
    due = to_datetime(schedule["due_on"], "schedule['due_on']")
    paid = to_datetime(schedule["paid_on"], "schedule['paid_on']")
    if "days_late" in schedule.columns:
        open_late = paid.isna() & (schedule["days_late"].fillna(0) > 0)
        if open_late.any():
            stamps = due[open_late] + pd.to_timedelta(schedule.loc[open_late, "days_late"], "D")
            return pd.Timestamp(stamps.max())
    return pd.Timestamp(paid.max() if paid.notna().any() else due.max())


def days_late_as_of(
    schedule: pd.DataFrame,
    as_of: Any,
    *,
    loan_id: str = "loan_id",
    due_on: str = "due_on",
    paid_on: str = "paid_on",
) -> pd.Series:
    """Days the oldest unpaid instalment of each loan is overdue on ``as_of``.

    An instalment is unpaid on ``as_of`` when it has no ``paid_on`` date or was paid after
    ``as_of`` (the schedule records when each instalment was paid in full, so the arrears of
    any past date can be recovered). Instalments due on or after ``as_of`` are not late.

    Parameters
    ----------
    schedule : DataFrame
        One row per instalment (``load_mfi()["schedule"]``).
    as_of : date-like
        The date to measure arrears on.
    loan_id, due_on, paid_on : str
        Column names.

    Returns
    -------
    Series
        Integer days late (0 when nothing is overdue), indexed by loan id, for every loan in
        ``schedule``.

    Examples
    --------
    >>> import pandas as pd
    >>> schedule = pd.DataFrame({
    ...     "loan_id": ["L1", "L1", "L2"],
    ...     "due_on": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
    ...     "paid_on": pd.to_datetime(["2024-03-01", None, "2024-01-15"])})
    >>> days_late_as_of(schedule, "2024-02-10").to_dict()   # L1: 10 Feb - 1 Jan = 40 days
    {'L1': 40, 'L2': 0}
    """
    require_frame(schedule, "schedule")
    require_columns(schedule, [loan_id, due_on, paid_on], "schedule")
    stamp = to_timestamp(as_of, "as_of")
    due = to_datetime(schedule[due_on], f"schedule[{due_on!r}]")
    paid = to_datetime(schedule[paid_on], f"schedule[{paid_on!r}]")
    unpaid = (due < stamp) & (paid.isna() | (paid > stamp))
    late = (stamp - due[unpaid]).dt.days
    worst = late.groupby(schedule.loc[unpaid, loan_id], observed=True).max()
    ids = pd.Index(schedule[loan_id].unique(), name=loan_id)
    return worst.reindex(ids, fill_value=0).astype("int64").rename("days_late")


def loans_as_of(
    loans: pd.DataFrame,
    schedule: pd.DataFrame,
    as_of: Any,
) -> pd.DataFrame:
    """Restate the loans table on another date, from the repayment schedule.

    Returns a copy of ``loans`` whose ``outstanding``, ``days_late``, ``status`` and
    ``restructured`` describe ``as_of`` instead of the snapshot date:

    * ``outstanding`` = ``amount`` minus principal of instalments paid in full by ``as_of``;
      0 before disbursement, after a write-off, or when fully repaid;
    * ``days_late`` from :func:`days_late_as_of`;
    * ``status`` = ``'not_disbursed'``, ``'written_off'``, ``'repaid'`` or ``'active'``;
    * ``restructured`` only if ``restructured_on`` is on or before ``as_of``.

    Partial payments count only once the instalment is paid in full, so balances between
    two instalments may be slightly overstated.

    Parameters
    ----------
    loans : DataFrame
        Needs ``loan_id``, ``amount``, ``disbursed_on``; ``written_off_on``,
        ``restructured`` and ``restructured_on`` are used when present.
    schedule : DataFrame
        Needs ``loan_id``, ``due_on``, ``paid_on``, ``principal_due``.
    as_of : date-like

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1"], "amount": [300.0],
    ...     "disbursed_on": pd.to_datetime(["2024-01-01"])})
    >>> schedule = pd.DataFrame({"loan_id": ["L1"] * 3, "principal_due": [100.0] * 3,
    ...     "due_on": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-04-01"]),
    ...     "paid_on": pd.to_datetime(["2024-02-01", None, None])})
    >>> loans_as_of(loans, schedule, "2024-03-15")[["outstanding", "days_late"]].iloc[0].tolist()
    [200.0, 14.0]
    """
    require_frame(loans, "loans")
    require_frame(schedule, "schedule")
    require_columns(loans, ["loan_id", "amount", "disbursed_on"], "loans")
    require_columns(schedule, ["loan_id", "due_on", "paid_on", "principal_due"], "schedule")
    require_numeric(loans, ["amount"], "loans")
    require_numeric(schedule, ["principal_due"], "schedule")
    stamp = to_timestamp(as_of, "as_of")
    out = loans.copy()
    paid = to_datetime(schedule["paid_on"], "schedule['paid_on']")
    repaid_principal = (
        schedule.loc[(paid <= stamp).to_numpy(), "principal_due"]
        .groupby(schedule.loc[(paid <= stamp).to_numpy(), "loan_id"], observed=True)
        .sum()
    )
    ids = out["loan_id"]
    principal_paid = ids.map(repaid_principal).fillna(0.0).astype(float)
    balance = (out["amount"].astype(float) - principal_paid).clip(lower=0.0).round(2)
    disbursed = (to_datetime(out["disbursed_on"], "loans['disbursed_on']") <= stamp).to_numpy()
    written_off = np.zeros(len(out), dtype=bool)
    if "written_off_on" in out.columns:
        wo = to_datetime(out["written_off_on"], "loans['written_off_on']")
        written_off = (wo <= stamp).fillna(False).to_numpy(dtype=bool)
    status = np.where(
        ~disbursed, "not_disbursed",
        np.where(written_off, "written_off", np.where(balance <= 0.005, "repaid", "active")),
    )
    active = status == "active"
    out["outstanding"] = np.where(active, balance, 0.0)
    arrears = days_late_as_of(schedule, stamp)
    out["days_late"] = np.where(active, ids.map(arrears).fillna(0).to_numpy(), 0).astype("int64")
    out["status"] = status
    if "restructured" in out.columns and "restructured_on" in out.columns:
        when = to_datetime(out["restructured_on"], "loans['restructured_on']")
        out["restructured"] = to_bool(out["restructured"], "loans['restructured']") & (
            (when <= stamp).fillna(False).to_numpy(dtype=bool)
        )
    return out


def par_from_schedule(
    loans: pd.DataFrame,
    schedule: pd.DataFrame,
    as_of: Any,
    days: int = 30,
    *,
    by: By = None,
    include_restructured: bool = True,
) -> float | pd.Series:
    """PAR>N on any past date, rebuilt from the schedule (see :func:`loans_as_of`).

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1", "L2"], "amount": [300.0, 100.0],
    ...     "disbursed_on": pd.to_datetime(["2024-01-01", "2024-01-01"])})
    >>> schedule = pd.DataFrame({"loan_id": ["L1", "L1", "L1", "L2"],
    ...     "principal_due": [100.0, 100.0, 100.0, 100.0],
    ...     "due_on": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-04-01", "2024-06-01"]),
    ...     "paid_on": pd.to_datetime(["2024-02-01", None, None, None])})
    >>> float(par_from_schedule(loans, schedule, "2024-04-15", 30))  # L1 45 days late: 200/300
    0.6666666666666666
    """
    restated = loans_as_of(loans, schedule, as_of)
    return par(restated, days, by=by, as_of=as_of, include_restructured=include_restructured)


def month_ends(start: Any, end: Any) -> pd.DatetimeIndex:
    """Month-end dates from ``start`` to ``end`` inclusive.

    Examples
    --------
    >>> [d.day for d in month_ends("2024-01-15", "2024-03-31")]
    [31, 29, 31]
    """
    first, last = to_timestamp(start, "start"), to_timestamp(end, "end")
    if last < first:
        raise ValueError(f"end ({last.date()}) is before start ({first.date()}).")
    return pd.date_range(first, last, freq="ME")


def par_series(
    loans: pd.DataFrame,
    schedule: pd.DataFrame,
    dates: Sequence[Any] | pd.DatetimeIndex,
    days: int = 30,
    *,
    by: By = None,
    include_restructured: bool = True,
) -> pd.Series | pd.DataFrame:
    """PAR>N on each of ``dates`` (e.g. :func:`month_ends`), for a line chart over time.

    Returns
    -------
    Series indexed by date, or (with ``by``) a DataFrame with one column per group.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1"], "amount": [200.0],
    ...     "disbursed_on": pd.to_datetime(["2024-01-01"])})
    >>> schedule = pd.DataFrame({"loan_id": ["L1", "L1"], "principal_due": [100.0, 100.0],
    ...     "due_on": pd.to_datetime(["2024-02-01", "2024-03-01"]),
    ...     "paid_on": pd.to_datetime(["2024-02-01", "2024-05-10"])})
    >>> par_series(loans, schedule, month_ends("2024-02-01", "2024-05-31")).tolist()
    [0.0, 0.0, 1.0, nan]
    """
    _check_days(days)
    stamps = pd.DatetimeIndex([to_timestamp(d, "dates") for d in dates])
    if len(stamps) == 0:
        raise ValueError("dates is empty: give at least one date, e.g. month_ends(start, end).")
    values = {
        stamp: par_from_schedule(loans, schedule, stamp, days, by=by,
                                 include_restructured=include_restructured)
        for stamp in stamps  # one vectorised computation per date, not per loan
    }
    if by is None:
        return pd.Series(values, name=f"par{days}").rename_axis("as_of")
    return pd.DataFrame(values).T.rename_axis("as_of")


def _average_glp(loans: pd.DataFrame, schedule: pd.DataFrame, start: pd.Timestamp,
                 end: pd.Timestamp, by_cols: list[Hashable]) -> float | pd.Series:
    dates = pd.DatetimeIndex([start]).append(month_ends(start, end)).append(pd.DatetimeIndex([end]))
    dates = dates[(dates >= start) & (dates <= end)].unique()
    totals = [gross_loan_portfolio(loans_as_of(loans, schedule, d), by=by_cols or None)
              for d in dates]
    if not by_cols:
        return float(np.mean(totals))
    return pd.concat(totals, axis=1).fillna(0.0).mean(axis=1)


def _period(start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    first, last = to_timestamp(start, "start"), to_timestamp(end, "end")
    if last <= first:
        raise ValueError(f"end ({last.date()}) must be after start ({first.date()}).")
    return first, last


def write_off_ratio(
    loans: pd.DataFrame,
    schedule: pd.DataFrame,
    start: Any,
    end: Any,
    *,
    by: By = None,
) -> float | pd.Series:
    """Write-off ratio: principal written off in ``(start, end]`` over average gross portfolio.

    The amount written off is the principal still outstanding on the write-off date
    (``amount`` minus principal of instalments paid in full before it). The average gross loan
    portfolio is the mean of the balances on ``start``, each month-end in between and ``end``.
    The ratio is not annualised: pass a one-year period for the yearly ratio.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1", "L2"], "amount": [100.0, 100.0],
    ...     "disbursed_on": pd.to_datetime(["2023-12-01", "2023-12-01"]),
    ...     "written_off_on": pd.to_datetime([None, "2024-01-20"])})
    >>> schedule = pd.DataFrame({"loan_id": ["L1", "L2"], "principal_due": [100.0, 100.0],
    ...     "due_on": pd.to_datetime(["2024-06-01", "2024-06-01"]),
    ...     "paid_on": pd.to_datetime([None, None])})
    >>> # balances: 200 on 31 Dec, 100 on 31 Jan; average 150; written off 100
    >>> round(write_off_ratio(loans, schedule, "2023-12-31", "2024-01-31"), 4)
    0.6667
    """
    require_frame(loans, "loans")
    require_columns(loans, ["loan_id", "amount", "written_off_on"], "loans")
    first, last = _period(start, end)
    by_cols = as_list(by)
    require_columns(loans, by_cols, "loans")
    when = to_datetime(loans["written_off_on"], "loans['written_off_on']")
    in_period = ((when > first) & (when <= last)).fillna(False).to_numpy(dtype=bool)
    lost = loans.loc[in_period, ["loan_id", "amount"]].assign(when=when[in_period])
    rows = schedule[schedule["loan_id"].isin(lost["loan_id"])]
    rows = rows.assign(paid=to_datetime(rows["paid_on"], "schedule['paid_on']")).merge(
        lost[["loan_id", "when"]], on="loan_id")
    paid_before = rows.loc[rows["paid"] < rows["when"]].groupby("loan_id")["principal_due"].sum()
    amount = (lost["amount"] - lost["loan_id"].map(paid_before).fillna(0.0)).clip(lower=0.0)
    written = pd.Series(0.0, index=loans.index)
    written.loc[lost.index] = amount
    average = _average_glp(loans, schedule, first, last, by_cols)
    if not by_cols:
        return float(written.sum()) / average if average > 0 else float("nan")
    per_group = written.groupby([loans[c] for c in by_cols], observed=True, dropna=False).sum()
    return (per_group / average.where(average > 0)).rename("write_off_ratio")


def portfolio_yield(
    loans: pd.DataFrame,
    schedule: pd.DataFrame,
    start: Any,
    end: Any,
    *,
    by: By = None,
    annualise: bool = True,
    include_upfront_fees: bool = True,
) -> float | pd.Series:
    """Portfolio yield (SEEP MFRS R1): interest and fees received over average gross portfolio.

    Income is the interest and fees of instalments paid in full in ``(start, end]`` plus, with
    ``include_upfront_fees``, the upfront fees of loans disbursed in the period. Insurance
    premiums are passed to the insurer and are not income. With ``annualise`` the ratio is
    scaled by ``365 / days in the period``.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1"], "amount": [1000.0], "upfront_fee": [20.0],
    ...     "disbursed_on": pd.to_datetime(["2023-06-30"])})
    >>> schedule = pd.DataFrame({"loan_id": ["L1", "L1"], "principal_due": [500.0, 500.0],
    ...     "interest_due": [60.0, 30.0], "fees_due": [5.0, 5.0],
    ...     "due_on": pd.to_datetime(["2023-12-31", "2024-06-30"]),
    ...     "paid_on": pd.to_datetime(["2023-12-31", "2024-06-30"])})
    >>> # income: 60 + 5 (the fee was taken on 30 June, which belongs to the previous period);
    >>> # average balance over 30 Jun, 31 Jul, ..., 31 Dec: (6 * 1000 + 500) / 7 = 928.57
    >>> round(portfolio_yield(loans, schedule, "2023-06-30", "2023-12-31", annualise=False), 4)
    0.07
    """
    require_frame(loans, "loans")
    require_frame(schedule, "schedule")
    require_columns(schedule, ["loan_id", "paid_on", "interest_due", "fees_due"], "schedule")
    require_numeric(schedule, ["interest_due", "fees_due"], "schedule")
    first, last = _period(start, end)
    by_cols = as_list(by)
    require_columns(loans, ["loan_id", *by_cols], "loans")
    paid = to_datetime(schedule["paid_on"], "schedule['paid_on']")
    in_period = ((paid > first) & (paid <= last)).to_numpy()
    received = (schedule.loc[in_period, "interest_due"] + schedule.loc[in_period, "fees_due"])
    per_loan = received.groupby(schedule.loc[in_period, "loan_id"], observed=True).sum()
    income = loans["loan_id"].map(per_loan).fillna(0.0).astype(float)
    if include_upfront_fees:
        require_columns(loans, ["upfront_fee", "disbursed_on"], "loans")
        disbursed = to_datetime(loans["disbursed_on"], "loans['disbursed_on']")
        new = ((disbursed > first) & (disbursed <= last)).to_numpy()
        income = income + np.where(new, loans["upfront_fee"].fillna(0.0), 0.0)
    scale = 365.0 / (last - first).days if annualise else 1.0
    average = _average_glp(loans, schedule, first, last, by_cols)
    if not by_cols:
        return float(income.sum()) * scale / average if average > 0 else float("nan")
    per_group = income.groupby([loans[c] for c in by_cols], observed=True, dropna=False).sum()
    return (per_group * scale / average.where(average > 0)).rename("portfolio_yield")


def vintage_curves(
    loans: pd.DataFrame,
    schedule: pd.DataFrame,
    days: int = 30,
    *,
    as_of: Any = None,
    cohort: str = "M",
) -> pd.DataFrame:
    """Share of each disbursement cohort ever more than ``days`` days late, by months on book.

    A loan "goes bad" on the first date one of its instalments is more than ``days`` days
    overdue (``due_on + days + 1`` for an instalment paid later than that or not at all). For
    each cohort (loans disbursed in the same month, quarter or year) the curve gives the
    cumulative share of its loans that had gone bad by each month after disbursement; months
    not yet observed on ``as_of`` are NaN.

    Parameters
    ----------
    loans : DataFrame
        ``loan_id`` and ``disbursed_on``.
    schedule : DataFrame
        ``loan_id``, ``due_on``, ``paid_on``.
    days : int, default 30
    as_of : date-like, optional
        Observation date; default :func:`infer_snapshot_date` of ``schedule``.
    cohort : {"M", "Q", "Y"}
        Cohort length: month, quarter or year of disbursement.

    Returns
    -------
    DataFrame
        Rows: cohorts (pandas Periods); columns: months on book 0, 1, 2, ...

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1", "L2"],
    ...     "disbursed_on": pd.to_datetime(["2024-01-05", "2024-01-20"])})
    >>> schedule = pd.DataFrame({"loan_id": ["L1", "L2"],
    ...     "due_on": pd.to_datetime(["2024-02-05", "2024-02-20"]),
    ...     "paid_on": pd.to_datetime([None, "2024-02-20"])})
    >>> # L1 is 31 days late on 7 March: bad in month 2 after January; L2 never
    >>> vintage_curves(loans, schedule, 30, as_of="2024-04-30").iloc[0].tolist()
    [0.0, 0.0, 0.5, 0.5]
    """
    days = _check_days(days)
    if cohort not in {"M", "Q", "Y"}:
        raise ValueError(f"cohort must be 'M', 'Q' or 'Y', got {cohort!r}.")
    require_frame(loans, "loans")
    require_frame(schedule, "schedule")
    require_columns(loans, ["loan_id", "disbursed_on"], "loans")
    require_columns(schedule, ["loan_id", "due_on", "paid_on"], "schedule")
    stamp = infer_snapshot_date(schedule) if as_of is None else to_timestamp(as_of, "as_of")
    disbursed = to_datetime(loans["disbursed_on"], "loans['disbursed_on']")
    book = loans.loc[(disbursed <= stamp).to_numpy(), ["loan_id"]].assign(
        disbursed=disbursed[disbursed <= stamp])
    if book.empty:
        raise ValueError(f"No loan was disbursed on or before {stamp.date()}.")
    due = to_datetime(schedule["due_on"], "schedule['due_on']")
    paid = to_datetime(schedule["paid_on"], "schedule['paid_on']")
    bad_on = due + pd.Timedelta(days=days + 1)
    bad = (bad_on <= stamp) & (paid.isna() | (paid >= bad_on))
    first_bad = bad_on[bad].groupby(schedule.loc[bad, "loan_id"], observed=True).min()
    book["bad_on"] = pd.to_datetime(first_bad.reindex(book["loan_id"].to_numpy()).to_numpy())

    def month_number(values: pd.Series) -> pd.Series:
        return values.dt.year * 12 + values.dt.month

    book["cohort"] = book["disbursed"].dt.to_period(cohort)
    book["months"] = month_number(book["bad_on"]) - month_number(book["disbursed"])
    size = book.groupby("cohort").size()
    cohort_last_month = month_number(book.groupby("cohort")["disbursed"].max())
    observed = int(month_number(pd.Series([stamp])).iloc[0]) - cohort_last_month
    width = int(max(observed.max(), book["months"].max() if book["months"].notna().any() else 0))
    went_bad = pd.crosstab(book["cohort"], book["months"].dropna().astype(int))
    went_bad = went_bad.reindex(index=size.index, columns=range(width + 1), fill_value=0)
    curves = went_bad.cumsum(axis=1).div(size, axis=0).astype(float)
    months = np.arange(width + 1)
    curves = curves.where(months[None, :] <= observed.to_numpy()[:, None])
    curves.columns.name = "months_on_book"
    return curves


def _bucket_labels(edges: Sequence[int]) -> list[str]:
    labels = ["current"]
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        labels.append(f"{low + 1}-{high}")
    labels.append(f"{edges[-1] + 1}+")
    return labels


def roll_rates(
    loans: pd.DataFrame,
    schedule: pd.DataFrame,
    dates: Sequence[Any] | pd.DatetimeIndex,
    *,
    buckets: Sequence[int] = ARREARS_BUCKETS,
    weight: str = "count",
    normalise: bool = True,
) -> pd.DataFrame:
    """Transition matrix between arrears buckets from one date (month-end) to the next.

    For every pair of consecutive ``dates`` each loan active on the first date is placed in
    an arrears bucket on both dates; loans that closed in between go to ``'repaid'`` or
    ``'written_off'``. Counts (or balances) are added over all pairs.

    Parameters
    ----------
    loans, schedule : DataFrame
        As for :func:`loans_as_of`.
    dates : sequence of dates
        At least two, e.g. :func:`month_ends`.
    buckets : sequence of int, default (0, 30, 60, 90)
        Upper edges in days late; the default gives current, 1-30, 31-60, 61-90 and 91+.
    weight : {"count", "balance"}
        Count loans, or weight them by their outstanding balance on the first date.
    normalise : bool, default True
        Divide each row by its total so rows sum to 1 (the roll rates).

    Returns
    -------
    DataFrame
        Rows: bucket on the first date; columns: bucket or closed state on the next date.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1", "L2"], "amount": [100.0, 100.0],
    ...     "disbursed_on": pd.to_datetime(["2024-01-01", "2024-01-01"])})
    >>> schedule = pd.DataFrame({"loan_id": ["L1", "L2"], "principal_due": [100.0, 100.0],
    ...     "due_on": pd.to_datetime(["2024-01-20", "2024-01-20"]),
    ...     "paid_on": pd.to_datetime(["2024-02-10", None])})
    >>> rates = roll_rates(loans, schedule, ["2024-01-31", "2024-02-29"])
    >>> rates.loc["1-30", ["31-60", "repaid"]].tolist()   # one rolls forward, one repays
    [0.5, 0.5]
    """
    stamps = pd.DatetimeIndex([to_timestamp(d, "dates") for d in dates]).sort_values()
    if len(stamps) < 2:
        raise ValueError("roll_rates needs at least two dates, e.g. month_ends(start, end).")
    if weight not in {"count", "balance"}:
        raise ValueError(f"weight must be 'count' or 'balance', got {weight!r}.")
    edges = [int(b) for b in buckets]
    if edges != sorted(set(edges)) or edges[0] < 0:
        raise ValueError(f"buckets must be increasing day counts from 0, got {list(buckets)}.")
    labels = _bucket_labels(edges)
    bins = [-np.inf, *edges, np.inf]
    states = []
    for stamp in stamps:  # one vectorised restatement per date
        table = loans_as_of(loans, schedule, stamp)
        bucket = pd.cut(table["days_late"], bins=bins, labels=labels, right=True).astype(str)
        state = np.where(table["status"] == "active", bucket, table["status"])
        states.append(pd.DataFrame({"loan_id": table["loan_id"].to_numpy(), "state": state,
                                    "balance": table["outstanding"].to_numpy()}))
    pairs = []
    for before, after in zip(states[:-1], states[1:], strict=True):
        merged = before.merge(after[["loan_id", "state"]], on="loan_id", suffixes=("", "_next"))
        pairs.append(merged[merged["state"].isin(labels)])
    moves = pd.concat(pairs, ignore_index=True)
    values = moves["balance"] if weight == "balance" else pd.Series(1.0, index=moves.index)
    matrix = values.groupby([moves["state"], moves["state_next"]]).sum().unstack(fill_value=0.0)
    columns = labels + [c for c in ("repaid", "written_off") if c in matrix.columns]
    matrix = matrix.reindex(index=labels, columns=columns, fill_value=0.0)
    matrix.index.name, matrix.columns.name = "from", "to"
    if normalise:
        matrix = matrix.div(matrix.sum(axis=1).where(lambda s: s > 0), axis=0)
    return matrix


def repayment_rate(
    schedule: pd.DataFrame,
    start: Any,
    end: Any,
    *,
    due_on: str = "due_on",
    amount_paid: str = "amount_paid",
    due_columns: Sequence[str] = ("principal_due", "interest_due", "fees_due"),
) -> float:
    """Repayment (collection) rate: amount collected over amount due, for instalments due in
    ``(start, end]``.

    Payments above the amount due are ignored (a prepayment does not offset another loan's
    arrears). This is the figure MFIs used to advertise; it says nothing about the share of
    the portfolio at risk or about annual losses: compare it with :func:`par` and
    :func:`annual_loss_from_repayment_rate`.

    Examples
    --------
    >>> import pandas as pd
    >>> schedule = pd.DataFrame({"due_on": pd.to_datetime(["2024-01-10", "2024-01-20"]),
    ...     "principal_due": [90.0, 90.0], "interest_due": [10.0, 10.0], "fees_due": [0.0, 0.0],
    ...     "amount_paid": [100.0, 90.0]})
    >>> repayment_rate(schedule, "2023-12-31", "2024-01-31")    # 190 / 200
    0.95
    """
    require_frame(schedule, "schedule")
    require_columns(schedule, [due_on, amount_paid, *due_columns], "schedule")
    require_numeric(schedule, [amount_paid, *due_columns], "schedule")
    first, last = _period(start, end)
    due_dates = to_datetime(schedule[due_on], f"schedule[{due_on!r}]")
    window = ((due_dates > first) & (due_dates <= last)).to_numpy()
    due = schedule.loc[window, list(due_columns)].fillna(0.0).sum(axis=1).to_numpy()
    if due.sum() <= 0:
        raise ValueError(f"Nothing was due between {first.date()} and {last.date()}.")
    paid = np.minimum(schedule.loc[window, amount_paid].fillna(0.0).to_numpy(), due)
    return float(paid.sum() / due.sum())


def annual_loss_from_repayment_rate(
    repayment_rate: float | np.ndarray,
    term_months: float | np.ndarray,
    *,
    average_balance_share: float = 0.5,
) -> float | np.ndarray:
    """Yearly loss as a share of the average portfolio implied by a repayment rate.

    Rosenberg's illustration (CGAP, "Measuring Microcredit Delinquency"): if a share
    ``1 - repayment_rate`` of every amount due is never collected, a portfolio of loans of
    ``term_months`` turns over ``12 / term_months`` times a year, and the average balance of a
    loan is about half its amount (``average_balance_share`` for equal instalments), then the
    yearly loss over the average portfolio is

        (1 - repayment_rate) * (12 / term_months) / average_balance_share

    Examples
    --------
    >>> round(annual_loss_from_repayment_rate(0.95, 3), 2)     # 0.05 * 4 / 0.5
    0.4
    """
    share = require_fraction(average_balance_share, "average_balance_share", allow_one=True)
    rate = np.asarray(repayment_rate, dtype=float)
    term = np.asarray(term_months, dtype=float)
    if ((rate < 0) | (rate > 1)).any():
        raise ValueError("repayment_rate must be between 0 and 1.")
    if (term <= 0).any():
        raise ValueError("term_months must be positive.")
    loss = (1.0 - rate) * (12.0 / term) / share
    return float(loss) if loss.ndim == 0 else loss
