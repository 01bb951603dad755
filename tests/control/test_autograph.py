"""AutoGraph (``autograph=True``): Python control flow on traced values becomes ``cond`` /
``while_loop``, on Python values it stays Python; every result is compiled and compared with a
plain NumPy run of the same function."""

import inspect
import os
import sys
import traceback

import numpy as np
import pytest

import graphc as gc
import graphc.control
from graphc.autograph import convert

BACKENDS = ("reference", "llvm")


def _line(fun, text):
    """The line number of the first line of ``fun``'s source holding ``text``."""
    lines, first = inspect.getsourcelines(fun)
    return first + next(i for i, s in enumerate(lines) if text in s)


def _graph_text(fun, *args, **kw):
    return str(gc.make_graph(fun, **kw)(*args))


def _check(fun, *args, backend="llvm", **kw):
    got = gc.function(fun, backend=backend, **kw)(*args)
    np.testing.assert_allclose(got, fun(*args), rtol=1e-6)
    return got


# --- if ------------------------------------------------------------------------------------------
def _elif(x):
    if x.sum() > 1:
        y = x * 3.0
    elif x.sum() > 0:
        y = x + 10.0
    else:
        y = -x
    return y * 2.0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("v", [2.0, 0.2, -1.0])
def test_if_elif_else_traced(backend, v):
    _check(_elif, np.full(3, v), backend=backend)
    assert _graph_text(_elif, np.full(3, v)).count("= cond ") == 2


def _static_if(x, flag):
    if flag:
        y = x * 3.0
    elif flag is None:
        y = x
    else:
        y = x - 1.0
    return y


@pytest.mark.parametrize("flag", [True, False, None])
def test_if_on_python_value_makes_no_cond(flag):
    x = np.arange(3.0)
    _check(_static_if, x, flag, static_argnums=1)
    assert "cond" not in _graph_text(_static_if, x, flag, static_argnums=1)


def _nested(x, y):
    if x > 0:
        if y > 0:
            z = x * y
        else:
            z = x - y
        w = z + 1.0
    else:
        w = x
        if y > x:
            w = w * 2.0
    return w


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (1.0, -2.0), (-1.0, 2.0), (-1.0, -2.0)])
def test_nested_ifs(x, y):
    _check(_nested, np.float64(x), np.float64(y))


def _one_branch(x):
    if x > 0:
        t = x * 2.0  # assigned in one branch only
    return t + 1.0


def test_variable_defined_in_one_branch_names_it_and_the_line():
    with pytest.raises(gc.UndefinedVariableError) as info:
        gc.function(_one_branch)(np.float64(1.0))
    msg = str(info.value)
    assert "'t'" in msg and f"test_autograph.py:{_line(_one_branch, 'if x > 0')}" in msg, msg
    assert isinstance(info.value, NameError)


def _temporary(x):
    if x > 0:
        t = x * 2.0  # a branch temporary, never used afterwards: no error
        y = t
    else:
        y = -x
    return y


@pytest.mark.parametrize("v", [3.0, -3.0])
def test_branch_temporary_is_fine(v):
    _check(_temporary, np.float64(v))


def _helper(x):
    if x.sum() > 0:
        return np.sin(x)
    return x * x


def _calls_helper(x):
    return _helper(x * 2.0) + 1.0


@pytest.mark.parametrize("v", [0.5, -0.5])
def test_helper_function_is_converted(v):
    _check(_calls_helper, np.full(2, v))
    assert "= cond " in _graph_text(_calls_helper, np.full(2, v))


def _early_return(x):
    if x > 1.0:
        return x * 10.0
    y = x + 1.0
    if y > 0.5:
        return y
    return -y


@pytest.mark.parametrize("v", [2.0, 0.0, -3.0])
def test_early_returns(v):
    _check(_early_return, np.float64(v))


def test_return_in_one_branch_only_is_a_structure_error():
    def f(x):
        if x > 0:
            return x
    with pytest.raises(gc.GraphcError, match="structure"):
        gc.function(f)(np.float64(1.0))


# --- expressions ---------------------------------------------------------------------------------
def _logic(x, y):
    a = (x > 0) and (y > 0)
    b = (x > 0) or not (y > 0)
    c = x if a else y
    return np.where(b, c, -c)


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (1.0, -2.0), (-1.0, 2.0), (-1.0, -2.0)])
def test_and_or_not_ternary_traced(x, y):
    _check(_logic, np.float64(x), np.float64(y))


def _python_logic(x, n):
    a = n and n - 1  # Python semantics: the value, not a bool
    b = n or 7
    return x * (a + b) if not n or n > 2 else x


@pytest.mark.parametrize("n", [0, 1, 3])
def test_and_or_not_ternary_on_python_values(n):
    _check(_python_logic, np.float64(2.0), n, static_argnums=1)
    assert "select" not in _graph_text(_python_logic, np.float64(2.0), n, static_argnums=1)


def test_short_circuit_is_kept():
    calls = []

    def side(v):
        calls.append(v)
        return v

    def f(x):
        return x * (side(0) and side(1)) + (side(2) or side(3))

    _check(f, np.float64(1.0), backend="reference")
    assert calls == [0, 2, 0, 2]  # once in the trace, once in the plain run


# --- loops ---------------------------------------------------------------------------------------
def _unrolled(x):
    s = x
    for i in range(3):
        s = s * 2.0 + i
    return s


def test_for_range_is_unrolled():
    _check(_unrolled, np.arange(3.0))
    text = _graph_text(_unrolled, np.arange(3.0))
    assert "while" not in text and text.count("mul") == 3


def _jumps(x):
    s = x * 0.0
    for i in range(10):
        if i % 2 == 1:
            continue
        if i > 6:
            break
        s = s + i * x
    k = 0
    while True:
        k += 1
        if k >= 3:
            break
    for v in [1.0, 2.0, 3.0, 4.0]:
        if v == 2.0:
            continue
        if v > 3.0:
            break
        s = s + v
    else:
        s = s * 100.0
    return s + k


def test_break_and_continue_in_python_loops():
    got = _check(_jumps, np.arange(3.0))
    np.testing.assert_allclose(got, np.arange(3.0) * 12.0 + 4.0 + 3.0)


def _while_else(x, n):
    i = 0
    while i < n:
        i += 1
    else:
        x = x + 1.0
    return x * i


def test_python_while_else():
    _check(_while_else, np.float64(2.0), 4, static_argnums=1)


# --- errors and tracebacks -----------------------------------------------------------------------
def _raises(x):
    if x > 0:
        raise ValueError("boom")  # raised inside converted code
    return x


def test_traceback_has_the_users_file_and_line():
    with pytest.raises(ValueError, match="boom") as info:
        gc.function(_raises)(np.float64(1.0))
    frames = traceback.extract_tb(info.tb)
    line = _line(_raises, 'raise ValueError("boom")')
    assert any(f.filename == __file__ and f.lineno == line for f in frames), frames


def test_source_not_found_names_the_function():
    ns = {}
    exec("def no_source(x):\n    if x > 0:\n        return x\n    return -x\n", ns)
    with pytest.raises(gc.TracerBoolError, match="no_source: its source code was not found"):
        gc.function(ns["no_source"])(np.float64(1.0))


def test_source_not_found_without_control_flow_runs_unchanged():
    ns = {}
    exec("def plain(x):\n    return x * 2.0\n", ns)
    np.testing.assert_allclose(gc.function(ns["plain"])(np.float64(3.0)), 6.0)


def test_autograph_false_still_raises():
    with pytest.raises(gc.TracerBoolError, match="gc.while_loop") as info:
        gc.function(_elif, autograph=False)(np.ones(3))
    assert f"test_autograph.py:{_line(_elif, 'if x.sum() > 1')}" in str(info.value)


def test_traced_if_in_unconvertible_position_is_a_clear_error():
    def f(x):
        with np.errstate():
            if x > 0:
                return x
        return -x

    with pytest.raises(gc.GraphcError, match="autograph cannot convert this if") as info:
        gc.function(f)(np.float64(1.0))
    assert f"test_autograph.py:{_line(f, 'if x > 0')}" in str(info.value)


def test_conversion_is_cached_and_sees_closures():
    scale = 2.0

    def f(x):
        if x > 0:
            return x * scale
        return x

    assert convert(f) is convert(f)
    assert gc.function(f)(np.float64(3.0)) == 6.0
    scale = 5.0
    assert gc.function(f)(np.float64(3.0)) == 15.0


# --- derivatives ---------------------------------------------------------------------------------
def _piecewise(x):
    if x > 0:
        y = x * x * x
    else:
        y = np.sin(x)
    return y


@pytest.mark.parametrize("v, want", [(2.0, 12.0), (-1.0, np.cos(-1.0))])
def test_grad_of_traced_if_is_the_branch_derivative(v, want):
    np.testing.assert_allclose(gc.grad(_piecewise)(np.float64(v)), want, rtol=1e-12)
    value, g = gc.value_and_grad(_piecewise)(np.float64(v))
    np.testing.assert_allclose((value, g), (_piecewise(v), want), rtol=1e-12)


# --- while loops ---------------------------------------------------------------------------------
def test_traced_range_bound_is_a_while_loop():
    def f(x, n):
        s = x * 0.0
        for i in range(n):
            s = s + x * i
        return s

    n = np.int64(5)
    np.testing.assert_allclose(gc.function(f)(np.float64(2.0), n), 20.0)


# --- what the converted loops carry and refuse -----------------------------------------------------
@pytest.mark.parametrize("backend", ["reference", "llvm"])
def test_loop_carries_the_assigned_variables(backend):
    def f(x, y):
        k = 0
        while x.sum() < 10.0:
            x = x * 2.0
            k = k + 1
        return x + y + k

    x = np.ones(2)
    np.testing.assert_allclose(gc.function(f, backend=backend)(x, 1.0), f(x, 1.0))
    (loop,) = [n for n in gc.make_graph(f)(x, 1.0).nodes if n.prim.name == "while_loop"]
    assert len(loop.outputs) == 2  # x and k are carried; y is only read


def test_variable_assigned_only_inside_a_traced_loop():
    def f(x):
        while x.sum() < 10.0:
            t = x * 2.0
            x = t
        return t

    with pytest.raises(gc.UndefinedVariableError, match="'t'.*assigned only inside"):
        gc.function(f, backend="reference")(np.ones(2))


def test_list_grown_in_traced_loop_is_refused():
    def f(x):
        out = []
        while x.sum() < 10.0:
            x = x * 2.0
            out.append(x)
        return x

    with pytest.raises(gc.GraphcError, match="list 'out' changes length") as info:
        gc.function(f, backend="reference")(np.ones(2))
    assert f"test_autograph.py:{_line(f, 'while x.sum()')}" in str(info.value)


@pytest.mark.parametrize("backend", ["reference", "llvm"])
@pytest.mark.parametrize("n", [0, 2, 5])
def test_traced_range_with_break_and_continue(backend, n):
    def f(x, n):
        s = x * 0.0
        for i in range(n):
            if s.sum() > 2.0:
                break
            if i == 1:
                continue
            s = s + x * i
        return s

    got = gc.function(f, backend=backend)(np.ones(2), np.int64(n))
    np.testing.assert_allclose(got, f(np.ones(2), n))


# --- what gets converted -------------------------------------------------------------------------
@gc.function
def _decorated(x):
    if x > 0:
        return x * 2.0
    return x


def test_decorated_function_is_converted():
    assert _decorated(np.float64(3.0)) == 6.0 and _decorated(np.float64(-3.0)) == -3.0


@pytest.mark.parametrize("v, want", [(2.0, 24.0), (-1.0, 2.0 * np.cos(-1.0))])
def test_grad_of_lambda_calling_a_converted_function(v, want):
    np.testing.assert_allclose(gc.grad(lambda x: _piecewise(x) * 2.0)(np.float64(v)), want)


def _fact(x, n):
    if n <= 1:
        return x
    return x * _fact(x, n - 1)


def test_recursion_on_python_values():
    _check(_fact, np.float64(1.5), 4, static_argnums=1)


def test_walrus_and_python_while_loop():
    def f(x, n):
        items = list(range(n))
        total = x * 0.0
        while (k := len(items)) > 0:
            total = total + items.pop() * x
        return total + k

    _check(f, np.float64(2.0), 4, static_argnums=1)


@pytest.mark.parametrize("v", [0.5, 3.0])
def test_traced_break_in_a_python_for_loop(v):
    def f(x):
        s = x * 0.0
        for w in [1.0, 2.0, 3.0]:
            if s > 2.0:
                break
            s = s + w * x
        return s

    _check(f, np.float64(v))


def test_keyword_argument_named_f():
    def g(x, f=1.0):
        return x * f

    def h(x):
        return g(x, f=3.0)

    _check(h, np.float64(2.0))


def test_positional_only_keyword_only_and_defaults():
    def f(x, /, y=2.0, *, z=3.0):
        if x > 0:
            return x * y + z
        return x

    _check(f, np.float64(1.0))
    _check(lambda x: f(x, 4.0, z=1.0), np.float64(1.0))


# --- the rewrites keep Python's semantics on Python values ---------------------------------------
def _p_loops(n, m):
    out = []
    i = 0
    while i < n:
        i += 1
        if i == m:
            continue
        for j in range(i):
            if j > m:
                break
            if (i + j) % 3 == 0:
                continue
            out.append((i, j))
        else:
            out.append("done")
        if len(out) > 12:
            break
    else:
        out.append("exhausted")
    return out, i


def _p_returns(n, m):
    if n > m:
        if n > 2 * m:
            return "big"
        k = n - m
    elif n == m:
        return "equal"
    else:
        k = m - n
    for t in range(k):
        if t * t > n:
            return t
    total = 0
    for t in [1, 2, 3]:
        total += t if t != m else -t
    return k, total, (n and m), (n or m), not n


@pytest.mark.parametrize("fun", [_p_loops, _p_returns])
def test_python_semantics_are_kept(fun):
    converted = convert(fun)
    assert converted is not fun
    for n in range(7):
        for m in range(5):
            assert converted(n, m) == fun(n, m), (n, m)


def test_unassigned_variable_raises_a_name_error_when_used():
    def f(n):
        if n > 0:
            z = n
        return z + 1

    assert convert(f)(1) == 2
    with pytest.raises(NameError, match="'z'"):
        convert(f)(0)


def test_nested_def_is_converted_when_called():
    def outer(x):
        def inner(y):
            if y > 0:
                return y * 3.0
            return -y
        if x > 10.0:
            x = x - 10.0
        return inner(x)

    for v in (12.0, 2.0, -2.0):
        _check(outer, np.float64(v))


@pytest.mark.parametrize("fun", [  # one lambda a line: Python 3.10 cannot tell two on one apart
    lambda x: x and x,
    lambda x: not x,
    lambda x: 1.0 if x else 0.0,
])
def test_truth_value_of_a_traced_array_is_ambiguous(fun):
    with pytest.raises(gc.ShapeError, match="ambiguous"):
        gc.function(fun)(np.ones(3, dtype=bool))


@pytest.mark.parametrize("v, want", [(2.0, 12.0), (-1.0, np.cos(-1.0))])
def test_jvp_vjp_and_jacobian_convert(v, want):
    x = np.float64(v)
    _, tangent = gc.jvp(_piecewise, (x,), (np.float64(1.0),))
    _, vjp_fn = gc.vjp(_piecewise, x)
    np.testing.assert_allclose((tangent, vjp_fn(np.float64(1.0))[0], gc.jacobian(_piecewise)(x)),
                               (want, want, want), rtol=1e-12)


def test_gc_function_called_in_a_trace_converts():
    inner = gc.function(_piecewise)

    def outer(x):
        return inner(x) + 1.0

    for v in (2.0, -1.0):
        _check(outer, np.float64(v))


@pytest.mark.skipif(not hasattr(_elif.__code__, "co_positions"), reason="columns: Python 3.11+")
def test_lambdas_on_one_line_are_told_apart():
    funs = [lambda x: x * 2.0 if x > 0 else x, lambda x: -x if x > 0 else x * 3.0]
    assert [float(gc.function(f)(np.float64(2.0))) for f in funs] == [4.0, -2.0]
    assert [float(gc.function(f)(np.float64(-1.0))) for f in funs] == [-1.0, -3.0]


@pytest.mark.parametrize("backend", ["reference", "llvm"])
def test_while_on_a_traced_number_tests_it_against_zero(backend):
    def f(x, n):
        while n:
            x = x * 2.0
            n = n - 1
        return x

    assert gc.function(f, backend=backend)(np.float64(1.0), np.int64(3)) == 8.0
    (loop,) = [n for n in gc.make_graph(f)(1.0, np.int64(3)).nodes if n.prim.name == "while_loop"]
    assert str(loop.attrs["cond_graph"].out_types[0]) == "bool[]"  # n != 0


def test_traced_while_holding_a_return_is_a_clear_error():
    def f(x):
        while x > 0:
            if x > 5.0:
                return x
            x = x - 1.0
        return x

    with pytest.raises(gc.GraphcError, match="cannot convert this while loop") as info:
        gc.function(f)(np.float64(3.0))
    assert f"test_autograph.py:{_line(f, 'while x > 0')}" in str(info.value)
    assert convert(f)(7.0) == 7.0 and convert(f)(3.5) == -0.5  # Python values: plain Python


def test_reloaded_module_is_converted_from_its_new_source(tmp_path, monkeypatch):
    import importlib

    path = tmp_path / "ag_reloaded.py"
    path.write_text("def f(x):\n    if x > 0:\n        return x * 2.0\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("ag_reloaded")
    assert gc.function(module.f)(np.float64(1.0)) == 2.0
    path.write_text("# moved down a line\ndef f(x):\n    if x > 0:\n        return x * 3.0\n"
                    "    return x\n")
    module = importlib.reload(module)
    assert gc.function(module.f)(np.float64(1.0)) == 3.0


def test_del_in_a_branch():
    def f(x, flag):
        tmp = x * 2.0
        y = tmp + 1.0
        if flag:
            del tmp  # unbound afterwards, and not used
        return y

    _check(f, np.float64(3.0), True, static_argnums=1)
    _check(f, np.float64(3.0), False, static_argnums=1)


def test_a_file_edited_after_import_never_converts_other_code(tmp_path, monkeypatch):
    """The file changed since the module was imported (its bytecode cache no longer matches the
    source): the node now at a function's line may be other code, so nothing of it is converted
    (the functions run as defined) instead of silently running that code."""
    src = tmp_path / "edited_mod.py"
    src.write_text("import numpy as np\n\n\ndef f(v):\n    return np.sort(v * v)\n\n\n"
                   "def g(v):\n    return v * 3.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # the cache file records the source
    import importlib

    mod = importlib.import_module("edited_mod")
    assert os.path.exists(mod.__cached__)
    src.write_text("import numpy as np\n\n\ndef f(v):\n    return v * 3.0\n\n\n"
                   "def g(v):\n    return np.sort(v * v)\n")  # f's line now holds other code
    later = os.stat(src).st_mtime + 5  # an edit made in the import's second would look unchanged
    os.utime(src, (later, later))
    x = np.array([2.0, -1.0, 0.5])
    for fun in (mod.f, mod.g):
        np.testing.assert_allclose(gc.function(fun)(x), fun(x))
        np.testing.assert_allclose(gc.jvp(fun, (x,), (np.ones(3),))[0], fun(x))


_LAYOUTS = '''\
import graphc as gc


def commented(x):
    y = x * 2.0
# a comment at the left margin inside the body
    if y > 0:
        return y
    return y - 1.0


def deco(f=None):
    return deco if f is None else f


@deco
@deco(
)
def decorated(x):
    if x > 0:
        return x + 1.0
    return x - 1.0


def left_string(x):
    s = """
text at the left margin"""
    if x > 0:
        return x * 3.0
    return x


class Holder:
    def method(self, x):
        if x > 0:
            return x * 5.0
        return x


pair = (1,
        lambda x: x * 7.0 if x > 0 else x)
'''


def test_functions_found_however_their_lines_are_laid_out(tmp_path, monkeypatch):
    """The function's own lines are parsed alone when they parse alone (a comment at the left
    margin inside the body does not end it; decorators spanning lines belong to it); a string
    reaching the left margin, or a lambda inside a longer statement, cuts the lines short, and
    then the whole file is parsed: every one is converted and computes its branches."""
    (tmp_path / "ag_layouts.py").write_text(_LAYOUTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    mod = importlib.import_module("ag_layouts")
    cases = [(mod.commented, 2.0, -3.0), (mod.decorated, 2.0, -2.0), (mod.left_string, 3.0, -1.0),
             (mod.Holder().method, 5.0, -1.0), (mod.pair[1], 7.0, -1.0)]
    for fun, pos, neg in cases:
        f = gc.function(fun)
        assert f(np.float64(1.0)) == pos and f(np.float64(-1.0)) == neg, fun
        text = _graph_text(fun, np.float64(1.0))
        assert " cond" in text or " select" in text  # a ternary converts to select


def test_source_lines_shorter_than_the_code_give_no_source():
    """linecache holding other, shorter lines than those the code was compiled from (a
    generated file rewritten): no source found, so the clear TracerBoolError, not an IndexError."""
    import linecache

    src = "\n\n\n\ndef f(x):\n    if x > 0:\n        return x * 2.0\n    return x\n"
    ns: dict = {}
    exec(compile(src, "<ag-short>", "exec"), ns)
    linecache.cache["<ag-short>"] = (1, None, ["x = 1\n"], "<ag-short>")
    try:
        with pytest.raises(gc.TracerBoolError):
            gc.function(ns["f"])(np.float64(2.0))
    finally:
        linecache.cache.pop("<ag-short>", None)
