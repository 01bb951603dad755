"""Primitive-table rows of the loop primitives (``while_loop``, ``scan``, ``while_grad``): their
NumPy evaluation against loops written out here, and the types their shape rules refuse."""

from __future__ import annotations

import numpy as np

from graphc.errors import DTypeError, ShapeError

from prim_table import F32, F64, I32, Case, Row, T, gen


def _graphs(cond, body, *args):
    import graphc as gc

    return {"cond_graph": gc.make_graph(cond)(*args), "body_graph": gc.make_graph(body)(*args)}


def while_loop_row():
    """A counted loop over an f32 carry and an int32 counter with a captured scale (4 steps and
    none), and a 0-d f64 carry halved until small (a data-dependent trip count)."""
    x, n, w = gen((2, 3), F32), np.asarray(0, I32), np.asarray(1.5, F32)
    counted = _graphs(lambda x, n, w: (n < 4,), lambda x, n, w: (x * w + 1, n + 1), x, n, w)

    def counted_ref(x, n, w):
        for _ in range(max(4 - int(n), 0)):
            x = (x * w + np.float32(1)).astype(F32)
        return x, np.asarray(max(int(n), 4), I32)

    s = np.asarray(37.0)
    halving = _graphs(lambda s: (abs(s) > 0.25,), lambda s: (s / 2,), s)

    def halving_ref(s):
        while abs(s) > 0.25:
            s = s / 2
        return (s,)

    wrong_type = {**counted, "body_graph": _graphs(
        lambda x, n, w: (n < 4,), lambda x, n, w: (x.astype(F64), n), x, n, w)["body_graph"]}
    not_bool = {**counted, "cond_graph": _graphs(
        lambda x, n, w: (n,), lambda x, n, w: (x, n), x, n, w)["cond_graph"]}
    types = [T((2, 3), F32), T((), I32), T((), F32)]
    return Row(
        [Case((x, n, w), counted, counted_ref), Case((x, np.asarray(7, I32), w), counted,
                                                     counted_ref),
         Case((s,), halving, halving_ref), Case((-s,), halving, halving_ref)],
        [(types, wrong_type, ShapeError), (types, not_bool, DTypeError),
         ([T((2, 3), F64), T((), I32), T((), F32)], counted, ShapeError)],
        rtol=1e-6,
    )


def scan_row():
    """A carry and a stacked output over 4 rows, forwards and in reverse, with a captured
    operand; and a scan of length 0 (the carry passes through, the ys are empty)."""
    import graphc as gc

    c, xs, k = gen((3,), F64), gen((4, 3), F64, seed=1), np.asarray(0.5)
    body = gc.make_graph(lambda c, x, k: (c * k + x, c * x))(c, xs[0], k)

    def ref(reverse):
        def run(c, xs, k):
            ys = np.empty_like(xs)
            for i in (range(len(xs) - 1, -1, -1) if reverse else range(len(xs))):
                c, ys[i] = c * k + xs[i], c * xs[i]
            return c, ys

        return run

    attrs = {"body_graph": body, "n_carry": 1, "n_xs": 1, "length": 4}
    empty = np.zeros((0, 3))
    return Row(
        [Case((c, xs, k), {**attrs, "reverse": False}, ref(False)),
         Case((c, xs, k), {**attrs, "reverse": True}, ref(True)),
         Case((c, empty, k), {**attrs, "length": 0, "reverse": False}, ref(False))],
        [([T((3,), F64), T((5, 3), F64), T((), F64)], {**attrs, "reverse": False}, ShapeError),
         ([T((3,), F32), T((4, 3), F64), T((), F64)], {**attrs, "reverse": False}, ShapeError)],
        rtol=1e-12,
    )


def while_grad_row():
    """The reverse pass of ``v = v * w`` three times: the initial value's cotangent is ``ct *
    w**3`` and the scale's the sum over the steps; with every carry saved and with checkpoints."""
    import graphc as gc

    v, n, w, ct = gen((3,), F64), np.asarray(0, I32), np.asarray(1.3), gen((3,), F64, seed=2)
    attrs = _graphs(lambda v, n, w: (n < 3,), lambda v, n, w: (v * w, n + 1), v, n, w)
    attrs["back_graph"] = gc.make_graph(lambda v, n, w, ct: (ct * w, (ct * v).sum()))(v, n, w, ct)

    def ref(v, n, w, ct):
        saved = []
        for _ in range(max(3 - int(n), 0)):
            saved.append(v)
            v = v * w
        g_w = 0.0
        for s in reversed(saved):
            g_w, ct = g_w + (ct * s).sum(), ct * w
        return ct, np.asarray(g_w)

    full = {**attrs, "wanted": (0,), "checkpoints": None}
    types = [T((3,), F64), T((), I32), T((), F64), T((3,), F64)]
    return Row(
        [Case((v, n, w, ct), full, ref), Case((v, n, w, ct), {**full, "checkpoints": 2}, ref),
         Case((v, np.asarray(5, I32), w, ct), full, ref)],
        [(types[:3] + [T((3,), F32)], full, ShapeError),
         (types, {**full, "checkpoints": 0}, ShapeError)],
        rtol=1e-12,
    )


def remat_row():
    """``remat`` evaluates its body on the operands (0-d and size-1 operands, two results)."""
    import graphc as gc

    x, s = gen((2, 3), F32), np.asarray(0.5)
    body = gc.make_graph(lambda x, s: (np.sin(x) * s, x.sum()))(x, np.float32(s))
    one = gen((1,), F64)
    body1 = gc.make_graph(lambda v: (v * v,))(one)
    return Row(
        [Case((x, np.float32(s)), {"body_graph": body},
              lambda x, s: (np.sin(x) * s, x.sum(dtype=F32))),
         Case((one,), {"body_graph": body1}, lambda v: (v * v,))],
        [([T((2, 3), F64), T((), F32)], {"body_graph": body}, ShapeError)],
        rtol=1e-6,
    )


def gather_row():
    """``gather`` along each axis: negative indices wrap, out-of-range ones clamp; a 0-d index
    drops the axis; int and bool operands are moved as they are."""
    x = gen((3, 4), F64)
    idx = np.array([[2, -1], [0, 9]], I32)

    def ref(axis):
        def run(x, i):
            n = x.shape[axis]
            pos = np.clip(np.where(i < 0, i + n, i), 0, n - 1)
            return np.take(x, pos, axis=axis)

        return run

    ints = gen((5,), np.dtype("int64"))
    return Row(
        [Case((x, idx), {"axis": 0}, ref(0)), Case((x, idx), {"axis": 1}, ref(1)),
         Case((x, np.asarray(-2, I32)), {"axis": 1}, ref(1)),
         Case((ints, np.array([4, 4, -5], np.int64)), {"axis": 0}, ref(0))],
        [([T((3, 4), F64), T((2,), F32)], {"axis": 0}, DTypeError),
         ([T((3, 4), F64), T((2,), I32)], {"axis": 2}, ShapeError),
         ([T((0, 4), F64), T((2,), I32)], {"axis": 0}, ShapeError)],
        rtol=0,
    )


def scatter_add_row():
    """``scatter_add``: repeated indices add every update, in index order; negative indices wrap,
    out-of-range ones clamp."""
    x, idx = gen((3, 4), F64), np.array([1, -1, 1, 7], I32)
    upd = gen((3, 4), F64, seed=3)

    def ref(x, i, u):
        out = x.copy()
        pos = np.clip(np.where(i < 0, i + 4, i), 0, 3)
        for j, k in enumerate(pos):
            out[:, k] = out[:, k] + u[:, j]
        return out

    return Row(
        [Case((x, idx, upd), {"axis": 1}, ref)],
        [([T((3, 4), F64), T((4,), I32), T((3, 5), F64)], {"axis": 1}, ShapeError),
         ([T((3, 4), F64), T((4,), I32), T((3, 4), F32)], {"axis": 1}, ShapeError)],
        rtol=0,
    )


def argsort_row():
    """``argsort``: stable (ties keep their order, ``-0.0 == 0.0``), NaN last, every axis, ints
    and bools."""
    x = np.array([[2.0, np.nan, -0.0, 0.0, 1.0, -np.inf], [3.0, 3.0, 1.0, np.nan, 3.0, 0.5]])

    def ref(axis):
        def line(row):  # NaN last, then by value; sorted() is stable
            return sorted(range(len(row)), key=lambda i: (bool(np.isnan(row[i])), row[i]))

        return lambda v: np.apply_along_axis(line, axis, v).astype(np.int64)

    ints = np.array([3, 1, 3, -2, 1], np.int32)
    bools = np.array([True, False, True, False])
    return Row(
        [Case((x,), {"axis": 1}, ref(1)), Case((x,), {"axis": 0}, ref(0)),
         Case((ints,), {"axis": 0}, ref(0)), Case((bools,), {"axis": 0}, ref(0))],
        [([T((3,), F64)], {"axis": 1}, ShapeError)],
        rtol=0,
    )
