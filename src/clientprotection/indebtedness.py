"""Over-indebtedness: debt service to income, repayment capacity, multiple borrowing, growth.

The debt-service ratio (DSR) is the monthly debt service of a household (all its loans, at
this MFI and elsewhere) over its monthly net income (income minus living expenses). Published
thresholds:

* Liv (2013), Cambodia: DSR of 75% or less is *solvent*, 76-100% *at risk*, over 100%
  *insolvent* (:func:`liv_band`).
* Reserve Bank of India, microfinance directions 2022: household loan repayments capped at
  50% of monthly household *income* (gross of living expenses), so use ``debt_to_income``
  from :func:`dsr_today` for that rule.
* MFIN (India) self-regulation: at most 4 lenders per client (3 from April 2025).

Examples
--------
>>> import pandas as pd
>>> liv_band(pd.Series([0.5, 0.8, 1.2])).tolist()
['solvent', 'at_risk', 'insolvent']
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
    require_numeric,
    to_datetime,
    to_timestamp,
)

__all__ = [
    "LIV_AT_RISK",
    "LIV_INSOLVENT",
    "MFIN_LENDER_CAP",
    "RBI_REPAYMENT_CAP",
    "THRESHOLDS",
    "dsr_at_approval",
    "dsr_today",
    "lenders_per_client",
    "liv_band",
    "loan_growth",
    "monthly_equivalent",
    "multiple_borrowing",
    "repayment_capacity",
    "share_above",
    "summarise_loan_growth",
]

RBI_REPAYMENT_CAP = 0.50
"""RBI 2022: loan repayments of a household at most 50% of its monthly household income."""
LIV_AT_RISK = 0.75
"""Liv (2013): above 75% of net income in debt service a household is at risk."""
LIV_INSOLVENT = 1.00
"""Liv (2013): above 100% of net income in debt service a household is insolvent."""
MFIN_LENDER_CAP = 3
"""MFIN guardrail from April 2025: at most 3 lenders per client (4 before)."""

THRESHOLDS: dict[str, float] = {
    "rbi_2022": RBI_REPAYMENT_CAP,
    "liv_at_risk": LIV_AT_RISK,
    "liv_insolvent": LIV_INSOLVENT,
}
"""Named thresholds accepted by :func:`share_above`."""


def monthly_equivalent(instalment: Any, periods_per_year: Any) -> np.ndarray | float:
    """Monthly equivalent of a regular instalment: ``instalment * periods_per_year / 12``.

    A weekly instalment of 100 is 100 * 52 / 12 = 433.33 a month.

    Examples
    --------
    >>> round(monthly_equivalent(100.0, 52), 2)
    433.33
    """
    amount = np.asarray(instalment, dtype=float)
    periods = np.asarray(periods_per_year, dtype=float)
    if (periods <= 0).any():
        raise ValueError("periods_per_year must be positive (52 weekly, 26 fortnightly, 12 ...).")
    result = amount * periods / 12.0
    return float(result) if result.ndim == 0 else result


def dsr_at_approval(table: pd.DataFrame, *, column: str | None = None) -> pd.Series:
    """Debt-service ratio at approval, from ``loans`` or ``applications``.

    Takes ``loans.dsr_at_approval`` or ``applications.dsr`` (whichever the table has), indexed
    by the table's identifier, and checks it is a non-negative number.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"loan_id": ["L1", "L2"], "dsr_at_approval": [0.4, 0.9]})
    >>> dsr_at_approval(loans).to_dict()
    {'L1': 0.4, 'L2': 0.9}
    """
    require_frame(table, "table")
    if column is None:
        column = next((c for c in ("dsr_at_approval", "dsr") if c in table.columns), None)
        if column is None:
            raise ValueError("table has neither 'dsr_at_approval' (loans) nor 'dsr' "
                             "(applications); pass column='...' for another name.")
    require_columns(table, [column], "table")
    require_numeric(table, [column], "table")
    values = table[column].astype(float)
    if (values < 0).any():
        raise ValueError(f"table[{column!r}] has negative debt-service ratios.")
    key = next((c for c in ("loan_id", "application_id") if c in table.columns), None)
    if key is not None:
        values = values.set_axis(pd.Index(table[key], name=key))
    return values.rename("dsr")


def repayment_capacity(monthly_income: Any, monthly_expenses: Any, debt_service: Any) -> Any:
    """Repayment capacity: net income (income minus expenses) minus monthly debt service.

    Negative values mean the household cannot pay its debts from its income.

    Examples
    --------
    >>> repayment_capacity(1000.0, 600.0, 250.0)
    150.0
    """
    return (monthly_income - monthly_expenses) - debt_service


def _active_own_loans(loans: pd.DataFrame, stamp: pd.Timestamp) -> np.ndarray:
    disbursed = to_datetime(loans["disbursed_on"], "loans['disbursed_on']")
    maturity = to_datetime(loans["maturity_on"], "loans['maturity_on']")
    active = (disbursed <= stamp) & (maturity >= stamp)
    if "written_off_on" in loans.columns:
        written_off = to_datetime(loans["written_off_on"], "loans['written_off_on']")
        active &= ~(written_off <= stamp).fillna(False)
    return active.fillna(False).to_numpy(dtype=bool)


def _active_bureau(bureau: pd.DataFrame, stamp: pd.Timestamp) -> np.ndarray:
    opened = to_datetime(bureau["opened_on"], "bureau['opened_on']")
    closed = to_datetime(bureau["closed_on"], "bureau['closed_on']")
    return ((opened <= stamp) & (closed.isna() | (closed > stamp))).to_numpy(dtype=bool)


def dsr_today(
    loans: pd.DataFrame,
    clients: pd.DataFrame,
    bureau: pd.DataFrame | None,
    as_of: Any,
) -> pd.DataFrame:
    """Debt-service ratio of every borrower on a date, from own loans and the credit bureau.

    Debt service = monthly equivalent of the instalments of the client's own loans active on
    ``as_of`` (disbursed on or before it, maturing on or after it, not written off) plus the
    monthly payments of bureau loans open on ``as_of``. Net income = ``monthly_income -
    monthly_expenses``.

    Parameters
    ----------
    loans : DataFrame
        ``client_id``, ``instalment``, ``periods_per_year``, ``disbursed_on``, ``maturity_on``
        (``written_off_on`` used when present).
    clients : DataFrame
        ``client_id``, ``monthly_income``, ``monthly_expenses``.
    bureau : DataFrame or None
        ``client_id``, ``monthly_payment``, ``opened_on``, ``closed_on``; None to ignore
        other lenders.
    as_of : date-like

    Returns
    -------
    DataFrame
        One row per client with an active own loan (in order of first loan row), indexed by
        ``client_id``: ``own_debt_service``,
        ``other_debt_service``, ``debt_service``, ``net_income``, ``dsr`` (over net income;
        ``inf`` when net income is 0 or negative), ``debt_to_income`` (over gross income, for
        the RBI rule) and ``repayment_capacity``.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"client_id": ["C1"], "instalment": [60.0],
    ...     "periods_per_year": [52], "disbursed_on": pd.to_datetime(["2024-01-01"]),
    ...     "maturity_on": pd.to_datetime(["2024-12-31"])})
    >>> clients = pd.DataFrame({"client_id": ["C1"], "monthly_income": [900.0],
    ...     "monthly_expenses": [500.0]})
    >>> bureau = pd.DataFrame({"client_id": ["C1"], "monthly_payment": [140.0],
    ...     "opened_on": pd.to_datetime(["2023-06-01"]), "closed_on": pd.NaT})
    >>> row = dsr_today(loans, clients, bureau, "2024-06-30").iloc[0]
    >>> float(row["debt_service"]), float(row["dsr"])   # 60 * 52 / 12 + 140 = 400; 400 / 400
    (400.0, 1.0)
    """
    require_frame(loans, "loans")
    require_frame(clients, "clients")
    require_columns(loans, ["client_id", "instalment", "periods_per_year", "disbursed_on",
                            "maturity_on"], "loans")
    require_columns(clients, ["client_id", "monthly_income", "monthly_expenses"], "clients")
    require_numeric(loans, ["instalment", "periods_per_year"], "loans")
    require_numeric(clients, ["monthly_income", "monthly_expenses"], "clients")
    stamp = to_timestamp(as_of, "as_of")
    active = _active_own_loans(loans, stamp)
    monthly = monthly_equivalent(loans["instalment"].to_numpy(), loans["periods_per_year"])
    # integer codes for borrowers, then bincount: avoids sorting string keys in groupby
    codes, borrowers = pd.factorize(loans["client_id"].to_numpy()[active])
    borrowers = pd.Index(borrowers, name="client_id")
    own = np.bincount(codes, weights=monthly[active], minlength=len(borrowers))
    other = np.zeros(len(borrowers))
    if bureau is not None:
        require_frame(bureau, "bureau", allow_empty=True)
        require_columns(bureau, ["client_id", "monthly_payment", "opened_on", "closed_on"],
                        "bureau")
        require_numeric(bureau, ["monthly_payment"], "bureau")
        if len(bureau):
            open_ = _active_bureau(bureau, stamp)
            where = borrowers.get_indexer(bureau["client_id"].to_numpy()[open_])
            known = where >= 0
            payments = bureau["monthly_payment"].to_numpy(dtype=float)[open_]
            other = np.bincount(where[known], weights=payments[known], minlength=len(borrowers))
    position = pd.Index(clients["client_id"]).get_indexer(borrowers)
    if (position < 0).any():
        missing = list(borrowers[position < 0][:5])
        raise ValueError(f"Borrowers missing from clients: {missing}.")
    income = clients["monthly_income"].to_numpy(dtype=float)[position]
    expenses = clients["monthly_expenses"].to_numpy(dtype=float)[position]
    if np.isnan(income).any():
        missing = list(borrowers[np.isnan(income)][:5])
        raise ValueError(f"Borrowers without monthly_income in clients: {missing}.")
    out = pd.DataFrame({"own_debt_service": own, "other_debt_service": other},
                       index=borrowers)
    out["debt_service"] = own + other
    out["net_income"] = income - expenses
    net = out["net_income"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["dsr"] = np.where(net > 0, out["debt_service"].to_numpy() / net, np.inf)
        out["debt_to_income"] = np.where(income > 0, out["debt_service"].to_numpy() / income,
                                         np.inf)
    out["repayment_capacity"] = out["net_income"] - out["debt_service"]
    out.index.name = "client_id"
    return out


def _threshold(threshold: float | str) -> float:
    if isinstance(threshold, str):
        try:
            return THRESHOLDS[threshold]
        except KeyError:
            raise ValueError(f"Unknown threshold {threshold!r}; use a number or one of "
                             f"{sorted(THRESHOLDS)}.") from None
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.number):
        raise TypeError(f"threshold must be a number or a name, got {threshold!r}.")
    return float(threshold)


def share_above(
    values: pd.Series,
    threshold: float | str = "liv_at_risk",
    *,
    by: pd.Series | Sequence[pd.Series] | None = None,
) -> float | pd.Series:
    """Share of values strictly above a threshold (missing values are left out).

    Parameters
    ----------
    values : Series
        Ratios, e.g. ``dsr_today(...)["dsr"]`` or ``loans["dsr_at_approval"]``.
    threshold : float or str, default "liv_at_risk"
        A number or a name from :data:`THRESHOLDS`: ``"rbi_2022"`` (0.50, meant for
        repayments over household income), ``"liv_at_risk"`` (0.75), ``"liv_insolvent"`` (1.00).
    by : Series or list of Series, optional
        Group keys aligned with ``values`` (e.g. ``loans["branch_id"]``).

    Examples
    --------
    >>> import pandas as pd
    >>> dsr = pd.Series([0.3, 0.6, 0.8, 1.1])
    >>> share_above(dsr, "rbi_2022"), share_above(dsr, "liv_at_risk"), share_above(dsr, 1.0)
    (0.75, 0.5, 0.25)
    """
    if not isinstance(values, pd.Series):
        raise TypeError(f"values must be a pandas Series, got {type(values).__name__}.")
    if values.dropna().empty:
        raise ValueError("values is empty (or all missing): nothing to count.")
    if not pd.api.types.is_numeric_dtype(values.dtype):
        raise TypeError(f"values must be numeric, found dtype {values.dtype}.")
    cut = _threshold(threshold)
    above = (values > cut).astype(float).where(values.notna())
    if by is None:
        return float(above.mean())
    return above.groupby(by, observed=True).mean().rename(f"share_above_{cut:g}")


def liv_band(dsr: pd.Series | np.ndarray | Sequence[float]) -> pd.Series:
    """Classify debt-service ratios into Liv's (2013) bands.

    ``'solvent'`` for 0.75 or less, ``'at_risk'`` above 0.75 up to 1.00, ``'insolvent'`` above
    1.00; missing values stay missing. Returns an ordered categorical.

    Examples
    --------
    >>> liv_band([0.75, 0.76, 1.0, 1.01]).tolist()
    ['solvent', 'at_risk', 'at_risk', 'insolvent']
    """
    values = pd.Series(dsr, dtype=float) if not isinstance(dsr, pd.Series) else dsr.astype(float)
    bands = pd.cut(values, bins=[-np.inf, LIV_AT_RISK, LIV_INSOLVENT, np.inf],
                   labels=["solvent", "at_risk", "insolvent"], right=True)
    return bands.rename("liv_band")


def lenders_per_client(
    loans: pd.DataFrame,
    bureau: pd.DataFrame | None,
    as_of: Any,
) -> pd.Series:
    """Number of distinct lenders each borrower owes on ``as_of`` (this MFI counts as one).

    Borrowers are clients with an own loan active on ``as_of`` (see :func:`dsr_today`); other
    lenders are the distinct ``bureau.lender`` values of the client's bureau loans open then.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"client_id": ["C1", "C2"],
    ...     "disbursed_on": pd.to_datetime(["2024-01-01"] * 2),
    ...     "maturity_on": pd.to_datetime(["2024-12-31"] * 2)})
    >>> bureau = pd.DataFrame({"client_id": ["C1", "C1", "C1"], "lender": ["X", "X", "Y"],
    ...     "opened_on": pd.to_datetime(["2024-01-01"] * 3), "closed_on": pd.NaT})
    >>> lenders_per_client(loans, bureau, "2024-06-30").to_dict()
    {'C1': 3, 'C2': 1}
    """
    require_frame(loans, "loans")
    require_columns(loans, ["client_id", "disbursed_on", "maturity_on"], "loans")
    stamp = to_timestamp(as_of, "as_of")
    borrowers = pd.Index(loans.loc[_active_own_loans(loans, stamp), "client_id"].unique(),
                         name="client_id")
    counts = pd.Series(1, index=borrowers, dtype="int64")
    if bureau is not None and len(bureau):
        require_columns(bureau, ["client_id", "lender", "opened_on", "closed_on"], "bureau")
        open_ = bureau.loc[_active_bureau(bureau, stamp), ["client_id", "lender"]]
        open_ = open_[open_["client_id"].isin(borrowers)]
        others = open_.astype({"lender": "string"}).groupby("client_id", observed=True)[
            "lender"].nunique()
        counts = counts + others.reindex(borrowers, fill_value=0).astype("int64")
    return counts.rename("lenders")


def multiple_borrowing(
    loans: pd.DataFrame,
    bureau: pd.DataFrame | None,
    as_of: Any,
    *,
    by: str | None = None,
    clients: pd.DataFrame | None = None,
    cap: int = MFIN_LENDER_CAP,
) -> pd.Series | pd.DataFrame:
    """Multiple borrowing on a date: shares of borrowers with 2+, 3+, 4+ lenders and over a cap.

    Parameters
    ----------
    loans, bureau, as_of
        As for :func:`lenders_per_client`.
    by : str, optional
        A column of ``clients`` (e.g. ``"branch_id"``) to summarise per group.
    clients : DataFrame, optional
        Needed with ``by``.
    cap : int, default 3
        Lender cap; ``share_over_cap`` is the share with more than ``cap`` lenders (MFIN: 3
        from April 2025, 4 before).

    Returns
    -------
    Series (or DataFrame with one row per group): ``borrowers``, ``mean_lenders``,
    ``share_2plus``, ``share_3plus``, ``share_4plus``, ``share_over_cap``.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"client_id": ["C1", "C2"],
    ...     "disbursed_on": pd.to_datetime(["2024-01-01"] * 2),
    ...     "maturity_on": pd.to_datetime(["2024-12-31"] * 2)})
    >>> bureau = pd.DataFrame({"client_id": ["C1", "C1"], "lender": ["X", "Y"],
    ...     "opened_on": pd.to_datetime(["2024-01-01"] * 2), "closed_on": pd.NaT})
    >>> multiple_borrowing(loans, bureau, "2024-06-30")[["share_2plus", "share_4plus"]].tolist()
    [0.5, 0.0]
    """
    counts = lenders_per_client(loans, bureau, as_of)
    if counts.empty:
        raise ValueError(f"No client had an active loan on {to_timestamp(as_of, 'as_of').date()}.")

    def summary(values: pd.Series) -> pd.Series:
        return pd.Series({
            "borrowers": float(len(values)),
            "mean_lenders": float(values.mean()),
            "share_2plus": float((values >= 2).mean()),
            "share_3plus": float((values >= 3).mean()),
            "share_4plus": float((values >= 4).mean()),
            "share_over_cap": float((values > cap).mean()),
        })

    if by is None:
        return summary(counts)
    if clients is None:
        raise ValueError("Pass clients=... to group by one of its columns.")
    require_columns(clients, ["client_id", by], "clients")
    keys = counts.index.map(clients.set_index("client_id")[by])
    lenders = counts.to_numpy()
    frame = pd.DataFrame({
        by: np.asarray(keys), "borrowers": 1.0, "mean_lenders": lenders.astype(float),
        "share_2plus": (lenders >= 2).astype(float), "share_3plus": (lenders >= 3).astype(float),
        "share_4plus": (lenders >= 4).astype(float),
        "share_over_cap": (lenders > cap).astype(float),
    })
    grouped = frame.groupby(by, observed=True)
    summary_frame = grouped.mean()
    summary_frame["borrowers"] = grouped.size().astype(float)
    return summary_frame


def loan_growth(
    loans: pd.DataFrame,
    *,
    client_id: str = "client_id",
    cycle: str = "cycle",
    amount: str = "amount",
) -> pd.DataFrame:
    """Growth of loan amounts from one cycle to the next, per client.

    Pairs each loan of cycle k+1 with the same client's loan of cycle k. ``growth`` is
    ``amount[k+1] / amount[k]`` (1.3 means 30% larger). The other columns of the later loan
    (branch, officer, product...) are kept for grouping.

    Returns
    -------
    DataFrame
        The later loans with ``previous_amount`` and ``growth`` added.

    Examples
    --------
    >>> import pandas as pd
    >>> loans = pd.DataFrame({"client_id": ["C1", "C1", "C1"], "cycle": [1, 2, 3],
    ...     "amount": [100.0, 150.0, 180.0], "branch_id": ["B1"] * 3})
    >>> loan_growth(loans)["growth"].tolist()
    [1.5, 1.2]
    """
    require_frame(loans, "loans")
    require_columns(loans, [client_id, cycle, amount], "loans")
    require_numeric(loans, [cycle, amount], "loans")
    previous = loans[[client_id, cycle, amount]].assign(**{cycle: loans[cycle] + 1})
    previous = previous.drop_duplicates([client_id, cycle], keep="last").rename(
        columns={amount: "previous_amount"})
    pairs = loans.merge(previous, on=[client_id, cycle], how="inner")
    with np.errstate(divide="ignore", invalid="ignore"):
        pairs["growth"] = pairs[amount] / pairs["previous_amount"].where(
            pairs["previous_amount"] > 0)
    return pairs


def summarise_loan_growth(
    growth: pd.DataFrame,
    by: Hashable | Sequence[Hashable] | None = None,
    *,
    fast: float = 1.5,
) -> pd.Series | pd.DataFrame:
    """Summary of :func:`loan_growth`: pairs, median and mean growth, share growing faster.

    ``share_fast`` is the share of repeat loans more than ``fast`` times the previous one
    (default 1.5, i.e. over 50% growth, beyond the usual 20-50% per clean cycle).

    Examples
    --------
    >>> import pandas as pd
    >>> pairs = pd.DataFrame({"branch_id": ["B1", "B1", "B2"], "growth": [1.2, 2.0, 1.3]})
    >>> summarise_loan_growth(pairs, "branch_id")["share_fast"].tolist()
    [0.5, 0.0]
    """
    require_frame(growth, "growth")
    by_cols = as_list(by)
    require_columns(growth, ["growth", *by_cols], "growth")
    values = growth["growth"]
    fast_flag = (values > fast).astype(float).where(values.notna())
    frame = pd.DataFrame({"growth": values, "fast": fast_flag})
    if not by_cols:
        return pd.Series({"pairs": float(values.notna().sum()),
                          "median_growth": float(values.median()),
                          "mean_growth": float(values.mean()),
                          "share_fast": float(fast_flag.mean())})
    grouped = frame.groupby([growth[c] for c in by_cols], observed=True)
    return pd.DataFrame({"pairs": grouped["growth"].count().astype(float),
                         "median_growth": grouped["growth"].median(),
                         "mean_growth": grouped["growth"].mean(),
                         "share_fast": grouped["fast"].mean()})
