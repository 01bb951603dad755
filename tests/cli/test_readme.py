"""The README stays true: its set-up commands, its quick start and its `graphc dump` output."""

import os
import re
import shlex

from graphc.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


README = read("README.md")


def test_opens_with_two_setup_commands():
    first_block = re.search(r"\A# graphc\n\n`pip install graphc-compiler`[^\n]*import name is "
                            r"`graphc`[^\n]*\n\n```bash\n(.*?)```", README, re.DOTALL)
    assert first_block, "README must open with pip install graphc-compiler, then two commands"
    install, test = first_block.group(1).strip().splitlines()
    assert install.endswith("graphc demo") and "pip install ." in install
    assert "pip install '.[test]'" in test and test.endswith("python -m pytest")
    assert test in read(".ci", "run")  # CI runs exactly the README's test command


def test_quick_start_runs():
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", README, re.DOTALL).group(1)
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102


def test_dump_example_is_current(capsys, monkeypatch):
    block = re.search(r"```\n\$ (graphc dump [^\n]*)\n(.*?)```", README, re.DOTALL)
    monkeypatch.chdir(ROOT)
    assert main(shlex.split(block.group(1))[1:]) == 0
    assert capsys.readouterr().out == block.group(2)
