"""Reading the text form back: ``parse(text) -> Graph``, the inverse of ``format_graph``.

``format_graph(parse(format_graph(g))) == format_graph(g)`` for every graph, nested graphs
included, and the parsed graph verifies, evaluates and compiles as the original does::

    import graphc as gc
    from graphc.backend import backend_passes, get_backend
    from graphc.passes.manager import prepare

    graph = gc.ir.parse(open("loss.ir").read())     # e.g. the output of ``graphc dump``
    llvm = get_backend("llvm")
    _, ready, _ = prepare(graph, backend_passes(llvm))  # optimize and fuse, as gc.function does
    outputs = llvm.compile(ready)(x, y)                 # a list of NumPy arrays

(a graph printed after fusion, ``graphc dump --stage all``'s last block, is ready already:
``llvm.compile(graph)``; ``graphc.core.evaluate(graph, arrays)`` runs any graph in NumPy).

What the text holds and how it is read (the printer's docstring says how it is written):
  - a value's name is its identity: every ``%7`` in the text, at any depth, is one ``Value``
    (fusion's ``fused`` bodies take and make the very values of the node holding them, and a
    ``while_grad`` holds the graphs of its ``while_loop``); a nested graph whose text repeats an
    earlier one word for word is that same ``Graph`` object;
  - attributes come back as the Python types the primitives' rules take: ints, floats, bools,
    strings, None, tuples, ``np.dtype`` (a dtype name), NumPy scalars, ``Literal`` (a
    ``constant``'s value, or ``TYPE [...]`` / ``TYPE base64:...``) and graphs (``key:`` headers);
  - the comment column holds the node's phase (``bwd``, ``jvp``; none is ``fwd``) and its
    ``SourceLoc`` (``file:line``; the function name a location also holds is not printed, so
    it comes back empty).
Each node is checked as it is read, by its primitive's shape rule against the types the text
gives its results, so malformed text is a ``ParseError`` naming the line and what was expected.
"""

from __future__ import annotations

import ast
import base64
import binascii
import re

import numpy as np

from .. import dtypes
from ..errors import GraphcError
from .graph import Graph, Literal, Node, SourceLoc, Value
from .printer import RESERVED
from .types import TensorType
from .verify import verify


class ParseError(GraphcError):
    """The text is not the text form of a graph; the message names the line."""


_SHORT = "|".join(sorted(dtypes.FROM_SHORT, key=len, reverse=True))
_TYPE = re.compile(rf"({_SHORT})\[([0-9,]*)\]")
_NAME = re.compile(r"%(\d+)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"[-+]?(?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?!\w)")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_BARE_NAME = re.compile(r"[^\s(){}\[\]'\"%,#]+")
_BASE64 = re.compile(r"base64:([A-Za-z0-9+/=]*)")
_HEADER = re.compile(r"([A-Za-z_]\w*)(?:\[(\d+)\])?:")
_LOCATION = re.compile(r"(?:(\w+) )?('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s'\"#]+):(\d+)")
_DTYPES = {d.name: d for d in dtypes.SUPPORTED}


def parse(text: str, primitives=None) -> Graph:
    """The graph whose text form is ``text`` (what ``str(graph)`` and ``graphc dump`` print);
    raises ``ParseError`` naming the line on malformed text. ``primitives`` maps names to
    primitives (default: ``graphc.core.REGISTRY``, every primitive graphc defines)."""
    if primitives is None:
        # NOTE: the IR sits below the registry (``core`` imports ``ir``), so the registry is
        # reached through the package, imported when a text is parsed (which registers them all).
        import graphc

        primitives = graphc.core.REGISTRY
    if not isinstance(text, str):
        raise ParseError(f"parse needs the text of a graph (a str), got {type(text).__name__}")
    parser = _Parser(text.splitlines(), primitives)
    graph = parser.graph(parser.next_line("a 'graph NAME(...) {' line"))
    rest = parser.next_line(None)
    if rest is not None:
        raise ParseError(f"line {rest + 1}: expected the end of the text after the graph, got "
                         f"{parser.lines[rest].strip()!r}")
    try:
        verify(graph)
    except GraphcError as e:  # a check the line-by-line reading does not make
        raise ParseError(f"the parsed graph does not verify: {e}") from e
    return graph


class _Cursor:
    """One line being read, left to right."""

    def __init__(self, text: str, number: int):
        self.text, self.pos, self.number = text, 0, number

    def error(self, expected: str) -> ParseError:
        rest = self.text[self.pos:].strip()
        got = repr(rest[:40] + ("..." if len(rest) > 40 else "")) if rest else "the end of the line"
        return ParseError(f"line {self.number}: expected {expected}, got {got}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def peek(self, s: str) -> bool:
        self.skip()
        return self.text.startswith(s, self.pos)

    def take(self, s: str) -> bool:
        if self.peek(s):
            self.pos += len(s)
            return True
        return False

    def expect(self, s: str, what: str | None = None) -> None:
        if not self.take(s):
            raise self.error(what or repr(s))

    def match(self, pattern: re.Pattern, what: str | None = None):
        self.skip()
        m = pattern.match(self.text, self.pos)
        if m is None:
            if what is None:
                return None
            raise self.error(what)
        self.pos = m.end()
        return m

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def type(self) -> TensorType:
        m = self.match(_TYPE, "a type such as f32[2,3]")
        try:
            return TensorType(tuple(int(n) for n in m.group(2).split(",") if n),
                              dtypes.FROM_SHORT[m.group(1)])
        except (GraphcError, ValueError) as e:
            raise ParseError(f"line {self.number}: bad type {m.group(0)}: {e}") from None


class _Parser:
    def __init__(self, lines: list[str], primitives):
        self.lines, self.primitives = lines, primitives
        self.pos = 0
        self.values: dict[str, tuple[Value, int]] = {}  # name -> (value, line first seen)
        self.names: dict[Value, str] = {}
        self.graphs: dict[tuple, Graph] = {}  # a nested graph's text -> the graph made of it

    def next_line(self, expected: str | None) -> int | None:
        """The index of the next non-blank line (consumed); at the end, None or an error."""
        while self.pos < len(self.lines) and not self.lines[self.pos].strip():
            self.pos += 1
        if self.pos == len(self.lines):
            if expected is None:
                return None
            raise ParseError(f"line {self.pos + 1}: expected {expected}, got the end of the text")
        self.pos += 1
        return self.pos - 1

    def value(self, cur: _Cursor, t: TensorType | None = None) -> Value:
        """The value named next on ``cur``: used (``t`` None), or declared with type ``t``."""
        name = cur.match(_NAME, "a value name such as %3").group(0)
        if name in self.values:
            v, first = self.values[name]
            if t is not None and v.type != t:
                raise ParseError(f"line {cur.number}: {name} is {t} here but {v.type} on line "
                                 f"{first}")
            return v
        if t is None:
            raise ParseError(f"line {cur.number}: {name} is used before it is defined")
        v = Value(t)
        self.values[name] = (v, cur.number)
        self.names[v] = name
        return v

    def declared(self, cur: _Cursor) -> Value:
        """``%3: f32[2]``: a graph input or a node result."""
        save = cur.pos
        cur.match(_NAME, "a value name such as %3")
        cur.expect(":", "':' and the value's type")
        t = cur.type()
        end, cur.pos = cur.pos, save
        v = self.value(cur, t)
        cur.pos = end
        return v

    def graph(self, index: int) -> Graph:
        """The graph whose ``graph NAME(...) {`` line is ``lines[index]``, to its ``}``."""
        start = index
        cur = _Cursor(self.lines[index], index + 1)
        cur.expect("graph", "'graph NAME(...) {'")
        cur.skip()
        name = self._graph_name(cur)
        cur.expect("(", "'(' and the graph's inputs")
        inputs = [] if cur.peek(")") else self._list(cur, self.declared)
        cur.expect(")", "')' after the graph's inputs")
        cur.expect("{", "'{' after the graph's inputs")
        if not cur.at_end():
            raise cur.error("the end of the line after '{'")
        defined = set(inputs)
        nodes = []
        while True:
            i = self.next_line("a node, 'return' or nested graph")
            cur = _Cursor(self.lines[i], i + 1)
            if cur.take("return"):
                outputs = [] if cur.at_end() else self._list(cur, self.value)
                self._check_defined(outputs, defined, cur.number, "returns")
                if not cur.at_end():
                    raise cur.error("', ' and another value, or the end of the line")
                break
            if cur.peek("}"):
                raise cur.error("'return' and the graph's outputs")
            nodes.append(self.node(cur, defined))
        end = self.next_line("'}' closing the graph")
        if self.lines[end].strip() != "}":
            raise _Cursor(self.lines[end], end + 1).error("'}' closing the graph")
        graph = Graph(inputs, nodes, outputs, name)
        key = tuple(line.strip() for line in self.lines[start:end + 1])
        return self.graphs.setdefault(key, graph)

    def _graph_name(self, cur: _Cursor) -> str:
        m = cur.match(_STRING)
        if m:
            return ast.literal_eval(m.group(0))
        return cur.match(_BARE_NAME, "the graph's name").group(0)

    def _list(self, cur: _Cursor, item) -> list:
        items = [item(cur)]
        while cur.take(","):
            items.append(item(cur))
        return items

    def _check_defined(self, values, defined, line: int, what: str) -> None:
        for v in values:
            if v not in defined:
                raise ParseError(f"line {line}: {what} {self.names[v]}, which is not defined in "
                                 "this graph before this line (a nested graph takes every value "
                                 "it uses as an input)")

    def node(self, cur: _Cursor, defined: set) -> Node:
        outputs = [] if cur.peek("=") else self._list(cur, self.declared)
        cur.expect("=", "'=' after the node's results")
        m = cur.match(_WORD, "a primitive name")
        prim = self.primitives.get(m.group(0))
        if prim is None:
            raise ParseError(f"line {cur.number}: unknown primitive {m.group(0)!r}")
        attrs = {}
        if cur.take("["):
            bare = prim.extra.get("literal") if len(outputs) == 1 else None
            attrs = _Attrs(cur, bare, outputs[0].type if bare else None).read()
        inputs = [] if cur.at_end() or cur.peek("#") else self._list(cur, self.value)
        self._check_defined(inputs, defined, cur.number, f"{prim.name} uses")
        loc, phase = _comment(cur)
        for key, g in self._nested().items():
            if key in attrs:
                raise ParseError(f"line {cur.number}: attribute {key} given twice (also as a "
                                 "nested graph)")
            attrs[key] = g
        node = Node(prim, tuple(inputs), attrs, tuple(outputs), loc, phase)
        _check_node(node, cur.number)
        for v in outputs:
            if v in defined:
                raise ParseError(f"line {cur.number}: {self.names[v]} is defined twice in one "
                                 "graph")
            defined.add(v)
        return node

    def _nested(self) -> dict:
        """The graph attributes (``key:`` or ``key[i]:`` headers, each before a graph)."""
        found: dict[str, list] = {}
        while True:
            save = self.pos
            i = self.next_line(None)
            m = _HEADER.fullmatch(self.lines[i].strip()) if i is not None else None
            if m is None:
                self.pos = save
                break
            key, index = m.group(1), m.group(2)
            entries = found.setdefault(key, [])
            want = None if not entries and index is None else str(len(entries))
            if index != want or (entries and entries[0][0] is None):
                expected = f"{key}[{len(entries)}]:" if entries else f"{key}: or {key}[0]:"
                raise ParseError(f"line {i + 1}: expected {expected} (the next graph of "
                                 f"attribute {key}), got {self.lines[i].strip()!r}")
            g = self.graph(self.next_line(f"the graph of {key}"))
            entries.append((index, g))
        return {k: (e[0][1] if e[0][0] is None else tuple(g for _, g in e))
                for k, e in found.items()}


def _check_node(node: Node, line: int) -> None:
    """The primitive's shape rule on the node's inputs and attributes gives its result types."""
    try:
        expected = list(node.prim.infer([v.type for v in node.inputs], **node.attrs))
    except Exception as e:  # a rule given wrong attributes may raise anything
        raise ParseError(f"line {line}: {node.prim.name} rejects its inputs or attributes: "
                         f"{type(e).__name__}: {e}") from None
    got = [v.type for v in node.outputs]
    if expected != got:
        shown = ", ".join(map(str, expected)) or "no results"
        raise ParseError(f"line {line}: {node.prim.name} gives {shown}, but the text says "
                         f"{', '.join(map(str, got)) or 'no results'}")


def _comment(cur: _Cursor) -> tuple[SourceLoc | None, str]:
    """The node's location and phase from its comment column (``# bwd loss.py:4``)."""
    if cur.at_end():
        return None, "fwd"
    cur.expect("#", "'#' and the node's location, or the end of the line")
    text = cur.text[cur.pos:].strip()
    m = _LOCATION.fullmatch(text)
    if m:
        file = m.group(2)
        file = ast.literal_eval(file) if file[0] in "'\"" else file
        return SourceLoc(file, int(m.group(3))), m.group(1) or "fwd"
    if re.fullmatch(r"\w+", text):
        return None, text
    raise ParseError(f"line {cur.number}: expected a phase and/or a location (file.py:12) after "
                     f"'#', got {text!r}")


class _Attrs:
    """The ``[key=value, ...]`` of one node; ``bare``: the attribute printed as a bare array of
    type ``literal`` (a constant's value: ``Primitive.extra["literal"]``)."""

    def __init__(self, cur: _Cursor, bare: str | None, literal: TensorType | None):
        self.cur, self.bare, self.literal = cur, bare, literal

    def read(self) -> dict:
        cur, attrs = self.cur, {}
        while True:
            key = cur.match(_WORD, "an attribute name").group(0)
            if key in attrs:
                raise ParseError(f"line {cur.number}: attribute {key} given twice")
            cur.expect("=", f"'=' after attribute {key}")
            if key == self.bare:
                attrs[key] = self.array(self.literal, bare=True)
            else:
                attrs[key] = self.value()
            if cur.take("]"):
                return attrs
            cur.expect(",", "',' and another attribute, or ']'")

    def value(self):
        cur = self.cur
        if cur.take("("):
            items = []
            while not cur.take(")"):
                items.append(self.value())
                if not cur.peek(")"):
                    cur.expect(",", "',' or ')' in a tuple")
            return tuple(items)
        m = cur.match(_STRING)
        if m:
            return ast.literal_eval(m.group(0))
        if self._at_type():  # a typed constant array: f32[2] [1.,2.] or f32[9] base64:...
            return self.array(cur.type(), bare=False)
        m = cur.match(_NUMBER)
        if m:
            return _number(m.group(0), None, cur)
        m = cur.match(_WORD, "an attribute value")
        word = m.group(0)
        if word.startswith("np."):
            return self._np_scalar(word)
        if word in ("None", "True", "False"):
            return {"None": None, "True": True, "False": False}[word]
        if word in _DTYPES:
            return _DTYPES[word]
        if word in RESERVED:
            raise ParseError(f"line {cur.number}: {word!r} cannot start an attribute value")
        return word

    def _at_type(self) -> bool:
        self.cur.skip()
        return _TYPE.match(self.cur.text, self.cur.pos) is not None

    def _np_scalar(self, word: str):
        cur = self.cur
        try:
            dtype = dtypes.canonical(np.dtype(word[3:]))
        except (TypeError, GraphcError):
            raise ParseError(f"line {cur.number}: unknown NumPy scalar type {word!r}") from None
        cur.expect("(", f"'(' after {word}")
        m = cur.match(_NUMBER) or cur.match(re.compile("True|False"), "a number")
        cur.expect(")", f"')' closing {word}(...)")
        return dtype.type(_number(m.group(0), dtype, cur))

    def array(self, t: TensorType, bare: bool) -> Literal:
        """A constant of type ``t``: its elements, or base64 of its bytes (after its type, which
        a ``constant``'s value, ``bare``, repeats only then: ``value=f32[1000] base64:...``)."""
        cur = self.cur
        if bare and self._at_type():
            written = cur.type()
            if written != t:
                raise ParseError(f"line {cur.number}: the constant's value is a {written}, its "
                                 f"result a {t}")
            bare = False
        m = cur.match(_BASE64)
        if m is not None:
            try:
                data = base64.b64decode(m.group(1), validate=True)
                a = np.frombuffer(data, t.dtype.newbyteorder("<")).astype(t.dtype).reshape(t.shape)
            except (binascii.Error, ValueError) as e:
                raise ParseError(f"line {cur.number}: bad base64 data for a {t} constant: "
                                 f"{e}") from None
            return Literal(a)
        elements = self._elements(t.dtype)
        try:
            a = np.array(elements, dtype=t.dtype).reshape(t.shape)
        except (ValueError, OverflowError) as e:
            raise ParseError(f"line {cur.number}: the constant's elements do not fill a {t}: "
                             f"{e}") from None
        return Literal(a)

    def _elements(self, dtype):
        cur = self.cur
        if cur.take("["):
            items = []
            while not cur.take("]"):
                items.append(self._elements(dtype))
                if not cur.peek("]"):
                    cur.expect(",", "',' or ']' in a constant")
            return items
        m = cur.match(_NUMBER) or cur.match(re.compile("True|False"), "a number or '['")
        return _number(m.group(0), dtype, cur)


def _number(text: str, dtype, cur: _Cursor):
    """``text`` as a Python number: bools for ``True``/``False``; for a NumPy ``dtype``, one
    exactly in that dtype; alone (an attribute), an int unless it has a point or exponent."""
    if text in ("True", "False"):
        if dtype is not None and dtype.kind != "b":
            raise ParseError(f"line {cur.number}: {text} in a {dtype} constant")
        return text == "True"
    floating = not re.fullmatch(r"[-+]?\d+", text)
    if dtype is not None and dtype.kind != "f" and floating:
        raise ParseError(f"line {cur.number}: {text} in a {dtype} constant")
    if dtype is not None and dtype.kind == "b":
        raise ParseError(f"line {cur.number}: {text} in a bool constant (True or False)")
    return float(text) if floating else int(text)
