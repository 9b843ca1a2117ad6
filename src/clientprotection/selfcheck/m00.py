"""Check-your-understanding questions of module 00 (introduction).

Fixed answers are stored as salted hashes (see :func:`clientprotection.selfcheck.hash_answer`);
answers about the MFI are computed from the data or the schema when the question is checked.
"""

from __future__ import annotations

from clientprotection.selfcheck import Question


def _women_share() -> float:
    from clientprotection import load_mfi

    clients = load_mfi()["clients"]
    return float((clients["gender"] == "female").mean())


# options of the question "which columns of the clients table are personal data?"
PERSONAL_DATA_OPTIONS = {
    "a": "name",
    "b": "gender",
    "c": "phone",
    "d": "monthly_income",
    "e": "national_id",
    "f": "business_type",
}


def _personal_data_options() -> set[str]:
    from clientprotection.schema import TABLES

    personal = {f.name for f in TABLES["clients"].fields if f.personal}
    return {letter for letter, column in PERSONAL_DATA_OPTIONS.items() if column in personal}


QUESTIONS: list[Question] = [
    Question(
        id="m00.principles_2011",
        kind="number",
        expected="0193318aec1cb700ca91bf2948dcc4e176aa4dd9b8e7617da59a6c8ac7c965c2",
        decimals=0,
        hints=(
            "Look at the list of principles in the section on the campaign's history.",
            "Count the principles of the 2011 revision, not of the 2008 original.",
        ),
        common_mistakes={
            "f2ef50874003d011c55d709cba6dc289112d726de69bdcdc70f940b2f31a8c48":
                "That is the 2008 list. The 2011 revision split one principle out and "
                "reorganised the others.",
        },
    ),
    Question(
        id="m00.new_in_2011",
        kind="choice",
        expected="e3305c232439261127cbc93cc9c2a7a92615a9766818470d11a6d9e4ca98a57e",
        hints=(
            "Compare the 2008 list with the 2011 list, principle by principle.",
            "Privacy and complaints (redress of grievances) were there from the start.",
        ),
        common_mistakes={
            "4be0fde47239b326934c06c87a7b5ff6bcdb1229e023f9f5ae21dd71978f5b59":
                "Avoidance of over-indebtedness was the first of the six principles of 2008.",
        },
    ),
    Question(
        id="m00.certification_retired",
        kind="number",
        expected="fa3ae9d9837416d5839c779ed238d133d88abe50ae313a2b36282e2884ff137d",
        decimals=0,
        hints=(
            "The timeline in the case study gives the start and the end of Smart Certification.",
            "The last certificates were awarded some months after the decision to retire it.",
        ),
        common_mistakes={
            "c1efb687ddd96799967d29b012eebcf109a7acf4e0b613bbd19980982483ce98":
                "The last awards were made by April 2021; the certification was retired the "
                "year before.",
            "796ef582f52f22c04d0669e8c2fd75d77f3432fff3c676445f8fcc70d9642ccf":
                "That is when certification started.",
        },
    ),
    Question(
        id="m00.dimension",
        kind="number",
        expected="cccf70bc69ff1f24ce6a5312723dd8845cc2badb26b486aa2aff4632d5e50012",
        decimals=0,
        hints=(
            "The Universal Standards are organised in dimensions; one is named 'Client "
            "Protection'.",
            "Its sections are lettered 4A to 4E.",
        ),
        common_mistakes={
            "f2ef50874003d011c55d709cba6dc289112d726de69bdcdc70f940b2f31a8c48":
                "Dimension 6 (responsible growth and returns) holds pricing, not client "
                "protection as a whole.",
        },
    ),
    Question(
        id="m00.women_share",
        kind="number",
        expected=_women_share,
        tolerance=0.005,
        hints=(
            "Use the clients table and its gender column.",
            "The share of True values of a comparison is its mean: "
            "(clients['gender'] == 'female').mean().",
        ),
    ),
    Question(
        id="m00.personal_data",
        kind="choices",
        expected=_personal_data_options,
        hints=(
            "Personal data identify a person directly or can be used to reach them.",
            "Income and business type describe the household but do not name or reach it; "
            "look at the data dictionary (the schema marks personal columns).",
        ),
    ),
]
