"""Explorer logic for module 03, transparency: what a loan really costs the client.

A loan officer quotes one number ("1.5% a month"); the client pays interest computed flat or on
the declining balance, an upfront fee, a credit-life insurance premium, sometimes a fee with
every instalment and tax on the interest, and may have part of the loan withheld as compulsory
savings that come back only with the last instalment. The functions below turn those contract
terms into the numbers a Key Facts Statement discloses and into the build-up of the annual
percentage rate, piece by piece, so that a slider can show how each charge moves the price.

- :func:`loan_cost_summary`: APR, EIR, instalment, the money the client pays for each charge,
  the net amount received and the total cost of credit.
- :func:`cost_buildup`: the same charges as components of the cost, in money and in APR
  percentage points, for a stacked bar chart. The APR points are *sequential*: interest
  alone, then tax on interest, fees, insurance and compulsory savings are switched on one
  after the other, and each component is the increase of the APR it causes. The points add up
  to the full APR and the money to the total cost.
- :func:`product_costs`: the advertised rate next to the true APR and EIR for every product
  of the MFI's ``products`` table.
- :func:`readout_text`: the one-line text the explorer shows above its chart.

Rates come from :mod:`clientprotection.pricing` (MFTransparency's APR and EIR on the borrower's
flows, the method the RBI's 2022 Key Facts Statement uses). Rates and charges are fractions
(0.18 means 18%); charges are fractions of the loan amount, as in the ``products`` table.

Examples
--------
A 1,000 loan over 12 monthly instalments at 24% a year on the declining balance, no charges,
costs exactly 24% APR; the same rate charged flat costs far more:

>>> round(loan_cost_summary(1000, 12, "monthly", "declining", 0.24)["apr"], 4)
0.24
>>> round(loan_cost_summary(1000, 12, "monthly", "flat", 0.24)["apr"], 3)
0.417
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clientprotection import pricing
from clientprotection._validation import require_columns, require_frame

__all__ = [
    "FREQUENCIES",
    "METHODS",
    "COMPONENTS",
    "SUMMARY_KEYS",
    "loan_cost_summary",
    "cost_buildup",
    "product_costs",
    "readout_text",
]

FREQUENCIES: dict[str, int] = {"weekly": 52, "fortnightly": 26, "monthly": 12, "balloon": 12}
"""Repayment frequencies and their periods per year. A ``"balloon"`` loan pays interest every
month and the whole principal with the last instalment (as the seasonal products of the
``products`` table do)."""

METHODS: tuple[str, ...] = ("flat", "declining")
"""Interest methods: on the original principal for the whole term, or on the balance."""

COMPONENTS: tuple[str, ...] = (
    "interest",
    "tax on interest",
    "fees",
    "insurance",
    "compulsory savings",
)
"""Rows of :func:`cost_buildup`, in the order they are switched on."""

SUMMARY_KEYS: tuple[str, ...] = (
    "apr",
    "eir",
    "periods_per_year",
    "instalment",
    "net_disbursed",
    "total_interest",
    "total_tax",
    "total_fees",
    "insurance",
    "savings_withheld",
    "savings_interest",
    "savings_effect",
    "total_paid",
    "total_cost",
)
"""Keys of :func:`loan_cost_summary`."""


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _number(value: Any, name: str, *, minimum: float = 0.0, below: float | None = None) -> float:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not True/False.")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number, got {value!r}.") from exc
    if not np.isfinite(number) or number < minimum or (below is not None and number >= below):
        upper = f" and below {below:g}" if below is not None else ""
        raise ValueError(
            f"{name} must be at least {minimum:g}{upper}; got {value!r}. Rates and charges are "
            "fractions (0.05 means 5%)."
        )
    return number


def _periods_per_year(frequency: Any) -> tuple[int, bool]:
    """Periods per year and whether the loan is a balloon loan."""
    key = str(frequency).strip().lower()
    if key not in FREQUENCIES:
        raise ValueError(
            f"frequency must be one of {', '.join(FREQUENCIES)}; got {frequency!r}."
        )
    return FREQUENCIES[key], key == "balloon"


def _method(method: Any) -> str:
    key = str(method).strip().lower()
    if key not in METHODS:
        raise ValueError(f"method must be 'flat' or 'declining'; got {method!r}.")
    return key


def _term(term: Any) -> int:
    if isinstance(term, bool) or not isinstance(term, int | np.integer) or term < 1:
        raise ValueError(f"term is the number of instalments, a whole number >= 1; got {term!r}.")
    return int(term)


def _terms(
    amount: Any, term: Any, frequency: Any, method: Any, rate: Any, upfront_fee: Any,
    insurance: Any, compulsory_savings: Any, fee_per_payment: Any, savings_interest: Any,
    tax_on_interest: Any,
) -> dict[str, Any]:
    ppy, balloon = _periods_per_year(frequency)
    terms = {
        "amount": _number(amount, "amount", minimum=0.0),
        "term": _term(term),
        "periods_per_year": ppy,
        "balloon": balloon,
        "method": _method(method),
        "rate": _number(rate, "rate"),
        "upfront_fee": _number(upfront_fee, "upfront_fee", below=1.0),
        "insurance": _number(insurance, "insurance", below=1.0),
        "compulsory_savings": _number(compulsory_savings, "compulsory_savings", below=1.0),
        "fee_per_payment": _number(fee_per_payment, "fee_per_payment"),
        "savings_interest": _number(savings_interest, "savings_interest"),
        "tax_on_interest": _number(tax_on_interest, "tax_on_interest"),
    }
    if terms["amount"] <= 0:
        raise ValueError(f"amount must be a positive loan amount; got {amount!r}.")
    if terms["upfront_fee"] + terms["insurance"] + terms["compulsory_savings"] >= 1:
        raise ValueError(
            "upfront_fee + insurance + compulsory_savings take the whole loan: the client would "
            "receive nothing. Their sum must be below 1."
        )
    return terms


# --------------------------------------------------------------------------------------------
# Flows
# --------------------------------------------------------------------------------------------


def _balloon_flows(
    principal: np.ndarray, n_payments: np.ndarray, periods_per_year: np.ndarray,
    rate: np.ndarray, upfront_fee: np.ndarray, fee_per_payment: np.ndarray,
    insurance: np.ndarray, compulsory_savings: np.ndarray, savings_interest: np.ndarray,
    tax_on_interest: np.ndarray,
) -> np.ndarray:
    """Borrower flows of balloon loans, one per row: interest every period on the whole
    principal, the principal with the last instalment (the balance never declines before it,
    so flat and declining interest coincide)."""
    n_max = int(n_payments.max())
    periods = np.arange(1, n_max + 1)
    live = periods[np.newaxis, :] <= n_payments[:, np.newaxis]
    interest = principal * rate / periods_per_year
    regular = interest * (1 + tax_on_interest) + principal * fee_per_payment
    flows = np.zeros((principal.size, n_max + 1))
    flows[:, 0] = principal * (1 - upfront_fee - insurance - compulsory_savings)
    flows[:, 1:] = np.where(live, -regular[:, np.newaxis], 0.0)
    savings = principal * compulsory_savings
    refund = savings * (1 + savings_interest * n_payments / periods_per_year)
    rows = np.arange(principal.size)
    flows[rows, n_payments] += refund - principal
    return flows


def _flows(
    principal: Any, n_payments: Any, periods_per_year: Any, rate: Any, *, method: Any,
    balloon: Any, upfront_fee: Any = 0.0, fee_per_payment: Any = 0.0, insurance: Any = 0.0,
    compulsory_savings: Any = 0.0, savings_interest: Any = 0.0, tax_on_interest: Any = 0.0,
) -> np.ndarray:
    """Flows of several loans (one per row, zero padded): the pricing engine for amortising
    loans, :func:`_balloon_flows` for balloon loans."""
    arrays = {
        name: np.atleast_1d(np.asarray(value, dtype=float))
        for name, value in {
            "principal": principal, "periods_per_year": periods_per_year, "rate": rate,
            "upfront_fee": upfront_fee, "fee_per_payment": fee_per_payment,
            "insurance": insurance, "compulsory_savings": compulsory_savings,
            "savings_interest": savings_interest, "tax_on_interest": tax_on_interest,
        }.items()
    }
    n = np.atleast_1d(np.asarray(n_payments, dtype=np.int64))
    size = max(n.size, *(a.size for a in arrays.values()), np.size(method), np.size(balloon))
    arrays = {name: np.broadcast_to(a, size).copy() for name, a in arrays.items()}
    n = np.broadcast_to(n, size).copy()
    methods = np.broadcast_to(np.asarray(method, dtype=object), size)
    balloons = np.broadcast_to(np.asarray(balloon, dtype=bool), size)
    flows = np.zeros((size, int(n.max()) + 1))
    amortising = np.flatnonzero(~balloons)
    if amortising.size:
        part = pricing.loan_flows(
            arrays["principal"][amortising], n[amortising], arrays["periods_per_year"][amortising],
            arrays["rate"][amortising], method=list(methods[amortising]),
            upfront_fee=arrays["upfront_fee"][amortising],
            fee_per_payment=arrays["fee_per_payment"][amortising],
            insurance=arrays["insurance"][amortising],
            compulsory_savings=arrays["compulsory_savings"][amortising],
            savings_interest=arrays["savings_interest"][amortising],
            tax_on_interest=arrays["tax_on_interest"][amortising],
        )
        part = np.atleast_2d(part)
        flows[amortising, : part.shape[1]] = part
    ballooned = np.flatnonzero(balloons)
    if ballooned.size:
        pick = {name: values[ballooned] for name, values in arrays.items()}
        part = _balloon_flows(
            pick["principal"], n[ballooned], pick["periods_per_year"], pick["rate"],
            pick["upfront_fee"], pick["fee_per_payment"], pick["insurance"],
            pick["compulsory_savings"], pick["savings_interest"], pick["tax_on_interest"],
        )
        flows[ballooned, : part.shape[1]] = part
    return flows


def _periodic_rates(flows: np.ndarray) -> np.ndarray:
    """Periodic rate of each row of ``flows`` (2-D) with :func:`pricing.periodic_rate`."""
    return np.asarray(pricing.periodic_rate(flows), dtype=float)


def _buildup_flows(terms: dict[str, Any]) -> np.ndarray:
    """Five loans, one per row: interest only, then each component of COMPONENTS added."""
    on = np.tril(np.ones((len(COMPONENTS), len(COMPONENTS)), dtype=bool))  # row k: first k+1
    tax, fees, insurance, savings = on[:, 1], on[:, 2], on[:, 3], on[:, 4]
    return _flows(
        terms["amount"], terms["term"], terms["periods_per_year"], terms["rate"],
        method=terms["method"], balloon=terms["balloon"],
        tax_on_interest=np.where(tax, terms["tax_on_interest"], 0.0),
        upfront_fee=np.where(fees, terms["upfront_fee"], 0.0),
        fee_per_payment=np.where(fees, terms["fee_per_payment"], 0.0),
        insurance=np.where(insurance, terms["insurance"], 0.0),
        compulsory_savings=np.where(savings, terms["compulsory_savings"], 0.0),
        savings_interest=np.where(savings, terms["savings_interest"], 0.0),
    )


def _money(terms: dict[str, Any]) -> dict[str, float]:
    """What the client pays for each charge over the life of the loan (unrounded)."""
    amount, n, ppy = terms["amount"], terms["term"], terms["periods_per_year"]
    period_rate = terms["rate"] / ppy
    if terms["method"] == "flat" or terms["balloon"]:
        interest = amount * period_rate * n
    elif period_rate > 0:
        # 1 - (1 + i) ** -n without cancellation for tiny rates
        annuity = amount * period_rate / -np.expm1(-n * np.log1p(period_rate))
        interest = annuity * n - amount
    else:
        interest = 0.0
    savings = amount * terms["compulsory_savings"]
    return {
        "interest": interest,
        "tax": interest * terms["tax_on_interest"],
        "fees": amount * (terms["upfront_fee"] + terms["fee_per_payment"] * n),
        "insurance": amount * terms["insurance"],
        "savings": savings,
        "savings_interest": savings * terms["savings_interest"] * n / ppy,
    }


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def cost_buildup(
    amount: float,
    term: int,
    frequency: str,
    method: str,
    rate: float,
    upfront_fee: float = 0.0,
    insurance: float = 0.0,
    compulsory_savings: float = 0.0,
    *,
    fee_per_payment: float = 0.0,
    savings_interest: float = 0.0,
    tax_on_interest: float = 0.0,
) -> pd.DataFrame:
    """The components of a loan's cost, in money and in APR points, for a stacked bar chart.

    Parameters
    ----------
    amount : float
        Loan amount (principal).
    term : int
        Number of instalments.
    frequency : {"weekly", "fortnightly", "monthly", "balloon"}
        Repayment frequency (see :data:`FREQUENCIES`).
    method : {"flat", "declining"}
        Interest on the original principal, or on the outstanding balance.
    rate : float
        Yearly interest rate stated in the contract (0.18 for 18%).
    upfront_fee, insurance, compulsory_savings : float
        Fractions of the amount deducted at disbursement; savings are returned with the last
        instalment.
    fee_per_payment : float
        Fraction of the amount charged with every instalment (counted with the fees).
    savings_interest : float
        Yearly simple interest paid on the compulsory savings.
    tax_on_interest : float
        Tax charged on the interest (fraction of the interest).

    Returns
    -------
    DataFrame
        Index :data:`COMPONENTS`; columns ``apr_points`` (increase of the APR when the
        component is added to the ones above it: the first row is the APR of the interest
        alone) and ``money`` (what the client pays for it over the loan; for compulsory savings
        minus the interest earned on them, since the savings themselves come back). The
        ``apr_points`` add up to the full APR and ``money`` to the total cost of credit of
        :func:`loan_cost_summary`.

    Examples
    --------
    Fees, insurance and compulsory savings on a flat-rate weekly loan (the "Easy Loan" of the
    course's MFI):

    >>> parts = cost_buildup(1000, 26, "weekly", "flat", 0.18, 0.05, 0.03, 0.20)
    >>> parts["apr_points"].round(3).tolist()
    [0.338, 0.0, 0.207, 0.131, 0.394]
    >>> round(float(parts["apr_points"].sum()), 3), round(float(parts["money"].sum()), 2)
    (1.069, 170.0)
    """
    terms = _terms(amount, term, frequency, method, rate, upfront_fee, insurance,
                   compulsory_savings, fee_per_payment, savings_interest, tax_on_interest)
    aprs = _periodic_rates(_buildup_flows(terms)) * terms["periods_per_year"]
    money = _money(terms)
    return pd.DataFrame(
        {
            "apr_points": np.diff(aprs, prepend=0.0),
            "money": [money["interest"], money["tax"], money["fees"], money["insurance"],
                      -money["savings_interest"]],
        },
        index=pd.Index(COMPONENTS, name="component"),
    )


def loan_cost_summary(
    amount: float,
    term: int,
    frequency: str,
    method: str,
    rate: float,
    upfront_fee: float = 0.0,
    insurance: float = 0.0,
    compulsory_savings: float = 0.0,
    *,
    fee_per_payment: float = 0.0,
    savings_interest: float = 0.0,
    tax_on_interest: float = 0.0,
) -> dict[str, float]:
    """What one loan really costs: the numbers a Key Facts Statement discloses.

    Parameters
    ----------
    amount, term, frequency, method, rate, upfront_fee, insurance, compulsory_savings, \
fee_per_payment, savings_interest, tax_on_interest
        As in :func:`cost_buildup`.

    Returns
    -------
    dict
        Keys :data:`SUMMARY_KEYS`: ``apr`` and ``eir`` (fractions, MFTransparency's nominal
        and effective yearly rates on the net amount received); ``periods_per_year``;
        ``instalment`` (the first instalment: principal, interest, tax and per-instalment
        fees); ``net_disbursed`` (cash in hand); ``total_interest``, ``total_tax``,
        ``total_fees`` (upfront and per instalment), ``insurance`` (the premium),
        ``savings_withheld`` and ``savings_interest`` (what the savings earn), all in money;
        ``savings_effect`` (APR points the compulsory savings add, see :func:`cost_buildup`);
        ``total_paid`` (all instalments, savings refund not deducted) and ``total_cost``
        (interest + tax + fees + insurance - savings interest: what the client pays beyond the
        amount borrowed). Amounts are not rounded.

    Examples
    --------
    >>> s = loan_cost_summary(1000, 26, "weekly", "flat", 0.18, 0.05, 0.03, 0.20)
    >>> s["net_disbursed"], round(s["instalment"], 2), round(s["total_cost"], 2)
    (720.0, 41.92, 170.0)
    >>> round(s["apr"], 3), round(s["savings_effect"], 3)
    (1.069, 0.394)
    """
    terms = _terms(amount, term, frequency, method, rate, upfront_fee, insurance,
                   compulsory_savings, fee_per_payment, savings_interest, tax_on_interest)
    flows = _buildup_flows(terms)
    ppy = terms["periods_per_year"]
    rates = _periodic_rates(flows)
    aprs = rates * ppy  # the APR: periodic rate x periods per year (MFTransparency)
    full = flows[-1]
    money = _money(terms)
    refund = money["savings"] + money["savings_interest"]
    payments = -full[1:].copy()
    payments[-1] += refund
    total_cost = (money["interest"] + money["tax"] + money["fees"] + money["insurance"]
                  - money["savings_interest"])
    return {
        "apr": float(aprs[-1]),
        "eir": float((1 + rates[-1]) ** ppy - 1),
        "periods_per_year": float(ppy),
        "instalment": float(payments[0]),
        "net_disbursed": float(full[0]),
        "total_interest": money["interest"],
        "total_tax": money["tax"],
        "total_fees": money["fees"],
        "insurance": money["insurance"],
        "savings_withheld": money["savings"],
        "savings_interest": money["savings_interest"],
        "savings_effect": float(aprs[-1] - aprs[-2]),
        "total_paid": float(payments.sum()),
        "total_cost": total_cost,
    }


_PRODUCT_COLUMNS = (
    "product_id", "name", "frequency", "periods_per_year", "interest_method", "rate_yearly",
    "upfront_fee", "fee_per_payment", "insurance", "compulsory_savings", "savings_interest",
    "tax_on_interest", "min_term", "max_term", "advertised_rate_monthly",
)


def product_costs(
    products: pd.DataFrame,
    loans: pd.DataFrame | None = None,
    *,
    term: str = "typical",
    amount: float = 1000.0,
) -> pd.DataFrame:
    """Advertised rate against the true APR and EIR, one row per product.

    The APR of a product depends on the term (fees and savings weigh more on a short loan)
    but not on the amount (all charges are fractions of it). By default each product is
    priced for its typical loan: the median term of its loans when ``loans`` is given,
    otherwise the middle of its term range.

    Parameters
    ----------
    products : DataFrame
        ``load_mfi()["products"]``.
    loans : DataFrame, optional
        ``load_mfi()["loans"]``, to take each product's median term.
    term : {"typical", "min", "max"}, default "typical"
        Price the typical term (see above), or the shortest (``min_term``) or longest
        (``max_term``) term each product offers.
    amount : float, default 1000
        Loan amount priced (does not change the rates).

    Returns
    -------
    DataFrame
        Indexed by ``product_id``: ``name``, ``interest_method``, ``frequency``, ``term``
        (instalments priced), ``advertised_rate_monthly``, ``advertised_yearly`` (12 times the
        monthly rate: what a client understands from the advertisement), ``apr``, ``eir``,
        ``gap`` (``apr - advertised_yearly``, in rate points) and ``ratio``
        (``apr / advertised_yearly``), sorted by ``gap``, largest first.

    Examples
    --------
    >>> products = pd.DataFrame({
    ...     "product_id": ["A", "B"], "name": ["Plain", "Easy"], "frequency": ["monthly",
    ...     "weekly"], "periods_per_year": [12, 52], "interest_method": ["declining", "flat"],
    ...     "rate_yearly": [0.24, 0.18], "upfront_fee": [0.0, 0.05], "fee_per_payment": 0.0,
    ...     "insurance": [0.0, 0.03], "compulsory_savings": [0.0, 0.2],
    ...     "savings_interest": 0.0, "tax_on_interest": 0.0, "min_term": [12, 26],
    ...     "max_term": [12, 26], "advertised_rate_monthly": [0.02, 0.015]})
    >>> table = product_costs(products)
    >>> table.index.tolist(), table["apr"].round(3).tolist()
    (['B', 'A'], [1.069, 0.24])
    """
    require_frame(products, "products")
    require_columns(products, _PRODUCT_COLUMNS, "products")
    amount = _number(amount, "amount")
    if amount <= 0:
        raise ValueError(f"amount must be a positive loan amount; got {amount!r}.")
    if term not in ("typical", "min", "max"):
        raise ValueError(f"term must be 'typical', 'min' or 'max'; got {term!r}.")
    frame = products.reset_index(drop=True)
    if term == "typical":
        low, high = frame["min_term"].to_numpy(float), frame["max_term"].to_numpy(float)
        chosen = np.round((low + high) / 2)
    else:
        chosen = frame[f"{term}_term"].to_numpy(float)
    terms = pd.Series(chosen, index=frame["product_id"].astype(str))
    if loans is not None and term == "typical":
        require_frame(loans, "loans")
        require_columns(loans, ["product_id", "term"], "loans")
        median = loans.groupby(loans["product_id"].astype(str))["term"].median().round()
        terms = median.reindex(terms.index).fillna(terms)
    frequency = frame["frequency"].astype(str).str.lower()
    unknown = sorted(set(frequency) - set(FREQUENCIES))
    if unknown:
        raise ValueError(f"products has unknown frequencies {unknown}; known: {list(FREQUENCIES)}")
    methods = frame["interest_method"].astype(str).str.lower()
    if not methods.isin(METHODS).all():
        raise ValueError("products['interest_method'] must be 'flat' or 'declining'.")
    n = terms.to_numpy().astype(np.int64)
    ppy = frame["periods_per_year"].to_numpy(float)

    def column(name: str) -> np.ndarray:
        return frame[name].to_numpy(float)

    flows = _flows(
        amount, n, ppy, column("rate_yearly"), method=methods.to_numpy(),
        balloon=(frequency == "balloon").to_numpy(), upfront_fee=column("upfront_fee"),
        fee_per_payment=column("fee_per_payment"), insurance=column("insurance"),
        compulsory_savings=column("compulsory_savings"),
        savings_interest=column("savings_interest"), tax_on_interest=column("tax_on_interest"),
    )
    rate = _periodic_rates(flows)
    advertised_yearly = column("advertised_rate_monthly") * 12
    apr = rate * ppy
    table = pd.DataFrame(
        {
            "name": frame["name"].astype(str).to_numpy(),
            "interest_method": methods.to_numpy(),
            "frequency": frequency.to_numpy(),
            "term": n,
            "advertised_rate_monthly": column("advertised_rate_monthly"),
            "advertised_yearly": advertised_yearly,
            "apr": apr,
            "eir": (1 + rate) ** ppy - 1,
            "gap": apr - advertised_yearly,
            "ratio": np.divide(apr, advertised_yearly, out=np.full(apr.size, np.nan),
                               where=advertised_yearly > 0),
        },
        index=pd.Index(terms.index, name="product_id"),
    )
    return table.sort_values("gap", ascending=False, kind="stable")


def readout_text(summary: dict[str, float], currency: str = "") -> str:
    """The explorer's one-line readout: APR first, then EIR, total cost and cash in hand.

    Examples
    --------
    >>> readout_text({"apr": 0.843, "eir": 1.182, "total_cost": 1234.4,
    ...               "net_disbursed": 720.0, "instalment": 41.92}, "KLD")
    'APR 84.3% · EIR 118.2% · total cost 1,234 KLD · cash in hand 720 KLD · instalment 41.92 KLD'
    """
    unit = f" {currency}" if currency else ""
    return (
        f"APR {summary['apr']:.1%} · EIR {summary['eir']:.1%} · "
        f"total cost {summary['total_cost']:,.0f}{unit} · "
        f"cash in hand {summary['net_disbursed']:,.0f}{unit} · "
        f"instalment {summary['instalment']:,.2f}{unit}"
    )
