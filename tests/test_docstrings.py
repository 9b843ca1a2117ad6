"""Every public function documents itself with a worked example, and the examples run."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import clientprotection

# Modules whose public functions are the library's API (numpy-style docstrings with Examples).
API_MODULES = [
    "clientprotection.pricing",
    "clientprotection.portfolio",
    "clientprotection.indebtedness",
    "clientprotection.complaints",
    "clientprotection.privacy",
    "clientprotection.fairness",
    "clientprotection.data",
    "clientprotection.synth",
    "clientprotection.explorers.overindebtedness",
    "clientprotection.explorers.transparency",
    "clientprotection.selfcheck",
]

ALL_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(clientprotection.__path__, "clientprotection.")
    if not info.name.endswith("__main__")
)


def _public_functions(module):
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name, None)
        if inspect.isfunction(obj) and obj.__module__.startswith(module.__name__):
            yield name, obj


@pytest.mark.parametrize("name", API_MODULES)
def test_public_functions_have_a_worked_example(name):
    module = importlib.import_module(name)
    missing = [fname for fname, fn in _public_functions(module)
               if "Examples" not in (inspect.getdoc(fn) or "")]
    assert not missing, f"{name}: public functions without an Examples section: {missing}"


@pytest.mark.parametrize("name", ALL_MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} docstring example(s) failed"
