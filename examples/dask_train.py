"""Data-parallel training of the digits MLP on Dask with ``graphc.distributed``.

    python examples/dask_train.py                      # 2 local worker processes, 50 steps
    python examples/dask_train.py --scheduler tcp://HOST:8786   # a running cluster's workers
    python examples/dask_train.py --bench --scale 20   # time a step on 1 and 2 local workers

Each step is one full-batch gradient step of Adam over the 1,500 training images (``--scale K``
repeats them K times, for more work per step): every worker computes its shard's loss and
gradient with the compiled function it was sent once, the workers add them along a tree and the
client applies the update. Needs ``pip install 'graphc-compiler[distributed]'``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import graphc as gc
from graphc import distributed as gd
from graphc.examples import digits


def dataset(scale: int, dtype) -> tuple:
    x, y, _, _ = digits.load_digits()
    return np.tile(x.astype(dtype), (scale, 1)), np.tile(np.eye(10, dtype=dtype)[y], (scale, 1))


def initial_params(dtype) -> dict:
    return {k: v.astype(dtype) for k, v in digits.init_params().items()}


def median_step_ms(run) -> float:
    """The median wall time in milliseconds between the steps of ``run(on_step)``: from the end
    of the first (which compiles) on."""
    marks = []
    run(lambda i, loss: marks.append(time.perf_counter()))
    return statistics.median(np.diff(marks)) * 1e3


def bench(scale: int, steps: int, dtype) -> dict:
    """Milliseconds a step without Dask and on 1 and 2 local workers (printed too)."""
    from distributed import Client, LocalCluster

    data, params, opt = dataset(scale, dtype), initial_params(dtype), gc.optim.adam(1e-2)
    print(f"{len(data[0])} examples, {np.dtype(dtype).name}, median of {steps - 1} steps")
    times = {"one process": median_step_ms(lambda on_step: gd.train_local(
        digits.loss_fn, params, data, opt, steps, on_step=on_step))}
    print(f"  one process, no Dask: {times['one process']:.2f} ms a step")
    for n in (1, 2):
        with LocalCluster(n_workers=n, processes=True, threads_per_worker=1) as cluster, \
                Client(cluster) as client:
            times[n] = median_step_ms(lambda on_step: gd.train(
                client, digits.loss_fn, params, data, opt, steps, on_step=on_step))
        print(f"  {n} Dask worker{'s' if n > 1 else ''}: {times[n]:.2f} ms a step")
    return times


def main(argv=None):
    """Train (returns the ``Trained`` result and the test accuracy) or, with ``--bench``, time a
    step (returns the milliseconds by number of workers)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="a Dask scheduler's address (default: a local one)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--scale", type=int, default=1, help="repeat the data this many times")
    parser.add_argument("--float64", action="store_true", help="train in float64")
    parser.add_argument("--bench", action="store_true", help="time a step on 1 and 2 workers")
    args = parser.parse_args(argv)
    dtype = np.float64 if args.float64 else np.float32
    if args.bench:
        return bench(args.scale, args.steps, dtype)
    from distributed import Client, LocalCluster

    cluster = None if args.scheduler else LocalCluster(n_workers=args.workers, processes=True,
                                                       threads_per_worker=1)
    with Client(args.scheduler or cluster) as client:
        result = gd.train(
            client, digits.loss_fn, initial_params(dtype), dataset(args.scale, dtype),
            gc.optim.adam(1e-2), args.steps,
            on_step=lambda i, loss: print(f"step {i + 1:3d}  loss {loss:.4f}") if i % 10 == 9
            else None)
    if cluster is not None:
        cluster.close()
    x, y = digits.load_digits()[2:]
    params = {k: v.astype(np.float32) for k, v in result.params.items()}
    accuracy = float(np.mean(digits.predict(params, x) == y))
    traces = {w: s["traces"] for w, s in result.workers.items()}
    print(f"test accuracy {accuracy:.3f}; traces per worker: {traces}")
    return result, accuracy


if __name__ == "__main__":
    main()
