"""A graph as plain data for drawing: boxes (inputs, nodes, the return), edges, and nested
graphs (loop bodies, branches, fused kernels) as clusters inside the box of the node holding
them, each box with a position from a layered layout.

Layout: networkx orders the dependency graph (``topological_sort``) and each box goes one layer
below the deepest of its operands (longest-path layering); within a layer, boxes are ordered by
the mean position of their operands (two barycentre sweeps), the heuristic Graphviz's ``dot``
also starts from. Why not Graphviz: it is an optional program, and the HTML page must work
without it; why not a layout written in JavaScript: the positions are data the tests read, and
the page then only draws.
"""

from __future__ import annotations

import linecache
import os
import sys

import networkx as nx

from ..ir import Graph, Literal
from ..ir.graph import holds_graphs

ROW, GAP, CHAR, PAD, HEAD = 44, 18, 7.2, 12, 26  # layer height, gaps, glyph width, padding (px)


def source_line(loc, paths: dict) -> str:
    """The user's code at ``loc`` (file found among ``paths`` by base name), or ''."""
    if loc is None:
        return ""
    path = paths.get(loc.file)
    return linecache.getline(path, loc.line).strip() if path else ""


def known_paths(extra=()) -> dict:
    """Base name -> path of the loaded modules' files and ``extra`` paths (locations keep base
    names only). A base name two loaded files share maps to None (no code line rather than
    another file's), unless ``extra`` names the user's file."""
    paths: dict = {}
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None)
        if f:
            name = os.path.basename(f)
            paths[name] = f if paths.get(name, f) == f else None
    for f in extra:
        paths[os.path.basename(f)] = f
    return paths


def _attr_text(v) -> str:
    if isinstance(v, Literal):
        return repr(v)
    if hasattr(v, "name") and not isinstance(v, str):
        return str(v.name)
    return repr(v) if not isinstance(v, str) else v


class _Builder:
    def __init__(self, paths: dict):
        self.paths, self.names, self.count = paths, {}, 0

    def name(self, value) -> str:
        if value not in self.names:
            self.names[value] = f"%{len(self.names)}"
        return self.names[value]

    def box_id(self) -> str:
        self.count += 1
        return f"n{self.count}"

    def graph(self, graph: Graph) -> dict:
        """The drawing of ``graph``: boxes, edges, size; positions relative to its corner."""
        boxes, edges, producer = [], [], {}
        for v in graph.inputs:
            b = self._box("input", self.name(v), f"{self.name(v)}: {v.type}", str(v.type))
            producer[v] = b["id"]
            boxes.append(b)
        for node in graph.nodes:
            b = self._node_box(node)
            for v in node.inputs:
                if v in producer:
                    edges.append([producer[v], b["id"], self.name(v)])
            for v in node.outputs:
                producer[v] = b["id"]
            boxes.append(b)
        ret = self._box("return", "return", "return " + ", ".join(self.name(v) for v in
                                                                   graph.outputs), "")
        edges += [[producer[v], ret["id"], self.name(v)] for v in graph.outputs if v in producer]
        boxes.append(ret)
        width, height = _layout(boxes, edges)
        return {"name": graph.name, "boxes": boxes, "edges": edges, "w": width, "h": height}

    def _box(self, kind, label, title, type_text, phase="fwd") -> dict:
        return {"id": self.box_id(), "kind": kind, "label": label, "title": title,
                "type": type_text, "phase": phase, "w": max(60, CHAR * len(label) + 2 * PAD),
                "h": 28}

    def _node_box(self, node) -> dict:
        # nested graphs first: values are numbered as the IR text numbers them
        kids = ([dict(self.graph(g), key=k) for k, g in _nested(node)]
                if node.attrs and holds_graphs(node.attrs) else [])
        outs = ", ".join(f"{self.name(v)}: {v.type}" for v in node.outputs)
        b = self._box("node", node.prim.name, f"{outs} = {node.prim.name}", outs, node.phase)
        b["op"] = node.prim.name
        b["attrs"] = {k: _attr_text(v) for k, v in sorted(node.attrs.items())
                      if not isinstance(v, Graph) and not (isinstance(v, tuple) and any(
                          isinstance(g, Graph) for g in v))}
        b["inputs"] = [self.name(v) for v in node.inputs]
        b["loc"] = str(node.loc) if node.loc else ""
        b["code"] = source_line(node.loc, self.paths)
        if kids:
            b["children"] = kids
            b["w"] = max(b["w"], sum(k["w"] for k in kids) + GAP * (len(kids) + 1))
            b["h"] = HEAD + max(k["h"] for k in kids) + GAP
            x = GAP
            for k in kids:  # side by side under the node's header
                k["x"], k["y"] = x, HEAD
                x += k["w"] + GAP
        return b


def _nested(node):
    for k, v in node.attrs.items():
        if isinstance(v, Graph):
            yield k, v
        elif isinstance(v, tuple):
            yield from ((f"{k}[{i}]", g) for i, g in enumerate(v) if isinstance(g, Graph))


def _layout(boxes, edges) -> tuple[float, float]:
    """Give every box ``x``, ``y`` (its top-left corner); returns the drawing's size."""
    dag = nx.DiGraph()
    dag.add_nodes_from(b["id"] for b in boxes)
    dag.add_edges_from((a, b) for a, b, _ in edges)
    by_id = {b["id"]: b for b in boxes}
    layer = {}
    for n in nx.topological_sort(dag):
        layer[n] = 1 + max((layer[p] for p in dag.predecessors(n)), default=-1)
    rows: dict[int, list] = {}
    for b in boxes:  # boxes in program order: the starting order of each layer
        rows.setdefault(layer[b["id"]], []).append(b["id"])
    position = {}
    for _ in range(2):
        for depth in sorted(rows):
            row = rows[depth]
            for i, n in enumerate(row):
                preds = [position[p] for p in dag.predecessors(n) if p in position]
                position[n] = sum(preds) / len(preds) if preds else float(i)
            row.sort(key=lambda n: position[n])
            for i, n in enumerate(row):
                position[n] = float(i)
    y, width = GAP, 0.0
    for depth in sorted(rows):
        x = GAP
        for n in rows[depth]:
            by_id[n]["x"], by_id[n]["y"] = x, y
            x += by_id[n]["w"] + GAP
        width = max(width, x)
        y += max(by_id[n]["h"] for n in rows[depth]) + ROW - 28
    return width, y + GAP


def model(stages: dict, paths: dict | None = None) -> dict:
    """``{stage name: drawing}`` for ``{stage name: Graph}``."""
    paths = known_paths() if paths is None else paths
    return {name: _Builder(paths).graph(g) for name, g in stages.items()}
