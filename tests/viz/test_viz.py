"""graphc viz: the drawing model, the DOT text (boxes, edges, clusters, colours), the HTML page's
embedded data, SVG/PNG through Graphviz (or the message saying how to install it), and the
command line for every example."""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
import pytest

import graphc as gc
from graphc import viz
from graphc.cli import main
from graphc.viz import dot as dot_mod
from graphc.viz.model import model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _loop_fn(x, y):
    z = gc.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, np.sin(c[1]) * 2.0), (0, x))[1]
    return (z * y).sum()


def _stages():
    return viz.stages(gc.function(gc.value_and_grad(_loop_fn)).concrete(np.ones(3), np.ones(3)))


def _count(drawing, kind=None):
    n = 0
    for b in drawing["boxes"]:
        n += kind is None or b["kind"] == kind
        n += sum(_count(k, kind) for k in b.get("children", ()))
    return n


def _clusters(drawing):
    return sum(len(b.get("children", ())) + sum(_clusters(k) for k in b.get("children", ()))
               for b in drawing["boxes"])


def test_the_model_holds_every_node_value_and_nested_graph():
    graphs = _stages()
    assert set(graphs) == {"traced", "optimized", "plan"}
    for name, g in graphs.items():
        d = model({name: g})[name]
        assert _count(d, "node") == g.count_nodes()  # nested graphs included
        nested = sum(1 for _ in _walk_graphs(g)) - 1
        assert _clusters(d) == nested
        ids = _ids(d)
        assert len(ids) == len(set(ids))
        for b in _all_boxes(d):  # every box placed inside its drawing, not overlapping its row
            assert b["x"] >= 0 and b["y"] >= 0 and b["w"] > 0 and b["h"] > 0


def _walk_graphs(g):
    yield g
    for sub in g.subgraphs():
        yield from _walk_graphs(sub)


def _all_boxes(d):
    for b in d["boxes"]:
        yield b
        for k in b.get("children", ()):
            yield from _all_boxes(k)


def _ids(d):
    return [b["id"] for b in _all_boxes(d)]


def test_layers_follow_the_data_flow():
    """Every edge goes down: an operand's box is above its user's (longest-path layering)."""
    d = model({"g": gc.make_graph(gc.value_and_grad(lambda x: np.tanh(x * x).sum()))(
        np.ones(4))})["g"]
    by_id = {b["id"]: b for b in d["boxes"]}
    assert d["edges"]
    for a, b, _ in d["edges"]:
        assert by_id[a]["y"] + by_id[a]["h"] <= by_id[b]["y"]


def test_dot_text_structure():
    graphs = _stages()
    d = model({"optimized": graphs["optimized"]})["optimized"]
    text = dot_mod.to_dot(d)
    assert text.startswith('digraph "value_and_grad__loop_fn" {') and text.rstrip().endswith("}")
    boxes = re.findall(r"^\s*(n\d+) \[label=", text, re.M)
    assert sorted(boxes) == sorted(_ids(d))
    edges = re.findall(r"^\s*(n\d+) -> (n\d+) \[label=", text, re.M)
    assert len(edges) == sum(len(x["edges"]) for x in [d, *(k for b in _all_boxes(d)
                                                            for k in b.get("children", ()))])
    assert len(re.findall(r"subgraph cluster_", text)) == _clusters(d) == 5
    assert 'label="body_graph: body_lambda"' in text
    assert dot_mod.FILL["bwd"] in text and dot_mod.FILL["fwd"] in text  # gradient nodes differ
    assert text.count("{") == text.count("}")


def test_html_page_is_self_contained_and_holds_every_stage(tmp_path):
    path = viz.write(str(tmp_path / "g.html"), _stages(), "plan", sources=[__file__])
    page = open(path, encoding="utf-8").read()
    assert "<script src" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "") and "https://" not in page
    data = json.loads(re.search(r"const STAGES = (\{.*?\});</script>", page, re.S).group(1))
    assert list(data) == ["plan", "traced", "optimized"]  # the chosen stage first
    codes = [b.get("code", "") for d in data.values() for b in _all_boxes(d)]
    assert any("np.sin(c[1]) * 2.0" in c for c in codes)  # the user's code line of a node


def test_svg_and_png_need_graphviz(tmp_path, monkeypatch):
    graphs = {"traced": gc.make_graph(lambda x: x * 2)(np.ones(2))}
    if shutil.which("dot"):
        svg = viz.write(str(tmp_path / "g.svg"), graphs)
        assert open(svg).read().lstrip().startswith(("<?xml", "<svg"))
        png = viz.write(str(tmp_path / "g.png"), graphs)
        assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(gc.GraphcError, match="apt install graphviz"):
        viz.write(str(tmp_path / "h.svg"), graphs)
    assert (tmp_path / "h.dot").read_text().startswith("digraph")


def test_bad_outputs_and_stages_are_refused(tmp_path):
    graphs = {"traced": gc.make_graph(lambda x: x * 2)(np.ones(2))}
    with pytest.raises(gc.GraphcError, match=r"must end in \.dot"):
        viz.write(str(tmp_path / "g.pdf"), graphs)
    with pytest.raises(gc.GraphcError, match="no stage 'plan'"):
        viz.write(str(tmp_path / "g.dot"), graphs, "plan")


EXAMPLES = [  # every example of the README and examples/: FILE:FUNC and its --arg specs
    ("examples/loss.py:loss", ["f32[3]", "f32[3]"], "0"),
    ("examples/mlp.py:mlp_loss", ["f32[4,8]", "f32[8]", "f32[8,1]", "f32[1]", "f32[16,4]",
                                  "f32[16,1]"], "0,1,2,3"),
    ("examples/conv2d.py:conv2d", ["f64[3,6,6]", "f64[4,3,3,3]", "f64[4]"], None),
    ("examples/d2l_control_flow.py:f", ["f64[]"], "0"),
    ("examples/gaussian_process.py:neg_log_marginal_likelihood", ["f64[3]", "f64[5,1]", "f64[5]"],
     "0"),
    ("examples/char_rnn.py:logsumexp", ["f32[4,5]"], None),
    ("examples/d2l_autodiff.py:detached_product", ["f64[4]"], "0"),
    ("examples/logistic_regression.py:forward", ["f64[8,2]", "f64[8]", "f64[2]", "f64[]"], "2,3"),
    ("examples/newton_hvp.py:objective", ["f64[5]", "f64[5,5]", "f64[5]", "f64[8,5]"], "0"),
    ("examples/sin_derivative.py:total_sin", ["f64[16]"], "0"),
]


@pytest.mark.parametrize("target,args,grad", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_command_line_writes_every_format(target, args, grad, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    flags = [a for spec in args for a in ("--arg", spec)] + (["--grad", grad] if grad else [])
    for ext in ("dot", "html") + (("svg",) if shutil.which("dot") else ()):
        out = tmp_path / f"g.{ext}"
        assert main(["viz", target, *flags, "-o", str(out)]) == 0, capsys.readouterr().err
        assert out.stat().st_size > 200
    assert main(["viz", target, *flags, "--stage", "traced", "-o", str(tmp_path / "t.dot")]) == 0
    assert "wrote" in capsys.readouterr().out


def test_command_line_errors(tmp_path, capsys):
    assert main(["viz", "examples/loss.py:loss", "--arg", "f32[3]", "--arg", "f32[3]",
                 "-o", str(tmp_path / "g.txt")]) == 2
    assert "must end in" in capsys.readouterr().err


def test_concrete_viz_from_python(tmp_path):
    c = gc.function(lambda x: np.sin(x).sum()).concrete(np.ones(3))
    assert c.viz(str(tmp_path / "g.html")) == str(tmp_path / "g.html")
    assert '"traced"' in (tmp_path / "g.html").read_text()
    c.viz(str(tmp_path / "g.dot"), "traced")
    assert "sin\\n" in (tmp_path / "g.dot").read_text()
