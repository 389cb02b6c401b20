"""`descend opt --rules`, rules brought by a plugin, and `--debug-rewrites`."""

from __future__ import annotations

import pytest

from descend import cli
from descend.rewrites.transforms.apply_rules import clear_registered_rules

INPUT = """func.func @f(%a: i32, %b: i32) -> i32 {
  %0 = arith.subi %a, %a : i32
  %1 = arith.addi %0, %b : i32
  func.return %1 : i32
}
"""

RULES = """# x - x -> 0
rule subi-self:
  arith.subi(x, x) -> 0
"""


@pytest.fixture(autouse=True)
def fresh_rules():
    clear_registered_rules()
    yield
    clear_registered_rules()


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_rules_flag_feeds_apply_rules_and_debug_rewrites_logs_to_stderr(tmp_path, capsys):
    (tmp_path / "in.mlir").write_text(INPUT)
    (tmp_path / "my.rules").write_text(RULES)
    code, out, err = run(capsys, "opt", tmp_path / "in.mlir", "--rules", tmp_path / "my.rules",
                         "-p", "apply-rules{fold=false}", "--debug-rewrites")
    assert code == 0, err
    assert "arith.subi" not in out and "arith.constant 0 : i32" in out
    assert f"[greedy-rewriter] apply 'subi-self' to 'arith.subi' at {tmp_path / 'in.mlir'}:2:8" in err
    assert "near miss" not in out


def test_a_broken_rule_file_is_a_located_error(tmp_path, capsys):
    (tmp_path / "in.mlir").write_text(INPUT)
    (tmp_path / "bad.rules").write_text("rule bad:\n  arith.subi(x, x) -> y\n")
    code, out, err = run(capsys, "opt", tmp_path / "in.mlir", "--rules", tmp_path / "bad.rules",
                         "-p", "apply-rules")
    assert code == 1 and out == ""
    assert err.startswith(f"{tmp_path / 'bad.rules'}:2:23: error: 'y' is not bound")
    assert "Traceback" not in err


def test_a_missing_rule_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "in.mlir").write_text(INPUT)
    code, _, err = run(capsys, "opt", tmp_path / "in.mlir", "--rules", tmp_path / "nope.rules")
    assert code == 1 and "cannot read rule file" in err


def test_a_plugin_brings_rules_and_their_constraint_functions(tmp_path, capsys):
    (tmp_path / "in.mlir").write_text(INPUT)
    (tmp_path / "plugin.py").write_text('''
from descend.rewrites import Rule, call, constraint_function, op, var

@constraint_function("plugin_same")
def plugin_same(a, b):
    return a is b

x, y = var("x"), var("y")
RULES = [Rule("plugin-subi-self", op("arith.subi", x, y), 0, where=[call("plugin_same", x, y)])]
''')
    code, out, err = run(capsys, "opt", tmp_path / "in.mlir", "--load-pass-plugin", tmp_path / "plugin.py",
                         "-p", "apply-rules")
    assert code == 0, err
    assert "arith.subi" not in out
