"""What AutoGraph's converted code calls (as ``ag__.<name>``): each construct dispatches at run
time, so a Python value keeps plain Python semantics and only a traced value builds a ``cond``
or ``while_loop`` node.

Choices:
  - A variable not assigned on some path is an ``Undefined`` that raises ``UndefinedVariableError``
    (a ``NameError``) naming it and the statement's line when it is used, not where it is made, so
    a branch-local temporary that is never used afterwards is no error.
  - Under a traced ``if``, operands and results are the variables holding traced or array values;
    other Python objects reach the branches through their closures, and may not be rebound there.
  - A loop handed to ``while_loop`` carries the variables its body assigns that are defined before
    it; one assigned only inside stays undefined after the loop.
"""

from __future__ import annotations

import builtins
import types

import numpy as np

from .. import control, dtypes
from .. import numpy as gnp
from ..core import Tracer, located, user_location
from ..errors import GraphcError, ShapeError, UndefinedVariableError
from ..trace import pytree


class Undefined:
    """A variable with no value on the path taken; any use raises, naming it and why."""

    __slots__ = ("name", "why")

    def __init__(self, name: str, why: str):
        self.name, self.why = name, why

    def __repr__(self) -> str:
        return f"<undefined {self.name}>"

    def _fail(self, *args, **kwargs):
        raise located(UndefinedVariableError, f"variable {self.name!r} is used but not defined: "
                      f"{self.why}")


_USES = ("bool call iter len getitem array index float int neg pos abs invert lt le gt ge "
         "add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow rpow "
         "matmul rmatmul and rand or ror xor rxor").split()
for _use in _USES:
    setattr(Undefined, f"__{_use}__", Undefined._fail)


def _undefined_attribute(self, attr):
    if attr.startswith("__"):  # protocol probes (copy, NumPy, pytest) see a plain object
        raise AttributeError(attr)
    self._fail()


Undefined.__getattr__ = _undefined_attribute


def _is_undefined(v) -> bool:
    return isinstance(v, Undefined)


def ld(scope: dict, names: tuple) -> tuple:
    """The current values of ``names`` in ``scope`` (``locals()``), ``Undefined`` where unbound."""
    if all(n in scope for n in names):
        return tuple(scope[n] for n in names)
    why = f"it is not assigned before the statement at {user_location()}"
    return tuple(scope[n] if n in scope else Undefined(n, why) for n in names)


def _traced(tree) -> bool:
    return any(isinstance(x, Tracer) for x in pytree.flatten(tree)[0])


def _arraylike(tree) -> bool:
    """Whether every leaf of ``tree`` can be a traced operand or result (an array or a number)."""
    return all(isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float))
               for x in pytree.flatten(tree)[0])


def _with(vals, slots, ops) -> list:
    full = list(vals)
    for i, o in zip(slots, ops, strict=True):
        full[i] = o
    return full


# --- if ------------------------------------------------------------------------------------------
def if_stmt(test, true_fn, false_fn, vals, names, both):
    """An ``if`` whose branches return the values of ``names``; ``both[i]``: both assign it."""
    if not isinstance(test, Tracer):
        return (true_fn if test else false_fn)(*vals)
    loc = user_location()
    slots = [i for i, v in enumerate(vals) if _traced(v)]
    outs = [i for i, v in enumerate(vals) if both[i] or not _is_undefined(v)]

    def branch(fn, which):
        def run(*ops):
            res = fn(*_with(vals, slots, ops))
            return tuple(_branch_result(res[i], vals[i], names[i], which, loc) for i in outs)
        return run

    res = control.cond(test, branch(true_fn, "true"), branch(false_fn, "false"),
                       *[vals[i] for i in slots])
    why = (f"the if at {loc} has a traced condition and assigns it in only one branch (assign it "
           "in both, or before the if)")
    result = [Undefined(n, why) for n in names]
    for i, r in zip(outs, res, strict=True):
        result[i] = vals[i] if r is None and not _arraylike(vals[i]) else r
    return tuple(result)


def _branch_result(value, before, name, which, loc):
    if _is_undefined(value):
        raise located(UndefinedVariableError, f"variable {name!r} is not assigned in the {which} "
                      f"branch of the if at {loc} (a traced condition needs it from both)", at=loc)
    if _arraylike(value):
        return value
    if value is before:
        return None  # an untouched Python object: both branches pass it by closure
    raise located(GraphcError, f"the if at {loc} has a traced condition, so {name!r} must be an "
                  f"array or a number in both branches, got {type(value).__name__}", at=loc)


def if_ret(test, true_fn, false_fn, vals):
    """An ``if`` in tail position whose branches return the function's result."""
    if not isinstance(test, Tracer):
        return (true_fn if test else false_fn)(*vals)
    slots = [i for i, v in enumerate(vals) if _traced(v)]
    return control.cond(test, lambda *ops: true_fn(*_with(vals, slots, ops)),
                        lambda *ops: false_fn(*_with(vals, slots, ops)), *[vals[i] for i in slots])


# --- loops ---------------------------------------------------------------------------------------
def while_stmt(test_fn, body_fn, vals, names, watch_names, watch_vals):
    """A ``while`` run in Python until its test is traced; the rest goes to ``while_loop``."""
    vals = tuple(vals)
    while True:
        test = test_fn(*vals)
        if isinstance(test, Tracer):
            if not _has_while_loop():
                bool(test)  # Python's own TracerBoolError, at the loop's line
            watched = {n: v for n, v in zip(watch_names, watch_vals) if isinstance(v, list)}
            return _traced_while(test_fn, body_fn, vals, names, watched)
        if not test:
            return vals
        vals = tuple(body_fn(*vals))


def _has_while_loop() -> bool:
    """Whether ``graphc.control.while_loop`` exists (it is written in another branch; until it lands
    a loop on a traced value raises the ``TracerBoolError`` the plain Python loop would)."""
    return hasattr(control, "while_loop")


def _traced_while(test_fn, body_fn, vals, names, watched):
    loc = user_location()
    slots = [i for i, v in enumerate(vals) if not _is_undefined(v) and _arraylike(v)]
    lengths = {n: len(v) for n, v in watched.items()}

    def cond_fun(carry):
        test = test_fn(*_with(vals, slots, carry))
        is_number = isinstance(test, Tracer) and test.dtype != dtypes.bool_
        return test != 0 if is_number else test  # ``while n:`` on a number, as Python reads it

    def body_fun(carry):
        res = tuple(body_fn(*_with(vals, slots, carry)))
        for name, lst in watched.items():
            _check_length(name, lengths[name], len(lst), loc)
        for i, (before, after) in enumerate(zip(carry, (res[i] for i in slots))):
            if isinstance(before, list) and isinstance(after, list):
                _check_length(names[slots[i]], len(before), len(after), loc)
        for i, v in enumerate(res):
            if i not in slots and not _is_undefined(vals[i]) and v is not vals[i]:
                raise located(GraphcError, f"the while loop at {loc} has a traced condition, so "
                              f"{names[i]!r} must be an array or a number defined before it; got "
                              f"{type(v).__name__}", at=loc)
        return tuple(res[i] for i in slots)

    out = control.while_loop(cond_fun, body_fun, tuple(vals[i] for i in slots))
    why = (f"it is assigned only inside the while loop at {loc}, whose condition is traced "
           "(assign it before the loop to use it afterwards)")
    result = [Undefined(names[i], why) if _is_undefined(v) else v for i, v in enumerate(vals)]
    return tuple(_with(result, slots, out))


def _check_length(name, before, after, loc):
    if before != after:
        raise located(GraphcError, f"the Python list {name!r} changes length ({before} -> "
                      f"{after}) inside the loop at {loc}, whose condition is a traced value: "
                      "the loop runs as one traced body, so it cannot grow a list; collect values "
                      "in an array of fixed shape instead", at=loc)


def for_range(rng, bounds, body_fn, vals, names, extra_fn, watch_names, watch_vals):
    """``for names[0] in range(*bounds)``: Python iteration unless a bound is traced."""
    if (rng is not builtins.range or not any(isinstance(b, Tracer) for b in bounds)
            or not _has_while_loop()):  # range() of a tracer raises the usual TracerBoolError
        vals = tuple(vals)
        for i in rng(*bounds):
            more = True if extra_fn is None else extra_fn(*vals)
            if not isinstance(more, Tracer) and not more:
                break  # a traced break flag keeps iterating: the body is guarded by it
            vals = tuple(body_fn(i, *vals[1:]))
        return vals
    start, stop, step = _int_bounds(bounds)
    vals = (start if _is_undefined(vals[0]) else vals[0],) + tuple(vals[1:])

    def test_fn(counter, *rest):
        more = counter < stop if isinstance(step, int) and step > 0 else (
            counter > stop if isinstance(step, int) else
            gnp.where(step > 0, counter < stop, counter > stop))
        return more if extra_fn is None else and_(more, lambda: extra_fn(*rest))

    def body_fn2(counter, *rest):
        return (counter + step,) + tuple(body_fn(counter, *rest[1:]))

    out = while_stmt(test_fn, body_fn2, (start,) + vals, ("range counter",) + tuple(names),
                     watch_names, watch_vals)
    return tuple(out[1:])


def _int_bounds(bounds):
    """``(start, stop, step)`` of a ``range`` with a traced bound, all integers (as ``range``
    wants), the start an array of the widest traced dtype so the counter keeps one type."""
    start, stop, step = {1: (0, *bounds, 1), 2: (*bounds, 1), 3: tuple(bounds)}[len(bounds)]
    traced = [b for b in (start, stop, step) if isinstance(b, Tracer)]
    if any(b.dtype.kind not in "iu" for b in traced) or any(
        not isinstance(b, (Tracer, int, np.integer)) for b in (start, stop, step)
    ):
        raise located(GraphcError, "range() bounds must be integers")
    if isinstance(step, (int, np.integer)) and step == 0:
        raise located(GraphcError, "range() step must not be zero")
    dtype = max((b.dtype for b in traced), key=lambda d: d.itemsize)
    return gnp.asarray(start, dtype=dtype), stop, step


# --- expressions ---------------------------------------------------------------------------------
def _truth(value, what: str) -> bool:
    """Whether ``value`` is a traced truth value (0-d). A traced array of more elements has no
    truth value, as in NumPy: ``and``/``or``/``not`` do not become elementwise operations."""
    if not isinstance(value, Tracer):
        return False
    if value.shape != ():
        raise located(ShapeError, f"the truth value of a traced array of shape {value.shape} is "
                      f"ambiguous ({what}); use graphc.numpy.logical_and/logical_or/logical_not, "
                      "any() or all()")
    return True


def and_(a, b_fn):
    """``a and b``: short-circuit on a Python value, ``logical_and`` on a traced one."""
    if _truth(a, "and"):
        return gnp.logical_and(a, b_fn())
    return b_fn() if a else a


def or_(a, b_fn):
    """``a or b``: short-circuit on a Python value, ``logical_or`` on a traced one."""
    if _truth(a, "or"):
        return gnp.logical_or(a, b_fn())
    return a if a else b_fn()


def not_(a):
    if _truth(a, "not"):
        return gnp.logical_not(a)
    return not a


def ifexp(test, x_fn, y_fn):
    """``x if test else y``: one side on a Python test, ``where`` per leaf on a traced one."""
    if not _truth(test, "x if test else y"):
        return x_fn() if test else y_fn()

    (xs, xt), (ys, yt) = pytree.flatten(x_fn()), pytree.flatten(y_fn())
    if xt != yt:
        raise located(GraphcError, f"x if test else y with a traced test needs x and y of one "
                      f"structure, got {pytree.describe(xt)} and {pytree.describe(yt)}")
    return pytree.unflatten(xt, [gnp.where(test, x, y) for x, y in zip(xs, ys)])


def for_break(flag, has_else: bool) -> bool:
    """Whether a Python ``for`` loop stops on its break flag. A traced flag keeps it iterating
    (the rest of each iteration is guarded by the flag) unless an ``else`` clause needs to know."""
    if not isinstance(flag, Tracer):
        return flag
    if has_else:
        py_test(flag, "break out of a Python for loop with an else clause")
    return False


def py_test(test, what: str):
    """The test of a statement AutoGraph leaves to Python: a traced one is a clear error."""
    if isinstance(test, Tracer):
        raise located(GraphcError, f"autograph cannot convert this {what}, and its condition is "
                      "a traced value; restructure it (gc.cond / gc.while_loop) or make the "
                      "condition a static value")
    return test


def call(f, /, *args, **kwargs):
    """Call ``f``, converted first when it is a plain function of the user's code."""
    from .convert import convert

    return convert(f)(*args, **kwargs)
