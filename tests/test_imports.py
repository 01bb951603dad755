"""The layers import downwards only: core <- ops <- trace, numpy. Every import in graphc's source,
at module level or inside a function, is mapped to the graphc package it names, and the package
graph among the core, the primitives, tracing and the NumPy namespace has no cycle, also through
the other packages (passes, backend, autodiff ...)."""

import ast
import pathlib

import networkx as nx

import graphc

ROOT = pathlib.Path(graphc.__file__).parent
LAYERS = {"graphc.core", "graphc.ops", "graphc.trace", "graphc.numpy"}


def _module_name(path: pathlib.Path) -> list[str]:
    parts = ["graphc", *path.relative_to(ROOT).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported(path: pathlib.Path):
    """Every graphc module ``path`` imports (anywhere in it), as dotted names."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            yield target
            yield from (f"{target}.{a.name}" for a in node.names)  # from . import numpy


def _package(name: str) -> str | None:
    """The graphc subpackage or module ``name`` is in (``graphc.ops.shape`` -> ``graphc.ops``);
    None for names outside graphc and for the package's own attributes (``graphc.__version__``)."""
    parts = name.split(".")
    if parts[0] != "graphc" or len(parts) < 2:
        return None
    if (ROOT / parts[1]).is_dir() or (ROOT / f"{parts[1]}.py").exists():
        return f"graphc.{parts[1]}"
    return None


def package_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for path in ROOT.rglob("*.py"):
        source = _package(".".join(_module_name(path)))
        for name in _imported(path):
            target = _package(name)
            if source and target and target != source:
                graph.add_edge(source, target)
    return graph


def test_the_import_graph_is_read_from_the_source():
    graph = package_graph()
    assert graph.has_edge("graphc.numpy", "graphc.ops")
    assert graph.has_edge("graphc.ops", "graphc.core")
    assert graph.has_edge("graphc.trace", "graphc.core")


def test_no_import_cycle_through_the_core_ops_trace_or_numpy():
    cycles = [c for c in nx.simple_cycles(package_graph()) if LAYERS.intersection(c)]
    assert cycles == []


def test_the_core_and_the_primitives_import_only_what_sits_below_them():
    graph = package_graph()
    below = {"graphc.ir", "graphc.dtypes", "graphc.errors"}
    assert set(graph.successors("graphc.core")) <= below
    assert set(graph.successors("graphc.ops")) <= below | {"graphc.core"}
