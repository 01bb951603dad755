"""Autodiff tests run on the reference backend (the oracle), whatever the default backend is."""

import pytest

import graphc as gc
from graphc import config


@pytest.fixture(autouse=True)
def _reference_backend(monkeypatch):
    monkeypatch.setattr(config, "default_backend", "reference")


@pytest.fixture
def ref():
    """``gc.function`` on the reference backend (the whole pipeline except native code)."""
    return lambda f, **kw: gc.function(f, backend="reference", **kw)
