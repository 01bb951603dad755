"""``gc.print`` / ``gc.debug.print``: prints when compiled code runs (not when it is traced), in
program order, once per loop iteration, never dropped, merged or folded by the optimizer, and
once per forward step when a gradient reruns a loop body."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

BACKENDS = ("reference", "llvm")


def _lines(capsys):
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("backend", BACKENDS)
def test_prints_at_run_time_in_program_order(backend, capsys):
    def f(x):
        gc.print("first {}", x)
        y = x * 2
        gc.print("second {a} {b:.2f}", a=y, b=y.sum())
        gc.debug.print("third")
        return y

    fn = gc.function(f, backend=backend)
    fn.concrete(np.arange(2.0))  # tracing and compiling print nothing
    assert _lines(capsys) == []
    fn(np.arange(2.0))
    fn(np.ones(2))
    assert _lines(capsys) == ["first [0. 1.]", "second [0. 2.] 2.00", "third",
                              "first [1. 1.]", "second [2. 2.] 4.00", "third"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_optimizer_keeps_every_print(backend, capsys):
    """An unused value printed twice, and a constant: no DCE, no CSE merge, no folding."""
    def f(x):
        unused = x + 1
        gc.print("v {}", unused)
        gc.print("v {}", unused)
        gc.print("c {}", np.float64(7.0))
        return x

    gc.function(f, backend=backend)(np.float64(1.0))
    assert _lines(capsys) == ["v 2.0", "v 2.0", "c 7.0"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_loops_print_per_iteration_and_gradients_once(backend, capsys):
    def f(x):
        def body(i, c):
            gc.print("i={} c={}", i, c)
            return c * 1.5
        return gc.fori_loop(0, 3, body, x).sum()

    fn = gc.function(gc.value_and_grad(f), backend=backend)
    value, grad = fn(np.ones(2))
    np.testing.assert_allclose(grad, [1.5 ** 3] * 2)
    assert _lines(capsys) == ["i=0 c=[1. 1.]", "i=1 c=[1.5 1.5]", "i=2 c=[2.25 2.25]"]

    def g(xs):
        def step(c, x):
            gc.print("x {}", x)
            return c * x, c
        return gc.scan(step, np.float64(1.0), xs)[0]

    np.testing.assert_allclose(gc.function(gc.grad(g), backend=backend)(np.array([2.0, 3.0])),
                               [3.0, 2.0])
    assert _lines(capsys) == ["x 2.0", "x 3.0"]
    h = gc.function(gc.grad(lambda v: gc.cond(v > 0, lambda u: (gc.print("+ {}", u), u * u)[1],
                                              lambda u: -u, v)), backend=backend)
    assert h(3.0) == 6.0 and _lines(capsys) == ["+ 3.0"]


def test_eager_prints_at_once_and_bad_formats_are_refused(capsys):
    gc.print("now {}", np.arange(3))
    assert _lines(capsys) == ["now [0 1 2]"]
    with pytest.raises(gc.ArgumentError, match="must be a str"):
        gc.print(3, 1.0)
