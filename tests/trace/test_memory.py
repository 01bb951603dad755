"""Memory under retracing: the per-function signature cache is bounded (``config.max_traces``),
an evicted signature's JIT engine is really freed, and dropping a function (or ``gc.grad(f)``)
frees its engines at once, without the cyclic garbage collector. Engines are counted in
``jit._LIVE`` (one entry per live LLVM engine); RSS figures are ``tools/memory_soak.py``'s."""

from __future__ import annotations

import gc as pygc
import os
import subprocess
import sys
import threading
import warnings
from collections import namedtuple

import numpy as np
import pytest

import graphc as gc
from graphc import config
from graphc.backend.llvm import jit
from graphc.trace import fastpath, pytree


def f(x):
    return np.sum(np.sin(x) * x)


def expected(x):
    return np.sum(np.sin(x) * x)


@pytest.fixture
def limit(monkeypatch):
    def set_limit(n):
        monkeypatch.setattr(config, "max_traces", n)

    return set_limit


@pytest.fixture
def no_collector():
    """Cyclic garbage collection off: what is freed here is freed by reference counting alone."""
    pygc.collect()
    was = pygc.isenabled()
    pygc.disable()
    yield len(jit._LIVE)
    if was:
        pygc.enable()


def test_retracing_past_the_limit_keeps_live_engines_bounded(limit, no_collector):
    limit(3)
    fn = gc.function(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the retrace warning; tested below
        for n in range(1, 11):
            np.testing.assert_allclose(fn(np.full(n, 0.5)), expected(np.full(n, 0.5)))
            assert len(jit._LIVE) - no_collector == min(n, 3)
    assert fn.stats() == {"signatures": 3, "max_traces": 3, "traces": 10, "evictions": 7}
    x = np.linspace(-1, 1, 2)  # evicted long ago: traced again, right numbers
    np.testing.assert_allclose(fn(x), expected(x), rtol=1e-15)
    assert fn.stats()["traces"] == 11 and len(jit._LIVE) - no_collector == 3
    del fn
    assert len(jit._LIVE) == no_collector


def test_least_recently_used_signature_goes_first(limit):
    """Static arguments take the generic path, which marks a signature used on every call."""
    limit(2)
    fn = gc.function(lambda x, s: x * s, static_argnames="s")
    x = np.ones(3)
    for s in (1, 2, 1, 3):  # s=1 used again after s=2, so s=2 is evicted for s=3
        np.testing.assert_array_equal(fn(x, s=s), x * s)
    assert fn.stats()["traces"] == 3
    fn(x, s=1)
    fn(x, s=3)
    assert fn.stats()["traces"] == 3
    np.testing.assert_array_equal(fn(x, s=2), x * 2)
    assert fn.stats()["traces"] == 4 and fn.stats()["evictions"] == 2


def test_signatures_with_a_shortcut_are_kept_over_older_generic_ones(limit):
    """A call through a native shortcut runs no Python, so it cannot mark its signature used:
    eviction passes over signatures that hold a shortcut while others are left."""
    limit(fastpath.CHAIN + 1)
    fn = gc.function(lambda x, s=1: x * s, static_argnames="s")
    fn(np.ones(1), s=5)  # generic only (static argument): no shortcut
    for n in range(2, fastpath.CHAIN + 2):
        fn(np.ones(n))
    fn(np.ones(1), s=5)  # used most recently, but through the generic path
    fn(np.ones(99))  # one over the limit: the oldest shortcut-less signature goes
    traces = fn.stats()["traces"]
    for n in range(3, fastpath.CHAIN + 2):
        fn(np.ones(n))
    assert fn.stats()["traces"] == traces
    fn(np.ones(1), s=5)
    assert fn.stats()["traces"] == traces + 1


def test_no_limit_and_a_bad_limit(limit):
    limit(0)
    fn = gc.function(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in range(1, 12):
            fn(np.ones(n))
    assert fn.stats()["signatures"] == 11 and fn.stats()["evictions"] == 0
    for bad in (-1, 2.5, "8", True):
        limit(bad)
        with pytest.raises(gc.ArgumentError, match="max_traces"):
            fn(np.ones(40))


def test_a_held_concrete_runs_after_eviction_and_after_its_function_is_dropped(
    limit, no_collector
):
    limit(1)
    fn = gc.function(f)
    held = fn.concrete(np.ones(4))
    x4 = np.linspace(0, 2, 4)
    fn(np.ones(5))  # evicts the (4,) signature; `held` keeps its engine
    assert fn.stats()["evictions"] == 1
    assert len(jit._LIVE) - no_collector == 2
    np.testing.assert_allclose(held(x4), expected(x4), rtol=1e-15)
    assert held.stats()["cache"] == fn.stats()
    del fn
    assert len(jit._LIVE) - no_collector == 1  # only the held one
    np.testing.assert_allclose(held(x4), expected(x4), rtol=1e-15)
    with pytest.raises(gc.GraphcError, match="does not fit"):
        held(np.ones(3))
    assert held.stats()["cache"] is None
    del held
    assert len(jit._LIVE) == no_collector


Pair = namedtuple("Pair", "a b")


def _pair(n):
    return Pair(np.ones(n), np.ones(n))


@pytest.mark.parametrize(
    "make, args, other",  # other: arguments of a second signature
    [
        (lambda: gc.function(f), (np.ones(3),), (np.ones(7),)),
        (lambda: gc.grad(f), (np.ones(3),), (np.ones(7),)),
        (lambda: gc.value_and_grad(lambda p: np.sum(p["w"] * p["b"])),
         ({"w": np.ones(2), "b": np.ones(2)},), ({"w": np.ones(5), "b": np.ones(5)},)),
        (lambda: gc.function(lambda p, s: p.a * s + p.b, static_argnums=1),
         (_pair(2), 3), (_pair(2), 4)),  # a static argument: no shortcut at all
        (lambda: gc.grad(gc.function(f)), (1.5,), (np.float32(1.5),)),  # a Python scalar
        (lambda: gc.function(lambda x, y: (x + y, x * y)), (np.ones(2),) * 2, (np.ones(3),) * 2),
    ],
    ids=["function", "grad", "pytree", "static", "scalar", "tuple-out"],
)
def test_dropping_a_function_frees_its_engines_without_the_collector(
    no_collector, make, args, other
):
    fn = make()
    first = pytree.flatten(fn(*args))[0]
    again = pytree.flatten(fn(*args))[0]  # through the shortcut where there is one
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    fn(*other)
    assert len(jit._LIVE) - no_collector == 2
    del fn, first, again
    assert len(jit._LIVE) == no_collector


def test_one_shot_grads_in_a_loop_do_not_accumulate_engines(no_collector):
    x = np.linspace(-1, 1, 5)
    for k in range(6):
        g = gc.grad(lambda x, k=k: np.sum(x ** 2) * k)(x)
        np.testing.assert_allclose(g, 2 * x * k)
        assert len(jit._LIVE) == no_collector


def test_retrace_warning_counts_traces_not_signatures_held(limit, monkeypatch):
    """With a limit below the warning's count the cache never holds that many signatures; a
    function retracing without end must still warn, and say signatures were evicted."""
    limit(2)
    monkeypatch.setattr(config, "retrace_warn_limit", 4)
    fn = gc.function(f)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in (1, 2, 1, 2):  # two signatures cycling within the limit: no retrace
            fn(np.ones(n))
        assert not caught
        for n in (3, 1, 2):  # the fifth trace warns, after two evictions
            fn(np.ones(n))
    (w,) = caught
    assert "traced 5 times" in str(w.message) and "(2 signatures evicted" in str(w.message)
    assert w.filename == __file__


def test_eviction_while_other_threads_run_the_evicted_code(limit):
    """Calls large enough to run without the GIL, in threads cycling through more signatures
    than the cache keeps: every trace evicts a signature some other thread may be running."""
    limit(2)
    fn = gc.function(lambda x: np.sqrt(x * x + 1.0) - 1.0)
    sizes = [20_000 + k for k in range(5)]  # 160 KB each: the GIL is released around the code
    errors = []

    def work(k):
        try:
            for i in range(6):
                x = np.full(sizes[(k + i) % len(sizes)], float(k + 1))
                np.testing.assert_array_equal(fn(x), np.sqrt(x * x + 1.0) - 1.0)
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert fn.stats()["signatures"] == 2 and fn.stats()["evictions"] >= 3


def test_compiling_the_same_module_again_reuses_its_object_code(monkeypatch):
    """The in-process memo of object code: a one-shot ``gc.grad(f)(x)`` in a loop (or an evicted
    signature called again) runs neither LLVM's optimizer nor its code generator again, disk
    cache or not; object code handed in (from the disk cache) is never remembered."""
    runs = []
    real = jit._optimize
    monkeypatch.setattr(jit, "_optimize",
                        lambda mod, tm, level: (runs.append(mod.name), real(mod, tm, level)))
    monkeypatch.setattr(config, "disk_cache", False)
    x = np.linspace(-1, 1, 6)
    unique = float(np.random.default_rng().integers(1 << 40))  # a module no earlier test made
    for _ in range(3):
        g = gc.grad(lambda x: np.sum(np.sin(x) * x) * unique)(x)
        np.testing.assert_allclose(g, (np.cos(x) * x + np.sin(x)) * unique, rtol=1e-14)
    assert len(runs) == 1
    a = gc.function(lambda x: x * unique).concrete(x).executable.module
    b = gc.function(lambda x: x * (unique + 1)).concrete(x).executable.module
    assert len(runs) == 3
    jit.compile_ir(b.ir_text + "\n; again", "b", cached_object=a.object_code)  # someone's object
    again = jit.compile_ir(b.ir_text + "\n; again", "b")  # made here, not taken from that call
    assert len(runs) == 4 and again.object_code != a.object_code


def test_vjp_and_jvp_helpers_of_a_dropped_function_are_freed(no_collector):
    """Called from plain Python, vjp and jvp cache compiled helpers per function, weakly: a
    lambda used once must not leave them (and their engines) behind; ``vjp_fn`` keeps its own."""
    x = np.linspace(0.5, 1.5, 3)
    out, vjp_fn = gc.vjp(lambda x: np.sin(x) * 3.0, x)
    (ct,) = vjp_fn(np.ones(3))  # nothing but vjp_fn holds the lambda now
    np.testing.assert_allclose(ct, 3.0 * np.cos(x), rtol=1e-15)
    (ct,) = vjp_fn(np.ones(3, np.float32))  # another signature: traced again, after the drop
    np.testing.assert_allclose(ct, 3.0 * np.cos(x), rtol=1e-7)
    del out, vjp_fn, ct
    assert len(jit._LIVE) == no_collector
    for k in range(3):
        _, t = gc.jvp(lambda x, k=k: np.sin(x) * k, (x,), (np.ones(3),))
        np.testing.assert_allclose(t, k * np.cos(x), rtol=1e-15)
        assert len(jit._LIVE) == no_collector


def test_the_limit_comes_from_graphc_max_traces():
    code = "import graphc.config as c; print(c.max_traces)"
    runs = {v: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "GRAPHC_MAX_TRACES": v}, timeout=120, check=False)
            for v in ("5", "0", "-1", "many")}
    assert runs["5"].stdout.split() == ["5"] and runs["0"].stdout.split() == ["0"]
    assert "GRAPHC_MAX_TRACES='-1'" in runs["-1"].stderr and runs["-1"].returncode
    assert "GRAPHC_MAX_TRACES='many': expected an integer" in runs["many"].stderr
