"""Data-parallel training on Dask (``pip install 'graphc-compiler[distributed]'``).

The dataset is split into shards along its first axis, one per worker, each sent once to an
actor on its worker (``_ShardActor``) with the compiled ``value_and_grad`` of the loss. Every
step the client hands the parameters to the first actor, and the actors pass them on and add
their results along a binary tree: the actor of shards ``lo..hi-1`` asks the first actor of the
upper half for that half's sum (forwarding the parameters), computes the lower half itself and
adds the two (a tree reduce, in a fixed order), so the client sends and receives one copy a step
whatever the number of workers. It then applies the optimizer's update. The gradient is the
full batch's: the loss is a mean over examples, so the shards' means weighted by ``len(shard) /
len(data)`` sum to it (rounded differently from one mean over all examples: ``train_local``
repeats this arithmetic in one process, bit for bit).

The compiled function travels by pickle (``graphc/trace/pickling.py``) once per worker, in its
actor's constructor, and the actor keeps it for the whole training: each worker compiles it (or,
for a function that travels as its compiled signatures, loads the object code) once, not once a
step. Why actors rather than a task a step per shard: a task goes through the scheduler, whose
messages Dask batches (the client's every 10 ms), so each step cost ~12 ms of latency on the
2-core development machine against ~1.3 ms for an actor call, which goes straight to its worker;
and the function and shard need no cache keyed by a token in each worker, their lifetime being
the actor's. What actors do not do (Dask's documented limit): survive their worker, so a worker
lost mid-training makes ``train`` raise. The client traces and compiles each shard signature
first, so errors show on the client and a loss that is not importable (a closure, one defined in
``__main__``) travels as its compiled code.

The same code runs on a real cluster: start a scheduler (``dask scheduler``) and a worker on each
machine (``dask worker tcp://SCHEDULER:8786 --nthreads 1``: one shard each; graphc installed, and
the module defining the loss when it is importable, else it travels compiled), then pass
``Client("tcp://SCHEDULER:8786")`` to ``train``. A worker whose CPU or versions differ from the
client's compiles the shipped IR itself: it never loads code built for another CPU. The shards
are sent from the client, so the data must fit there. ``examples/dask_train.py`` trains the
digits MLP this way and times a step on 1 and 2 workers.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from .errors import ArgumentError, ShapeError
from .trace.function import function
from .trace.pytree import tree_map
from .autodiff import value_and_grad

__all__ = ["Trained", "shard", "train", "train_local"]


def shard(data: tuple, n: int) -> list[tuple]:
    """``data`` (a tuple of arrays of one length) split along the first axis into ``n`` shards,
    as ``np.array_split`` does (sizes differ by at most one)."""
    sizes = {len(a) for a in data}
    if len(sizes) != 1:
        raise ShapeError(f"the data's arrays have different lengths {sorted(sizes)}")
    (total,) = sizes
    if not 1 <= n <= total:
        raise ArgumentError(f"cannot split {total} examples into {n} shards")
    return list(zip(*(np.array_split(a, n) for a in data), strict=True))


def _shard_value_and_grad(fn, params, shard, weight):
    """The shard's loss and gradient, weighted by its share of the examples."""
    value, grads = fn(params, *shard)
    return weight * value, tree_map(lambda g: weight * g, grads)


def _add(a, b):
    return tree_map(np.add, a, b)


def _middle(lo: int, hi: int) -> int:
    """Where shards ``lo..hi-1`` split into the two halves a reduction adds (the lower one the
    larger): one order for ``train`` and ``train_local``, whoever computes the halves."""
    return lo + (hi - lo + 1) // 2


def _tree_sum(parts: list, lo: int = 0, hi: int | None = None):
    hi = len(parts) if hi is None else hi
    if hi - lo == 1:
        return parts[lo]
    mid = _middle(lo, hi)
    return _add(_tree_sum(parts, lo, mid), _tree_sum(parts, mid, hi))


class _ShardActor:
    """A Dask actor on one worker: its shard and the compiled function, unpickled once when the
    actor is made, so compiled (or loaded) once per worker. ``reduce`` computes the sum over a
    range of shards as a binary tree of actors (see ``train``)."""

    def __init__(self, fn, shard, weight):
        self.fn, self.shard, self.weight = fn, shard, weight
        self.actors: list = []

    def connect(self, actors: list) -> None:
        """Handles of every shard's actor, in shard order (this one is among them)."""
        self.actors = actors

    def reduce(self, params, lo: int, hi: int):
        """The weighted loss and gradient summed over shards ``lo..hi-1`` (this actor holds
        shard ``lo``): the upper half asked of its first shard's actor, with the parameters,
        while the lower half is computed here, then the two added."""
        if hi - lo == 1:
            return _shard_value_and_grad(self.fn, params, self.shard, self.weight)
        mid = _middle(lo, hi)
        upper = self.actors[mid].reduce(params, mid, hi)
        lower = self.reduce(params, lo, mid)
        return _add(lower, upper.result())

    def stats(self) -> dict:
        return {**self.fn.stats(), "kind": type(self.fn).__name__}


def _compiled(loss: Callable, params, shards: list) -> Callable:
    """``value_and_grad(loss)`` compiled for every distinct shard signature (on the client)."""
    fn = function(value_and_grad(loss))
    for s in shards:
        fn.concrete(params, *s)
    return fn


def _weights(shards: list) -> list[float]:
    total = sum(len(s[0]) for s in shards)
    return [len(s[0]) / total for s in shards]


def _descend(gradient: Callable, params, optimizer, steps: int, on_step) -> tuple[Any, list]:
    """``steps`` updates of ``optimizer`` by ``gradient(params) -> (loss, grads)`` (the update
    compiled, on the client); the parameters and the loss before each step."""
    update = function(lambda g, s, p: optimizer.update(g, s, p))
    state, losses = optimizer.init(params), []
    for i in range(steps):
        value, grads = gradient(params)
        params, state = update(grads, state, params)
        losses.append(float(value))
        if on_step is not None:
            on_step(i, losses[-1])
    return params, losses


def train_local(loss: Callable, params: Any, data: tuple, optimizer, steps: int,
                n_shards: int = 1, on_step: Callable | None = None) -> tuple[Any, list[float]]:
    """``train``'s arithmetic in this process: the same shards, weights, summation order and
    updates (its parameters are ``train``'s, bit for bit). With ``n_shards=1`` it is plain
    full-batch training. Returns the parameters and the loss before each step."""
    shards = shard(data, n_shards)
    fn, weights = _compiled(loss, params, shards), _weights(shards)
    return _descend(lambda p: _tree_sum([_shard_value_and_grad(fn, p, s, w)
                                         for s, w in zip(shards, weights, strict=True)]),
                    params, optimizer, steps, on_step)


class Trained(NamedTuple):
    """What ``train`` returns: the parameters, the loss before each step, and per worker address
    the ``stats()`` of the compiled function it held (``traces``: how many signatures it traced
    there, 0 for one that came as compiled code, which ``kind`` "Unpickled" names)."""

    params: Any
    losses: list
    workers: dict


def train(client, loss: Callable, params: Any, data: tuple, optimizer, steps: int,
          on_step: Callable | None = None) -> Trained:
    """Train ``params`` for ``steps`` full-batch steps of ``optimizer`` (a ``graphc.optim``
    pair) on the minimum of ``loss(params, *data)``, a mean over the examples, with ``data``
    split across the workers of the Dask ``client``, one shard each (see the module docstring).
    ``on_step(i, loss)`` is called after each step."""
    workers = sorted(client.scheduler_info()["workers"])
    shards = shard(data, len(workers))
    fn = _compiled(loss, params, shards)
    futures = [client.submit(_ShardActor, fn, s, weight, workers=[address], actor=True)
               for s, weight, address in zip(shards, _weights(shards), workers, strict=True)]
    try:
        actors = [f.result() for f in futures]
        for a in actors:
            a.connect(actors).result()
        params, losses = _descend(lambda p: actors[0].reduce(p, 0, len(actors)).result(),
                                  params, optimizer, steps, on_step)
        held = {address: a.stats().result() for address, a in zip(workers, actors, strict=True)}
    finally:
        client.cancel(futures)  # the actors, their shards and functions go with them
    return Trained(params, losses, held)
