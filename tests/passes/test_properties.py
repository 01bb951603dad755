"""Property tests: random graphs evaluate the same before and after the whole pipeline.

The generator chains elementwise, broadcast, reduce, transpose, reshape, select and convert nodes
over random shapes and dtypes, with operands that are other values or constants chosen to trigger
rewrites (0.0, -0.0, 1, splats, NaN, inf), and evaluates on inputs full of signed zeros, infinities
and NaNs. By default the results must agree bit for bit (NaN compared as NaN); under fast_math
within a tolerance wherever the original result is finite.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from passes_util import F32, F64, I32, I64, G, bits_equal, duplicate_nodes

from graphc.backend.reference import evaluate
from graphc.ir import verify
from graphc.ops.broadcasting import broadcast_shapes
from graphc.passes import optimize

# Signed zeros and ones come up often: they are what the identities are about.
SPECIAL = [0.0, -0.0, 0.0, -0.0, 1.0, 1.0, -1.0, 2.0, 0.5, np.inf, -np.inf, np.nan]
INT_SPECIAL = [0, 0, 1, 1, -1, 2, 7]
UNARY = {"f": ["neg", "exp", "log", "sin", "tanh", "abs", "sqrt"], "i": ["neg", "abs"]}
BINARY = {"f": ["add", "sub", "mul", "div", "max", "min", "pow"],
          "i": ["add", "sub", "mul", "max", "min"]}
shapes = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)


def _pick(draw, pool):
    return draw(st.sampled_from(pool))


def _constant(draw, g, x, finite):
    values = INT_SPECIAL if x.dtype.kind == "i" else [0.0, 1.0, 2.0, 0.5] if finite else SPECIAL
    value = draw(st.sampled_from(values))
    kind = draw(st.sampled_from(["scalar", "splat", "array"]))
    if kind == "scalar":
        return g.c(value, x.dtype)
    if kind == "splat":
        return g.splat(value, x.shape, x.dtype)
    seed = draw(st.integers(0, 2**16))
    arr = np.random.default_rng(seed).choice(values, size=x.shape).astype(x.dtype)
    return g.c(arr, x.dtype)


def _binary(draw, g, pool, finite):
    x = _pick(draw, pool)
    other = draw(st.sampled_from(["value", "constant", "itself"]))
    if other == "value":
        y = _pick(draw, [v for v in pool if _broadcastable(x.shape, v.shape)])
    else:
        y = x if other == "itself" else _constant(draw, g, x, finite)
    a, b = (x, y) if draw(st.booleans()) else (y, x)
    return getattr(g, draw(st.sampled_from(BINARY[x.dtype.kind])))(a, b)


def _broadcastable(s, t):
    try:
        broadcast_shapes(s, t)
        return True
    except Exception:  # noqa: BLE001
        return False


def _shape_op(draw, g, pool, finite):
    x = _pick(draw, pool)
    kind = draw(st.sampled_from(["transpose2", "transpose", "reshape2", "bcast", "bcast_same",
                                 "reduce", "select", "convert", "negneg", "slice2"]))
    n = len(x.shape)
    if kind in ("transpose", "transpose2"):
        perm = draw(st.permutations(range(n)))
        t = g.transpose(x, perm=tuple(perm))
        return g.transpose(t, perm=tuple(draw(st.permutations(range(n))))) if kind[-1] == "2" else t
    if kind == "reshape2":
        flat = g.reshape(x, shape=(int(np.prod(x.shape)),))
        return g.reshape(flat, shape=draw(st.sampled_from([x.shape, (1, *x.shape), x.shape[::-1]])))
    if kind == "bcast":
        k = draw(st.integers(1, 3))
        return g.broadcast_in_dim(x, shape=(k, *x.shape), dims=tuple(range(1, n + 1)))
    if kind == "bcast_same":
        return g.broadcast_in_dim(x, shape=x.shape, dims=tuple(range(n)))
    if kind == "reduce":
        axes = tuple(a for a in range(n) if draw(st.booleans()))
        return getattr(g, draw(st.sampled_from(["reduce_sum", "reduce_max"])))(x, axes=axes)
    if kind == "select":
        y = _pick(draw, [v for v in pool if _broadcastable(x.shape, v.shape)])
        if draw(st.booleans()):
            pred = g.lt(x, y)
        else:
            pred = g.splat(draw(st.booleans()), x.shape, np.bool_)
        return g.select(pred, x, y)
    if kind == "slice2":
        return _slice(draw, g, _slice(draw, g, x))
    if kind == "convert":
        other = {F32: F64, F64: F32, I32: I64}[x.dtype]
        return g.convert(g.convert(x, dtype=draw(st.sampled_from([x.dtype, other]))), dtype=x.dtype)
    return g.neg(g.neg(x))


def _slice(draw, g, x):
    start, limit = [], []
    for n in x.shape:
        a = draw(st.integers(0, n - 1))
        start.append(a)
        limit.append(draw(st.integers(a + 1, n)))
    strides = tuple(draw(st.integers(1, 3)) for _ in x.shape)
    return g.slice_(x, start=tuple(start), limit=tuple(limit), strides=strides)


@st.composite
def random_graphs(draw, finite=False):
    dtype = draw(st.sampled_from([F32, F64] if finite else [F32, F64, I32]))
    in_shapes = draw(st.lists(shapes, min_size=1, max_size=3))
    g = G(*[(s, dtype) for s in in_shapes])
    pool = list(g.inputs)
    for _ in range(draw(st.integers(1, 10))):
        step = draw(st.sampled_from(["unary", "binary", "shape"]))
        if step == "unary":
            v = getattr(g, draw(st.sampled_from(UNARY[dtype.kind])))(_pick(draw, pool))
        elif step == "binary":
            v = _binary(draw, g, pool, finite)
        else:
            v = _shape_op(draw, g, pool, finite)
        pool.append(v)
    outs = [pool[-1]] + draw(st.lists(st.sampled_from(pool), max_size=2))
    seed = draw(st.integers(0, 2**16))
    return g.build(*outs), _inputs(in_shapes, dtype, seed, finite)


def _inputs(in_shapes, dtype, seed, finite):
    rng = np.random.default_rng(seed)
    args = []
    for s in in_shapes:
        if finite:
            args.append(rng.uniform(0.25, 2.0, size=s).astype(dtype))
            continue
        x = rng.standard_normal(s) * 2
        special = rng.random(s) < 0.6
        x = np.where(special, rng.choice(INT_SPECIAL if dtype.kind == "i" else SPECIAL, size=s), x)
        args.append(np.asarray(x, dtype=dtype))
    return args


def _evaluate(graph, args):
    with np.errstate(all="ignore"):
        return evaluate(graph, args)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs())
def test_default_pipeline_is_bit_exact(case):
    graph, args = case
    optimized, stats = optimize(graph, fast_math=False)
    verify(optimized)
    assert stats[-1]["nodes_after"] == optimized.count_nodes()
    for a, b in zip(_evaluate(graph, args), _evaluate(optimized, args), strict=True):
        assert bits_equal(a, b), f"{a!r} != {b!r}\n{graph}\n{optimized}"
    assert duplicate_nodes(optimized) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(finite=True))
def test_fast_math_pipeline_is_close(case):
    graph, args = case
    optimized, _ = optimize(graph, fast_math=True)
    verify(optimized)
    for a, b in zip(_evaluate(graph, args), _evaluate(optimized, args), strict=True):
        finite = np.isfinite(a)
        scale = max(1.0, float(np.max(np.abs(a[finite]), initial=0.0)))
        np.testing.assert_allclose(b[finite], a[finite], rtol=1e-4, atol=1e-4 * scale)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs())
def test_pipeline_reaches_a_fixed_point(case):
    graph, _ = case
    once, _ = optimize(graph)
    twice, _ = optimize(once)
    assert str(twice) == str(once)
