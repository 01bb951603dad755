"""Fusion: chains of elementwise and index-remapping ops (with a trailing reduction) become one
``fused`` node whose ``body`` attribute is the nested graph of the region; a backend runs it as one
loop nest with no intermediate arrays.

A region has a *domain*, the shape its loop runs over: the output shape of its elementwise members,
or the input shape of its one reduction. Rules (each keeps the result correct and the work bounded):
  - **No duplicated work.** Every member is computed once per point of the domain; a member whose
    value is needed outside the region becomes an extra output (stored, not recomputed). An operand
    that a member reads at a *different* index (through broadcast_in_dim, transpose, slice, pad,
    rev, concatenate) must come from outside the region, i.e. is materialized, so an expensive value
    is never recomputed per broadcast element. Only constants and iota are cloned into every region
    using them.
  - **No cycles.** A node may join region R only if each operand produced outside R was produced
    before R's first member (in the graph's order). Along any dependency between regions the
    first-member positions then strictly increase, so the region graph is acyclic; the fused node is
    placed at its first member's position. ``check_acyclic`` verifies this with networkx in the
    tests.
  - **Bounded loop bodies.** A region's weight (1 per op, 8 per transcendental, 2 per div/sqrt)
    stays <= ``MAX_WEIGHT`` = 160, keeping LLVM's vectorizer time per loop small (it grows faster
    than linearly with body size) while amortizing the ~10 ms fixed cost per loop. A region also
    reads at most ``MAX_OPERANDS`` = 64 values from outside (see there).
  - A reduction ends a region: members may not use its result (that needs the finished loop).
  - sin(x) and cos(x) of one value share a region in small graphs (see ``PAIR_BYTES``): one sincos
    call computes both. Members' operands then count as available from their region's first
    member's place on (the region is placed there), which keeps the acyclicity argument.
``reshape`` and ``stop_gradient`` stay outside regions: at top level they are free views.
"""

from __future__ import annotations

import math

from ..ir import Graph, Node
from ..ops import elementwise as ew
from ..ops import reduce as red
from ..ops import shape as sh
from ..ops.call import define_call, inline_calls
from ..ops.linalg import dot_general

MAX_WEIGHT = 160
#: At most this many operands read from outside a region: unrelated same-shape ops of a wide
#: pytree (the gradient of 1,000 parameters) would otherwise all join one loop with thousands of
#: pointer parameters, and LLVM's instruction selection and scheduling of such a kernel and its
#: call grow faster than linearly (1,000 leaves: 2.6 s of LLVM time -> 0.3 s). Equal regions
#: still share one compiled kernel (backend/llvm/share.py).
MAX_OPERANDS = 64
#: sin(x) and cos(x) of one value join one region (the backend computes both with one sincos
#: call: W6 n=10 24 -> 16 us) only when all elementwise values of the graph total at most this
#: many bytes: the co-located value becomes one more stored array, and once the intermediates
#: outgrow the L2 cache that traffic cost more than the math saved (W6 n=100: 248 -> 263 us).
PAIR_BYTES = 1 << 20
#: The same for graphs the LLVM backend runs chunk by chunk (``_one_flat_domain``): their
#: intermediates stay in cache, so pairing pays (W6 n=100, 4.9 MB: 247 -> 195 us). Larger graphs
#: have more kernels than the backend blocks (``blocking.MAX_KERNELS``; W6 n=1000, 49 MB).
BLOCKED_PAIR_BYTES = 16 << 20
TRANSCENDENTAL = {ew.exp, ew.expm1, ew.log, ew.log1p, ew.sin, ew.cos, ew.tanh, ew.pow_, ew.atan2}
_MEDIUM = {ew.div, ew.sqrt}
#: Primitives computed per point whose operands are read at a remapped index.
_REMAP = {sh.broadcast_in_dim, sh.transpose, sh.rev, sh.slice_, sh.pad, sh.concatenate}
_LEAVES = {sh.constant, sh.iota}
_SIBLING = {ew.sin: ew.cos, ew.cos: ew.sin}
_REDUCE = {red.reduce_sum, red.reduce_prod, red.reduce_max, red.reduce_min}


#: One fused region: computes its ``body`` graph on its operands. Made only after
#: differentiation (no derivative rules) and never inlined (the backend runs it as one loop nest).
fused = define_call("fused", "body", inline=False, after_differentiation=True)


def _role(node) -> str:
    p = node.prim
    role = _ROLES.get(p)
    if role is None:
        if p in _LEAVES:
            role = "leaf"
        elif p in _REDUCE:
            role = "reduce"
        elif p.elementwise or p in _REMAP:
            role = "map"
        else:
            role = "other"
        _ROLES[p] = role
    return role


_ROLES: dict = {}  # primitive -> role (fixed per primitive; partition asks ~10 times per node)


def _weight(node) -> int:
    return 8 if node.prim in TRANSCENDENTAL else 2 if node.prim in _MEDIUM else 1


class _Region:
    def __init__(self, domain, start):
        self.domain, self.start = domain, start
        self.members: list = []
        self.reduce = None
        self.weight = 0
        self.operands: set = set()  # values read from outside the region (leaves excepted)


def _domain(node):
    return tuple(node.inputs[0].shape if _role(node) == "reduce" else node.outputs[0].shape)


def _placed(node, pos, region_of) -> int:
    """Where ``node``'s value becomes available: its region's first member, else its own place."""
    region = region_of.get(node)
    return region.start if region is not None else pos[node]


def _outside(region, node, producer, region_of) -> list:
    """``node``'s operands that ``region`` would read from outside (cloned leaves are not)."""
    out = []
    for v in node.inputs:
        p = producer.get(v)
        if p is None or (region_of.get(p) is not region and _role(p) != "leaf"):
            out.append(v)
    return out


def _can_join(region, node, domain, weight, producer, pos, region_of) -> bool:
    if region.domain != domain or region.weight + weight > MAX_WEIGHT:
        return False
    if len(region.operands.union(_outside(region, node, producer, region_of))) > MAX_OPERANDS:
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
        elif p is not None and _placed(p, pos, region_of) >= region.start:
            return False
    return True


def _elementwise_bytes(graph, limit: int) -> int:
    """Bytes of the graph's elementwise values, counted until they exceed ``limit``."""
    total = 0
    for n in graph.nodes:
        if _role(n) == "map":
            for v in n.outputs:
                total += math.prod(v.shape) * v.dtype.itemsize
            if total > limit:
                break
    return total


def _one_flat_domain(graph) -> bool:
    """Whether every node is an elementwise map producing one shape (or a leaf or view): the LLVM
    backend then runs the kernels chunk by chunk (backend/llvm/blocking.py), so the extra arrays
    pairing stores stay in cache (W6 n=100: 247 -> ~197 us)."""
    shapes = set()
    for n in graph.nodes:
        if n.prim.elementwise:
            shapes.add(tuple(n.outputs[0].shape))
        elif n.prim not in _LEAVES and n.prim not in (sh.reshape, sh.stop_gradient):
            return False
    return len(shapes) == 1


def partition(graph: Graph) -> dict:
    """Assign fusible nodes to regions; returns {node: region}."""
    producer = {v: n for n in graph.nodes for v in n.outputs}
    pos = {n: i for i, n in enumerate(graph.nodes)}
    region_of: dict = {}
    last_by_domain: dict = {}
    trig: dict = {}  # (sin or cos, operand) -> its region
    nbytes = _elementwise_bytes(graph, BLOCKED_PAIR_BYTES)
    pair_up = nbytes <= PAIR_BYTES or (nbytes <= BLOCKED_PAIR_BYTES and _one_flat_domain(graph))
    for i, node in enumerate(graph.nodes):
        if _role(node) not in ("map", "reduce"):
            continue
        domain, weight = _domain(node), _weight(node)
        cands = [region_of[p] for p in map(producer.get, node.inputs) if p in region_of]
        if domain in last_by_domain:
            cands.append(last_by_domain[domain])
        cands.sort(key=lambda r: -r.start)
        sibling = trig.get((_SIBLING.get(node.prim), node.inputs[0])) if pair_up else None
        if sibling is not None:  # sin and cos of one value: one sincos call computes both
            cands.insert(0, sibling)
            weight = 0
        region = next(
            (r for r in cands if _can_join(r, node, domain, weight, producer, pos, region_of)),
            None,
        )
        if region is None:
            region = _Region(domain, i)
            last_by_domain[region.domain] = region
        if node.prim in _SIBLING:
            trig[(node.prim, node.inputs[0])] = region
        region.members.append(node)
        region.weight += weight
        region.operands.update(_outside(region, node, producer, region_of))
        if _role(node) == "reduce":
            region.reduce = node
        region_of[node] = region
    return region_of


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
    """The graph with each multi-op region replaced by one ``fused`` node (see the module
    docstring). Call-like nodes are inlined first (``inline_calls``), transposed products folded
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
            region = region_of.get(node)
            if region is None or region_of.get(p) is not region:  # a lone node is its own region
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
    """The region as one ``fused`` node. The body reuses the region's own nodes and values (no
    re-emission, no shape rules rerun: W6 n=1000 has ~11,000 of them); cloned leaves are the
    leaf nodes themselves, listed in every body that reads them."""
    members = region.members
    inside = set(members)
    body_nodes, leaves, ext = [], set(), {}
    for n in members:
        for v in n.inputs:
            p = producer.get(v)
            if p is not None and p not in inside and _role(p) == "leaf":
                if p not in leaves:
                    leaves.add(p)
                    body_nodes.append(p)
            elif p not in inside:
                ext.setdefault(v, None)
        body_nodes.append(n)
    if len(members) == 1 and not leaves:
        return members[0]
    outs = [v for n in members for v in n.outputs if v in used_outside]
    body = Graph(list(ext), body_nodes, outs, "fused")
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


__all__ = ["MAX_OPERANDS", "MAX_WEIGHT", "check_acyclic", "fuse", "fused", "partition"]
