"""Explorer logic for module 02, prevention of over-indebtedness.

:func:`dsr_cap_impact` answers the question a board asks when it considers a debt-service cap
at approval ("no new loan if debt service would exceed X% of net income"): how many of the
loans we made would the cap have stopped, and how many of the loans that later went bad were
among them? The module notebook wires a slider (cap from 0.3 to 1.5) to it.

A loan *went bad* when one of its instalments was more than ``late_days`` days late at some
point (from the repayment schedule when given, otherwise from the loan's arrears on the snapshot
date), or when it was restructured or written off. The cap blocks a loan when its debt-service
ratio at approval is strictly above the cap (Liv 2013 calls 75% "or less" solvent, so a cap of
0.75 lets 0.75 through). Loans without a recorded ratio are never blocked.

Examples
--------
>>> import pandas as pd
>>> loans = pd.DataFrame({
...     "loan_id": ["L1", "L2", "L3", "L4"], "branch_id": ["B1", "B1", "B2", "B2"],
...     "dsr_at_approval": [0.5, 0.9, 1.2, 0.6], "amount": [100.0, 200.0, 300.0, 400.0],
...     "outstanding": [0.0, 150.0, 250.0, 100.0], "days_late": [0, 45, 90, 0],
...     "status": ["repaid", "active", "active", "active"]})
>>> impact = dsr_cap_impact(loans, cap=0.75)
>>> impact["blocked"], impact["bad_blocked"], impact["bad_loans"]
(2, 2, 2)
>>> impact["outstanding_avoided"]
400.0
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from clientprotection._validation import (
    require_columns,
    require_frame,
    require_numeric,
    to_bool,
)

__all__ = ["CAP_RANGE", "IMPACT_COLUMNS", "bad_loans", "dsr_cap_impact", "dsr_cap_curve"]

CAP_RANGE: tuple[float, float] = (0.3, 1.5)
"""Caps the explorer's slider offers: from 30% to 150% of net income."""

IMPACT_COLUMNS: tuple[str, ...] = (
    "cap",
    "loans",
    "blocked",
    "blocked_share",
    "blocked_amount",
    "bad_loans",
    "bad_blocked",
    "bad_avoided_share",
    "outstanding_avoided",
    "good_blocked",
    "bad_rate_blocked",
    "bad_rate_kept",
)
"""Keys of :func:`dsr_cap_impact` (columns when grouped)."""


def bad_loans(
    loans: pd.DataFrame,
    schedule: pd.DataFrame | None = None,
    *,
    late_days: int = 30,
) -> pd.Series:
    """Flag the loans that went bad: an instalment over ``late_days`` late, restructured or
    written off.

    Parameters
    ----------
    loans : DataFrame
        ``load_mfi()["loans"]`` or any frame with ``loan_id`` and ``days_late``;
        ``restructured`` and ``written_off`` are used when present.
    schedule : DataFrame, optional
        ``load_mfi()["schedule"]``: when given, a loan went bad if *any* instalment was ever
        more than ``late_days`` days late, even if it has caught up since. Without it only
        the arrears on the snapshot date count.
    late_days : int, default 30
        Arrears threshold in days (strictly more than this is late).

    Returns
    -------
    Series of bool, aligned with ``loans``.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1", "L2"], "days_late": [0, 0]})
    >>> schedule = pd.DataFrame({"loan_id": ["L1", "L1", "L2"], "days_late": [3, 40, 0]})
    >>> bad_loans(loans, schedule).tolist()
    [True, False]
    """
    require_frame(loans, "loans")
    require_columns(loans, ["loan_id", "days_late"], "loans")
    require_numeric(loans, ["days_late"], "loans")
    if isinstance(late_days, bool) or not isinstance(late_days, int | np.integer) or late_days < 0:
        raise ValueError(f"late_days must be a whole number of days >= 0, got {late_days!r}.")
    late = loans["days_late"].fillna(0).to_numpy() > late_days
    if schedule is not None:
        require_frame(schedule, "schedule")
        require_columns(schedule, ["loan_id", "days_late"], "schedule")
        require_numeric(schedule, ["days_late"], "schedule")
        worst = schedule.groupby("loan_id", observed=True)["days_late"].max()
        ever_late = loans["loan_id"].map(worst).fillna(0).to_numpy() > late_days
        late = late | ever_late
    for flag in ("restructured", "written_off"):
        if flag in loans.columns:
            late = late | to_bool(loans[flag], f"loans[{flag!r}]")
    return pd.Series(late, index=loans.index, name="went_bad")


def _check_cap(cap: Any) -> float:
    if isinstance(cap, bool):
        raise TypeError("cap must be a number such as 0.75 (75% of net income), not True/False.")
    try:
        value = float(cap)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cap must be a number such as 0.75, got {cap!r}.") from exc
    if not np.isfinite(value) or value <= 0:
        raise ValueError(
            f"cap must be a positive fraction of net income such as 0.75, got {cap!r}."
        )
    return value


def _summarise(frame: pd.DataFrame, cap: float) -> dict[str, float | int]:
    """The impact numbers of one group; ``frame`` has blocked, bad, amount, at_risk columns."""
    blocked, bad = frame["blocked"].to_numpy(bool), frame["bad"].to_numpy(bool)
    n_loans, n_blocked, n_bad = int(len(frame)), int(blocked.sum()), int(bad.sum())
    n_bad_blocked = int((blocked & bad).sum())
    kept = n_loans - n_blocked
    bad_kept = n_bad - n_bad_blocked
    return {
        "cap": cap,
        "loans": n_loans,
        "blocked": n_blocked,
        "blocked_share": n_blocked / n_loans if n_loans else np.nan,
        "blocked_amount": float(frame["amount"].to_numpy()[blocked].sum()),
        "bad_loans": n_bad,
        "bad_blocked": n_bad_blocked,
        "bad_avoided_share": n_bad_blocked / n_bad if n_bad else np.nan,
        "outstanding_avoided": float(frame["at_risk"].to_numpy()[blocked].sum()),
        "good_blocked": n_blocked - n_bad_blocked,
        "bad_rate_blocked": n_bad_blocked / n_blocked if n_blocked else np.nan,
        "bad_rate_kept": bad_kept / kept if kept else np.nan,
    }


def dsr_cap_impact(
    loans: pd.DataFrame,
    cap: float,
    *,
    schedule: pd.DataFrame | None = None,
    by: Hashable | None = None,
    late_days: int = 30,
    dsr: str = "dsr_at_approval",
    went_bad: pd.Series | None = None,
) -> dict[str, float | int] | pd.DataFrame:
    """What a debt-service cap at approval would have stopped, and the arrears it would have
    avoided.

    Parameters
    ----------
    loans : DataFrame
        ``load_mfi()["loans"]`` (disbursed loans with ``dsr_at_approval``, ``amount``,
        ``outstanding``, ``days_late``; ``status``, ``restructured`` and ``written_off`` are used
        when present).
    cap : float
        Largest debt-service ratio at approval the cap allows, as a fraction of net income
        (0.75 for Liv's at-risk threshold). Loans strictly above it are *blocked*.
    schedule : DataFrame, optional
        ``load_mfi()["schedule"]``: count a loan as bad if it was ever more than ``late_days``
        late (see :func:`bad_loans`).
    by : column name, optional
        A column of ``loans`` (e.g. ``"branch_id"``) to get one row per group.
    late_days : int, default 30
        Arrears threshold of a bad loan.
    dsr : str, default "dsr_at_approval"
        Column holding the ratio.
    went_bad : Series of bool, optional
        Flags from :func:`bad_loans`, aligned with ``loans``, to reuse across many caps (a
        slider): ``schedule`` and ``late_days`` are then not used.

    Returns
    -------
    dict or DataFrame
        ``cap``; ``loans``; ``blocked`` (loans above the cap) and ``blocked_share``;
        ``blocked_amount`` (principal those loans disbursed); ``bad_loans`` (all bad loans);
        ``bad_blocked`` (bad loans the cap would have stopped) and ``bad_avoided_share``
        (their share of all bad loans); ``outstanding_avoided`` (outstanding principal today of
        the blocked bad loans that are still active: the portfolio at risk that would not
        exist); ``good_blocked`` (blocked loans that did not go bad: the cost of the cap in
        clients refused); ``bad_rate_blocked`` and ``bad_rate_kept`` (share of bad loans among
        blocked and among allowed loans; NaN when a side is empty). With ``by``, a DataFrame
        with these columns and one row per group.

    Raises
    ------
    ValueError
        Empty table, missing column, or a cap that is not a positive number.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({
    ...     "loan_id": ["L1", "L2", "L3"], "dsr_at_approval": [0.4, 0.8, 1.1],
    ...     "amount": [100.0, 100.0, 100.0], "outstanding": [50.0, 80.0, 90.0],
    ...     "days_late": [0, 0, 60], "status": ["active"] * 3})
    >>> r = dsr_cap_impact(loans, cap=1.0)
    >>> r["blocked"], r["bad_blocked"], r["outstanding_avoided"], r["bad_rate_kept"]
    (1, 1, 90.0, 0.0)
    >>> dsr_cap_impact(loans, cap=0.5)["good_blocked"]
    1
    """
    value = _check_cap(cap)
    require_frame(loans, "loans")
    require_columns(loans, [dsr, "amount", "outstanding"], "loans")
    require_numeric(loans, [dsr, "amount", "outstanding"], "loans")
    if went_bad is None:
        flags = bad_loans(loans, schedule, late_days=late_days).to_numpy()
    else:
        if not isinstance(went_bad, pd.Series) or not went_bad.index.equals(loans.index):
            raise ValueError(
                "went_bad must be the Series returned by bad_loans(loans, ...) for these loans "
                "(same index)."
            )
        flags = went_bad.fillna(False).to_numpy(dtype=bool)
    ratio = loans[dsr].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        blocked = ratio > value  # NaN compares False: an unknown ratio is never blocked
    active = loans["outstanding"].fillna(0.0).to_numpy(dtype=float) > 0
    if "status" in loans.columns:
        active &= loans["status"].astype("string").eq("active").fillna(False).to_numpy(bool)
    outstanding = loans["outstanding"].fillna(0.0).to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "blocked": blocked,
            "bad": flags,
            "amount": loans["amount"].fillna(0.0).to_numpy(dtype=float),
            "at_risk": np.where(flags & active, outstanding, 0.0),
        },
        index=loans.index,
    )
    if by is None:
        return _summarise(frame, value)
    require_columns(loans, [by], "loans")
    keys = loans[by]
    grouped = frame.groupby(keys.to_numpy(), sort=True)
    rows = {key: _summarise(part, value) for key, part in grouped}
    result = pd.DataFrame.from_dict(rows, orient="index")[list(IMPACT_COLUMNS)]
    result.index.name = by
    return result


def dsr_cap_curve(
    loans: pd.DataFrame,
    caps: Any = None,
    *,
    schedule: pd.DataFrame | None = None,
    late_days: int = 30,
) -> pd.DataFrame:
    """:func:`dsr_cap_impact` for a range of caps: one row per cap, for the explorer's chart.

    Parameters
    ----------
    caps : array-like, optional
        Caps to evaluate; default 0.3 to 1.5 in steps of 0.05.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1", "L2"], "dsr_at_approval": [0.4, 0.9],
    ...     "amount": [100.0, 100.0], "outstanding": [0.0, 50.0], "days_late": [0, 40]})
    >>> dsr_cap_curve(loans, [0.5, 1.0])["blocked"].tolist()
    [1, 0]
    """
    if caps is None:
        caps = np.round(np.arange(CAP_RANGE[0], CAP_RANGE[1] + 1e-9, 0.05), 2)
    caps = np.atleast_1d(np.asarray(caps, dtype=float))
    if caps.size == 0:
        raise ValueError("caps is empty: give at least one cap such as [0.5, 0.75, 1.0].")
    require_frame(loans, "loans")
    require_columns(loans, ["dsr_at_approval"], "loans")
    # the bad-loan flags do not depend on the cap: compute them once, reuse for every cap
    flags = bad_loans(loans, schedule, late_days=late_days)
    rows = [dsr_cap_impact(loans, cap, went_bad=flags) for cap in caps]
    return pd.DataFrame(rows, columns=list(IMPACT_COLUMNS))
