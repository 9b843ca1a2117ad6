"""Answers of the graded exercise m03-transparency, for its visible checks.

Each test cell of ``exercises/m03-transparency`` calls ``verify("m03_exercise.<answer>", ...)``
after its form checks, so that a learner who presses Validate learns whether the value is right
(with a hint) without seeing it. The expected values are computed here, with the pricing engine,
from a fresh copy of the data (:func:`clientprotection.load_mfi`, read once per kernel), never
from the learner's variables. Two answers build on earlier ones, as in the hidden tests: the EIR
is checked against the learner's own APR and the Key Facts figures against the learner's own
product, so one mistake is not charged twice.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

# bound when the first check runs, so that a library function patched later in the notebook
# does not change the expected values
from clientprotection.data import load_mfi
from clientprotection.explorers.transparency import product_costs
from clientprotection.pricing import apr as flows_apr
from clientprotection.pricing import loan_flows
from clientprotection.selfcheck import Question

# part 1: the loan of the exercise text
PART1_PRINCIPAL, PART1_PAYMENTS, PART1_PER_YEAR, PART1_RATE = 1500.0, 20, 52, 0.18
PRICED_AMOUNT = 1000.0  # parts 2 to 5 price a loan of 1,000


@lru_cache(maxsize=1)
def _tables():
    """The MFI's tables as shipped, loaded once per kernel (the learner's copy may change)."""
    return load_mfi()


def _products() -> pd.DataFrame:
    return _tables()["products"]


# --- part 1 -------------------------------------------------------------------------------


def _part1_interest(method: str) -> float:
    """Total interest of the part 1 loan, unrounded (``pricing.schedule`` rounds to the cent)."""
    years = PART1_PAYMENTS / PART1_PER_YEAR
    if method == "flat":
        return PART1_PRINCIPAL * PART1_RATE * years
    periodic = PART1_RATE / PART1_PER_YEAR
    instalment = PART1_PRINCIPAL * periodic / (1 - (1 + periodic) ** -PART1_PAYMENTS)
    return PART1_PAYMENTS * instalment - PART1_PRINCIPAL


# --- parts 2 to 4: the product advertised at the lowest monthly rate ------------------------


def _easy_product() -> pd.Series:
    products = _products()
    return products.loc[products["advertised_rate_monthly"].astype(float).idxmin()]


def _easy_id() -> str:
    return str(_easy_product()["product_id"])


def _net_disbursed(*, with_savings: bool = True) -> float:
    easy = _easy_product()
    kept = float(easy["upfront_fee"]) + float(easy["insurance"])
    if with_savings:
        kept += float(easy["compulsory_savings"])
    return PRICED_AMOUNT * (1 - kept)


@lru_cache(maxsize=2)
def _flows_of_easy(with_savings: bool = True) -> tuple[float, ...]:
    easy = _easy_product()
    flows = loan_flows(
        PRICED_AMOUNT, int(easy["max_term"]), int(easy["periods_per_year"]),
        float(easy["rate_yearly"]), method=str(easy["interest_method"]),
        upfront_fee=float(easy["upfront_fee"]), fee_per_payment=float(easy["fee_per_payment"]),
        insurance=float(easy["insurance"]),
        compulsory_savings=float(easy["compulsory_savings"]) if with_savings else 0.0,
        savings_interest=float(easy["savings_interest"]),
        tax_on_interest=float(easy["tax_on_interest"]),
    )
    return tuple(float(f) for f in np.asarray(flows, dtype=float))


def _easy_flows() -> list[float]:
    return list(_flows_of_easy(True))


def _flows_without_savings() -> list[float]:
    return list(_flows_of_easy(False))


def _apr_of(flows: tuple[float, ...]) -> float:
    return float(flows_apr(list(flows), int(_easy_product()["periods_per_year"])))


def _easy_apr() -> float:
    return _apr_of(_flows_of_easy(True))


def _apr_without_savings() -> float:
    return _apr_of(_flows_of_easy(False))


def _advertised_yearly() -> float:
    return 12 * float(_easy_product()["advertised_rate_monthly"])


def _eir_from(apr: object) -> float:
    """The EIR of the learner's own APR, compounded over the easy product's periods."""
    periods = int(_easy_product()["periods_per_year"])
    return (1 + float(apr) / periods) ** periods - 1  # type: ignore[arg-type]


def _same_as_apr(apr: object) -> float:
    return float(apr)  # type: ignore[arg-type]


# --- part 5 -------------------------------------------------------------------------------


def _largest_gap_product() -> str:
    costs = product_costs(_products(), term="max")
    return str(costs["gap"].astype(float).idxmax())


def _highest_advertised_product() -> str:
    products = _products()
    return str(products.loc[products["advertised_rate_monthly"].astype(float).idxmax(),
                            "product_id"])


# --- part 6: the learner's product from part 5 ---------------------------------------------


def _key_facts_of(product_id: object) -> np.ndarray:
    loans = _tables()["loans"]
    mine = loans["product_id"].astype(str).to_numpy() == str(product_id)
    return loans["key_facts_given"].to_numpy(dtype=bool)[mine]


def _kfs_share(product_id: object) -> float:
    given = _key_facts_of(product_id)
    if given.size == 0:
        raise AssertionError(
            f"largest_gap_product ({product_id!r}) has no loans: check your answer to part 5 "
            "first."
        )
    return float(given.mean())


def _kfs_share_all_products(product_id: object) -> float:
    return float(_tables()["loans"]["key_facts_given"].to_numpy(dtype=bool).mean())


def _without_kfs(product_id: object) -> int:
    return int((~_key_facts_of(product_id)).sum())


def _with_kfs(product_id: object) -> int:
    return int(_key_facts_of(product_id).sum())


def _without_kfs_all_products(product_id: object) -> int:
    return int((~_tables()["loans"]["key_facts_given"].to_numpy(dtype=bool)).sum())


QUESTIONS: list[Question] = [
    Question(
        id="m03_exercise.interest_flat",
        kind="number",
        expected=lambda: _part1_interest("flat"),
        tolerance=0.5,
        hints=(
            "Flat interest is charged on the original 1,500 for the whole term, whatever has "
            "been repaid.",
            "Amount x yearly rate x the loan's length in years (20 weeks out of 52).",
        ),
        computed_mistakes=(
            (lambda: _part1_interest("declining"),
             "That is the interest on the declining balance; the flat rate does not fall as "
             "the balance is repaid."),
        ),
    ),
    Question(
        id="m03_exercise.interest_declining",
        kind="number",
        expected=lambda: _part1_interest("declining"),
        tolerance=0.5,
        hints=(
            "Each week the interest is 18%/52 of the balance still owed, which falls as she "
            "repays.",
            "pricing.schedule(1500, 20, 52, 0.18, method='declining') lists the interest of "
            "every instalment: add them up.",
        ),
        computed_mistakes=(
            (lambda: _part1_interest("flat"),
             "That is the flat interest: on the declining balance the interest falls as the "
             "balance is repaid."),
        ),
    ),
    Question(
        id="m03_exercise.easy_id",
        kind="text",
        expected=_easy_id,
        hints=(
            "Look for the smallest value of products['advertised_rate_monthly'].",
            "products.loc[products['advertised_rate_monthly'].idxmin()] is that product's row; "
            "give its product_id as a string.",
        ),
        computed_mistakes=(
            (_highest_advertised_product,
             "That product is advertised at the highest monthly rate, not the lowest."),
        ),
    ),
    Question(
        id="m03_exercise.net_disbursed",
        kind="number",
        expected=_net_disbursed,
        tolerance=0.01,
        hints=(
            "Deduct from the 1,000 everything the client does not have in hand on the day: "
            "the upfront fee, the insurance premium and the compulsory savings.",
            "The products table gives them as fractions of the amount: "
            "1000 x (1 - fee - insurance - savings), for the product easy_id.",
        ),
        computed_mistakes=(
            (lambda: _net_disbursed(with_savings=False),
             "The compulsory savings come back only at the end: until then they are not cash "
             "in hand, so deduct them too."),
            (lambda: PRICED_AMOUNT, "Some charges are deducted before the client gets the cash."),
        ),
    ),
    Question(
        id="m03_exercise.easy_flows",
        kind="numbers",
        expected=_easy_flows,
        tolerance=0.01,
        hints=(
            "Price the product's longest term (max_term instalments) with every charge the "
            "products table lists: fee, fee per payment, insurance, compulsory savings (and "
            "their interest), tax on interest.",
            "pricing.loan_flows(1000, max_term, periods_per_year, rate_yearly, method=..., "
            "upfront_fee=..., ...) takes each of these from the product's row.",
        ),
        computed_mistakes=(
            (_flows_without_savings,
             "The compulsory savings are missing: they reduce the cash received and come back "
             "with the last instalment."),
        ),
    ),
    Question(
        id="m03_exercise.easy_apr",
        kind="number",
        expected=_easy_apr,
        tolerance=0.0005,
        hints=(
            "The APR is the rate of the flows themselves, with every charge, not a rate from "
            "the products table.",
            "pricing.apr(easy_flows, periods_per_year): the periodic rate of the flows times "
            "the periods in a year, as a fraction.",
        ),
        computed_mistakes=(
            (_advertised_yearly,
             "That is the advertised yearly rate (12 x the monthly rate): the true APR counts "
             "the fees, insurance and savings too."),
            (_apr_without_savings,
             "That APR leaves the compulsory savings out of the flows."),
        ),
    ),
    Question(
        id="m03_exercise.easy_eir",
        kind="number",
        expected=_eir_from,
        tolerance=1e-6,
        depends_on=("apr",),
        hints=(
            "Start from your easy_apr: divide it by the product's periods_per_year to get the "
            "periodic rate.",
            "Compound the periodic rate over the periods of one year: "
            "(1 + periodic rate) ** periods - 1.",
        ),
        computed_mistakes=(
            (_same_as_apr,
             "The EIR equals the APR only without compounding: let the interest of each period "
             "earn interest."),
        ),
    ),
    Question(
        id="m03_exercise.largest_gap_product",
        kind="text",
        expected=_largest_gap_product,
        hints=(
            "For every product, price a loan of 1,000 over max_term with all its charges and "
            "compare its APR with 12 x advertised_rate_monthly.",
            "transparency.product_costs(products, term='max') has a gap column (APR minus "
            "advertised yearly rate): take the product with the largest gap.",
        ),
        computed_mistakes=(
            (_highest_advertised_product,
             "That product has the highest advertised rate; the question asks which true APR "
             "is furthest above its advertised rate."),
        ),
    ),
    Question(
        id="m03_exercise.kfs_share",
        kind="number",
        expected=_kfs_share,
        tolerance=1e-9,
        depends_on=("product_id",),
        hints=(
            "Keep the loans of your largest_gap_product only (loans['product_id']).",
            "The mean of their key_facts_given column is the share given a Key Facts "
            "Statement; give a fraction.",
        ),
        computed_mistakes=(
            (_kfs_share_all_products,
             "That is the share over the loans of every product: keep the loans of "
             "largest_gap_product only."),
        ),
    ),
    Question(
        id="m03_exercise.loans_without_kfs",
        kind="number",
        expected=_without_kfs,
        depends_on=("product_id",),
        hints=(
            "Keep the loans of your largest_gap_product only.",
            "Count those whose key_facts_given is False: (~given).sum().",
        ),
        computed_mistakes=(
            (_with_kfs, "That counts the loans given a Key Facts Statement; count those "
                        "without one."),
            (_without_kfs_all_products,
             "That counts the loans of every product: keep those of largest_gap_product only."),
        ),
    ),
]
