"""Expected source lines for location tests, read from the test file's own text: markers
``# @NAME`` at the end of a line, and functions' (lambdas') first lines. Never hard-coded numbers,
so editing a test file cannot silently make its expectations point elsewhere."""

from __future__ import annotations

import os

import pytest

import graphc as gc
from graphc.errors import AxisError



class SourceLines:
    """The lines of one test file (``SourceLines(__file__)``)."""

    def __init__(self, path: str):
        self.file = os.path.basename(path)
        with open(path) as f:
            self._source = f.read().splitlines()

    def line_of(self, marker: str) -> int:
        """The line that ends with the comment ``# @marker`` (exactly one must)."""
        hits = [
            i for i, text in enumerate(self._source, 1) if text.rstrip().endswith(f"# @{marker}")
        ]
        assert len(hits) == 1, (marker, hits)
        return hits[0]

    def at(self, marker_or_fn) -> str:
        """``FILE:N`` for a marker or a function's first line."""
        if callable(marker_or_fn):
            return f"{self.file}:{marker_or_fn.__code__.co_firstlineno}"
        return f"{self.file}:{self.line_of(marker_or_fn)}"

    def assert_clear_error(self, err, cls, where, words) -> None:
        """``err`` is a ``cls`` (a GraphcError, never a bare Python error) whose message starts
        with the user's line ``where`` (a marker or a function), names it once, and holds every
        one of ``words``."""
        msg = str(err)
        assert isinstance(err, gc.GraphcError) and isinstance(err, cls), (type(err), msg)
        # (an AxisError is an IndexError on purpose: it is NumPy's AxisError too)
        internal = (KeyError, AttributeError, AssertionError, IndexError)
        assert isinstance(err, AxisError) or not isinstance(err, internal), (type(err), msg)
        assert msg.startswith(f"{self.at(where)}: "), msg
        assert msg.count(f"{self.file}:") == 1, msg
        for w in words:
            assert w in msg, (w, msg)

    def raises_clear_error(self, thunk, cls, words) -> None:
        """``thunk()`` raises a clear error (``assert_clear_error``) at ``thunk``'s own line."""
        with pytest.raises(gc.GraphcError) as info:
            thunk()
        self.assert_clear_error(info.value, cls, thunk, words)


def error_rows(table):
    """``pytest.mark.parametrize`` over ``(id, thunk, cls, words)`` rows, for
    ``SourceLines.raises_clear_error``."""
    return pytest.mark.parametrize(
        "thunk,cls,words", [row[1:] for row in table], ids=[row[0] for row in table]
    )
