"""Every primitive states what kind of work it is (``family``, ``cost``, ``transcendental``): fusion
and the backends read these fields instead of keeping lists of names, so a primitive that left them
at their defaults would silently be fused (or costed) wrongly."""

from __future__ import annotations

import graphc  # noqa: F401  (importing graphc registers every primitive)
from graphc.ops import REGISTRY

FAMILIES = {"map", "remap", "reduce", "scan", "scatter", "leaf", "view", "contract", "call",
            "control", "factor", "effect"}
#: Primitives that truly are none of the families (none today).
TRULY_OTHER: set = set()
#: What a compiled backend computes with a math-library call (cost 8), and division and square
#: root (cost 2): the weights the fusion limits were measured with.
MATH = {"exp", "expm1", "log", "log1p", "sin", "cos", "tanh", "pow", "atan2"}
MEDIUM = {"div", "sqrt"}


def test_every_primitive_has_a_family():
    unset = sorted(n for n, p in REGISTRY.items() if p.family == "other" and n not in TRULY_OTHER)
    assert not unset, f"primitives without a family: {unset}"
    unknown = sorted(n for n, p in REGISTRY.items() if p.family not in FAMILIES | {"other"})
    assert not unknown, f"unknown families: {unknown}"


def test_maps_are_exactly_the_elementwise_primitives():
    assert {n for n, p in REGISTRY.items() if p.elementwise} == {
        n for n, p in REGISTRY.items() if p.family == "map"
    }


def test_families_of_the_structural_primitives():
    expected = {
        "broadcast_in_dim": "remap", "transpose": "remap", "rev": "remap", "slice": "remap",
        "pad": "remap", "concatenate": "remap", "reduce_sum": "reduce", "reduce_prod": "reduce",
        "reduce_max": "reduce", "reduce_min": "reduce", "cumsum": "scan", "constant": "leaf",
        "iota": "leaf", "reshape": "view", "stop_gradient": "view", "dot_general": "contract",
        "fused": "call", "custom_vjp_call": "call", "gather": "remap", "scatter_add": "scatter",
    }
    assert {n: REGISTRY[n].family for n in expected} == expected


def test_costs_and_math_library_calls():
    assert {n for n, p in REGISTRY.items() if p.transcendental} == MATH
    costs = {n: p.cost for n, p in REGISTRY.items()}
    assert {n for n, c in costs.items() if c == 8} == MATH
    assert {n for n, c in costs.items() if c == 2} == MEDIUM
    assert set(costs.values()) == {1, 2, 8}
