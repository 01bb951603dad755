"""The text form reads back (``graphc.ir.parse``): every graph prints the same after a round trip
(traced, differentiated, optimized and fused graphs of the examples, control flow, special
functions, linalg, random fuzz programs, every attribute kind), the parsed graph verifies,
evaluates to the original's outputs and compiles; malformed text is a ParseError naming the
line."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc as gc
import graphc.scipy.special as gsp
from graphc.backend.llvm import PASSES
from graphc.backend.llvm import compile as llvm_compile
from graphc.core import Primitive, evaluate
from graphc.errors import GraphcError
from graphc.ir import Builder, Graph, Literal, ParseError, SourceLoc, TensorType, parse, verify
from graphc.ir.printer import format_graph
from graphc.ops import REGISTRY
from graphc.passes.manager import prepare
from tests.fuzz.generate import programs, random_program

_ROOT = pathlib.Path(__file__).parents[2]
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def _same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)  # NaNs equal NaNs


def round_trip(graph: Graph, args=None) -> Graph:
    """Parse ``graph``'s text: it prints the same, verifies and (given ``args``) evaluates alike."""
    text = format_graph(graph)
    parsed = parse(text)
    assert format_graph(parsed) == text
    verify(parsed)
    if args is not None:
        _same(evaluate(parsed, args), evaluate(graph, args))
    return parsed


def every_stage(fun, args, compile_=False):
    """Round trips of ``fun``'s traced graph, its optimized and its fused graph (the fused one
    parsed back and compiled with the LLVM backend when ``compile_``)."""
    traced = gc.make_graph(fun)(*args)
    flat = [np.asarray(a) for a in _leaves(args)]
    round_trip(traced, flat)
    optimized, fused, _ = prepare(traced, PASSES)
    round_trip(optimized, flat)
    parsed = round_trip(fused, flat)
    if compile_:
        want = evaluate(fused, flat)
        for got, w in zip(llvm_compile(parsed)(*flat), want):
            np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def _leaves(args):
    out = []
    for a in args:
        if isinstance(a, dict):
            out += _leaves([a[k] for k in sorted(a)])
        elif isinstance(a, (list, tuple)):
            out += _leaves(a)
        else:
            out.append(a)
    return out


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rng_args(*shapes, dtype=np.float32):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _example_cases():
    ex = _ROOT / "examples"
    loss, mlp, conv = _load(ex / "loss.py"), _load(ex / "mlp.py"), _load(ex / "conv2d.py")
    rnn, gp, d2l = _load(ex / "char_rnn.py"), _load(ex / "gaussian_process.py"), _load(
        ex / "d2l_control_flow.py")
    vocab, chars, targets = rnn.data(seq=3)
    x, y = gp.data(n=6)
    rng = np.random.default_rng(1)
    return {
        "loss": (loss.loss, _rng_args((2, 3), (2, 3))),
        "mlp": (mlp.mlp_loss, _rng_args((4, 8), (8,), (8, 1), (1,), (16, 4), (16, 1))),
        "conv2d": (conv.loss, [rng.normal(size=(2, 3, 3, 3)), rng.normal(size=2),
                               rng.normal(size=(3, 4, 4)), rng.normal(size=(2, 4, 4))]),
        "char_rnn": (rnn.nll, [rnn.init(vocab, hidden=4, embed=3), chars[:2], targets[:2]]),
        "gaussian_process": (gp.neg_log_marginal_likelihood, [np.array([0.0, 0.0, -1.0]), x, y]),
        "d2l_control_flow": (d2l.f, [np.float64(0.7)]),
    }


CASES = _example_cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_examples_their_gradients_optimized_and_fused(name):
    fun, args = CASES[name]
    every_stage(fun, args, compile_=name in ("mlp", "d2l_control_flow"))
    every_stage(gc.grad(fun), args)
    every_stage(gc.value_and_grad(fun), args, compile_=name == "gaussian_process")


def test_the_demo_loss():
    from graphc.examples import digits

    params = digits.init_params()
    x = np.random.default_rng(0).random((5, 64), dtype=np.float32)
    onehot = np.eye(10, dtype=np.float32)[[0, 3, 1, 9, 2]]
    every_stage(gc.value_and_grad(digits.loss_fn), [params, x, onehot])


def _control(x, n):
    def body(c):
        i, v = c
        return i + 1, v * 1.5 + np.sin(v)

    _, v = gc.while_loop(lambda c: c[0] < n, body, (0, x))
    y = gc.cond(v.sum() > 0, lambda a: a * 2, lambda a: a - 1, v)
    carry, ys = gc.scan(lambda c, xi: (c * xi + 1.0, c * c), x[0], x)
    z = gc.checkpoint(lambda a: np.tanh(a) * a)(y)
    return (y ** 2).sum() + carry + ys.sum() + z.sum()


def _special_and_linalg(x, a):
    k = a @ a.T + 3 * np.eye(a.shape[0], dtype=a.dtype)
    chol = np.linalg.cholesky(k)
    return gsp.erf(x).sum() + gsp.gammaln(x * x + 1).sum() + np.log(np.diag(chol)).sum()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_control_flow_and_its_gradient(dtype):
    x = np.array([0.5, -1.25, 2.0], dtype)
    every_stage(_control, [x, 3], compile_=dtype == np.float64)
    every_stage(gc.value_and_grad(_control), [x, 3])
    every_stage(gc.jacobian(lambda v: _control(v, 2)), [x])


def test_special_functions_and_linalg_and_their_gradients():
    x, a = np.array([0.3, -0.7, 1.1]), np.random.default_rng(2).normal(size=(3, 3))
    every_stage(_special_and_linalg, [x, a], compile_=True)
    every_stage(gc.value_and_grad(_special_and_linalg, argnums=(0, 1)), [x, a])
    every_stage(gc.hessian(lambda v: _special_and_linalg(v, a)), [x])


def test_a_custom_vjp_call():
    @gc.custom_vjp
    def f(x):
        return np.sin(x)

    f.defvjp(lambda x: (np.sin(x), np.cos(x)), lambda r, g: (g * r,))
    x = np.linspace(-1, 1, 5)
    graph = gc.make_graph(gc.value_and_grad(lambda v: (f(v) * v).sum()))(x)
    assert "custom_vjp_call" in format_graph(graph)
    round_trip(graph, [x])


def test_shared_nested_graphs_come_back_shared():
    """A while_loop's gradient holds its loop's graphs: parsed, they are one object again."""
    graph = gc.make_graph(gc.grad(lambda v: _control(v, 2)))(np.ones(3))
    parsed = round_trip(graph, [np.ones(3)])
    loop = next(n for n in parsed.nodes if n.prim.name == "while_loop")
    back = next(n for n in parsed.nodes if n.prim.name == "while_grad")
    assert back.attrs["body_graph"] is loop.attrs["body_graph"]


# --- random programs ------------------------------------------------------------------------------
def _fuzz_round_trip(prog):
    f, xs = prog.build(), prog.inputs()
    every_stage(f, xs)
    every_stage(gc.value_and_grad(lambda *a: f(*a).sum(), argnums=tuple(range(len(xs)))), xs)


@pytest.mark.parametrize("seed", range(4))
def test_seeded_random_programs(seed):
    _fuzz_round_trip(random_program(seed, max_ops=12)[0])


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(programs(max_ops=8))
def test_random_programs_round_trip(prog):
    _fuzz_round_trip(prog)


# --- every attribute kind, constants exactly ------------------------------------------------------
_ANY = Primitive("any_attrs", infer=lambda types, **attrs: [types[0]], impl=lambda x, **attrs: x)
_SINK = Primitive("sink", infer=lambda types, **attrs: [], impl=lambda *a, **attrs: (),
                  multiple_results=True, pure=False)
_PRIMS = {**REGISTRY, "any_attrs": _ANY, "sink": _SINK}


def _one_node(attrs, prim=_ANY, loc=None, name="g"):
    b = Builder(name)
    x = b.add_input(TensorType((2,), F32))
    outs = b.emit(prim, [x], attrs, loc)
    return b.build(list(outs) or [x])


def _text_round_trip(graph):
    text = format_graph(graph)
    parsed = parse(text, _PRIMS)
    assert format_graph(parsed) == text
    return parsed


ATTRS = [
    {"n": 3, "neg": -7, "big": 2**62, "flag": True, "off": False, "none": None},
    {"x": 0.1, "tiny": 5e-324, "huge": -1.7976931348623157e308, "z": -0.0, "i": float("inf"),
     "ni": float("-inf"), "nan": float("nan")},
    {"words": ("erf", "float32", "None", "a b", "it's \"q\"", "#no comment", "", "inf", "f32",
               "x]", "y,", "(", "%3")},
    {"dt": F32, "dts": (np.dtype(np.int32), np.dtype(np.bool_), F64, np.dtype(np.int64))},
    {"nest": ((1,), (), ((2, 3), (True, None)), ("a",)), "empty": ()},
    {"scalars": (np.float32(0.1), np.float64(1 / 3), np.int32(-4), np.int64(5), np.bool_(True))},
    {"lit": Literal(np.array([0.1, -2.5], F32)), "big": Literal(np.arange(20, dtype=np.int32)),
     "b": Literal(np.array([[True], [False]])), "e": Literal(np.zeros((0, 3)))},
]


@pytest.mark.parametrize("attrs", ATTRS, ids=range(len(ATTRS)))
def test_every_attribute_kind_comes_back_with_its_type(attrs):
    parsed = _text_round_trip(_one_node(attrs))
    got = parsed.nodes[0].attrs
    assert set(got) == set(attrs)
    for key, want in attrs.items():
        assert type(got[key]) is type(want)
        if isinstance(want, Literal):
            assert got[key] == want
        elif not (isinstance(want, float) and np.isnan(want)):
            assert repr(got[key]) == repr(want)


def test_graph_attributes_tuples_of_graphs_and_nodes_without_results():
    inner = gc.make_graph(lambda v: v * 2)(np.ones(2, np.float32))
    graph = _one_node({"body": inner, "branches": (inner, inner), "one": (inner,)})
    parsed = _text_round_trip(graph)
    attrs = parsed.nodes[0].attrs
    assert isinstance(attrs["body"], Graph) and len(attrs["branches"]) == 2
    assert isinstance(attrs["one"], tuple) and attrs["one"][0] is attrs["body"]
    _text_round_trip(_one_node({"fmt": "x = {}"}, prim=_SINK))


@pytest.mark.parametrize("loc, phase", [
    (SourceLoc("loss.py", 12), "fwd"), (SourceLoc("loss.py", 12), "bwd"), (None, "jvp"),
    (SourceLoc("my file.py", 3), "bwd"), (SourceLoc("<stdin>", 1), "fwd"),
    (SourceLoc("bwd", 4), "fwd"), (SourceLoc("C:x.py", 5), "jvp"), (SourceLoc("", 0), "fwd"),
])
def test_locations_and_phases(loc, phase):
    graph = _one_node({}, loc=loc)
    graph.nodes[0].phase = phase
    node = _text_round_trip(graph).nodes[0]
    assert node.phase == phase
    assert (node.loc.file, node.loc.line) == (loc.file, loc.line) if loc else node.loc is None


@pytest.mark.parametrize("name", ["loss", "<lambda>", "value_and_grad_f", "a b", "f(x)", ""])
def test_graph_names(name):
    assert _text_round_trip(_one_node({}, name=name)).name == name


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.one_of(st.floats(width=32).map(np.float32), st.floats().map(np.float64)))
def test_constants_print_exactly(value):
    for shape in ((), (3,), (12,)):
        arr = np.full(shape, value, value.dtype)
        if arr.size:
            with np.errstate(over="ignore"):
                arr.flat[0] = np.nextafter(value, value.dtype.type(np.inf))
        graph = gc.make_graph(lambda x: x + arr)(np.zeros((), value.dtype))
        parsed = round_trip(graph)
        lit = next(n for n in parsed.nodes if n.prim.name == "constant").attrs["value"]
        assert lit == Literal(arr)


def test_large_constants_are_base64_and_small_ones_readable():
    big = np.linspace(0, 1, 1000, dtype=np.float32)
    text = format_graph(gc.make_graph(lambda x: x * big + np.float32(0.1))(np.ones(1000, F32)))
    assert "value=f32[1000] base64:" in text and "value=0.1]" in text
    assert str(TensorType((2,), F32)) + " " not in text.split("base64")[0]


def test_a_parsed_graph_compiles_as_gc_function_does():
    """The recipe in ``parse``'s docstring: optimize and fuse a parsed traced graph, compile."""
    fun, args = CASES["mlp"]
    graph = parse(format_graph(gc.make_graph(gc.value_and_grad(fun))(*args)))
    _, ready, _ = prepare(graph, PASSES)
    got = llvm_compile(ready)(*args)
    value, grad = gc.value_and_grad(fun)(*args)
    np.testing.assert_allclose(got[0], value, rtol=1e-5)
    np.testing.assert_allclose(got[1], grad, rtol=1e-4, atol=1e-6)


# --- malformed text -------------------------------------------------------------------------------
_GOOD = """\
graph f(%0: f32[3], %1: i64[]) {
  %2: f32[] = constant[value=2.]                          # f.py:3
  %3: f32[3] = mul %0, %2                                 # bwd f.py:3
  return %3
}"""

MALFORMED = [
    ("", "line 1: expected a 'graph NAME(...) {' line, got the end of the text"),
    ("grph f() {", "line 1: expected 'graph NAME(...) {'"),
    (_GOOD.replace("%1: i64[]", "%1: f16[]"), "line 1: expected a type such as f32[2,3]"),
    (_GOOD.replace("%1: i64[]", "%1 i64[]"), "line 1: expected ':' and the value's type"),
    (_GOOD.rsplit("\n", 1)[0], "line 5: expected '}' closing the graph, got the end of the text"),
    (_GOOD + "\nextra", "line 6: expected the end of the text after the graph, got 'extra'"),
    (_GOOD.replace("mul %0", "mull %0"), "line 3: unknown primitive 'mull'"),
    (_GOOD.replace("mul %0", "mul %9"), "line 3: %9 is used before it is defined"),
    (_GOOD.replace("%3: f32[3] = mul", "%3: f32[2] = mul"), "line 3: mul gives f32[3], but"),
    (_GOOD.replace("%3: f32[3] = mul", "%3: f32[3] mul"), "line 3: expected '=' after the node"),
    (_GOOD.replace("value=2.", "value=[2.,3.]"), "line 2: the constant's elements do not fill"),
    (_GOOD.replace("value=2.", "value=2.5.5"), "line 2: expected ',' and another attribute"),
    (_GOOD.replace("value=2.", "value=f32[] base64:!!"), "line 2: bad base64 data"),
    (_GOOD.replace("value=2.", "value=f32[] base64:AAA"), "line 2: bad base64 data"),
    (_GOOD.replace("value=2.", "value=f64[] 2."), "line 2: the constant's value is a f64[]"),
    (_GOOD.replace("value=2.", "value=True"), "line 2: True in a float32 constant"),
    (_GOOD.replace("[value=2.]", "[value=2., value=3.]"), "line 2: attribute value given twice"),
    (_GOOD.replace("# f.py:3\n", "# f.py:x\n", 1), "line 2: expected a phase and/or a location"),
    (_GOOD.replace("mul %0, %2", "mul[axes=(0,] %0, %2"), "line 3: expected an attribute value"),
    (_GOOD.replace("mul %0, %2", "mul[fn=bool32x %0, %2"), "line 3: expected ',' and another"),
    (_GOOD.replace("mul %0, %2", "mul[k=np.float16(1)] %0, %2"), "line 3: unknown NumPy scalar"),
    (_GOOD.replace("mul %0, %2", "mul %0 %2"), "line 3: expected '#' and the node's location"),
    (_GOOD.replace("mul %0, %2", "mul[axes=(0,)] %0, %2"), "line 3: mul rejects its inputs"),
    (_GOOD.replace("mul %0, %2", "cond %0, %2"), "line 3: cond rejects its inputs"),
    (_GOOD.replace("%2: f32[] = constant", "%0: f32[] = constant"), "line 2: %0 is f32[] here"),
    (_GOOD.replace("return %3", "return %3 %2"), "line 4: expected ', ' and another value"),
    (_GOOD.replace("  return %3\n", ""), "line 4: expected 'return' and the graph's outputs"),
]


@pytest.mark.parametrize("text, message", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_text_names_the_line_and_what_was_expected(text, message):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert message in str(info.value)
    assert isinstance(info.value, GraphcError)


def test_nested_graphs_in_the_wrong_order_and_redefinitions():
    text = format_graph(gc.make_graph(lambda v: _control(v, 2))(np.ones(3)))
    swapped = text.replace("true_graph:", "TMP:").replace("false_graph:", "true_graph:")
    with pytest.raises(ParseError, match=r"line \d+: cond rejects its inputs"):
        parse(swapped.replace("TMP:", "extra:"))
    twice = _GOOD.replace("  return %3", "  %3: f32[3] = mul %0, %2\n  return %3")
    with pytest.raises(ParseError, match="line 4: %3 is defined twice in one graph"):
        parse(twice)
    outer_use = _GOOD.replace("mul %0, %2", "fused %0").replace(
        "# bwd f.py:3", "# bwd f.py:3\n    body:\n    graph b(%9: f32[3]) {\n      return %2\n    }")
    with pytest.raises(ParseError, match="line 6: returns %2, which is not defined in this graph"):
        parse(outer_use)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.sampled_from(["drop", "dup", "swap", "cut"]))
def test_damaged_text_is_a_parse_error_never_a_raw_exception(where, how):
    text = format_graph(gc.make_graph(gc.grad(lambda v: _control(v, 2)))(np.ones(3)))
    i = where % len(text)
    damaged = {"drop": text[:i] + text[i + 1:], "dup": text[:i] + text[i] + text[i:],
               "swap": text[:i] + text[i + 1:i + 2] + text[i] + text[i + 2:],
               "cut": text[:i]}[how]
    try:
        parse(damaged)
    except ParseError:
        pass
