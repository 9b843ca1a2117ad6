"""The course map: modules, the client protection principle each teaches, and its assignment.

One place for the names so that the landing page, the grading reports and the tests agree.

Examples
--------
>>> from clientprotection.principles import MODULES, module_for_grade_id
>>> MODULES["03"].principle
'Transparency'
>>> module_for_grade_id("m03_apr_flat_answer").number
'03'
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Module:
    number: str  # "00".."08"
    slug: str  # file stem after the number, e.g. "over-indebtedness"
    title: str
    principle: str  # the 2011 principle it teaches ("" for the introduction and the capstone)
    standard: str  # where the principle lives in the Universal Standards today

    @property
    def notebook(self) -> str:
        return f"course/modules/{self.number}-{self.slug}.ipynb"

    @property
    def assignment(self) -> str:
        """nbgrader assignment name, e.g. ``m02-over-indebtedness``."""
        return f"m{self.number}-{self.slug}"


MODULES: dict[str, Module] = {
    m.number: m
    for m in (
        Module("00", "introduction", "Introduction: the campaign and the MFI", "", ""),
        Module("01", "product-design", "Appropriate product design and delivery",
               "Appropriate product design and delivery", "Dimension 4 (client-centred design)"),
        Module("02", "over-indebtedness", "Prevention of over-indebtedness",
               "Prevention of over-indebtedness", "4A"),
        Module("03", "transparency", "Transparency", "Transparency", "4B"),
        Module("04", "responsible-pricing", "Responsible pricing", "Responsible pricing",
               "Dimension 6"),
        Module("05", "fair-treatment", "Fair and respectful treatment of clients",
               "Fair and respectful treatment of clients", "4C"),
        Module("06", "privacy", "Privacy of client data", "Privacy of client data", "4D"),
        Module("07", "complaints", "Mechanisms for complaint resolution",
               "Mechanisms for complaint resolution", "4E"),
        Module("08", "capstone", "Capstone: a client-protection assessment", "", ""),
    )
}

_GRADE_ID = re.compile(r"^m(\d\d)_")


def module_for_grade_id(grade_id: str) -> Module:
    """The module an nbgrader grade id (``mNN_<topic>_<kind>``) belongs to."""
    match = _GRADE_ID.match(grade_id)
    if not match or match.group(1) not in MODULES:
        raise ValueError(
            f"grade id {grade_id!r} does not start with a module prefix such as 'm02_'"
        )
    return MODULES[match.group(1)]


def module_for_assignment(assignment: str) -> Module:
    """The module of an assignment name such as ``m03-transparency``."""
    for module in MODULES.values():
        if module.assignment == assignment:
            return module
    known = ", ".join(m.assignment for m in MODULES.values() if m.number != "00")
    raise ValueError(f"unknown assignment {assignment!r}; known assignments: {known}")
