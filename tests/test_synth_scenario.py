"""Scenario files: loading, overrides and the promised error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clientprotection.errors import ScenarioError
from clientprotection.synth import load_scenario, scenarios_dir

DEFAULT = scenarios_dir() / "default.toml"


def test_both_committed_scenarios_load():
    for name in ("default", "crisis"):
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.n_clients > 1000
        assert scenario.snapshot_date > scenario.start_date
        assert set(scenario.problems) >= {"seasonal_product", "over_indebtedness",
                                          "hidden_costs", "pricing_outlier", "harsh_collection",
                                          "approval_gap", "unauthorised_access",
                                          "consent_violation", "complaints_backlog",
                                          "pricing_complaints"}


def test_every_principle_has_a_planted_problem():
    principles = {p.principle for p in load_scenario("default").problems.values()}
    assert principles == set(range(1, 8))


def test_to_dict_is_json_and_round_trips_through_overrides():
    scenario = load_scenario("default")
    data = scenario.to_dict()
    json.dumps(data)
    assert data["institution"]["currency"] == scenario.currency
    same = scenario.with_overrides({})
    assert same == scenario


def test_overrides_change_one_key_and_are_validated():
    scenario = load_scenario("default")
    off = scenario.with_overrides({"problems.approval_gap.enabled": False,
                                   "market.lenders.0.weight": 3})
    assert off.problems["approval_gap"].enabled is False
    assert off.problems["approval_gap"].effect == 0
    assert off.lenders[0].weight == 3.0
    assert scenario.problems["approval_gap"].enabled is True  # the original is unchanged
    with pytest.raises(ScenarioError, match=r"problems\.approval_gap\.strength"):
        scenario.with_overrides({"problems.approval_gap.strength": -1})
    with pytest.raises(ScenarioError, match="unknown key"):
        scenario.with_overrides({"problems.approval_gap.enabledd": False})


def test_path_name_and_env_lookup(tmp_path, monkeypatch):
    copy = tmp_path / "mine.toml"
    copy.write_text(DEFAULT.read_text())
    assert load_scenario(copy).name == "mine"
    monkeypatch.setenv("CPCOURSE_SCENARIOS", str(tmp_path))
    assert load_scenario("mine").source == str(copy)
    with pytest.raises(ScenarioError, match="no scenario named 'nope'.*mine"):
        load_scenario("nope")


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT.read_text()
    assert old in text, old
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1))
    return path


BAD = [
    # (text to replace, replacement, pattern the message must contain)
    ("seed = 20240101", "seed = 20240101\nsede = 3",
     r"unknown key institution\.sede"),
    ("upfront_fee = 0.01\nfee_per_payment = 0.0\ninsurance = 0.01\ncompulsory_savings = 0.05",
     "fee_per_payment = 0.0\ninsurance = 0.01\ncompulsory_savings = 0.05",
     r"missing key products\.P3\.upfront_fee"),
    ('currency = "KLD"', "currency = 12", r"institution\.currency = 12 .*string"),
    ("min_amount = 300.0", "min_amount = -300.0",
     r"products\.P2\.min_amount = -300\.0 .*0 or more"),
    ("consent_share = 0.93", "consent_share = 1.5",
     r"institution\.consent_share = 1\.5 .*from 0 to 1"),
    ("min_term = 16", "min_term = 30", r"products\.P3\.min_term = 30 .*at most"),
    ("min_term = 16", "min_term = 0", r"products\.P3\.min_term = 0 .*1 or more"),
    ("min_term = 16", "min_term = 16.5", r"products\.P3\.min_term = 16\.5 .*whole number"),
    ('product = "P3"\nupfront_fee', 'product = "P9"\nupfront_fee',
     r"problems\.hidden_costs\.product = 'P9' .*P1"),
    ('branch = "B04"', 'branch = "B99"', r"problems\.over_indebtedness\.branch = 'B99'"),
    ('branches = ["B02", "B05"]', 'branches = ["B02", "X5"]',
     r"problems\.harsh_collection\.branches\[1\] = 'X5'"),
    ('enabled = true\nstrength = 1.0\nprinciple = 6\ndescription = "The credit',
     'enabled = "yes"\nstrength = 1.0\nprinciple = 6\ndescription = "The credit',
     r"problems\.consent_violation\.enabled = 'yes' .*true or false"),
    ("periods_per_year = 12\ninterest_method = \"declining\"\nrate_yearly = 0.32",
     "periods_per_year = 52\ninterest_method = \"declining\"\nrate_yearly = 0.32",
     r"products\.P2\.periods_per_year = 52 .*12 for frequency 'monthly'"),
    ('frequency = "monthly"                  # source',
     'frequency = "daily"                  # source',
     r"products\.P2\.frequency = 'daily' .*'weekly'"),
    ("snapshot_date = 2024-12-31", "snapshot_date = 2021-12-31",
     r"institution\.snapshot_date = '2021-12-31'"),
    ('type = "digital"', 'type = "loan_shark"', r"market\.lenders\[3\]\.type = 'loan_shark'"),
    ("hotline = 3,", "hotlines = 3,", r"unknown key complaints\.channels\.hotlines"),
]


@pytest.mark.parametrize(("old", "new", "pattern"), BAD)
def test_bad_scenarios_name_the_key_value_and_what_is_allowed(tmp_path, old, new, pattern):
    with pytest.raises(ScenarioError) as info:
        load_scenario(_variant(tmp_path, old, new))
    assert re.search(pattern, str(info.value)), str(info.value)


def test_invalid_toml_and_missing_file(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[institution\nname = 1")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(tmp_path / "absent.toml")
