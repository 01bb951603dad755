"""The typed graph IR."""

from .builder import Builder, inline
from .graph import Graph, Literal, Node, SourceLoc, Value, has_effects, without_effects
from .parse import ParseError, parse
from .printer import format_graph
from .types import TensorType
from .verify import VerifyError, verify

__all__ = [
    "Builder",
    "Graph",
    "Literal",
    "Node",
    "ParseError",
    "SourceLoc",
    "TensorType",
    "Value",
    "VerifyError",
    "format_graph",
    "inline",
    "parse",
    "verify",
]
