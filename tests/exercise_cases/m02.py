"""Wrong answers and tampering attempts for exercise m02-over-indebtedness.

Points of the auto-graded test cells (see the notebook): share_over_75 1; liv_bands 1 + 2;
bureau 2; growth 1 + 2; volume_branch 1; par 1 + 2; bad_rates 1 + 1. Total 15.
"""

from __future__ import annotations

from exercise_cases import (
    PATCH_NUMPY_ISCLOSE,
    REDEFINE_ASSERTION_ERROR,
    TEST_CELL_PASS,
    patch_pandas_reductions,
)

TOTAL = 15

PERCENTAGE = 'share_over_75 = float((loans["dsr_at_approval"] > 0.75).mean() * 100)\n'

RBI_BANDS = (
    "import numpy as np\n"
    'dsr = loans["dsr_at_approval"]\n'
    "labels = np.select([dsr <= 0.5, dsr <= 0.75], ['solvent', 'at_risk'], 'insolvent')\n"
    "band_counts = pd.Series(labels).value_counts().reindex(['solvent', 'at_risk', "
    "'insolvent'])\n"
)

ALL_APPLICATIONS = (
    'bureau_checked_share = applications.groupby("branch_id", observed=True)'
    '["bureau_checked"].mean()\n'
)

MEAN_GROWTH = (
    "pairs = indebtedness.loan_growth(loans)\n"
    'median_growth = pairs.groupby("branch_id", observed=True)["growth"].mean()\n'
)

PAR_WITHOUT_RESTRUCTURED = (
    'par30_by_branch = portfolio.par(loans, 30, by="branch_id", include_restructured=False)\n'
)

OVERDUE_ONLY_BAD = (
    'bad = loans["days_late"] > 30\n'
    'above = loans["dsr_at_approval"] > 0.75\n'
    "bad_rate_above = float(bad[above].mean())\n"
    "bad_rate_below = float(bad[~above].mean())\n"
)

WRONG_ANSWERS = [
    # a percentage where a fraction is asked: part 1 lost
    ("percentage instead of fraction", {"m02_share_over_75_answer": PERCENTAGE}, TOTAL - 1),
    # the RBI's 50% used as Liv's first edge: the form is right (1), the counts are not (2)
    ("rbi thresholds for liv bands", {"m02_liv_bands_answer": RBI_BANDS}, TOTAL - 2),
    # rejected applications included
    ("bureau share over all applications", {"m02_bureau_answer": ALL_APPLICATIONS}, TOTAL - 2),
    # mean instead of median: the form is right (1), the values are not (2)
    ("mean growth instead of median", {"m02_growth_answer": MEAN_GROWTH}, TOTAL - 2),
    # restructured loans left out of PAR: form right (1), values wrong (2)
    ("par without restructured loans", {"m02_par_answer": PAR_WITHOUT_RESTRUCTURED}, TOTAL - 2),
    # only arrears count as bad: both rates wrong
    ("bad means only late", {"m02_bad_rates_answer": OVERDUE_ONLY_BAD}, TOTAL - 2),
    # two mistakes at once add up
    (
        "percentage and mean growth",
        {"m02_share_over_75_answer": PERCENTAGE, "m02_growth_answer": MEAN_GROWTH},
        TOTAL - 3,
    ),
]

TAMPERING = [
    # a test cell edited to do nothing: nbgrader restores it from the gradebook
    ("par test turned into pass", "par without restructured loans",
     {"m02_par_test_2": TEST_CELL_PASS}),
    # a test cell deleted: OverwriteCells.add_missing_cells puts it back
    ("par test deleted", "par without restructured loans", {"m02_par_test_2": None}),
    # assert raises the builtin AssertionError whatever the name is bound to
    ("assertion error redefined", "percentage instead of fraction",
     {"m02_share_over_75_answer": PERCENTAGE + REDEFINE_ASSERTION_ERROR}),
    # the checks compare with plain operators, not numpy.isclose
    ("numpy isclose patched", "mean growth instead of median",
     {"m02_growth_answer": MEAN_GROWTH + PATCH_NUMPY_ISCLOSE}),
    # the checks recompute on numpy arrays, so faking pandas reductions fakes nothing
    ("pandas reductions patched", "percentage instead of fraction",
     {"m02_share_over_75_answer": PERCENTAGE + patch_pandas_reductions(50.0)}),
    # the checks do not call library helpers or reload data the answer could replace
    (
        "library helpers patched",
        "par without restructured loans",
        {
            "m02_par_answer": PAR_WITHOUT_RESTRUCTURED
            + "import clientprotection, clientprotection.data, clientprotection.portfolio\n"
            + "clientprotection.portfolio.par = lambda *a, **k: par30_by_branch\n"
            + "_fake = lambda *a, **k: {'loans': loans.assign(restructured=False)}\n"
            + "clientprotection.load_mfi = clientprotection.data.load_mfi = _fake\n"
            + "loans['restructured'] = False\n"
        },
    ),
    # changing the shared table does not change the reference copy the checks use
    (
        "data mutated to match",
        "bad means only late",
        {
            "m02_bad_rates_answer": "loans['restructured'] = False\n"
            "loans['written_off'] = False\n" + OVERDUE_ONLY_BAD
        },
    ),
]

