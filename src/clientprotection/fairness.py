"""Fair treatment: approval-rate gaps between client groups, raw and risk-adjusted.

A raw gap in approval rates (e.g. women vs men, minority vs majority language) may be explained
by risk. Two ways to adjust for a risk factor such as ``applications.risk_score``:

* **Mantel-Haenszel** pooled difference of approval rates within risk bands (quintiles by
  default): a weighted mean of the within-band gaps with weights ``n1 * n0 / (n1 + n0)``.
* **Logistic regression** of approval on the group and the risk bands (fitted here by
  iteratively reweighted least squares in numpy): the group's odds ratio with a Wald interval.

Confidence intervals for a difference of proportions use Newcombe's hybrid score method
(Newcombe 1998, method 10, built from Wilson score intervals), which behaves well for small
groups and rates near 0 or 1, or the simple Wald interval. Normal quantiles come from
:class:`statistics.NormalDist`.

Examples
--------
>>> lo, hi = wilson_interval(81, 263)
>>> round(float(lo), 4), round(float(hi), 4)
(0.2553, 0.3662)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from clientprotection._validation import (
    require_columns,
    require_fraction,
    require_frame,
    require_numeric,
)

__all__ = [
    "LogisticFit",
    "adjusted_approval_gap",
    "approval_gap",
    "difference_interval",
    "logistic_regression",
    "normal_quantile",
    "risk_bands",
    "wilson_interval",
]


def normal_quantile(confidence: float = 0.95) -> float:
    """Two-sided standard normal critical value, e.g. 1.96 for 95%.

    Examples
    --------
    >>> round(normal_quantile(0.95), 4)
    1.96
    """
    level = require_fraction(confidence, "confidence")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def _counts(successes: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    if (total <= 0).any():
        raise ValueError("n must be positive: a group without applications has no rate.")
    if ((x < 0) | (x > total)).any():
        raise ValueError("successes must be between 0 and n.")
    return x, total


def wilson_interval(successes: Any, n: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval for a proportion (vectorised).

    Examples
    --------
    >>> lo, hi = wilson_interval(0, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0, 0.2775)
    """
    x, total = _counts(successes, n)
    z = normal_quantile(confidence)
    p = x / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def difference_interval(
    x1: Any, n1: Any, x2: Any, n2: Any, confidence: float = 0.95, method: str = "newcombe"
) -> tuple[Any, Any, Any]:
    """Difference of two proportions ``x1/n1 - x2/n2`` with a confidence interval.

    Parameters
    ----------
    x1, n1, x2, n2 : int or array
        Successes and totals of the two groups.
    confidence : float, default 0.95
    method : {"newcombe", "wald"}
        ``"newcombe"``: hybrid score interval (Newcombe 1998, method 10)
        ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` to ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)`` with
        ``(l, u)`` the Wilson intervals. ``"wald"``: ``d +/- z * sqrt(p1 q1 / n1 + p2 q2 / n2)``.

    Returns
    -------
    (difference, low, high)

    Examples
    --------
    >>> d, lo, hi = difference_interval(56, 70, 48, 80)   # Newcombe (1998), example (a)
    >>> round(float(d), 4), round(float(lo), 4), round(float(hi), 4)
    (0.2, 0.0524, 0.3339)
    """
    a, na = _counts(x1, n1)
    b, nb = _counts(x2, n2)
    p1, p2 = a / na, b / nb
    diff = p1 - p2
    if method == "wald":
        half = normal_quantile(confidence) * np.sqrt(p1 * (1 - p1) / na + p2 * (1 - p2) / nb)
        low, high = diff - half, diff + half
    elif method == "newcombe":
        l1, u1 = wilson_interval(a, na, confidence)
        l2, u2 = wilson_interval(b, nb, confidence)
        low = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    else:
        raise ValueError(f"method must be 'newcombe' or 'wald', got {method!r}.")
    if diff.ndim == 0:
        return float(diff), float(low), float(high)
    return diff, low, high


def _approved(applications: pd.DataFrame, decision: str, approved: Any) -> np.ndarray:
    values = applications[decision]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    flags = (values.astype("string") == str(approved)).fillna(False).to_numpy(dtype=bool)
    if not flags.any() and not (values.astype("string") == str(approved)).isna().all():
        seen = ", ".join(map(repr, pd.unique(values.dropna())[:5]))
        raise ValueError(f"No application has {decision} == {approved!r} (values seen: {seen}); "
                         "pass approved='...' with the value that means approval.")
    return flags


def approval_gap(
    applications: pd.DataFrame,
    group: Hashable,
    *,
    reference: Any = None,
    decision: str = "decision",
    approved: Any = "approved",
    confidence: float = 0.95,
    method: str = "newcombe",
    clients: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Approval rate per group and its gap to a reference group, with confidence intervals.

    Parameters
    ----------
    applications : DataFrame
        One row per application with ``decision`` and the ``group`` column. When ``group`` is
        a client attribute (``gender``, ``language_group``, ``rural``), pass ``clients`` and it
        is joined on ``client_id``.
    group : str
        Column defining the groups.
    reference : optional
        Group the others are compared with; default the largest group.
    decision, approved
        Column holding the decision, and its value meaning approval (a boolean column also
        works).
    confidence : float, default 0.95
    method : {"newcombe", "wald"}
        See :func:`difference_interval`.
    clients : DataFrame, optional

    Returns
    -------
    DataFrame
        One row per group: ``applications``, ``approved``, ``approval_rate``, ``gap`` (rate
        minus the reference rate), ``ci_low``, ``ci_high`` (NaN for the reference itself).

    Examples
    --------
    >>> import pandas as pd
    >>> apps = pd.DataFrame({"gender": ["female"] * 80 + ["male"] * 70,
    ...     "decision": ["approved"] * 48 + ["rejected"] * 32 + ["approved"] * 56
    ...     + ["rejected"] * 14})
    >>> gap = approval_gap(apps, "gender", reference="male")
    >>> gap.loc["female", ["approval_rate", "gap"]].round(2).tolist()    # 48/80 - 56/70
    [0.6, -0.2]
    """
    frame = _with_group(applications, group, clients)
    require_columns(frame, [decision], "applications")
    ok = _approved(frame, decision, approved)
    keys = frame[group]
    if keys.isna().all():
        raise ValueError(f"Column {group!r} has no values.")
    counts = pd.DataFrame({"approved": ok.astype(float), "applications": 1.0}).groupby(
        keys.to_numpy(), dropna=True).sum()
    counts.index.name = group
    if reference is None:
        reference = counts["applications"].idxmax()
    if reference not in counts.index:
        raise ValueError(f"reference {reference!r} is not a value of {group!r}; values: "
                         f"{list(counts.index)}.")
    ref = counts.loc[reference]
    out = counts[["applications", "approved"]].copy()
    out["approval_rate"] = out["approved"] / out["applications"]
    diff, low, high = difference_interval(out["approved"].to_numpy(), out["applications"],
                                          ref["approved"], ref["applications"], confidence,
                                          method)
    out["gap"], out["ci_low"], out["ci_high"] = diff, low, high
    out.loc[reference, ["ci_low", "ci_high"]] = np.nan
    return out


def _with_group(applications: pd.DataFrame, group: Hashable,
                clients: pd.DataFrame | None) -> pd.DataFrame:
    require_frame(applications, "applications")
    if group in applications.columns:
        return applications
    if clients is None:
        raise ValueError(f"applications has no column {group!r}; pass clients=... to take it "
                         "from the clients table (joined on client_id).")
    require_columns(clients, ["client_id", group], "clients")
    require_columns(applications, ["client_id"], "applications")
    return applications.assign(
        **{group: applications["client_id"].map(clients.set_index("client_id")[group])})


def risk_bands(values: pd.Series, bands: int = 5) -> pd.Series:
    """Quantile bands of a risk factor (quintiles by default), labelled 1 (lowest) upwards.

    Examples
    --------
    >>> import pandas as pd
    >>> risk_bands(pd.Series(range(10)), 5).tolist()
    [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    """
    if not isinstance(values, pd.Series) or not pd.api.types.is_numeric_dtype(values.dtype):
        raise TypeError("values must be a numeric pandas Series (e.g. risk_score).")
    if not isinstance(bands, int) or bands < 2:
        raise ValueError(f"bands must be a whole number of at least 2, got {bands!r}.")
    codes = pd.qcut(values, bands, labels=False, duplicates="drop")
    return (codes + 1).astype("Int64").rename(f"{values.name}_band" if values.name else "band")


@dataclass(frozen=True)
class LogisticFit:
    """Result of :func:`logistic_regression`."""

    coef: np.ndarray
    se: np.ndarray
    iterations: int
    converged: bool

    def wald_interval(self, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Wald interval ``coef +/- z * se`` for every coefficient."""
        z = normal_quantile(confidence)
        return self.coef - z * self.se, self.coef + z * self.se


def logistic_regression(x: Any, y: Any, *, max_iter: int = 100, tol: float = 1e-10) -> LogisticFit:
    """Fit ``P(y = 1) = 1 / (1 + exp(-x @ coef))`` by iteratively reweighted least squares.

    ``x`` must contain an intercept column if one is wanted. Standard errors are the square
    roots of the diagonal of the inverse Fisher information ``(X' W X)^-1``.

    Raises
    ------
    ValueError
        Shapes do not match, ``y`` is not 0/1, or the fit does not converge (e.g. complete
        separation: a column that predicts the outcome perfectly).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.column_stack([np.ones(4), [0, 0, 1, 1]])
    >>> fit = logistic_regression(np.repeat(x, [3, 1, 1, 3], axis=0),
    ...                           np.repeat([1, 0, 1, 0], [3, 1, 1, 3]))
    >>> np.round(fit.coef, 4).tolist()    # log(3/1), log((1/3) / 3)
    [1.0986, -2.1972]
    """
    design = np.asarray(x, dtype=float)
    target = np.asarray(y, dtype=float)
    if design.ndim != 2 or target.ndim != 1 or len(design) != len(target):
        raise ValueError("x must be 2-D (rows x columns) and y 1-D with one value per row.")
    if not np.isin(target, (0.0, 1.0)).all():
        raise ValueError("y must contain only 0 and 1.")
    coef = np.zeros(design.shape[1])
    converged = False
    iterations = 0
    for _ in range(max_iter):  # iterations of the solver, not a loop over rows
        iterations += 1
        eta = design @ coef
        p = 1.0 / (1.0 + np.exp(-eta))
        w = np.clip(p * (1 - p), 1e-12, None)
        info = design.T @ (design * w[:, None])
        try:
            step = np.linalg.solve(info, design.T @ (target - p))
        except np.linalg.LinAlgError as exc:
            raise ValueError("The design matrix is singular: a column is constant or a copy of "
                             "others (drop one band or the duplicate column).") from exc
        coef = coef + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(coef))):
            converged = True
            break
    if not converged or np.max(np.abs(coef)) > 30:
        raise ValueError("Logistic regression did not converge: a group or band is probably "
                         "all approved or all rejected (separation); use wider risk bands or "
                         "the Mantel-Haenszel method.")
    p = 1.0 / (1.0 + np.exp(-(design @ coef)))
    info = design.T @ (design * (p * (1 - p))[:, None])
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    return LogisticFit(coef=coef, se=se, iterations=iterations, converged=converged)


def adjusted_approval_gap(
    applications: pd.DataFrame,
    group: Hashable,
    *,
    compare: Any = None,
    reference: Any = None,
    risk: str = "risk_score",
    bands: int | str = 5,
    method: str = "mantel_haenszel",
    decision: str = "decision",
    approved: Any = "approved",
    confidence: float = 0.95,
    clients: pd.DataFrame | None = None,
) -> pd.Series:
    """Approval gap between two groups after adjusting for a risk factor.

    Parameters
    ----------
    applications : DataFrame
    group : str
        Group column (joined from ``clients`` when absent, as in :func:`approval_gap`).
    compare, reference : optional
        The two groups: the gap is ``compare`` minus ``reference``. With exactly two groups
        the defaults are the smaller (compare) and the larger (reference).
    risk : str, default "risk_score"
        Numeric risk factor, cut into ``bands`` quantile bands; or, with ``bands="column"``,
        a column already holding the bands.
    method : {"mantel_haenszel", "logistic"}
        ``"mantel_haenszel"``: pooled difference ``sum(w_k d_k) / sum(w_k)``, ``w_k = n1k n0k /
        (n1k + n0k)``, variance ``sum(w_k^2 v_k) / (sum w_k)^2`` with ``v_k`` the Wald variance
        of the band's difference (valid when bands are large). ``"logistic"``: logistic
        regression on an intercept, the group indicator and band dummies; reports the log
        odds ratio of ``compare`` vs ``reference`` (``estimate``) with its Wald interval, the
        odds ratio, and the average marginal effect (``gap``) in approval probability.

    Returns
    -------
    Series
        ``raw_gap``, ``estimate``, ``ci_low``, ``ci_high``, ``bands_used``, ``applications``
        (and ``odds_ratio``, ``gap`` for the logistic method).

    Examples
    --------
    >>> import pandas as pd
    >>> apps = pd.DataFrame({
    ...     "group": ["a"] * 20 + ["b"] * 20,
    ...     "risk_band": [1] * 10 + [2] * 10 + [1] * 10 + [2] * 10,
    ...     "decision": (["approved"] * 4 + ["rejected"] * 6 + ["approved"] * 8
    ...                  + ["rejected"] * 2) * 2})
    >>> result = adjusted_approval_gap(apps, "group", compare="a", reference="b",
    ...     risk="risk_band", bands="column")
    >>> float(result["estimate"])     # same approval rates within each band: no gap
    0.0
    """
    frame = _with_group(applications, group, clients)
    require_columns(frame, [decision, risk], "applications")
    values = frame[group]
    groups = list(pd.unique(values.dropna()))
    sizes = values.value_counts()
    if compare is None or reference is None:
        if len(groups) != 2:
            raise ValueError(f"{group!r} has {len(groups)} values {groups}; name the two to "
                             "compare with compare=... and reference=....")
        ordered = list(sizes.sort_values().index)
        compare = ordered[0] if compare is None else compare
        reference = next(g for g in ordered if g != compare) if reference is None else reference
    for label, value in (("compare", compare), ("reference", reference)):
        if value not in groups:
            raise ValueError(f"{label} {value!r} is not a value of {group!r}: {groups}.")
    keep = values.isin([compare, reference]).to_numpy() & frame[risk].notna().to_numpy()
    data = frame.loc[keep]
    if data.empty:
        raise ValueError("No application with both groups' values and a risk factor.")
    ok = _approved(data, decision, approved).astype(float)
    is_compare = (data[group] == compare).to_numpy()
    if bands == "column":
        band = data[risk].to_numpy()
    else:
        require_numeric(data, [risk], "applications")
        band = risk_bands(data[risk], int(bands)).to_numpy()
    raw = difference_interval(ok[is_compare].sum(), is_compare.sum(),
                              ok[~is_compare].sum(), (~is_compare).sum(), confidence, "wald")[0]
    if method == "mantel_haenszel":
        table = pd.DataFrame({"band": band, "c": is_compare, "ok": ok}).groupby(
            ["band", "c"])["ok"].agg(["sum", "count"]).unstack("c")
        table = table.dropna()  # bands where one group is absent carry no weight
        if table.empty:
            raise ValueError("No risk band contains both groups; use fewer bands.")
        x1, n1 = table[("sum", True)], table[("count", True)]
        x0, n0 = table[("sum", False)], table[("count", False)]
        p1, p0 = x1 / n1, x0 / n0
        w = n1 * n0 / (n1 + n0)
        estimate = float((w * (p1 - p0)).sum() / w.sum())
        variance = float((w**2 * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)).sum() / w.sum() ** 2)
        half = normal_quantile(confidence) * np.sqrt(variance)
        return pd.Series({"raw_gap": raw, "estimate": estimate, "ci_low": estimate - half,
                          "ci_high": estimate + half, "bands_used": float(len(table)),
                          "applications": float(n1.sum() + n0.sum())}, name=method)
    if method == "logistic":
        dummies = pd.get_dummies(pd.Series(band).astype("string"), drop_first=True, dtype=float)
        design = np.column_stack([np.ones(len(data)), is_compare.astype(float),
                                  dummies.to_numpy()])
        fit = logistic_regression(design, ok)
        low, high = fit.wald_interval(confidence)
        as_compare, as_reference = design.copy(), design.copy()
        as_compare[:, 1], as_reference[:, 1] = 1.0, 0.0
        effect = (1 / (1 + np.exp(-(as_compare @ fit.coef)))
                  - 1 / (1 + np.exp(-(as_reference @ fit.coef))))
        return pd.Series({"raw_gap": raw, "estimate": float(fit.coef[1]),
                          "ci_low": float(low[1]), "ci_high": float(high[1]),
                          "odds_ratio": float(np.exp(fit.coef[1])),
                          "gap": float(effect.mean()),
                          "bands_used": float(dummies.shape[1] + 1),
                          "applications": float(len(data))}, name=method)
    raise ValueError(f"method must be 'mantel_haenszel' or 'logistic', got {method!r}.")
