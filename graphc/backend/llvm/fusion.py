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
import operator
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
_START = operator.attrgetter("start")


def _role(node) -> str:
    return _ROLES.get(node.prim.family, "other")


class _Region:
    __slots__ = ("domain", "start", "members", "reduce", "weight", "operands")

    def __init__(self, domain, start):
        self.domain, self.start = domain, start
        self.members: list = []
        self.reduce = None
        self.weight = 0
        self.operands: set = set()  # values read from outside the region (leaves excepted)


def _operands(node, made) -> list:
    """``node``'s operands as ``(value, maker, maker's region, placed, remapped)``, looked up once
    for all the regions the node is tried in: ``made``'s entry for the value, and whether the
    node reads it at another index than its own (a remap does, except a broadcast of a value of
    its own shape). Leaves' values are not in ``made``, so not here."""
    prim = node.prim
    remap = prim.family == "remap"
    same_index = prim is sh.broadcast_in_dim
    out = []
    for v in node.inputs:
        m = made.get(v)
        if m is not None:
            remapped = remap and (not same_index or v.type.shape != node.outputs[0].type.shape)
            out.append((v, m[0], m[1], m[2], remapped))
    return out


def _fit(region, node, operands, domain, weight, policy) -> list | None:
    """The values ``region`` would newly read from outside if ``node`` joined it, or None when
    it cannot join (the rules of the module docstring)."""
    if region.domain != domain or region.weight + weight > policy.max_weight:
        return None
    if node.prim.family == "reduce" and region.reduce is not None:
        return None
    known, new = region.operands, []
    for v, maker, where, placed, remapped in operands:
        if where is region:
            # a remapped operand must come from outside the region, and so must a reduction's
            # result (it needs the finished loop)
            if remapped or maker is region.reduce:
                return None
        elif placed >= region.start:  # no cycles
            return None
        elif v not in known and v not in new:
            new.append(v)
    return new if len(known) + len(new) <= policy.max_operands else None


def _first_fit(cands, node, operands, domain, weight, policy) -> tuple:
    """The first of ``cands`` that ``node`` can join and the values it would newly read from
    outside; else ``(None, the values a region of its own reads)``."""
    for region in cands:
        new = _fit(region, node, operands, domain, weight, policy)
        if new is not None:
            return region, new
    return None, [o[0] for o in operands]


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


class _Partition:
    """A graph's fusible nodes assigned to regions in one walk in order (``partition``), and
    what ``fuse`` needs to emit them."""

    def __init__(self, graph: Graph, policy: FusionPolicy):
        self.policy = policy
        #: the nodes that join no region and the regions, in the order of the graph (a region
        #: at its first member's place)
        self.order: list = []
        #: values read outside the region of the node that made them (a lone node is a region
        #: of its own), and the graph's outputs
        self.used_outside: set = set(graph.outputs)
        self.leaf_of: dict = {}  # a leaf's value -> the leaf
        #: value -> (maker, its region or None, placed): placed is where the value becomes
        #: available (its region's first member, else its maker's place; -1 for a graph input).
        #: Leaves' values are absent: a leaf is cloned into any region, so it neither counts as
        #: an operand nor constrains the order.
        self.made: dict = {v: (None, None, -1) for v in graph.inputs}
        self.last_by_domain: dict = {}
        self.trig: dict = {}  # (sin or cos, operand) -> its region
        nbytes = _elementwise_bytes(graph, policy.blocked_pair_bytes)
        self.pair_up = nbytes <= policy.pair_bytes or (
            nbytes <= policy.blocked_pair_bytes and _one_flat_domain(graph)
        )
        for i, node in enumerate(graph.nodes):
            role = _ROLES.get(node.prim.family, "other")
            if role == "map" or role == "reduce":
                self._place(i, node, role)
            else:
                self._leave_out(i, node, role)

    def _leave_out(self, i: int, node, role: str) -> None:
        """Record ``node``, which joins no region."""
        self.order.append(node)
        self.used_outside.update(node.inputs)
        if role == "leaf":
            for v in node.outputs:
                self.leaf_of[v] = node
        else:
            for v in node.outputs:
                self.made[v] = (node, None, i)

    def _place(self, i: int, node, role: str) -> None:
        """Put ``node`` into the latest region it can join, else into a new one."""
        domain = (node.inputs[0] if role == "reduce" else node.outputs[0]).type.shape
        weight = node.prim.cost
        operands = _operands(node, self.made)
        cands = [o[2] for o in operands if o[2] is not None]
        if domain in self.last_by_domain:
            cands.append(self.last_by_domain[domain])
        if len(cands) > 1:
            cands.sort(key=_START, reverse=True)  # the latest first
        if self.pair_up:
            sibling = self.trig.get((_SIBLING.get(node.prim), node.inputs[0]))
            if sibling is not None:  # sin and cos of one value: one sincos call computes both
                cands.insert(0, sibling)
                weight = 0
        region, new = _first_fit(cands, node, operands, domain, weight, self.policy)
        if region is None:
            region = _Region(domain, i)
            self.last_by_domain[domain] = region
            self.order.append(region)
        if node.prim in _SIBLING:
            self.trig[(node.prim, node.inputs[0])] = region
        region.members.append(node)
        region.weight += weight
        region.operands.update(new)
        if role == "reduce":
            region.reduce = node
        for o in operands:
            if o[2] is not region:
                self.used_outside.add(o[0])
        entry = (node, region, region.start)
        for v in node.outputs:
            self.made[v] = entry


def partition(graph: Graph, policy: FusionPolicy) -> _Partition:
    """Assign the fusible nodes of ``graph`` to regions (``_Partition.order``)."""
    return _Partition(graph, policy)


def fuse(graph: Graph, policy: FusionPolicy | None = None) -> Graph:
    """The graph with each multi-op region replaced by one ``fused`` node (see the module
    docstring), within ``policy``'s limits (default: ``FusionPolicy()``). Call-like nodes are
    inlined first (``inline_calls``)."""
    graph = inline_calls(graph)
    parts = partition(graph, policy or FusionPolicy())
    used_outside = parts.used_outside
    out_nodes = []
    for item in parts.order:
        if type(item) is _Region:
            out_nodes.append(_fuse_region(item, parts))
        elif _role(item) != "leaf" or any(v in used_outside for v in item.outputs):
            out_nodes.append(item)
    return Graph(list(graph.inputs), out_nodes, list(graph.outputs), graph.name)


def _fuse_region(region, parts: _Partition) -> Node:
    """The region as one ``fused`` node. The body reuses the region's own nodes and values (no
    re-emission, no shape rules rerun: W6 n=1000 has ~11,000 of them); cloned leaves are the
    leaf nodes themselves, listed in every body that reads them."""
    members, leaf_of = region.members, parts.leaf_of
    inside = {v for n in members for v in n.outputs}
    body_nodes, leaves, ext = [], set(), {}
    for n in members:
        for v in n.inputs:
            leaf = leaf_of.get(v)
            if leaf is not None:
                if leaf not in leaves:
                    leaves.add(leaf)
                    body_nodes.append(leaf)
            elif v not in inside:
                ext.setdefault(v, None)
        body_nodes.append(n)
    if len(members) == 1 and not leaves:
        return members[0]
    outs = [v for n in members for v in n.outputs if v in parts.used_outside]
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
