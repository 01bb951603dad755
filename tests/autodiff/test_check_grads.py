"""graphc.testing.check_grads itself: it passes correct derivatives and catches wrong ones."""

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import check_grads

X = np.array([0.3, -0.7, 1.1])


@gc.custom_gradient
def wrong_sin(x):
    return gnp.sin(x), lambda dy: dy * gnp.cos(x) * 1.01  # a 1% error in the rule


@gc.custom_gradient
def wrong_second_order(x):
    # right first derivative 3x^2, written so that its own derivative is 6.6x instead of 6x
    return x**3, lambda dy: dy * (3.3 * x**2 - 0.3 * gc.stop_gradient(x) ** 2)


def test_passes_correct_derivatives_with_pytrees_and_integer_arguments():
    def f(p, k):
        return {"a": gnp.sin(p["w"]) * k, "b": gnp.sum(p["w"] ** 2)}

    check_grads(f, ({"w": X}, np.int64(3)), order=2)


def test_catches_a_wrong_rule_in_both_modes():
    # the custom rule holds in forward mode too (the transpose of its backward function)
    with pytest.raises(AssertionError, match="central differences"):
        check_grads(wrong_sin, (X,), order=1, modes=("fwd",))
    with pytest.raises(AssertionError, match="adjoint identity"):
        check_grads(wrong_sin, (X,), order=1, modes=("rev",))


def test_catches_a_wrong_second_derivative():
    check_grads(wrong_second_order, (X,), order=1, modes=("rev",))
    with pytest.raises(AssertionError):
        check_grads(wrong_second_order, (X,), order=2, modes=("rev",))


def test_rejects_bad_options():
    with pytest.raises(ValueError, match="modes"):
        check_grads(gnp.sin, (X,), modes=("backward",))
