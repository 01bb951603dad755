"""Object code offered by a pickle (``backend/llvm/shipping.py``, ``cache.Offer``): loaded only
for the very key it was recorded under and after the checks a cache file gets, else compiled."""

import logging

import numpy as np

import graphc as gc
from graphc.backend.llvm.shipping import ObjectCode


def _shipped():
    c = gc.function(lambda x: np.exp(x) * 2.0 + 1.0).concrete(np.ones(3))
    return c.executable.shipped(), c.executable.graph, c(np.linspace(0, 1, 3))


def _check(exe, want, from_pickle):
    (got,) = exe(np.linspace(0, 1, 3))
    assert got.tobytes() == want.tobytes()
    stats = exe.stats()
    assert stats["from_pickle"] is from_pickle
    assert not (stats["from_pickle"] and stats["from_disk_cache"])


def test_object_code_for_this_module_is_loaded_not_compiled():
    code, graph, want = _shipped()
    exe = code.compile(graph)
    _check(exe, want, True)
    assert "codegen" not in exe.stats()["compile_phases_ms"]


def test_object_code_recorded_for_another_cpu_is_not_loaded(caplog):
    code, graph, want = _shipped()
    other = ObjectCode(code.key.replace(b"\ncpu ", b"\ncpu other-"), code.object)
    with caplog.at_level(logging.DEBUG, logger="graphc"):
        _check(other.compile(graph), want, False)
    assert "recorded for cpu other-" in caplog.text and "this process has" in caplog.text


def test_damaged_object_code_is_refused_with_the_reason(caplog):
    code, graph, want = _shipped()
    for obj in (code.object[:200], b"not an object", None):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="graphc"):
            _check(ObjectCode(code.key, obj).compile(graph), want, False)
        assert "object code offered" in caplog.text
