"""The synthetic microfinance institution: scenario files in, linked tables out.

>>> from clientprotection.synth import generate, load_scenario
>>> scenario = load_scenario("default")
>>> mfi = generate(scenario, n_clients=300)
>>> mfi.tables["loans"].columns[0], mfi.seed == scenario.seed
('loan_id', True)
"""

from __future__ import annotations

from clientprotection.synth.generator import GeneratedMFI, generate
from clientprotection.synth.scenario import (
    Branch,
    Institution,
    Lender,
    Problem,
    Product,
    Scenario,
    load_scenario,
    scenarios_dir,
)

__all__ = [
    "Branch",
    "GeneratedMFI",
    "Institution",
    "Lender",
    "Problem",
    "Product",
    "Scenario",
    "generate",
    "load_scenario",
    "scenarios_dir",
]
