"""``gc.cond`` end to end: tracing (pytrees, closures, nesting, predicates), errors, eager and
concrete-predicate paths, and every differentiation mode, on each backend."""

import inspect

import numpy as np
import pytest

import graphc as gc
from graphc.testing import check_grads

BACKENDS = ("reference", "llvm")


def _run(fun, backend, *args):
    return gc.function(fun, backend=backend)(*args)


def _sign_branch(x, y):
    """Branch on the sign of ``x.sum()``; the false branch closes over ``y``."""
    return gc.cond(x.sum() > 0, lambda a: np.sin(a) * 2.0, lambda a: a * y - 1.0, x)


def _sign_ref(x, y):
    return np.sin(x) * 2.0 if x.sum() > 0 else x * y - 1.0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (1,), (2, 3)])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_both_branches_values_and_dtypes(backend, dtype, shape, sign):
    x = (sign * (np.arange(np.prod(shape, dtype=int)) + 0.5)).reshape(shape).astype(dtype)
    y = dtype(3.0)
    got = _run(_sign_branch, backend, x, y)
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_allclose(got, _sign_ref(x, y), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pytrees_of_operands_and_results(backend):
    def f(p, k):
        def yes(q, n):
            return {"w": q["w"] * n, "pair": (q["b"], n + 1)}

        def no(q, n):
            return {"w": -q["w"], "pair": (q["b"] * 2.0, n)}

        return gc.cond(k > 2, yes, no, p, k)

    p = {"w": np.array([1.0, 2.0]), "b": np.float64(0.5)}
    for k, want_w, want_b, want_n in ((3, [3.0, 6.0], 0.5, 4), (1, [-1.0, -2.0], 1.0, 1)):
        out = _run(f, backend, p, np.int64(k))
        np.testing.assert_array_equal(out["w"], want_w)
        assert out["pair"][0] == want_b and out["pair"][1] == want_n
        assert out["pair"][1].dtype == np.int64


@pytest.mark.parametrize("backend", BACKENDS)
def test_closures_captured_in_one_branch_each_and_constants(backend):
    """Each branch closes over a different outer value: both graphs take both."""

    def f(x, a, b):
        c = np.array([10.0, 20.0])
        return gc.cond(x[0] > 0, lambda: a * x + c, lambda: b - x)

    x, a, b = np.array([1.0, 2.0]), np.float64(2.0), np.float64(5.0)
    np.testing.assert_array_equal(_run(f, backend, x, a, b), [12.0, 24.0])
    np.testing.assert_array_equal(_run(f, backend, -x, a, b), [6.0, 7.0])
    graph = gc.make_graph(f)(x, a, b)
    node = next(n for n in graph.nodes if n.prim.name == "cond")
    t, fg = node.attrs["true_graph"], node.attrs["false_graph"]
    assert t.in_types == fg.in_types and len(t.in_types) == 3  # x, a, b (the constant stays inside)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_conds(backend):
    def f(x):
        return gc.cond(
            x > 0,
            lambda v: gc.cond(v > 10, lambda w: w * 100, lambda w: w + 1, v),
            lambda v: -v,
            x,
        )

    for x, want in ((20.0, 2000.0), (3.0, 4.0), (-2.0, 2.0)):
        assert _run(f, backend, np.float64(x)) == want


@pytest.mark.parametrize("backend", BACKENDS)
def test_number_predicate_is_compared_with_zero(backend):
    f = lambda k, x: gc.cond(k, lambda v: v + 1, lambda v: v - 1, x)  # noqa: E731
    assert _run(f, backend, np.int32(0), 5.0) == 4.0
    assert _run(f, backend, np.int32(-3), 5.0) == 6.0
    assert _run(f, backend, np.float32(0.25), 5.0) == 6.0


def _line_of(fun, text):
    lines, first = inspect.getsourcelines(fun)
    return first + next(i for i, s in enumerate(lines) if text in s)


def test_non_scalar_predicate_names_its_shape_and_line():
    def f(x):
        return gc.cond(x > 0, lambda v: v, lambda v: -v, x)  # the call

    with pytest.raises(gc.ShapeError, match=r"predicate must be 0-d.*\(3,\)") as e:
        gc.make_graph(f)(np.ones(3))
    assert f"test_cond.py:{_line_of(f, '# the call')}" in str(e.value)


def test_mismatched_leaf_types_name_the_path_both_types_and_line():
    def f(x):
        return gc.cond(  # the call
            x.sum() > 0,
            lambda v: {"a": v, "b": v.astype(np.float32)},
            lambda v: {"a": v, "b": v},
            x,
        )

    with pytest.raises(gc.GraphcError) as e:
        gc.make_graph(f)(np.ones(2))
    msg = str(e.value)
    assert "output['b']" in msg and "f32[2]" in msg and "f64[2]" in msg
    assert f"test_cond.py:{_line_of(f, '# the call')}" in msg


def test_mismatched_shapes_and_structures():
    with pytest.raises(gc.GraphcError, match=r"output.*f64\[2\].*f64\[\]"):
        gc.make_graph(lambda x: gc.cond(x[0] > 0, lambda v: v, lambda v: v.sum(), x))(np.ones(2))
    with pytest.raises(gc.GraphcError, match="different structures"):
        gc.make_graph(lambda x: gc.cond(x > 0, lambda v: (v, v), lambda v: v, x))(1.0)


def test_a_branch_that_is_not_callable_is_named():
    with pytest.raises(gc.GraphcError, match="false_fun must be callable.*int 3") as e:
        gc.make_graph(lambda x: gc.cond(x > 0, lambda v: v, 3, x))(1.0)
    assert "test_cond.py:" in str(e.value)


def test_eager_runs_only_the_chosen_function():
    ran = []

    def yes(v):
        ran.append("yes")
        return v * 2

    def no(v):
        ran.append("no")
        return v

    assert gc.cond(np.float64(1.0), yes, no, 3.0) == 6.0 and ran == ["yes"]
    assert gc.cond(False, yes, no, 3.0) == 3.0 and ran == ["yes", "no"]
    with pytest.raises(gc.ShapeError, match="0-d"):
        gc.cond(np.array([True, False]), yes, no, 3.0)


def test_concrete_predicate_inside_a_trace_inlines_the_chosen_branch_and_checks_both():
    graph = gc.make_graph(lambda x: gc.cond(True, lambda v: v * 3.0, lambda v: v, x))(np.ones(2))
    names = [n.prim.name for n in graph.nodes]
    assert "cond" not in names and "mul" in names
    with pytest.raises(gc.GraphcError, match="f32"):
        gc.make_graph(
            lambda x: gc.cond(True, lambda v: v, lambda v: v.astype(np.float32), x)
        )(np.ones(2))


# --- derivatives ------------------------------------------------------------------------------
def _loss(x, y):
    """Scalar loss; the predicate depends on the differentiated input."""
    return gc.cond(
        x.sum() > 0, lambda a: (a * a * y).sum(), lambda a: (np.exp(a) * y).sum(), x
    )


def _loss_grad_by_hand(x, y):
    if x.sum() > 0:
        return 2 * x * y, (x * x).sum()
    return np.exp(x) * y, np.exp(x).sum()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_grad_and_value_and_grad_match_hand_derivatives(backend, sign):
    x, y = sign * np.array([0.5, 1.0, 2.0]), np.float64(1.5)
    gx, gy = _run(gc.grad(_loss, argnums=(0, 1)), backend, x, y)
    hx, hy = _loss_grad_by_hand(x, y)
    np.testing.assert_allclose(gx, hx, rtol=1e-12)
    np.testing.assert_allclose(gy, hy, rtol=1e-12)
    v, g = _run(gc.value_and_grad(_loss), backend, x, y)
    np.testing.assert_allclose(v, _loss(x, y), rtol=1e-12)
    np.testing.assert_allclose(g, hx, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_jvp_vjp_and_jacobians_agree(backend, sign):
    x = sign * np.array([0.3, 0.7, 1.1])
    f = lambda x: _sign_branch(x, np.float64(2.5))  # noqa: E731
    jf = _run(gc.jacfwd(f), backend, x)
    jr = _run(gc.jacobian(f), backend, x)
    np.testing.assert_allclose(jf, jr, rtol=1e-12)
    t = np.array([1.0, -2.0, 0.5])
    _, tangent = _run(lambda x, t: gc.jvp(f, (x,), (t,)), backend, x, t)
    np.testing.assert_allclose(tangent, jf @ t, rtol=1e-12)

    def pullback(x, u):
        _, back = gc.vjp(f, x)
        return back(u)[0]

    np.testing.assert_allclose(_run(pullback, backend, x, t), t @ jr, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_of_grad_and_numerical_check(backend):
    f = lambda x: gc.cond(x > 1.0, lambda a: a**3, lambda a: np.sin(a) * a, x)  # noqa: E731
    for x in (2.0, 0.5):
        want = 6 * x if x > 1 else 2 * np.cos(x) - x * np.sin(x)
        np.testing.assert_allclose(_run(gc.grad(gc.grad(f)), backend, x), want, rtol=1e-12)
    for args in ((np.array([0.5, 1.2, 2.0]), np.float64(0.8)), (-np.ones((2, 1)), np.float64(3.0))):
        check_grads(_loss, args, order=2, backend=backend)
        check_grads(_sign_branch, args, order=2, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_cond_derivatives(backend):
    def f(x):
        inner = lambda v: gc.cond(v.sum() > 1, lambda w: w * w, lambda w: 3.0 * w, v)  # noqa: E731
        return gc.cond(x[0] > 0, inner, lambda v: np.cos(v), x).sum()

    for x in (np.array([2.0, 1.0]), np.array([0.1, 0.2]), np.array([-1.0, 0.5])):
        check_grads(f, (x,), order=2, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_operands_and_unused_tangents(backend):
    """An int operand gets no gradient; a result that depends on no differentiated input in
    either branch has a zero derivative (a symbolic zero inside the rules)."""

    def f(x, n, c):
        out, k = gc.cond(n > 2, lambda a, m: (a * m, m * 2), lambda a, m: (a + c, m), x, n)
        return out.sum() + k + c

    x = np.array([1.0, 2.0])
    for n, want in ((3, [3.0, 3.0]), (1, [1.0, 1.0])):
        np.testing.assert_array_equal(_run(gc.grad(f), backend, x, np.int64(n), 1.0), want)
    with pytest.raises(gc.GraphcError, match="int"):
        gc.grad(f, argnums=1)(x, np.int64(3), 1.0)
    g = lambda x, c: gc.cond(x > 0, lambda: c * 2.0, lambda: c)  # noqa: E731
    assert _run(gc.grad(g), backend, 1.0, 5.0) == 0.0
    assert _run(gc.grad(g, argnums=1), backend, 1.0, 5.0) == 2.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_derivatives_stay_float32(backend):
    x = np.array([0.5, -0.25], np.float32)
    g = _run(gc.grad(_loss), backend, x, np.float32(2.0))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, _loss_grad_by_hand(x, np.float32(2.0))[0], rtol=1e-6)


# --- passes -----------------------------------------------------------------------------------
def _optimized(fun, *args):
    return gc.function(fun, backend="reference").concrete(*args).graph


def _conds(graph):
    return [n for n in graph.nodes if n.prim.name == "cond"]


def test_a_constant_predicate_node_is_folded_to_the_chosen_branch():
    """Built by hand: tracing already inlines a branch whose predicate is concrete."""
    from graphc.ir import Builder, Literal
    from graphc.ops import control
    from graphc.ops import shape as shape_ops
    from graphc.passes.manager import optimize

    scalar = gc.make_graph(lambda v: v)(1.0).in_types[0]
    branches = {
        "true_graph": gc.make_graph(lambda v: v * 3.0)(1.0),
        "false_graph": gc.make_graph(lambda v: np.sin(v))(1.0),
    }
    for flag, kept, dropped in ((True, "mul", "sin"), (False, "sin", "mul")):
        b = Builder("f")
        x = b.add_input(scalar)
        (p,) = b.emit(shape_ops.constant, (), {"value": Literal(np.asarray(flag))})
        graph = optimize(b.build(b.emit(control.cond, (p, x), branches)))[0]
        assert not _conds(graph) and kept in str(graph) and dropped not in str(graph)


def test_identical_branches_are_inlined():
    graph = _optimized(lambda x: gc.cond(x > 0, lambda v: v * 2.0, lambda v: v * 2.0, x), 1.0)
    assert not _conds(graph)


def test_unused_results_and_operands_are_dropped_from_both_branches():
    def f(x, y, z):
        a, b = gc.cond(x.sum() > 0, lambda: (x * 2.0, np.exp(y)), lambda: (x + z, np.sin(y)))
        return a

    graph = _optimized(f, np.ones(2), np.ones(3), 1.0)
    (node,) = _conds(graph)
    assert len(node.outputs) == 1 and len(node.inputs) == 3  # pred, x, z: y is read by no branch
    for g in node.subgraphs():
        assert len(g.outputs) == 1 and "exp" not in str(g) and "sin" not in str(g)
    out = gc.function(f, backend="reference")(-np.ones(2), np.ones(3), 5.0)
    np.testing.assert_array_equal(out, [4.0, 4.0])


def test_optimizer_runs_inside_branches_and_stats_count_their_nodes():
    def f(x):
        return gc.cond(x > 0, lambda v: (v * 1.0 + 0.0) * (v * 1.0 + 0.0), lambda v: -v, x)

    concrete = gc.function(f, backend="reference").concrete(1.0)
    (node,) = _conds(concrete.graph)
    true_text = str(node.attrs["true_graph"])
    assert true_text.count("mul") == 1 and true_text.count("add") == 1  # v * 1.0 gone, CSE
    nodes = concrete.stats()["nodes"]
    assert nodes["optimized"] == concrete.graph.count_nodes() > len(concrete.graph.nodes)


def test_dump_prints_the_true_branch_first_indented_under_its_node():
    text = str(gc.make_graph(lambda x: gc.cond(x > 0, lambda v: v, lambda v: -v, x))(1.0))
    lines = text.splitlines()
    i = next(k for k, s in enumerate(lines) if "= cond" in s)
    assert lines[i + 1].strip() == "true_graph:" and lines[i + 2].startswith("    graph true_")
    assert text.index("true_graph:") < text.index("false_graph:")


def test_jvp_cond_computes_no_tangent_for_results_that_cannot_have_one():
    """Only ``a`` depends on ``x`` in either branch: the tangent cond has one result, and the
    tangent of ``b`` is a zero of its type."""

    def f(x, y):
        return gc.cond(x > 0, lambda: (x * y, y * 2.0), lambda: (x * x, np.sin(y)))

    def tangent(x, y):
        return gc.jvp(lambda x: f(x, y), (x,), (1.0,))[1]

    conds = _conds(gc.make_graph(tangent)(1.0, 2.0))
    assert [len(n.outputs) for n in conds] == [2, 1]
    ta, tb = gc.function(tangent, backend="reference")(3.0, 2.0)
    assert ta == 2.0 and tb == 0.0
    ta, tb = gc.function(tangent, backend="reference")(-3.0, 2.0)
    assert ta == -6.0 and tb == 0.0
