"""``gc.while_loop`` and ``gc.fori_loop`` end to end on each backend: values against plain Python
loops (shapes, dtypes, pytrees, captures, zero trips), errors naming the leaf and the line, eager
loops, and every differentiation mode with data-dependent trip counts (0, 1, 5 and 10,000)."""

import inspect
import os
import subprocess
import sys

import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm.plan import Tape, backend_plan
from graphc.testing import check_grads

BACKENDS = ("reference", "llvm")


def _run(fun, backend, *args):
    return gc.function(fun, backend=backend)(*args)


def _grow(x, limit):
    """Double ``x`` until its absolute sum reaches ``limit`` (a data-dependent trip count);
    also count the steps."""
    return gc.while_loop(lambda c: np.abs(c[0]).sum() < limit, lambda c: (c[0] * 2, c[1] + 1),
                         (x, 0))


def _grow_ref(x, limit):
    n = 0
    while np.abs(x).sum() < limit:
        x, n = x * 2, n + 1
    return x, n


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (1,), (2, 3), (1003,)])
@pytest.mark.parametrize("limit", [0.5, 100.0, 1e6])
def test_values_match_a_python_loop(backend, dtype, shape, limit):
    x = ((np.arange(np.prod(shape, dtype=int)) % 7 - 2.5).reshape(shape) / 10).astype(dtype)
    got, n = _run(_grow, backend, x, dtype(limit))
    want, n_want = _grow_ref(x, dtype(limit))
    assert got.dtype == dtype and got.shape == shape and n == n_want
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pytree_carry_closures_and_constants(backend):
    w = np.array([0.5, 1.5])

    def f(p, scale):
        def body(c):
            return {"v": c["v"] * scale + w, "n": c["n"] + 1, "hist": (c["hist"][0] + c["v"].sum(),)}

        init = {"v": p, "n": np.int32(0), "hist": (np.float64(0.0),)}
        return gc.while_loop(lambda c: c["n"] < 4, body, init)

    p = np.array([1.0, -2.0])
    out = _run(f, backend, p, np.float64(0.9))
    v, total = p.copy(), 0.0
    for _ in range(4):
        v, total = v * 0.9 + w, total + v.sum()
    np.testing.assert_allclose(out["v"], v, rtol=1e-14)
    assert out["n"] == 4 and out["n"].dtype == np.int32
    np.testing.assert_allclose(out["hist"][0], total, rtol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_loops_and_a_cond_in_the_body(backend):
    def f(x):
        def outer(c):
            v, i = c
            inner = gc.while_loop(lambda d: d[1] < i, lambda d: (d[0] + 1.0, d[1] + 1), (v, 0))[0]
            return gc.cond(inner.sum() > 10, lambda a: a * 0.5, lambda a: a, inner), i + 1

        return gc.while_loop(lambda c: c[1] < 5, outer, (x, 0))[0]

    def ref(v):
        for i in range(5):
            v = v + i
            v = v * 0.5 if v.sum() > 10 else v
        return v

    x = np.array([0.25, 3.0, -1.0])
    np.testing.assert_allclose(_run(f, backend, x), ref(x), rtol=1e-14)


def test_a_body_changing_a_dtype_names_the_leaf_both_types_and_the_line():
    def f(x):
        return gc.while_loop(lambda c: c[1] < 3, lambda c: (c[0].astype(np.float32), c[1] + 1),
                             (x, 0))

    line = inspect.getsourcelines(f)[1] + 1
    with pytest.raises(gc.GraphcError) as e:
        gc.function(f)(np.ones(2))
    msg = str(e.value)
    assert "init_val[0]" in msg and "f64[2]" in msg and "f32[2]" in msg
    assert f"test_loops.py:{line}" in msg


def test_structure_shape_and_predicate_errors():
    with pytest.raises(gc.GraphcError, match="keep the structure"):
        gc.function(lambda x: gc.while_loop(lambda c: c[0].sum() < 1, lambda c: c[0], (x,)))(
            np.ones(2))
    with pytest.raises(gc.GraphcError, match=r"init_val\[0\].*f64\[2\].*f64\[3\]"):
        gc.function(lambda x: gc.while_loop(lambda c: c[0].sum() < 1,
                                            lambda c: (np.concatenate([c[0], c[0][:1]]),), (x,)))(
            np.ones(2))
    with pytest.raises(gc.ShapeError, match="scalar"):
        gc.function(lambda x: gc.while_loop(lambda v: v < 1, lambda v: v * 2, x))(np.ones(2))
    with pytest.raises(gc.GraphcError, match="body_fun must be callable"):
        gc.function(lambda x: gc.while_loop(lambda v: v < 1, 3, x))(np.ones(()))
    with pytest.raises(gc.GraphcError, match="checkpoints"):
        gc.function(lambda x: gc.while_loop(lambda v: v < 1, lambda v: v, x, checkpoints=0))(
            np.ones(()))


def test_eager_loops_run_in_python():
    calls = []

    def body(v):
        calls.append(v)
        return v * 3

    assert gc.while_loop(lambda v: v < 50, body, 1) == 81 and len(calls) == 4
    assert gc.fori_loop(2, 5, lambda i, v: v + i, 0) == 9


@pytest.mark.parametrize("backend", BACKENDS)
def test_fori_loop_static_and_traced_bounds(backend):
    def static(x):
        return gc.fori_loop(1, 6, lambda i, v: v * 0.5 + i, x)

    def traced(x, lo, hi):
        return gc.fori_loop(lo, hi, lambda i, v: v * 0.5 + i, x)

    def ref(x, lo, hi):
        for i in range(lo, hi):
            x = x * 0.5 + i
        return x

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(_run(static, backend, x), ref(x, 1, 6), rtol=1e-15)
    graph = str(gc.make_graph(static)(x))
    assert "scan[length=5" in graph and "while_loop" not in graph
    for lo, hi in ((1, 6), (3, 3), (5, 2)):
        got = _run(traced, backend, x, np.int64(lo), np.int64(hi))
        np.testing.assert_allclose(got, ref(x, lo, hi), rtol=1e-15)
    assert "while_loop" in str(gc.make_graph(traced)(x, np.int64(1), np.int64(2)))


def _decay(x, n):
    """``n`` steps of a nonlinear elementwise update (``n`` traced: the trip count is data)."""
    def body(c):
        v, i = c
        return v * 0.999 + 0.001 * np.sin(v), i + 1

    return gc.while_loop(lambda c: c[1] < n, body, (x, 0))[0]


def _decay_grad_ref(x, n):
    """d/dx sum(v_n ** 2), elementwise: 2 v_n times the product of the steps' derivatives."""
    d = np.ones_like(x)
    for _ in range(n):
        d = d * (0.999 + 0.001 * np.cos(x))
        x = x * 0.999 + 0.001 * np.sin(x)
    return 2 * x * d


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [0, 1, 5, 10_000])
def test_reverse_mode_matches_the_derivative_and_the_numerical_checker(backend, n):
    x = np.linspace(-1.0, 2.0, 7)

    def loss(x):
        return (_decay(x, np.int64(n)) ** 2).sum()

    g = gc.function(gc.grad(loss), backend=backend)(x)
    np.testing.assert_allclose(g, _decay_grad_ref(x, n), rtol=1e-10, atol=1e-300)
    if n <= 5:
        check_grads(loss, (x,), order=1)


def test_the_graph_does_not_grow_with_the_trip_count():
    f = gc.function(gc.grad(lambda x, n: (_decay(x, n) ** 2).sum()))
    x = np.ones(1000)
    for n in (10, 10_000):
        np.testing.assert_allclose(f(x, np.int64(n)), _decay_grad_ref(x, n), rtol=1e-10)
    assert f.stats()["traces"] == 1  # one graph and one compile for both trip counts
    nodes = f.concrete(x, np.int64(3)).stats()["nodes"]
    assert nodes["traced"] < 100 and nodes["optimized"] < 100


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_of_grad_and_second_order_check(backend):
    def f(x, w):
        c = gc.while_loop(lambda c: c[0].sum() < 50,
                          lambda c: (np.sin(c[0]) * w + c[0] * 1.5 + 1.0, c[1] + 1), (x, 0))
        return (c[0] ** 2).sum()

    x, w = np.array([1.0, 2.0]), np.float64(1.7)
    check_grads(f, (x, w), order=2)
    h = gc.function(gc.hessian(f), backend=backend)(x, w)
    hf = gc.function(gc.jacfwd(gc.grad(f)), backend=backend)(x, w)
    np.testing.assert_allclose(h, hf, rtol=1e-10)
    assert h.shape == (2, 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_jvp_vjp_jacfwd_and_jacobian_agree(backend):
    def f(x, w):
        return gc.while_loop(lambda c: c[1] < 4, lambda c: (np.tanh(c[0] * w), c[1] + 1),
                             (x, 0))[0]

    x, w = np.array([0.3, -0.8, 1.1]), np.array([1.2, 0.7, -0.4])
    j_fwd = gc.function(gc.jacfwd(f, argnums=(0, 1)), backend=backend)(x, w)
    j_rev = gc.function(gc.jacobian(f, argnums=(0, 1)), backend=backend)(x, w)
    for a, b in zip(j_fwd, j_rev):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    check_grads(f, (x, w), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_carries_and_captures_get_no_cotangent(backend):
    def f(x, k):
        return gc.while_loop(lambda c: c[1] < k, lambda c: (c[0] * 1.5, c[1] + 1), (x, 0))[0].sum()

    g = gc.function(gc.grad(f), backend=backend)(np.ones(3, np.float32), np.int32(3))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.full(3, 1.5 ** 3), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_carried_sum_saves_no_trajectory(backend):
    """``s += sin(w)`` needs no per-step carry in reverse: the backward step reads none."""
    def f(w, n):
        return gc.while_loop(lambda c: c[1] < n, lambda c: (c[0] + np.sin(w), c[1] + 1),
                             (np.zeros(3), 0))[0].sum()

    w = np.array([0.1, 0.2, 0.3])
    g = gc.function(gc.grad(f), backend=backend)(w, np.int64(1000))
    np.testing.assert_allclose(g, 1000 * np.cos(w), rtol=1e-12)
    graph = gc.function(gc.grad(f)).concrete(w, np.int64(3)).graph
    (node,) = [n for n in graph.nodes if n.prim.name == "while_grad"]
    back = node.attrs["back_graph"]
    read = set(back.outputs).union(*(n.inputs for n in back.nodes))
    assert not read.intersection(back.inputs[:2])  # neither carry leaf is read
    (tape,) = [s for s in backend_plan(graph).steps if isinstance(s, Tape)]
    assert tape.saved == ()  # so the native loop saves nothing per step


def test_compiled_loops_are_safe_to_call_from_threads_at_once():
    """Each call has its own tape (heap) and workspace: concurrent reverse passes with different
    trip counts give each caller its own numbers."""
    from concurrent.futures import ThreadPoolExecutor

    f = gc.function(gc.grad(lambda x, n: (_decay(x, n) ** 2).sum()))
    x = np.linspace(-1.0, 2.0, 4096)
    trips = [3, 50, 7, 200, 1, 0, 120, 33] * 2
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda n: f(x, np.int64(n)), trips))
    for n, g in zip(trips, got):
        np.testing.assert_allclose(g, _decay_grad_ref(x, n), rtol=1e-10)


_OOM = """
import os, resource, numpy as np, graphc as gc
def loss(x, n):
    body = lambda c: (np.sin(c[0]), c[1] + 1)
    return (gc.while_loop(lambda c: c[1] < n, body, (x, 0))[0] ** 2).sum()
f = gc.function(gc.grad(loss))
x = np.ones(100_000)
small = f(x, np.int64(2))
vsz = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (vsz + (300 << 20), resource.RLIM_INFINITY))
try:
    f(x, np.int64(10_000))  # 10,000 saved carries of 800 KB each: 8 GB
except MemoryError as e:
    print("MemoryError" if "checkpoints=K" in str(e) else f"bare MemoryError {e!r}")
assert np.array_equal(f(x, np.int64(2)), small)  # and the function still works
print("ok")
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_running_out_of_memory_saving_carries_is_a_memory_error():
    out = subprocess.run([sys.executable, "-c", _OOM], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["MemoryError", "ok"]
