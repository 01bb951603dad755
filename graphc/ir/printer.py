"""The text form of a graph: one node a line, every value with its type, like a jaxpr.

    graph loss(%0: f32[3], %1: f32[3]) {
      %2: f32[3] = sub %0, %1                      # loss.py:4
      ...
      return %5
    }

Names are numbered in order of appearance, so the text of a graph does not depend on how many values
were made before it. Nodes of the gradient part are marked ``bwd`` (or ``jvp``) in the comment
column, before the node's ``file:line``.

Plain attributes are printed sorted by name (stable text); nested graphs are printed indented
under their node in the order the primitive was given them (``cond``: the true branch, then the
false one), since that is the order a reader of ``if``/``else`` expects; a tuple of graphs is
printed one graph per ``key[i]:`` header.

The text is complete: ``graphc.ir.parse`` reads it back into a graph that prints the same (see
``parse.py``). So constants print exactly: up to ``SMALL_LITERAL`` elements as a list of the
shortest decimals that round trip in the constant's dtype (``value=0.1`` in a ``f32[]``
constant is the float32 nearest 0.1), larger ones (and NaNs other than NumPy's own) as their
type and little-endian bytes in base64 (``value=f32[1000] base64:...``); a constant's value
takes its dtype and shape from the node's result type. A string attribute prints bare when it
reads as a word (``fn=erf``) and is not a word the format reserves (a dtype name, ``None``,
``inf`` ...), else quoted, as a graph name or a location's file that would not read as one
word is.
"""

from __future__ import annotations

import base64
import re

import numpy as np

from .. import dtypes
from .graph import Graph, Literal
from .types import TensorType

_COMMENT_COL = 56
#: Constants of at most this many elements print as a list of numbers; larger ones in base64.
SMALL_LITERAL = 8
#: Bare words the format gives a meaning of its own: a string attribute spelled so is quoted.
RESERVED = frozenset({"None", "True", "False", "inf", "nan", "np"}) | {
    d.name for d in dtypes.SUPPORTED} | set(dtypes.FROM_SHORT)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_NAME = re.compile(r"[^\s(){}\[\]'\"%,#]+")
_BARE_FILE = re.compile(r"[^\s'\"#]+")


def format_graph(graph: Graph, indent: str = "") -> str:
    """The text form (what ``str(graph)`` gives): deterministic, for golden tests and dumps."""
    names: dict = {}
    return "\n".join(_format(graph, names, indent))


def _name(names: dict, value) -> str:
    if value not in names:
        names[value] = f"%{len(names)}"
    return names[value]


def format_string(text: str) -> str:
    """A string attribute: bare when it reads as one unreserved word, else Python-quoted."""
    return text if _WORD.fullmatch(text) and text not in RESERVED else repr(text)


def format_location(loc) -> str:
    """``file:line``, the file quoted when it would not read as one word."""
    file = loc.file if _BARE_FILE.fullmatch(loc.file) else repr(loc.file)
    return f"{file}:{loc.line}"


def format_number(x) -> str:
    """One element of a constant (a NumPy or Python scalar): floats as the shortest decimal that
    round trips in their own dtype, NumPy's way (``8.``, ``0.1``, ``1.e-05``)."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = x if isinstance(x, np.floating) else np.float64(x)
    if not np.isfinite(x):
        return str(float(x))  # inf, -inf, nan
    if x == 0 or 1e-4 <= abs(x) < 1e16:
        return np.format_float_positional(x, unique=True, trim=".")
    return np.format_float_scientific(x, unique=True, trim=".")


def _nested(a: np.ndarray) -> str:
    if a.ndim == 0:
        return format_number(a[()])
    return "[" + ",".join(_nested(row) for row in a) + "]"


def _odd_nans(a: np.ndarray) -> bool:
    """Whether ``a`` holds a NaN other than NumPy's own (a sign or payload ``nan`` would lose)."""
    if a.dtype.kind != "f" or not np.isnan(a).any():
        return False
    return np.where(np.isnan(a), np.array(np.nan, a.dtype), a).tobytes() != a.tobytes()


def format_literal(lit: Literal, typed: bool = True) -> str:
    """A constant array, exactly. ``typed=False`` (a ``constant``'s own value, whose node's result
    type gives dtype and shape) leaves the type off a small array."""
    a = lit.array
    t = TensorType.of(a)
    if a.size > SMALL_LITERAL or _odd_nans(a):
        data = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
        return f"{t} base64:{base64.b64encode(data).decode('ascii')}"
    return f"{t} {_nested(a)}" if typed else _nested(a)


def format_attr(value, bare_literal: bool = False) -> str:
    """A plain (not graph) attribute value: Python's spelling for None, bools, ints, floats and
    tuples; dtypes by name; NumPy scalars as ``np.float32(0.1)``; constant arrays exactly."""
    if isinstance(value, Literal):
        return format_literal(value, typed=not bare_literal)
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, str):
        return format_string(value)
    if isinstance(value, tuple):
        inner = ", ".join(format_attr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, np.generic):
        return f"np.{type(value).__name__}({format_number(value)})"
    if hasattr(value, "name") and not isinstance(value, (bool, int, float)):
        return str(value.name)  # an object known by name (not read back by ``parse``)
    return repr(value)


def _nested_attrs(key, value, names, indent) -> list[str] | None:
    """The ``key:`` headers and graph texts of a graph attribute (or a tuple of graphs)."""
    if isinstance(value, Graph):
        return [f"{indent}    {key}:\n" + "\n".join(_format(value, names, indent + "    "))]
    if isinstance(value, tuple) and value and all(isinstance(v, Graph) for v in value):
        return [f"{indent}    {key}[{i}]:\n" + "\n".join(_format(v, names, indent + "    "))
                for i, v in enumerate(value)]
    return None


def _format(graph: Graph, names: dict, indent: str) -> list[str]:
    params = ", ".join(f"{_name(names, v)}: {v.type}" for v in graph.inputs)
    name = graph.name if _BARE_NAME.fullmatch(graph.name) else repr(graph.name)
    lines = [f"{indent}graph {name}({params}) {{"]
    for node in graph.nodes:
        inputs = ", ".join(_name(names, v) for v in node.inputs)
        nested, flat = [], []
        for key, value in node.attrs.items():
            shown = _nested_attrs(key, value, names, indent)
            if shown is not None:
                nested.extend(shown)
            else:
                bare = key == node.prim.extra.get("literal")
                flat.append(f"{key}={format_attr(value, bare)}")
        flat.sort()
        attrs = f"[{', '.join(flat)}]" if flat else ""
        outs = ", ".join(f"{_name(names, v)}: {v.type}" for v in node.outputs)
        text = f"{indent}  {outs} = {node.prim.name}{attrs} {inputs}".rstrip()
        notes = [format_location(node.loc)] if node.loc else []
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
