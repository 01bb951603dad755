"""The Executable and the native entry: argument checks, copies, outputs, workspace, threads."""

import collections
import re

import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm import entry
from graphc.errors import DTypeError, GraphcError, ShapeError

from ._handir import axpy_exe, install_hand_backend, w1_exe
from .cases import in_threads

pytestmark = pytest.mark.skipif(not entry.available(), reason="native entry unavailable here")


def _xy(shape=(3,), dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype))


def test_w1_outputs_are_correct_fresh_and_typed():
    exe = w1_exe()
    x, y = _xy()
    v, g = exe(x, y)
    assert v.shape == () and v.dtype == np.float32 and g.shape == (3,) and g.dtype == np.float32
    np.testing.assert_allclose(v, ((x - y) ** 2).sum(), rtol=1e-6)
    np.testing.assert_allclose(g, 2 * (x - y), rtol=1e-6)
    _, g2 = exe(x, y)
    assert not np.shares_memory(g, g2) and g.flags.writeable and g.flags.owndata
    assert exe.entry(x, y)[1] is not g


def test_entry_declines_anything_but_the_exact_signature():
    exe = w1_exe()
    x, y = _xy()
    bad = [
        (x,),
        (x, y, y),
        (x, y.astype(np.float64)),
        (x, np.ones(4, np.float32)),
        (x, np.ones((3, 1), np.float32)),
        (x, 1.0),
        (x, [1.0, 2.0, 3.0]),
        (x, np.repeat(y, 2)[::2]),
        (x, y.astype(">f4")),
        (x, np.ma.asarray(y)),
    ]
    for args in bad:
        assert exe.entry(*args) is NotImplemented, args
    assert exe.entry(x, y=y) is NotImplemented
    assert exe.entry(x, y) is not NotImplemented


@pytest.mark.parametrize(
    "make",
    [
        lambda a: np.asfortranarray(a),
        lambda a: np.repeat(a, 2, axis=1)[:, ::2],
        lambda a: a[::-1],
        lambda a: a.astype(a.dtype.newbyteorder(">")),
        lambda a: np.frombuffer(b"\0" + a.tobytes(), a.dtype, offset=1).reshape(
            a.shape
        ),  # unaligned
        lambda a: a.tolist(),
        lambda a: np.ma.asarray(a),
    ],
    ids=["fortran", "strided", "reversed", "byteswapped", "unaligned", "list", "subclass"],
)
def test_awkward_inputs_are_copied_and_give_right_numbers(make):
    exe = axpy_exe((4, 5), np.float64)
    x, y = _xy((4, 5), np.float64)
    (out,) = exe(make(x), y)
    np.testing.assert_array_equal(out, 2 * np.asarray(make(x), np.float64) + y)


def test_read_only_inputs_are_read_not_copied_and_never_written():
    exe = axpy_exe((6,), np.int64)
    x, y = np.arange(6, dtype=np.int64), np.full(6, 7, np.int64)
    x.setflags(write=False)
    keep = y.copy()
    (out,) = exe(x, y)
    np.testing.assert_array_equal(out, 2 * x + y)
    np.testing.assert_array_equal(y, keep)
    assert exe.entry(x, y) is not NotImplemented  # read-only is fine for inputs


def test_bad_arguments_raise_clear_errors():
    exe = axpy_exe((3,), np.float32)
    x, y = _xy()
    with pytest.raises(DTypeError, match=r"argument 1: expected f32\[3\].*float64"):
        exe(x, y.astype(np.float64))
    with pytest.raises(ShapeError, match=r"argument 0: expected shape \(3,\).*\(4,\)"):
        exe(np.ones(4, np.float32), y)
    with pytest.raises(DTypeError, match="object"):
        exe(np.array([1.0, None, 2.0], dtype=object), y)
    with pytest.raises(GraphcError, match="takes 2 arrays, got 1"):
        exe(x)


def test_int64_alias_dtype_is_accepted():
    exe = axpy_exe((5,), np.int64)
    x = np.arange(5, dtype=np.longlong)  # == int64, but may carry another type number
    (out,) = exe(x, x)
    np.testing.assert_array_equal(out, 3 * x)


@pytest.mark.parametrize("shape", [(), (0,), (1,), (3, 0), (1, 1, 1), (17, 3)])
def test_edge_shapes(shape):
    exe = axpy_exe(shape, np.float32)
    x, y = _xy(shape)
    (out,) = exe(x, y)
    assert out.shape == shape
    np.testing.assert_array_equal(out, 2 * x + y)


def test_ctypes_path_agrees_with_native_entry():
    exe = axpy_exe((9,), np.float64, workspace=True)
    x, y = _xy((9,), np.float64)
    np.testing.assert_array_equal(exe.call_ctypes([x, y])[0], exe(x, y)[0])


@pytest.mark.parametrize("workspace", [False, True])
@pytest.mark.parametrize("n", [64, 200_000])  # below and above the GIL-release threshold
def test_threads_calling_one_function_get_their_own_results(workspace, n):
    exe = axpy_exe((n,), np.float64, workspace=workspace)
    errors = []

    def work(seed):
        x, y = _xy((n,), np.float64, seed)
        for _ in range(30 if n > 1000 else 300):
            (out,) = exe(x, y)
            if not np.array_equal(out, 2 * x + y):
                errors.append(seed)
                return

    in_threads(work)
    assert not errors


def test_gil_is_released_only_for_large_work():
    small, large = axpy_exe((8,), np.float32), axpy_exe((100_000,), np.float32)
    assert "graphc_rt_SaveThread()" not in small.text("llvm-unoptimized").split("define ptr")[1]
    assert "call ptr @graphc_rt_SaveThread()" in large.text("llvm-unoptimized")


def test_only_tiny_work_is_compiled_at_codegen_level_0():
    small, large = axpy_exe((8,), np.float32), axpy_exe((1000,), np.float32)
    assert small.module.codegen_opt == 0
    assert large.module.codegen_opt == gc.config.llvm_codegen_opt
    x = np.arange(8, dtype=np.float32)
    np.testing.assert_array_equal(small(x, x + 1)[0], 3 * x + 1)
    assert "graphc_entry:" in small.text("asm")


def test_text_stages_and_stats():
    exe = axpy_exe((100,), np.float32, workspace=True)
    assert re.search(r"define [^@]*i32 @graphc_main", exe.text("llvm"))
    assert "graphc_entry:" in exe.text("asm")
    with pytest.raises(GraphcError, match="no stage 'ptx'"):
        exe.text("ptx")
    stats = exe.stats()
    assert stats["workspace_bytes"] == 400 and stats["kernels"] == ["axpy"]
    assert stats["native_entry"] and stats["llvm_compile_ms"] > 0


# --- gc.function's native fast path -----------------------------------------------------------


def _axpy(x, y):
    return 2 * x + y


def test_function_fast_path_runs_native_and_falls_back(monkeypatch):
    f = gc.function(_axpy, backend=install_hand_backend(monkeypatch))
    x, y = _xy((4,), np.float32)
    np.testing.assert_array_equal(f(x, y), 2 * x + y)
    assert type(type(f).__dict__["__call__"]).__name__ == "builtin_function_or_method"
    np.testing.assert_array_equal(f(x, y=y), 2 * x + y)  # keywords: the generic path
    np.testing.assert_array_equal(f(np.repeat(x, 2)[::2], y), 2 * x + y)  # copied
    xd, yd = x.astype(np.float64), y.astype(np.float64)
    np.testing.assert_array_equal(f(xd, yd), 2 * xd + yd)  # retraced for float64
    assert len(f._cache) == 3  # (x, y), (x, y=y), float64
    np.testing.assert_array_equal(f(x, y), 2 * x + y)  # the float32 signature still works
    assert len(f._cache) == 3  # (x, y), (x, y=y), float64


def test_function_fast_path_inside_a_trace_inlines(monkeypatch):
    inner = gc.function(_axpy, backend=install_hand_backend(monkeypatch))
    x, y = _xy((4,), np.float32)
    inner(x, y)  # installs the native entry
    graph = gc.make_graph(lambda a, b: inner(a, b) * 3)(x, y)
    assert "mul" in str(graph)


def test_function_wrong_count_and_scalars_take_the_generic_path(monkeypatch):
    f = gc.function(_axpy, backend=install_hand_backend(monkeypatch))
    x, y = _xy((4,), np.float32)
    f(x, y)
    with pytest.raises(TypeError):
        f(x)


def test_numpy_scalars_pass_as_0d_inputs():
    exe = axpy_exe((), np.float64)
    assert exe.entry(np.float64(1.5), np.float64(2.0))[()] == 5.0
    assert exe.entry(np.float32(1.5), np.float64(2.0)) is NotImplemented
    assert exe.entry(1.5, np.float64(2.0)) is NotImplemented  # Python floats: generic path
    (out,) = exe(1.5, np.float64(2.0))
    assert out == 5.0
    ints = axpy_exe((), np.int64)
    assert ints.entry(np.int64(-4), np.int64(3))[()] == -5


def _dict_step(params, x):
    return {"w": 2 * params["w"] + x, "b": 2 * params["b"] + x}, [2 * x + x, None]


def test_pytree_signature_gets_a_generated_fast_call(monkeypatch):
    f = gc.function(_dict_step, backend="llvm")
    x = np.arange(4, dtype=np.float64)
    p = {"w": np.ones(4), "b": np.full(4, 2.0)}
    ref = gc.function(_dict_step, backend="reference")(p, x)
    got = f(p, x)
    assert type(f).__dict__.get("_one_instance")  # the generated wrapper is installed
    for _ in range(2):  # first and later calls agree with the reference evaluator
        got = f(p, x)
        assert got[0].keys() == ref[0].keys() and got[1][1] is None
        for k in ref[0]:
            np.testing.assert_array_equal(got[0][k], ref[0][k])
        np.testing.assert_array_equal(got[1][0], ref[1][0])
    from graphc.trace.function import Concrete

    calls = []
    run = Concrete.run
    monkeypatch.setattr(Concrete, "run", lambda self, leaves: calls.append(1) or run(self, leaves))
    f(p, x)
    assert not calls  # the fast path did not need the generic one
    np.testing.assert_array_equal(f({"w": x, "b": x}, x[::-1].copy())[0]["w"], 2 * x + x[::-1])
    assert not calls
    f({"w": np.ones(4), "b": np.ones(4, np.float32)}, x)  # another signature: generic path
    assert len(calls) == 1
    with pytest.raises(KeyError):
        f({"w": np.ones(4), "c": np.ones(4)}, x)


def _sq(x, y):
    return ((x - y) ** 2).sum()


def test_value_and_grad_called_from_python_takes_the_native_entry_from_threads():
    vg = gc.value_and_grad(_sq)
    fn = gc.function(_sq)
    x, y = _xy()
    vg(x, y)
    fn(x, y)
    assert type(type(vg).__dict__["__call__"]).__name__ == "builtin_function_or_method"
    errors = []

    def work(seed):
        a, b = _xy((3,), np.float32, seed)
        for _ in range(300):
            v, g = vg(a, b)
            ok = np.isclose(v, ((a - b) ** 2).sum(), rtol=1e-5) and np.allclose(g, 2 * (a - b))
            if not (ok and np.isclose(fn(a, b), v, rtol=1e-6)):
                errors.append(seed)
                return

    in_threads(work)
    assert not errors


def test_without_the_native_entry_the_ctypes_path_serves(monkeypatch):
    """Where the layout probes fail (a debug or free-threaded CPython) everything still works."""
    monkeypatch.setattr(entry, "available", lambda: False)
    exe = axpy_exe((2, 3), np.float32, workspace=True)
    assert exe.entry is None and exe.entry_with_fallback(print) is None
    assert "graphc_entry" not in exe.text("llvm-unoptimized")
    x, y = _xy((2, 3))
    np.testing.assert_array_equal(exe(np.asfortranarray(x), y)[0], 2 * x + y)
    with pytest.raises(ShapeError):
        exe(x.T, y)
    f = gc.function(_axpy, backend=install_hand_backend(monkeypatch))
    np.testing.assert_array_equal(f(x, y), 2 * x + y)
    assert not type(f).__dict__.get("_one_instance")  # no shortcut installed


Pair = collections.namedtuple("Pair", "a b")


def _nt_step(pair, xs):
    return Pair(pair.b + xs[0], pair.a * xs[1]), (None, [xs[0] - xs[1]])


def test_generated_fast_call_handles_namedtuples_lists_and_none():
    f = gc.function(_nt_step)
    a, b = np.arange(3.0), np.full(3, 2.0)
    for _ in range(3):
        out, (none, (diff,)) = f(Pair(a, b), [a, b])
        assert type(out) is Pair and none is None
        np.testing.assert_array_equal(out.a, b + a)
        np.testing.assert_array_equal(out.b, a * b)
        np.testing.assert_array_equal(diff, a - b)
    assert type(f).__dict__.get("_one_instance")
    with pytest.raises(AttributeError, match="no attribute 'b'"):
        f((a, b), [a, b])  # a plain tuple is another signature: the generic path traces _nt_step


def test_entry_keeps_reference_counts_balanced():
    import sys

    exe = w1_exe()
    x, y = _xy()
    bad = np.ones(4, np.float32)
    fallback_calls = []

    def fallback(*args, **kwargs):
        fallback_calls.append(len(args))
        return "fallback"

    fb = exe.entry_with_fallback(fallback)
    before = [sys.getrefcount(o) for o in (x, y, bad, NotImplemented, fallback)]
    for _ in range(1000):
        exe.entry(x, y)
        exe.entry(x, bad)
        assert fb(x, y)[1].shape == (3,)
        assert fb(x, bad) == "fallback" and fb(x, y=y) == "fallback"
    after = [sys.getrefcount(o) for o in (x, y, bad, NotImplemented, fallback)]
    assert before == after and len(fallback_calls) == 2000
    v, g = exe.entry(x, y)
    assert sys.getrefcount(v) == sys.getrefcount(g) == 2  # ours alone: no hidden references


def _scaled(x, lr, k, flag):
    return gc.numpy.where(flag, x * lr + k, x)


def test_python_scalar_arguments_take_the_generated_fast_call(monkeypatch):
    from graphc.trace.function import Concrete

    f = gc.function(_scaled)
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(f(x, 0.5, 3, True), x * np.float32(0.5) + 3)
    assert f(x, 0.5, 3, True).dtype == np.float32  # weak scalars keep float32
    assert type(f).__dict__.get("_one_instance")
    calls = []
    run = Concrete.run
    monkeypatch.setattr(Concrete, "run", lambda self, leaves: calls.append(1) or run(self, leaves))
    np.testing.assert_array_equal(f(x, 2.0, -1, True), x * 2 - 1)
    np.testing.assert_array_equal(f(x, 2.0, -1, False), x)
    assert not calls
    f(x, 2, -1, True)  # an int where the signature has a float: another signature
    f(x, 2.0, 5, np.bool_(True))  # a NumPy bool is not weak: another signature
    assert len(calls) == 2
    with pytest.raises(GraphcError, match="does not fit in int64"):
        f(x, 2.0, 2**70, True)


def test_recent_signatures_keep_their_shortcuts(monkeypatch):
    from graphc.trace import fastpath
    from graphc.trace.function import Concrete

    f = gc.function(_axpy)
    sizes = range(1, fastpath.CHAIN + 2)
    arrays = {n: (np.arange(n, dtype=np.float64), np.ones(n)) for n in sizes}
    for n in sizes:
        f(*arrays[n])
    calls = []
    run = Concrete.run
    monkeypatch.setattr(Concrete, "run", lambda self, leaves: calls.append(1) or run(self, leaves))
    for n in sizes:  # the newest CHAIN signatures are served natively, the oldest generically
        x, y = arrays[n]
        np.testing.assert_array_equal(f(x, y), 2 * x + y)
    assert len(calls) == 1
    assert f(x, y=y) is not None and len(calls) == 2  # keywords: generic
