"""``graphc demo``: an MLP on the shipped digits reaches the stated accuracy with one compiled
step, prints the IR with its input legend, the epochs and the figures, and refuses bad options."""

import io
import re

import numpy as np
import pytest

from graphc.cli import main
from graphc.examples import digits


def test_demo_trains_to_the_stated_accuracy():
    buf = io.StringIO()
    res = digits.run(epochs=12, out=buf)
    assert res["accuracy"][-1][1] >= 0.95  # test accuracy (the docstring states ~98% at 20)
    assert np.mean(res["losses"][-15:]) < np.mean(res["losses"][:15]) / 5
    text = buf.getvalue()
    assert "graph loss_fn(" in text and "%0 = params['b1']" in text
    assert len(re.findall(r"^epoch +\d+ +loss", text, re.M)) == 12
    for figure in ("compile (trace, differentiate, optimize, LLVM):", "nodes traced",
                   "time per step: graphc", "final test accuracy:"):
        assert figure in text


def test_the_numpy_step_is_the_same_step():
    """The hand-written NumPy step the demo times against computes what the compiled one does."""
    xtr, ytr, _, _ = digits.load_digits()
    onehot = np.eye(10, dtype=np.float32)[ytr[:50]]
    params = digits.init_params()
    state = digits._adam.init(params)
    np_state = {"t": 0, "mu": {k: np.zeros_like(v) for k, v in params.items()},
                "nu": {k: np.zeros_like(v) for k, v in params.items()}}
    new, _, loss = digits.train_step(params, state, xtr[:50], onehot)
    want, _, want_loss = digits.numpy_step(params, np_state, xtr[:50], onehot)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
    for k in params:
        np.testing.assert_allclose(new[k], want[k], rtol=1e-4, atol=1e-6)


def test_the_data_ships_with_the_package():
    xtr, ytr, xte, yte = digits.load_digits()
    assert xtr.shape == (1500, 64) and xte.shape == (297, 64)
    assert xtr.dtype == np.float32 and 0 <= xtr.min() and xtr.max() <= 1
    assert set(np.unique(np.r_[ytr, yte])) == set(range(10))


def test_demo_command(capsys, tmp_path):
    page = tmp_path / "step.html"
    assert main(["demo", "--epochs", "2", "--viz", str(page)]) == 0
    out = capsys.readouterr().out
    assert out.count("\nepoch ") == 2 and "final test accuracy:" in out
    assert f"wrote {page}" in out and '"optimized"' in page.read_text()


@pytest.mark.parametrize("bad", [["--epochs", "-5"], ["--epochs", "0"], ["--epochs", "x"]])
def test_bad_options_are_refused(capsys, bad):
    assert main(["demo", *bad]) == 2
    assert "positive integer" in capsys.readouterr().err


def test_version(capsys):
    import graphc

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"graphc {graphc.__version__}"
