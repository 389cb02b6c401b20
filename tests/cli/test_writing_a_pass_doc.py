"""docs/writing-a-pass.md is runnable: every `$ descend ...` command in its console blocks
prints what the page shows (timings masked), the plugin shown is examples/my_pass.py
verbatim, the Python snippets run, and the built-in passes table lists every pass."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "writing-a-pass.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
NUMBER = re.compile(r"\d+\.\d{4}|\(\s*\d+\.\d%\)")


def blocks(kind: str) -> list[str]:
    return [body for language, body in BLOCK.findall(DOC.read_text()) if language == kind]


def console_commands() -> list[tuple[str, str]]:
    """(command, expected output) for every `$ ` line of the console blocks."""
    pairs = []
    for block in blocks("console"):
        command, output = None, []
        for line in block.splitlines(keepends=True):
            if line.startswith("$ "):
                if command is not None:
                    pairs.append((command, "".join(output)))
                command, output = line[2:].rstrip("\n"), []
            else:
                output.append(line)
        pairs.append((command, "".join(output)))
    return pairs


def shell(command: str) -> str:
    environment = dict(os.environ)
    environment["PATH"] = os.pathsep.join([str(ROOT / ".venv" / "bin"), os.path.dirname(sys.executable),
                                           environment.get("PATH", "")])
    done = subprocess.run(["bash", "-c", f"( {command} ) 2>&1"], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)
    return done.stdout


@pytest.mark.parametrize("command, expected", console_commands(),
                         ids=lambda value: value[:60] if isinstance(value, str) else None)
def test_console_commands_print_what_the_page_shows(command, expected):
    assert NUMBER.sub("N", shell(command)) == NUMBER.sub("N", expected)


def test_the_plugin_shown_is_the_example_file():
    assert blocks("python")[0] == (ROOT / "examples" / "my_pass.py").read_text()


@pytest.mark.parametrize("index", [1, 2])
def test_python_snippets_run(index):
    done = subprocess.run([sys.executable, "-c", blocks("python")[index]], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_table_lists_every_built_in_pass():
    from descend.rewrites import registered_passes
    built_in = {name for name, cls in registered_passes().items()
                if cls.__module__.startswith("descend.rewrites.transforms.")}
    table = set(re.findall(r"^\| `([a-z-]+)` \|", DOC.read_text(), re.M))
    assert table == built_in
