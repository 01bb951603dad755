"""The benchmark's workloads as a smoke run (no timing: speed is shown by tools/bench.py, never
asserted in tests): each cheap workload's graphc function agrees with its hand-derived NumPy
result, as ``bench.py`` checks before it times anything."""

from __future__ import annotations

import os
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "tools")
sys.path.insert(0, TOOLS)

import bench  # noqa: E402
from workloads import all_workloads  # noqa: E402

CHEAP = ["W1", "W4", "W5", "W6-10", "W7", "W8", "W9"]


@pytest.mark.parametrize("wid", CHEAP)
def test_workload_agrees_with_its_numpy_reference(wid):
    wl = all_workloads()[wid]()
    expected = wl.numpy(*wl.args)
    fn = bench.SYSTEMS["graphc"].make(wl)
    bench.check_agree(wl.name, fn(*wl.args), expected)


def test_the_table_lists_every_workload():
    assert set(CHEAP) <= set(all_workloads())
    assert {"W2", "W3", "W8", "W9"} <= set(all_workloads())
