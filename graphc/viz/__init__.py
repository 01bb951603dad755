"""``graphc viz``: pictures of a function's graphs. ``write(path, stages)`` writes, by the
path's extension, Graphviz DOT text (``.dot``), an SVG or PNG rendered by Graphviz's ``dot``
when it is installed (``.svg``, ``.png``; otherwise the ``.dot`` is written and the error says
how to install Graphviz), or one self-contained interactive page (``.html``) holding every
stage. ``stages(concrete)`` gives a compiled function's graphs: traced, optimized, and the
backend's fused loop nests (``plan``) when it has them."""

from __future__ import annotations

import os

from ..errors import GraphcError
from .dot import render, to_dot
from .model import known_paths, model
from .page import to_html

__all__ = ["stages", "write"]
FORMATS = (".dot", ".svg", ".png", ".html")


def stages(concrete) -> dict:
    """``{"traced": ..., "optimized": ..., "plan": ...}`` of a ``Concrete`` (``plan``: the graph
    the backend compiled, its fused kernels as nested graphs; absent for the reference
    backend)."""
    out = {"traced": concrete.traced, "optimized": concrete.graph}
    compiled = getattr(concrete.executable, "graph", None)
    if compiled is not None and compiled is not concrete.graph:
        out["plan"] = compiled
    return out


def write(path: str, graphs: dict, first: str | None = None, sources=()) -> str:
    """Write ``graphs`` (``{stage: Graph}``) to ``path``; DOT, SVG and PNG draw stage ``first``
    (default: the first one), HTML holds all, ``first`` shown first. ``sources``: paths of the
    user's files, for the code lines of the nodes. Returns the path written."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise GraphcError(f"viz: cannot write {path!r}: the output must end in "
                          f"{', '.join(FORMATS)}")
    first = first or next(iter(graphs))
    if first not in graphs:
        raise GraphcError(f"viz: no stage {first!r}; this function has {', '.join(graphs)}")
    order = [first] + [s for s in graphs if s != first]
    drawings = model({s: graphs[s] for s in order}, known_paths(sources))
    if ext == ".html":
        text = to_html(drawings, f"graphc: {graphs[first].name}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path
    dot_text = to_dot(drawings[first])
    if ext == ".dot":
        with open(path, "w", encoding="utf-8") as f:
            f.write(dot_text)
        return path
    try:
        data = render(dot_text, ext[1:])
    except GraphcError:
        with open(os.path.splitext(path)[0] + ".dot", "w", encoding="utf-8") as f:
            f.write(dot_text)
        raise
    with open(path, "wb") as f:
        f.write(data)
    return path
