"""Messages for failures inside graphc: they name the node (in the IR's text form) and the user's
line, so a user can report the bug. Here, below passes and backends, because both raise them."""

from __future__ import annotations

import re

from ..errors import InternalError
from .graph import Graph, Node
from .printer import format_graph


def node_text(node: Node) -> str:
    """``node`` in the IR's text form, its values numbered from ``%0`` (a nested body left out)."""
    line = format_graph(Graph(list(node.inputs), [node], list(node.outputs))).splitlines()[1]
    return re.sub(r" {2,}#", "  #", line.strip())  # without the comment column's padding


def internal_message(node: Node | None, stage: str, detail: str) -> str:
    """The one form of every internal error: ``file:line: internal error in STAGE: DETAIL``, then
    the node's text."""
    where = f"{node.loc}: " if node is not None and node.loc else ""
    text = f"\n  at node: {node_text(node)}" if node is not None else ""
    return (
        f"{where}internal error in {stage}: {detail}{text}\n"
        "  (a bug in graphc, not in your code: please report it with this message)"
    )


def failing_node(exc: BaseException) -> Node | None:
    """The node the failing code was working on: the first IR node held by a local variable of the
    innermost frame that holds one. Why: passes walk the graph node by node, so this finds the node
    without every rewrite rule reporting its own."""
    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for name, value in frame.f_locals.items():
            if isinstance(value, Node) and name != "self":  # not a node half made
                return value
    return None


def internal_error(stage: str, exc: Exception, node: Node | None = None) -> InternalError:
    """``exc`` (raised inside graphc) as an InternalError naming ``node``, or the node the failing
    code held (``failing_node``); raise it ``from exc`` to keep the original traceback."""
    node = node if node is not None else failing_node(exc)
    return InternalError(internal_message(node, stage, f"{type(exc).__name__}: {exc}"))
