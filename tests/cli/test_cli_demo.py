"""``graphc demo``: it prints the traced IR and a gradient graph, and the loss really falls."""

import io
import itertools
import re

from graphc.cli import main


def test_demo_learns_the_line():
    from graphc.examples import linear_regression as demo

    buf = io.StringIO()
    res = demo.run(steps=150, out=buf)
    losses = res["losses"]
    assert len(losses) == 150
    assert losses[-1] < losses[0] / 100
    assert all(b <= a * (1 + 1e-6) for a, b in itertools.pairwise(losses))  # SGD, convex
    assert abs(res["w"] - demo.TRUE_W) < 0.05 and abs(res["b"] - demo.TRUE_B) < 0.05
    text = buf.getvalue()
    assert "graph loss_fn(" in text and "graph train_step(" in text
    assert "bwd" in text  # the gradient part of the step is visible in its IR


def test_demo_command(capsys):
    assert main(["demo", "--steps", "20"]) == 0
    out = capsys.readouterr().out
    assert "graph loss_fn(" in out and "learned w =" in out
    losses = [float(v) for v in re.findall(r"step\s+\d+\s+loss ([0-9.eE+-]+)", out)]
    assert len(losses) >= 2 and losses[-1] < losses[0]
