"""Fusion: chains of elementwise and index-remapping ops (with a trailing reduction) become one
``fused`` node whose ``body`` attribute is the nested graph of the region; a backend runs it as one
loop nest with no intermediate arrays.

A region has a *domain*, the shape its loop runs over: the output shape of its elementwise members,
or the input shape of its one reduction. Rules (each keeps the result correct and the work bounded):
  - **No duplicated work.** Every member is computed once per point of the domain; a member whose value
    is needed outside the region becomes an extra output (stored, not recomputed). An operand that a
    member reads at a *different* index (through broadcast_in_dim, transpose, slice, pad, rev,
    concatenate) must come from outside the region, i.e. is materialized, so an expensive value is never
    recomputed per broadcast element. Only constants and iota are cloned into every region using them.
  - **No cycles.** A node may join region R only if each operand produced outside R was produced before
    R's first member (in the graph's order). Along any dependency between regions the first-member
    positions then strictly increase, so the region graph is acyclic; the fused node is placed at its
    first member's position. ``check_acyclic`` verifies this with networkx in the tests.
  - **Bounded loop bodies.** A region's weight (1 per op, 8 per transcendental, 2 per div/sqrt) stays
    <= ``MAX_WEIGHT`` = 160, keeping LLVM's vectorizer time per loop small (it grows faster than
    linearly with body size) while amortizing the ~10 ms fixed cost per loop.
  - A reduction ends a region: members may not use its result (that needs the finished loop).
``reshape`` and ``stop_gradient`` stay outside regions: at top level they are free views.
"""

from __future__ import annotations

from ..backend.reference import evaluate
from ..errors import GraphcError
from ..ir import Builder, Graph, Node, inline
from ..ops import elementwise as ew
from ..ops import reduce as red
from ..ops import shape as sh
from ..ops.linalg import dot_general
from ..ops.registry import define

MAX_WEIGHT = 160
TRANSCENDENTAL = {ew.exp, ew.expm1, ew.log, ew.log1p, ew.sin, ew.cos, ew.tanh, ew.pow_, ew.atan2}
_MEDIUM = {ew.div, ew.sqrt}
#: Primitives computed per point whose operands are read at a remapped index.
_REMAP = {sh.broadcast_in_dim, sh.transpose, sh.rev, sh.slice_, sh.pad, sh.concatenate}
_LEAVES = {sh.constant, sh.iota}
_REDUCE = {red.reduce_sum, red.reduce_prod, red.reduce_max, red.reduce_min}


def _fused_infer(types, body):
    if list(types) != body.in_types:
        raise GraphcError(f"fused: operand types {types} do not match the body's {body.in_types}")
    return body.out_types


fused = define(
    "fused",
    infer=_fused_infer,
    impl=lambda *arrays, body: tuple(evaluate(body, arrays)),
    multiple_results=True,
)


def _role(node) -> str:
    p = node.prim
    if p in _LEAVES:
        return "leaf"
    if p in _REDUCE:
        return "reduce"
    if p.elementwise or p in _REMAP:
        return "map"
    return "other"


def _weight(node) -> int:
    return 8 if node.prim in TRANSCENDENTAL else 2 if node.prim in _MEDIUM else 1


class _Region:
    def __init__(self, domain, start):
        self.domain, self.start = domain, start
        self.members: list = []
        self.reduce = None
        self.weight = 0


def _domain(node):
    return tuple(node.inputs[0].shape if _role(node) == "reduce" else node.outputs[0].shape)


def _can_join(region, node, producer, pos, region_of) -> bool:
    if region.domain != _domain(node) or region.weight + _weight(node) > MAX_WEIGHT:
        return False
    if _role(node) == "reduce" and region.reduce is not None:
        return False
    for v in node.inputs:
        p = producer.get(v)
        if p is not None and region_of.get(p) is region:
            remapped = node.prim in _REMAP and tuple(v.shape) != tuple(node.outputs[0].shape)
            if p is region.reduce or remapped or node.prim in (_REMAP - {sh.broadcast_in_dim}):
                return False
        elif p is not None and _role(p) == "leaf":
            continue
        elif (pos[p] if p is not None else -1) >= region.start:
            return False
    return True


def partition(graph: Graph) -> dict:
    """Assign fusible nodes to regions; returns {node: region}."""
    producer = {v: n for n in graph.nodes for v in n.outputs}
    pos = {n: i for i, n in enumerate(graph.nodes)}
    region_of: dict = {}
    last_by_domain: dict = {}
    for i, node in enumerate(graph.nodes):
        if _role(node) not in ("map", "reduce"):
            continue
        cands = [
            region_of[producer[v]]
            for v in node.inputs
            if v in producer and producer[v] in region_of
        ]
        if _domain(node) in last_by_domain:
            cands.append(last_by_domain[_domain(node)])
        cands.sort(key=lambda r: -r.start)
        region = next((r for r in cands if _can_join(r, node, producer, pos, region_of)), None)
        if region is None:
            region = _Region(_domain(node), i)
            last_by_domain[region.domain] = region
        region.members.append(node)
        region.weight += _weight(node)
        if _role(node) == "reduce":
            region.reduce = node
        region_of[node] = region
    return region_of


def inline_calls(graph: Graph) -> Graph:
    """Replace call-like nodes (primitives whose ``extra["inline_graph"]`` names the attribute
    holding the graph they compute, e.g. ``custom_vjp_call``) by that graph's nodes: after
    differentiation only their forward computation matters, and fusion should see through it."""
    if not any(n.prim.extra.get("inline_graph") for n in graph.nodes):
        return graph
    b = Builder(graph.name)
    env = {v: b.add_input(v.type) for v in graph.inputs}
    for node in graph.nodes:
        ins = [env[v] for v in node.inputs]
        key = node.prim.extra.get("inline_graph")
        with b.in_phase(node.phase):
            outs = (
                inline(b, inline_calls(node.attrs[key]), ins)
                if key
                else b.emit(node.prim, ins, node.attrs, node.loc)
            )
        env.update(zip(node.outputs, outs, strict=True))
    return b.build([env[v] for v in graph.outputs])


def _swapped_dot(dot, t):
    """``dot_general(b, a)`` when transpose ``t`` of ``dot_general(a, b)`` just swaps the two free
    groups (batch axes stay first): the product with the operands exchanged, no copy. Else None."""
    lhs, rhs = dot.inputs
    (lc, rc), (lb, rb) = dot.attrs["contracting"], dot.attrs["batch"]
    nb, nl = len(lb), lhs.type.ndim - len(lc) - len(lb)
    nr = rhs.type.ndim - len(rc) - len(rb)
    perm = (*range(nb), *range(nb + nl, nb + nl + nr), *range(nb, nb + nl))
    if tuple(t.attrs["perm"]) != perm or nl == 0 or nr == 0:
        return None
    attrs = {"contracting": (tuple(rc), tuple(lc)), "batch": (tuple(rb), tuple(lb))}
    if dot_general.infer([rhs.type, lhs.type], **attrs) != [t.outputs[0].type]:
        return None
    return Node(dot_general, (rhs, lhs), attrs, t.outputs, t.loc, t.phase)


def fold_transposed_dots(graph: Graph) -> Graph:
    """Replace ``transpose(dot_general(a, b))`` (the dot used only there) by ``dot_general(b, a)``:
    reverse-mode matmul gradients come as a product then a transpose, which would otherwise cost a
    strided copy kernel. The new node takes the dot's place (its operands are ready there)."""
    producer = {v: n for n in graph.nodes for v in n.outputs}
    uses: dict = {}
    for n in graph.nodes:
        for v in n.inputs:
            uses[v] = uses.get(v, 0) + 1
    for v in graph.outputs:
        uses[v] = uses.get(v, 0) + 1
    replace, drop = {}, set()
    for n in graph.nodes:
        d = producer.get(n.inputs[0]) if n.prim is sh.transpose else None
        if d is not None and d.prim is dot_general and uses[n.inputs[0]] == 1:
            new = _swapped_dot(d, n)
            if new is not None:
                replace[d], drop = new, drop | {n}
    if not replace:
        return graph
    nodes = [replace.get(n, n) for n in graph.nodes if n not in drop]
    return Graph(list(graph.inputs), nodes, list(graph.outputs), graph.name)


def fuse(graph: Graph) -> Graph:
    """The graph with each multi-op region replaced by one ``fused`` node (see the module docstring).
    Call-like nodes are inlined first (``inline_calls``), transposed products folded
    (``fold_transposed_dots``)."""
    graph = fold_transposed_dots(inline_calls(graph))
    region_of = partition(graph)
    producer = {v: n for n in graph.nodes for v in n.outputs}
    used_outside: set = set(graph.outputs)
    for node in graph.nodes:
        for v in node.inputs:
            p = producer.get(v)
            if p is None or (_role(p) == "leaf" and node in region_of):
                continue  # leaves are cloned into the regions that use them
            if region_of.get(p) is not region_of.get(node):
                used_outside.add(v)
    out_nodes, emitted = [], set()
    for node in graph.nodes:
        region = region_of.get(node)
        if region is None:
            if _role(node) != "leaf" or any(v in used_outside for v in node.outputs):
                out_nodes.append(node)
            continue
        if id(region) in emitted:
            continue
        emitted.add(id(region))
        out_nodes.append(_fuse_region(region, producer, used_outside))
    return Graph(list(graph.inputs), out_nodes, list(graph.outputs), graph.name)


def _fuse_region(region, producer, used_outside) -> Node:
    members = region.members
    uses_leaf = any(
        producer.get(v) is not None and _role(producer[v]) == "leaf"
        for n in members
        for v in n.inputs
    )
    if len(members) == 1 and not uses_leaf:
        return members[0]
    inside = set(members)
    ext = list(
        dict.fromkeys(
            v
            for n in members
            for v in n.inputs
            if producer.get(v) not in inside
            and not (v in producer and _role(producer[v]) == "leaf")
        )
    )
    outs = [v for n in members for v in n.outputs if v in used_outside]
    b = Builder("fused")
    env = {v: b.add_input(v.type) for v in ext}
    for n in members:
        for v in n.inputs:
            if v not in env:  # a cloned leaf
                leaf = producer[v]
                env.update(
                    zip(leaf.outputs, b.emit(leaf.prim, [], leaf.attrs, leaf.loc), strict=True)
                )
        res = b.emit(n.prim, [env[v] for v in n.inputs], n.attrs, n.loc)
        env.update(zip(n.outputs, res, strict=True))
    body = b.build([env[v] for v in outs])
    first = members[0]
    return Node(fused, tuple(ext), {"body": body}, tuple(outs), first.loc, first.phase)


def region_graph(graph: Graph):
    """The dependency graph between top-level nodes (a networkx DiGraph), for cycle checks."""
    import networkx as nx

    g = nx.DiGraph()
    producer = {v: n for n in graph.nodes for v in n.outputs}
    for n in graph.nodes:
        g.add_node(id(n))
        for v in n.inputs:
            if v in producer:
                g.add_edge(id(producer[v]), id(n))
    return g


def check_acyclic(graph: Graph) -> bool:
    import networkx as nx

    return nx.is_directed_acyclic_graph(region_graph(graph))


__all__ = ["MAX_WEIGHT", "check_acyclic", "fuse", "fused", "partition"]
