"""Primitives that call a nested graph held in one of their attributes (``custom_vjp_call``'s
``fwd``; ``fused``'s ``body``, defined here), and the inliner that replaces such calls by the
graph.

Their shape rule and NumPy evaluation are the nested graph's: the operands must have the graph's
input types, the results have its output types, and the reference evaluator runs it. Keeping both
here means every call-like primitive checks its operands the same way and evaluates the same way.
"""

from __future__ import annotations

from ..core import Primitive, evaluate, register
from ..errors import GraphcError
from ..ir import Builder, Graph
from ..ir import inline as _inline


def _infer(name: str, attr: str):
    def infer(types, **attrs):
        graph = attrs[attr]
        if list(types) != graph.in_types:
            raise GraphcError(
                f"{name}: operand types {list(types)} do not match the {attr} graph's "
                f"{graph.in_types}"
            )
        return graph.out_types

    return infer


def _impl(attr: str):
    def impl(*arrays, **attrs):
        return tuple(evaluate(attrs[attr], arrays))

    return impl


def call_primitive(name: str, attr: str, inline: bool = True, **kwargs) -> Primitive:
    """A primitive ``name`` (not registered) that computes the graph in its attribute ``attr`` on
    its operands, one result per graph output; other attributes are the caller's business.

    With ``inline`` (for ``custom_vjp_call``), ``inline_calls`` replaces its nodes by that graph:
    the node exists only to carry rules, such as a user's custom gradient, through
    differentiation. Without it (``fused``), the node stays: the backend runs it as one unit.
    ``kwargs`` go to ``Primitive`` (``jvp``, ``vjp``, ``after_differentiation``, ...)."""
    extra = dict(kwargs.pop("extra", {}))
    if inline:
        extra["inline_graph"] = attr
    return Primitive(
        name,
        infer=_infer(name, attr),
        impl=_impl(attr),
        multiple_results=True,
        family="call",
        extra=extra,
        **kwargs,
    )


def define_call(name: str, attr: str, inline: bool = True, **kwargs) -> Primitive:
    """``call_primitive``, registered (how graphc's own call-like primitives are made)."""
    return register(call_primitive(name, attr, inline, **kwargs))


#: One fused region: computes its ``body`` graph on its operands. Backend fusion passes (the LLVM
#: backend's ``fusion.fuse``) make them once differentiation is over, so it has no derivative rules,
#: and it is never inlined: the backend runs it as one loop nest.
fused = define_call("fused", "body", inline=False, after_differentiation=True)


def inline_calls(graph: Graph) -> Graph:
    """``graph`` with every node whose primitive names an ``extra["inline_graph"]`` attribute (such
    as ``custom_vjp_call``) replaced by that graph's nodes, recursively; the same graph when there
    is none. For after differentiation: the optimizer and the compiled backends should see plain
    primitives (fusion in particular should see through the call)."""
    if not any(n.prim.extra.get("inline_graph") for n in graph.nodes):
        return graph
    b = Builder(graph.name)
    env = {v: b.add_input(v.type) for v in graph.inputs}
    for node in graph.nodes:
        ins = [env[v] for v in node.inputs]
        key = node.prim.extra.get("inline_graph")
        with b.in_phase(node.phase):
            if key:
                outs = _inline(b, inline_calls(node.attrs[key]), ins)
            else:
                outs = b.emit(node.prim, ins, node.attrs, node.loc)
        env.update(zip(node.outputs, outs, strict=True))
    return b.build([env[v] for v in graph.outputs])
