"""``gc.GradientTape``: TensorFlow's tape, inside a traced function.

There is nothing to record at run time: the graph being traced *is* the record. Entering the tape
notes where the current trace's node list stands; ``gradient(target, sources)`` takes the nodes
added since (up to the end of the ``with`` block, minus ``stop_recording`` stretches), keeps those
on a differentiable path from a watched value to the target, and emits their reverse pass into the
same trace. Nested tapes give higher derivatives, since an outer tape's stretch contains the inner
tape's gradient nodes.

TensorFlow semantics kept: only watched values (``tape.watch``) and values computed from them on
the tape have gradients; an unconnected source gets ``None`` (or zeros with
``unconnected_gradients="zero"``); a non-scalar target is summed (or weighted by
``output_gradients``); a list of targets adds their gradients; a non-persistent tape allows one
``gradient`` call. There are no variables, so nothing is watched automatically.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from ..core import Tracer, current_trace, located
from ..errors import GraphcError
from ..ops import elementwise as ew
from ..ops import shape as sh
from ..trace import pytree
from .reverse import as_tracer, backward, is_float, path_nodes


class TapeError(GraphcError, RuntimeError):
    """A GradientTape was used in a way TensorFlow also refuses."""


class _TraceValues(dict):
    """Graph values of the current trace seen as its tracers (the env of ``backward``)."""

    def __init__(self, trace):
        super().__init__()
        self.trace = trace

    def __missing__(self, v):
        t = Tracer(v, self.trace)
        self[v] = t
        return t


class GradientTape:
    """See the module docstring. ``watch_accessed_variables`` is accepted for TensorFlow's
    signature and has no effect: graphc has no variables to watch automatically.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> @gc.function
        ... def f(x):
        ...     with gc.GradientTape() as tape:
        ...         tape.watch(x)
        ...         y = x * x  # a non-scalar target is summed
        ...     return tape.gradient(y, x)
        >>> print(f(np.array([1.0, 2.0])))
        [2. 4.]
        >>> @gc.function
        ... def second(x):
        ...     with gc.GradientTape() as outer:
        ...         outer.watch(x)
        ...         with gc.GradientTape() as inner:
        ...             inner.watch(x)
        ...             y = x ** 3
        ...         dy = inner.gradient(y, x)
        ...     return dy, outer.gradient(dy, x)
        >>> dy, d2y = second(2.0)
        >>> print(dy, d2y)
        12.0 12.0
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self.persistent = persistent
        self._trace = None
        self._start = self._stop = None
        self._paused: list[tuple[int, int]] = []
        self._watched: dict = {}
        self._used = False

    # --- recording --------------------------------------------------------------------------------
    def __enter__(self) -> GradientTape:
        trace = current_trace()
        if trace is None:
            raise located(
                TapeError,
                "GradientTape records a traced computation: use it inside a "
                "gc.function (outside one, use gc.grad / gc.vjp)",
            )
        self._trace = trace
        self._start, self._stop = len(trace.builder.nodes), None
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop = len(self._trace.builder.nodes)

    def _nodes_now(self) -> int:
        return len(self._trace.builder.nodes)

    @contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Operations inside this block are not recorded (TensorFlow's ``stop_recording``)."""
        self._require_started("stop_recording")
        begin = self._nodes_now()
        try:
            yield
        finally:
            self._paused.append((begin, self._nodes_now()))

    def reset(self) -> None:
        """Forget everything recorded so far and every watched value."""
        self._require_started("reset")
        self._start, self._paused, self._watched, self._used = self._nodes_now(), [], {}, False

    def watch(self, tensor: Any) -> None:
        """Watch a traced value or a pytree of them (gradients flow only from watched values)."""
        self._require_started("watch")
        for x in pytree.flatten(tensor)[0]:
            if not isinstance(x, Tracer):
                raise located(
                    TapeError,
                    f"GradientTape.watch needs traced values (arguments of "
                    f"the gc.function or values computed from them), got "
                    f"{type(x).__name__}",
                )
            self._watched.setdefault(self._value(x), x)

    def watched_variables(self) -> tuple[Any, ...]:
        return tuple(self._watched.values())

    def _value(self, x):
        return x.value if x._trace is self._trace else as_tracer(x, self._trace).value

    def _require_started(self, what):
        if self._trace is None:
            raise located(
                TapeError,
                f"GradientTape.{what} called before the tape was entered "
                "(use `with gc.GradientTape() as tape:`)",
            )

    # --- gradients --------------------------------------------------------------------------------
    def _recorded_nodes(self):
        nodes = self._trace.builder.nodes
        stop = self._stop if self._stop is not None else len(nodes)
        paused = [range(a, b) for a, b in self._paused]
        return [nodes[i] for i in range(self._start, stop) if not any(i in r for r in paused)]

    def gradient(
        self, target: Any, sources: Any, output_gradients: Any = None,
        unconnected_gradients: str = "none",
    ) -> Any:
        """d(target)/d(sources), with the structure of ``sources``."""
        self._require_started("gradient")
        if unconnected_gradients not in ("none", "zero"):
            raise located(
                TapeError,
                f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}",
            )
        if self._used and not self.persistent:
            raise located(
                TapeError,
                "a non-persistent GradientTape can compute gradients only "
                "once; use gc.GradientTape(persistent=True) to call gradient() again",
            )
        if current_trace() is not self._trace:
            raise located(
                TapeError,
                "tape.gradient must be called in the traced function where the tape recorded",
            )
        self._used = True
        cts, targets = self._seeds(target, output_gradients)
        src_leaves, src_tree = pytree.flatten(sources)
        for s in src_leaves:  # a constant (array, number) has no gradient; others are errors
            if not isinstance(s, (Tracer, np.ndarray, np.generic, float, int)):
                raise located(
                    TapeError,
                    f"tape.gradient sources must be traced values (or pytrees of them), got "
                    f"{type(s).__name__}",
                )
        src_values = [self._value(s) if isinstance(s, Tracer) else None for s in src_leaves]
        path, active = path_nodes(self._recorded_nodes(), list(self._watched), targets)
        backward(path, _TraceValues(self._trace), cts, active)
        grads = [
            self._result(v, cts, active, unconnected_gradients, s)
            for v, s in zip(src_values, src_leaves, strict=True)
        ]
        return pytree.unflatten(src_tree, grads)

    def _seeds(self, target, output_gradients):
        leaves = pytree.flatten(target)[0]
        weights = (
            [None] * len(leaves)
            if output_gradients is None
            else pytree.flatten(output_gradients)[0]
        )
        if len(weights) != len(leaves):
            raise located(
                TapeError, f"output_gradients has {len(weights)} entries for {len(leaves)} targets"
            )
        cts, targets = {}, []
        for t, w in zip(leaves, weights, strict=True):
            if not isinstance(t, Tracer) or not is_float(t):
                continue
            v = self._value(t)
            with self._trace.builder.in_phase("bwd"):
                seed = sh.full(t.shape, 1, t.dtype) if w is None else as_tracer(w, self._trace)
                if tuple(seed.shape) != tuple(t.shape):
                    raise located(
                        TapeError,
                        f"output_gradients entry of shape "
                        f"{tuple(seed.shape)} for a target of shape {tuple(t.shape)}",
                    )
                seed = seed if seed.dtype == t.dtype else ew.convert(seed, dtype=t.dtype)
            cts[v] = seed if v not in cts else ew.add(cts[v], seed)
            targets.append(v)
        return cts, targets

    def _result(self, v, cts, active, unconnected, leaf):
        ct = cts.get(v) if v is not None and v in active else None
        if ct is None and unconnected == "zero" and leaf is not None:
            x = leaf if isinstance(leaf, Tracer) else as_tracer(leaf, self._trace)
            return sh.zeros(x.shape, x.dtype)
        return ct
