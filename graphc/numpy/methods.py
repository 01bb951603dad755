"""The tracer's operators and array methods, each the ``graphc.numpy`` function of the same meaning.

``graphc.numpy`` installs them on ``core.Tracer`` when it is imported (``install``), so the tracer,
which sits below every primitive family, never imports this namespace: ``x + y`` on tracers is
``graphc.numpy.add(x, y)``, ``np.exp(t)`` is ``graphc.numpy.exp(t)``, ``t.sum()`` is
``graphc.numpy.sum(t)``.
"""

from __future__ import annotations

import inspect

from ..core import Tracer, located
from ..errors import GraphcError

_BINARY = [
    ("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "divide"),
    ("floordiv", "floor_divide"), ("mod", "remainder"), ("divmod", "divmod"),
    ("pow", "power"), ("matmul", "matmul"), ("and", "bitwise_and"), ("or", "bitwise_or"),
    ("xor", "bitwise_xor"),
]
_COMPARISONS = [("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
                ("ge", "greater_equal"), ("eq", "equal"), ("ne", "not_equal")]
_UNARY = [("neg", "negative"), ("abs", "abs"), ("invert", "invert")]
_METHODS = ["sum", "mean", "max", "min", "prod", "argmax", "argmin", "var", "std", "cumsum",
            "clip", "squeeze", "swapaxes", "dot", "astype", "ravel", "any", "all"]
_UFUNC_ALIASES = {"absolute": "abs", "conjugate": "positive"}


def _binary(fn, reflected: bool = False):
    def method(self, other):
        return fn(other, self) if reflected else fn(self, other)

    method.__name__ = fn.__name__
    return method


def _forward(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__ = fn.__name__
    return method


def install(gnp) -> None:
    """Give ``Tracer`` its operators and methods from the ``graphc.numpy`` module ``gnp``."""
    for op, name in _BINARY:
        setattr(Tracer, f"__{op}__", _binary(getattr(gnp, name)))
        setattr(Tracer, f"__r{op}__", _binary(getattr(gnp, name), reflected=True))
    for op, name in _COMPARISONS:
        setattr(Tracer, f"__{op}__", _binary(getattr(gnp, name)))
    for op, name in _UNARY:
        setattr(Tracer, f"__{op}__", _forward(getattr(gnp, name)))
    for name in _METHODS:
        setattr(Tracer, name, _forward(getattr(gnp, name)))
    Tracer.__pos__ = lambda self: self
    Tracer.copy = lambda self: self  # traced values are immutable, so a copy is the value itself
    Tracer.T = property(gnp.transpose)
    Tracer.flatten = Tracer.ravel
    Tracer.reshape = _reshape(gnp.reshape)
    Tracer.transpose = _transpose(gnp.transpose)
    Tracer.__getitem__ = gnp.getitem
    Tracer.at = property(gnp.at)  # JAX's functional updates: x.at[idx].add(v)
    Tracer.detach = gnp.stop_gradient
    Tracer.__array_ufunc__ = _array_ufunc(gnp)
    Tracer.__array_function__ = _array_function(gnp)


def _reshape(reshape):
    def method(self, *shape, **kwargs):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return reshape(self, tuple(shape), **kwargs)

    return method


def _transpose(transpose):
    def method(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return transpose(self, tuple(axes) if axes else None)

    return method


def _array_ufunc(gnp):
    def array_ufunc(self, ufunc, method, *inputs, **kwargs):
        """``np.exp(t)``, ``np.add(t, 1)``, ``array + t``: the graphc.numpy function of the same
        name. Reductions such as ``np.add.reduce`` and keyword arguments (``out=``, ``where=``,
        ``dtype=``) are refused with a clear error rather than ignored."""
        name = _UFUNC_ALIASES.get(ufunc.__name__, ufunc.__name__)
        fn = getattr(gnp, name, None)
        if kwargs.get("out", None) is None:
            kwargs.pop("out", None)
        what = f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method}"
        if fn is None or method != "__call__":
            raise located(GraphcError, f"{what} is not supported on traced values")
        if kwargs:
            raise located(GraphcError, f"{what} with the keyword arguments {sorted(kwargs)} is "
                          "not supported on traced values")
        return fn(*inputs)

    return array_ufunc


def _array_function(gnp):
    def array_function(self, func, types, args, kwargs):
        """``np.sum(t)``, ``np.linalg.norm(t)``: the graphc.numpy function of the same name,
        refused with the reason when graphc.numpy has none or does not take the arguments."""
        module = gnp.linalg if func.__module__.endswith("linalg") else gnp
        fn = getattr(module, func.__name__, None)
        if fn is None:
            raise located(GraphcError, f"np.{func.__name__} is not supported on traced values")
        try:
            inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as e:  # a NumPy argument graphc.numpy does not take (out=, order=, ...)
            raise located(GraphcError, f"np.{func.__name__} on traced values: {e}") from None
        return fn(*args, **kwargs)

    return array_function
