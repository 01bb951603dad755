"""Pytrees: flatten/unflatten round trips, hashable treedefs, readable paths."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import pytest

import graphc as gc
from graphc.trace import pytree
from graphc.trace.signature import arg_name, leaf_paths

Pair = namedtuple("Pair", "first second")

TREES = [
    1,
    None,
    (),
    [],
    {},
    (1, 2),
    [1, (2, 3)],
    {"b": 1, "a": [2, None]},
    Pair(1, {"x": 2}),
    OrderedDict(z=1, a=2),
    ((None,), [[]], {"k": (1,)}),
    Pair(None, Pair(3, 4)),
    {1: 2, "a": 3},
]


@pytest.mark.parametrize("tree", TREES, ids=repr)
def test_round_trip(tree):
    leaves, treedef = pytree.flatten(tree)
    hash(treedef)
    back = pytree.unflatten(treedef, leaves)
    assert back == tree and type(back) is type(tree)
    assert pytree.num_leaves(treedef) == len(leaves)
    assert len(leaf_paths(treedef)) == len(leaves)


def test_leaves_in_sorted_key_order():
    leaves, _ = pytree.flatten({"b": 1, "a": 2, "c": (3, 4)})
    assert leaves == [2, 1, 3, 4]


def test_structure_distinguishes_containers():
    defs = {pytree.flatten(t)[1] for t in [(1, 2), [1, 2], Pair(1, 2), {"first": 1, "second": 2}]}
    assert len(defs) == 4


def test_tree_map_and_errors():
    assert pytree.tree_map(lambda a, b: a + b, {"x": (1, 2)}, {"x": (10, 20)}) == {"x": (11, 22)}
    _, treedef = pytree.flatten((1, 2))
    with pytest.raises(gc.GraphcError):
        pytree.unflatten(treedef, [1, 2, 3])


def test_paths_and_names():
    _, treedef = pytree.flatten(((Pair(1, {"w": 2}), [3]), {"scale": 4}))
    paths = leaf_paths(treedef)
    assert paths == ["[0][0].first", "[0][0].second['w']", "[0][1][0]", "[1]['scale']"]
    names = [arg_name(p, ["params", "xs"]) for p in paths]
    assert names == ["params.first", "params.second['w']", "xs[0]", "scale"]
    assert arg_name("[0][5]", ["a"]) == "args[5]"


def test_describe():
    _, treedef = pytree.flatten({"a": (1, None), "b": [2]})
    assert pytree.describe(treedef) == "{'a': (*, None), 'b': [*]}"
