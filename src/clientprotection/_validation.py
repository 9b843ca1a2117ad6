"""Shared input checks for the analytics modules.

Every public analytics function checks its input here first, so that a learner who passes the
wrong table, a misspelt column or an empty selection gets a message that says what is wrong and
what to do, instead of a ``KeyError`` deep inside pandas.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd


def require_frame(frame: Any, name: str, *, allow_empty: bool = False) -> pd.DataFrame:
    """Check that ``frame`` is a non-empty DataFrame and return it."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame, got {type(frame).__name__}. "
            f"Pass the table itself, e.g. mfi[{name!r}] from clientprotection.load_mfi()."
        )
    if not allow_empty and len(frame) == 0:
        raise ValueError(
            f"{name} is empty (0 rows): there is nothing to compute. Check the filter that "
            "produced it (dates, branch, product) and pass a table with at least one row."
        )
    return frame


def as_list(columns: Hashable | Sequence[Hashable] | None) -> list[Hashable]:
    """Turn ``None``, one column name or a list of names into a list."""
    if columns is None:
        return []
    if isinstance(columns, str) or not isinstance(columns, Iterable):
        return [columns]
    return list(columns)


def require_columns(frame: pd.DataFrame, columns: Iterable[Hashable], name: str) -> None:
    """Raise a ValueError naming every missing column and the columns that exist."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        available = ", ".join(map(str, frame.columns[:30]))
        more = " ..." if len(frame.columns) > 30 else ""
        raise ValueError(
            f"{name} has no column(s) {', '.join(map(repr, missing))}. "
            f"Available columns: {available}{more}. Pass the table that holds them, or give "
            "the right column name with the matching keyword argument."
        )


def require_numeric(frame: pd.DataFrame, columns: Iterable[Hashable], name: str) -> None:
    """Raise a TypeError for each column that is not numeric (booleans are not accepted)."""
    for column in columns:
        dtype = frame[column].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise TypeError(
                f"{name}[{column!r}] must be numeric, found dtype {dtype}. Convert it first, "
                f"e.g. pd.to_numeric({name}[{column!r}])."
            )


def to_datetime(values: pd.Series, label: str) -> pd.Series:
    """Return ``values`` as datetime64, converting ISO date strings; NaT for empty cells."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    try:
        return pd.to_datetime(values, errors="raise", format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise TypeError(
            f"{label} must hold dates (datetime64 or ISO strings like '2024-03-31'): {exc}"
        ) from exc


def to_timestamp(value: Any, label: str) -> pd.Timestamp:
    """Convert one date-like value to a Timestamp, with a clear error."""
    if value is None:
        raise ValueError(f"{label} is required: give a date such as '2024-12-31'.")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{label} must be a date such as '2024-12-31', got {value!r}.") from exc
    if pd.isna(stamp):
        raise ValueError(f"{label} must be a date, got a missing value.")
    return stamp


def to_bool(values: pd.Series, label: str) -> np.ndarray:
    """Return a boolean array; missing values count as False, strings 'true'/'false' accepted."""
    # np.array(...) copies: arrays from pandas may be read-only under copy-on-write
    if pd.api.types.is_bool_dtype(values.dtype):
        return np.array(values.fillna(False), dtype=bool)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return np.array(values.fillna(0)) != 0
    lowered = values.astype("string").str.strip().str.lower()
    known = lowered.isin(["true", "false", "1", "0", "yes", "no"]) | lowered.isna()
    if not known.all():
        example = values[~known.to_numpy()].iloc[0]
        raise TypeError(f"{label} must be boolean (True/False), found {example!r}.")
    return lowered.isin(["true", "1", "yes"]).to_numpy(dtype=bool)


def require_fraction(value: float, label: str, *, allow_one: bool = False) -> float:
    """Check a number strictly between 0 and 1 (or up to 1 with ``allow_one``)."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{label} must be a number between 0 and 1, got {value!r}.") from exc
    upper_ok = number <= 1 if allow_one else number < 1
    if not (0 < number and upper_ok):
        raise ValueError(f"{label} must be between 0 and 1, got {value!r}.")
    return number
