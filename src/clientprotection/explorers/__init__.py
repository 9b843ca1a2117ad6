"""The logic behind the interactive explorers of the course modules, as plain functions.

A module notebook wires an ipywidgets control (a slider, a dropdown) to one function of this
package and shows the table or chart it returns. The function itself knows nothing about
widgets: it takes the MFI's tables (as returned by :func:`clientprotection.load_mfi`) and the
control's value, returns a :class:`pandas.DataFrame` or a ``dict`` of plain numbers, and is
tested like any other library function (small hand-made frames with hand-computed values, and
properties on the real data such as monotonicity in the control's value).

Conventions every explorer module follows:

- one module per course module, named after its topic (``overindebtedness``, ``transparency``);
- inputs are validated with :mod:`clientprotection._validation`, so a wrong table or a value
  outside the control's range raises an error that says what to pass instead;
- the returned numbers are fractions for shares and rates (the notebook formats them);
- no printing, no plotting, no widget import: the notebook does the display, so the logic runs
  the same in tests, in a script and behind a slider.

Examples
--------
>>> from clientprotection.explorers import overindebtedness  # doctest: +SKIP
>>> overindebtedness.dsr_cap_impact(mfi["loans"], cap=0.75)["blocked_share"]  # doctest: +SKIP
0.18
"""

from __future__ import annotations

__all__: list[str] = []
