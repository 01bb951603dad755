"""Random loops (hypothesis): a body drawn from bounded elementwise ops, a shape, a dtype, a trip
count and a loop form (while with a traced count, checkpointed while, fori with static and traced
bounds, scan over rows). Each is compiled and compared with the same body unrolled in Python
(an independent path: plain straight-line tracing, no loop primitive), values and gradients,
on the LLVM backend and the reference evaluator."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc as gc

#: (source, function of the carry v, the row r and the capture w): bounded on bounded inputs
STEPS = [
    ("tanh(v * w)", lambda v, r, w: np.tanh(v * w)),
    ("sin(v) + r", lambda v, r, w: np.sin(v) + r),
    ("v * 0.5 + w", lambda v, r, w: v * 0.5 + w),
    ("v * cos(r)", lambda v, r, w: v * np.cos(r)),
    ("exp(-v * v)", lambda v, r, w: np.exp(-v * v)),
    ("maximum(v, r)", lambda v, r, w: np.maximum(v, r)),
    ("v / (1 + v * v)", lambda v, r, w: v / (1 + v * v)),
]
FORMS = ["while", "while_ckpt", "fori", "fori_traced", "scan"]


@st.composite
def loops(draw):
    steps = draw(st.lists(st.sampled_from(range(len(STEPS))), min_size=1, max_size=4))
    shape = draw(st.sampled_from([(), (1,), (3,), (2, 3), (67,)]))
    return {
        "steps": steps, "shape": shape, "trips": draw(st.integers(0, 6)),
        "form": draw(st.sampled_from(FORMS)), "k": draw(st.integers(1, 4)),
        "dtype": draw(st.sampled_from([np.float32, np.float64])), "seed": draw(st.integers(0, 99)),
    }


def _body(case):
    def body(v, r, w):
        for i in case["steps"]:
            v = STEPS[i][1](v, r, w)
        return v

    return body


def _looped(case):
    body, form, k = _body(case), case["form"], case["k"]

    def f(x, rows, w, n):
        if form == "scan":
            return gc.scan(lambda v, r: (body(v, r, w), v.sum()), x, rows)[0]
        step = lambda i, v: body(v, rows[0], w)  # noqa: E731
        if form == "fori":
            return gc.fori_loop(0, case["trips"], step, x)
        if form == "fori_traced":
            return gc.fori_loop(0, n, step, x)
        ckpt = k if form == "while_ckpt" else None
        out = gc.while_loop(lambda c: c[1] < n, lambda c: (step(0, c[0]), c[1] + 1), (x, 0),
                            checkpoints=ckpt)
        return out[0]

    return f


def _unrolled(case):
    body = _body(case)

    def f(x, rows, w, n):
        for t in range(case["trips"]):
            x = body(x, rows[t] if case["form"] == "scan" else rows[0], w)
        return x

    return f


def _loss(f):
    return lambda x, rows, w, n: (f(x, rows, w, n) ** 2).sum()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loops())
def test_random_loops_match_their_unrolled_bodies(case):
    rng = np.random.default_rng(case["seed"])
    dt, shape, trips = case["dtype"], case["shape"], case["trips"]
    x = rng.uniform(-1.5, 1.5, shape).astype(dt)
    rows = rng.uniform(-1.0, 1.0, (max(trips, 1) if case["form"] != "scan" else trips, *shape))
    rows = rows.astype(dt)
    w = dt(rng.uniform(0.5, 1.5))
    args = (x, rows, w, np.int64(trips))
    rtol = 2e-5 if dt == np.float32 else 1e-12
    want = gc.function(_unrolled(case), backend="reference")(*args)
    want_g = gc.function(gc.grad(_loss(_unrolled(case)), argnums=(0, 1, 2)),
                         backend="reference")(*args)
    for backend in ("llvm", "reference"):
        got = gc.function(_looped(case), backend=backend)(*args)
        assert got.dtype == dt and got.shape == shape
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
        g = gc.function(gc.grad(_loss(_looped(case)), argnums=(0, 1, 2)), backend=backend)(*args)
        for a, b in zip(g, want_g):
            assert a.dtype == dt
            np.testing.assert_allclose(a, b, rtol=rtol * 10, atol=rtol * 10)
