"""Op families for the program generator: each takes the generator and an operand name and emits
one op (or declines, returning None, when the operand does not fit).

Intervals (``lo, hi``) are conservative bounds; an op whose domain is smaller than the real line
wraps its operand so the domain holds by construction (see generate.py).
"""

from __future__ import annotations

import math

import numpy as np

from .generate import MAX_SIZE, _mag


def _mono(f):
    return lambda lo, hi: (f(lo), f(hi))


def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def _gammaln_range(lo, hi):
    """gammaln on [lo, hi] within (0, inf): it falls to its minimum at x0 = 1.4616..., then
    rises."""
    x0 = 1.4616321449683622
    top = max(math.lgamma(lo), math.lgamma(hi))
    return (math.lgamma(x0) if lo < x0 < hi else min(math.lgamma(lo), math.lgamma(hi))), top


def _low_abs(lo, hi):
    return lo if lo > 0 else (-hi if hi < 0 else 0.0)


# kind: (spellings, domain, interval, exact). Domain: None (the real line), "pos" (>= 1/16),
# a number (|x| <= it: the operand is scaled by a power of two first).
UNARY = {
    "sin": (("np.sin({})", "gnp.sin({})"), None, lambda lo, hi: (-1.0, 1.0), False),
    "cos": (("np.cos({})", "gnp.cos({})"), None, lambda lo, hi: (-1.0, 1.0), False),
    "tanh": (("np.tanh({})", "gnp.tanh({})", "gnn.tanh({})"), None, _mono(math.tanh), False),
    "exp": (("np.exp({})", "gnp.exp({})"), 8.0, _mono(math.exp), False),
    "expm1": (("np.expm1({})", "gnp.expm1({})"), 8.0, _mono(math.expm1), False),
    "sinh": (("np.sinh({})", "gnp.sinh({})"), 8.0, _mono(math.sinh), False),
    "cosh": (("np.cosh({})", "gnp.cosh({})"), 8.0,
             lambda lo, hi: (math.cosh(_low_abs(lo, hi)), math.cosh(_mag(lo, hi))), False),
    "log": (("np.log({})", "gnp.log({})"), "pos", _mono(math.log), False),
    "log2": (("np.log2({})", "gnp.log2({})"), "pos", _mono(math.log2), False),
    "log1p": (("np.log1p({})", "gnp.log1p({})"), "pos", _mono(math.log1p), False),
    "sqrt": (("np.sqrt({})", "gnp.sqrt({})"), "pos", _mono(math.sqrt), True),
    "reciprocal": (("np.reciprocal({})", "gnp.reciprocal({})", "1.0 / {}"), "pos",
                   lambda lo, hi: (1 / hi, 1 / lo), True),
    "square": (("np.square({})", "gnp.square({})", "{} ** 2"), None,
               lambda lo, hi: (_low_abs(lo, hi) ** 2, _mag(lo, hi) ** 2), True),
    "cube": (("{} ** 3",), None, lambda lo, hi: (lo ** 3, hi ** 3), False),
    "abs": (("np.abs({})", "gnp.abs({})", "abs({})"), None,
            lambda lo, hi: (_low_abs(lo, hi), _mag(lo, hi)), True),
    "negative": (("-{}", "np.negative({})", "gnp.negative({})"), None,
                 lambda lo, hi: (-hi, -lo), True),
    "sign": (("np.sign({})", "gnp.sign({})"), None, lambda lo, hi: (-1.0, 1.0), True),
    "arctan": (("np.arctan({})", "gnp.arctan({})"), None, _mono(math.atan), False),
    "arcsin": (("np.arcsin({})", "gnp.arcsin({})"), 0.875, _mono(math.asin), False),
    "arccos": (("np.arccos({})", "gnp.arccos({})"), 0.875,
               lambda lo, hi: (math.acos(hi), math.acos(lo)), False),
    "tan": (("np.tan({})", "gnp.tan({})"), 1.0, _mono(math.tan), False),
    "relu": (("gnn.relu({})", "np.maximum({}, 0.0)"), None,
             lambda lo, hi: (max(lo, 0.0), max(hi, 0.0)), True),
    "sigmoid": (("gnn.sigmoid({})",), None, _mono(_sigmoid), False),
    "erf": (("gsp.erf({})",), None, _mono(math.erf), False),
    "erfc": (("gsp.erfc({})",), None, lambda lo, hi: (math.erfc(hi), math.erfc(lo)), False),
    "gammaln": (("gsp.gammaln({})",), "pos", _gammaln_range, False),
    "softplus": (("gnn.softplus({})",), None, _mono(_softplus), False),
    "sqrt_pow": (("{} ** 0.5", "np.power({}, 1.5)", "gnp.power({}, -1.0)"), "pos",
                 lambda lo, hi: (min(lo ** 0.5, lo ** 1.5, 1 / hi), max(hi ** 0.5, hi ** 1.5, 1 / lo)),
                 False),
}


def unary(g, x):
    kind = g.pick(list(UNARY))
    spellings, domain, rng, exact = UNARY[kind]
    if domain == "pos":
        text = g.positive(x)
        exact = exact and all(op.exact for op in g.ops if op.out == text)
    else:
        text = g.bounded(x, domain) if domain else g.bounded(x)
    lo, hi = g.lohi(text)
    lo2, hi2 = rng(lo, hi)
    return g.emit(kind, g.pick(spellings).format(text), g.shape_of(text), lo2, hi2, exact)


def _products(a, b):
    return [p * q for p in a for q in b]


def binary(g, x):
    a = g.bounded(x)
    b = g.partner(g.shape_of(a))
    kind = g.pick(("add", "sub", "mul", "div", "maximum", "minimum", "pow", "arctan2", "where"))
    if g.c(2) and kind in ("add", "sub", "mul", "maximum", "minimum", "where") and b in g.info:
        a, b = b, a
    (alo, ahi), (blo, bhi) = g.lohi(a), g.lohi(b)
    exact = True
    if kind in ("div", "arctan2"):
        b = g.positive(b)
    if kind == "pow" and g.c(3) == 0:  # a literal base: 2.0 ** x
        a, b = g.pick(("2.0", "0.5", "1.5")), g.bounded(a, 4.0)
    elif kind == "pow":
        a = g.positive(a)
        b = g.bounded(b, 2.0) if b in g.info else g.pick(("1.5", "-0.5", "2.0"))
    (alo, ahi), (blo, bhi) = g.lohi(a), g.lohi(b)
    shape = np.broadcast_shapes(g.shape_of(a), g.shape_of(b))
    op = {"add": ("+", "add"), "sub": ("-", "subtract"), "mul": ("*", "multiply"),
          "div": ("/", "divide"), "pow": ("**", "power")}
    if kind in op:
        sym, fn = op[kind]
        text = g.pick((f"{a} {sym} {b}", f"{g.ns(fn)}({a}, {b})"))
        lo, hi = {
            "add": lambda: (alo + blo, ahi + bhi),
            "sub": lambda: (alo - bhi, ahi - blo),
            "mul": lambda: (min(_products((alo, ahi), (blo, bhi))),
                            max(_products((alo, ahi), (blo, bhi)))),
            "div": lambda: (min(_products((alo, ahi), (1 / blo, 1 / bhi))),
                            max(_products((alo, ahi), (1 / blo, 1 / bhi)))),
            "pow": lambda: (min(p ** q for p in (alo, ahi) for q in (blo, bhi)),
                            max(p ** q for p in (alo, ahi) for q in (blo, bhi))),
        }[kind]()
        exact = exact and kind != "pow"
    elif kind in ("maximum", "minimum"):
        text = f"{g.ns(kind)}({a}, {b})"
        pick = max if kind == "maximum" else min
        lo, hi = pick(alo, blo), pick(ahi, bhi)
    elif kind == "arctan2":
        text, lo, hi, exact = f"{g.ns('arctan2')}({a}, {b})", -math.pi / 2, math.pi / 2, False
    else:
        cond = g.pick((f"{a} > {b}", f"{a} < 0.25", f"{g.ns('greater_equal')}({a}, {b})"))
        text = f"{g.ns('where')}({cond}, {a}, {b})"
        lo, hi = min(alo, blo), max(ahi, bhi)
    return g.emit(kind, text, shape, lo, hi, exact)


def clip(g, x):
    x = g.bounded(x)
    lo, hi = g.lohi(x)
    a = g.pick((-1.0, -0.5, 0.0, 0.25))
    b = a + g.pick((0.5, 1.0, 2.0))
    spell = g.pick(("np.clip({}, {}, {})", "gnp.clip({}, {}, {})", "gnn.clip_by_value({}, {}, {})"))
    return g.emit("clip", spell.format(x, a, b), g.shape_of(x), max(lo, a) if lo < b else b,
                  min(hi, b) if hi > a else a, exact=True)


def _axis(g, rank, allow_tuple=True):
    """An axis argument: None, an int (possibly negative) or a tuple; and the reduced axes."""
    if rank == 0:
        return None, ()
    mode = g.c(4 if allow_tuple and rank >= 2 else 3)
    if mode == 0:
        return None, tuple(range(rank))
    if mode == 3:
        axes = tuple(sorted({g.c(rank), g.c(rank)}))
        return axes, axes
    ax = g.c(rank)
    return (ax - rank if mode == 2 else ax), (ax,)


def reduction(g, x):
    x = g.bounded(x)
    shape, lo, hi = g.info[x]
    kind = g.pick(("sum", "mean", "max", "min", "var", "std", "logsumexp", "norm", "prod"))
    axis, axes = _axis(g, len(shape), allow_tuple=kind != "norm")
    n = math.prod(shape[a] for a in axes)
    keep = bool(g.c(2))
    out = tuple(1 if i in axes else d for i, d in enumerate(shape)) if keep else \
        tuple(d for i, d in enumerate(shape) if i not in axes)
    if kind == "prod" and (n > 6 or _mag(lo, hi) > 4):
        kind = "sum"
    m = _mag(lo, hi)
    p = m ** n if kind == "prod" else 0.0
    lo2, hi2 = {
        "sum": (n * min(lo, 0), n * max(hi, 0)), "mean": (lo, hi), "max": (lo, hi),
        "min": (lo, hi), "var": (0.0, (hi - lo) ** 2 / 4), "std": (0.0, (hi - lo) / 2),
        "logsumexp": (lo, hi + math.log(max(n, 1))), "norm": (0.0, m * math.sqrt(n)),
        "prod": (-p, p),
    }[kind]
    args = f"axis={axis!r}, keepdims={keep}"
    if kind == "norm":
        text = g.pick((f"gnp.linalg.norm({x}, {args})", f"np.linalg.norm({x}, {args})"))
    elif kind == "logsumexp":
        text = g.pick((f"gnp.logsumexp({x}, {args})", f"gnn.logsumexp({x}, {args})"))
    elif kind in ("sum", "mean", "max", "min"):
        text = g.pick((f"{g.ns(kind)}({x}, {args})", f"{x}.{kind}({args})"))
    else:
        text = f"{g.ns(kind)}({x}, {args})"
    return g.emit(kind, text, out, lo2, hi2, exact=kind in ("max", "min"))


def along_axis(g, x):
    x = g.bounded(x)
    shape, lo, hi = g.info[x]
    if not shape:
        return None
    ax = g.c(len(shape))
    ax = ax - len(shape) if g.c(2) else ax
    n = shape[ax]
    kind = g.pick(("softmax", "log_softmax", "cumsum", "cumsum_flat"))
    if kind == "softmax":
        return g.emit(kind, f"gnn.softmax({x}, axis={ax})", shape, 0.0, 1.0)
    if kind == "log_softmax":
        return g.emit(kind, f"gnn.log_softmax({x}, axis={ax})", shape,
                      lo - hi - math.log(n) - 1e-6, 0.0)
    if kind == "cumsum":
        return g.emit(kind, f"{g.ns('cumsum')}({x}, axis={ax})", shape, n * min(lo, 0),
                      n * max(hi, 0))
    size = math.prod(shape)
    return g.emit("cumsum", f"{g.ns('cumsum')}({x})", (size,), size * min(lo, 0), size * max(hi, 0))


def _dim(g, limit):
    dims = [d for d in (1, 2, 3, 4, 5, 7, 13, 129) if d <= max(limit, 1)]
    return g.pick(dims)


def contraction(g, x):
    x = g.bounded(x)
    shape, lo, hi = g.info[x]
    size = max(math.prod(shape), 1)
    rank = len(shape)
    if rank > 3:
        return None
    k = _dim(g, MAX_SIZE // size)
    if rank == 0:
        y = g.leaf((k,))
        pattern = g.pick(("np.dot({}, {})", "gnp.dot({}, {})", "{} * {}"))
        text, out, n = pattern.format(x, y), (k,), 1
    elif rank == 1:
        (n,) = shape
        choice = g.c(7)
        partner = [(n,), (n, k), (n,), (k,), (n,), (n, k), (k, n)][choice]
        y = x if partner == shape and g.c(3) == 0 else g.leaf(partner)
        text, out = [
            (g.pick((f"{x} @ {y}", f"{g.ns('dot')}({x}, {y})", f"{x}.dot({y})")), ()),
            (g.pick((f"{x} @ {y}", f"{g.ns('matmul')}({x}, {y})")), (k,)),
            (f"{g.ns('inner')}({x}, {y})", ()),
            (f"{g.ns('outer')}({x}, {y})", (n, k)),
            (f"{g.ns('einsum')}('i,i->', {x}, {y})", ()),
            (f"{g.ns('einsum')}('i,ij->j', {x}, {y})", (k,)),
            (f"{g.ns('tensordot')}({x}, {y}, axes=([0], [1]))", (k,)),
        ][choice]
        n = 1 if choice == 3 else n
    elif rank == 2:
        m, n = shape
        choice = g.c(7)
        partner = [(n,), (n, k), (k, n), (m, n), (m, n), (n, k), (m, k)][choice]
        y = x if partner == shape and g.c(3) == 0 else g.leaf(partner)
        text, out, n = [
            (g.pick((f"{x} @ {y}", f"{g.ns('dot')}({x}, {y})")), (m,), n),
            (g.pick((f"{x} @ {y}", f"{g.ns('matmul')}({x}, {y})", f"{x}.dot({y})")), (m, k), n),
            (g.pick((f"{g.ns('inner')}({x}, {y})", f"{g.ns('einsum')}('ij,kj->ik', {x}, {y})")),
             (m, k), n),
            (f"{g.ns('einsum')}('ij,ij->i', {x}, {y})", (m,), n),
            (f"{g.ns('tensordot')}({x}, {y}, axes=2)", (), m * n),
            (f"{g.ns('tensordot')}({x}, {y}, axes=1)", (m, k), n),
            (g.pick((f"{x}.T @ {y}", f"{g.ns('einsum')}('ji,jk->ik', {x}, {y})")), (n, k), m),
        ][choice]
    else:
        b, m, n = shape
        y = g.leaf((g.pick((b, 1)), n, k))
        spellings = [f"{x} @ {y}", f"{g.ns('matmul')}({x}, {y})"]
        if g.info[y][0][0] == b:  # einsum does not broadcast a size-1 batch here
            spellings.append(f"{g.ns('einsum')}('bij,bjk->bik', {x}, {y})")
        text = g.pick(spellings)
        out = (b, m, k)
    ylo, yhi = g.info[y][1:]
    bound = max(n, 1) * _mag(lo, hi) * _mag(ylo, yhi)
    return g.emit("contract", text, out, -bound, bound)


def _factor(g, size):
    """A random shape with ``size`` elements (rank 0 to 3)."""
    primes, s, p = [], size, 2
    while s > 1:
        while s % p == 0:
            primes.append(p)
            s //= p
        p += 1
    rank = g.pick((1, 2, 3)) if size > 1 else g.pick((0, 1, 2))
    dims = [1] * rank
    for q in primes:
        dims[g.c(rank)] *= q
    return tuple(dims)


def shape_op(g, x):
    shape, lo, hi = g.info[x]
    rank = len(shape)
    kind = g.pick(("reshape", "transpose", "expand_dims", "squeeze", "ravel", "broadcast_to"))
    if kind == "transpose" and rank < 2 or kind == "squeeze" and 1 not in shape or \
            kind == "broadcast_to" and math.prod(shape) * 3 > MAX_SIZE:
        kind = "expand_dims"
    if kind == "reshape":
        new = _factor(g, math.prod(shape))
        spec = new
        if new and g.c(3) == 0:
            spec = tuple(-1 if i == 0 else d for i, d in enumerate(new))
        text = g.pick((f"{x}.reshape({spec!r})", f"{g.ns('reshape')}({x}, {spec!r})"))
    elif kind == "transpose":
        perm = list(range(rank))
        for i in range(rank - 1, 0, -1):
            j = g.c(i + 1)
            perm[i], perm[j] = perm[j], perm[i]
        new = tuple(shape[p] for p in perm)
        a, b = g.c(rank), g.c(rank)
        swapped = list(shape)
        swapped[a], swapped[b] = swapped[b], swapped[a]
        text, new = g.pick(((f"{x}.T", shape[::-1]),
                            (f"{g.ns('transpose')}({x}, {tuple(perm)!r})", new),
                            (f"{g.ns('swapaxes')}({x}, {a}, {b - rank})", tuple(swapped))))
    elif kind == "squeeze":
        ax = shape.index(1)
        new = tuple(d for i, d in enumerate(shape) if i != ax)
        text = f"{g.ns('squeeze')}({x}, axis={ax})"
        if g.c(2):
            new = tuple(d for d in shape if d != 1)
            text = f"{g.ns('squeeze')}({x})"
    elif kind == "ravel":
        new = (math.prod(shape),)
        text = f"{g.ns('ravel')}({x})"
    elif kind == "broadcast_to":
        new = tuple(3 if d == 1 and g.c(2) else d for d in shape)
        new = (g.pick((1, 3)),) + new if rank < 3 else new
        text = f"{g.ns('broadcast_to')}({x}, {new!r})"
    else:
        ax = g.c(rank + 1)
        ax = ax - rank - 1 if g.c(2) else ax
        new = list(shape)
        new.insert(ax % (rank + 1), 1)
        new = tuple(new)
        text = g.pick((f"{g.ns('expand_dims')}({x}, {ax})",
                       f"{x}[None]" if ax % (rank + 1) == 0 else f"{g.ns('expand_dims')}({x}, {ax})"))
    return g.emit(kind, text, new, lo, hi, exact=True)


def _index(g, d):
    """One axis' static index: a slice (with steps, negative bounds) or an int; its length."""
    mode = g.c(5)
    if mode == 0:
        return ":", d
    if mode == 1:
        i = g.c(d)
        return str(i - d if g.c(2) else i), None
    a = g.c(d)
    b = a + 1 + g.c(d - a)
    step = g.pick((1, 2, 3)) if mode >= 3 else 1
    if mode == 4 and g.c(2):  # a reversed slice
        return f"{b - 1}:{a - 1 if a else ''}:-{step}", len(range(b - 1, a - 1, -step))
    return f"{a}:{b}:{step}" if step > 1 else f"{a}:{b}", len(range(a, b, step))


def slicing(g, x):
    shape, lo, hi = g.info[x]
    if not shape:
        return None
    parts, new = [], []
    for d in shape[: 1 + g.c(len(shape))]:
        text, n = _index(g, d)
        parts.append(text)
        if n is not None:
            new.append(n)
    new += shape[len(parts):]
    index = ", ".join(parts) + ("," if len(parts) == 1 and ":" not in parts[0] and g.c(2) else "")
    return g.emit("slice", f"{x}[{index}]", tuple(new), lo, hi, exact=True)


def join(g, x):
    x = g.bounded(x)
    shape, lo, hi = g.info[x]
    if 2 * math.prod(shape) > MAX_SIZE:
        return None
    rank = len(shape)
    if g.c(2) or rank == 0:
        ax = g.c(rank + 1)
        y = x if g.c(3) == 0 else g.leaf(shape)
        new = list(shape)
        new.insert(ax, 2)
        text = f"{g.ns('stack')}([{x}, {y}], axis={ax})"
        kind = "stack"
    else:
        ax = g.c(rank)
        other = list(shape)
        other[ax] = g.pick((1, 2, 3, 7))
        y = x if g.c(3) == 0 else g.leaf(tuple(other))
        other = g.info[y][0]
        new = list(shape)
        new[ax] += other[ax]
        text = f"{g.ns('concatenate')}([{x}, {y}], axis={ax - rank if g.c(2) else ax})"
        kind = "concatenate"
    ylo, yhi = g.info[y][1:]
    return g.emit(kind, text, tuple(new), min(lo, ylo), max(hi, yhi), exact=True)


def loss(g, x):
    x = g.bounded(x)
    shape, lo, hi = g.info[x]
    y = g.leaf(shape, 0.0, 1.0)
    if g.c(2):
        return g.emit("mse", f"gnn.mse({x}, {y})", (), 0.0, (_mag(lo, hi) + 1) ** 2)
    return g.emit("bce", f"gnn.binary_cross_entropy_with_logits({x}, {y})", (), 0.0,
                  _mag(lo, hi) + 1)


# weights by repetition: elementwise ops are the bulk of real programs
OPS = (unary, unary, unary, binary, binary, binary, clip, reduction, reduction, along_axis,
       contraction, contraction, shape_op, shape_op, slicing, join, loss)
