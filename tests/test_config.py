"""GRAPHC_* integer knobs: a value that is not an integer, or out of the knob's range, is a
GraphcError naming the variable (it was Python's bare ValueError, at ``import graphc`` or LLVM's at
the first compile); unset or blank means the default."""

import os
import subprocess
import sys

import pytest

from graphc import config
from graphc.errors import GraphcError


@pytest.mark.parametrize("value", ["abc", "1.5", "0x10", "2 3"])
def test_integer_knob_that_is_not_an_integer(monkeypatch, value):
    monkeypatch.setenv("GRAPHC_TEST_KNOB", value)
    with pytest.raises(GraphcError, match=rf"GRAPHC_TEST_KNOB='{value}': expected an integer"):
        config._int("GRAPHC_TEST_KNOB", 3)


@pytest.mark.parametrize("value,expected", [(None, 3), ("", 3), ("  ", 3), (" 7 ", 7), ("0", 0)])
def test_integer_knob_values(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("GRAPHC_TEST_KNOB", raising=False)
    else:
        monkeypatch.setenv("GRAPHC_TEST_KNOB", value)
    assert config._int("GRAPHC_TEST_KNOB", 3) == expected


@pytest.mark.parametrize("value", ["-1", "4", "9"])
def test_integer_knob_out_of_range(monkeypatch, value):
    monkeypatch.setenv("GRAPHC_TEST_KNOB", value)
    with pytest.raises(GraphcError, match=rf"GRAPHC_TEST_KNOB='{value}': expected 0 to 3"):
        config._int("GRAPHC_TEST_KNOB", 2, range(4))
    monkeypatch.setenv("GRAPHC_TEST_KNOB", "3")
    assert config._int("GRAPHC_TEST_KNOB", 2, range(4)) == 3


@pytest.mark.parametrize(
    "name,value,words",
    [("GRAPHC_THREADS", "many", "an integer"), ("GRAPHC_LLVM_OPT", "9", "0 to 3")],
)
def test_import_with_a_bad_knob_names_it(name, value, words):
    env = dict(os.environ, **{name: value})
    out = subprocess.run([sys.executable, "-c", "import graphc"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert f"GraphcError: {name}='{value}': expected {words}" in out.stderr, out.stderr
