"""Data-parallel training on Dask (issue 15, item 3; ``graphc.distributed``): two worker processes
train the digits MLP to the parameters of the same arithmetic in one process, bit for bit, and of
plain full-batch training to rounding, each worker compiling once."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc import distributed as gd
from graphc.examples import digits

dask = pytest.importorskip("distributed", reason="Dask is not installed (the distributed extra)")

STEPS = 20


@pytest.fixture(scope="module")
def client():
    with dask.LocalCluster(n_workers=2, processes=True, threads_per_worker=1) as cluster, \
            dask.Client(cluster) as client:
        yield client


def _problem():
    """The digits MLP in float64, all 1,500 training images, SGD."""
    x, y, _, _ = digits.load_digits()
    params = {k: v.astype(np.float64) for k, v in digits.init_params().items()}
    return params, (x.astype(np.float64), np.eye(10)[y]), gc.optim.sgd(0.5)


def test_two_workers_train_to_the_single_process_parameters(client):
    params, data, opt = _problem()
    trained = gd.train(client, digits.loss_fn, params, data, opt, STEPS)
    sharded, sharded_losses = gd.train_local(digits.loss_fn, params, data, opt, STEPS, n_shards=2)
    full, full_losses = gd.train_local(digits.loss_fn, params, data, opt, STEPS)
    assert trained.losses == sharded_losses and trained.losses[-1] < 0.5 * trained.losses[0]
    for k in params:
        # the same shards, weights and summation order: the same bits
        assert trained.params[k].tobytes() == sharded[k].tobytes(), k
        # against one mean over all examples: the shards' weighted means round differently
        # (a few float64 ulps after 20 steps, ~2e-16 absolute here), so not bit for bit
        np.testing.assert_allclose(trained.params[k], full[k], rtol=0, atol=1e-13)
    np.testing.assert_allclose(trained.losses, full_losses, rtol=1e-13)


def test_each_worker_compiles_once_not_once_per_task(client):
    params, data, opt = _problem()
    trained = gd.train(client, digits.loss_fn, params, data, opt, 5)
    assert len(trained.workers) == 2
    for stats in trained.workers.values():
        # digits.loss_fn is importable: the function went by reference and each worker traced
        # its one shard signature once, in the object every step's task ran
        assert stats["kind"] == "Function" and stats["traces"] == 1 and stats["signatures"] == 1


def test_a_loss_that_is_not_importable_travels_compiled(client):
    params, data, opt = _problem()
    scale = np.float64(2.0)

    def loss(p, x, onehot):  # a closure: it cannot travel by reference
        return scale * digits.loss_fn(p, x, onehot)

    trained = gd.train(client, loss, params, data, opt, 3)
    local, _ = gd.train_local(loss, params, data, opt, 3, n_shards=2)
    for k in params:
        assert trained.params[k].tobytes() == local[k].tobytes(), k
    for stats in trained.workers.values():
        assert stats["kind"] == "Unpickled" and stats["traces"] == 0


def test_shards_split_like_array_split():
    x, y = np.arange(10), np.arange(10) * 2
    shards = gd.shard((x, y), 3)
    assert [len(s[0]) for s in shards] == [4, 3, 3]
    np.testing.assert_array_equal(np.concatenate([s[1] for s in shards]), y)
    with pytest.raises(gc.ShapeError, match="different lengths"):
        gd.shard((x, y[:5]), 2)
    with pytest.raises(gc.ArgumentError, match="cannot split 10 examples into 11"):
        gd.shard((x, y), 11)
