"""Complaints: volumes, handling times, overdue cases and trends.

Complaints per client is IRIS metric PI5216; the course reports complaints per 1,000 clients
a year. Handling targets are parameters; the defaults follow a regulator's example (Central
Bank of Bahrain rulebook, BC-2.3.2: acknowledge a complaint within 5 business days, give a
final answer within 20). Pass ``business_days=True`` (and the local ``weekmask``) to count
business days with :func:`numpy.busday_count`.

Examples
--------
>>> import pandas as pd
>>> complaints = pd.DataFrame({"received_on": pd.to_datetime(["2024-01-02", "2024-01-03"]),
...     "acknowledged_on": pd.to_datetime(["2024-01-04", None]),
...     "resolved_on": pd.to_datetime(["2024-01-20", None])})
>>> handling_times(complaints, as_of="2024-01-31")["days_to_resolve"].tolist()
[18, 28]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clientprotection._validation import (
    as_list,
    require_columns,
    require_frame,
    to_datetime,
    to_timestamp,
)

__all__ = [
    "ACKNOWLEDGE_WITHIN_DAYS",
    "RESOLVE_WITHIN_DAYS",
    "complaint_rate",
    "handling_summary",
    "handling_times",
    "monthly_trend",
    "overdue",
]

ACKNOWLEDGE_WITHIN_DAYS = 5
"""Default target to acknowledge a complaint (Central Bank of Bahrain: 5 business days)."""
RESOLVE_WITHIN_DAYS = 20
"""Default target for a final answer (Central Bank of Bahrain: 20 business days)."""

_DATES = ("received_on", "acknowledged_on", "resolved_on")


def _dates(complaints: pd.DataFrame) -> dict[str, pd.Series]:
    require_frame(complaints, "complaints")
    require_columns(complaints, _DATES, "complaints")
    dates = {c: to_datetime(complaints[c], f"complaints[{c!r}]") for c in _DATES}
    for column in ("acknowledged_on", "resolved_on"):
        early = dates[column] < dates["received_on"]
        if early.any():
            raise ValueError(f"{int(early.sum())} complaint(s) have {column} before received_on;"
                             " fix the dates first.")
    return dates


def _elapsed(start: pd.Series, stop: pd.Series, business_days: bool, weekmask: str,
             holidays: Sequence[Any] | None) -> pd.Series:
    if not business_days:
        return (stop - start).dt.days
    valid = (start.notna() & stop.notna()).to_numpy()
    out = np.full(len(start), np.nan)
    begin = start.to_numpy()[valid].astype("datetime64[D]")
    end = stop.to_numpy()[valid].astype("datetime64[D]")
    hol = None if holidays is None else np.asarray(pd.to_datetime(list(holidays)),
                                                   dtype="datetime64[D]")
    # business days strictly after receipt up to and including the stop date
    kwargs = {"weekmask": weekmask} if hol is None else {"weekmask": weekmask, "holidays": hol}
    out[valid] = np.busday_count(begin + 1, end + 1, **kwargs)
    return pd.Series(out, index=start.index)


def handling_times(
    complaints: pd.DataFrame,
    *,
    as_of: Any = None,
    business_days: bool = False,
    weekmask: str = "Mon Tue Wed Thu Fri",
    holidays: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Days to acknowledge and to resolve each complaint; open cases counted to ``as_of``.

    Parameters
    ----------
    complaints : DataFrame
        ``received_on``, ``acknowledged_on``, ``resolved_on`` (empty when not yet done).
    as_of : date-like, optional
        Date open cases are measured to; default the latest date in the three columns.
    business_days : bool, default False
        Count business days (days after receipt that fall on ``weekmask`` and are not
        ``holidays``) instead of calendar days.
    weekmask : str, default "Mon Tue Wed Thu Fri"
        Working days for :func:`numpy.busday_count`; Bahrain's week is "Sun Mon Tue Wed Thu".
    holidays : sequence of dates, optional

    Returns
    -------
    DataFrame
        Same index as ``complaints``: ``acknowledged`` and ``resolved`` (bool, by ``as_of``),
        ``days_to_acknowledge`` and ``days_to_resolve`` (to ``as_of`` when not yet done).

    Examples
    --------
    >>> import pandas as pd
    >>> complaints = pd.DataFrame({"received_on": pd.to_datetime(["2024-03-01"]),  # a Friday
    ...     "acknowledged_on": pd.to_datetime(["2024-03-04"]),
    ...     "resolved_on": pd.to_datetime(["2024-03-15"])})
    >>> times = handling_times(complaints, business_days=True)
    >>> times[["days_to_acknowledge", "days_to_resolve"]].iloc[0].tolist()  # Mon; 2 weeks
    [1.0, 10.0]
    """
    dates = _dates(complaints)
    if as_of is None:
        stamp = max(d.max() for d in dates.values() if d.notna().any())
    else:
        stamp = to_timestamp(as_of, "as_of")
    received = dates["received_on"]
    if (received > stamp).any():
        raise ValueError(f"Some complaints were received after as_of ({stamp.date()}); "
                         "filter them out or choose a later as_of.")
    out = pd.DataFrame(index=complaints.index)
    for name, column in (("acknowledge", "acknowledged_on"), ("resolve", "resolved_on")):
        done = (dates[column] <= stamp).fillna(False)
        stop = dates[column].where(done, stamp)
        out[f"{name}d" if name == "resolve" else "acknowledged"] = done.to_numpy(dtype=bool)
        out[f"days_to_{name}"] = _elapsed(received, stop, business_days, weekmask, holidays)
    return out[["acknowledged", "resolved", "days_to_acknowledge", "days_to_resolve"]]


def overdue(
    complaints: pd.DataFrame,
    *,
    as_of: Any = None,
    acknowledge_within: int = ACKNOWLEDGE_WITHIN_DAYS,
    resolve_within: int = RESOLVE_WITHIN_DAYS,
    business_days: bool = False,
    weekmask: str = "Mon Tue Wed Thu Fri",
    holidays: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Flag complaints that missed (or, still open, have passed) the handling targets.

    A complaint is overdue for acknowledgement when it took more than ``acknowledge_within``
    days to acknowledge, or is still unacknowledged on ``as_of`` more than that many days after
    receipt; the same for resolution with ``resolve_within``.

    Returns
    -------
    DataFrame
        :func:`handling_times` plus ``acknowledge_overdue``, ``resolve_overdue`` and
        ``open_overdue`` (still open on ``as_of`` and past the resolution target).

    Examples
    --------
    >>> import pandas as pd
    >>> complaints = pd.DataFrame({
    ...     "received_on": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-25"]),
    ...     "acknowledged_on": pd.to_datetime(["2024-01-03", "2024-01-09", None]),
    ...     "resolved_on": pd.to_datetime(["2024-01-15", None, None])})
    >>> flags = overdue(complaints, as_of="2024-01-31")
    >>> flags[["acknowledge_overdue", "resolve_overdue"]].to_numpy().tolist()
    [[False, False], [True, True], [True, False]]
    """
    for label, target in (("acknowledge_within", acknowledge_within),
                          ("resolve_within", resolve_within)):
        if isinstance(target, bool) or not isinstance(target, int | np.integer) or target < 0:
            raise ValueError(f"{label} must be a whole number of days (0 or more), got {target!r}.")
    times = handling_times(complaints, as_of=as_of, business_days=business_days,
                           weekmask=weekmask, holidays=holidays)
    times["acknowledge_overdue"] = (times["days_to_acknowledge"] > acknowledge_within).to_numpy()
    times["resolve_overdue"] = (times["days_to_resolve"] > resolve_within).to_numpy()
    times["open_overdue"] = times["resolve_overdue"] & ~times["resolved"]
    return times


def handling_summary(
    complaints: pd.DataFrame,
    by: Hashable | Sequence[Hashable] | None = None,
    **targets: Any,
) -> pd.Series | pd.DataFrame:
    """Count, median handling times and overdue shares, overall or per group.

    ``targets`` are passed to :func:`overdue` (``as_of``, ``acknowledge_within``,
    ``resolve_within``, ``business_days``...). Median days to resolve use resolved cases only.

    Examples
    --------
    >>> import pandas as pd
    >>> complaints = pd.DataFrame({"channel": ["sms", "sms", "hotline"],
    ...     "received_on": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"]),
    ...     "acknowledged_on": pd.to_datetime(["2024-01-02", "2024-01-10", "2024-01-02"]),
    ...     "resolved_on": pd.to_datetime(["2024-01-11", None, "2024-01-05"])})
    >>> summary = handling_summary(complaints, "channel", as_of="2024-01-31")
    >>> summary.loc["sms", ["complaints", "share_resolve_overdue"]].tolist()
    [2.0, 0.5]
    """
    by_cols = as_list(by)
    require_frame(complaints, "complaints")
    require_columns(complaints, by_cols, "complaints")
    flags = overdue(complaints, **targets)
    frame = flags.assign(
        complaints=1.0,
        resolved_days=flags["days_to_resolve"].where(flags["resolved"]),
    )
    columns = {"complaints": "sum", "days_to_acknowledge": "median", "resolved_days": "median",
               "resolved": "mean", "acknowledge_overdue": "mean", "resolve_overdue": "mean",
               "open_overdue": "sum"}
    names = {"days_to_acknowledge": "median_days_to_acknowledge",
             "resolved_days": "median_days_to_resolve", "resolved": "share_resolved",
             "acknowledge_overdue": "share_acknowledge_overdue",
             "resolve_overdue": "share_resolve_overdue", "open_overdue": "open_overdue"}
    frame = frame[list(columns)].astype(float)
    if not by_cols:
        return frame.agg(columns).rename(names)
    grouped = frame.groupby([complaints[c] for c in by_cols], observed=True)
    return grouped.agg(columns).rename(columns=names)


def complaint_rate(
    complaints: pd.DataFrame,
    clients: int | float | pd.DataFrame | pd.Series,
    *,
    by: Hashable | Sequence[Hashable] | None = None,
    start: Any = None,
    end: Any = None,
    per: int = 1000,
    annualise: bool = True,
) -> float | pd.Series:
    """Complaints per ``per`` (1,000) clients, per year by default.

    Parameters
    ----------
    complaints : DataFrame
        ``received_on`` and the ``by`` columns.
    clients : int, DataFrame or Series
        The client base: a number; the clients table (counted, per group when the ``by``
        columns are in it, e.g. ``branch_id``); or a Series of client counts indexed by group.
        For groups that are not client attributes (channel, category) the whole base is used.
    by : column name or list, optional
    start, end : date-like, optional
        Period ``(start, end]``; default the first receipt date minus one day to the last.
    per : int, default 1000
    annualise : bool, default True
        Scale to a year: multiply by ``365 / days in the period``.

    Examples
    --------
    >>> import pandas as pd
    >>> complaints = pd.DataFrame({"received_on": pd.to_datetime(["2024-02-01"] * 6),
    ...     "category": ["fraud", "fraud", "other", "other", "other", "other"]})
    >>> # 6 complaints in half a year (182.5 days) among 2,000 clients: 6 per 1,000 a year
    >>> complaint_rate(complaints, 2000, start="2024-01-01", end="2024-07-01 12:00")
    6.0
    >>> complaint_rate(complaints, 2000, by="category", annualise=False).tolist()
    [1.0, 2.0]
    """
    require_frame(complaints, "complaints")
    by_cols = as_list(by)
    require_columns(complaints, ["received_on", *by_cols], "complaints")
    received = to_datetime(complaints["received_on"], "complaints['received_on']")
    first = (received.min() - pd.Timedelta(days=1)) if start is None else to_timestamp(
        start, "start")
    last = received.max() if end is None else to_timestamp(end, "end")
    if last <= first:
        raise ValueError(f"end ({last}) must be after start ({first}).")
    if per <= 0:
        raise ValueError(f"per must be positive, got {per}.")
    window = ((received > first) & (received <= last)).to_numpy()
    scale = 365.0 / ((last - first) / pd.Timedelta(days=1)) if annualise else 1.0
    selected = complaints.loc[window]
    counts: float | pd.Series
    if by_cols:
        counts = selected.groupby(by_cols, observed=True).size()
    else:
        counts = float(len(selected))
    if isinstance(clients, pd.DataFrame):
        if by_cols and all(c in clients.columns for c in by_cols):
            base: float | pd.Series = clients.groupby(by_cols, observed=True).size()
        else:
            base = float(len(clients))
    elif isinstance(clients, pd.Series):
        base = clients
    elif isinstance(clients, int | float | np.number) and not isinstance(clients, bool):
        base = float(clients)
    else:
        raise TypeError("clients must be a number, the clients table or a Series of counts.")
    if isinstance(base, float) and base <= 0:
        raise ValueError(f"The client base must be positive, got {base}.")
    if isinstance(base, pd.Series):
        base = base.where(base > 0)
    rate = counts / base * per * scale
    if isinstance(rate, pd.Series):
        return rate.dropna().rename(f"complaints_per_{per}")
    return float(rate)


def monthly_trend(
    complaints: pd.DataFrame,
    by: Hashable | None = "category",
    *,
    date: str = "received_on",
) -> pd.DataFrame | pd.Series:
    """Complaints received per calendar month, one column per ``by`` value (0 when none).

    Every month from the first to the last receipt appears, so gaps show as zeros.

    Examples
    --------
    >>> import pandas as pd
    >>> complaints = pd.DataFrame({"category": ["fraud", "other", "fraud"],
    ...     "received_on": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-03-09"])})
    >>> monthly_trend(complaints)["fraud"].tolist()
    [1, 0, 1]
    """
    require_frame(complaints, "complaints")
    require_columns(complaints, [date, *as_list(by)], "complaints")
    received = to_datetime(complaints[date], f"complaints[{date!r}]")
    month = received.dt.to_period("M").rename("month")
    months = pd.period_range(month.min(), month.max(), freq="M", name="month")
    if by is None:
        return month.value_counts().reindex(months, fill_value=0).rename("complaints")
    table = pd.crosstab(month, complaints[by])
    return table.reindex(months, fill_value=0)
