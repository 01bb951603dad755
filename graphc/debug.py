"""``graphc.debug.print`` (also ``gc.print``): print from compiled code when it runs, as
``jax.debug.print`` does; Python's ``print`` in a traced function runs once, at trace time, and
shows tracers.

    >>> import numpy as np, graphc as gc
    >>> @gc.jit
    ... def f(x):
    ...     gc.print("x = {}, sum = {s}", x, s=x.sum())
    ...     return x * 2
    >>> _ = f(np.arange(3.0))
    x = [0. 1. 2.], sum = 3.0
"""

from __future__ import annotations

from typing import Any

from .core import current_trace
from .ops.effects import debug_print


def print(fmt: str, *args: Any, **kwargs: Any) -> None:  # noqa: A001  (jax.debug.print's name)
    """Print ``fmt.format(*args, **kwargs)`` each time the code runs (values are NumPy arrays
    then): in program order, in loop bodies once per iteration, and never removed or merged by
    the optimizer. Outside a traced function it prints at once.

    Example::

        >>> import graphc as gc
        >>> def body(i, v):
        ...     gc.print("step {}: v = {}", i, v)
        ...     return v * 2.0
        >>> r = gc.jit(lambda v: gc.fori_loop(0, 3, body, v))(1.0)
        step 0: v = 1.0
        step 1: v = 2.0
        step 2: v = 4.0
        >>> gc.print("outside: {x}", x=r)
        outside: 8.0
    """
    if not isinstance(fmt, str):
        from .errors import ArgumentError
        from .core import located

        raise located(ArgumentError,
                      f"gc.print: the format must be a str, got {type(fmt).__name__}")
    names = tuple(kwargs)
    values = [*args, *kwargs.values()]
    if current_trace() is None:
        from .ops.effects import _impl
        import numpy as np

        _impl(*[np.asarray(v) for v in values], fmt=fmt, names=names)
        return
    debug_print(*values, fmt=fmt, names=names)
