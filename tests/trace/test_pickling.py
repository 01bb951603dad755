"""Pickling compiled functions (issue 15, item 1; ``graphc/trace/pickling.py``): by reference when
importable, else as their compiled signatures (IR text and object code keyed by CPU and versions),
unpickled in this process and in forked and spawned ones."""

from __future__ import annotations

import copy
import multiprocessing
import pickle

import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm import jit
from graphc.examples import digits
from graphc.trace import pytree
from graphc.trace.pickling import Unpickled

RNG = np.random.default_rng(15)


@gc.custom_vjp
def double_grad_sin(x):
    return np.sin(x)


double_grad_sin.defvjp(lambda x: (np.sin(x), np.cos(x)), lambda c, g: (2.0 * g * c,))


def _odd_bits(dtype, n):
    """``n`` values of ``dtype`` from random bit patterns (NaN payloads, subnormals, -0.0)."""
    uint = np.dtype(f"u{np.dtype(dtype).itemsize}")
    bits = RNG.integers(0, np.iinfo(uint).max, size=n, dtype=uint, endpoint=True)
    bits[:2] = np.array([0.0, -0.0], dtype).view(uint)
    return bits.view(dtype)


def _mlp_step():
    """A local (not importable) training step closing over arrays: the digits MLP's loss with a
    fixed float64 weight decay matrix, its gradient and an SGD update."""
    decay = RNG.uniform(0.0, 1e-3, (64, 64))
    opt = gc.optim.sgd(0.1)

    def step(params, x, onehot):
        def loss(p):
            return digits.loss_fn(p, x, onehot) + np.sum(decay * p["w1"] ** 2)

        value, grads = gc.value_and_grad(loss)(params)
        params, _ = opt.update(grads, opt.init(params), params)
        return params, value

    x, y, _, _ = digits.load_digits()
    params = {k: v.astype(np.float64) for k, v in digits.init_params().items()}
    return gc.function(step), (params, x[:100].astype(np.float64), np.eye(10)[y[:100]])


def _unpickle_in_child(blob, args):
    return _in_child(pickle.loads(blob), args)


def _in_child(fun, args):
    """Run in a child process: ``fun``'s outputs and how its signature got its code there."""
    out = fun(*args)
    stats = fun.concrete(*args).stats()
    keys = ("from_pickle", "from_disk_cache", "compile_phases_ms", "unpickle_ms")
    return out, {k: stats[k] for k in keys}


def _same(a, b):
    """Bit-identical pytrees of arrays."""
    la, ta = pytree.flatten(a)
    lb, tb = pytree.flatten(b)
    assert ta == tb
    for x, y in zip(la, lb, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


@pytest.fixture(scope="module")
def spawned():
    """One spawned worker with the disk cache off, so any compile there is LLVM's own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHC_CACHE", "0")
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            yield pool


def test_a_spawned_process_loads_the_object_code_when_its_cpu_matches(spawned):
    """The issue's first done-when, half one: the same numbers, nothing compiled there."""
    step, args = _mlp_step()
    want = step(*args)
    for how in (_unpickle_in_child, _in_child):  # from bytes, and pickled by the pool itself
        out, stats = spawned.apply(how, (pickle.dumps(step) if how is _unpickle_in_child else
                                         step, args))
        _same(out, want)
        assert stats["from_pickle"] and not stats["from_disk_cache"]
        assert "codegen" not in stats["compile_phases_ms"] and stats["unpickle_ms"] > 0


def test_a_spawned_process_recompiles_when_the_recorded_cpu_differs(spawned):
    """Half two: the pickle's recorded CPU name changed (same length, so the pickle stays
    well-formed): the receiver never loads that code, compiles its own, same numbers."""
    step, args = _mlp_step()
    want = step(*args)
    cpu = jit.host()["cpu"].encode()
    blob = pickle.dumps(step)
    tampered = blob.replace(b"\ncpu " + cpu + b"\n", b"\ncpu " + b"x" * len(cpu) + b"\n")
    assert blob.count(b"\ncpu " + cpu + b"\n") == 1 and tampered != blob
    out, stats = spawned.apply(_unpickle_in_child, (tampered, args))
    _same(out, want)
    assert not stats["from_pickle"] and not stats["from_disk_cache"]
    assert "codegen" in stats["compile_phases_ms"]


def test_a_threaded_kernel_loads_in_a_spawned_process(spawned):
    """A kernel split over the thread pool calls its runtime by symbol, resolved there too."""
    f = gc.function((lambda: lambda x: np.tanh(x) * 2.0 + np.exp(-x))())
    x = np.linspace(-1.0, 1.0, 1 << 21, dtype=np.float32)
    assert "gc_par_run" in f.concrete(x).llvm_ir()
    out, stats = spawned.apply(_unpickle_in_child, (pickle.dumps(f), (x,)))
    _same(out, f(x))
    assert stats["from_pickle"]


def test_a_forked_process_runs_the_pickled_function():
    step, args = _mlp_step()
    want = step(*args)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        out, stats = pool.apply(_in_child, (step, args))
    _same(out, want)
    assert stats["from_pickle"]


def _by_reference_in_child(fun, args):
    return fun(*args), type(fun).__name__


def test_importable_functions_travel_by_reference_and_are_traced_by_the_receiver(spawned):
    x, y, _, _ = digits.load_digits()
    params, x, onehot = digits.init_params(), x[:50], np.eye(10, dtype=np.float32)[y[:50]]
    grad = gc.grad(digits.loss_fn)
    blob = pickle.dumps(grad)
    assert len(blob) < 300  # the reference and the options, no IR, no object code
    out, kind = spawned.apply(_by_reference_in_child, (pickle.loads(blob), (params, x, onehot)))
    _same(out, grad(params, x, onehot))
    assert kind == "Transformed"


def test_a_module_level_gc_function_is_its_own_name():
    assert pickle.loads(pickle.dumps(digits.train_step)) is digits.train_step
    assert pickle.loads(pickle.dumps(double_grad_sin)) is double_grad_sin
    for f in (gc.function(digits.loss_fn, static_argnames="x"), gc.grad(double_grad_sin)):
        g = pickle.loads(pickle.dumps(f))
        assert type(g) is type(f) and g is not f and g.fun is f.fun
    assert pickle.loads(pickle.dumps(gc.grad(double_grad_sin)))(0.0) == 2.0


def _local(kind):
    """A local function of ``kind``'s transformation, and arguments for it."""
    w = _odd_bits(np.float64, 6).reshape(2, 3)
    w = np.where(np.isfinite(w) & (np.abs(w) < 1e3) & (np.abs(w) > 1e-3), w, 0.5)

    def f(x, scale=2.0):
        return np.sum(np.tanh(x @ w) ** 2) * scale

    x = RNG.normal(size=(4, 2))
    table = {
        "function": (gc.function(f), (x,)),
        "static": (gc.function(f, static_argnames="scale"), (x,)),
        "grad": (gc.grad(f), (x,)),
        "value_and_grad_aux": (gc.value_and_grad(lambda x: (f(x), {"mean": np.mean(x)}),
                                                 has_aux=True), (x,)),
        "jacobian": (gc.jacobian(lambda x: np.tanh(x @ w)), (x,)),
        "jacfwd": (gc.jacfwd(lambda x: np.tanh(x @ w)), (x,)),
        "hessian": (gc.hessian(f), (x[0],)),
        "vmap": (gc.vmap(f), (RNG.normal(size=(3, 4, 2)),)),
        "vjp": (gc.vjp(lambda x: np.tanh(x @ w), x)[1], (np.ones((4, 3)),)),
    }
    return table[kind]


KINDS = ["function", "static", "grad", "value_and_grad_aux", "jacobian", "jacfwd", "hessian",
         "vmap", "vjp"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_transformation_of_a_local_function_travels_as_its_signatures(kind):
    f, args = _local(kind)
    want = f(*args)
    g = pickle.loads(pickle.dumps(f))
    _same(g(*args), want)
    _same(pickle.loads(pickle.dumps(g))(*args), want)  # and again, from the unpickled one


@pytest.mark.parametrize("kind", KINDS)
def test_pickling_before_the_first_call_says_what_to_do(kind):
    f, _ = _local(kind)  # (vjp's forward part ran in gc.vjp; its backward pass compiles later)
    with pytest.raises(pickle.PicklingError, match="call it on example arguments first"):
        pickle.dumps(f)


def test_an_unpickled_function_refuses_what_it_cannot_trace():
    f, (x,) = _local("function")
    f(x)
    g = pickle.loads(pickle.dumps(f))
    assert isinstance(g, Unpickled) and "unpickled, 1 signature" in repr(g)
    with pytest.raises(gc.GraphcError, match=r"argument x changed from f64\[4,2\] to f64\[5,2\]"):
        g(np.ones((5, 2)))
    with pytest.raises(gc.GraphcError, match="cannot be traced again, as inside gc.grad"):
        gc.grad(g)(x)
    assert g.stats()["traces"] == 0


def test_signatures_the_cache_evicts_stay_callable(monkeypatch):
    f, (x,) = _local("function")
    ys = [x, x[:3], x[:2]]
    want = [f(y) for y in ys]
    monkeypatch.setattr(gc.config, "max_traces", 1)
    g = pickle.loads(pickle.dumps(f))
    for _ in range(2):
        for y, w in zip(ys, want, strict=True):
            _same(g(y), w)
    assert g.stats()["evictions"] > 0 and g.stats()["traces"] == 0


def test_static_arguments_travel_in_the_signatures():
    f, (x,) = _local("static")
    want = {s: f(x, scale=s) for s in (2.0, 3.0)}
    g = pickle.loads(pickle.dumps(f))
    for s, w in want.items():
        _same(g(x, scale=s), w)
    with pytest.raises(gc.GraphcError, match="static argument scale changed"):
        g(x, scale=4.0)


def test_constants_travel_bit_for_bit():
    """Arrays a function closes over become constants of its graphs, which travel as IR text:
    NaN payloads, subnormals, signed zeros and large (base64) constants come back exactly."""
    small, big = _odd_bits(np.float32, 8), _odd_bits(np.float64, 300)
    ints = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 2**53 + 1])

    def f(x):
        return x * small, x[0] + big, ints + 1

    c = gc.function(f).concrete(np.ones(8, np.float32))
    d = pickle.loads(pickle.dumps(c))

    def constants(graph):
        return [n.attrs["value"].array.tobytes() for n in graph.nodes if n.prim.name == "constant"]

    for a, b in ((c.traced, d.traced), (c.graph, d.graph)):
        assert constants(a) == constants(b) and len(constants(a)) >= 3
    _same(d(np.ones(8, np.float32)), c(np.ones(8, np.float32)))


def test_a_concrete_pickles_alone():
    f, (x,) = _local("grad")
    c = gc.function(f).concrete(x)
    d = pickle.loads(pickle.dumps(c))
    _same(d(x), c(x))
    assert d.ir("traced") == c.ir("traced") and d.ir("optimized") == c.ir("optimized")
    stats = d.stats()
    assert stats["from_pickle"] and stats["cache"] is None and stats["nodes"] == c.stats()["nodes"]
    with pytest.raises(gc.GraphcError, match="does not fit these arguments"):
        d(np.ones((5, 2)))


def test_damaged_object_code_is_refused_before_llvm_sees_it():
    f, (x,) = _local("function")
    want = f(x)
    blob = pickle.dumps(f)
    elf = blob.index(b"\x7fELF")
    damaged = blob[: elf + 4] + b"\x09" + blob[elf + 5:]  # ELF class 9: no such class
    g = pickle.loads(damaged)
    _same(g(x), want)
    assert not g.concrete(x).stats()["from_pickle"]


def test_the_reference_backend_travels_as_its_graph():
    f = gc.function(lambda x: np.exp(x) * 3.0, backend="reference")
    x = RNG.normal(size=5)
    want = f(x)
    g = pickle.loads(pickle.dumps(f))
    _same(g(x), want)
    assert g.concrete(x).stats()["backend"] == "reference"


def test_unpickling_another_format_is_a_clear_error():
    f, (x,) = _local("function")
    f(x)
    reconstruct, (state,) = f.__reduce__()
    with pytest.raises(gc.GraphcError, match="format 0"):
        reconstruct({**state, "format": 0})
    with pytest.raises(gc.GraphcError, match="cannot unpickle f: signature 0"):
        reconstruct({**state, "signatures": [{**state["signatures"][0], "optimized": "graph"}]})


def test_copies_are_the_function_itself():
    f, (x,) = _local("grad")
    f(x)
    assert copy.copy(f) is f and copy.deepcopy({"f": f})["f"] is f
