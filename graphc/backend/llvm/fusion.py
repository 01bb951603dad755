"""Fusion, the LLVM backend's pass: chains of elementwise and index-remapping ops (with a trailing
reduction) become one ``fused`` node (``ops/call.py``) whose ``body`` attribute is the nested graph
of the region; the backend runs it as one loop nest with no intermediate arrays.

What a node is to fusion comes from its primitive's fields: ``family`` ("map" and "remap" nodes are
computed per point, "reduce" ends a region, "leaf" is cloned, "view" stays outside) and ``cost``
(its weight in a loop body). The limits are a ``FusionPolicy``; the defaults are the ones measured
for this backend.

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
  - **Bounded loop bodies.** A region's weight (the sum of its members' ``cost``: 1 per op, 8 per
    transcendental, 2 per div/sqrt) stays <= ``FusionPolicy.max_weight``, and it reads at most
    ``FusionPolicy.max_operands`` values from outside (see there).
  - A reduction ends a region: members may not use its result (that needs the finished loop).
  - sin(x) and cos(x) of one value share a region in small graphs (see ``pair_bytes``): one sincos
    call computes both. Members' operands then count as available from their region's first
    member's place on (the region is placed there), which keeps the acyclicity argument.
Views (``reshape``, ``stop_gradient``) stay outside regions: at top level they are free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...ir import Graph, Node
from ...ops import elementwise as ew
from ...ops import shape as sh
from ...ops.call import fused, inline_calls


@dataclass(frozen=True)
class FusionPolicy:
    """The limits fusion keeps (the defaults are this backend's, measured on the workloads of
    ../shared/BENCHMARKS.md); tests pass their own instead of patching module globals."""

    #: At most this weight per region: it keeps LLVM's vectorizer time per loop small (it grows
    #: faster than linearly with body size) while amortizing the ~10 ms fixed cost per loop.
    max_weight: int = 160
    #: At most this many operands read from outside a region: unrelated same-shape ops of a wide
    #: pytree (the gradient of 1,000 parameters) would otherwise all join one loop with thousands
    #: of pointer parameters, and LLVM's instruction selection and scheduling of such a kernel and
    #: its call grow faster than linearly (1,000 leaves: 2.6 s of LLVM time -> 0.3 s). Equal
    #: regions still share one compiled kernel (share.py).
    max_operands: int = 64
    #: sin(x) and cos(x) of one value join one region (the backend computes both with one sincos
    #: call: W6 n=10 24 -> 16 us) only when all elementwise values of the graph total at most this
    #: many bytes: the co-located value becomes one more stored array, and once the intermediates
    #: outgrow the L2 cache that traffic cost more than the math saved (W6 n=100: 248 -> 263 us).
    pair_bytes: int = 1 << 20
    #: The same for graphs the backend runs chunk by chunk (``_one_flat_domain``): their
    #: intermediates stay in cache, so pairing pays (W6 n=100, 4.9 MB: 247 -> 195 us). Larger
    #: graphs have more kernels than the backend blocks (``Tuning.block_max_kernels``; W6 n=1000,
    #: 49 MB).
    blocked_pair_bytes: int = 16 << 20


#: What each primitive family is to fusion: computed per point ("map"; a "remap" reads its
#: operands at a remapped index), a region's last member ("reduce"), or cloned into every region
#: that reads it ("leaf"). Other families stay outside regions.
_ROLES = {"map": "map", "remap": "map", "reduce": "reduce", "leaf": "leaf"}
_SIBLING = {ew.sin: ew.cos, ew.cos: ew.sin}


def _role(node) -> str:
    return _ROLES.get(node.prim.family, "other")


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


def _can_join(region, node, domain, weight, producer, pos, region_of, policy) -> bool:
    if region.domain != domain or region.weight + weight > policy.max_weight:
        return False
    outside = _outside(region, node, producer, region_of)
    if len(region.operands.union(outside)) > policy.max_operands:
        return False
    if _role(node) == "reduce" and region.reduce is not None:
        return False
    # a remap's operand is read at another index, so it must come from outside the region (a
    # broadcast of a value of its own shape reads it at the same index)
    remap, out_shape = node.prim.family == "remap", tuple(node.outputs[0].shape)
    same_index = node.prim is sh.broadcast_in_dim
    for v in node.inputs:
        p = producer.get(v)
        if p is not None and region_of.get(p) is region:
            remapped = remap and (not same_index or tuple(v.shape) != out_shape)
            if p is region.reduce or remapped:
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
        elif n.prim.family not in ("leaf", "view"):
            return False
    return len(shapes) == 1


def partition(graph: Graph, policy: FusionPolicy) -> dict:
    """Assign fusible nodes to regions; returns {node: region}."""
    producer = {v: n for n in graph.nodes for v in n.outputs}
    pos = {n: i for i, n in enumerate(graph.nodes)}
    region_of: dict = {}
    last_by_domain: dict = {}
    trig: dict = {}  # (sin or cos, operand) -> its region
    nbytes = _elementwise_bytes(graph, policy.blocked_pair_bytes)
    pair_up = nbytes <= policy.pair_bytes or (
        nbytes <= policy.blocked_pair_bytes and _one_flat_domain(graph)
    )
    for i, node in enumerate(graph.nodes):
        if _role(node) not in ("map", "reduce"):
            continue
        domain, weight = _domain(node), node.prim.cost
        cands = [region_of[p] for p in map(producer.get, node.inputs) if p in region_of]
        if domain in last_by_domain:
            cands.append(last_by_domain[domain])
        cands.sort(key=lambda r: -r.start)
        sibling = trig.get((_SIBLING.get(node.prim), node.inputs[0])) if pair_up else None
        if sibling is not None:  # sin and cos of one value: one sincos call computes both
            cands.insert(0, sibling)
            weight = 0
        region = next(
            (r for r in cands
             if _can_join(r, node, domain, weight, producer, pos, region_of, policy)),
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


def fuse(graph: Graph, policy: FusionPolicy | None = None) -> Graph:
    """The graph with each multi-op region replaced by one ``fused`` node (see the module
    docstring), within ``policy``'s limits (default: ``FusionPolicy()``). Call-like nodes are
    inlined first (``inline_calls``)."""
    graph = inline_calls(graph)
    region_of = partition(graph, policy or FusionPolicy())
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


__all__ = ["FusionPolicy", "check_acyclic", "fuse", "partition"]
