"""The benchmark's workloads as a smoke run (no timing: speed is shown by tools/bench.py, never
asserted in tests): each cheap workload's graphc function agrees with its hand-derived NumPy
result, as ``bench.py`` checks before it times anything; and the bench's helpers that could go
wrong unseen (the first-call breakdown, the median of child runs, the busy process's end)."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("wid", ["W1", "W4", "W9"])  # gc.value_and_grad, a loop's step, gc.function
def test_first_call_breakdown_comes_from_the_compiled_signature(wid):
    wl = all_workloads()[wid]()
    fn = bench.SYSTEMS["graphc"].make(wl)
    fn(*wl.args)
    breakdown = bench.graphc_breakdown(fn, wl.args)
    assert set(breakdown) == set(bench.BREAKDOWN)
    assert breakdown["trace_ms"] > 0 and breakdown["compile_ms"] > 0


def test_child_runs_median_field_by_field():
    lines = ['{"first_call_s": 3.0, "breakdown": {"trace_ms": 1.0, "from_disk_cache": true}}',
             '{"first_call_s": 1.0, "breakdown": {"trace_ms": 5.0, "from_disk_cache": true}}',
             '{"first_call_s": 2.0, "breakdown": {"trace_ms": 2.0, "from_disk_cache": false}}']
    assert bench.median_fields([json.loads(line) for line in lines]) == {
        "first_call_s": 2.0, "breakdown": {"trace_ms": 2.0, "from_disk_cache": [True, True, False]}}


def test_busy_process_spins_inside_and_is_gone_after():
    with bench.busy_process() as proc:
        assert proc.poll() is None
    assert proc.poll() is not None
    with pytest.raises(KeyboardInterrupt), bench.busy_process() as proc:
        raise KeyboardInterrupt
    assert proc.poll() is not None
