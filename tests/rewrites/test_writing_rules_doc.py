"""docs/writing-rules.md runs as written: every `$ command` of its console blocks gives the
output shown (a `...` line stands for any lines), and its Python example works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "writing-rules.md"
BIN = Path(sys.executable).parent


def console_commands() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each `$ ` line of the ```console blocks."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *output = chunk.rstrip("\n").split("\n")
            found.append((command, output))
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and matches(expected[1:], actual[1:])


COMMANDS = console_commands()


def test_the_walkthrough_has_its_commands():
    names = [command.split()[1] for command, _ in COMMANDS]
    assert names.count("check-rules") == 3 and names.count("opt") == 2


@pytest.mark.parametrize("command, expected", COMMANDS, ids=[c for c, _ in COMMANDS])
def test_documented_command(command, expected):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run(["bash", "-c", f"( {command} ) 2>&1"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    actual = run.stdout.rstrip("\n").split("\n") if run.stdout.strip() else []
    assert matches(expected, actual), f"$ {command}\n--- documented:\n" + "\n".join(expected) + \
        "\n--- actual:\n" + run.stdout


def test_python_example(monkeypatch, capsys):
    text = DOC.read_text()
    section = text.split("## 8. From Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "path", list(sys.path))
    from descend.rewrites import CONSTRAINTS, BUILDERS
    try:
        exec(compile(code, str(DOC), "exec"), {})
    finally:
        CONSTRAINTS.pop("is_power_of_two", None)
        BUILDERS.pop("log2", None)
        sys.modules.pop("my_functions", None)
    out = capsys.readouterr().out
    assert "rule maxsi-of-minsi:" in out and "RuleCheck('muli-to-shli', 50 examples)" in out
