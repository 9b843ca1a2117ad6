"""Wrong answers and tampering attempts for exercise m03-transparency.

Points of the auto-graded test cells (see the notebook): flat_declining 1 + 1;
net_disbursed 1 + 1; easy_apr 1 + 2; eir 1; largest_gap 2; kfs_share 1 + 1. Total 12.
Part 4 (EIR) is checked against the learner's own APR and part 6 against the learner's own
product, so one mistake is not charged twice.
"""

from __future__ import annotations

from exercise_cases import (
    PATCH_NUMPY_ISCLOSE,
    REDEFINE_ASSERTION_ERROR,
    TEST_CELL_PASS,
    patch_pandas_reductions,
)

TOTAL = 12

# the flat formula used for both: the declining-balance interest is wrong (1)
BOTH_FLAT = (
    "interest_flat = 1500 * 0.18 * 20 / 52\n"
    "interest_declining = 1500 * 0.18 * 20 / 52\n"
)

# the savings come back, so the learner leaves them out of the cash in hand (1)
NET_WITHOUT_SAVINGS = (
    'easy = products.loc[products["advertised_rate_monthly"].idxmin()]\n'
    'easy_id = str(easy["product_id"])\n'
    'net_disbursed = 1000 * (1 - easy["upfront_fee"] - easy["insurance"])\n'
)

_EASY_FLOWS = (
    'easy = products.set_index("product_id").loc[easy_id]\n'
    "easy_flows = pricing.loan_flows(\n"
    '    1000, int(easy["max_term"]), int(easy["periods_per_year"]), '
    'float(easy["rate_yearly"]),\n'
    '    method=str(easy["interest_method"]), upfront_fee=float(easy["upfront_fee"]),\n'
    '    fee_per_payment=float(easy["fee_per_payment"]), insurance=float(easy["insurance"]),\n'
    "    {savings}"
    '    savings_interest=float(easy["savings_interest"]),\n'
    '    tax_on_interest=float(easy["tax_on_interest"]),\n'
    ")\n"
)

# the flows are right, the APR is the advertisement's 12 x monthly rate (2)
ADVERTISED_APR = (
    _EASY_FLOWS.format(savings='compulsory_savings=float(easy["compulsory_savings"]),\n')
    + 'easy_apr = float(12 * easy["advertised_rate_monthly"])\n'
)

# compulsory savings left out of the flows: flows (1) and APR (2) wrong
FLOWS_WITHOUT_SAVINGS = (
    _EASY_FLOWS.format(savings="")
    + 'easy_apr = float(pricing.apr(easy_flows, int(easy["periods_per_year"])))\n'
)

# the APR taken for the EIR (1)
EIR_IS_APR = "easy_eir = float(easy_apr)\n"

# the product with the highest advertised rate, not the largest gap (2)
HIGHEST_ADVERTISED = (
    'largest_gap_product = str(products.loc[products["advertised_rate_monthly"].idxmax(), '
    '"product_id"])\n'
)

# a percentage where a fraction is asked (1)
KFS_PERCENT = (
    'given = loans.loc[loans["product_id"] == largest_gap_product, "key_facts_given"]\n'
    "kfs_share = float(given.mean() * 100)\n"
    "loans_without_kfs = int((~given).sum())\n"
)

WRONG_ANSWERS = [
    ("declining computed flat", {"m03_flat_declining_answer": BOTH_FLAT}, TOTAL - 1),
    ("net disbursed without savings", {"m03_net_disbursed_answer": NET_WITHOUT_SAVINGS},
     TOTAL - 1),
    ("advertised rate as apr", {"m03_easy_apr_answer": ADVERTISED_APR}, TOTAL - 2),
    ("flows without savings", {"m03_easy_apr_answer": FLOWS_WITHOUT_SAVINGS}, TOTAL - 1 - 2),
    ("eir equals apr", {"m03_eir_answer": EIR_IS_APR}, TOTAL - 1),
    ("highest advertised rate", {"m03_largest_gap_answer": HIGHEST_ADVERTISED}, TOTAL - 2),
    ("kfs share in percent", {"m03_kfs_share_answer": KFS_PERCENT}, TOTAL - 1),
    # two mistakes at once add up
    (
        "advertised apr and eir equals apr",
        {"m03_easy_apr_answer": ADVERTISED_APR, "m03_eir_answer": EIR_IS_APR},
        TOTAL - 2 - 1,
    ),
]

TAMPERING = [
    # a test cell edited to do nothing: nbgrader restores it from the gradebook
    ("apr test turned into pass", "advertised rate as apr",
     {"m03_easy_apr_test_2": TEST_CELL_PASS}),
    # a test cell deleted: OverwriteCells.add_missing_cells puts it back
    ("apr test deleted", "advertised rate as apr", {"m03_easy_apr_test_2": None}),
    # assert raises the builtin AssertionError whatever the name is bound to
    ("assertion error redefined", "net disbursed without savings",
     {"m03_net_disbursed_answer": NET_WITHOUT_SAVINGS + REDEFINE_ASSERTION_ERROR}),
    # the checks compare with plain operators, not numpy.isclose
    ("numpy isclose patched", "eir equals apr",
     {"m03_eir_answer": EIR_IS_APR + PATCH_NUMPY_ISCLOSE}),
    # the checks count with numpy on a reference copy, so faking pandas reductions fakes nothing
    ("pandas reductions patched", "kfs share in percent",
     {"m03_kfs_share_answer": KFS_PERCENT + patch_pandas_reductions(0.5)}),
    # the checks recompute the APR in plain Python: patched library helpers change nothing
    (
        "library helpers patched",
        "advertised rate as apr",
        {
            "m03_easy_apr_answer": ADVERTISED_APR
            + "import clientprotection, clientprotection.data, clientprotection.pricing\n"
            + "clientprotection.pricing.apr = lambda *a, **k: easy_apr\n"
            + "clientprotection.pricing.periodic_rate = lambda *a, **k: easy_apr / 52\n"
            + "transparency.product_costs = lambda *a, **k: None\n"
            + "_fake = lambda *a, **k: {'products': products, 'loans': loans}\n"
            + "clientprotection.load_mfi = clientprotection.data.load_mfi = _fake\n"
        },
    ),
    # changing the shared tables does not change the reference copy the checks use
    (
        "data mutated to match",
        "net disbursed without savings",
        {
            "m03_net_disbursed_answer": "products['compulsory_savings'] = 0.0\n"
            + NET_WITHOUT_SAVINGS
        },
    ),
]
