"""Answers of the graded exercise m02-over-indebtedness, for its visible checks.

Each test cell of ``exercises/m02-over-indebtedness`` calls
``verify("m02_exercise.<answer>", <answer>)`` after its form checks, so that a learner who
presses Validate learns whether the value is right (with a hint) without seeing it. The expected
values are computed here from a fresh copy of the data (:func:`clientprotection.load_mfi`, read
once per kernel), never from the learner's variables; the hidden tests of the exercise recompute
every value independently at grading.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

# bound when the first check runs, so that a library function patched later in the notebook
# does not change the expected values
from clientprotection.data import load_mfi
from clientprotection.indebtedness import loan_growth
from clientprotection.portfolio import par
from clientprotection.selfcheck import Question

LIV_AT_RISK = 0.75  # Liv (2013): debt service above 75% of net income is "at risk"
LIV_INSOLVENT = 1.0  # ... and above 100% "insolvent"
BANDS = ("solvent", "at_risk", "insolvent")


@lru_cache(maxsize=1)
def _tables():
    """The MFI's tables as shipped, loaded once per kernel (the learner's copy may change)."""
    return load_mfi()


def _loans() -> pd.DataFrame:
    return _tables()["loans"]


def _dsr() -> np.ndarray:
    return _loans()["dsr_at_approval"].to_numpy(dtype=float)


# --- part 1 -------------------------------------------------------------------------------


def _share_over_75() -> float:
    dsr = _dsr()
    dsr = dsr[~np.isnan(dsr)]
    return float((dsr > LIV_AT_RISK).mean())


# --- part 2 -------------------------------------------------------------------------------


def _band_counts_with(first_edge: float) -> dict[str, int]:
    dsr = _dsr()
    return {
        "solvent": int((dsr <= first_edge).sum()),
        "at_risk": int(((dsr > first_edge) & (dsr <= LIV_INSOLVENT)).sum()),
        "insolvent": int((dsr > LIV_INSOLVENT).sum()),
    }


def _band_counts() -> dict[str, int]:
    return _band_counts_with(LIV_AT_RISK)


def _band_counts_rbi_edge() -> dict[str, int]:
    return _band_counts_with(0.5)


def _band_shares() -> dict[str, float]:
    counts = _band_counts()
    total = sum(counts.values())
    return {band: count / total for band, count in counts.items()}


# --- part 3 -------------------------------------------------------------------------------


def _bureau_share(applications: pd.DataFrame) -> pd.Series:
    return applications.groupby("branch_id", observed=True)["bureau_checked"].mean()


def _bureau_checked_share() -> pd.Series:
    applications = _tables()["applications"]
    return _bureau_share(applications[applications["decision"].astype(str) == "approved"])


def _bureau_over_all_applications() -> pd.Series:
    return _bureau_share(_tables()["applications"])


# --- part 4 -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _growth_pairs() -> pd.DataFrame:
    return loan_growth(_loans())


def _median_growth() -> pd.Series:
    return _growth_pairs().groupby("branch_id", observed=True)["growth"].median()


def _mean_growth() -> pd.Series:
    return _growth_pairs().groupby("branch_id", observed=True)["growth"].mean()


# --- part 5 -------------------------------------------------------------------------------


def _volume_branch() -> str:
    branches = _tables()["branches"]
    ids = branches.loc[branches["incentive_scheme"].astype(str) == "disbursement_volume",
                       "branch_id"]
    if len(ids) != 1:
        raise ValueError("the exercise expects exactly one branch paid on disbursement volume")
    return str(ids.iloc[0])


# --- part 6 -------------------------------------------------------------------------------


def _par30_by_branch() -> pd.Series:
    return par(_loans(), 30, by="branch_id")


def _par30_without_restructured() -> pd.Series:
    return par(_loans(), 30, by="branch_id", include_restructured=False)


# --- part 7 -------------------------------------------------------------------------------


def _bad_rate(*, above: bool, late_only: bool = False) -> float:
    loans = _loans()
    bad = loans["days_late"].to_numpy() > 30
    if not late_only:
        bad = bad | loans["restructured"].to_numpy(dtype=bool)
        bad = bad | loans["written_off"].to_numpy(dtype=bool)
    dsr = _dsr()
    group = dsr > LIV_AT_RISK if above else dsr <= LIV_AT_RISK
    return float(bad[group].mean())


_LATE_ONLY_HINT = (
    "Only the late loans are counted as bad here: restructured and written-off loans are bad "
    "too."
)

QUESTIONS: list[Question] = [
    Question(
        id="m02_exercise.share_over_75",
        kind="number",
        expected=_share_over_75,
        tolerance=1e-9,
        hints=(
            "Compare loans['dsr_at_approval'] with 0.75: strictly above, not 'at or above'.",
            "The mean of a True/False Series is the share of True values, over all loans.",
        ),
    ),
    Question(
        id="m02_exercise.band_counts",
        kind="series",
        expected=_band_counts,
        hints=(
            "Put each loan's dsr_at_approval in one band: 0.75 or less solvent, above 0.75 up "
            "to 1.00 at risk, above 1.00 insolvent; then count the loans per band.",
            "indebtedness.liv_band(loans['dsr_at_approval']).value_counts() counts them; "
            "reindex the result by the three band names.",
        ),
        computed_mistakes=(
            (_band_counts_rbi_edge,
             "0.50 is the RBI's cap on gross household income; Liv's first edge is 0.75 of "
             "net income."),
            (_band_shares, "Give the number of loans in each band, not the share."),
        ),
    ),
    Question(
        id="m02_exercise.bureau_checked_share",
        kind="series",
        expected=_bureau_checked_share,
        tolerance=1e-9,
        hints=(
            "Keep the approved applications only (decision == 'approved') before averaging.",
            "Group the approved applications by branch_id and take the mean of bureau_checked.",
        ),
        computed_mistakes=(
            (_bureau_over_all_applications,
             "These shares include the rejected applications: keep the approved ones only."),
        ),
    ),
    Question(
        id="m02_exercise.median_growth",
        kind="series",
        expected=_median_growth,
        tolerance=1e-9,
        hints=(
            "indebtedness.loan_growth(loans) gives one row per repeat loan with its growth "
            "and the branch of the later loan.",
            "Group those rows by branch_id and take the median of growth.",
        ),
        computed_mistakes=(
            (_mean_growth, "These are the mean growths per branch; the question asks for the "
                           "median."),
        ),
    ),
    Question(
        id="m02_exercise.volume_branch",
        kind="text",
        expected=_volume_branch,
        hints=(
            "The branches table says, in incentive_scheme, how each branch's officers earn "
            "their bonus.",
            "Keep the row whose incentive_scheme is 'disbursement_volume' and give its "
            "branch_id as a string.",
        ),
    ),
    Question(
        id="m02_exercise.par30_by_branch",
        kind="series",
        expected=_par30_by_branch,
        tolerance=1e-9,
        hints=(
            "PAR30 counts the whole outstanding balance of active loans more than 30 days "
            "late or restructured, over the outstanding balance of all active loans.",
            "portfolio.par(loans, 30, by='branch_id') applies the SEEP definition per branch.",
        ),
        computed_mistakes=(
            (_par30_without_restructured,
             "Restructured loans are left out: SEEP counts them at risk whatever their "
             "arrears."),
        ),
    ),
    Question(
        id="m02_exercise.bad_rate_above",
        kind="number",
        expected=lambda: _bad_rate(above=True),
        tolerance=1e-9,
        hints=(
            "Bad means more than 30 days late, restructured or written off; combine the three "
            "with |.",
            "Keep the loans with dsr_at_approval strictly above 0.75, then take the mean of "
            "the bad flag.",
        ),
        computed_mistakes=(
            (lambda: _bad_rate(above=True, late_only=True), _LATE_ONLY_HINT),
            (lambda: _bad_rate(above=False), "That is the rate at or below 0.75."),
        ),
    ),
    Question(
        id="m02_exercise.bad_rate_below",
        kind="number",
        expected=lambda: _bad_rate(above=False),
        tolerance=1e-9,
        hints=(
            "Bad means more than 30 days late, restructured or written off; combine the three "
            "with |.",
            "Keep the loans with dsr_at_approval at 0.75 or less, then take the mean of the "
            "bad flag.",
        ),
        computed_mistakes=(
            (lambda: _bad_rate(above=False, late_only=True), _LATE_ONLY_HINT),
            (lambda: _bad_rate(above=True), "That is the rate above 0.75."),
        ),
    ),
]
