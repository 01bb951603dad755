"""Packaging metadata (issue 13, item 6): the licence file, what pyproject.toml declares, the
``py.typed`` marker, and a docstring on every public name."""

from __future__ import annotations

import pathlib
import re
import sys

import pytest

import graphc as gc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the text checks below run on 3.10
    with open(PYPROJECT, "rb") as f:
        return tomllib.load(f)


def test_license_file_is_mit():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 the graphc developers" in text
    assert "Permission is hereby granted, free of charge" in text


def test_pyproject_text_declares_license_and_typed_marker():
    """The same facts read with regular expressions, so Python 3.10 (no tomllib) checks them too."""
    text = PYPROJECT.read_text(encoding="utf-8")
    assert re.search(r'^license = "MIT"$', text, re.M)
    assert re.search(r'^license-files = \[.*"LICENSE".*\]$', text, re.M)
    # SPDX license expressions need setuptools >= 77 (PEP 639)
    m = re.search(r'requires = \["setuptools>=(\d+)', text)
    assert m and int(m.group(1)) >= 77
    package_data = re.search(r"^\[tool\.setuptools\.package-data\]\ngraphc = \[(.*)\]$", text, re.M)
    assert package_data and '"py.typed"' in package_data.group(1)
    for minor in range(10, 14):
        assert f'"Programming Language :: Python :: 3.{minor}"' in text


def test_pyproject_metadata():
    project = _pyproject()["project"]
    assert project["name"] == "graphc-compiler"
    assert project["license"] == "MIT"  # an SPDX expression, not a table
    assert "LICENSE" in project["license-files"]
    assert {"name": "The graphc developers"} in project["authors"]
    classifiers = project["classifiers"]
    for minor in range(10, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    for c in ("Intended Audience :: Science/Research",
              "Topic :: Scientific/Engineering :: Mathematics",
              "Topic :: Software Development :: Compilers"):
        assert c in classifiers
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    # setuptools refuses a License :: classifier next to an SPDX license expression
    assert not any(c.startswith("License :: ") for c in classifiers)
    assert project["keywords"]
    urls = project["urls"]
    for key in ("Homepage", "Repository", "Issues", "Changelog"):
        assert urls[key].startswith("https://github.com/graphc-dev/graphc"), key


def test_package_data_keeps_data_files_and_adds_py_typed():
    data = _pyproject()["tool"]["setuptools"]["package-data"]["graphc"]
    assert "py.typed" in data
    assert "data/*.npz" in data and "data/README.md" in data


def test_py_typed_marker_exists():
    assert (ROOT / "graphc" / "py.typed").is_file()
    assert (pathlib.Path(gc.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("name", gc.__all__)
def test_public_name_is_documented(name):
    obj = getattr(gc, name)
    doc = getattr(obj, "__doc__", None)
    assert doc and doc.strip(), f"graphc.{name} has no docstring"


def test_changelog_exists():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text and "## [0.1.0]" in text


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_build_requirement_supports_spdx_license():
    requires = _pyproject()["build-system"]["requires"]
    (setuptools,) = [r for r in requires if r.startswith("setuptools")]
    assert int(re.fullmatch(r"setuptools>=(\d+).*", setuptools).group(1)) >= 77
