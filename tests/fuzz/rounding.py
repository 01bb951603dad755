"""How much rounding a traced graph amplifies, at one input: the reference evaluator once more,
with every rounding it models replaced by a random relative error of that rounding's bound.

Design choice (a running error model on the graph, not on the program): derivative graphs round
in places the user's program does not show (``1 - tanh(x)**2`` loses everything to the rounding
of ``tanh`` when ``|x|`` is large; a vjp of ``x @ C`` sums over the other axis), so the model is
applied to every node of the traced graph the oracle runs, value and derivatives alike:
  - the output of each primitive that rounds gets a relative error up to ``OUT`` (transcendental
    functions ``MATH``) unit roundoffs;
  - the first operand of each primitive that sums terms (``reduce_sum``, ``reduce_prod``,
    ``cumsum``, ``dot_general``) gets, per element, a relative error up to ``n``, the number of
    terms per sum: a sum of ``n`` terms has error up to ``n u sum|terms|``, relative to the terms
    and not to a result that may have cancelled, and per-term errors of ``n u`` reproduce that;
    half of it is shared by all the terms, as rounding errors of a sequential sum of like terms
    add up rather than cancel (a float32 cumsum of 3,000 terms near -7 is 0.77 off at -20703);
  - exact primitives (shape ops, abs, max/min, select, comparisons, reduce_max/min) are left
    alone: gradients of max/min compare a value against the maximum they found, which must stay
    exact;
  - ``sign`` is 0 wherever the modelled errors moved its operand by at least its size (the
    graph is also run without them, alongside): ``sign(std(rows that are equal))`` is 0 in
    exact arithmetic and 1 or 0 after rounding, and ``abs'`` is ``sign``. (Comparisons are not
    modelled so: a branch that rounding could switch is left to the numeric check.)
The spread of a few such runs around the unperturbed one, in float64 with errors of the unit
roundoff of the dtype under test, is what the comparison allows for conditioning. (Not float32
errors scaled down for float64: a jump, such as ``sign`` of a rounding-noise value, does not
scale.)
"""

from __future__ import annotations

import math

import numpy as np

from graphc.trace import pytree

U32 = 2.0 ** -24  # float32; float64 programs are modelled with 2.0 ** -53
OUT, MATH = 1.0, 4.0  # IEEE operations round correctly; math functions are within 2 ulp
ROUNDING = {"add", "sub", "mul", "div", "sqrt", "convert", "rem"}
TRANSCENDENTAL = {"exp", "expm1", "log", "log1p", "sin", "cos", "tanh", "atan2", "pow"}
SUMMING = {"reduce_sum", "reduce_prod", "cumsum", "dot_general"}


def terms(node, x_shape) -> int:
    """Terms per sum of a summing node whose first operand has shape ``x_shape``."""
    a = node.attrs
    if node.prim.name == "cumsum":
        return x_shape[a["axis"]] if x_shape else 1
    axes = a["contracting"][0] if node.prim.name == "dot_general" else a["axes"]
    return math.prod(x_shape[i] for i in axes)


def _jitter(x, size, rng, common=True):
    """``x`` times ``1 + size * d`` with ``d`` in [-1, 1] per element; ``common`` adds to it a
    part shared by all elements (the systematic error of a sequential sum of like terms)."""
    if x.dtype.kind != "f" or size == 0:
        return x
    d = rng.uniform(-1.0, 1.0, x.shape)
    if common:
        d = (d + rng.uniform(-1.0, 1.0)) / 2
    return (x * (1.0 + size * d)).astype(x.dtype)


def evaluate(graph, args, rng, u=U32):
    """``graph`` on ``args`` as the reference evaluator runs it, with modelled rounding errors
    of unit roundoff ``u``."""
    env = dict(zip(graph.inputs, args, strict=True))
    exact = dict(env) if any(n.prim.name == "sign" for n in graph.nodes) else None
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            name = node.prim.name
            ins = [env[v] for v in node.inputs]
            if exact is not None:
                res = node.prim.impl(*[exact[v] for v in node.inputs], **node.attrs)
                exact.update(zip(node.outputs, res if node.prim.multiple_results else (res,)))
            if name in SUMMING:
                ins[0] = _jitter(ins[0], u * terms(node, ins[0].shape), rng, common=True)
            res = node.prim.impl(*ins, **node.attrs)
            if name == "sign":  # rounding may have moved the operand across 0: sign(0) = 0
                x = exact[node.inputs[0]]
                res = np.where(np.abs(ins[0] - x) >= np.abs(x), 0.0, res).astype(res.dtype)
            outs = res if node.prim.multiple_results else (res,)
            size = OUT if name in ROUNDING | SUMMING else MATH if name in TRANSCENDENTAL else 0
            for v, r in zip(node.outputs, outs, strict=True):
                env[v] = _jitter(np.asarray(r), u * size, rng)
    return [env[v] for v in graph.outputs]


def perturbed_call(fn, rng, u, *args):
    """``fn(*args)`` (a reference-backend ``Function``) with modelled rounding errors of unit
    roundoff ``u``."""
    concrete = fn.concrete(*args)
    _, leaves = fn._signature(args, {})
    arrays = [np.asarray(x, d) for x, (_, d, _) in zip(leaves, concrete.sigs, strict=True)]
    return pytree.unflatten(concrete.out_tree, evaluate(concrete.graph, arrays, rng, u))
