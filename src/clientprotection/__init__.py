"""Client protection course: a synthetic microfinance institution and the analytics to study it.

>>> from clientprotection import load_mfi
>>> mfi = load_mfi()            # doctest: +SKIP
>>> sorted(mfi)[:3]             # doctest: +SKIP
['access_log', 'applications', 'branches']
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["load_mfi", "__version__"]


def __getattr__(name: str):  # lazy import keeps `import clientprotection` cheap
    if name == "load_mfi":
        from clientprotection.data import load_mfi

        return load_mfi
    raise AttributeError(name)
