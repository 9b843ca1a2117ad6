"""Privacy of client data: find personal data, pseudonymise, generalise, check k-anonymity,
and audit who looked at which client record.

The client protection standards ask for security, confidentiality and consent but set no
anonymity rule; keyed pseudonymisation, k-anonymity (Sweeney 2002: every combination of
quasi-identifier values is shared by at least k records) and l-diversity (Machanavajjhala et
al. 2007: at least l distinct sensitive values in each such class) are good data practice
before data leave the MFI.

Examples
--------
>>> import pandas as pd
>>> people = pd.DataFrame({"age_band": ["20-29", "20-29", "30-39"],
...     "village": ["A", "A", "B"]})
>>> k_anonymity(people, ["age_band", "village"])
1
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clientprotection._validation import (
    as_list,
    require_columns,
    require_frame,
    to_datetime,
    to_timestamp,
)

__all__ = [
    "PERSONAL_NAME_PATTERNS",
    "access_summary",
    "age_band",
    "audit_access_log",
    "coarsen",
    "equivalence_classes",
    "income_band",
    "k_anonymity",
    "l_diversity",
    "personal_columns",
    "pseudonymise",
    "pseudonymise_columns",
    "rows_at_risk",
    "suppress_to_k",
    "truncate",
]


# ---------------------------------------------------------------------------------------------
# pseudonymisation


def _key_bytes(key: str | bytes) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes):
        raise TypeError(f"key must be str or bytes, got {type(key).__name__}.")
    if len(key) < 8:
        raise ValueError("key is too short: use a secret of at least 8 characters (ideally 32 "
                         "random bytes, e.g. secrets.token_hex(32)), kept out of the data.")
    return key


def pseudonymise(
    values: pd.Series | Sequence[Any],
    key: str | bytes,
    *,
    length: int = 16,
    prefix: str = "",
) -> pd.Series:
    """Replace identifiers with keyed pseudonyms: HMAC-SHA256 of the value, hex, truncated.

    The same value and key always give the same pseudonym (so tables can still be joined);
    without the key the pseudonym cannot be recomputed from a guessed value, unlike a plain
    hash of a national ID or phone number. Missing values stay missing. Each distinct value is
    hashed once.

    Parameters
    ----------
    values : Series or sequence
        Identifiers (converted to ``str``).
    key : str or bytes
        Secret key, at least 8 characters; keep it apart from the shared data.
    length : int, default 16
        Hex characters kept (4 bits each; 16 gives 64 bits, collisions are negligible for
        millions of values).
    prefix : str
        Put in front of every pseudonym, e.g. ``"P"``.

    Examples
    --------
    >>> pseudonymise(["C000001", "C000002", "C000001"], key="course-secret-key", length=8,
    ...              prefix="P").tolist()
    ['P8db7f62d', 'Pf8d45314', 'P8db7f62d']
    """
    secret = _key_bytes(key)
    if not isinstance(length, int) or not 1 <= length <= 64:
        raise ValueError(f"length must be a whole number from 1 to 64, got {length!r}.")
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    base = hmac.new(secret, digestmod=hashlib.sha256)

    def digest(value: Any) -> str:
        mac = base.copy()
        mac.update(str(value).encode("utf-8"))
        return prefix + mac.hexdigest()[:length]

    # hmac has no vector API: hash each distinct value once, then broadcast by position
    hashed = np.array([digest(v) for v in uniques] + [None], dtype=object)
    return pd.Series(hashed[codes], index=series.index, name=series.name, dtype="string")


def pseudonymise_columns(
    frame: pd.DataFrame,
    columns: Hashable | Sequence[Hashable],
    key: str | bytes,
    **options: Any,
) -> pd.DataFrame:
    """Copy of ``frame`` with ``columns`` pseudonymised by :func:`pseudonymise`.

    Use the same key for every table so that ``client_id`` still joins them.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"client_id": ["C1", "C2"], "amount": [100, 200]})
    >>> pseudonymise_columns(frame, "client_id", "course-secret-key", length=6).columns.tolist()
    ['client_id', 'amount']
    """
    require_frame(frame, "frame")
    cols = as_list(columns)
    require_columns(frame, cols, "frame")
    out = frame.copy()
    for column in cols:
        out[column] = pseudonymise(frame[column], key, **options)
    return out


# ---------------------------------------------------------------------------------------------
# generalisation


def age_band(birth_dates: pd.Series, as_of: Any, *, width: int = 10,
             top: int | None = 70) -> pd.Series:
    """Age on ``as_of`` in bands of ``width`` years, e.g. ``'30-39'``; ``'70+'`` from ``top``.

    Examples
    --------
    >>> import pandas as pd
    >>> births = pd.Series(pd.to_datetime(["1990-06-15", "1990-06-16", "1940-01-01"]))
    >>> age_band(births, "2020-06-15").tolist()
    ['30-39', '20-29', '70+']
    """
    if not isinstance(birth_dates, pd.Series):
        raise TypeError("birth_dates must be a pandas Series of dates.")
    if width < 1:
        raise ValueError(f"width must be at least 1 year, got {width}.")
    stamp = to_timestamp(as_of, "as_of")
    born = to_datetime(birth_dates, "birth_dates")
    had_birthday = (born.dt.month < stamp.month) | (
        (born.dt.month == stamp.month) & (born.dt.day <= stamp.day))
    age = stamp.year - born.dt.year - (~had_birthday).astype(int)
    low = (age // width) * width
    labels = low.astype("Int64").astype("string") + "-" + (low + width - 1).astype(
        "Int64").astype("string")
    if top is not None:
        labels = labels.where(age < top, f"{top}+")
    return labels.where(born.notna()).rename("age_band")


def income_band(values: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Put amounts into bands between ``edges`` (left-closed), labelled ``'1000-1999'``-style.

    Values below the first edge get ``'<first'`` and from the last edge ``'last+'``.

    Examples
    --------
    >>> import pandas as pd
    >>> income_band(pd.Series([500, 1000, 2500, 9000]), [1000, 2000, 5000]).tolist()
    ['<1000', '1000-1999', '2000-4999', '5000+']
    """
    if not isinstance(values, pd.Series) or not pd.api.types.is_numeric_dtype(values.dtype):
        raise TypeError("values must be a numeric pandas Series.")
    cuts = [float(e) for e in edges]
    if len(cuts) < 1 or cuts != sorted(set(cuts)):
        raise ValueError(f"edges must be increasing numbers, got {list(edges)}.")

    def fmt(x: float) -> str:
        return f"{x:g}"

    labels = [f"<{fmt(cuts[0])}"]
    labels += [f"{fmt(a)}-{fmt(b - 1)}" for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    labels.append(f"{fmt(cuts[-1])}+")
    bands = pd.cut(values, bins=[-np.inf, *cuts, np.inf], labels=labels, right=False)
    return bands.astype("string").rename(values.name)


def truncate(values: pd.Series, *, keep_start: int = 0, keep_end: int = 0,
             mask: str = "*") -> pd.Series:
    """Mask the middle of identifiers or phone numbers, keeping a few characters.

    Examples
    --------
    >>> import pandas as pd
    >>> truncate(pd.Series(["0712345678"]), keep_start=3, keep_end=2).tolist()
    ['071*****78']
    """
    if not isinstance(values, pd.Series):
        raise TypeError("values must be a pandas Series.")
    if keep_start < 0 or keep_end < 0:
        raise ValueError("keep_start and keep_end must be 0 or more.")
    text = values.astype("string")
    lengths = text.str.len()
    head = text.str.slice(0, keep_start)
    tail = text.str.slice(-keep_end) if keep_end else pd.Series("", index=text.index,
                                                               dtype="string")
    hidden = (lengths - keep_start - keep_end).clip(lower=0)
    masked = head + pd.Series([mask], dtype="string").repeat(len(text)).set_axis(
        text.index).str.repeat(hidden.fillna(0).astype(int)) + tail
    return masked.where(text.notna())


def coarsen(values: pd.Series, mapping: Mapping[Any, Any] | pd.Series, *,
            other: Any = None) -> pd.Series:
    """Replace fine values by coarser ones (villages by regions) through ``mapping``.

    Unmapped values raise an error unless ``other`` gives a catch-all value.

    Examples
    --------
    >>> import pandas as pd
    >>> coarsen(pd.Series(["Kampong A", "Kampong B"]), {"Kampong A": "North",
    ...     "Kampong B": "North"}).tolist()
    ['North', 'North']
    """
    if not isinstance(values, pd.Series):
        raise TypeError("values must be a pandas Series.")
    lookup = mapping if isinstance(mapping, pd.Series) else pd.Series(dict(mapping))
    result = values.map(lookup)
    unmapped = result.isna() & values.notna()
    if unmapped.any():
        if other is None:
            examples = list(pd.unique(values[unmapped])[:5])
            raise ValueError(f"No coarser value for {examples}; extend the mapping or pass "
                             "other='...'.")
        result = result.where(~unmapped, other)
    return result


# ---------------------------------------------------------------------------------------------
# k-anonymity and l-diversity


def _class_sizes(frame: pd.DataFrame, quasi_identifiers: Sequence[Hashable]) -> pd.Series:
    require_frame(frame, "frame")
    qis = as_list(quasi_identifiers)
    if not qis:
        raise ValueError("Give at least one quasi-identifier column.")
    require_columns(frame, qis, "frame")
    # missing values form their own class (dropna=False), as a suppressed cell would
    return frame.groupby(qis, observed=True, dropna=False)[qis[0]].transform("size")


def equivalence_classes(
    frame: pd.DataFrame,
    quasi_identifiers: Sequence[Hashable],
    sensitive: Hashable | None = None,
) -> pd.DataFrame:
    """Each combination of quasi-identifier values with its size (and distinct sensitive values).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"zip": ["130**", "130**", "148**"],
    ...     "disease": ["flu", "hiv", "flu"]})
    >>> equivalence_classes(frame, ["zip"], "disease")["distinct_sensitive"].tolist()
    [1, 2]
    """
    _class_sizes(frame, quasi_identifiers)
    qis = as_list(quasi_identifiers)
    grouped = frame.groupby(qis, observed=True, dropna=False)
    out = grouped.size().rename("size").to_frame()
    if sensitive is not None:
        require_columns(frame, [sensitive], "frame")
        out["distinct_sensitive"] = grouped[sensitive].nunique(dropna=False)
    return out.sort_values("size")


def k_anonymity(frame: pd.DataFrame, quasi_identifiers: Sequence[Hashable]) -> int:
    """The k of a table: size of its smallest equivalence class over the quasi-identifiers.

    A table is k-anonymous when every record shares its quasi-identifier values with at least
    k - 1 others (Sweeney 2002).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": ["<30", "<30", "3*", "3*"], "zip": ["130**"] * 4})
    >>> k_anonymity(frame, ["age", "zip"])
    2
    """
    return int(_class_sizes(frame, quasi_identifiers).min())


def rows_at_risk(frame: pd.DataFrame, quasi_identifiers: Sequence[Hashable],
                 k: int) -> pd.Series:
    """Boolean mask of rows in an equivalence class smaller than ``k``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"village": ["A", "A", "B"]})
    >>> rows_at_risk(frame, ["village"], 2).tolist()
    [False, False, True]
    """
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, got {k!r}.")
    return (_class_sizes(frame, quasi_identifiers) < k).rename("at_risk")


def suppress_to_k(frame: pd.DataFrame, quasi_identifiers: Sequence[Hashable],
                  k: int) -> pd.DataFrame:
    """Drop the rows at risk so that the rest is k-anonymous (record suppression).

    Dropping whole classes never shrinks another class, so the result is k-anonymous (or
    empty). Generalise first (:func:`age_band`, :func:`coarsen`) to suppress fewer rows.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"village": ["A", "A", "B"]})
    >>> len(suppress_to_k(frame, ["village"], 2))
    2
    """
    return frame.loc[~rows_at_risk(frame, quasi_identifiers, k).to_numpy()]


def l_diversity(frame: pd.DataFrame, quasi_identifiers: Sequence[Hashable],
                sensitive: Hashable) -> int:
    """Distinct l-diversity: the fewest distinct sensitive values in any equivalence class.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"zip": ["130**", "130**", "148**", "148**"],
    ...     "arrears": ["yes", "no", "no", "no"]})
    >>> l_diversity(frame, ["zip"], "arrears")   # everyone in 148** is known to be current
    1
    """
    return int(equivalence_classes(frame, quasi_identifiers, sensitive)[
        "distinct_sensitive"].min())


# ---------------------------------------------------------------------------------------------
# finding personal data

PERSONAL_NAME_PATTERNS: dict[str, str] = {
    "name": r"(^|_)(full_?)?(first_?|last_?|sur|given_?|family_?)?name$",
    "national ID": r"national_?id|(^|_)nid$|passport|id_?card|(^|_)ssn$|identity",
    "phone": r"phone|mobile|msisdn|(^|_)tel$|telephone",
    "address": r"address|street|landmark|(^|_)gps|latitude|longitude|village",
    "birth date": r"birth|(^|_)dob$",
    "email": r"e_?mail",
}
"""Regular expressions (on lower-case column names) that suggest personal data."""

_VALUE_PATTERNS: dict[str, str] = {
    "email": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$",
    "phone": r"^\+?[\d\s\-()]{9,15}$",
}


def personal_columns(frame: pd.DataFrame, table: str | None = None) -> pd.DataFrame:
    """Columns that hold (or look like) personal data, with the reason.

    Three signals: the column is flagged ``personal=True`` in :mod:`clientprotection.schema`
    for ``table``; its name matches :data:`PERSONAL_NAME_PATTERNS`; or most of its text values
    look like e-mail addresses or phone numbers.

    Parameters
    ----------
    frame : DataFrame
    table : str, optional
        Name of the course table (e.g. ``"clients"``) to use the schema's flags.

    Returns
    -------
    DataFrame
        ``column``, ``kind`` and ``reason`` (``'schema'``, ``'name'`` or ``'values'``).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"client_id": ["C1"], "mobile_no": ["0712 345 678"],
    ...     "amount": [100]})
    >>> personal_columns(frame)["column"].tolist()
    ['mobile_no']
    """
    require_frame(frame, "frame", allow_empty=True)
    found: dict[Hashable, tuple[str, str]] = {}
    if table is not None:
        from clientprotection.schema import TABLES

        if table not in TABLES:
            raise ValueError(f"Unknown table {table!r}; known tables: {', '.join(TABLES)}.")
        for fld in TABLES[table].fields:
            if fld.personal and fld.name in frame.columns:
                found[fld.name] = ("personal data (schema)", "schema")
    for column in frame.columns:
        if column in found:
            continue
        lowered = str(column).lower()
        for kind, pattern in PERSONAL_NAME_PATTERNS.items():
            if re.search(pattern, lowered):
                found[column] = (kind, "name")
                break
        else:
            values = frame[column]
            if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
                sample = values.dropna().astype(str).head(200).str.strip().str.lower()
                for kind, pattern in _VALUE_PATTERNS.items():
                    if len(sample) and sample.str.match(pattern).mean() > 0.8:
                        found[column] = (kind, "values")
                        break
    rows = [(c, kind, reason) for c, (kind, reason) in found.items()]
    return pd.DataFrame(rows, columns=["column", "kind", "reason"])


# ---------------------------------------------------------------------------------------------
# access-log audit


def audit_access_log(
    access_log: pd.DataFrame,
    officers: pd.DataFrame,
    clients: pd.DataFrame,
    *,
    work_start: int = 8,
    work_end: int = 18,
    weekmask: str = "Mon Tue Wed Thu Fri Sat",
    allowed_other_branch_roles: Sequence[str] = ("head_office",),
) -> pd.DataFrame:
    """Flag access events worth a second look.

    Flags per event:

    * ``outside_hours``: before ``work_start`` o'clock, at or after ``work_end``, or on a day
      not in ``weekmask``;
    * ``other_branch``: the staff member's branch differs from the client's home branch (staff
      whose role is in ``allowed_other_branch_roles``, or who have no branch, are exempt);
    * ``export``: the action is ``'export'``;
    * ``missing_purpose``: no purpose entered;
    * ``flagged``: any of these.

    Parameters
    ----------
    access_log : DataFrame
        ``officer_id``, ``client_id``, ``accessed_at``, ``action``, ``purpose``.
    officers : DataFrame
        ``officer_id``, ``branch_id`` (``role`` used when present).
    clients : DataFrame
        ``client_id``, ``branch_id``.

    Returns
    -------
    DataFrame
        ``access_log`` with ``staff_branch``, ``client_branch`` and the flags added.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"event_id": ["E1", "E2"], "officer_id": ["O1", "O1"],
    ...     "client_id": ["C1", "C2"], "action": ["view", "export"],
    ...     "purpose": ["collection", None],
    ...     "accessed_at": pd.to_datetime(["2024-03-04 10:00", "2024-03-04 22:30"])})
    >>> officers = pd.DataFrame({"officer_id": ["O1"], "branch_id": ["B1"]})
    >>> clients = pd.DataFrame({"client_id": ["C1", "C2"], "branch_id": ["B1", "B2"]})
    >>> audit = audit_access_log(log, officers, clients)
    >>> audit[["outside_hours", "other_branch", "export", "missing_purpose"]].sum().tolist()
    [1, 1, 1, 1]
    """
    require_frame(access_log, "access_log")
    require_frame(officers, "officers")
    require_frame(clients, "clients")
    require_columns(access_log, ["officer_id", "client_id", "accessed_at", "action", "purpose"],
                    "access_log")
    require_columns(officers, ["officer_id", "branch_id"], "officers")
    require_columns(clients, ["client_id", "branch_id"], "clients")
    if not (0 <= work_start < work_end <= 24):
        raise ValueError(f"Working hours must satisfy 0 <= work_start < work_end <= 24, got "
                         f"{work_start} to {work_end}.")
    when = to_datetime(access_log["accessed_at"], "access_log['accessed_at']")
    staff = officers.set_index("officer_id")
    staff_branch = access_log["officer_id"].map(staff["branch_id"])
    client_branch = access_log["client_id"].map(clients.set_index("client_id")["branch_id"])
    exempt = staff_branch.isna()
    if "role" in officers.columns:
        role = access_log["officer_id"].map(staff["role"]).astype("string")
        exempt |= role.isin(list(allowed_other_branch_roles)).fillna(False)
    hour = when.dt.hour + when.dt.minute / 60.0
    workday = np.is_busday(when.to_numpy().astype("datetime64[D]"), weekmask=weekmask)
    out = access_log.copy()
    out["staff_branch"] = staff_branch.astype("string")
    out["client_branch"] = client_branch.astype("string")
    out["outside_hours"] = ((hour < work_start) | (hour >= work_end)).to_numpy() | ~workday
    out["other_branch"] = (~exempt & (out["staff_branch"] != out["client_branch"])).fillna(
        False).to_numpy(dtype=bool)
    out["export"] = (access_log["action"].astype("string") == "export").fillna(False).to_numpy(
        dtype=bool)
    purpose = access_log["purpose"].astype("string").str.strip()
    out["missing_purpose"] = (purpose.isna() | (purpose == "")).to_numpy(dtype=bool)
    out["flagged"] = out[["outside_hours", "other_branch", "export", "missing_purpose"]].any(
        axis=1)
    return out


def access_summary(audit: pd.DataFrame, by: Hashable | Sequence[Hashable] = "officer_id",
                   ) -> pd.DataFrame:
    """Events and flags per staff member (or other grouping), most flagged first.

    Examples
    --------
    >>> import pandas as pd
    >>> audit = pd.DataFrame({"officer_id": ["O1", "O1", "O2"], "outside_hours": [True, False,
    ...     False], "other_branch": [True, False, False], "export": [False] * 3,
    ...     "missing_purpose": [False] * 3, "flagged": [True, False, False]})
    >>> access_summary(audit).loc["O1", "share_flagged"]
    np.float64(0.5)
    """
    flags = ["outside_hours", "other_branch", "export", "missing_purpose", "flagged"]
    require_frame(audit, "audit")
    by_cols = as_list(by)
    require_columns(audit, [*by_cols, *flags], "audit (the output of audit_access_log)")
    grouped = audit[flags].astype(int).groupby([audit[c] for c in by_cols], observed=True)
    out = grouped.sum()
    out.insert(0, "events", grouped.size())
    out["share_flagged"] = out["flagged"] / out["events"]
    return out.sort_values(["flagged", "share_flagged"], ascending=False)
