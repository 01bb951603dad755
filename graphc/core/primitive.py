"""Primitives and their registry: each primitive is one named object that carries all of its rules.

A primitive is defined once, in the module of its family, with
  - ``infer(in_types, **attrs) -> [TensorType]``: the shape/dtype rule (raises ShapeError or
    DTypeError);
  - ``impl(*arrays, **attrs) -> array | tuple``: the NumPy evaluation (the reference semantics);
  - ``jvp(primals, tangents, outs, **attrs) -> tangent(s)``: forward-mode rule; tangents that are
    symbolically zero arrive as ``None`` and a zero result may be returned as ``None``;
  - ``vjp(ct, primals, outs, needed, **attrs) -> [cotangent | None per input]``: reverse-mode
    rule; ``needed`` (one bool per input) says which inputs need a cotangent, and a rule may
    return None for the others (constants, integer values) instead of emitting dead nodes.
Rules are written with graphc's own primitives (calling a primitive binds it into the current
trace), so derivatives are ordinary graphs that passes optimize and that can be differentiated
again.
Backends keep their lowering in tables keyed by the primitive (only the backend imports llvmlite);
``tests/autodiff/test_rules.py`` fails when a differentiable primitive lacks a rule, and
``tests/ops/test_primitives.py`` when any primitive lacks a test row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

REGISTRY: dict[str, "Primitive"] = {}


@dataclass(eq=False)
class Primitive:
    """One operation and all of its rules and flags (see the module docstring); calling it binds
    it into the active trace, or evaluates it at once when no trace is active."""

    name: str
    infer: Callable
    impl: Callable
    jvp: Callable | None = None
    vjp: Callable | None = None
    #: ``gc.vmap``'s batching rule (``ops/batching.py``: ``rule(prim, args, batched, size,
    #: **attrs)``); elementwise primitives need none.
    batch: Callable | None = None
    #: Applies independently per element, with NumPy broadcasting of its operands.
    elementwise: bool = False
    #: Operands may be swapped (CSE canonicalizes their order).
    commutative: bool = False
    #: No side effects: may be removed when unused, merged with a twin, folded on constants.
    pure: bool = True
    #: Outputs are always zero-gradient (comparisons, iota, ...): no rules needed.
    nondifferentiable: bool = False
    #: Returns several outputs (impl returns a tuple; jvp returns a list).
    multiple_results: bool = False
    #: Made only once differentiation is over (by a backend pass such as fusion), so it has no
    #: derivative rules and the rule-completeness test does not ask for them; differentiating a
    #: graph that holds one is an error naming it.
    after_differentiation: bool = False
    #: What kind of work it is, for fusion and cost models: "map" (elementwise), "remap" (each
    #: point reads its operands at a remapped index: broadcast_in_dim, transpose, rev, slice,
    #: pad, concatenate, gather), "reduce", "scan" (cumsum), "scatter" (scatter_add: many points
    #: add into one), "leaf" (constant, iota), "view" (reshape, stop_gradient), "contract"
    #: (dot_general), "call" (fused, custom_*_call), "control" (cond and the loops: nested
    #: graphs), "factor" (a matrix factorization or solve: ops/factor.py), "effect"
    #: (debug_print) or "other".
    family: str = "other"
    #: Relative work per element: 8 transcendental, 2 division or square root, else 1.
    cost: int = 1
    #: A compiled backend computes it with a math-library call (exp, log, sin, tanh, pow, ...).
    transcendental: bool = False
    #: Open-ended facts for passes, e.g. ``inline_graph``: the attribute holding the graph a
    #: call-like node computes (see ``ops/call.py``).
    extra: dict = field(default_factory=dict)

    def __call__(self, *args, **attrs):
        return (_BIND or _load_bind())(self, args, attrs)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


_BIND = None


def _load_bind():
    """``tracing.bind``, imported on first use (the tracer module reads ``REGISTRY``, so this one
    is imported first); an import statement in ``__call__`` itself was a visible cost per node in
    big traces."""
    global _BIND
    from .tracing import bind

    _BIND = bind
    return bind


def define(name: str, **kwargs) -> Primitive:
    """Create and register a primitive; names are unique."""
    return register(Primitive(name, **kwargs))


def register(prim: Primitive) -> Primitive:
    """Add ``prim`` to ``REGISTRY`` (every stage and the completeness tests find it there)."""
    if prim.name in REGISTRY:
        raise ValueError(f"primitive {prim.name!r} defined twice")
    REGISTRY[prim.name] = prim
    return prim
