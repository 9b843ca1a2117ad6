"""Scenario files: load, validate and override the settings of the synthetic MFI.

A scenario is a TOML file (see ``datasets/scenarios/README.md`` for the format). Every key is
checked on load: an unknown or missing key, a wrong type, a negative amount, a share outside
0..1, an impossible term or an unknown branch or product reference raises
:class:`clientprotection.errors.ScenarioError` naming the key path, the value and what is
allowed.

Examples
--------
>>> from clientprotection.synth import load_scenario
>>> scenario = load_scenario("default")
>>> scenario.currency
'KLD'
>>> quiet = scenario.with_overrides({"problems.hidden_costs.enabled": False})
>>> quiet.problems["hidden_costs"].enabled
False
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from clientprotection.errors import ScenarioError

__all__ = [
    "Branch",
    "Institution",
    "Lender",
    "Problem",
    "Product",
    "Scenario",
    "load_scenario",
    "scenarios_dir",
]

FREQUENCY_PERIODS = {"weekly": 52, "fortnightly": 26, "monthly": 12, "balloon": 12}
INCENTIVES = ("fixed_salary", "portfolio_quality", "disbursement_volume")
CHANNELS = ("hotline", "branch_desk", "suggestion_box", "sms", "loan_officer", "social_media")
CATEGORIES = ("collection_practices", "staff_conduct", "pricing_fees", "insurance_claim",
              "service_delay", "data_privacy", "fraud", "other")
LENDER_TYPES = ("mfi", "bank", "cooperative", "digital")

# --------------------------------------------------------------------------- the key checks
# A leaf check is (description of what is allowed, predicate on the parsed value, converter).


@dataclass(frozen=True)
class _Leaf:
    allowed: str
    check: Callable[[Any], bool]
    convert: Callable[[Any], Any] = lambda v: v


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _to_date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(v)


def _is_date(v: Any) -> bool:
    if isinstance(v, dt.date):
        return True
    if isinstance(v, str):
        try:
            dt.date.fromisoformat(v)
        except ValueError:
            return False
        return True
    return False


TEXT = _Leaf("a non-empty string", lambda v: isinstance(v, str) and v.strip() != "")
BOOL = _Leaf("true or false", lambda v: isinstance(v, bool))
DATE = _Leaf("a date such as 2024-12-31", _is_date, _to_date)
SHARE = _Leaf("a number from 0 to 1", lambda v: _is_num(v) and 0 <= v <= 1, float)
MONEY = _Leaf("a number of 0 or more", lambda v: _is_num(v) and v >= 0, float)
POSITIVE = _Leaf("a number greater than 0", lambda v: _is_num(v) and v > 0, float)
RATE = _Leaf("a yearly rate from 0 to 5 (a fraction: 0.3 means 30%)",
             lambda v: _is_num(v) and 0 <= v <= 5, float)
STRENGTH = _Leaf("a number from 0 to 3 (1 = as described)",
                 lambda v: _is_num(v) and 0 <= v <= 3, float)
MULTIPLIER = _Leaf("a number of 1 or more", lambda v: _is_num(v) and v >= 1, float)
COUNT = _Leaf("a whole number of 0 or more",
              lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0)
POSINT = _Leaf("a whole number of 1 or more",
               lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1)
MONTHS = _Leaf("a non-empty list of month numbers 1 to 12",
               lambda v: isinstance(v, list) and len(v) > 0 and all(
                   isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in v),
               tuple)
NAMES = _Leaf("a non-empty list of non-empty strings",
              lambda v: isinstance(v, list) and len(v) > 0 and all(
                  isinstance(s, str) and s.strip() for s in v), tuple)
WEIGHTS_NOTE = "a table of name = weight (weights of 0 or more, at least one above 0)"


def _choice(*options: str) -> _Leaf:
    return _Leaf("one of " + ", ".join(repr(o) for o in options),
                 lambda v: isinstance(v, str) and v in options)


def _ref(kind: str) -> _Leaf:
    # the existence of the referenced id is checked after the sections are parsed
    return _Leaf(f"the id of a {kind} defined in [{kind}es]" if kind == "branch"
                 else f"the id of a {kind} defined in [{kind}s]", lambda v: isinstance(v, str))


@dataclass(frozen=True)
class _Weights:
    options: tuple[str, ...]


INSTITUTION = {
    "name": TEXT, "country": TEXT, "currency": TEXT,
    "start_date": DATE, "snapshot_date": DATE, "seed": COUNT, "n_clients": POSINT,
    "client_growth": MONEY,
    "group_client_share": SHARE, "farmer_share_rural": SHARE, "farmer_share_urban": SHARE,
    "women_share_group": SHARE, "women_share_individual": SHARE,
    "rural_share_rural_branch": SHARE, "rural_share_urban_branch": SHARE,
    "minority_share": SHARE, "consent_share": SHARE,
    "income_median_rural": POSITIVE, "income_median_urban": POSITIVE,
    "income_dispersion": POSITIVE, "expense_share_min": SHARE, "expense_share_max": SHARE,
    "group_size_min": POSINT, "group_size_max": POSINT,
}
BRANCH = {"name": TEXT, "region": TEXT, "rural": BOOL, "opened_on": DATE,
          "incentive_scheme": _choice(*INCENTIVES), "client_weight": POSITIVE}
OFFICERS = {"group_caseload": POSINT, "individual_caseload": POSINT,
            "managers_per_branch": COUNT, "head_office_staff": POSINT}
PRODUCT = {
    "name": TEXT, "methodology": _choice("group", "individual"),
    "purpose": _choice("business", "agriculture", "consumption", "housing"),
    "frequency": _choice(*FREQUENCY_PERIODS), "periods_per_year": POSINT,
    "interest_method": _choice("flat", "declining"), "rate_yearly": RATE,
    "upfront_fee": SHARE, "fee_per_payment": SHARE, "insurance": SHARE,
    "compulsory_savings": SHARE, "savings_interest": SHARE, "tax_on_interest": SHARE,
    "min_term": POSINT, "max_term": POSINT, "min_amount": MONEY, "max_amount": MONEY,
    "advertised_rate_monthly": SHARE, "advertised_text": TEXT, "launched_on": DATE,
    "weight": MONEY, "base_default": SHARE,
}
LENDING = {
    "max_dsr": POSITIVE, "dsr_compliance": SHARE, "max_other_lenders": COUNT,
    "bureau_check_share": SHARE, "kfs_share": SHARE, "first_loan_dsr": SHARE,
    "growth_clean_min": MONEY, "growth_clean_max": MONEY, "dropout_per_cycle": SHARE,
    "reapply_after_rejection": SHARE, "gap_days_max": COUNT, "writeoff_after_days": POSINT,
    "restructure_share": SHARE, "cure_share": SHARE, "late_payment_share": SHARE,
    "min_score": MONEY, "incomplete_documents_share": SHARE,
}
RISK = {"dsr_effect": MONEY, "stress_start": DATE, "stress_multiplier": MULTIPLIER}
LENDER = {"name": TEXT, "type": _choice(*LENDER_TYPES), "weight": POSITIVE}
MARKET = {"share_borrowing_elsewhere": SHARE, "bureau_coverage": SHARE,
          "self_declared_share": SHARE, "lenders": [LENDER]}
COMPLAINTS = {"per_1000_clients_year": MONEY, "acknowledge_target_days": POSINT,
              "resolve_target_days": POSINT, "channels": _Weights(CHANNELS),
              "categories": _Weights(CATEGORIES)}
ACCESS = {"audit_events_per_month": COUNT, "service_views_per_complaint": COUNT,
          "stray_event_share": SHARE}
NAMES_SECTION = {"female": NAMES, "male": NAMES, "surnames": NAMES, "villages": NAMES}

_COMMON_PROBLEM = {"enabled": BOOL, "strength": STRENGTH, "principle": POSINT,
                   "description": TEXT}
PROBLEMS = {
    "seasonal_product": {"product": _ref("product"), "lean_months": MONTHS,
                         "arrears_multiplier": MULTIPLIER, "extra_dropout": SHARE},
    "over_indebtedness": {"branch": _ref("branch"), "growth_min": MONEY, "growth_max": MONEY,
                          "dsr_compliance": SHARE, "bureau_check_share": SHARE,
                          "extra_borrowing_elsewhere": SHARE, "default_multiplier": MULTIPLIER},
    "hidden_costs": {"product": _ref("product"), "upfront_fee": SHARE, "insurance": SHARE,
                     "compulsory_savings": SHARE, "kfs_missing_share": SHARE},
    "pricing_outlier": {"product": _ref("product"), "rate_yearly": RATE},
    "harsh_collection": {"branches": NAMES, "officers_per_branch": POSINT,
                         "outside_hours_share": SHARE, "harsh_method_share": SHARE,
                         "complaint_share": SHARE},
    "approval_gap": {"group": _choice("minority", "majority"), "extra_rejection": SHARE},
    "unauthorised_access": {"branch": _ref("branch"), "records": COUNT, "night_share": SHARE,
                            "export_share": SHARE},
    "consent_violation": {"checked_share": SHARE},
    "complaints_backlog": {"branch": _ref("branch"), "channel": _choice(*CHANNELS),
                           "unacknowledged_share": SHARE, "delay_multiplier": MULTIPLIER},
    "pricing_complaints": {"product": _ref("product"), "complaint_share": SHARE},
}

SECTIONS: dict[str, Any] = {
    "institution": INSTITUTION, "officers": OFFICERS, "lending": LENDING, "risk": RISK,
    "market": MARKET, "complaints": COMPLAINTS, "access_log": ACCESS, "names": NAMES_SECTION,
}
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _fail(path: str, value: Any, allowed: str) -> ScenarioError:
    return ScenarioError(f"{path} = {value!r} is not valid: expected {allowed}.")


def _check_keys(data: Any, spec: Mapping[str, Any], path: str) -> None:
    where = path or "the top level"
    if not isinstance(data, dict):
        raise _fail(path, data, f"a table with the keys {', '.join(spec)}")
    unknown = [k for k in data if k not in spec]
    if unknown:
        raise ScenarioError(
            f"unknown key {_join(path, unknown[0])} (in {where}): allowed keys are "
            f"{', '.join(spec)}. Check the spelling against datasets/scenarios/README.md.")
    missing = [k for k in spec if k not in data]
    if missing:
        raise ScenarioError(
            f"missing key {_join(path, missing[0])} (in {where}): add it; see "
            "datasets/scenarios/README.md for its meaning and allowed values.")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _validate(data: Any, spec: Any, path: str) -> Any:
    if isinstance(spec, _Leaf):
        if not spec.check(data):
            raise _fail(path, data, spec.allowed)
        return spec.convert(data)
    if isinstance(spec, _Weights):
        if not isinstance(data, dict) or not data:
            raise _fail(path, data, WEIGHTS_NOTE)
        for key, weight in data.items():
            if key not in spec.options:
                raise ScenarioError(f"unknown key {path}.{key}: allowed names are "
                                    f"{', '.join(spec.options)}.")
            if not _is_num(weight) or weight < 0:
                raise _fail(f"{path}.{key}", weight, "a weight of 0 or more")
        if sum(data.values()) <= 0:
            raise _fail(path, data, WEIGHTS_NOTE)
        return {k: float(v) for k, v in data.items()}
    if isinstance(spec, list):
        if not isinstance(data, list) or not data:
            raise _fail(path, data, "a non-empty array of tables ([[...]] entries)")
        return [_validate(item, spec[0], f"{path}[{i}]") for i, item in enumerate(data)]
    _check_keys(data, spec, path)
    return {k: _validate(data[k], s, _join(path, k)) for k, s in spec.items()}


def _validate_keyed(data: Any, spec: Mapping[str, Any], path: str, kind: str) -> dict:
    if not isinstance(data, dict) or not data:
        raise _fail(path, data, f"one or more [{path}.<id>] tables, one per {kind}")
    out = {}
    for key, item in data.items():
        if not _ID.match(key):
            raise _fail(f"{path}.{key}", key, "an id of letters, digits and _ (e.g. B01, P1)")
        out[key] = _validate(item, spec, f"{path}.{key}")
    return out


def validate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check a parsed scenario and return it normalised (dates as dates, numbers as floats).

    Raises
    ------
    ScenarioError
        With the key path, the value and what is allowed.
    """
    top = {**SECTIONS, "branches": None, "products": None, "problems": None}
    _check_keys(raw, top, "")
    out: dict[str, Any] = {}
    for name, spec in SECTIONS.items():
        out[name] = _validate(raw[name], spec, name)
    out["branches"] = _validate_keyed(raw["branches"], BRANCH, "branches", "branch")
    out["products"] = _validate_keyed(raw["products"], PRODUCT, "products", "product")
    problems = raw["problems"]
    _check_keys(problems, PROBLEMS, "problems")
    out["problems"] = {
        name: _validate(problems[name], {**_COMMON_PROBLEM, **extra}, f"problems.{name}")
        for name, extra in PROBLEMS.items()
    }
    _cross_checks(out)
    return out


def _cross_checks(s: dict[str, Any]) -> None:
    inst = s["institution"]
    if inst["snapshot_date"] <= inst["start_date"] + dt.timedelta(days=180):
        raise _fail("institution.snapshot_date", inst["snapshot_date"].isoformat(),
                    "a date at least 180 days after institution.start_date "
                    f"({inst['start_date'].isoformat()})")
    if inst["expense_share_min"] > inst["expense_share_max"]:
        raise _fail("institution.expense_share_min", inst["expense_share_min"],
                    f"at most institution.expense_share_max ({inst['expense_share_max']})")
    if inst["expense_share_max"] >= 1:
        raise _fail("institution.expense_share_max", inst["expense_share_max"],
                    "a share below 1 (households need a positive net income)")
    if not 2 <= inst["group_size_min"] <= inst["group_size_max"]:
        raise _fail("institution.group_size_min", inst["group_size_min"],
                    f"a whole number from 2 to institution.group_size_max "
                    f"({inst['group_size_max']})")
    for pid, p in s["products"].items():
        base = f"products.{pid}"
        if p["min_term"] > p["max_term"]:
            raise _fail(f"{base}.min_term", p["min_term"],
                        f"a term of at most {base}.max_term ({p['max_term']})")
        if p["min_amount"] <= 0 or p["min_amount"] > p["max_amount"]:
            raise _fail(f"{base}.min_amount", p["min_amount"],
                        f"an amount above 0 and at most {base}.max_amount ({p['max_amount']})")
        expected = FREQUENCY_PERIODS[p["frequency"]]
        if p["periods_per_year"] != expected:
            raise _fail(f"{base}.periods_per_year", p["periods_per_year"],
                        f"{expected} for frequency {p['frequency']!r}")
        if p["upfront_fee"] + p["insurance"] + p["compulsory_savings"] >= 1:
            raise _fail(f"{base}.compulsory_savings", p["compulsory_savings"],
                        "a share that leaves the client some cash: upfront_fee + insurance + "
                        "compulsory_savings must stay below 1")
    lending = s["lending"]
    if lending["growth_clean_min"] > lending["growth_clean_max"]:
        raise _fail("lending.growth_clean_min", lending["growth_clean_min"],
                    f"at most lending.growth_clean_max ({lending['growth_clean_max']})")
    for name, problem in s["problems"].items():
        base = f"problems.{name}"
        if "product" in problem and problem["product"] not in s["products"]:
            raise _fail(f"{base}.product", problem["product"],
                        "one of the products defined: " + ", ".join(s["products"]))
        if "branch" in problem and problem["branch"] not in s["branches"]:
            raise _fail(f"{base}.branch", problem["branch"],
                        "one of the branches defined: " + ", ".join(s["branches"]))
        for i, branch in enumerate(problem.get("branches", ())):
            if branch not in s["branches"]:
                raise _fail(f"{base}.branches[{i}]", branch,
                            "one of the branches defined: " + ", ".join(s["branches"]))
    over = s["problems"]["over_indebtedness"]
    if over["growth_min"] > over["growth_max"]:
        raise _fail("problems.over_indebtedness.growth_min", over["growth_min"],
                    f"at most problems.over_indebtedness.growth_max ({over['growth_max']})")
    if len(s["branches"]) < 2:
        raise _fail("branches", list(s["branches"]), "at least two branches")


# --------------------------------------------------------------------------- typed settings


@dataclass(frozen=True)
class Institution:
    """The [institution] section: who the MFI is and whom it serves."""

    name: str
    country: str
    currency: str
    start_date: dt.date
    snapshot_date: dt.date
    seed: int
    n_clients: int
    client_growth: float
    group_client_share: float
    farmer_share_rural: float
    farmer_share_urban: float
    women_share_group: float
    women_share_individual: float
    rural_share_rural_branch: float
    rural_share_urban_branch: float
    minority_share: float
    consent_share: float
    income_median_rural: float
    income_median_urban: float
    income_dispersion: float
    expense_share_min: float
    expense_share_max: float
    group_size_min: int
    group_size_max: int


@dataclass(frozen=True)
class Branch:
    """One [branches.<id>] table."""

    branch_id: str
    name: str
    region: str
    rural: bool
    opened_on: dt.date
    incentive_scheme: str
    client_weight: float


@dataclass(frozen=True)
class Product:
    """One [products.<id>] table: the full pricing structure."""

    product_id: str
    name: str
    methodology: str
    purpose: str
    frequency: str
    periods_per_year: int
    interest_method: str
    rate_yearly: float
    upfront_fee: float
    fee_per_payment: float
    insurance: float
    compulsory_savings: float
    savings_interest: float
    tax_on_interest: float
    min_term: int
    max_term: int
    min_amount: float
    max_amount: float
    advertised_rate_monthly: float
    advertised_text: str
    launched_on: dt.date
    weight: float
    base_default: float


@dataclass(frozen=True)
class Lender:
    """One [[market.lenders]] entry: another lender active in the market."""

    name: str
    type: str
    weight: float


@dataclass(frozen=True)
class Problem:
    """One planted problem: ``enabled``, ``strength`` and its own settings."""

    name: str
    enabled: bool
    strength: float
    principle: int
    description: str
    settings: Mapping[str, Any]

    @property
    def effect(self) -> float:
        """How much of the effect is planted: 0 when disabled, else ``strength``."""
        return self.strength if self.enabled else 0.0

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the institution, its market and the planted problems.

    Build it with :func:`load_scenario`. Sections other than institution, branches, products,
    lenders and problems are read-only mappings (``scenario.lending["max_dsr"]``).

    Examples
    --------
    >>> s = load_scenario("default")
    >>> s.name, s.n_clients > 0, s.products["P1"].methodology
    ('default', True, 'group')
    """

    name: str
    institution: Institution
    branches: Mapping[str, Branch]
    officers: Mapping[str, Any]
    products: Mapping[str, Product]
    lending: Mapping[str, Any]
    risk: Mapping[str, Any]
    market: Mapping[str, Any]
    lenders: tuple[Lender, ...]
    complaints: Mapping[str, Any]
    access_log: Mapping[str, Any]
    names: Mapping[str, tuple[str, ...]]
    problems: Mapping[str, Problem]
    source: str = field(default="", compare=False)
    _data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def seed(self) -> int:
        """Default random seed."""
        return self.institution.seed

    @property
    def n_clients(self) -> int:
        """Number of clients (borrowers and rejected applicants) to generate."""
        return self.institution.n_clients

    @property
    def currency(self) -> str:
        return self.institution.currency

    @property
    def start_date(self) -> dt.date:
        return self.institution.start_date

    @property
    def snapshot_date(self) -> dt.date:
        return self.institution.snapshot_date

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain, JSON-serialisable data (dates as ISO strings).

        The result has the layout of the TOML file, so ``validate`` accepts it again.
        """
        return {"name": self.name, **_jsonable(self._data)}

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A copy with some keys changed, validated again.

        Parameters
        ----------
        overrides : mapping
            Dotted key paths (as in the error messages) to new values, for example
            ``{"problems.approval_gap.enabled": False, "institution.n_clients": 2000}``.
            Array entries take their index: ``"market.lenders.0.weight"``.

        Examples
        --------
        >>> s = load_scenario("default").with_overrides({"institution.n_clients": 500})
        >>> s.n_clients
        500
        """
        data = copy.deepcopy(_thaw(self._data))
        for path, value in overrides.items():
            parts = path.split(".")
            node: Any = data
            for i, part in enumerate(parts[:-1]):
                key: Any = int(part) if isinstance(node, list) else part
                try:
                    node = node[key]
                except (KeyError, IndexError, ValueError):
                    raise ScenarioError(
                        f"cannot override {path}: {'.'.join(parts[: i + 1])} does not exist"
                    ) from None
            last: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
            if isinstance(node, dict) and last not in node:
                raise ScenarioError(f"cannot override {path}: unknown key {parts[-1]!r}")
            node[last] = value
        return _build(validate(data), self.name, self.source)


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


def _build(data: dict[str, Any], name: str, source: str) -> Scenario:
    problems = {}
    for pname, p in data["problems"].items():
        extra = {k: v for k, v in p.items() if k not in _COMMON_PROBLEM}
        problems[pname] = Problem(pname, p["enabled"], p["strength"], p["principle"],
                                  p["description"], _frozen(extra))
    return Scenario(
        name=name,
        institution=Institution(**data["institution"]),
        branches=MappingProxyType({k: Branch(k, **v) for k, v in data["branches"].items()}),
        officers=_frozen(data["officers"]),
        products=MappingProxyType({k: Product(k, **v) for k, v in data["products"].items()}),
        lending=_frozen(data["lending"]),
        risk=_frozen(data["risk"]),
        market=_frozen({k: v for k, v in data["market"].items() if k != "lenders"}),
        lenders=tuple(Lender(**lender) for lender in data["market"]["lenders"]),
        complaints=_frozen(data["complaints"]),
        access_log=_frozen(data["access_log"]),
        names=_frozen(data["names"]),
        problems=MappingProxyType(problems),
        source=source,
        _data=_frozen(data),
    )


def scenarios_dir() -> Path:
    """Folder of the scenario files: ``$CPCOURSE_SCENARIOS`` or ``datasets/scenarios``.

    Examples
    --------
    >>> sorted(p.name for p in scenarios_dir().glob("*.toml"))
    ['crisis.toml', 'default.toml']
    """
    env = os.environ.get("CPCOURSE_SCENARIOS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "datasets" / "scenarios"


def load_scenario(source: str | os.PathLike[str] | Scenario) -> Scenario:
    """Load and validate a scenario file.

    Parameters
    ----------
    source : str or path
        A path to a ``.toml`` file, or a scenario name (``"default"``, ``"crisis"``) looked up
        in :func:`scenarios_dir`. A :class:`Scenario` is returned unchanged.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        When the file is missing, is not valid TOML, or a key is unknown, missing or invalid.

    Examples
    --------
    >>> load_scenario("crisis").name
    'crisis'
    """
    if isinstance(source, Scenario):
        return source
    path = Path(source)
    if path.suffix != ".toml":
        folder = scenarios_dir()
        path = folder / f"{source}.toml"
        if not path.is_file():
            known = sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []
            raise ScenarioError(
                f"no scenario named {str(source)!r} in {folder}: known scenarios are "
                f"{', '.join(known) or 'none'}; or give the path of a .toml file.")
    if not path.is_file():
        raise ScenarioError(f"scenario file {path} does not exist: check the path.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path} is not valid TOML: {error}") from None
    return _build(validate(raw), path.stem, str(path))
