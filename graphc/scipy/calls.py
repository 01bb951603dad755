"""``special_call``: one node per special-function application, holding the function's float64
graph (``body``) and carrying its exact derivative rule, inlined into plain primitives once
differentiation is over (the ``custom_vjp_call`` mechanism, ``ops/call.py``).

Why a node rather than ``custom_gradient``: a rule is written only when a derivative is asked
for, so gammaln's derivative (digamma), digamma's (polygamma 1) and each polygamma's (the next)
chain to any order; ``custom_gradient`` traces its backward function at once, which for a rule
that is itself a special function never ends.
"""

from __future__ import annotations

import numpy as np

from ..autodiff.nested import leaf_type
from ..core import current_trace, new_trace
from ..numpy._core import as_float, cast
from ..ops.call import define_call

F64 = np.dtype(np.float64)
#: name -> (float64 body ``(x, n) -> value``, derivative ``(x, y, n) -> dy/dx`` in x's dtype).
FUNCTIONS: dict = {}


def _jvp(p, t, o, body, fn, n):
    return [t[0] * FUNCTIONS[fn][1](p[0], o[0], n)]


def _vjp(ct, p, o, needed, body, fn, n):
    return [ct[0] * FUNCTIONS[fn][1](p[0], o[0], n)]


def _batch(prim, args, batched, size, body, fn, n):
    return [apply(fn, args[0], n)]  # elementwise: the same function on the batched operand


special_call = define_call("special_call", "body", jvp=_jvp, vjp=_vjp, batch=_batch)


def apply(fn: str, x, n: int = 0):
    """``fn`` (registered in ``FUNCTIONS``) at ``x``, computed in float64 and rounded to x's
    float dtype; eagerly outside a trace."""
    x = as_float(x)
    body = FUNCTIONS[fn][0]
    if current_trace() is None:
        return cast(body(cast(x, F64), n), x.dtype)
    with new_trace(fn) as tf:
        inp = tf.new_input(*leaf_type(x))
        graph, captured = tf.graph([cast(body(cast(inp, F64), n), x.dtype)])
    (y,) = special_call(x, *captured, body=graph, fn=fn, n=n)
    return y
