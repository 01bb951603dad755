"""Tracing: the stack of active traces, tracer objects, and ``bind``.

Calling a primitive binds it: with a trace active, a node is appended to that trace's graph and
tracers of its outputs are returned; with no trace active and concrete operands, the primitive's NumPy
``impl`` runs at once (so ``graphc.numpy`` also works eagerly, as a reference).

Each node records the user's file:line (``locations``); a trace with no user frame on the stack
falls back to its function's definition line (``graphc dump`` calls user functions from graphc's
own code).

A tracer of an enclosing trace used inside a nested one (a closure seen by ``grad`` inside a traced
function) is *captured*: the nested graph gets an extra input for it, and the caller passes the outer
value in when it inlines the nested graph.
"""

from __future__ import annotations

import gc
import sys
import threading
from contextlib import contextmanager

import numpy as np

from .. import dtypes
from ..errors import (
    DTypeError, GraphcError, LeakedTracerError, ShapeError, TracerBoolError, UndefinedVariableError,
)
from ..ir import Builder, Graph, Literal, SourceLoc, TensorType, Value
from ..ir.builder import with_location
from .locations import location_from
from .primitive import REGISTRY


def user_location() -> SourceLoc | None:
    """The innermost frame of the user's code (outside graphc, NumPy and the standard library);
    with none on the stack, the active trace's ``default_loc`` (what ``bind`` records too)."""
    loc = location_from(sys._getframe(1), None, None)
    if loc is None:
        stack = _STATE.stack
        return stack[-1].default_loc if stack else None
    return loc


def located(err_class, message: str, at: SourceLoc | None = None) -> GraphcError:
    """An error of ``err_class`` whose message starts with the user's file:line (``at``, else the
    innermost user frame); ``detail`` keeps the message without it (for errors that quote
    another)."""
    loc = at if at is not None else user_location()
    err = err_class(f"{loc}: {message}" if loc else message)
    err._graphc_located = True
    err.detail = message
    return err


class Trace:
    """One graph under construction, with the outer values it captured."""

    def __init__(self, name: str, parent: Trace | None):
        self.builder = Builder(name)
        self.parent = parent
        self.captured: dict[Value, tuple[Tracer, Value]] = {}
        self._constants: dict[Literal, tuple[Value]] = {}  # see ``constant_node``
        self._location_stop: tuple | None = None  # (frame or None, SourceLoc), see location_above
        #: Where nodes made with no user frame on the stack point (set by ``gc.function`` to the
        #: traced function's definition: ``graphc dump`` calls it from graphc's own code).
        self.default_loc: SourceLoc | None = parent.default_loc if parent is not None else None

    @contextmanager
    def location_above(self, frame, loc: SourceLoc | None):
        """While active, ``bind`` in this trace stops its search for the user's frame at ``frame``
        with ``loc``: derivative rules run under it with the line of the node they differentiate,
        so their nodes are emitted at that line (nodes are never patched afterwards). It also
        saves climbing, for each of the thousands of nodes reverse mode binds from deep inside
        graphc, the same frames up to the user's. A user frame met below ``frame`` (a custom
        rule's code) is still found first."""
        old, self._location_stop = self._location_stop, (frame, loc)
        try:
            yield
        finally:
            self._location_stop = old

    def locate_at(self, loc: SourceLoc | None) -> None:
        """Move the innermost ``location_above`` to ``loc`` (its frame stays): a derivative pass
        enters one for its whole walk and moves it to each node it differentiates (a context per
        node cost more than many nodes' rules)."""
        self._location_stop = (self._location_stop[0], loc)

    @contextmanager
    def nodes_at(self, loc: SourceLoc | None):
        """While active, every node bound in this trace is at ``loc`` (when not None), with no
        search for the user's frame: graphc-made nodes that stand for a forward op, such as a
        gradient's seed for the op that made the output."""
        if loc is None:
            yield
            return
        old, self._location_stop = self._location_stop, (None, loc)
        try:
            yield
        finally:
            self._location_stop = old

    def constant_node(self, literal: Literal, loc: SourceLoc | None) -> tuple[Value]:
        """The outputs of a ``constant`` node of ``literal`` in this trace's graph: of the one made
        before when there is one (the same dtype, shape and bytes). A loop of ``x * 0.01`` makes
        one ``0.01``, not one per step for every pass to walk until CSE merges them into the
        first (the one kept here). The ``constant`` primitive is defined with the other shape
        primitives (``ops/shape.py``) and found here by name, since the tracer sits below every
        primitive family."""
        outs = self._constants.get(literal)
        if outs is None:
            outs = self._constants[literal] = self.builder.emit(
                REGISTRY["constant"], (), {"value": literal}, loc)
        return outs

    def new_input(self, type_: TensorType, weak: bool = False) -> Tracer:
        return Tracer(self.builder.add_input(type_), self, weak)

    def to_value(self, x) -> Value:
        """The value of ``x`` in this trace: own tracers as they are, outer tracers captured,
        NumPy arrays and Python scalars as constant nodes."""
        if isinstance(x, Tracer):
            if x._trace is self:
                return x.value
            return self._capture(x)
        return self.constant(x)[0]

    def constant(self, x) -> tuple[Value, bool]:
        """A constant node of ``x`` (``constant_node``) and whether it is weakly typed (a Python
        scalar)."""
        if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
            dt, weak = dtypes.python_scalar_dtype(x), True
            arr = np.asarray(x, dtype=dt)
        else:
            arr = as_array(x)
            weak = False
        return self.constant_node(Literal(arr), None)[0], weak

    def _capture(self, t: Tracer) -> Value:
        if not t._trace.is_active_ancestor_of(self):
            raise located(
                LeakedTracerError,
                f"a traced value {t.value.type} from a finished trace was used here; values made "
                "inside a traced function cannot be kept and used in a later trace (return them)"
            )
        if t.value not in self.captured:
            self.captured[t.value] = (t, self.builder.add_input(t.value.type))
        return self.captured[t.value][1]

    def is_active_ancestor_of(self, other: Trace) -> bool:
        t = other.parent
        while t is not None:
            if t is self:
                return t in _STATE.stack
            t = t.parent
        return False

    def graph(self, outputs) -> tuple[Graph, list[Tracer]]:
        """Finish the graph; returns it and the outer tracers to pass for its captured inputs."""
        outs = []
        for o in outputs:
            try:
                outs.append(self.to_value(o))
            except GraphcError as e:  # not a traced value, nor anything that becomes an array
                raise located(type(e), f"{self.builder.name} returned an unsupported value "
                              f"({type(o).__name__}): {getattr(e, 'detail', e)}") from None
        return self.builder.build(outs), [t for t, _ in self.captured.values()]


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector off for the block (and back on after, unless it was off
    already). Building a big graph allocates hundreds of thousands of objects, almost none in
    cycles, and the collector's passes over them cost about 5% of tracing, optimizing and
    compiling a 10 000-node graph; what cycles the block does leave are collected later."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class _State(threading.local):
    def __init__(self):
        self.stack: list[Trace] = []


_STATE = _State()


def current_trace() -> Trace | None:
    """The innermost active trace of this thread, or None (primitives then run eagerly)."""
    stack = _STATE.stack
    return stack[-1] if stack else None


class new_trace:
    """Context manager: ``with new_trace(name) as trace:`` makes ``trace`` the active one."""

    def __init__(self, name: str = "graph"):
        self.trace = Trace(name, current_trace())

    def __enter__(self) -> Trace:
        _STATE.stack.append(self.trace)
        return self.trace

    def __exit__(self, *exc):
        popped = _STATE.stack.pop()
        if popped is not self.trace:
            raise GraphcError(f"internal error: trace {popped.builder.name} ended inside trace "
                              f"{self.trace.builder.name}")


def as_array(x) -> np.ndarray:
    """A NumPy array of a supported dtype from an argument, or a GraphcError saying what is wrong."""
    if isinstance(x, Tracer):
        raise GraphcError("internal error: as_array on a traced value")
    if isinstance(x, (str, bytes)) or x is None:
        raise located(GraphcError, f"cannot use {type(x).__name__} {x!r} as an array operand")
    try:
        arr = np.asarray(x)
    except UndefinedVariableError:
        raise  # AutoGraph's unassigned variable: its message names it and the statement
    except Exception as e:  # ragged lists, traced values NumPy cannot take, and the like
        if _is_ragged(x):
            why = "its nested lists have different lengths (a ragged list)"
        elif isinstance(e, TracerBoolError):
            why = ("it holds traced values; make them one array with graphc.numpy.stack or "
                   "graphc.numpy.concatenate")
        else:
            why = str(e)
        raise located(GraphcError, f"cannot convert {type(x).__name__} to an array: {why}") from e
    if arr.dtype.kind in "OUSV" or arr.dtype not in dtypes.SHORT_NAMES:
        if arr.dtype.kind == "f" and arr.dtype.itemsize < 4:
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu" and (arr.size == 0 or int(arr.max()) < 2**63):
            arr = arr.astype(np.int64)  # small and unsigned integer constants widen exactly
        else:
            raise located(
                DTypeError,
                f"cannot use {type(x).__name__} of dtype {arr.dtype} as an array: graphc supports "
                "float32, float64, int32, int64, bool"
            )
    return arr


def _is_ragged(x) -> bool:
    """Whether nested lists/tuples ``x`` are not rectangular (NumPy would need an object array)."""
    if not isinstance(x, (list, tuple)):
        return False
    nested = [isinstance(e, (list, tuple)) for e in x]
    if any(nested) and (not all(nested) or len({len(e) for e in x}) > 1):
        return True
    return any(_is_ragged(e) for e in x)


def bind(prim, args, attrs):
    """Apply ``prim`` to ``args`` in the active trace (or eagerly when none is active)."""
    trace = current_trace()
    if trace is None:
        if any(isinstance(a, Tracer) for a in args):
            raise located(
                LeakedTracerError,
                f"{prim.name} applied to a traced value outside of any trace (a value escaped "
                "the traced function that made it)"
            )
        return _eager(prim, args, attrs)
    values = []
    weak = bool(args)
    for a in args:
        if type(a) is Tracer and a._trace is trace:
            values.append(a.value)
            weak = weak and a.weak
        else:
            values.append(trace.to_value(a))
            weak = weak and _is_weak(a)
    stop = trace._location_stop  # (the search starts above Primitive.__call__, bind's caller)
    if stop is None:
        loc = location_from(sys._getframe(2), None, None)
    elif stop[0] is None:
        loc = stop[1]
    else:
        loc = location_from(sys._getframe(2), stop[0], stop[1])
    if loc is None:
        loc = trace.default_loc
    if args or prim is not REGISTRY["constant"]:
        outs = trace.builder.emit(prim, values, attrs, loc)
    else:
        outs = trace.constant_node(attrs["value"], loc)
    if prim.multiple_results:
        return [Tracer(v, trace, False) for v in outs]
    return Tracer(outs[0], trace, weak)


def _eager(prim, args, attrs):
    """``prim`` run at once on concrete operands, checked by its shape rule first. Like the
    reference evaluator, IEEE results (``log(0) = -inf``) raise no NumPy warnings."""
    arrays = [as_array(a) for a in args]
    try:
        prim.infer([TensorType.of(a) for a in arrays], **attrs)
    except GraphcError as e:
        raise with_location(e, prim, user_location()) from None
    with np.errstate(all="ignore"):
        res = prim.impl(*arrays, **attrs)
    return [_owned(r) for r in res] if prim.multiple_results else _owned(res)


def _owned(r) -> np.ndarray:
    """Eager results are writable arrays the caller owns (impls may return broadcast views)."""
    r = np.asarray(r)
    return r if r.flags.writeable else r.copy()


def _is_weak(x) -> bool:
    if isinstance(x, Tracer):
        return x.weak
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


class Tracer:
    """A value in the graph being traced, with the array interface users' NumPy code expects (its
    operators and array methods are installed by ``graphc.numpy``: ``numpy/methods.py``)."""

    __slots__ = ("_trace", "value", "weak")
    __array_priority__ = 1000

    def __init__(self, value: Value, trace: Trace, weak: bool = False):
        self.value = value
        self._trace = trace
        self.weak = weak

    # --- static facts -------------------------------------------------------------------------
    shape = property(lambda self: self.value.type.shape)
    dtype = property(lambda self: self.value.type.dtype)
    ndim = property(lambda self: len(self.value.type.shape))
    size = property(lambda self: self.value.type.size)
    aval = property(lambda self: self.value.type)

    def __repr__(self) -> str:
        return f"Tracer<{self.value.type}{' weak' if self.weak else ''}>"

    def __len__(self) -> int:
        if not self.shape:
            raise located(ShapeError, "len() of a 0-d traced value")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise located(ShapeError, f"iteration over a 0-d traced value {self.value.type} (a "
                          "shape, a size or a sequence must be static Python values)")
        return (self[i] for i in range(self.shape[0]))

    # --- values Python would need concretely ---------------------------------------------------
    # NOTE: each message says which Python use needed the value and what to write instead; a
    # truth value has traced replacements (cond, where), a Python number or int does not.
    def __bool__(self):
        raise located(
            TracerBoolError,
            f"the truth value of a traced value {self.value.type} is not known while tracing. Use "
            "gc.cond(pred, true_fun, false_fun, *operands) to run one of two functions, "
            "gc.while_loop(cond_fun, body_fun, init_val) to loop, graphc.numpy.where(cond, a, b) "
            "to choose between values, or pass the value as a static argument (static_argnums); "
            "gc.function's autograph=True converts Python if/while statements to these",
        )

    def __index__(self):
        raise located(
            TracerBoolError,
            f"a traced value {self.value.type} was used as a Python int (in range(), as a size, "
            "a shape or an index), but its value is not known while tracing: pass it as a static "
            "argument (static_argnums/static_argnames, one trace per value)",
        )

    __int__ = __index__

    def _to_python(self, what: str):
        raise located(
            TracerBoolError,
            f"cannot convert a traced value {self.value.type} to a Python {what} while tracing: "
            "its value is only known when the compiled function runs. Keep it an array (0-d "
            "values work with every operator and graphc.numpy function), or pass it as a static "
            "argument (static_argnums) if it must be a Python number",
        )

    def __float__(self):
        self._to_python("float (float())")

    def __complex__(self):
        self._to_python("complex (complex())")

    def item(self, *args):
        self._to_python("number (.item())")

    def tolist(self):
        self._to_python("list (.tolist())")

    def __array__(self, dtype=None, copy=None):
        raise located(
            TracerBoolError,
            f"cannot turn a traced value {self.value.type} into a NumPy array while tracing "
            "(np.asarray / np.array on a tracer); use graphc.numpy functions or plain NumPy "
            "functions that dispatch (np.sin, np.sum, ...) instead",
        )

    def __setitem__(self, index, value):
        raise located(
            GraphcError,
            "traced values are immutable: write x = x.at[index].set(value) (or .add(value)), "
            "as in JAX, or build a new value with gc.numpy.where(mask, new, x)",
        )

    __hash__ = None  # traced values compare elementwise, so they are not hashable
