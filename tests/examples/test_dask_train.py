"""``examples/dask_train.py`` (issue 15, item 3) trains the digits MLP on two local Dask workers,
and its ``--bench`` times a step without Dask and on 1 and 2 workers."""

import pytest
from _examples import load

pytest.importorskip("distributed", reason="Dask is not installed (the distributed extra)")


def test_two_workers_train_the_digits_mlp():
    result, accuracy = load("dask_train").main(["--steps", "40"])
    assert result.losses[-1] < 0.2 * result.losses[0] and accuracy > 0.9
    assert len(result.workers) == 2 and all(s["traces"] == 1 for s in result.workers.values())


def test_bench_times_a_step(capsys):
    times = load("dask_train").main(["--bench", "--steps", "4"])
    assert set(times) == {"one process", 1, 2} and all(t > 0 for t in times.values())
    out = capsys.readouterr().out
    assert "one process, no Dask:" in out and "2 Dask workers:" in out
