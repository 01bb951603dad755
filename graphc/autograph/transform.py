"""AutoGraph's source rewrites, on one function's body (nested functions are converted when they
are called, not here), in three passes:

  1. ``lower_returns``: an ``if`` holding a ``return`` takes the statements after it into each
     branch that can fall through, so it ends the function and its branches return the result.
  2. ``Jumps``: ``break``/``continue`` become flag variables guarding the rest of the body; a
     break flag joins the loop's test.
  3. ``Convert``: ``if``/``while``/``for ... in range`` become local functions of the variables
     they assign, passed to ``ag__`` (``runtime``); ``and``/``or``/``not``/ternaries and calls
     dispatch through it too.

Generated nodes carry the line of the statement they replace, so errors point at the user's line.
"""

from __future__ import annotations

import ast
import copy
import itertools

HELPER = "ag__f"  # generated local functions, never carried as variables
_NO_DESCEND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_LOOPS = (ast.While, ast.For, ast.AsyncFor)
# calls that must stay direct: they read the calling frame
_FRAME_CALLS = {"super", "locals", "globals", "vars", "dir", "eval", "exec"}


def _walk(nodes, stop=_NO_DESCEND):
    """Every node under ``nodes`` (statements), not entering the ``stop`` kinds."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, stop):
            todo.extend(ast.iter_child_nodes(node))


def _contains(nodes, kind, stop=_NO_DESCEND) -> bool:
    return any(isinstance(n, kind) for n in _walk(nodes, stop))


def _jumps(stmts) -> bool:
    """Whether ``stmts`` hold a ``break`` or ``continue`` of the loop they are the body of."""
    return _contains(stmts, (ast.Break, ast.Continue), _NO_DESCEND + _LOOPS)


class _Stores(ast.NodeVisitor):
    """The names a statement list binds, in order, not counting nested scopes' own names."""

    def __init__(self):
        self.names: dict = {}

    def visit_Name(self, node):
        if not isinstance(node.ctx, ast.Load):
            self.names[node.id] = None

    def visit_FunctionDef(self, node):
        self.names[node.name] = None

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda

    def visit_Import(self, node):
        for alias in node.names:
            self.names[(alias.asname or alias.name).split(".")[0]] = None

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node):
        if node.name:
            self.names[node.name] = None
        self.generic_visit(node)


def stored(stmts, exclude=()) -> list:
    visitor = _Stores()
    for s in stmts:
        visitor.visit(s)
    return [n for n in visitor.names if not n.startswith(HELPER) and n not in exclude]


def _loaded(nodes) -> list:
    names = {n.id: None for n in _walk(nodes, ()) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)}
    return [n for n in names if not n.startswith("ag__")]


# --- small AST builders --------------------------------------------------------------------------
def _name(id_, store=False):
    return ast.Name(id=id_, ctx=ast.Store() if store else ast.Load())


def _ag(attr, *args):
    return ast.Call(func=ast.Attribute(value=_name("ag__"), attr=attr, ctx=ast.Load()),
                    args=list(args), keywords=[])


def _const_names(names):
    return ast.Constant(value=tuple(names))


def _ld(names):
    return _ag("ld", ast.Call(func=_name("locals"), args=[], keywords=[]), _const_names(names))


def _assign(names, value):
    if not names:
        return ast.Expr(value=value)
    target = ast.Tuple(elts=[_name(n, store=True) for n in names], ctx=ast.Store())
    return ast.Assign(targets=[target], value=value)


def _set_flag(flag, value: bool):
    return ast.Assign(targets=[_name(flag, store=True)], value=ast.Constant(value=value))


def _at(nodes, where):
    """Give ``nodes`` (and their children without one) the first line of ``where``: a generated
    call spanning the statement would be reported at its last line (3.11 method calls)."""
    for node in nodes:
        for n in ast.walk(node):
            if "lineno" in n._attributes and getattr(n, "lineno", None) is None:
                n.lineno = n.end_lineno = where.lineno
                n.col_offset = n.end_col_offset = where.col_offset
    return nodes


def arguments(params=()):
    """Plain positional parameters ``params``, as an ``ast.arguments``."""
    return ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def function_def(name, args, body):
    """An undecorated ``def name(args): body`` (``type_params`` where Python 3.12+ has them)."""
    extra = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
    return ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None,
                           type_comment=None, **extra)


def _def(name, params, body, decls):
    """A generated local function ``name(*params)`` running ``body``."""
    return function_def(name, arguments(params), decls(body) + body)


def _lambda(expr):
    return ast.Lambda(args=arguments(), body=expr)


def converts_range(node) -> bool:
    """Whether ``node`` is a ``for name in range(...)`` that ``Convert`` turns into ``for_range``
    (one holding a ``return`` stays a Python loop)."""
    it = node.iter
    return (isinstance(node, ast.For) and isinstance(node.target, ast.Name)
            and not _contains(node.body, ast.Return)
            and isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
            and it.func.id == "range" and 1 <= len(it.args) <= 3 and not it.keywords
            and not any(isinstance(a, ast.Starred) for a in it.args))


# --- pass 1: returns -----------------------------------------------------------------------------
def _always_returns(stmts) -> bool:
    return any(isinstance(s, (ast.Return, ast.Raise)) or (
        isinstance(s, ast.If) and s.orelse and _always_returns(s.body)
        and _always_returns(s.orelse)) for s in stmts)


def lower_returns(stmts) -> list:
    """``stmts`` with each ``if`` that holds a ``return`` moved to the end (the statements after
    it copied into its branches that can fall through) and marked ``ag_returns``."""
    out = []
    for k, s in enumerate(stmts):
        out.append(s)
        if isinstance(s, ast.If) and _contains([s], ast.Return):
            rest = stmts[k + 1:]
            s.body = lower_returns(s.body if _always_returns(s.body) else
                                   s.body + copy.deepcopy(rest))
            s.orelse = lower_returns(s.orelse if _always_returns(s.orelse) else s.orelse + rest)
            s.ag_returns = True
            return out
        if isinstance(s, (ast.Return, ast.Raise)):
            return out
    return out


# --- pass 2: break and continue ------------------------------------------------------------------
class Jumps(ast.NodeTransformer):
    """``break``/``continue`` of each loop lowered to flags (see the module docstring)."""

    def __init__(self):
        self._ids = itertools.count()

    def visit_FunctionDef(self, node):
        return node

    visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = visit_FunctionDef

    def visit_While(self, node):
        self.generic_visit(node)
        if not _jumps(node.body):
            return node
        n = next(self._ids)
        brk = f"ag__brk{n}" if _contains(node.body, ast.Break, _NO_DESCEND + _LOOPS) else None
        cont = f"ag__cont{n}" if _contains(node.body, ast.Continue, _NO_DESCEND + _LOOPS) else None
        node.body = ([_set_flag(cont, False)] if cont else []) + _guard(node.body, brk, cont)
        if brk is None:
            return _at([node], node)
        pre = _set_flag(brk, False)
        if isinstance(node, ast.For) and not converts_range(node):
            test = _ag("for_break", _name(brk), ast.Constant(value=bool(node.orelse)))
            stop = ast.If(test=test, body=[ast.Break()], orelse=[])
            stop.ag_keep = True
            node.body.append(stop)
            return _at([pre, node], node)
        not_brk = ast.UnaryOp(op=ast.Not(), operand=_name(brk))
        if isinstance(node, ast.While):
            node.test = ast.BoolOp(op=ast.And(), values=[not_brk, node.test])
        else:
            node.ag_extra = brk
        post = [ast.If(test=not_brk, body=node.orelse, orelse=[])] if node.orelse else []
        node.orelse = []
        return _at([pre, node] + post, node)

    visit_For = visit_While


def _guard(stmts, brk, cont) -> list:
    """``stmts`` with ``break``/``continue`` replaced by setting their flag, and everything after
    a statement that may set one run only if none is set."""
    out = []
    for k, s in enumerate(stmts):
        if isinstance(s, (ast.Break, ast.Continue)):
            out.append(_at([_set_flag(brk if isinstance(s, ast.Break) else cont, True)], s)[0])
            return out
        jumps = _jumps([s])
        if jumps:
            for field in ("body", "orelse", "finalbody"):
                if isinstance(getattr(s, field, None), list):
                    setattr(s, field, _guard(getattr(s, field), brk, cont))
            for clause in getattr(s, "handlers", []) + getattr(s, "cases", []):
                clause.body = _guard(clause.body, brk, cont)
        out.append(s)
        rest = _guard(stmts[k + 1:], brk, cont) if jumps else []
        if rest:
            flags = [_name(f) for f in (brk, cont) if f]
            either = flags[0] if len(flags) == 1 else ast.BoolOp(op=ast.Or(), values=flags)
            test = ast.UnaryOp(op=ast.Not(), operand=either)
            out.extend(_at([ast.If(test=test, body=rest, orelse=[])], s))
        if jumps:
            return out
    return out


# --- pass 3: control flow and expressions --------------------------------------------------------
class Convert(ast.NodeTransformer):
    """Statements and expressions rewritten into ``ag__`` calls (see the module docstring);
    ``declared`` maps the function's ``global``/``nonlocal`` names to their statement kind."""

    def __init__(self, declared: dict, first_param: str | None):
        self._ids = itertools.count()
        self._declared = declared
        self._first = first_param

    def _decls(self, body) -> list:
        """The ``global``/``nonlocal`` statements a generated function needs for ``body``."""
        names = stored(body)
        return [kind(names=[n]) for n, kind in self._declared.items() if n in names]

    def _helper(self, name, params, body, result):
        """A branch or loop body as a function of ``params``; with ``result``, it returns their
        values (read with ``ld``: a ``del`` in the body leaves one unbound)."""
        ret = [ast.Return(value=_ld(params))]
        return _def(name, params, body + (ret if result else []), self._decls)

    def visit_FunctionDef(self, node):
        return node  # converted when called (``ag__.call``)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_If(self, node):
        self.generic_visit(node)
        returns = getattr(node, "ag_returns", False)
        if getattr(node, "ag_keep", False):
            return node
        if not returns and _contains(node.body + node.orelse, ast.Return):
            what = "if statement (a return inside a loop, a with or a try)"
            node.test = _at([_ag("py_test", node.test, ast.Constant(value=what))], node.test)[0]
            return node
        n, orelse = next(self._ids), node.orelse or [ast.Pass()]
        names = stored(node.body + node.orelse, self._declared)
        true_fn = self._helper(f"{HELPER}{n}_true", names, node.body, not returns)
        false_fn = self._helper(f"{HELPER}{n}_false", names, orelse, not returns)
        args = [node.test, _name(true_fn.name), _name(false_fn.name), _ld(names)]
        if returns:
            tail = ast.Return(value=_ag("if_ret", *args))
        else:
            in_true, in_false = set(stored(node.body)), set(stored(node.orelse))
            both = ast.Constant(value=tuple(v in in_true and v in in_false for v in names))
            tail = _assign(names, _ag("if_stmt", *args, _const_names(names), both))
        return _at([true_fn, false_fn, tail], node)

    def visit_While(self, node):
        watch = _loaded(node.body + [node.test])
        self.generic_visit(node)
        if _contains(node.body, ast.Return) or _contains([node.test], ast.NamedExpr):
            what = "while loop (it holds a return statement, or its test assigns with :=)"
            node.test = _at([_ag("py_test", node.test, ast.Constant(value=what))], node.test)[0]
            return node
        n = next(self._ids)
        names = stored(node.body, self._declared)
        test_fn = _def(f"{HELPER}{n}_test", names, [ast.Return(value=node.test)], self._decls)
        body_fn = self._helper(f"{HELPER}{n}_body", names, node.body, True)
        watch = [v for v in watch if v not in names]
        call = _ag("while_stmt", _name(test_fn.name), _name(body_fn.name), _ld(names),
                   _const_names(names), _const_names(watch), _ld(watch))
        return _at([test_fn, body_fn, _assign(names, call)], node) + node.orelse

    def visit_For(self, node):
        if not converts_range(node):
            self.generic_visit(node)
            return node
        rng, watch = node.iter.func, _loaded(node.body)
        node.iter = ast.Tuple(elts=node.iter.args, ctx=ast.Load())
        self.generic_visit(node)
        n, target = next(self._ids), node.target.id
        names = [target] + [v for v in stored(node.body, self._declared) if v != target]
        body_fn = self._helper(f"{HELPER}{n}_body", names, node.body, True)
        made = [body_fn]
        extra = ast.Constant(value=None)
        if getattr(node, "ag_extra", None):
            not_brk = _ag("not_", _name(node.ag_extra))
            made.append(_def(f"{HELPER}{n}_extra", names, [ast.Return(value=not_brk)],
                             self._decls))
            extra = _name(made[-1].name)
        watch = [v for v in watch if v not in names]
        call = _ag("for_range", rng, node.iter, _name(body_fn.name), _ld(names),
                   _const_names(names), extra, _const_names(watch), _ld(watch))
        return _at(made + [_assign(names, call)], node) + node.orelse

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        fn = "and_" if isinstance(node.op, ast.And) else "or_"
        out = node.values[-1]
        for value in reversed(node.values[:-1]):
            out = _ag(fn, value, _lambda(out))
        return _at([out], node)[0]

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.Not):
            return node
        return _at([_ag("not_", node.operand)], node)[0]

    def visit_IfExp(self, node):
        self.generic_visit(node)
        out = _ag("ifexp", node.test, _lambda(node.body), _lambda(node.orelse))
        return _at([out], node)[0]

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id == "super" and not node.args and self._first:
            # a generated function has no ``self`` of its own: name the method's explicitly
            node.args = [_name("__class__"), _name(self._first)]
        if (isinstance(func, ast.Name) and func.id in _FRAME_CALLS) or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id == "ag__"
        ):
            return node
        node.args = [func] + node.args
        node.func = ast.Attribute(value=_name("ag__"), attr="call", ctx=ast.Load())
        return _at([node], node)[0]


def convert_body(node) -> None:
    """The three passes over the body of ``node`` (a ``def``), rewritten in place."""
    declared = {n: type(s) for s in _walk(node.body) if isinstance(s, (ast.Global, ast.Nonlocal))
                for n in s.names}
    params = node.args.posonlyargs + node.args.args
    module = ast.Module(body=lower_returns(node.body), type_ignores=[])
    module = Jumps().visit(module)
    node.body = Convert(declared, params[0].arg if params else None).visit(module).body
