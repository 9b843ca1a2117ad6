"""Check-your-understanding questions of module 02 (prevention of over-indebtedness).

Fixed answers are stored as salted hashes (see :func:`clientprotection.selfcheck.hash_answer`);
answers about the MFI are computed from the data when the question is checked.
"""

from __future__ import annotations

from clientprotection.selfcheck import Question


def _loans():
    from clientprotection import load_mfi

    return load_mfi()["loans"]


def _share_insolvent_at_approval() -> float:
    from clientprotection.indebtedness import LIV_INSOLVENT

    dsr = _loans()["dsr_at_approval"].dropna()
    return float((dsr > LIV_INSOLVENT).mean())


def _volume_branch() -> str:
    from clientprotection import load_mfi

    branches = load_mfi()["branches"]
    ids = branches.loc[branches["incentive_scheme"] == "disbursement_volume", "branch_id"]
    if len(ids) != 1:
        raise ValueError("this question expects exactly one branch paid on disbursement volume")
    return str(ids.iloc[0])


def _volume_branch_par30() -> float:
    from clientprotection.portfolio import par

    loans = _loans()
    return float(par(loans[loans["branch_id"] == _volume_branch()], 30))


QUESTIONS: list[Question] = [
    Question(
        id="m02.liv_band",
        kind="choice",
        expected="4be0fde47239b326934c06c87a7b5ff6bcdb1229e023f9f5ae21dd71978f5b59",
        hints=(
            "First compute the debt-service ratio: instalments over net income.",
            "Liv (2013): 75% or less is solvent, above 75% up to 100% at risk, above 100% "
            "insolvent.",
        ),
        common_mistakes={
            "248d4a81a9b0aa5cd9eec52bf5a3b13081c6fc1a201e8fe0d10ce0210cee202a":
                "Divide 340 by 400: is the ratio really 75% or less?",
            "e3305c232439261127cbc93cc9c2a7a92615a9766818470d11a6d9e4ca98a57e":
                "The household still pays less than its whole net income in instalments.",
        },
    ),
    Question(
        id="m02.rbi_cap",
        kind="number",
        expected="050f924db8362854ee31e8575f67bab0df5eb8dc2f5e8ada955182c5a157ad6f",
        decimals=0,
        hints=(
            "The RBI rule of 2022 caps loan repayments as a share of household income.",
            "The cap is half of the monthly household income.",
        ),
        common_mistakes={
            "0368df334598aee8e1eae29bc8d7eabdb7b5afc133c95a0980341c0675d50d9e":
                "75% is Liv's threshold on net income, not the RBI cap.",
        },
    ),
    Question(
        id="m02.share_insolvent",
        kind="number",
        expected=_share_insolvent_at_approval,
        tolerance=0.0005,
        hints=(
            "Use loans['dsr_at_approval'] and Liv's insolvency threshold.",
            "Insolvent means strictly above 1.00; the mean of a True/False Series is a share.",
        ),
    ),
    Question(
        id="m02.volume_branch",
        kind="text",
        expected=_volume_branch,
        hints=(
            "The branches table says how each branch's officers earn their bonus.",
            "Filter branches on incentive_scheme == 'disbursement_volume' and give its "
            "branch_id.",
        ),
    ),
    Question(
        id="m02.volume_branch_par30",
        kind="number",
        expected=_volume_branch_par30,
        tolerance=0.0005,
        hints=(
            "Keep the loans of that branch only, then use clientprotection.portfolio.par.",
            "PAR30 counts the whole outstanding balance of late and restructured loans over "
            "the outstanding of all active loans; give a fraction.",
        ),
    ),
    Question(
        id="m02.multiple_vs_over",
        kind="choice",
        expected="248d4a81a9b0aa5cd9eec52bf5a3b13081c6fc1a201e8fe0d10ce0210cee202a",
        hints=(
            "Over-indebtedness is about repayment capacity; multiple borrowing is a risk "
            "factor.",
            "Put her 40% into Liv's bands before judging by the number of lenders.",
        ),
        common_mistakes={
            "4be0fde47239b326934c06c87a7b5ff6bcdb1229e023f9f5ae21dd71978f5b59":
                "Having several lenders is not, by itself, over-indebtedness (Center for "
                "Financial Inclusion): check her debt service against her income.",
        },
    ),
    Question(
        id="m02.par_numerator",
        kind="choices",
        expected="79abb3a1be6af27a346b76ab873b994860478268426d643c63b27976a9c3a173",
        hints=(
            "PAR measures the risk to the balance still out with clients, today.",
            "SEEP: the whole balance of a late loan counts, and renegotiated loans count "
            "whatever their arrears; a repaid loan has no balance.",
        ),
        common_mistakes={
            "2a9ae0bdf161106ca00e9e4bac59caf59cc5326ab7e31cd8a043b3845b7b18f7":
                "Restructuring a loan does not remove its risk: SEEP counts renegotiated loans.",
            "799ea34b20e34e3203420eb9f46a236dd5bac8144d802e556f4dcd7f352e850f":
                "PAR takes the whole outstanding balance of a late loan, not just the "
                "overdue instalments (that would be the arrears rate).",
        },
    ),
]
