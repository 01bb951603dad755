"""gc.function / gc.jit: pytrees in and out, the per-signature cache, static arguments, weak
scalars, iteration over traced values, retrace logging and the excessive-retracing warning."""

from __future__ import annotations

import functools
import logging
import warnings
from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp

Params = namedtuple("Params", "w b")


def counting(fn, **options):
    """``fn`` under gc.function (reference backend) plus a list that grows by one per trace."""
    traces = []

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        traces.append(1)
        return fn(*args, **kwargs)

    return gc.function(wrapped, backend="reference", **options), traces


def test_jit_is_function_and_bare_decorator_works():
    assert gc.jit is gc.function

    @gc.function
    def f(x):
        return x * 2

    np.testing.assert_array_equal(f(np.arange(3)), np.arange(3) * 2)


def test_pytrees_in_and_out():
    def f(params, batch, extra):
        y = params.w @ batch["x"] + params.b
        return {
            "y": y,
            "nothing": None,
            "pair": (y.sum(), [batch["x"]]),
            "params": Params(params.w * 0, params.b),
            "extra": extra,
        }

    w, b, x = np.ones((2, 3)), np.arange(2.0), np.arange(3.0)
    out = gc.function(f, backend="reference")(Params(w, b), {"x": x}, None)
    assert set(out) == {"y", "nothing", "pair", "params", "extra"}
    np.testing.assert_allclose(out["y"], w @ x + b)
    assert out["nothing"] is None and out["extra"] is None
    assert isinstance(out["pair"], tuple) and isinstance(out["pair"][1], list)
    np.testing.assert_allclose(out["pair"][0], (w @ x + b).sum())
    assert type(out["params"]) is Params and out["params"].w.shape == (2, 3)
    assert all(isinstance(v, np.ndarray) for v in (out["y"], out["pair"][0], out["pair"][1][0]))


def test_dict_key_order_and_dict_subclasses():
    f, traces = counting(lambda d: d["a"] - d["b"])
    assert f({"a": 3.0, "b": 1.0}) == 2.0
    assert f({"b": 1.0, "a": 5.0}) == 4.0
    assert len(traces) == 1  # key order is not part of the signature
    out = gc.function(lambda d: d, backend="reference")(OrderedDict(z=np.ones(1), a=np.zeros(1)))
    assert type(out) is OrderedDict and set(out) == {"z", "a"}


def test_same_signature_does_not_retrace():
    f, traces = counting(lambda x, y: x * y)
    f(np.ones((2, 3)), np.ones(3))
    f(np.full((2, 3), 2.0), np.zeros(3))
    assert len(traces) == 1
    f(np.ones((2, 3), np.float32), np.ones(3, np.float32))  # dtype changed
    f(np.ones((3, 3)), np.ones(3))  # shape changed
    f(np.ones((3, 3)), 2.0)  # a weak scalar instead of an array
    f(np.ones((3, 3)), 3.0)  # same weak scalar signature: no retrace
    assert len(traces) == 4


def test_kwargs_are_arguments_too():
    f, traces = counting(lambda x, scale=1.0: x * scale)
    np.testing.assert_allclose(f(np.ones(2), scale=np.array(3.0)), [3.0, 3.0])
    np.testing.assert_allclose(f(np.ones(2), scale=np.array(4.0)), [4.0, 4.0])
    assert len(traces) == 1


def test_static_argnums_and_argnames():
    def f(x, n, mode="sum"):
        y = x**n
        return y.sum() if mode == "sum" else y.max()

    g, traces = counting(f, static_argnums=1, static_argnames="mode")
    x = np.arange(1.0, 4.0)
    assert g(x, 2) == 14.0 and g(x, 2) == 14.0 and len(traces) == 1
    assert g(x, 3) == 36.0 and len(traces) == 2
    assert g(x, 3, mode="max") == 27.0 and len(traces) == 3
    assert g(x, n=3, mode="max") == 27.0  # a static position passed by name is static too
    h, _ = counting(f, static_argnames=("n", "mode"))
    assert h(x, 2) == 14.0  # static by name, passed by position


def test_negative_static_argnum():
    g, traces = counting(lambda x, n: x * n, static_argnums=-1)
    assert g(np.ones(2), 3).tolist() == [3.0, 3.0]
    assert len(traces) == 1


def test_unhashable_static_argument_is_a_clear_error():
    g, _ = counting(lambda x, opts: x * len(opts), static_argnums=1)
    with pytest.raises(gc.GraphcError, match=r"opts.*hashable.*list"):
        g(np.ones(2), [1, 2])
    h, _ = counting(lambda x, opts=None: x, static_argnames="opts")
    with pytest.raises(gc.GraphcError, match=r"opts.*hashable.*dict"):
        h(np.ones(2), opts={"a": 1})


def test_weak_scalar_arguments():
    f, traces = counting(lambda x, s: x * s)
    x32 = np.ones(3, np.float32)
    assert f(x32, 2.0).dtype == np.float32
    assert f(x32, 3).dtype == np.float32
    assert f(np.ones(3, np.int32), 2).dtype == np.int32
    assert f(np.ones(3, np.int32), 2.5).dtype == np.float64
    assert f(2.0, 3.0).dtype == np.float64 and f(2.0, 3.0).shape == ()
    assert f(True, 2).dtype == np.int64
    assert f(np.ones(3), 5.0).tolist() == [5.0] * 3
    assert len(traces) == 7  # the scalar's value is not part of the signature; its type is


def test_iteration_over_first_axis():
    def f(theta, xs):
        w, b = theta
        total = 0.0
        for row in xs:
            total = total + (row * w + b).sum()
        return total, len(xs)

    theta, xs = np.array([2.0, 1.0]), np.arange(6.0).reshape(3, 2)
    total, n = gc.function(f, backend="reference")(theta, xs)
    assert n == 3
    np.testing.assert_allclose(total, sum((r * 2.0 + 1.0).sum() for r in xs))


def test_iterating_a_0d_tracer_is_an_error():
    with pytest.raises(gc.ShapeError, match="0-d"):
        gc.make_graph(lambda x: list(x))(np.float64(1.0))
    with pytest.raises(gc.ShapeError, match="0-d"):
        gc.make_graph(lambda x: len(x))(np.float64(1.0))


def test_retrace_is_logged_with_the_changed_argument(caplog):
    f, _ = counting(lambda params, x, n: params["w"] * x * n, static_argnums=2)
    p = {"w": np.ones(3)}
    with caplog.at_level(logging.DEBUG, logger="graphc"):
        f(p, np.ones(3), 1)
        assert not [r for r in caplog.records if "retrac" in r.getMessage()]
        f(p, np.ones(3, np.float32), 1)
        f({"w": np.ones(4)}, np.ones(4, np.float32), 1)
        f({"w": np.ones(4)}, np.ones(4, np.float32), 2)
        f({"w": np.ones(4), "v": 1.0}, np.ones(4, np.float32), 2)
    msgs = [
        r.getMessage() for r in caplog.records if r.name == "graphc" and r.levelno == logging.DEBUG
    ]
    retraces = [m for m in msgs if "retrac" in m]
    assert len(retraces) == 4
    assert "argument x" in retraces[0] and "f64[3]" in retraces[0] and "f32[3]" in retraces[0]
    assert "params['w']" in retraces[1] and "f64[4]" in retraces[1]
    assert "argument n" in retraces[2] and "1" in retraces[2] and "2" in retraces[2]
    assert "structure" in retraces[3] and "params" in retraces[3]


def test_namedtuple_fields_are_named_in_retrace_messages(caplog):
    f, _ = counting(lambda p: p.w + p.b)
    with caplog.at_level(logging.DEBUG, logger="graphc"):
        f(Params(np.ones(2), np.ones(2)))
        f(Params(np.ones(2), np.ones(2, np.float32)))
    assert any("p.b" in r.getMessage() for r in caplog.records)


def test_excessive_retracing_warns_once():
    f, traces = counting(lambda x: x + 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 13):
            f(np.ones(n))
    assert len(traces) == 12
    ours = [w for w in caught if "traced" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    assert "9 times" in str(ours[0].message)
    assert ours[0].filename.endswith("test_trace_function.py")  # points at the user's call


def test_python_scalar_and_constant_outputs():
    out = gc.function(lambda x: (1.5, 2, True, x), backend="reference")(np.ones(2))
    assert [o.dtype for o in out[:3]] == [np.float64, np.int64, np.bool_]
    assert all(isinstance(o, np.ndarray) and o.shape == () for o in out[:3])


def test_outputs_are_fresh_arrays():
    x = np.ones(3)
    out = gc.function(lambda x: x, backend="reference")(x)
    np.testing.assert_array_equal(out, x)
    assert out is not x and not np.shares_memory(out, x)


def test_inner_function_inlines_into_outer():
    inner, inner_traces = counting(lambda x: x * 2)
    outer = gc.function(lambda x: inner(x) + 1, backend="reference")
    np.testing.assert_array_equal(outer(np.ones(2)), [3.0, 3.0])
    assert "mul" in str(gc.make_graph(lambda x: inner(x) + 1)(np.ones(2)))
    assert len(inner_traces) == 2  # traced as part of each outer trace, never on its own


def test_numpy_scalars_and_lists_of_arrays_as_arguments():
    f = gc.function(lambda xs, s: gnp.stack(xs) * s, backend="reference")
    out = f([np.ones(2), np.zeros(2)], np.float32(2))
    assert out.dtype == np.float64 and out.tolist() == [[2.0, 2.0], [0.0, 0.0]]


def test_concrete_artefact():
    f = gc.function(lambda x: gnp.exp(x).sum(), backend="reference")
    c = f.concrete(np.ones(3, np.float32))
    assert "exp" in c.ir("traced") and "f32[3]" in c.ir("optimized")
    stats = c.stats()
    assert stats["nodes"]["traced"] >= 2 and stats["trace_ms"] >= 0
    assert f.concrete(np.zeros(3, np.float32)) is c


def test_make_graph_returns_a_graph():
    g = gc.make_graph(lambda x, n: x * n, static_argnums=1)(np.ones(2, np.float32), 3)
    assert len(g.inputs) == 1 and str(g).count("mul") == 1
    assert "f32[2]" in str(g)


def test_static_facts_of_traced_values():
    seen = {}

    def f(x):
        seen.update(shape=x.shape, ndim=x.ndim, dtype=x.dtype, size=x.size, n=len(x), t=x.T.shape)
        return x

    gc.function(f, backend="reference")(np.ones((2, 3), np.float32))
    assert seen == {"shape": (2, 3), "ndim": 2, "dtype": np.float32, "size": 6, "n": 2, "t": (3, 2)}
    assert isinstance(seen["dtype"], np.dtype) and gnp.shape(np.ones((4, 1))) == (4, 1)


def test_calling_a_concrete_artefact_checks_its_signature():
    f = gc.function(lambda x, n: x * n, static_argnums=1, backend="reference")
    c = f.concrete(np.ones(3, np.float32), 2)
    np.testing.assert_array_equal(c(np.full(3, 2.0, np.float32), 2), np.full(3, 4.0, np.float32))
    with pytest.raises(gc.GraphcError, match=r"argument x changed from f32\[3\] to f32\[4\]"):
        c(np.ones(4, np.float32), 2)
    with pytest.raises(gc.GraphcError, match="static argument n"):
        c(np.ones(3, np.float32), 3)
    with pytest.raises(gc.GraphcError, match="structure"):
        c([np.ones(3, np.float32)], 2)
