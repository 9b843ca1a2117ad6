"""The rule-driven simulator that turns a scenario into the MFI's linked tables.

Clients join over the history; each client applies, is approved or rejected, repays (or not)
and comes back for a larger loan, cycle after cycle. Everything is vectorised with numpy over
all clients of a round (the only Python loops run over rounds of applications, products and
problems). Each table draws from its own random stream, spawned from one ``SeedSequence``,
so the same seed gives identical tables.

Examples
--------
>>> from clientprotection.synth import generate, load_scenario
>>> mfi = generate(load_scenario("default"), n_clients=300, seed=1)
>>> list(mfi.tables)[:3]
['branches', 'officers', 'products']
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clientprotection.schema import TABLES
from clientprotection.synth import _amounts
from clientprotection.synth.scenario import CATEGORIES, CHANNELS, Scenario, load_scenario

__all__ = ["GeneratedMFI", "generate"]

STREAMS = ("clients", "bureau", "applications", "loans", "schedule", "officers",
           "collections", "complaints", "access_log")
NO_DAY = np.iinfo(np.int64).min // 4  # missing date
NEVER = 10**7  # a payment delay meaning "not paid"
DAY_S = 86_400
NAT = np.iinfo(np.int64).min  # NaT as an int64
STATUSES = ["active", "repaid", "written_off"]  # loan status on the snapshot date, by code
ACTIVE, REPAID, WRITTEN_OFF = range(3)
ROW_BLOCK = 1 << 21  # schedule rows handled at once (keeps the temporaries small)
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class GeneratedMFI:
    """The generated tables (schema order), the trainer-only answer key, scenario and seed."""

    tables: dict[str, pd.DataFrame]
    answer_key: dict[str, Any]
    scenario: Scenario
    seed: int

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


# --------------------------------------------------------------------------- small helpers


def _day(d: dt.date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _digit_strings(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` and each number zero-padded to ``width`` digits, as Python strings.

    The numbers must lie in 0 .. 10**width - 1. The characters are written digit by digit into
    a small UCS-4 buffer, block by block (no per-row formatting).
    """
    numbers = np.asarray(numbers, np.int64)
    n = len(numbers)
    size = len(prefix) + width
    out = np.empty(n, dtype=object)
    block = max(1, min(n, 1 << 18))
    chars = np.empty((block, size), np.uint32)
    chars[:, : len(prefix)] = [ord(c) for c in prefix]
    digit = np.empty(block, np.int64)
    for b0 in range(0, n, block):
        m = min(n - b0, block)
        number = numbers[b0: b0 + m].copy()
        for col in range(size - 1, len(prefix) - 1, -1):
            np.remainder(number, 10, out=digit[:m])
            chars[:m, col] = digit[:m] + ord("0")
            number //= 10
        out[b0: b0 + m] = chars[:m].view(f"U{size}").reshape(m)
    return out


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """``prefix`` and the numbers 1..n zero-padded to ``width`` digits (more when n needs)."""
    return _digit_strings(prefix, np.arange(1, n + 1), max(width, len(str(n))))


# the dtype pandas infers for a column of Python strings (kept identical for every column)
_STR = pd.Series(np.array(["x"], dtype=object)).dtype


def _str(values: Any) -> Any:
    """A pandas string array of ``values`` (None becomes missing), to ``take`` rows from.

    Taking rows from one validated array is much cheaper than building a large object column
    and letting pandas check every string again.
    """
    return pd.array(np.asarray(values, dtype=object), dtype=_STR)


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame over the given column arrays without copying them into 2-D blocks."""
    return pd.DataFrame(columns, copy=False)


def _lexsort(keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """``np.lexsort(keys)`` (last key first, stable), by one stable sort of the integer keys
    packed into one int64 when their ranges allow (much faster than sorting key by key)."""
    keys = tuple(np.asarray(k) for k in keys)
    if len(keys[0]) == 0 or any(k.dtype.kind not in "iu" for k in keys):
        return np.lexsort(keys)
    lows = [int(k.min()) for k in keys]
    spans = [int(k.max()) - lo + 1 for k, lo in zip(keys, lows, strict=True)]
    if np.prod([float(x) for x in spans]) >= 2.0**62:
        return np.lexsort(keys)
    packed = np.zeros(len(keys[0]), np.int64)
    scale = 1
    for k, lo, span in zip(keys, lows, spans, strict=True):
        packed += (k.astype(np.int64) - lo) * scale
        scale *= span
    return np.argsort(packed, kind="stable")


def _calendar(lo: int, hi: int):
    """Lookup tables for the days lo..hi: month number since 1970, day of month (0-based),
    first day and length of each month."""
    days = np.arange(lo, hi + 1, dtype=np.int64)
    month = days.astype("M8[D]").astype("M8[M]").astype(np.int64)
    m_lo, m_hi = int(month[0]), int(month[-1]) + 1
    starts = np.arange(m_lo, m_hi + 1).astype("M8[M]").astype("M8[D]").astype(np.int64)
    return month, days - starts[month - m_lo], starts, m_lo


def _add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """The same day of the month ``months`` later (the month's last day when shorter)."""
    days = np.asarray(days, np.int64)
    months = np.asarray(months, np.int64)
    if days.size == 0:
        return days.copy()
    lo, hi = int(days.min()), int(days.max())
    span = int(months.max(initial=0)) + 1
    month, day_of_month, starts, m_lo = _calendar(lo, hi + 31 * span + 31)
    target = month[days - lo] + months - m_lo
    length = starts[target + 1] - starts[target]
    return starts[target] + np.minimum(day_of_month[days - lo], length - 1)


def _month(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, np.int64)
    if days.size == 0:
        return days.copy()
    lo = int(days.min())
    month, _, _, _ = _calendar(lo, int(days.max()))
    return month[days - lo] % 12 + 1


def _dates(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, np.int64)
    out = (days * DAY_S).view("M8[s]")
    out[days == NO_DAY] = np.datetime64("NaT")
    return out


def _times(seconds: np.ndarray) -> np.ndarray:
    return np.array(seconds, np.int64).view("M8[s]")


def _choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    w = np.asarray(weights, float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def _row_choice(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One weighted choice per row of a 2-D weight matrix (rows with all zeros give -1)."""
    cum = np.cumsum(weights, axis=1)
    total = cum[:, -1]
    u = rng.random(len(weights)) * total
    pick = (cum > u[:, None]).argmax(axis=1)
    return np.where(total > 0, pick, -1)


def _interp(normal: float, planted: float, effect: float) -> float:
    return normal + effect * (planted - normal)


def _segment_first(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.minimum.reduceat(values, starts) if len(values) else values


def _row_blocks(starts: np.ndarray, term: np.ndarray):
    """Blocks of whole loans for row-level work: ``(first loan, end loan, first row, end row,
    loan of each row (block-local), first row of each loan (block-local), instalment no)``.

    The row arrays are views of buffers reused from block to block: use them within the block.
    """
    blocks = list(_loan_blocks(starts, term, ROW_BLOCK))
    size = max((int(starts[j1 - 1] + term[j1 - 1] - starts[j0]) for j0, j1 in blocks),
               default=0)
    row_no = np.arange(size)
    loan_buffer = np.empty(size, np.int64)
    k_buffer = np.empty(size, np.int64)
    for j0, j1 in blocks:
        r0 = int(starts[j0])
        r1 = int(starts[j1 - 1] + term[j1 - 1])
        first_row = starts[j0:j1] - r0
        r_loan = loan_buffer[: r1 - r0]
        r_loan.fill(0)
        r_loan[first_row[1:]] = 1
        np.cumsum(r_loan, out=r_loan)
        k = k_buffer[: r1 - r0]
        np.take(first_row, r_loan, out=k, mode="clip")  # valid rows; "clip" writes in place
        np.subtract(row_no[: r1 - r0], k, out=k)
        k += 1
        yield j0, j1, r0, r1, r_loan, first_row, k


def _loan_blocks(starts: np.ndarray, term: np.ndarray, rows: int):
    """Consecutive ranges ``(first, last + 1)`` of loans holding about ``rows`` rows each
    (whole loans; a single loan longer than ``rows`` is a block of its own)."""
    ends = starts + term
    n = len(starts)
    first = 0
    while first < n:
        last = int(np.searchsorted(ends, starts[first] + rows, side="right"))
        last = max(last, first + 1)
        yield first, last
        first = last


def _combinations(parts: list[list[str]], picks: list[np.ndarray],
                  join: Callable[..., str]) -> Any:
    """``join(parts[0][picks[0][i]], parts[1][picks[1][i]], ...)`` for every row i, built once
    per combination and taken from there (rows share the string objects). ``join`` must also
    work element-wise on object arrays (string ``+`` does)."""
    sizes = [len(p) for p in parts]
    n = len(picks[0])
    if np.prod([float(x) for x in sizes]) > max(n, 1024):  # more combinations than rows
        return _str(join(*(np.asarray(p, dtype=object)[i]
                           for p, i in zip(parts, picks, strict=True))))
    index = np.zeros(n, np.int64)
    for size, pick in zip(sizes, picks, strict=True):
        index = index * size + pick
    return _str([join(*values) for values in itertools.product(*parts)]).take(index)


def _working_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(9 * 3600, 18 * 3600, n)


def _outside_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    early = rng.integers(6 * 3600, 9 * 3600, n)
    late = rng.integers(18 * 3600, 21 * 3600, n)
    return np.where(rng.random(n) < 0.5, early, late)


class _Report:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def __call__(self, step: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(step, float(min(max(fraction, 0.0), 1.0)))


# --------------------------------------------------------------------------- the generator


def generate(
    scenario: Scenario | str | os.PathLike[str],
    *,
    seed: int | None = None,
    n_clients: int | None = None,
    progress: Progress | None = None,
) -> GeneratedMFI:
    """Generate the synthetic MFI of a scenario.

    Parameters
    ----------
    scenario : Scenario, name or path
        A loaded scenario, or anything :func:`load_scenario` accepts.
    seed : int, optional
        Random seed; the scenario's ``institution.seed`` when omitted.
    n_clients : int, optional
        Overrides ``institution.n_clients`` (to scale the data up or down).
    progress : callable, optional
        Called as ``progress(step_name, fraction_done)`` while the tables are built.

    Returns
    -------
    GeneratedMFI
        ``tables`` holds every table of :data:`clientprotection.schema.TABLES` in order, with
        exactly the schema's columns; ``answer_key`` states the planted problems and their
        measured size.

    Examples
    --------
    >>> mfi = generate("default", n_clients=300, seed=7)
    >>> bool((mfi.tables["loans"]["net_disbursed"] <= mfi.tables["loans"]["amount"]).all())
    True
    """
    sc = load_scenario(scenario)
    seed = sc.seed if seed is None else int(seed)
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}.")
    n = sc.n_clients if n_clients is None else int(n_clients)
    if n < 1:
        raise ValueError(f"n_clients must be 1 or more, got {n}.")
    rngs = dict(zip(STREAMS, (np.random.default_rng(s) for s in
                              np.random.SeedSequence(seed).spawn(len(STREAMS))), strict=True))
    report = _Report(progress)
    sim = _Simulation(sc, n, rngs, report)
    tables = sim.run()
    report("answer key", 0.97)
    from clientprotection.synth.answer_key import build_answer_key

    key = build_answer_key(sc, tables, sim.planted, seed, links=sim.links)
    report("done", 1.0)
    return GeneratedMFI(tables, key, sc, seed)


class _Simulation:
    def __init__(self, sc: Scenario, n: int, rngs: dict[str, np.random.Generator],
                 report: _Report) -> None:
        self.sc = sc
        self.n = n
        self.rng = rngs
        self.report = report
        self.start = _day(sc.start_date)
        self.snap = _day(sc.snapshot_date)
        self.branch_ids = list(sc.branches)
        self.product_ids = list(sc.products)
        self.branch_str = _str(self.branch_ids)
        self.product_str = _str(self.product_ids)
        self.planted: dict[str, Any] = {}
        self.links: dict[str, np.ndarray] = {}  # cross-table rows for the answer key
        self.effect = {name: p.effect for name, p in sc.problems.items()}

    # ---------------------------------------------------------------- driver
    def run(self) -> dict[str, pd.DataFrame]:
        self.report("clients", 0.0)
        self._clients()
        self.report("credit bureau", 0.08)
        self._bureau()
        self.report("loan cycles", 0.12)
        self._cycles()
        self.report("officers", 0.55)
        self._officers()
        self.report("schedule", 0.6)
        tables: dict[str, pd.DataFrame] = {}
        tables["branches"] = self._branches_table()
        tables["officers"] = self._officers_table()
        tables["products"] = self._products_table()
        tables["clients"] = self._clients_table()
        tables["applications"] = self._applications_table()
        tables["loans"], tables["schedule"] = self._loans_and_schedule()
        self.report("bureau", 0.75)
        tables["bureau"] = self._bureau_table()
        self.report("collections", 0.8)
        tables["collections"] = self._collections()
        self.report("complaints", 0.87)
        tables["complaints"] = self._complaints(tables)
        self.report("access log", 0.92)
        tables["access_log"] = self._access_log(tables)
        return {name: self._conform(name, tables[name]) for name in TABLES}

    def _conform(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        # every table is built in primary-key order already (ids follow time); the tests
        # check the order, so no sort of the large tables is needed here
        return frame[TABLES[name].column_names].reset_index(drop=True)

    # ---------------------------------------------------------------- clients
    def _clients(self) -> None:
        sc, rng, n = self.sc, self.rng["clients"], self.n
        inst = sc.institution
        weights = np.array([b.client_weight for b in sc.branches.values()])
        branch = _choice(rng, weights, n)
        opened = np.array([_day(b.opened_on) for b in sc.branches.values()])
        lo = np.maximum(self.start, opened[branch])
        hi = self.snap - 45
        g = inst.client_growth
        u = rng.random(n)
        frac = u if g == 0 else (np.sqrt(1 + g * (2 + g) * u) - 1) / g
        joined = (lo + frac * np.maximum(hi - lo, 1)).astype(np.int64)
        order = _lexsort((np.arange(n), joined))
        self.branch = branch[order]
        self.joined = joined[order]
        rural_branch = np.array([b.rural for b in sc.branches.values()])[self.branch]
        self.rural = rng.random(n) < np.where(rural_branch, inst.rural_share_rural_branch,
                                              inst.rural_share_urban_branch)
        self.group = rng.random(n) < inst.group_client_share
        women = np.where(self.group, inst.women_share_group, inst.women_share_individual)
        self.female = rng.random(n) < women
        self.minority = rng.random(n) < inst.minority_share
        self.consent = rng.random(n) < inst.consent_share
        self.farmer = rng.random(n) < np.where(self.rural, inst.farmer_share_rural,
                                               inst.farmer_share_urban)
        median = np.where(self.rural, inst.income_median_rural, inst.income_median_urban)
        median = median * np.where(self.group, 1.0, 1.6)
        income = median * np.exp(rng.normal(0, inst.income_dispersion, n))
        self.income = np.maximum(np.round(income, -1), 30.0)
        share = rng.uniform(inst.expense_share_min, inst.expense_share_max, n)
        self.expenses = np.round(self.income * share, -1)
        self.expenses = np.minimum(self.expenses, self.income - 10.0)
        self.net = self.income - self.expenses
        self.quality = rng.normal(0, 1, n)
        self.household = np.minimum(1 + rng.poisson(3.6, n), 12)
        non_farm = np.array(["trade", "services", "manufacturing", "salaried"], dtype=object)
        pick = _choice(rng, np.array([0.5, 0.28, 0.14, 0.08]), n)
        farm = np.array(["livestock", "agriculture"], dtype=object)[
            (rng.random(n) < 0.75).astype(np.intp)]
        self.business = np.where(self.farmer, farm, non_farm[pick])
        self.age_days = (rng.uniform(18, 62, n) * 365.25).astype(np.int64)
        self.village_pick = rng.integers(0, 6, n)
        self.name_pick = rng.random((n, 2))
        self.phone = rng.integers(10**7, 10**8, n)
        self.plot = rng.integers(1, 400, n)

    # ---------------------------------------------------------------- bureau (other lenders)
    def _bureau(self) -> None:
        sc, rng, n = self.sc, self.rng["bureau"], self.n
        over = sc.problems["over_indebtedness"]
        b_over = self.branch_ids.index(over["branch"])
        share = np.full(n, sc.market["share_borrowing_elsewhere"])
        share[self.branch == b_over] += self.effect["over_indebtedness"] * over[
            "extra_borrowing_elsewhere"]
        has = rng.random(n) < np.clip(share, 0, 1)
        count = np.where(has, 1 + np.minimum(rng.poisson(0.6, n), 3), 0)
        client = np.repeat(np.arange(n), count)
        m = len(client)
        lenders = sc.lenders
        self.rec_client = client
        self.rec_lender = _choice(rng, np.array([x.weight for x in lenders]), m)
        self.rec_visible = rng.random(m) < sc.market["bureau_coverage"]
        earliest = self.joined[client] - 540
        latest = np.maximum(self.snap - 60, earliest + 1)
        self.rec_open = rng.integers(earliest, latest)
        term = rng.integers(6, 25, m)
        self.rec_close = _add_months(self.rec_open, term)
        amount = np.round(self.net[client] * rng.uniform(2.0, 9.0, m), -1)
        self.rec_amount = np.maximum(amount, 50.0)
        self.rec_payment = np.round(self.rec_amount * (1 + 0.025 * term) / term, 2)
        late = rng.random(m) < 0.12 * np.exp(-0.5 * self.quality[client])
        self.rec_worst = np.where(late, rng.choice([7, 15, 30, 45, 60, 90, 120, 180], m), 0)

    def _other_debt(self, clients: np.ndarray, days: np.ndarray):
        """Active other-lender loans on each application day: visible count and payment,
        hidden (not reported to the bureau) payment."""
        m = len(clients)
        row_of_client = np.full(self.n, -1)
        row_of_client[clients] = np.arange(m)
        row = row_of_client[self.rec_client]
        take = row >= 0
        r = row[take]
        d = days[r]
        active = (self.rec_open[take] <= d) & (d < self.rec_close[take])
        visible = self.rec_visible[take]
        pay = self.rec_payment[take]
        sel = active & visible
        count = np.bincount(r[sel], minlength=m)
        visible_pay = np.bincount(r[sel], weights=pay[sel], minlength=m)
        hid = active & ~visible
        hidden_pay = np.bincount(r[hid], weights=pay[hid], minlength=m)
        return count, visible_pay, hidden_pay

    # ---------------------------------------------------------------- loan cycles
    def _product_arrays(self) -> dict[str, np.ndarray]:
        sc = self.sc
        products = list(sc.products.values())
        a = {f: np.array([getattr(p, f) for p in products]) for f in (
            "periods_per_year", "rate_yearly", "upfront_fee", "fee_per_payment", "insurance",
            "compulsory_savings", "savings_interest", "tax_on_interest", "min_term", "max_term",
            "min_amount", "max_amount", "weight", "base_default")}
        a["group"] = np.array([p.methodology == "group" for p in products])
        a["agri"] = np.array([p.purpose == "agriculture" for p in products])
        a["declining"] = np.array([p.interest_method == "declining" for p in products])
        a["balloon"] = np.array([p.frequency == "balloon" for p in products])
        a["launched"] = np.array([_day(p.launched_on) for p in products])
        a["days"] = np.array([{"weekly": 7, "fortnightly": 14}.get(p.frequency, 0)
                              for p in products])
        # planted pricing: hidden costs and the outlier price
        hidden = sc.problems["hidden_costs"]
        e = self.effect["hidden_costs"]
        h = self.product_ids.index(hidden["product"])
        for f in ("upfront_fee", "insurance", "compulsory_savings"):
            a[f] = a[f].astype(float)
            a[f][h] = _interp(a[f][h], hidden[f], e)
        outlier = sc.problems["pricing_outlier"]
        o = self.product_ids.index(outlier["product"])
        a["rate_yearly"] = a["rate_yearly"].astype(float)
        a["rate_yearly"][o] = _interp(a["rate_yearly"][o], outlier["rate_yearly"],
                                      self.effect["pricing_outlier"])
        return a

    def _cycles(self) -> None:
        sc, n = self.sc, self.n
        lending = sc.lending
        P = self.prod = self._product_arrays()
        rng_a, rng_l, rng_s = self.rng["applications"], self.rng["loans"], self.rng["schedule"]
        over = sc.problems["over_indebtedness"]
        b_over = self.branch_ids.index(over["branch"])
        e_over = self.effect["over_indebtedness"]
        seasonal = sc.problems["seasonal_product"]
        p_season = self.product_ids.index(seasonal["product"])
        e_season = self.effect["seasonal_product"]
        lean = np.zeros(13, bool)
        lean[list(seasonal["lean_months"])] = True
        gap = sc.problems["approval_gap"]
        gap_minority = gap["group"] == "minority"
        hidden = sc.problems["hidden_costs"]
        p_hidden = self.product_ids.index(hidden["product"])
        stress_start = _day(sc.risk["stress_start"])
        stress_span = max(self.snap - stress_start, 1)
        history = max(self.snap - self.start, 1)
        last_day = self.snap - 14

        next_day = self.joined.copy()
        alive = np.ones(n, bool)
        n_loans = np.zeros(n, np.int64)
        last_amount = np.zeros(n)
        last_clean = np.ones(n, bool)
        last_bad = np.zeros(n, bool)
        shrink = np.ones(n)
        apps: list[dict[str, np.ndarray]] = []
        loans: list[dict[str, np.ndarray]] = []
        rows: list[dict[str, np.ndarray]] = []  # schedule rows of each round's loans
        round_no = 0
        while True:
            a = np.flatnonzero(alive & (next_day <= last_day))
            if len(a) == 0:
                break
            round_no += 1
            self.report("loan cycles", 0.12 + 0.4 * (1 - 0.7 ** round_no))
            m = len(a)
            d = next_day[a]
            in_over = self.branch[a] == b_over
            # product choice among the products this client can take on that day
            elig = (P["group"][None, :] == self.group[a][:, None]) & (
                P["launched"][None, :] <= d[:, None])
            elig &= ~P["agri"][None, :] | self.farmer[a][:, None]
            w = elig * P["weight"][None, :] * np.where(P["agri"][None, :], 3.0, 1.0)
            prod = _row_choice(rng_a, w)
            ok = prod >= 0
            alive[a[~ok]] = False
            a, d, prod, in_over, m = a[ok], d[ok], prod[ok], in_over[ok], int(ok.sum())
            if m == 0:
                continue
            ppy = P["periods_per_year"][prod]
            span = P["max_term"][prod] - P["min_term"][prod]
            term = P["min_term"][prod] + np.round(span * rng_a.beta(1.3, 2.2, m)).astype(np.int64)
            months = term * 12.0 / ppy
            i = P["rate_yearly"][prod] / ppy
            per_unit = _amounts.scheduled_total(
                np.ones(m), term, i, P["declining"][prod], P["balloon"][prod],
                P["tax_on_interest"][prod], P["fee_per_payment"][prod])
            first = n_loans[a] == 0
            dsr0 = lending["first_loan_dsr"] * np.exp(rng_a.normal(0, 0.3, m))
            amount_first = dsr0 * self.net[a] * months / per_unit
            g_lo, g_hi = lending["growth_clean_min"], lending["growth_clean_max"]
            gmin = np.where(in_over, _interp(g_lo, over["growth_min"], e_over), g_lo)
            gmax = np.where(in_over, _interp(g_hi, over["growth_max"], e_over), g_hi)
            growth = np.where(last_clean[a], rng_a.uniform(gmin, gmax),
                              rng_a.uniform(-0.1, 0.1, m))
            amount = np.where(first, amount_first, last_amount[a] * (1 + growth)) * shrink[a]
            amount = np.clip(np.round(amount, -1), P["min_amount"][prod], P["max_amount"][prod])
            own = amount * per_unit / months
            count, visible_pay, hidden_pay = self._other_debt(a, d)
            consent = self.consent[a]
            check_share = np.where(in_over, _interp(lending["bureau_check_share"],
                                                    over["bureau_check_share"], e_over),
                                   lending["bureau_check_share"])
            violation = sc.problems["consent_violation"]["checked_share"] * self.effect[
                "consent_violation"]
            u = rng_a.random(m)
            checked = np.where(consent, u < check_share, u < violation)
            declared = rng_a.binomial(count, sc.market["self_declared_share"])
            other_lenders = np.where(checked, count, declared)
            other_pay = np.where(checked, visible_pay,
                                 visible_pay * declared / np.maximum(count, 1))
            dsr = np.round((own + other_pay) / self.net[a], 4)
            true_dsr = (own + visible_pay + hidden_pay) / self.net[a]
            score = (55 + 14 * self.quality[a] + rng_a.normal(0, 7, m)
                     + 2 * np.minimum(n_loans[a], 5))
            score = np.round(np.clip(score - 3 * count, 0, 100), 1)
            # decision: the first reason that applies rejects the application
            compliance = np.where(in_over, _interp(lending["dsr_compliance"],
                                                   over["dsr_compliance"], e_over),
                                  lending["dsr_compliance"])
            uu = rng_a.random((m, 6))
            in_gap = self.minority[a] == gap_minority
            reasons = [
                ("incomplete_documents", uu[:, 0] < lending["incomplete_documents_share"]),
                ("bad_history", last_bad[a] & (uu[:, 1] < 0.85)),
                ("over_indebted", checked & (count > lending["max_other_lenders"])
                 & (uu[:, 2] < compliance)),
                ("repayment_capacity", (dsr > lending["max_dsr"]) & (uu[:, 3] < compliance)),
                ("other", (score < lending["min_score"]) & (uu[:, 4] < 0.8)),
                ("gap", in_gap & (uu[:, 5] < gap["extra_rejection"] * self.effect["approval_gap"])),
            ]
            reason = np.full(m, None, dtype=object)
            for label, hit in reversed(reasons):
                reason[hit] = label
            gap_hit = reason == "gap"
            reason[gap_hit] = np.where(rng_a.random(int(gap_hit.sum())) < 0.5,
                                       "incomplete_documents", "other")
            approved = np.equal(reason, None).astype(bool)
            apps.append({
                "client": a, "day": d, "product": prod, "cycle": n_loans[a] + 1,
                "amount": amount, "term": term, "score": score, "dsr": dsr,
                "checked": checked, "other_lenders": other_lenders, "approved": approved,
                "reason": reason,
            })
            # rejected applicants may come back with a smaller request
            rej = a[~approved]
            back = (rng_a.random(len(rej)) < lending["reapply_after_rejection"]) & (
                reason[~approved] != "bad_history")
            alive[rej[~back]] = False
            next_day[rej] = d[~approved] + rng_a.integers(30, 121, len(rej))
            shrink[rej] *= 0.8
            # ---- loans of this round
            sel = np.flatnonzero(approved)
            cl = a[sel]
            k_ = len(sel)
            if k_ == 0:
                continue
            lp = prod[sel]
            disb = d[sel] + rng_l.integers(2, 11, k_)
            kfs_share = np.where(lp == p_hidden, lending["kfs_share"] * (
                1 - hidden["kfs_missing_share"] * self.effect["hidden_costs"]),
                lending["kfs_share"])
            kfs = rng_l.random(k_) < np.clip(kfs_share, 0, 1)
            cycle_factor = np.where(n_loans[cl] == 0, 1.25, 0.9)
            pd_loan = P["base_default"][lp] * np.exp(-0.55 * self.quality[cl]) * cycle_factor
            pd_loan *= 1 + sc.risk["dsr_effect"] * np.maximum(true_dsr[sel] - 0.5, 0)
            pd_loan = np.clip(pd_loan, 0, 0.95)
            lterm = term[sel]
            h_loan = 1 - (1 - pd_loan) ** (1 / lterm)
            # ---- schedule rows of these loans (due dates, payment delays), in blocks of
            # whole loans; a draw over all rows split into consecutive blocks gives the same
            # numbers as one draw, so every pass draws block by block in row order
            starts = np.concatenate(([0], np.cumsum(lterm)[:-1]))
            n_r = int(lterm.sum())
            due = np.empty(n_r, np.int64)
            lean_row = np.empty(n_r, bool)
            stop = np.empty(k_, np.int64)
            step_loan = P["days"][lp]
            season_loan = lp == p_season
            over_loan = in_over[sel]
            lean_factor = 1 + (seasonal["arrears_multiplier"] - 1) * e_season
            for j0, j1, r0, r1, r_loan, first_row, kk in _row_blocks(starts, lterm):
                step = step_loan[j0:j1][r_loan]
                due_b = disb[j0:j1][r_loan] + step * kk
                by_month = np.flatnonzero(step == 0)
                due_b[by_month] = _add_months(due_b[by_month], kk[by_month])
                due[r0:r1] = due_b
                mult = np.ones(r1 - r0)
                lean_b = lean[_month(due_b)] & season_loan[j0:j1][r_loan]
                lean_row[r0:r1] = lean_b
                mult[lean_b] *= lean_factor
                mult *= 1 + (sc.risk["stress_multiplier"] - 1) * np.clip(
                    (due_b - stress_start) / stress_span, 0, 1)
                over_row = over_loan[j0:j1][r_loan]
                mult[over_row] *= 1 + (over["default_multiplier"] - 1) * e_over * np.clip(
                    (due_b[over_row] - self.start) / history, 0, 1)
                hit = rng_s.random(r1 - r0) < h_loan[j0:j1][r_loan] * mult
                stop[j0:j1] = _segment_first(np.where(hit, kk, lterm[j0:j1][r_loan] + 1),
                                             first_row)
            stopped = stop <= lterm
            q_loan = lending["late_payment_share"] * np.exp(-0.4 * self.quality[cl])
            late = np.empty(n_r, bool)
            for j0, j1, r0, r1, r_loan, _, _ in _row_blocks(starts, lterm):
                q = q_loan[j0:j1][r_loan] * np.where(lean_row[r0:r1], lean_factor, 1)
                late[r0:r1] = rng_s.random(r1 - r0) < q
            del lean_row
            delay = np.empty(n_r, np.int64)  # becomes the payment day below
            for j0, j1 in _loan_blocks(starts, lterm, ROW_BLOCK):
                r0, r1 = int(starts[j0]), int(starts[j1 - 1] + lterm[j1 - 1])
                late_by = np.minimum(rng_s.geometric(0.25, r1 - r0), 27)
                late_by += 1
                np.multiply(late_by, late[r0:r1], out=delay[r0:r1])
            del late
            stop_row = starts + np.minimum(stop, lterm) - 1
            due_stop = due[stop_row]
            # a stopped loan is rescheduled, or cures by itself (paying every instalment
            # late from then on), or stays unpaid
            u_res = rng_l.random(k_)
            restr_pick = stopped & (u_res < lending["restructure_share"])
            resume = stopped & (u_res < lending["restructure_share"] + lending["cure_share"])
            restr_day = np.where(resume, due_stop + rng_l.integers(31, 91, k_), NO_DAY)
            # from the stop on: paid when rescheduled, or never
            delay_after = np.where(resume, restr_day - due_stop, NEVER)
            paid = delay
            last_paid = np.empty(k_, np.int64)
            max_delay = np.empty(k_, np.int64)
            for j0, j1, r0, r1, r_loan, first_row, kk in _row_blocks(starts, lterm):
                after = kk >= stop[j0:j1][r_loan]
                delay_b = np.where(after, delay_after[j0:j1][r_loan], delay[r0:r1])
                # running maximum within each loan: an instalment is paid once the one
                # before it is paid
                offset = r_loan * 4 * NEVER
                paid_b = np.maximum.accumulate(due[r0:r1] + delay_b + offset) - offset
                paid[r0:r1] = paid_b
                last_paid[j0:j1] = paid_b[first_row + lterm[j0:j1] - 1]
                max_delay[j0:j1] = np.maximum.reduceat(paid_b - due[r0:r1], first_row)
            wo_day = due_stop + lending["writeoff_after_days"]
            written_off = stopped & ~resume & (wo_day <= self.snap)
            partial = np.where(stopped & ~resume & (rng_l.random(k_) < 0.4)
                               & (due_stop < self.snap), rng_l.uniform(0.1, 0.8, k_), 0.0)
            repaid = last_paid <= self.snap
            loans.append({
                "client": cl, "app_round_pos": sel + sum(len(x["client"]) for x in apps[:-1]),
                "product": lp, "cycle": n_loans[cl] + 1, "applied": d[sel], "disbursed": disb,
                "amount": amount[sel], "term": lterm, "dsr": dsr[sel], "kfs": kfs,
                "restructured_on": np.where(restr_pick & (restr_day <= self.snap), restr_day,
                                            NO_DAY),
                "resumed_on": np.where(resume, restr_day, NO_DAY),
                "written_off_on": np.where(written_off, wo_day, NO_DAY),
                "partial": partial, "stop": np.where(stopped, stop, 0), "repaid": repaid,
                "round": np.full(k_, len(rows)), "row_offset": starts,
            })
            rows.append({"due": due, "paid": paid})
            # ---- next cycle
            bad = (max_delay > 30) | resume
            drop = lending["dropout_per_cycle"] + np.where(
                lp == p_season, seasonal["extra_dropout"] * e_season, 0.0) + np.where(bad, 0.5, 0)
            stays = repaid & (rng_l.random(k_) >= np.clip(drop, 0, 1))
            alive[cl] = stays
            next_day[cl] = last_paid + rng_l.integers(0, lending["gap_days_max"] + 1, k_)
            n_loans[cl] += 1
            last_amount[cl] = amount[sel]
            last_clean[cl] = max_delay <= 7
            last_bad[cl] = bad
            shrink[cl] = 1.0
        self.apps = {k: np.concatenate([x[k] for x in apps]) for k in apps[0]} if apps else {}
        self.loans = {k: np.concatenate([x[k] for x in loans]) for k in loans[0]} if loans else {}
        self.rows = rows
        if not loans:
            raise ValueError("the scenario produced no loans: raise n_clients or the history.")

    # ---------------------------------------------------------------- officers
    def _officers(self) -> None:
        sc, rng = self.sc, self.rng["officers"]
        L = self.loans
        # order loans by disbursement (ids follow time), applications by application day
        self.loan_order = _lexsort((L["client"], L["disbursed"]))
        A = self.apps
        self.app_order = _lexsort((A["client"], A["day"]))
        app_rank = np.empty(len(self.app_order), np.int64)
        app_rank[self.app_order] = np.arange(len(self.app_order))
        self.loan_app = app_rank[L["app_round_pos"]]
        # loan state on the snapshot date (needed for caseloads)
        self._loan_state()
        active = self.status == ACTIVE
        clients = L["client"][active]
        b_count = np.zeros((len(self.branch_ids), 2))
        np.add.at(b_count, (self.branch[clients], self.group[clients].astype(int)), 1)
        caseload = np.array([sc.officers["individual_caseload"], sc.officers["group_caseload"]])
        n_off = np.maximum(1, np.round(b_count / caseload[None, :])).astype(int)
        records = []  # (branch index, role, methodology)
        for b in range(len(self.branch_ids)):
            records += [(b, "loan_officer", "group")] * n_off[b, 1]
            records += [(b, "loan_officer", "individual")] * n_off[b, 0]
            records += [(b, "branch_manager", None)] * sc.officers["managers_per_branch"]
        self.off_branch = np.array([r[0] for r in records] + [-1] * sc.officers[
            "head_office_staff"])
        self.off_role = np.array([r[1] for r in records] + ["head_office"] * sc.officers[
            "head_office_staff"], dtype=object)
        self.off_method = np.array([r[2] for r in records] + [None] * sc.officers[
            "head_office_staff"], dtype=object)
        n_staff = len(records)
        self.off_id = np.concatenate([_ids("O", n_staff, 3),
                                      _ids("H", sc.officers["head_office_staff"], 2)])
        self.off_str = _str(self.off_id)
        # each client is served by one officer of the branch and methodology
        first = np.zeros((len(self.branch_ids), 2), np.int64)
        for idx in range(n_staff - 1, -1, -1):
            b, role, meth = records[idx]
            if role == "loan_officer":
                first[b, int(meth == "group")] = idx
        g = self.group.astype(int)
        self.client_officer = first[self.branch, g] + (
            self.rng["officers"].random(self.n) * n_off[self.branch, g]).astype(np.int64)
        manager = np.full(len(self.branch_ids), -1)
        for idx in range(n_staff):
            if records[idx][1] == "branch_manager" and manager[records[idx][0]] < 0:
                manager[records[idx][0]] = idx
        self.manager = manager
        self.off_female = rng.random(len(self.off_id)) < 0.5
        self.off_name_pick = rng.random((len(self.off_id), 2))
        opened = np.array([_day(b.opened_on) for b in sc.branches.values()] + [self.start])
        base = opened[self.off_branch]
        self.off_hired = np.minimum(base + rng.integers(0, 720, len(self.off_id)), self.start)
        # planted officers
        harsh = sc.problems["harsh_collection"]
        chosen = []
        for bid in harsh["branches"]:
            b = self.branch_ids.index(bid)
            pool = np.flatnonzero((self.off_branch == b) & (self.off_method == "group"))
            if len(pool) == 0:
                pool = np.flatnonzero((self.off_branch == b) & (self.off_role == "loan_officer"))
            chosen += list(pool[: harsh["officers_per_branch"]])
        self.harsh = np.array(sorted(chosen), dtype=np.int64)
        spy = sc.problems["unauthorised_access"]
        b = self.branch_ids.index(spy["branch"])
        pool = np.flatnonzero((self.off_branch == b) & (self.off_role == "loan_officer"))
        self.spy = int(pool[-1])
        self.planted["harsh_officers"] = [str(self.off_id[i]) for i in self.harsh]
        self.planted["unauthorised_officer"] = str(self.off_id[self.spy])
        self.groups = self._form_groups()

    def _form_groups(self) -> np.ndarray:
        inst = self.sc.institution
        members = np.flatnonzero(self.group)
        out = np.full(self.n, -1, np.int64)
        if len(members) == 0:
            return out
        officer = self.client_officer[members]
        order = _lexsort((members, officer))  # members are in joining order already
        members, officer = members[order], officer[order]
        seg_start = np.flatnonzero(np.r_[True, officer[1:] != officer[:-1]])
        seg_len = np.diff(np.r_[seg_start, len(members)])
        pos = np.arange(len(members)) - np.repeat(seg_start, seg_len)
        lo, hi = inst.group_size_min, max(inst.group_size_min, inst.group_size_max - 2)
        sizes = self.rng["clients"].integers(lo, hi + 1, len(members) + 1)
        cum = np.concatenate(([0], np.cumsum(sizes)))
        offset = self.rng["clients"].integers(0, len(members) + 1, len(seg_start))
        base = cum[offset]
        seg = np.repeat(np.arange(len(seg_start)), seg_len)
        local = np.searchsorted(cum, base[seg] + pos, side="right") - 1 - offset[seg]
        # a tail smaller than the minimum joins the group before it
        last_local = local[np.r_[seg_start[1:], len(members)] - 1]
        tail_start = cum[offset + last_local] - base
        tail_size = seg_len - tail_start
        merge = (tail_size < lo) & (last_local > 0)
        local = np.where(merge[seg] & (local == last_local[seg]), local - 1, local)
        key = seg * (len(members) + 1) + local
        _, group_no = np.unique(key, return_inverse=True)
        out[members] = group_no
        return out

    def _loan_state(self) -> None:
        L = self.loans
        wo = L["written_off_on"] != NO_DAY
        # payment days never decrease within a loan: all instalments are paid by the
        # snapshot when the last one is
        self.status = np.where(wo, WRITTEN_OFF, np.where(L["repaid"], REPAID, ACTIVE))

    # ---------------------------------------------------------------- tables
    def _branches_table(self) -> pd.DataFrame:
        sc = self.sc
        over = sc.problems["over_indebtedness"]
        schemes = []
        for bid, b in sc.branches.items():
            volume = self.effect["over_indebtedness"] > 0 and bid == over["branch"]
            schemes.append("disbursement_volume" if volume else b.incentive_scheme)
        self.branch_scheme = np.array(schemes, dtype=object)
        return pd.DataFrame({
            "branch_id": list(sc.branches),
            "name": [b.name for b in sc.branches.values()],
            "region": [b.region for b in sc.branches.values()],
            "rural": np.array([b.rural for b in sc.branches.values()], bool),
            "opened_on": _dates(np.array([_day(b.opened_on) for b in sc.branches.values()])),
            "incentive_scheme": schemes,
        })

    def _person_names(self, female: np.ndarray, pick: np.ndarray) -> Any:
        names = self.sc.names
        fem, mal, sur = list(names["female"]), list(names["male"]), list(names["surnames"])
        first = np.where(female, (pick[:, 0] * len(fem)).astype(int),
                         len(fem) + (pick[:, 0] * len(mal)).astype(int))
        last = (pick[:, 1] * len(sur)).astype(int)
        # every "first last" pair once, then one string per person taken from them
        return _combinations([fem + mal, sur], [first, last], lambda a, b: a + " " + b)

    def _officers_table(self) -> pd.DataFrame:
        n = len(self.off_id)
        has_branch = self.off_branch >= 0
        branch_ids = np.array(self.branch_ids + [None], dtype=object)
        scheme = np.where(has_branch, np.r_[self.branch_scheme, ["fixed_salary"]][
            self.off_branch], "fixed_salary")
        frame = pd.DataFrame({
            "officer_id": self.off_id,
            "branch_id": branch_ids[self.off_branch],
            "role": self.off_role,
            "name": self._person_names(self.off_female, self.off_name_pick),
            "gender": np.where(self.off_female, "female", "male").astype(object),
            "hired_on": _dates(self.off_hired),
            "incentive_scheme": scheme.astype(object),
            "methodology": self.off_method,
        }, index=np.arange(n)).sort_values("officer_id", kind="stable")  # head office first
        self.off_table_row = np.empty(n, np.int64)
        self.off_table_row[frame.index.to_numpy()] = np.arange(n)
        return frame

    def _products_table(self) -> pd.DataFrame:
        P = self.prod
        products = list(self.sc.products.values())
        frame = pd.DataFrame({
            "product_id": self.product_ids,
            "name": [p.name for p in products],
            "methodology": [p.methodology for p in products],
            "purpose": [p.purpose for p in products],
            "frequency": [p.frequency for p in products],
            "periods_per_year": P["periods_per_year"].astype(np.int64),
            "interest_method": [p.interest_method for p in products],
        })
        for f in ("rate_yearly", "upfront_fee", "fee_per_payment", "insurance",
                  "compulsory_savings", "savings_interest", "tax_on_interest"):
            frame[f] = np.round(P[f].astype(float), 6)
        frame["min_term"] = P["min_term"].astype(np.int64)
        frame["max_term"] = P["max_term"].astype(np.int64)
        frame["min_amount"] = P["min_amount"].astype(float)
        frame["max_amount"] = P["max_amount"].astype(float)
        frame["advertised_rate_monthly"] = [p.advertised_rate_monthly for p in products]
        frame["advertised_text"] = [p.advertised_text for p in products]
        frame["launched_on"] = _dates(P["launched"])
        return frame

    def _clients_table(self) -> pd.DataFrame:
        n = self.n
        names = self.sc.names
        # a village for rural clients, a ward of the branch town for urban ones
        villages = list(names["villages"])
        picks = int(self.village_pick.max(initial=0)) + 1
        places = villages + [b.name + " Ward " + str(k + 1) for b in self.sc.branches.values()
                             for k in range(picks)]
        place = np.where(self.rural, (self.branch * 5 + self.village_pick) % len(villages),
                         len(villages) + self.branch * picks + self.village_pick)
        village = _str(places).take(place)
        plot_lo = int(self.plot.min(initial=0))
        plots = [str(x) for x in range(plot_lo, int(self.plot.max(initial=0)) + 1)]
        address = _combinations([plots, places], [self.plot - plot_lo, place],
                                lambda plot, where: "Plot " + plot + ", " + where)
        national = (np.arange(1, n + 1, dtype=np.int64) * 7_990_271 + 123_456_789) % 10**9
        n_groups = int(self.groups.max()) + 1 if n else 0
        group_ids = _str(np.r_[_ids("G", n_groups, 5), [None]]).take(self.groups)
        self.client_id = _str(_ids("C", n, 6))
        return _frame({
            "client_id": self.client_id,
            "branch_id": self.branch_str.take(self.branch),
            "officer_id": self.off_str.take(self.client_officer),
            "group_id": group_ids,
            "name": self._person_names(self.female, self.name_pick),
            "national_id": _digit_strings("", national, 9),
            "phone": self._phones(),
            "address": address,
            "birth_date": _dates(self.joined - self.age_days),
            "gender": _str(["male", "female"]).take(self.female.astype(np.int64)),
            "rural": self.rural,
            "village": village,
            "language_group": _str(["majority", "minority"]).take(self.minority.astype(np.int64)),
            "household_size": self.household.astype(np.int64),
            "business_type": self.business,
            "monthly_income": self.income,
            "monthly_expenses": self.expenses,
            "joined_on": _dates(self.joined),
            "consent_data_sharing": self.consent,
        })

    def _phones(self) -> np.ndarray:
        phone = self.phone
        width = len(str(int(phone.min()))) if len(phone) else 0
        if len(phone) and phone.min() >= 0 and width == len(str(int(phone.max()))):
            return _digit_strings("+999 7", phone, width)  # all of one length
        return np.strings.add("+999 7", phone.astype(str)).astype(object)

    def _applications_table(self) -> pd.DataFrame:
        A, o = self.apps, self.app_order
        self.app_id = _str(_ids("A", len(o), 7))
        client = A["client"][o]
        self.links["application_client"] = client
        return _frame({
            "application_id": self.app_id,
            "client_id": self.client_id.take(client),
            "branch_id": self.branch_str.take(self.branch[client]),
            "officer_id": self.off_str.take(self.client_officer[client]),
            "product_id": self.product_str.take(A["product"][o]),
            "applied_on": _dates(A["day"][o]),
            "cycle": A["cycle"][o].astype(np.int64),
            "amount_requested": A["amount"][o].astype(float),
            "term": A["term"][o].astype(np.int64),
            "risk_score": A["score"][o],
            "dsr": A["dsr"][o],
            "bureau_checked": A["checked"][o].astype(bool),
            "other_lenders": A["other_lenders"][o].astype(np.int64),
            "decision": _str(["rejected", "approved"]).take(A["approved"][o].astype(np.int64)),
            "rejection_reason": _str(A["reason"][o]),
        })

    def _loans_and_schedule(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        L, R, P, o = self.loans, self.rows, self.prod, self.loan_order
        n_l = len(o)
        loan_ids = _ids("L", n_l, 7)
        self.loan_id = _str(loan_ids)
        prod = L["product"][o]
        term = L["term"][o]
        amount = L["amount"][o]
        ppy = P["periods_per_year"][prod]
        rate = P["rate_yearly"][prod]
        i = rate / ppy
        declining, balloon = P["declining"][prod], P["balloon"][prod]
        tax, fee_per_payment = P["tax_on_interest"][prod], P["fee_per_payment"][prod]
        status = self.status[o]
        stop = L["stop"][o]
        partial = L["partial"][o]
        # the instalment that got a partial payment on a stopped loan
        has_partial = (partial > 0) & (stop > 0)
        partial_k = np.maximum(stop, 1)
        # rows in the new loan order, block by block of whole loans
        starts_old = L["row_offset"][o]  # first row of each loan in its round's rows
        round_of_loan = L["round"][o]
        new_starts = np.concatenate(([0], np.cumsum(term)[:-1]))
        n_rows = int(term.sum())
        k_all = np.empty(n_rows, np.int64)
        due_at = np.empty(n_rows, np.int64)  # seconds, viewed as datetime64[s]
        paid_at = np.empty(n_rows, np.int64)
        pr_all, it_all, fe_all = (np.empty(n_rows) for _ in range(3))
        amount_paid_all = np.empty(n_rows)
        late_all = np.empty(n_rows, np.int64)
        unpaid_principal = np.empty(n_l)
        oldest = np.empty(n_l, np.int64)
        instalment = np.empty(n_l)
        maturity = np.empty(n_l, np.int64)
        reminders = []  # rows paid 7+ days late before any default: (loan, days late, due)
        for j0, j1 in _loan_blocks(new_starts, term, ROW_BLOCK):
            t = term[j0:j1]
            r0 = int(new_starts[j0])
            r1 = r0 + int(t.sum())
            lor = np.repeat(np.arange(j1 - j0), t)
            ls = new_starts[j0:j1] - r0
            k = k_all[r0:r1]  # the instalment number
            np.subtract(np.arange(r1 - r0), ls[lor], out=k)
            k += 1
            src = starts_old[j0:j1][lor] + (k - 1)
            round_of_row = round_of_loan[j0:j1][lor]
            due = np.empty(r1 - r0, np.int64)
            paid = np.empty(r1 - r0, np.int64)
            for rnd in np.unique(round_of_loan[j0:j1]):
                at = np.flatnonzero(round_of_row == rnd)
                due[at] = R[rnd]["due"][src[at]]
                paid[at] = R[rnd]["paid"][src[at]]
            del src, round_of_row
            pr, it, fe = _amounts.schedule_rows(
                amount[j0:j1], t, i[j0:j1], declining[j0:j1], balloon[j0:j1], tax[j0:j1],
                fee_per_payment[j0:j1], k, lor,
                out=(pr_all[r0:r1], it_all[r0:r1], fe_all[r0:r1]))
            total = pr + it + fe
            paid_ok = paid <= self.snap
            amount_paid = amount_paid_all[r0:r1]
            amount_paid.fill(0.0)
            np.copyto(amount_paid, total, where=paid_ok)
            hp = np.flatnonzero(has_partial[j0:j1])
            rows_p = ls[hp] + partial_k[j0:j1][hp] - 1
            amount_paid[rows_p] = np.round(total[rows_p] * partial[j0:j1][hp], 2)
            row_late = late_all[r0:r1]
            np.copyto(row_late, np.where(paid_ok, paid - due, np.maximum(self.snap - due, 0)))
            # loans on the snapshot date, from the schedule
            unpaid_principal[j0:j1] = np.bincount(lor, weights=np.where(paid_ok, 0.0, pr),
                                                  minlength=j1 - j0)
            overdue = ~paid_ok & (due < self.snap)
            first_overdue = np.full(j1 - j0, NEVER, np.int64)
            np.minimum.at(first_overdue, lor[overdue], due[overdue])
            oldest[j0:j1] = first_overdue
            instalment[j0:j1] = total[ls]
            maturity[j0:j1] = due[ls + t - 1]
            stop_row = stop[j0:j1][lor]
            before_stop = (stop_row == 0) | (k < stop_row)
            rem = np.flatnonzero(paid_ok & before_stop & (row_late >= 7))
            reminders.append((lor[rem] + j0, row_late[rem], due[rem]))
            np.multiply(due, DAY_S, out=due_at[r0:r1])
            paid_at[r0:r1] = NAT
            np.multiply(paid, DAY_S, out=paid_at[r0:r1], where=paid_ok)
        self.reminders = tuple(np.concatenate([r[c] for r in reminders]) if reminders
                               else np.zeros(0, np.int64) for c in range(3))
        self.rows.clear()  # the rows in simulation order are no longer needed
        schedule = _frame({
            "loan_id": pd.arrays.StringArray(np.repeat(loan_ids, term), dtype=_STR),
            "instalment_no": k_all,
            "due_on": due_at.view("M8[s]"),
            "principal_due": pr_all,
            "interest_due": it_all,
            "fees_due": fe_all,
            "paid_on": paid_at.view("M8[s]"),
            "amount_paid": amount_paid_all,
            "days_late": late_all,
        })
        active = status == ACTIVE
        days_late = np.where(active & (oldest < NEVER), self.snap - oldest, 0)
        savings = np.round(amount * P["compulsory_savings"][prod], 2)
        fee = np.round(amount * P["upfront_fee"][prod], 2)
        insurance = np.round(amount * P["insurance"][prod], 2)
        client = L["client"][o]
        restructured_on = L["restructured_on"][o]
        written_off_on = L["written_off_on"][o]
        self.loan_client = client
        self.links["loan_client"] = self.links["loan_client_rank"] = client
        self.loan_starts = new_starts
        self.loan_due_at = due_at
        self.loan_disb = L["disbursed"][o]
        self.loan_product = prod
        self.loan_written_off_on = written_off_on
        self.loan_resumed_on = L["resumed_on"][o]
        self.loan_stop = stop
        loans = _frame({
            "loan_id": self.loan_id,
            "application_id": self.app_id.take(self.loan_app[o]),
            "client_id": self.client_id.take(client),
            "branch_id": self.branch_str.take(self.branch[client]),
            "officer_id": self.off_str.take(self.client_officer[client]),
            "product_id": self.product_str.take(prod),
            "cycle": L["cycle"][o].astype(np.int64),
            "disbursed_on": _dates(L["disbursed"][o]),
            "amount": amount.astype(float),
            "term": term.astype(np.int64),
            "periods_per_year": ppy.astype(np.int64),
            "interest_method": _str(["flat", "declining"]).take(declining.astype(np.int64)),
            "rate_yearly": np.round(rate, 6),
            "upfront_fee": fee,
            "insurance_premium": insurance,
            "compulsory_savings": savings,
            "net_disbursed": np.round(amount - fee - insurance - savings, 2),
            "instalment": instalment,
            "maturity_on": _dates(maturity),
            "dsr_at_approval": L["dsr"][o],
            "key_facts_given": L["kfs"][o].astype(bool),
            "restructured": restructured_on != NO_DAY,
            "restructured_on": _dates(restructured_on),
            "written_off": written_off_on != NO_DAY,
            "written_off_on": _dates(written_off_on),
            "status": _str(STATUSES).take(status),
            "outstanding": np.where(active, np.round(unpaid_principal, 2), 0.0),
            "days_late": days_late.astype(np.int64),
        })
        return loans, schedule

    def _bureau_table(self) -> pd.DataFrame:
        keep = np.flatnonzero(self.rec_visible)
        order = keep[_lexsort((self.rec_open[keep], self.rec_client[keep]))]
        lenders = self.sc.lenders
        names = _str([x.name for x in lenders])
        types = _str([x.type for x in lenders])
        return _frame({
            "record_id": _str(_ids("R", len(order), 7)),
            "client_id": self.client_id.take(self.rec_client[order]),
            "lender": names.take(self.rec_lender[order]),
            "lender_type": types.take(self.rec_lender[order]),
            "opened_on": _dates(self.rec_open[order]),
            "closed_on": _dates(self.rec_close[order]),
            "amount": self.rec_amount[order],
            "monthly_payment": self.rec_payment[order],
            "worst_days_late": self.rec_worst[order].astype(np.int64),
        })

    # ---------------------------------------------------------------- collections
    def _collections(self) -> pd.DataFrame:
        rng, sc = self.rng["collections"], self.sc
        starts, stop = self.loan_starts, self.loan_stop
        # (a) instalments paid 7 or more days late before any default: one reminder
        a_loan, a_late, a_due = self.reminders
        a_off = 1 + (rng.random(len(a_loan)) * (a_late - 1)).astype(np.int64)
        a_day = a_due + a_off
        # (b) defaulted loans: repeated actions until write-off, restructuring or snapshot
        stopped = np.flatnonzero(stop > 0)
        s_row = starts[stopped] + stop[stopped] - 1
        due_stop = self.loan_due_at[s_row] // DAY_S
        end = np.full(len(stopped), self.snap)
        wo = self.loan_written_off_on[stopped]
        end = np.where(wo != NO_DAY, np.minimum(end, wo), end)
        rs = self.loan_resumed_on[stopped]
        end = np.where(rs != NO_DAY, np.minimum(end, rs), end)
        window = end - due_stop
        ok = window >= 3
        stopped, due_stop, window = stopped[ok], due_stop[ok], window[ok]
        count = np.minimum(1 + window // 14, 10)
        b_loan = np.repeat(stopped, count)
        b_off = 1 + (rng.random(len(b_loan)) * np.repeat(window - 1, count)).astype(np.int64)
        b_day = np.repeat(due_stop, count) + b_off
        loan = np.concatenate([a_loan, b_loan])
        day = np.concatenate([a_day, b_day])
        late = np.concatenate([a_off, b_off])
        client = self.loan_client[loan]
        officer = self.client_officer[client]
        m = len(loan)
        mgr = self.manager[self.branch[client]]
        to_mgr = (late > 60) & (mgr >= 0) & (rng.random(m) < 0.5)
        officer = np.where(to_mgr, mgr, officer)
        harsh = np.isin(officer, self.harsh)
        hp = sc.problems["harsh_collection"]
        e = self.effect["harsh_collection"]
        outside_p = np.where(harsh, _interp(0.03, hp["outside_hours_share"], e), 0.03)
        outside = rng.random(m) < outside_p
        secs = np.where(outside, _outside_seconds(rng, m), _working_seconds(rng, m))
        group_m = self.group[client]
        methods = np.array(["phone_call", "sms", "home_visit", "group_meeting",
                            "workplace_visit", "letter", "collateral_seizure"], dtype=object)
        w_group = np.array([0.25, 0.15, 0.25, 0.3, 0.0, 0.05, 0.0])
        w_indiv = np.array([0.35, 0.2, 0.25, 0.0, 0.05, 0.15, 0.0])
        w_harsh = np.array([0.0, 0.0, 0.45, 0.0, 0.3, 0.0, 0.25])
        normal = np.where(group_m, _choice(rng, w_group, m), _choice(rng, w_indiv, m))
        harsh_method = harsh & (rng.random(m) < hp["harsh_method_share"] * e)
        method = np.where(harsh_method, _choice(rng, w_harsh, m), normal)
        at = day * DAY_S + secs
        order = _lexsort((loan, at))
        self.col = {"loan": loan[order], "client": client[order], "officer": officer[order],
                    "at": at[order], "harsh": harsh[order], "day": day[order]}
        return _frame({
            "action_id": _str(_ids("X", m, 7)),
            "loan_id": self.loan_id.take(loan[order]),
            "client_id": self.client_id.take(client[order]),
            "officer_id": self.off_str.take(officer[order]),
            "action_at": _times(at[order]),
            "method": _str(methods).take(method[order]),
            "days_late": late[order].astype(np.int64),
        })

    # ---------------------------------------------------------------- complaints
    def _complaints(self, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        rng, sc = self.rng["complaints"], self.sc
        cfg = sc.complaints
        years = (self.snap - self.joined) / 365.0
        expected = cfg["per_1000_clients_year"] / 1000 * years.sum()
        nb = rng.poisson(expected)
        c_base = _choice(rng, years, nb) if nb else np.zeros(0, np.int64)
        d_base = self.joined[c_base] + (rng.random(nb) * (self.snap - self.joined[c_base])).astype(
            np.int64)
        cat_names = np.array(CATEGORIES, dtype=object)
        cat_w = np.array([cfg["categories"].get(c, 0.0) for c in CATEGORIES])
        cat_base = _choice(rng, cat_w, nb) if nb else np.zeros(0, np.int64)
        # collection actions lead to collection complaints, much more often for harsh officers
        hp = sc.problems["harsh_collection"]
        col = self.col
        p = np.where(col["harsh"], 0.004 + hp["complaint_share"] * self.effect["harsh_collection"],
                     0.004)
        hit = rng.random(len(p)) < p
        c_col = col["client"][hit]
        d_col = np.minimum(col["day"][hit] + rng.integers(0, 8, int(hit.sum())), self.snap)
        o_col = col["officer"][hit]
        # pricing complaints about the planted product
        pc = sc.problems["pricing_complaints"]
        pp = self.product_ids.index(pc["product"])
        on_p = np.flatnonzero((self.loan_product == pp) & (
            rng.random(len(self.loan_product)) < pc["complaint_share"] * self.effect[
                "pricing_complaints"]))
        d_pr = self.loan_disb[on_p] + rng.integers(7, 91, len(on_p))
        keep = d_pr <= self.snap
        on_p, d_pr = on_p[keep], d_pr[keep]
        c_pr = self.loan_client[on_p]
        client = np.concatenate([c_base, c_col, c_pr])
        day = np.concatenate([d_base, d_col, d_pr])
        cat = np.concatenate([cat_base, np.full(len(c_col), CATEGORIES.index(
            "collection_practices")), np.full(len(c_pr), CATEGORIES.index("pricing_fees"))])
        m = len(client)
        officer = np.full(m, -1, np.int64)
        staff_cat = np.isin(cat, [CATEGORIES.index(c) for c in (
            "collection_practices", "staff_conduct", "fraud")])
        officer[staff_cat] = self.client_officer[client[staff_cat]]
        officer[len(c_base): len(c_base) + len(c_col)] = o_col
        # product: the client's latest loan disbursed before the complaint
        product = np.full(m, -1, np.int64)
        prod_cat = np.isin(cat, [CATEGORIES.index(c) for c in (
            "pricing_fees", "insurance_claim", "service_delay")])
        key_loans = self.loan_client.astype(np.int64) * (4 * NEVER) + self.loan_disb
        order = np.argsort(key_loans, kind="stable")
        pos = np.searchsorted(key_loans[order], client * (4 * NEVER) + day, side="right") - 1
        valid = (pos >= 0) & (self.loan_client[order][np.maximum(pos, 0)] == client)
        latest = np.where(valid, order[np.maximum(pos, 0)], -1)
        has_loan = prod_cat & (latest >= 0)
        product[has_loan] = self.loan_product[latest[has_loan]]
        product[len(c_base) + len(c_col):] = pp
        ch_names = np.array(CHANNELS, dtype=object)
        ch_w = np.array([cfg["channels"].get(c, 0.0) for c in CHANNELS])
        channel = _choice(rng, ch_w, m)
        # handling: acknowledgement and resolution delays
        bp = sc.problems["complaints_backlog"]
        e = self.effect["complaints_backlog"]
        backlog = e > 0
        in_backlog = backlog & ((self.branch[client] == self.branch_ids.index(bp["branch"]))
                                | (channel == CHANNELS.index(bp["channel"])))
        slow = np.where(in_backlog, 1 + (bp["delay_multiplier"] - 1) * e, 1.0)
        unack = rng.random(m) < np.where(in_backlog, 0.02 + bp["unacknowledged_share"] * e, 0.02)
        ack_delay = np.floor((rng.geometric(0.45, m) - 1) * slow).astype(np.int64)
        res_delay = np.floor(np.exp(rng.normal(np.log(6), 0.7, m)) * slow).astype(np.int64)
        ack = np.where(unack, NO_DAY, day + ack_delay)
        res = np.where(unack, NO_DAY, day + np.maximum(ack_delay, res_delay))
        ack = np.where(ack > self.snap, NO_DAY, ack)
        res = np.where(res > self.snap, NO_DAY, res)
        open_ = res == NO_DAY
        upheld_harsh = np.isin(officer, self.harsh) & (cat == 0)
        u = rng.random(m)
        outcome = np.where(u < np.where(upheld_harsh, 0.6, 0.3), "upheld",
                           np.where(u < np.where(upheld_harsh, 0.8, 0.55), "partly_upheld",
                                    "not_upheld")).astype(object)
        outcome[open_] = "open"
        target = cfg["resolve_target_days"]
        slow_case = np.where(open_, self.snap - day > target, res - day > target)
        escalated = rng.random(m) < np.where(slow_case, 0.3, 0.03)
        order = _lexsort((client, day))
        self.cmp = {"client": client[order], "day": day[order], "ack": ack[order]}
        off_ids = _str(np.r_[self.off_id, [None]])
        prod_ids = _str(self.product_ids + [None])
        return _frame({
            "complaint_id": _str(_ids("K", m, 5)),
            "client_id": self.client_id.take(client[order]),
            "branch_id": self.branch_str.take(self.branch[client[order]]),
            "officer_id": off_ids.take(officer[order]),
            "product_id": prod_ids.take(product[order]),
            "channel": _str(ch_names).take(channel[order]),
            "category": _str(cat_names).take(cat[order]),
            "received_on": _dates(day[order]),
            "acknowledged_on": _dates(ack[order]),
            "resolved_on": _dates(res[order]),
            "outcome": _str(outcome[order]),
            "escalated": escalated[order],
        })

    # ---------------------------------------------------------------- access log
    def _access_log(self, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        rng, sc = self.rng["access_log"], self.sc
        A, o = self.apps, self.app_order
        parts = []
        purposes = np.array(["loan_appraisal", "collection", "customer_service", "audit",
                             "reporting", None], dtype=object)
        actions = np.array(["view", "edit", "export"], dtype=object)
        # appraisal views and disbursement edits
        app_client = A["client"][o]
        na = len(app_client)
        parts.append((self.client_officer[app_client], app_client,
                      A["day"][o] * DAY_S + _working_seconds(rng, na), np.zeros(na, int),
                      np.zeros(na, int)))
        nl = len(self.loan_client)
        parts.append((self.client_officer[self.loan_client], self.loan_client,
                      self.loan_disb * DAY_S + _working_seconds(rng, nl), np.ones(nl, int),
                      np.zeros(nl, int)))
        # collection look-ups shortly before each action
        col = self.col
        nc = len(col["client"])
        parts.append((col["officer"], col["client"], col["at"] - rng.integers(60, 3600, nc),
                      np.zeros(nc, int), np.ones(nc, int)))
        # complaint handling by the branch manager (or the client's officer)
        cmp = self.cmp
        reps = sc.access_log["service_views_per_complaint"]
        cc = np.repeat(cmp["client"], reps)
        mgr = self.manager[self.branch[cc]]
        handler = np.where(mgr >= 0, mgr, self.client_officer[cc])
        parts.append((handler, cc, np.repeat(cmp["day"], reps) * DAY_S + _working_seconds(
            rng, len(cc)), np.zeros(len(cc), int), np.full(len(cc), 2)))
        # head-office audits and reporting
        months = max(1, (self.snap - self.start) // 30)
        na_ = sc.access_log["audit_events_per_month"] * months
        head = np.flatnonzero(self.off_role == "head_office")
        a_day = rng.integers(self.start, self.snap + 1, na_)
        joined_by = np.searchsorted(self.joined, a_day, side="right")
        ok = joined_by > 0
        a_day, joined_by = a_day[ok], joined_by[ok]
        a_client = (rng.random(len(a_day)) * joined_by).astype(np.int64)
        export = rng.random(len(a_day)) < 0.3
        parts.append((head[rng.integers(0, len(head), len(a_day))], a_client,
                      a_day * DAY_S + _working_seconds(rng, len(a_day)),
                      np.where(export, 2, 0), np.where(export, 4, 3)))
        officer = np.concatenate([p[0] for p in parts])
        client = np.concatenate([p[1] for p in parts])
        at = np.concatenate([p[2] for p in parts])
        action = np.concatenate([p[3] for p in parts])
        purpose = np.concatenate([p[4] for p in parts])
        m = len(officer)
        # honest noise: a missing purpose, an evening look-up, a colleague from another branch
        purpose = np.where(rng.random(m) < 0.03, 5, purpose)
        stray = rng.random(m) < sc.access_log["stray_event_share"]
        evening = stray & (rng.random(m) < 0.5)
        at = np.where(evening, (at // DAY_S) * DAY_S + rng.integers(18 * 3600, 22 * 3600, m), at)
        loan_officers = np.flatnonzero(self.off_role == "loan_officer")
        other = stray & ~evening
        officer = np.where(other, loan_officers[rng.integers(0, len(loan_officers), m)], officer)
        purpose = np.where(other, 2, purpose)
        # the planted snooper: records of other branches, at night, exported without purpose
        up = sc.problems["unauthorised_access"]
        ns = int(round(up["records"] * self.effect["unauthorised_access"]))
        s_day = rng.integers(self.snap - 180, self.snap + 1, ns)
        night = rng.random(ns) < up["night_share"]
        s_sec = np.where(night, (22 * 3600 + rng.integers(0, 7 * 3600, ns)) % DAY_S,
                         rng.integers(18 * 3600, 22 * 3600, ns))
        joined_by = np.searchsorted(self.joined, s_day, side="right")
        cand = (rng.random((ns, 8)) * joined_by[:, None]).astype(np.int64)
        own_branch = self.off_branch[self.spy]
        outside = self.branch[cand] != own_branch
        first_out = outside.argmax(axis=1)
        s_client = cand[np.arange(ns), first_out]
        good = outside[np.arange(ns), first_out]
        s_client, s_day, s_sec = s_client[good], s_day[good], s_sec[good]
        ns = len(s_client)
        s_action = np.where(rng.random(ns) < up["export_share"], 2, 0)
        officer = np.concatenate([officer, np.full(ns, self.spy)])
        client = np.concatenate([client, s_client])
        at = np.concatenate([at, s_day * DAY_S + s_sec])
        action = np.concatenate([action, s_action])
        purpose = np.concatenate([purpose, np.full(ns, 5)])
        order = _lexsort((client, officer, at))
        self.links["access_client"] = client[order]
        self.links["access_officer"] = self.off_table_row[officer[order]]
        return _frame({
            "event_id": _str(_ids("E", len(order), 7)),
            "accessed_at": _times(at[order]),
            "officer_id": self.off_str.take(officer[order]),
            "client_id": self.client_id.take(client[order]),
            "action": _str(actions).take(action[order]),
            "purpose": _str(purposes).take(purpose[order]),
        })
