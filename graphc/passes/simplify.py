"""Algebraic simplification and canonicalization.

Each rewrite is a small function whose docstring states its identity and whether it is IEEE-exact.
*Exact* means the rewritten graph gives bit-identical results for every input, infinities, NaNs and
signed zeros included (a NaN result may differ in its sign bit or payload, which IEEE leaves open
and no comparison can observe). The rewrites that are not exact run only with ``fast_math`` (off by
default; ``graphc.config.fast_math``, or ``optimize(graph, fast_math=True)``):

  ======================  =================================================================
  rewrite                 why it needs fast_math (floats; all are exact for integers)
  ======================  =================================================================
  x + 0.0 -> x            (-0.0) + 0.0 is +0.0, not -0.0 (x + (-0.0) -> x is exact)
  x - (-0.0) -> x         (-0.0) - (-0.0) is +0.0
  0.0 - x -> -x           0.0 - 0.0 is +0.0, -(0.0) is -0.0 ((-0.0) - x -> -x is exact)
  x * 0 -> 0              NaN*0 and inf*0 are NaN; (-1)*0 is -0.0
  x - x -> 0              inf - inf and NaN - NaN are NaN
  exp(log x) -> x         log of a negative is NaN; exp(log x) rounds
  log(exp x) -> x         exp overflows to inf for large x; rounding
  pow(x, 2) -> x*x        pow need not round exactly like one multiplication
  sum(x), size-1 axes     a sum starts from +0.0, so sum([-0.0]) is +0.0: the exact rewrite is
    -> reshape(x)         reshape(x) + 0.0; fast_math drops the + 0.0
  ======================  =================================================================

"Bit-identical" is about the graph's meaning, i.e. the reference evaluator. The order in which a
contraction adds its products is not part of that meaning (NumPy's einsum and a backend's
blocking each pick one), so a rewrite of ``dot_general`` is exact when it keeps the products.
Constant folding computes with NumPy at compile time; the native backend computes the rest with its
own math library, so transcendental results can differ from NumPy's in the last bit whatever the
passes do.

One rule looks beyond a node's operands: ``transposed_dot`` rewrites a product that nothing but
its transpose reads, counting uses in the graph being simplified (live uses only, so dead code
does not change the outcome).

Rules are looked up by primitive (``RULES``); an elementwise node with an operand that is a
broadcast its own broadcasting would do anyway loses that broadcast (``_shrink_broadcasts``).
``stop_gradient`` is deliberately left alone: an optimized graph may be differentiated again.
"""

from __future__ import annotations

from ..ir import Graph, Node, TensorType
from ..ops import elementwise as ew
from ..ops import reduce as red
from ..ops import shape as sh
from ..ops.broadcasting import broadcast_shapes
from ..ops.linalg import dot_general
from .consts import (
    SPLAT_MAKERS,
    broadcast_to,
    is_any_zero,
    is_neg_zero,
    is_one,
    is_zero,
    make_splat,
    splat_is,
    uniform_element,
)
from .dce import live_uses
from .rewrite import Rewriter, has_nested, rewrite_graph


def _is_float(v) -> bool:
    return v.dtype.kind == "f"


def _produced_by(rw: Rewriter, v, prim) -> Node | None:
    node = rw.producer.get(v)
    return node if node is not None and node.prim is prim else None


def _either(ins):
    """Both operand orders of a commutative binary node: (x, c) and (c, x)."""
    return ((ins[0], ins[1]), (ins[1], ins[0]))


# --- add, sub -------------------------------------------------------------------------------------
def add_zero(rw, node, ins, attrs, fast):
    """x + (-0.0) = (-0.0) + x = x: exact (-0.0 is the IEEE additive identity).
    x + 0 = x: exact for integers; for floats x + (+0.0) = x needs fast_math
    ((-0.0) + 0.0 = +0.0)."""
    for x, c in _either(ins):
        if is_neg_zero(rw, c) or (is_zero(rw, c) and (fast or not _is_float(x))):
            return [broadcast_to(rw, x, node.outputs[0].type)]
    return None


def add_neg(rw, node, ins, attrs, fast):
    """x + (-y) = (-y) + x = x - y: exact (IEEE subtraction is addition of the negation)."""
    for x, other in _either(ins):
        neg = _produced_by(rw, other, ew.neg)
        if neg is not None:
            return [rw.emit(ew.sub, (x, neg.inputs[0]))]
    return None


def sub_zero(rw, node, ins, attrs, fast):
    """x - 0 = x: exact for integers and for x - (+0.0) ((-0.0) - 0.0 = -0.0);
    x - (-0.0) = x needs fast_math ((-0.0) - (-0.0) = +0.0)."""
    x, c = ins
    if is_zero(rw, c) or (fast and is_neg_zero(rw, c)):
        return [broadcast_to(rw, x, node.outputs[0].type)]
    return None


def sub_from_zero(rw, node, ins, attrs, fast):
    """(-0.0) - x = -x: exact. 0 - x = -x: exact for integers; for floats needs fast_math
    (0.0 - 0.0 = +0.0 but -(0.0) = -0.0)."""
    c, x = ins
    if is_neg_zero(rw, c) or (is_zero(rw, c) and (fast or not _is_float(x))):
        return [broadcast_to(rw, rw.emit(ew.neg, (x,)), node.outputs[0].type)]
    return None


def sub_neg(rw, node, ins, attrs, fast):
    """x - (-y) = x + y: exact (IEEE subtraction is addition of the negation)."""
    neg = _produced_by(rw, ins[1], ew.neg)
    return None if neg is None else [rw.emit(ew.add, (ins[0], neg.inputs[0]))]


def sub_self(rw, node, ins, attrs, fast):
    """x - x = 0: exact for integers; for floats needs fast_math (inf - inf, NaN - NaN are NaN)."""
    if ins[0] is ins[1] and (fast or not _is_float(ins[0])):
        return [make_splat(rw, 0, node.outputs[0].type)]
    return None


# --- mul, div, pow --------------------------------------------------------------------------------
def mul_one(rw, node, ins, attrs, fast):
    """x * 1 = 1 * x = x: exact (also for NaN, infinities and signed zeros)."""
    for x, c in _either(ins):
        if is_one(rw, c):
            return [broadcast_to(rw, x, node.outputs[0].type)]
    return None


def mul_zero(rw, node, ins, attrs, fast):
    """x * 0 = 0: exact for integers; for floats needs fast_math (NaN*0 and inf*0 are NaN, and the
    sign of a float zero product depends on x's sign)."""
    if not fast and _is_float(ins[0]):  # (the operands have one dtype)
        return None
    for _, c in _either(ins):
        if is_any_zero(rw, c):
            return [broadcast_to(rw, c, node.outputs[0].type)]
    return None


def hoist_neg(rw, node, ins, attrs, fast):
    """(-a) * b = a * (-b) = -(a * b), and the same for /: exact (IEEE products and quotients are
    rounded symmetrically, so the sign factors out). Moving negations outward lets them cancel
    (-(-x)), fold into add/sub (x + -y = x - y), and lets CSE see a*b under both."""
    a, b = _produced_by(rw, ins[0], ew.neg), _produced_by(rw, ins[1], ew.neg)
    if a is None and b is None:
        return None
    x = ins[0] if a is None else a.inputs[0]
    y = ins[1] if b is None else b.inputs[0]
    inner = rw.emit(node.prim, (x, y))
    return [inner if a is not None and b is not None else rw.emit(ew.neg, (inner,))]


def div_one(rw, node, ins, attrs, fast):
    """x / 1 = x: exact."""
    x, c = ins
    return [broadcast_to(rw, x, node.outputs[0].type)] if is_one(rw, c) else None


def pow_small(rw, node, ins, attrs, fast):
    """pow(x, 1) = x: exact (the result is representable, and NumPy's pow is faithfully rounded,
    so it returns it; pow(NaN, 1) is NaN). pow(x, 2) = x*x: fast_math only (pow need not round the
    square the way one multiplication does)."""
    x, y = ins
    out = node.outputs[0].type
    if is_one(rw, y):
        return [broadcast_to(rw, x, out)]
    if fast and splat_is(rw, y, 2):
        return [broadcast_to(rw, rw.emit(ew.mul, (x, x)), out)]
    return None


# --- unary ----------------------------------------------------------------------------------------
def neg_neg(rw, node, ins, attrs, fast):
    """-(-x) = x: exact (negation flips the sign bit only)."""
    inner = _produced_by(rw, ins[0], ew.neg)
    return None if inner is None else [inner.inputs[0]]


def _inverse_of(inverse):
    def rule(rw, node, ins, attrs, fast):
        inner = _produced_by(rw, ins[0], inverse)
        return [inner.inputs[0]] if fast and inner is not None else None

    return rule


exp_log = _inverse_of(ew.log)
exp_log.__doc__ = "exp(log x) = x: fast_math only (NaN for x < 0, and exp(log x) rounds)."
log_exp = _inverse_of(ew.exp)
log_exp.__doc__ = "log(exp x) = x: fast_math only (exp overflows to inf for large x; rounding)."


def convert_same(rw, node, ins, attrs, fast):
    """convert(x, x.dtype) = x: exact."""
    return [ins[0]] if ins[0].dtype == node.outputs[0].dtype else None


def select_known(rw, node, ins, attrs, fast):
    """select(true, a, b) = a, select(false, a, b) = b, select(p, a, a) = a: exact."""
    p, a, b = ins
    out = node.outputs[0].type
    if a is b or splat_is(rw, p, True):
        return [broadcast_to(rw, a, out)]
    if splat_is(rw, p, False):
        return [broadcast_to(rw, b, out)]
    return None


# --- shape ----------------------------------------------------------------------------------------
def transpose_fold(rw, node, ins, attrs, fast):
    """transpose(x, identity) = x; transpose(transpose(x, p), q) = transpose(x, p[q]) (one node, or
    none when the composition is the identity): exact (no arithmetic)."""
    x, perm = ins[0], tuple(attrs["perm"])
    inner = _produced_by(rw, x, sh.transpose)
    if inner is not None:
        x, perm = inner.inputs[0], tuple(inner.attrs["perm"][i] for i in perm)
    if perm == tuple(range(len(perm))):
        return [x]
    return None if inner is None else [rw.emit(sh.transpose, (x,), perm=perm)]


def transposed_dot(rw, node, ins, attrs, fast):
    """transpose(dot_general(a, b)) = dot_general(b, a) when the transpose just exchanges the two
    free groups (batch axes stay first) and nothing else reads the product: exact (each element
    is the same products, floating-point products commute, summed over the same axes).
    Reverse-mode matmul gradients come as a product then a transpose, which would otherwise cost
    a strided copy. The transpose must read the product itself, not a value a rewrite replaced by
    it: then the uses counted in the source graph are the product's uses."""
    dot = _produced_by(rw, ins[0], dot_general)
    if dot is None or ins[0] is not node.inputs[0]:
        return None
    swapped = _swapped_dot_attrs(dot, tuple(attrs["perm"]))
    if swapped is None or _live_uses(rw).get(ins[0]) != 1:
        return None
    lhs, rhs = dot.inputs
    return [rw.emit(dot_general, (rhs, lhs), **swapped)]


def _swapped_dot_attrs(dot, perm) -> dict | None:
    """The attributes of ``dot_general(b, a)`` when ``perm`` applied to ``dot`` (a product of ``a``
    and ``b``) moves ``b``'s free axes before ``a``'s, keeping the batch axes first; else None."""
    lhs, rhs = dot.inputs
    (lc, rc), (lb, rb) = dot.attrs["contracting"], dot.attrs["batch"]
    nb, nl = len(lb), lhs.type.ndim - len(lc) - len(lb)
    nr = rhs.type.ndim - len(rc) - len(rb)
    exchanged = (*range(nb), *range(nb + nl, nb + nl + nr), *range(nb, nb + nl))
    if nl == 0 or nr == 0 or perm != exchanged:
        return None
    return {"contracting": (tuple(rc), tuple(lc)), "batch": (tuple(rb), tuple(lb))}


def _live_uses(rw: Rewriter) -> dict:
    """``live_uses`` of the graph being rewritten, counted once per walk (only graphs with a
    transposed product ask)."""
    uses = rw.cache.get("live_uses")
    if uses is None:
        uses = rw.cache["live_uses"] = live_uses(rw.source)
    return uses


def reshape_fold(rw, node, ins, attrs, fast):
    """reshape(x, x.shape) = x; reshape(reshape(x, s1), s2) = reshape(x, s2): exact (row-major
    order is kept by every reshape)."""
    x = ins[0]
    inner = _produced_by(rw, x, sh.reshape)
    if inner is not None:
        x = inner.inputs[0]
    if x.type == node.outputs[0].type:
        return [x]
    return None if inner is None else [rw.emit(sh.reshape, (x,), shape=tuple(attrs["shape"]))]


def broadcast_fold(rw, node, ins, attrs, fast):
    """broadcast_in_dim(x) to x's own shape = x; a broadcast of a broadcast is one broadcast
    (dims compose); a broadcast that only inserts size-1 axes is a reshape: all exact."""
    x, shape, dims = ins[0], tuple(attrs["shape"]), tuple(attrs["dims"])
    inner = _produced_by(rw, x, sh.broadcast_in_dim)
    if inner is not None:
        x, dims = inner.inputs[0], tuple(dims[d] for d in inner.attrs["dims"])
    if x.type == node.outputs[0].type:
        return [x]
    if x.type.size == node.outputs[0].type.size and x.type.size > 0:
        return [rw.emit(sh.reshape, (x,), shape=shape)]
    return None if inner is None else [rw.emit(sh.broadcast_in_dim, (x,), shape=shape, dims=dims)]


def slice_fold(rw, node, ins, attrs, fast):
    """slice(x) over all of x with unit strides = x; slice(slice(x, a), b) = one slice of x (starts
    and strides compose): exact (no arithmetic)."""
    x, start, limit, strides = ins[0], attrs["start"], attrs["limit"], attrs["strides"]
    out = node.outputs[0].type
    inner = _produced_by(rw, x, sh.slice_)
    if inner is not None:
        x = inner.inputs[0]
        s1, st1 = inner.attrs["start"], inner.attrs["strides"]
        start = tuple(a + b * s for a, b, s in zip(s1, start, st1, strict=True))
        strides = tuple(a * b for a, b in zip(st1, strides, strict=True))
        limit = tuple(
            b + (n - 1) * s + 1 if n else b
            for b, n, s in zip(start, out.shape, strides, strict=True)
        )
    if x.type == out:
        return [x]
    if inner is None:
        return None
    return [rw.emit(sh.slice_, (x,), start=start, limit=limit, strides=strides)]


def constant_splat(rw, node, ins, attrs, fast):
    """A constant array whose elements are all bit-identical is a broadcast 0-d constant: exact, and
    it keeps constants small and recognizable as splats."""
    a = node.attrs["value"].array
    s = uniform_element(a) if a.size > 1 else None
    return None if s is None else [make_splat(rw, s, node.outputs[0].type)]


def reduce_trivial(rw, node, ins, attrs, fast):
    """A reduction over no axes, or over axes of size 1 only, is a reshape: exact for max, min and
    prod (the reduction of one element is that element). A sum adds its elements to +0.0, so the sum
    of one element x is x + 0.0, which turns -0.0 into +0.0 (NumPy's does): the exact rewrite is
    reshape(x) + 0.0 for floats, just reshape(x) under fast_math or for integers."""
    x, axes = ins[0], attrs["axes"]
    if any(x.shape[a] != 1 for a in axes):
        return None
    out = node.outputs[0].type
    y = x if x.type == out else rw.emit(sh.reshape, (x,), shape=tuple(out.shape))
    if node.prim is red.reduce_sum and _is_float(x) and not fast:
        y = rw.emit(ew.add, (y, make_splat(rw, 0, TensorType((), out.dtype))))
    return [y]


def _shrink_broadcasts(rw, node, ins, attrs, fast):
    """op(..., broadcast_in_dim(s), ...) = op(..., s, ...) for an elementwise op, when the broadcast
    is the one NumPy broadcasting of ``s`` against the other operands makes anyway (trailing axes,
    the same result shape): exact (the same values meet elementwise). It keeps broadcasts of scalars
    out of the arithmetic, so the backend sees a scalar operand."""
    makers = [_produced_by(rw, v, sh.broadcast_in_dim) for v in ins]
    if not any(makers):
        return None
    out = node.outputs[0].shape
    new = list(ins)
    for i, b in enumerate(makers):
        if b is None:
            continue
        s = b.inputs[0]
        if tuple(b.attrs["dims"]) != tuple(range(len(out) - len(s.shape), len(out))):
            continue
        if broadcast_shapes(*(w.shape for w in new[:i] + [s] + new[i + 1 :])) == out:
            new[i] = s
    if all(a is b for a, b in zip(new, ins, strict=True)):
        return None
    return list(rw.emit_multi(node.prim, new, **attrs))


#: The rewrites tried on each primitive's nodes, in order; the first that applies wins.
RULES = {
    ew.add: (add_zero, add_neg),
    ew.sub: (sub_zero, sub_from_zero, sub_neg, sub_self),
    ew.mul: (mul_one, mul_zero, hoist_neg),
    ew.div: (div_one, hoist_neg),
    ew.pow_: (pow_small,),
    ew.neg: (neg_neg,),
    ew.exp: (exp_log,),
    ew.log: (log_exp,),
    ew.convert: (convert_same,),
    ew.select: (select_known,),
    sh.transpose: (transpose_fold, transposed_dot),
    sh.reshape: (reshape_fold,),
    sh.slice_: (slice_fold,),
    sh.broadcast_in_dim: (broadcast_fold,),
    sh.constant: (constant_splat,),
    red.reduce_sum: (reduce_trivial,),
    red.reduce_max: (reduce_trivial,),
    red.reduce_min: (reduce_trivial,),
    red.reduce_prod: (reduce_trivial,),
}


#: The rules of ``RULES`` (and ``_shrink_broadcasts``) that can only apply to an elementwise node with
#: an operand made by one of ``_TELLING`` (a splat maker: a constant or a broadcast; a negation, an
#: exp or a log). Most nodes of a big graph have none, and for them only the other rules are tried
#: (the result is the same; a 10 000-node gradient graph is simplified about twice as fast).
_TELLING = SPLAT_MAKERS | {ew.neg, ew.exp, ew.log}
_NEED_TELLING = frozenset((
    add_zero, add_neg, sub_zero, sub_from_zero, sub_neg, mul_one, mul_zero, hoist_neg, div_one,
    pow_small, neg_neg, exp_log, log_exp,
))


def _any_made_by(rw: Rewriter, values, prims) -> bool:
    """Whether a node of ``prims`` makes one of ``values``."""
    producer = rw.producer
    for v in values:
        maker = producer.get(v)
        if maker is not None and maker.prim in prims:
            return True
    return False


def _plain_rules(rules: dict) -> dict:
    return {prim: tuple(fn for fn in fns if fn not in _NEED_TELLING) for prim, fns in rules.items()}


def simplify(graph: Graph, options=None) -> Graph:
    """The pass: the first applicable rule of ``RULES`` per node, then broadcast shrinking."""
    fast = bool(getattr(options, "fast_math", False))
    plain = _plain_rules(RULES)

    def rule(rw: Rewriter, node: Node, inputs: tuple, attrs: dict):
        prim = node.prim
        shrink = False
        if not prim.elementwise:
            rules = RULES.get(prim)
        elif _any_made_by(rw, inputs, _TELLING):
            rules, shrink = RULES.get(prim, ()), len(inputs) > 1
        else:
            rules = plain.get(prim)
        if not (rules or shrink) or has_nested(node):
            return None
        for fn in rules:
            new = fn(rw, node, inputs, attrs, fast)
            if new is not None:
                return new
        return _shrink_broadcasts(rw, node, inputs, attrs, fast) if shrink else None

    return rewrite_graph(graph, rule, nested=lambda g: simplify(g, options))
