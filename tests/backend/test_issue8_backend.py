"""Issue 8, backend half: constants and 0-d operands in the LLVM backend, vectorized math with a
literal operand, modules that could abort the process, and internal failures as GraphcErrors.

Oracles: hand-derived closed forms (the issue's reproducers); the correctly rounded results of
tests/oracles.py (math at every vector width); and the reference evaluator for the operand-kind
matrix, where the question is whether the compiled program computes the graph's values at all (it
crashed) and every case is bit-exact or a few ulps from an independent implementation.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import oracles
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc import config
from graphc.backend.llvm import region, scalar
from graphc.backend.reference import evaluate
from graphc.ir import Builder, Literal, TensorType
from graphc.ops import elementwise as ew
from graphc.ops import reduce as red
from graphc.ops import shape as sh
from graphc.ops.linalg import dot_general
from graphc.passes import manager, optimize

from .cases import SHAPE_CASES
from .llvm_helper import jit_tuned, run_graph

F = (np.float32, np.float64)


# - the reproducers ------------------------------------------------------------------------
def _close(got, want, dtype):
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=8 * np.finfo(dtype).eps, atol=1e-30)


@pytest.mark.parametrize("dtype", F)
def test_products_with_constant_or_0d_operands(dtype):
    """Each crashed with a KeyError in the memory plan: a constant read only by an unfused node
    (a product, a reshape view, a cumsum) was dropped by fusion."""
    x = np.arange(4.0, dtype=dtype)
    _close(gc.grad(lambda x: 2 * np.dot(x, x))(x), 4 * x, dtype)
    sq = float(np.sum(np.arange(4.0) ** 2))
    for f in (
        lambda x: x @ x,
        lambda x: x.dot(x),
        lambda x: np.inner(x, x),
        lambda x: np.einsum("i,i->", x, x),
    ):
        _close(gc.function(f)(x), sq, dtype)
    A = np.arange(6.0, dtype=dtype).reshape(3, 2)
    _close(gc.function(lambda b: np.dot(A, b))(np.ones(2, dtype)), [1.0, 5.0, 9.0], dtype)
    H = np.arange(25.0, dtype=dtype).reshape(5, 5)
    hess = gc.hessian(lambda x: np.dot(np.dot(x, H), x))(np.ones(5, dtype))
    _close(hess, H + H.T, dtype)
    one = np.ones((2, 2), dtype)
    grad = gc.grad(lambda x: np.tensordot(x * one, x * one, 2))(dtype(1.5))
    _close(grad, 8 * 1.5, dtype)  # d/dx of 4 x**2
    for C in (np.arange(4.0, dtype=dtype).reshape(2, 2), np.eye(2, dtype=dtype)):
        _close(
            gc.function(lambda x, C=C: x @ C)(np.ones((3, 2), dtype)),
            np.tile(C.sum(0), (3, 1)),
            dtype,
        )
    w = np.array([1.0, -2.0, 3.0, 0.5], dtype)
    want = np.array([2.5, 1.5, 3.5, 0.5])  # d/dx_i sum_j w_j cumsum(x)_j = sum_{j >= i} w_j
    _close(gc.grad(lambda x: np.sum(np.cumsum(x) * w))(np.ones(4, dtype)), want, dtype)
    ct = np.array([1.0, 2.0, -3.0], dtype)
    _close(gc.grad(lambda y: np.sum(y[None] * ct[None]))(np.ones(3, dtype)), ct, dtype)


@pytest.mark.parametrize("dtype", F)
def test_hessian_vector_product_with_captured_cotangent(dtype):
    """Captured cotangents are constants: the HVP of a random program crashed ~40% of the time."""
    v = np.array([1.0, -1.0, 2.0], dtype)
    df = gc.grad(lambda x: np.dot(np.tanh(x), x))

    def forward_over_reverse(x):
        return gc.jvp(df, (x,), (v,))[1]

    def reverse_over_reverse(x):
        return gc.grad(lambda x: np.dot(df(x), v))(x)

    def vjp_of_grad(x):
        return gc.vjp(df, x)[1](v)[0]

    x = np.array([0.3, -0.7, 2.0], dtype)  # away from 1 = x tanh(x) (cancellation)
    x64 = x.astype(np.float64)
    sech2 = 1 / np.cosh(x64) ** 2
    want = 2 * sech2 * (1 - x64 * np.tanh(x64)) * v  # d2/dx2 x tanh(x); the Hessian is diagonal
    for hvp in (forward_over_reverse, reverse_over_reverse, vjp_of_grad):
        np.testing.assert_allclose(gc.function(hvp)(x), want, rtol=64 * np.finfo(dtype).eps)


# - every primitive, every operand a constant or an input --------------------------------------------
def _cases():
    out = []
    for d in ("float32", "float64"):
        for p in (
            ew.add,
            ew.sub,
            ew.mul,
            ew.div,
            ew.maximum,
            ew.minimum,
            ew.pow_,
            ew.atan2,
            ew.rem,
            ew.less,
            ew.equal,
        ):
            out += [(p, [((), d), ((129,), d)], {}), (p, [((3, 1), d), ((1, 5), d)], {})]
        for p in (
            ew.neg,
            ew.abs_,
            ew.sign,
            ew.floor,
            ew.ceil,
            ew.exp,
            ew.expm1,
            ew.log,
            ew.log1p,
            ew.sqrt,
            ew.sin,
            ew.cos,
            ew.tanh,
        ):
            out += [(p, [((), d)], {}), (p, [((33,), d)], {})]
        for p in (red.reduce_sum, red.reduce_max, red.reduce_min, red.reduce_prod):
            out += [(p, [((7, 3), d)], {"axes": (0,)}), (p, [((), d)], {"axes": ()})]
        out.append((red.cumsum, [((3, 4), d)], {"axis": 1, "reverse": True}))
        for lhs, rhs, c, b in [
            ((4,), (4,), ((0,), (0,)), ((), ())),  # x @ x
            ((3, 2), (2,), ((1,), (0,)), ((), ())),  # A @ b
            ((2,), (2, 5), ((0,), (0,)), ((), ())),
            ((3, 2), (2, 2), ((1,), (0,)), ((), ())),
            ((), (2, 3), ((), ()), ((), ())),  # 0-d times matrix
            ((), (), ((), ()), ((), ())),
            ((2, 3, 4), (2, 4, 2), ((2,), (1,)), ((0,), (0,))),
        ]:
            out.append((dot_general, [(lhs, d), (rhs, d)], {"contracting": c, "batch": b}))
    out += [
        (ew.logical_and, [((), "bool"), ((40,), "bool")], {}),
        (ew.logical_not, [((40,), "bool")], {}),
        (ew.select, [((40,), "bool"), ((40,), "float64"), ((), "float64")], {}),
        (ew.convert, [((40,), "float64")], {"dtype": np.dtype("float32")}),
        (ew.add, [((), "int32"), ((40,), "int32")], {}),
        (sh.broadcast_in_dim, [((), "float32")], {"shape": (4, 3), "dims": ()}),
        (sh.reshape, [((), "float32")], {"shape": (1, 1)}),
        *SHAPE_CASES,
    ]
    return out


def _value(t, rng):
    if t.dtype.kind == "b":
        return rng.random(t.shape) < 0.5
    if t.dtype.kind == "i":
        return rng.integers(1, 9, size=t.shape).astype(t.dtype)
    return rng.uniform(0.5, 2.5, size=t.shape).astype(t.dtype)  # in every function's domain


def _program(prim, ins, attrs, constant):
    """``prim`` on operands that are inputs or captured constants (``constant[i]``), returning its
    result twice, each input straight through, each operand as a reshape view, and per constant
    ``c`` a fused region reading it (``maximum(c, c)``) and an equal constant of its own. Nothing
    returns ``c`` itself: that would keep ``c`` alive and hide a dropped constant."""
    b, rng = Builder("g"), np.random.default_rng(len(ins))
    operands, args, extra = [], [], []
    for (shape, d), const in zip(ins, constant, strict=True):
        t = TensorType(shape, np.dtype(d))
        if const:
            value = Literal(_value(t, rng))
            (v,) = b.emit(sh.constant, [], {"value": value})
            extra += b.emit(sh.constant, [], {"value": value})
            if v.dtype.kind != "b":
                extra += b.emit(ew.maximum, [v, v], {})
        else:
            v = b.add_input(t)
            args.append(_value(t, rng))
            extra.append(v)
        if v.type.ndim:
            extra += b.emit(sh.reshape, [v], {"shape": (v.type.size,)})
        operands.append(v)
    (out,) = b.emit(prim, operands, attrs)
    return b.build([out, out, *extra]), args


def _kinds(n):
    """All inputs, each operand alone a constant, all constants."""
    alone = [tuple(i == k for i in range(n)) for k in range(n)]
    return list(dict.fromkeys([(False,) * n, *alone, (True,) * n]))


@pytest.mark.parametrize("prim,ins,attrs", _cases(), ids=lambda a: getattr(a, "name", None))
def test_operand_kinds(prim, ins, attrs):
    for constant in _kinds(len(ins)):
        graph, args = _program(prim, ins, attrs, constant)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = evaluate(graph, args)
        graphs = [graph, optimize(graph)[0]] if all(constant) else [graph]  # outputs constants
        for g in graphs:
            got, _ = run_graph(g, args)
            for k, (a, w) in enumerate(zip(got, want, strict=True)):
                where = f"{prim.name} constant={constant} output {k}"
                assert a.shape == w.shape and a.dtype == w.dtype, where
                if a.dtype.kind == "f":
                    tol = 32 * np.finfo(a.dtype).eps
                    np.testing.assert_allclose(a, w, rtol=tol, atol=tol, err_msg=where)
                else:
                    np.testing.assert_array_equal(a, w, err_msg=where)


# - vectorized math with a literal operand, at every width ---------------------------------------
WIDTHS = (1, 3, 15, 16, 17, 31, 32, 33, 64, 129, 1000)
#: name -> (graphc function of x and p = |x| + 1/64, oracle function, oracle operands from x, p)
MATH = {
    "exp": ("gnp.exp(x)", "exp", "x"),
    "expm1": ("gnp.expm1(x)", "expm1", "x"),
    "log": ("gnp.log(p)", "log", "p"),
    "log1p": ("gnp.log1p(p)", "log1p", "p"),
    "sqrt": ("gnp.sqrt(p)", "sqrt", "p"),
    "sin": ("gnp.sin(x)", "sin", "x"),
    "cos": ("gnp.cos(x)", "cos", "x"),
    "tanh": ("gnp.tanh(x)", "tanh", "x"),
    "arctan": ("gnp.arctan(x)", "atan2", "x,1"),
    "atan2_x_c": ("gnp.arctan2(x, 2.0)", "atan2", "x,2"),
    "atan2_c_x": ("gnp.arctan2(2.0, x)", "atan2", "2,x"),
    "pow_x_c": ("p ** 1.5", "pow", "p,1.5"),
    "pow_c_x": ("2.0 ** x", "pow", "2,x"),
}
#: More math calls than lower.INLINE_MATH_MAX in one kernel: it calls vector-variant wrappers, the
#: path whose broken module aborted the process.
FUSED_TERMS = ("atan2_x_c", "atan2_c_x", "pow_x_c", "pow_c_x", "arctan", "exp", "tanh")
FUSED = " + ".join(MATH[k][0] for k in FUSED_TERMS)

_CHILD = """
import sys
import numpy as np
import graphc as gc
import graphc.numpy as gnp
cases, widths, out = {cases!r}, {widths!r}, {{}}
for dtype in (np.float32, np.float64):
    x = np.linspace(-2.0, 2.0, 1000).astype(np.float32).astype(dtype)
    p = np.abs(x) + dtype(1 / 64)
    for name, expr in cases.items():
        one = eval("lambda x, p: " + expr)
        f = gc.function(lambda *a: tuple(one(a[2 * k], a[2 * k + 1]) for k in range(len(widths))))
        args = [a for n in widths for a in (x[:n], p[:n])]
        for n, y in zip(widths, f(*args)):
            out[f"{{name}}|{{np.dtype(dtype).name}}|{{n}}"] = y
np.savez(sys.argv[1], **out)
"""


def _child(script, *args, timeout=300):
    """Run ``script`` in a fresh interpreter, so that a process abort is a test failure instead of
    the end of the test run. The disk cache stays on (~9 s -> ~2 s when warm): it is keyed by the
    module text and the LLVM version, so any change that could break a module compiles afresh."""
    command = [sys.executable, "-c", script, *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _operands(spec, x, p):
    names = {"x": x, "p": p}
    return [names[s] if s in names else float(s) for s in spec.split(",")]


def test_math_with_literal_operands_at_every_width(tmp_path):
    """atan2/pow/arctan with a scalar literal on either side gave ``floating point constant invalid
    for type`` from 16 float64 / 32 float32 elements on; inside a kernel of many math calls LLVM
    aborted the process (``invalid name for a VFABI variant``)."""
    cases = {k: v[0] for k, v in MATH.items()} | {"fused": FUSED}
    path = tmp_path / "out.npz"
    run = _child(_CHILD.format(cases=cases, widths=WIDTHS), path)
    assert run.returncode == 0, f"exit {run.returncode}:\n{run.stderr[-3000:]}"
    got = np.load(path)
    for dtype in F:
        x = np.linspace(-2.0, 2.0, 1000).astype(np.float32).astype(dtype)
        p = np.abs(x) + dtype(1 / 64)
        terms = []
        for name, (_, fname, spec) in MATH.items():
            args = _operands(spec, x, p)
            tol = oracles.bound(oracles.GRAPHC_ULP, fname, dtype)
            for n in WIDTHS:
                y = got[f"{name}|{np.dtype(dtype).name}|{n}"]
                part = [a[:n] if isinstance(a, np.ndarray) else a for a in args]
                oracles.assert_ulp(y, fname, part, dtype, tol, what=f"{name} width {n}")
            if name in FUSED_TERMS:
                terms.append(oracles.exact(fname, *args).astype(np.float64))
        exact = np.sum(terms, axis=0)
        scale = np.sum(np.abs(terms), axis=0)  # 7 terms within 1.4 ulp, 6 roundings of 0.5 ulp
        for n in WIDTHS:
            y = got[f"fused|{np.dtype(dtype).name}|{n}"]
            assert np.all(np.abs(y - exact[:n]) <= 12 * np.spacing(scale[:n].astype(dtype)))


_BROKEN_AFTER_OPTIMIZATION = """
from graphc.backend.llvm import jit
IR = '''
define internal double @w(double %a, double %b) noinline nounwind memory(none) {
  %r = fadd double %a, %b
  ret double %r
}
define internal <4 x double> @w_v4(<4 x double> %a, <4 x double> %b) noinline nounwind {
  %r = fadd <4 x double> %a, %b
  ret <4 x double> %r
}
@llvm.compiler.used = appending global [1 x ptr] [ptr @w_v4], section "llvm.metadata"
define void @graphc_main(ptr %p) nounwind {
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%j, %loop]
  %q = getelementptr double, ptr %p, i64 %i
  %x = load double, ptr %q
  %y = call double @w(double %x, double 2.0) #0
  store double %y, ptr %q
  %j = add i64 %i, 1
  %c = icmp ult i64 %j, 64
  br i1 %c, label %loop, label %exit
exit:
  ret void
}
attributes #0 = { "vector-function-abi-variant"="_ZGV_LLVM_N4vv_w(w_v4)" }
'''
try:
    jit.compile_ir(IR, "hand")
except jit.LLVMCompileError as e:
    print("raised:", str(e).splitlines()[0])
"""


def test_module_broken_by_the_optimizer_raises_instead_of_aborting():
    """A valid module the optimizer breaks (it drops the constant argument of an internal function
    whose call sites carry a two-argument vector variant): verified before code generation, it is
    an LLVMCompileError (a GraphcError), not an abort of the process."""
    run = _child(textwrap.dedent(_BROKEN_AFTER_OPTIMIZATION))
    assert run.returncode == 0, f"exit {run.returncode}:\n{run.stderr[-2000:]}"
    assert "raised: LLVM rejected module 'hand' after optimization" in run.stdout


# - threads and chunk-by-chunk execution with constants and 0-d operands -----------------------------
def _check_against_reference(fun, *args, **tuning):
    """Compiled with the default tuning changed by ``tuning``; returns the module text."""
    got, lowered = jit_tuned(fun, args, **tuning)
    want = evaluate(gc.function(fun).concrete(*args).graph, [np.asarray(a) for a in args])
    eps = np.finfo(args[0].dtype).eps
    for a, w in zip(got, want, strict=True):  # sums of terms: error relative to the largest
        np.testing.assert_allclose(a, w, rtol=16 * eps, atol=16 * eps * np.max(np.abs(w)))
    return lowered.ir


@pytest.mark.parametrize("dtype", F)
def test_threaded_kernel_with_0d_and_constant_operands(dtype, monkeypatch):
    """Outputs: the kernel's result twice, an input, a 0-d input, a constant and a view."""
    monkeypatch.setattr(config, "threads", 2)

    def flat(x, s):
        c = gnp.exp(-x * x) * s + gnp.arctan2(x, 2.0) + 2.0**x
        return c, x, s, c, 3.0, c.reshape(-1)

    x = np.random.default_rng(2).standard_normal((1 << 17) + 13).astype(dtype)
    assert "gc_par_run" in _check_against_reference(flat, x, dtype(0.75))


@pytest.mark.parametrize("dtype", F)
def test_blocked_program_with_constant_operands(dtype):
    """Captured arrays and scalar literals inside blocked kernels; with a 0-d input the program
    is not blocked (``blocking.candidate``: one element count) but still right."""
    w = np.random.default_rng(4).standard_normal(4099).astype(dtype)

    def chain(x, s):
        for _ in range(12):
            x = x + 0.01 * gnp.sin(x) * x * w * s + 0.5
        return gnp.sum(x)

    x = np.random.default_rng(3).standard_normal(4099).astype(dtype)
    ir = _check_against_reference(gc.grad(lambda x: chain(x, 0.75)), x, block_min_workspace=0)
    assert ".b(ptr %args" in ir  # ran chunk by chunk
    _check_against_reference(gc.grad(chain), x, dtype(0.75), block_min_workspace=0)


# - internal failures name the node and the user's line ------------------------------------------
def _user_program(x):
    return gnp.exp(x) * 2.0


USER_LINE = f"{os.path.basename(__file__)}:{inspect.getsourcelines(_user_program)[1] + 1}"


def _assert_internal(excinfo, prim):
    msg = str(excinfo.value)
    assert isinstance(excinfo.value, gc.GraphcError)
    assert "internal error" in msg and USER_LINE in msg, msg
    assert f"= {prim} %0" in msg, msg  # the node's text


def test_failing_lowering_rule_names_the_node(monkeypatch):
    def broken(*_):
        raise KeyError("boom")

    monkeypatch.setitem(region.RULES, ew.exp, broken)
    with pytest.raises(gc.GraphcError) as info:
        gc.function(_user_program)(np.ones(3))
    _assert_internal(info, "exp")
    assert "KeyError" in str(info.value)


def test_module_llvm_rejects_names_the_node(monkeypatch):
    monkeypatch.setitem(scalar.SCALAR, ew.exp, lambda cx, node, args: cx.f.op("bogus"))
    with pytest.raises(gc.GraphcError) as info:
        gc.function(_user_program)(np.ones(5))
    assert "compiling fused with LLVM" in str(info.value)
    _assert_internal(info, "fused")


def test_failing_pass_names_the_node(monkeypatch):
    def broken(graph, options):
        for node in graph.nodes:
            if node.prim is ew.exp:
                node.no_such_attribute  # noqa: B018 (the injected bug)
        return graph

    monkeypatch.setattr(manager, "PIPELINE", (*manager.PIPELINE, ("broken", broken)))
    with pytest.raises(gc.GraphcError) as info:
        gc.function(_user_program)(np.ones(7))
    _assert_internal(info, "exp")
    assert "pass broken" in str(info.value) and "AttributeError" in str(info.value)


def test_failing_fusion_names_the_node(monkeypatch):
    from graphc.backend.llvm import fusion

    def broken(node):
        if node.prim is ew.exp:
            raise AssertionError("injected")
        return "map"

    monkeypatch.setattr(fusion, "_role", broken)
    with pytest.raises(gc.GraphcError) as info:
        gc.function(_user_program)(np.ones(9))
    _assert_internal(info, "exp")


def test_reference_evaluator_failure_is_an_internal_error_naming_the_node(monkeypatch):
    """A primitive's NumPy evaluation that fails inside graphc surfaces as an InternalError with
    the node's text and the user's line, like the LLVM backend's."""
    from graphc.errors import InternalError
    from graphc.ops import elementwise as ew

    def broken(*args, **attrs):
        raise KeyError("boom")

    monkeypatch.setattr(ew.sin, "impl", broken)
    f = gc.function(lambda x: np.sin(x) + 1.0, backend="reference")  # @ref-line
    with pytest.raises(InternalError) as info:
        f(np.ones(3))
    msg = str(info.value)
    line = next(i for i, t in enumerate(open(__file__), 1) if "# @ref-line" in t)
    assert msg.startswith(f"test_issue8_backend.py:{line}: internal error in evaluating sin")
    assert "KeyError: 'boom'" in msg and "= sin %" in msg
