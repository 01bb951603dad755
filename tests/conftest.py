"""Test-wide settings: the IR verifier is on for every trace and pass; the summary line always
prints; NumPy 1.x oracles can opt into NumPy 2's promotion (the ``nep50`` fixture)."""

import numpy as np
import pytest

import graphc.config

graphc.config.verify_ir = True

# Hypothesis profiles. No per-example deadline anywhere: the first example of a new shape pays for
# tracing and compiling. "ci" (set by .ci/run) runs fewer, derandomized examples so CI is fast and
# reproducible; choose one with HYPOTHESIS_PROFILE=name.
try:
    import os

    from hypothesis import settings

    settings.register_profile("dev", deadline=None)
    settings.register_profile("ci", deadline=None, max_examples=30, derandomize=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
except ImportError:  # hypothesis is in the test extra; tests that use it import it themselves
    pass


def pytest_configure(config):
    """Never quieter than ``-q``: pyproject's ``addopts`` already gives one ``-q``, and a second
    (``pytest -q``) would hide the ``N passed, M skipped in T s`` line that CI logs and people read."""
    config.option.verbose = max(config.option.verbose, -1)


@pytest.fixture
def nep50():
    """NumPy 2's promotion (NEP 50, graphc's rule) for oracles computed with NumPy in this test.

    Why a fixture, not a suite-wide switch: on NumPy 1.24-1.26 every other test then runs graphc
    under NumPy's default (legacy, value-based) promotion, as users there do, while only the tests
    whose oracle *is* NumPy's promotion get NEP 50. On NumPy 2 this does nothing."""
    state = getattr(np, "_get_promotion_state", None)
    if state is None:  # NumPy >= 2: NEP 50 is the only rule
        yield
        return
    before = state()
    np._set_promotion_state("weak")
    try:
        yield
    finally:
        np._set_promotion_state(before)
