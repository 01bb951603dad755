"""The text form of a graph: one node a line, every value with its type, like a jaxpr.

    graph loss(%0: f32[3], %1: f32[3]) {
      %2: f32[3] = sub %0, %1                      # loss.py:4
      ...
      return %5
    }

Names are numbered in order of appearance, so the text of a graph does not depend on how many values
were made before it. Nodes of the gradient part are marked ``bwd`` in the comment column.

Plain attributes are printed sorted by name (stable text); nested graphs are printed indented
under their node in the order the primitive was given them (``cond``: the true branch, then the
false one), since that is the order a reader of ``if``/``else`` expects.
"""

from __future__ import annotations

from .graph import Graph, Literal

_COMMENT_COL = 56


def format_graph(graph: Graph, indent: str = "") -> str:
    """The text form (what ``str(graph)`` gives): deterministic, for golden tests and dumps."""
    names: dict = {}
    return "\n".join(_format(graph, names, indent))


def _name(names: dict, value) -> str:
    if value not in names:
        names[value] = f"%{len(names)}"
    return names[value]


def _format_attr(value, names, indent) -> list[str] | str:
    if isinstance(value, Graph):
        return ["\n".join(_format(value, names, indent + "    "))]
    if isinstance(value, tuple) and any(isinstance(v, Graph) for v in value):
        return ["\n".join(_format(v, names, indent + "    ")) for v in value]
    if hasattr(value, "name") and not isinstance(value, (Literal, str)):
        return str(value.name)  # dtypes and the like
    return repr(value) if not isinstance(value, str) else value


def _format(graph: Graph, names: dict, indent: str) -> list[str]:
    params = ", ".join(f"{_name(names, v)}: {v.type}" for v in graph.inputs)
    lines = [f"{indent}graph {graph.name}({params}) {{"]
    for node in graph.nodes:
        inputs = ", ".join(_name(names, v) for v in node.inputs)
        nested, flat = [], []
        for key, value in node.attrs.items():
            shown = _format_attr(value, names, indent)
            if isinstance(shown, list):
                nested.extend(f"{indent}    {key}:\n{text}" for text in shown)
            else:
                flat.append(f"{key}={shown}")
        flat.sort()
        attrs = f"[{', '.join(flat)}]" if flat else ""
        outs = ", ".join(f"{_name(names, v)}: {v.type}" for v in node.outputs)
        text = f"{indent}  {outs} = {node.prim.name}{attrs} {inputs}".rstrip()
        notes = [str(node.loc)] if node.loc else []
        if node.phase != "fwd":
            notes.insert(0, node.phase)
        if notes:
            text = f"{text.ljust(_COMMENT_COL)}  # {' '.join(notes)}"
        lines.append(text)
        lines.extend(nested)
    outs = ", ".join(_name(names, v) for v in graph.outputs)
    lines.append(f"{indent}  return {outs}")
    lines.append(f"{indent}}}")
    return lines
