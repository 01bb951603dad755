"""AutoGraph: ``convert(fun)`` rewrites a Python function's ``if``/``while``/``for``, boolean
operators and calls so that they dispatch at run time (``runtime``): on Python values they run
as Python does, on traced values they become ``gc.cond`` / ``gc.while_loop``.

Design choices:
  - The source is the function's whole file, parsed once (``linecache``, as ``inspect`` reads
    it), so the rewritten code compiles with the original file name and line numbers: tracebacks
    and graphc's error locations point at the user's lines. A lambda is found by its line and
    parameter names, and from Python 3.11 its columns; two alike on one line of 3.10 code count
    as no source.
  - The rewritten function is compiled inside a factory whose parameters are ``ag__`` (the
    runtime) and the function's free variables; only the code object is kept, and the converted
    function is rebuilt with the original's globals (live, not a copy), defaults and its own
    closure cells, so it sees later rebindings of both as the original does.
  - Conversions are cached per code object (the code) and per function object (the function).
  - Generators and coroutines are not converted. A function without source is used unchanged;
    a ``TracerBoolError`` from it says its source could not be found.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import linecache
import os
import types
import weakref

from ..core.locations import GENERATED_FILENAME, _SITE_DIRS, is_user_file, warn_at_user
from ..errors import TracerBoolError
from . import runtime
from .transform import HELPER, arguments, convert_body, function_def

_NOT_CONVERTED = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
_CODES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # code -> converted code | None
_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # function -> converted
_CONVERTED: weakref.WeakSet = weakref.WeakSet()  # codes this module made
_TREES: dict = {}  # file name -> (its lines list, its parse)
_RUNTIME_CELL = types.CellType(runtime)


class _NoSource(Exception):
    pass


_NO_SOURCE, _KEEP = "no source", "keep"  # what _CODES holds for functions it does not convert


def convert(fun):
    """``fun`` with AutoGraph's rewrites (itself when it is not the user's plain Python function
    or is already converted); a bound method has its function converted."""
    if isinstance(fun, types.MethodType):
        converted = convert(fun.__func__)
        return fun if converted is fun.__func__ else types.MethodType(converted, fun.__self__)
    if not isinstance(fun, types.FunctionType) or fun.__code__ in _CONVERTED or not _is_user(fun):
        return fun
    done = _FUNCTIONS.get(fun)
    if done is not None:
        return done
    code = fun.__code__
    if code not in _CODES:
        _CODES[code] = _convert_code(fun)
    new_code = _CODES[code]
    if new_code is _NO_SOURCE:
        return _no_source(fun)  # not cached: the wrapper holds ``fun``, the cache's key
    if new_code is _KEEP:
        return fun
    done = _FUNCTIONS[fun] = _rebuild(fun, new_code)
    return done


def _is_user(fun) -> bool:
    filename = fun.__code__.co_filename
    return (is_user_file(filename) and filename != GENERATED_FILENAME
            and not filename.startswith(_SITE_DIRS))


def _convert_code(fun):
    """The converted code object of ``fun``, or ``_KEEP`` (run it as it is) or ``_NO_SOURCE``."""
    code = fun.__code__
    if code.co_flags & _NOT_CONVERTED:
        return _KEEP
    try:
        node = copy.deepcopy(_find_node(fun))
    except _NoSource:
        return _NO_SOURCE
    if isinstance(node, ast.Lambda):
        node = ast.copy_location(
            function_def("lambda", node.args, [ast.Return(value=node.body)]), node)
    _strip_evaluated(node)
    convert_body(node)
    try:
        new = _compile(node, code)
    except SyntaxError as e:  # a construct the rewrites misplace: run as written, and say so
        warn_at_user(f"{code.co_filename}:{code.co_firstlineno}: autograph could not convert "
                     f"{code.co_name} ({e.msg}); it runs as written, so Python control flow on "
                     "traced values in it raises TracerBoolError (please report this)")
        return _KEEP
    _mark_converted(new)
    return new


def _mark_converted(code) -> None:
    """``code`` and what the rewrites converted inside it (generated branches and loop bodies,
    lambdas) are converted already; a nested ``def`` is not: it is converted when called."""
    _CONVERTED.add(code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and (
            const.co_name.startswith(HELPER) or const.co_name == "<lambda>"
        ):
            _mark_converted(const)


def _strip_evaluated(node) -> None:
    """Drop what a ``def`` evaluates when it runs (decorators, defaults, annotations): the
    original function already holds their values, and the factory must not run them again."""
    node.decorator_list, node.returns = [], None
    args = node.args
    args.defaults = [ast.Constant(value=None) for _ in args.defaults]
    args.kw_defaults = [None if d is None else ast.Constant(value=None) for d in args.kw_defaults]
    for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
        if a is not None:
            a.annotation = None


def _compile(node, code):
    """``node`` compiled inside the factory (see the module docstring); its code object. The
    def is renamed there, so the function's own name still means what it means outside."""
    node.name = "ag__converted"
    params = ["ag__"] + [v for v in code.co_freevars if v != "ag__"]
    factory = function_def("ag__factory", arguments(params),
                           [node, ast.Return(value=ast.Name(id=node.name, ctx=ast.Load()))])
    module = ast.fix_missing_locations(ast.Module(body=[ast.copy_location(factory, node)],
                                                  type_ignores=[]))
    namespace: dict = {}
    exec(compile(module, code.co_filename, "exec", dont_inherit=True), namespace)
    new = namespace["ag__factory"](*([None] * len(params))).__code__
    new = new.replace(co_name=code.co_name)
    return new.replace(co_qualname=code.co_qualname) if hasattr(code, "co_qualname") else new


def _rebuild(fun, code):
    """A function running ``code`` with ``fun``'s globals, defaults, closure cells and names."""
    cells = dict(zip(fun.__code__.co_freevars, fun.__closure__ or ()))
    cells["ag__"] = _RUNTIME_CELL
    new = types.FunctionType(code, fun.__globals__, fun.__name__, fun.__defaults__,
                             tuple(cells[v] for v in code.co_freevars))
    new.__kwdefaults__ = fun.__kwdefaults__
    new.__dict__.update(fun.__dict__)
    for attr in ("__qualname__", "__doc__", "__module__", "__annotations__"):
        setattr(new, attr, getattr(fun, attr))
    return new


def _find_node(fun):
    """The ``def`` or ``lambda`` node of ``fun`` in its file's parse, or ``_NoSource``."""
    code = fun.__code__
    linecache.checkcache(code.co_filename)  # as inspect does: a file edited and reloaded
    lines = linecache.getlines(code.co_filename, fun.__globals__)
    if not lines or _edited_since_import(fun):
        raise _NoSource
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    found = []
    block = _block_tree(lines, code.co_firstlineno)
    if block is not None:
        found = [n for n in _functions_at(block, code.co_firstlineno) if _is_node_of(n, code, params)]
    if not found:
        found = [n for n in _functions_at(_file_tree(code.co_filename, lines), code.co_firstlineno)
                 if _is_node_of(n, code, params)]
    if len(found) > 1:
        found = _by_columns(found, code)
    if len(found) != 1:
        raise _NoSource
    return found[0]


def _block_tree(lines: list, first: int):
    """The parse of the statement at line ``first`` alone (``_block``), with the file's line and
    column numbers (an indented one is parsed under ``if 1:``), or None when it does not parse by
    itself. Why: parsing the whole file was most of a small function's first call in a long
    file."""
    if not 1 <= first <= len(lines):  # lines other than those the code was compiled from
        return None
    text = "".join(_block(lines, first))
    indented = text[:1].isspace()
    try:
        tree = ast.parse("if 1:\n" + text if indented else text)
    except SyntaxError:
        return None
    return ast.increment_lineno(tree, first - 1 - indented)


def _block(lines: list, first: int) -> list:
    """Line ``first`` and the lines after it up to the next one starting a statement as far left
    (a decorated function: through its ``def`` line); comment and blank lines do not end it. A
    string or bracket reaching further left cuts it short, and what is cut short does not parse
    (the caller then parses the whole file). Not ``inspect.getblock``: its tokenizer's first use
    costs ~1.4 ms of a first call."""
    head = lines[first - 1]
    indent = len(head) - len(head.lstrip())
    decorators = head.lstrip().startswith("@")
    out = [head]
    for line in lines[first:]:
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#") and len(line) - len(stripped) <= indent:
            if not decorators:
                break
            decorators = stripped.startswith("@")
            if not decorators and not stripped.startswith(("def ", "async def ")):
                break
        out.append(line)
    return out


def _file_tree(filename: str, lines: list):
    """The parse of the whole file (cached while linecache holds the same lines), or
    ``_NoSource``."""
    cached = _TREES.get(filename)
    if cached is None or cached[0] is not lines:
        try:
            cached = _TREES[filename] = (lines, ast.parse("".join(lines)))
        except SyntaxError:
            raise _NoSource from None
    return cached[1]


def _edited_since_import(fun) -> bool:
    """Whether the module's source changed after it was compiled: its bytecode cache records the
    source's modification time and size (PEP 552's default header), which must still match.
    Modules without a cache file (``__main__``, ``exec``) are not checked."""
    cached, source = fun.__globals__.get("__cached__"), fun.__globals__.get("__file__")
    try:
        with open(cached, "rb") as f:
            head = f.read(16)
        st = os.stat(source)
    except (OSError, TypeError):
        return False
    if len(head) < 16 or int.from_bytes(head[4:8], "little") != 0:  # a hash-based pyc
        return False
    mtime, size = int.from_bytes(head[8:12], "little"), int.from_bytes(head[12:16], "little")
    return (mtime, size) != (int(st.st_mtime) & 0xFFFFFFFF, st.st_size & 0xFFFFFFFF)


def _by_columns(nodes, code) -> list:
    """Of several alike lambdas on one line, the innermost whose span holds every instruction
    of ``code`` (Python 3.11+ records columns; before, none is chosen)."""
    if not hasattr(code, "co_positions"):
        return nodes
    spans = [((a, c), (b, d)) for a, b, c, d in code.co_positions()
             if None not in (a, b, c, d) and (c, d) != (0, 0)]  # (0, 0): the entry point
    inside = [n for n in nodes if all(
        (n.lineno, n.col_offset) <= start and end <= (n.end_lineno, n.end_col_offset)
        for start, end in spans)]
    return sorted(inside, key=lambda n: (n.end_lineno - n.lineno,
                                         n.end_col_offset - n.col_offset))[:1]


def _functions_at(tree, line: int) -> list:
    """The functions and lambdas of a parsed file whose code objects start at ``line`` (a
    decorated function's first decorator). The search descends only into nodes whose lines hold
    ``line`` (and nodes without lines: arguments, comprehensions' parts), so it visits a few
    dozen nodes of a large file instead of all of them (a whole-file walk was most of a small
    function's first call)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        first = getattr(node, "lineno", None)
        if first is not None:
            decorators = getattr(node, "decorator_list", ())
            first = min([first] + [d.lineno for d in decorators])
            if not first <= line <= node.end_lineno:
                continue
            if first == line and isinstance(
                    node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def _is_node_of(node, code, params) -> bool:
    """Whether ``node`` (a function at ``code``'s first line) is ``code``'s: same kind, name and
    parameters, and every global or attribute name the code uses appears in it. The last check
    catches a file edited since the function was defined (its lines moved): converting the node
    now at that line would silently run other code."""
    name = "<lambda>" if isinstance(node, ast.Lambda) else node.name
    a = node.args
    if name != code.co_name or tuple(
            x.arg for x in a.posonlyargs + a.args + a.kwonlyargs) != tuple(params):
        return False
    return set(code.co_names) <= _identifiers(node)


def _identifiers(node) -> set:
    """Every name a node's source spells (and what the compiler adds by itself)."""
    out = {"AssertionError"}
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.alias):
            out.update(n.name.split("."))
            out.add(n.asname or "")
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            out.update(n.names)
        elif isinstance(n, ast.ImportFrom) and n.module:
            out.update(n.module.split("."))
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
    return out


def _no_source(fun):
    """``fun`` unchanged, but a ``TracerBoolError`` from it says why it was not converted."""
    @functools.wraps(fun)
    def unconverted(*args, **kwargs):
        try:
            return fun(*args, **kwargs)
        except TracerBoolError as e:
            if e.args and "source code was not found" not in str(e.args[0]):
                e.args = (f"{e.args[0]} (autograph could not convert {fun.__qualname__}: its "
                          "source code was not found, or its file changed since it was "
                          "defined)",) + e.args[1:]
            raise
    return unconverted
