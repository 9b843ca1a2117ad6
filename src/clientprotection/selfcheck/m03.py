"""Check-your-understanding questions of module 03 (transparency).

Fixed answers are stored as salted hashes (see :func:`clientprotection.selfcheck.hash_answer`);
answers about the MFI are computed from the data, with the pricing engine, when the question is
checked.
"""

from __future__ import annotations

from clientprotection.selfcheck import Question


def _mfi():
    from clientprotection import load_mfi

    return load_mfi()


def _largest_gap_product() -> str:
    """The product whose true APR is furthest above its advertised yearly rate."""
    from clientprotection.explorers.transparency import product_costs

    mfi = _mfi()
    return str(product_costs(mfi["products"], mfi["loans"]).index[0])


def _key_facts_share() -> float:
    """Share of that product's loans given a Key Facts Statement before signing."""
    loans = _mfi()["loans"]
    of_product = loans[loans["product_id"].astype(str) == _largest_gap_product()]
    return float(of_product["key_facts_given"].to_numpy(dtype=bool).mean())


QUESTIONS: list[Question] = [
    Question(
        id="m03.flat_interest",
        kind="number",
        expected="d1fc83e63d6828bc6ae5db0702c7ae0d47a3369bf36847ef72436fc55b2042cf",
        decimals=0,
        hints=(
            "Flat interest is charged on the original amount for the whole term, whatever has "
            "been repaid.",
            "Amount x yearly rate x the loan's length in years.",
        ),
        common_mistakes={
            "d4c7c49833c24bfee623d04fa91cf7409d281d2ed0d998af63fccecc3c2c6460":
                "That is the interest on the declining balance. A flat rate does not fall as "
                "the balance is repaid.",
            "e816411b7e132646a3033b4cdd2db12f8ad9a54b116687099ab280fdbd417302":
                "24 is the rate in percent; the question asks for the interest in money.",
        },
    ),
    Question(
        id="m03.eir_from_monthly",
        kind="number",
        expected="1520efdfa0adb502e534b224a3305954e26512e7c562ffc6b4491243c0a3a182",
        decimals=3,
        hints=(
            "The EIR compounds the periodic rate: (1 + periodic rate) ** periods per year - 1.",
            "Here the periodic rate is 0.02 and there are 12 periods in a year.",
        ),
        common_mistakes={
            "ec0f123ecf6945aaf674047a24d96afbe6bfa0bc8e6eed1d46263c8e82e19962":
                "0.24 is the APR (2% x 12). The EIR lets interest earn interest.",
            "70fdd4c4c9738fa312c731e5ac1ead75f25b44f9c519da1c54a66ed213bfdf32":
                "Give a fraction (0.25 for 25%), not a percentage.",
        },
    ),
    Question(
        id="m03.savings_raise_apr",
        kind="choice",
        expected="4be0fde47239b326934c06c87a7b5ff6bcdb1229e023f9f5ae21dd71978f5b59",
        hints=(
            "MFTransparency: any requirement that reduces the money available to the client is "
            "a cost.",
            "She pays interest on the whole amount but only has part of it in hand until the "
            "end.",
        ),
        common_mistakes={
            "248d4a81a9b0aa5cd9eec52bf5a3b13081c6fc1a201e8fe0d10ce0210cee202a":
                "The savings come back, but only with the last instalment: in the meantime she "
                "pays for money she cannot use.",
        },
    ),
    Question(
        id="m03.apr_includes",
        kind="choices",
        expected="799ea34b20e34e3203420eb9f46a236dd5bac8144d802e556f4dcd7f352e850f",
        hints=(
            "The APR counts everything the client must pay to get the loan, to the lender or "
            "to a third party.",
            "A charge that depends on what the client does later is listed separately, as a "
            "contingent charge.",
        ),
        common_mistakes={
            "1a800a039ca843d0d740ed418ef8b98e5d8bc11dd8e497b2de1e833182419c30":
                "The RBI's 2022 directions count charges paid to third parties, such as a "
                "compulsory insurance premium, in the APR.",
            "1cd0d254e362d7f304d50d189acb1dcfe032b29ecc1ea4f1cd1ee019e3175fd1":
                "A late-payment penalty is not paid by a client who repays on time: it is "
                "disclosed, but not in the APR.",
            "2a9ae0bdf161106ca00e9e4bac59caf59cc5326ab7e31cd8a043b3845b7b18f7":
                "An APR of interest alone is just the nominal rate: what else must every "
                "client pay?",
        },
    ),
    Question(
        id="m03.largest_gap",
        kind="text",
        expected=_largest_gap_product,
        hints=(
            "Compare each product's true APR with 12 x its advertised monthly rate.",
            "explorers.transparency.product_costs(products, loans) sorts the products by that "
            "gap; give the product_id of the first row.",
        ),
    ),
    Question(
        id="m03.key_facts_share",
        kind="number",
        expected=_key_facts_share,
        tolerance=0.0005,
        hints=(
            "Keep the loans of that product only (loans['product_id']).",
            "The mean of the True/False column key_facts_given is the share given; give a "
            "fraction.",
        ),
    ),
]
