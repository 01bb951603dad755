"""GRAPHC_* integer knobs: a value that is not an integer is a GraphcError naming the variable
(it was Python's bare ValueError, at ``import graphc``); unset or blank means the default."""

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


def test_import_with_a_bad_knob_names_it():
    env = dict(os.environ, GRAPHC_THREADS="many")
    out = subprocess.run([sys.executable, "-c", "import graphc"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert "GraphcError: GRAPHC_THREADS='many': expected an integer" in out.stderr, out.stderr
