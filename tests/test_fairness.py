"""Fair treatment: approval gaps with confidence intervals, raw and risk-adjusted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientprotection import fairness as fr


def test_wilson_interval_matches_newcombe_1998_single_proportion():
    # Newcombe, "Two-sided confidence intervals for the single proportion: comparison of seven
    # methods", Statistics in Medicine 17:857-872 (1998), Table I, method 3 (score, no CC)
    published = {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                 (0, 20): (0.0000, 0.1611), (1, 29): (0.0061, 0.1718)}
    for (x, n), (low, high) in published.items():
        lo, hi = fr.wilson_interval(x, n)
        assert (round(float(lo), 4), round(float(hi), 4)) == (low, high)
    # closed form for 0/n: upper = z^2 / (n + z^2) = 3.8415 / 23.8415
    z = fr.normal_quantile(0.95)
    assert fr.wilson_interval(0, 20)[1] == pytest.approx(z * z / (20 + z * z))


def test_difference_interval_matches_newcombe_1998_method_10():
    # Newcombe, "Interval estimation for the difference between independent proportions:
    # comparison of eleven methods", Statistics in Medicine 17:873-890 (1998), Table II,
    # method 10 (hybrid score, no CC) and method 1 (Wald) for example (a)
    published = {(56, 70, 48, 80): (0.0524, 0.3339), (9, 10, 3, 10): (0.1705, 0.8090),
                 (5, 56, 0, 29): (-0.0381, 0.1926), (0, 10, 0, 20): (-0.1611, 0.2775),
                 (10, 10, 0, 20): (0.6791, 1.0000)}
    for counts, (low, high) in published.items():
        _, lo, hi = fr.difference_interval(*counts)
        assert (round(lo, 4), round(hi, 4)) == (low, high)
    d, lo, hi = fr.difference_interval(56, 70, 48, 80, method="wald")
    assert (round(lo, 4), round(hi, 4)) == (0.0575, 0.3425)
    # Wald by hand: 0.2 +/- 1.96 * sqrt(0.8 * 0.2 / 70 + 0.6 * 0.4 / 80)
    assert hi - d == pytest.approx(1.959964 * math.sqrt(0.16 / 70 + 0.24 / 80), rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 400), st.integers(1, 400), st.data())
def test_interval_contains_estimate_and_shrinks_with_n(n1, n2, data):
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    for method in ("newcombe", "wald"):
        d, lo, hi = fr.difference_interval(x1, n1, x2, n2, method=method)
        assert lo - 1e-12 <= d <= hi + 1e-12
        # four times the applications at the same rates: a narrower (or equal) interval
        _, lo4, hi4 = fr.difference_interval(4 * x1, 4 * n1, 4 * x2, 4 * n2, method=method)
        assert hi4 - lo4 <= hi - lo + 1e-12
        if method == "newcombe":
            assert hi4 - lo4 < hi - lo


def applications_by_hand() -> pd.DataFrame:
    # band 1: group a 3/10 approved, b 5/10; band 2: a 18/20, b 8/10
    def block(group, band, approved, total):
        return pd.DataFrame({"group": group, "band": band,
                             "decision": ["approved"] * approved
                             + ["rejected"] * (total - approved)})

    return pd.concat([block("a", 1, 3, 10), block("b", 1, 5, 10), block("a", 2, 18, 20),
                      block("b", 2, 8, 10)], ignore_index=True)


def test_approval_gap_by_hand():
    gap = fr.approval_gap(applications_by_hand(), "group", reference="b")
    # a: 21/30 = 0.7; b: 13/20 = 0.65; gap 0.05
    assert gap.loc["a", "approval_rate"] == pytest.approx(0.7)
    assert gap.loc["a", "gap"] == pytest.approx(0.05)
    _, lo, hi = fr.difference_interval(21, 30, 13, 20)
    assert (gap.loc["a", "ci_low"], gap.loc["a", "ci_high"]) == pytest.approx((lo, hi))
    assert np.isnan(gap.loc["b", "ci_low"]) and gap.loc["b", "gap"] == 0.0
    # default reference: the largest group (a, 30 applications)
    assert fr.approval_gap(applications_by_hand(), "group").loc["a", "gap"] == 0.0


def test_approval_gap_joins_client_attributes():
    apps = pd.DataFrame({"client_id": ["C1", "C2", "C3", "C4"],
                         "decision": ["approved", "rejected", "approved", "approved"]})
    clients = pd.DataFrame({"client_id": ["C1", "C2", "C3", "C4"],
                            "gender": ["female", "female", "male", "male"]})
    gap = fr.approval_gap(apps, "gender", reference="male", clients=clients)
    assert gap.loc["female", "gap"] == pytest.approx(0.5 - 1.0)


def test_mantel_haenszel_pooled_difference_by_hand():
    result = fr.adjusted_approval_gap(applications_by_hand(), "group", compare="a",
                                      reference="b", risk="band", bands="column")
    # band 1: d = 0.3 - 0.5 = -0.2, w = 10 * 10 / 20 = 5
    # band 2: d = 0.9 - 0.8 = 0.1,  w = 20 * 10 / 30 = 6.667
    # RD_MH = (5 * -0.2 + 6.667 * 0.1) / 11.667 = -0.02857
    w1, w2 = 5.0, 200 / 30
    estimate = (w1 * -0.2 + w2 * 0.1) / (w1 + w2)
    assert result["estimate"] == pytest.approx(estimate)
    # variance: (w1^2 (0.3*0.7/10 + 0.5*0.5/10) + w2^2 (0.9*0.1/20 + 0.8*0.2/10)) / (w1+w2)^2
    variance = (w1**2 * 0.046 + w2**2 * 0.0205) / (w1 + w2) ** 2
    z = fr.normal_quantile(0.95)
    assert result["ci_high"] - result["estimate"] == pytest.approx(z * math.sqrt(variance))
    assert result["raw_gap"] == pytest.approx(0.05)
    assert result["bands_used"] == 2


def test_mantel_haenszel_with_one_band_is_the_wald_difference():
    apps = applications_by_hand().assign(band=1)
    result = fr.adjusted_approval_gap(apps, "group", compare="a", reference="b", risk="band",
                                      bands="column")
    d, lo, hi = fr.difference_interval(21, 30, 13, 20, method="wald")
    assert (result["estimate"], result["ci_low"], result["ci_high"]) == pytest.approx((d, lo, hi))


def test_gap_explained_by_risk_vanishes_after_adjustment():
    # Simpson's paradox: within each risk band both groups are approved at the same rate
    # (band 1: 20%, band 2: 90%) but group a is mostly in the riskier band.
    def block(group, band, approved, total):
        return pd.DataFrame({"group": group, "risk_score": band,
                             "decision": ["approved"] * approved
                             + ["rejected"] * (total - approved)})

    apps = pd.concat([block("a", 10, 16, 80), block("a", 90, 18, 20),
                      block("b", 10, 4, 20), block("b", 90, 72, 80)], ignore_index=True)
    # raw: a 34/100, b 76/100 -> -0.42
    mh = fr.adjusted_approval_gap(apps, "group", compare="a", reference="b", bands=2)
    assert mh["raw_gap"] == pytest.approx(-0.42)
    assert mh["estimate"] == pytest.approx(0.0, abs=1e-12)
    logit = fr.adjusted_approval_gap(apps, "group", compare="a", reference="b", bands=2,
                                     method="logistic")
    assert logit["estimate"] == pytest.approx(0.0, abs=1e-8)
    assert logit["odds_ratio"] == pytest.approx(1.0, abs=1e-8)
    assert logit["ci_low"] < 0 < logit["ci_high"]


def test_logistic_regression_on_a_2x2_table_gives_woolf_log_odds_ratio():
    # 2x2 table: group 1: 30 approved, 10 rejected; group 0: 20 approved, 40 rejected.
    # log OR = log((30 * 40) / (10 * 20)) = log 6; Woolf SE = sqrt(1/30 + 1/10 + 1/20 + 1/40)
    group = np.repeat([1, 1, 0, 0], [30, 10, 20, 40])
    approved = np.repeat([1, 0, 1, 0], [30, 10, 20, 40])
    fit = fr.logistic_regression(np.column_stack([np.ones(100), group]), approved)
    assert fit.coef[1] == pytest.approx(math.log(6.0))
    assert fit.coef[0] == pytest.approx(math.log(20 / 40))
    assert fit.se[1] == pytest.approx(math.sqrt(1 / 30 + 1 / 10 + 1 / 20 + 1 / 40))
    low, high = fit.wald_interval()
    assert high[1] - fit.coef[1] == pytest.approx(1.959964 * fit.se[1], rel=1e-6)


def test_risk_bands_quintiles():
    bands = fr.risk_bands(pd.Series(np.arange(100, dtype=float)))
    assert bands.value_counts().sort_index().tolist() == [20] * 5
    assert bands.iloc[0] == 1 and bands.iloc[-1] == 5


def test_errors_are_clear():
    apps = applications_by_hand()
    with pytest.raises(ValueError, match="no column 'gender'"):
        fr.approval_gap(apps, "gender")
    with pytest.raises(ValueError, match="reference 'c'"):
        fr.approval_gap(apps, "group", reference="c")
    with pytest.raises(ValueError, match="approved="):
        fr.approval_gap(apps.assign(decision="yes"), "group")
    with pytest.raises(ValueError, match="empty"):
        fr.approval_gap(apps.iloc[0:0], "group")
    with pytest.raises(ValueError, match="between 0 and n"):
        fr.wilson_interval(5, 4)
    with pytest.raises(ValueError, match="method must be"):
        fr.difference_interval(1, 2, 1, 2, method="exact")
    with pytest.raises(ValueError, match="between 0 and 1"):
        fr.normal_quantile(95)
    separated = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    with pytest.raises(ValueError, match="separation"):
        fr.logistic_regression(separated, [0, 0, 0, 1, 1, 1])
    three = apps.assign(group=(["a", "b", "c"] * 17)[:50])
    with pytest.raises(ValueError, match="compare=..."):
        fr.adjusted_approval_gap(three, "group", risk="band", bands="column")


# --- smoke tests on the default scenario ---------------------------------------------------------


def test_default_scenario_approval_gaps(mfi):
    apps, clients = mfi["applications"], mfi["clients"]
    gap = fr.approval_gap(apps, "gender", clients=clients)
    others = gap.dropna(subset=["ci_low"])
    assert ((others["ci_low"] <= others["gap"]) & (others["gap"] <= others["ci_high"])).all()
    for method in ("mantel_haenszel", "logistic"):
        result = fr.adjusted_approval_gap(apps, "language_group", clients=clients, method=method)
        assert result["ci_low"] <= result["estimate"] <= result["ci_high"]
