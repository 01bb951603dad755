"""Graphviz DOT text of a drawing (``model.py``): one DOT node per box, an edge per value use
labelled with the value, and a ``cluster`` subgraph per nested graph (loop bodies, branches,
fused kernels) beside the node holding it. Gradient nodes are filled differently from forward
ones. No dependency: ``dot -Tsvg`` renders it when Graphviz is installed (``render``)."""

from __future__ import annotations

import shutil
import subprocess

from ..errors import GraphcError

FILL = {"fwd": "#dbe9ff", "bwd": "#ffe2c6", "jvp": "#d9f2d9"}
SHAPE = {"input": "ellipse", "return": "box", "node": "box"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _box_line(b) -> str:
    label = b["label"] if b["kind"] != "node" else f"{b['label']}\n{b['type']}"
    fill = FILL.get(b["phase"], "#eeeeee") if b["kind"] == "node" else "#f4f4f4"
    tooltip = b.get("loc", "") or b["title"]
    return (f'{b["id"]} [label={_quote(label)}, '
            f'shape={SHAPE[b["kind"]]}, style="rounded,filled", fillcolor="{fill}", '
            f"tooltip={_quote(tooltip)}];")


def _graph_lines(drawing, indent: str) -> list[str]:
    lines = []
    for b in drawing["boxes"]:
        lines.append(indent + _box_line(b))
        for i, kid in enumerate(b.get("children", ())):
            lines.append(f"{indent}subgraph cluster_{b['id']}_{i} {{")
            lines.append(f"{indent}  label={_quote(kid['key'] + ': ' + kid['name'])}; "
                         'style="dashed"; color="#888888";')
            lines += _graph_lines(kid, indent + "  ")
            lines.append(indent + "}")
            first = kid["boxes"][0]["id"] if kid["boxes"] else None
            if first:
                lines.append(f'{indent}{b["id"]} -> {first} [style=dotted, arrowhead=none, '
                             "constraint=false];")
    for a, b, value in drawing["edges"]:
        lines.append(f"{indent}{a} -> {b} [label={_quote(value)}];")
    return lines


def to_dot(drawing) -> str:
    """The DOT text of one stage's drawing."""
    lines = [f"digraph {_quote(drawing['name'])} {{",
             '  graph [rankdir=TB, fontname="Helvetica", fontsize=11];',
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9, color="#666666"];']
    lines += _graph_lines(drawing, "  ")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, fmt: str) -> bytes:
    """``dot -T<fmt>`` of the text; a GraphcError saying how to install Graphviz when absent."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphcError(
            f"rendering {fmt.upper()} needs Graphviz's `dot` program, which is not installed "
            "(Debian/Ubuntu: apt install graphviz; macOS: brew install graphviz; conda: conda "
            "install graphviz); the .dot file was written instead"
        )
    done = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode(), capture_output=True,
                          timeout=120, check=False)
    if done.returncode:
        raise GraphcError(f"Graphviz dot failed: {done.stderr.decode(errors='replace')[:500]}")
    return done.stdout
