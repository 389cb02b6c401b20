"""docs/writing-a-lowering.md as a user follows it: the plugin lowers, the documented
output is what descend prints, and the compiled op matches its reference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "writing-a-lowering.md"


def documented_output(command: str) -> str:
    text = DOC.read_text()
    start = text.index(f"$ {command}\n") + len(command) + 3
    return text[start:text.index("```", start)]


def test_the_plugin_lowers_as_documented():
    command = ("descend opt --load-pass-plugin examples/my_lowering.py examples/my_lowering.mlir "
               "-p 'lower-graph-to-te,lower-te-to-loop'")
    done = subprocess.run([sys.executable, "-m", "descend", "opt", "--load-pass-plugin", "examples/my_lowering.py",
                           "examples/my_lowering.mlir", "-p", "lower-graph-to-te,lower-te-to-loop"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout == documented_output(command)


def test_compiled_op_matches_its_reference():
    import descend
    from descend.ir import Context
    from descend.rewrites.plugins import load_plugin
    context = Context()
    load_plugin(ROOT / "examples" / "my_lowering.py", context)
    module = descend.parse_file(ROOT / "examples" / "my_lowering.mlir", context=context)
    x = np.array([-2, 0.25, 0.75, 3], np.float32)
    (expected,) = descend.interpret(module, "main", [x])
    np.testing.assert_array_equal(expected, [-1, 0.25, 0.5, 0.5])
    (got,) = descend.compile(module).run([x])
    np.testing.assert_array_equal(got, expected)
