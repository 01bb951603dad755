"""The examples in the public API's docstrings run and print what they show (issue 13, item 6).

Exactly the modules defining the top-level ``graphc.*`` API, ``graphc.optim`` and ``graphc.nn``;
each must hold at least one example, and every example must pass on NumPy 1.26 and 2.x alike (the
examples print rounded values or exactly representable ones, never a NumPy scalar's repr).
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "graphc.trace.function",  # function / jit, make_graph
    "graphc.autodiff.api",  # grad, value_and_grad, vjp, jvp, stop_gradient
    "graphc.autodiff.jacobians",  # jacobian, jacfwd, hessian
    "graphc.autodiff.custom",  # custom_gradient, custom_vjp
    "graphc.autodiff.tape",  # GradientTape
    "graphc.control",  # cond, while_loop, fori_loop, scan, checkpoint
    "graphc.debug",  # print / debug.print
    "graphc.optim",  # sgd, adam, rmsprop
    "graphc.nn",
]

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, report=True, verbose=False)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


TOP_LEVEL = [
    "function", "jit", "make_graph", "grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacfwd",
    "hessian", "stop_gradient", "custom_gradient", "custom_vjp", "GradientTape", "cond",
    "while_loop", "fori_loop", "scan", "checkpoint", "print",
]


def test_every_public_function_has_an_example():
    """Each top-level function, ``gc.debug.print``, the optimizers and the graphc.nn functions show
    a ``>>>`` example in their own docstrings (``tanh`` and ``logsumexp``, graphc.numpy's functions
    under graphc.nn names, in graphc.nn's module docstring)."""
    import graphc as gc

    objects = {f"gc.{n}": getattr(gc, n) for n in TOP_LEVEL}
    objects["gc.debug.print"] = gc.debug.print
    objects.update({f"gc.optim.{n}": getattr(gc.optim, n) for n in ("sgd", "adam", "rmsprop")})
    objects.update({f"gc.nn.{n}": getattr(gc.nn, n) for n in gc.nn.__all__})
    objects["gc.nn.tanh"] = objects["gc.nn.logsumexp"] = gc.nn
    missing = [k for k, v in objects.items() if ">>>" not in (v.__doc__ or "")]
    assert not missing, f"no example in the docstring of {missing}"
