"""`descend check-rules`: one line per rule, exit 1 with the counterexample at the first
rule that changes results, located diagnostics (never tracebacks) for bad files."""

from __future__ import annotations

import textwrap

import pytest

from descend import cli
from descend.rewrites import CONSTRAINTS

GOOD = """\
# x * 1 -> x
rule muli-one:
  arith.muli(x, 1) -> x

# (x ^ y) ^ y -> x
rule xori-cancel:
  arith.xori(arith.xori(x, y), y) -> x
"""

WRONG = GOOD + """
# x - y -> y - x (wrong on purpose)
rule subi-swap:
  arith.subi(x, y) -> arith.subi(y, x)

rule never-checked:
  arith.addi(x, y) -> arith.addi(y, x)
"""


def run(tmp_path, capsys, text: str, *flags: str, name: str = "my.rules"):
    path = tmp_path / name
    path.write_text(text)
    code = cli.main(["check-rules", str(path), *flags])
    out, err = capsys.readouterr()
    return code, out, err, str(path)


def test_every_rule_gets_a_line(tmp_path, capsys):
    code, out, err, _ = run(tmp_path, capsys, GOOD, "--examples", "15", "--seed", "1")
    assert code == 0 and err == ""
    assert out == "ok   muli-one (15 examples)\nok   xori-cancel (15 examples)\n"


def test_a_wrong_rule_stops_the_run_with_its_counterexample(tmp_path, capsys):
    code, out, err, path = run(tmp_path, capsys, WRONG, "--examples", "50", "--seed", "1")
    assert code == 1
    lines = out.splitlines()
    assert lines[:3] == ["ok   muli-one (50 examples)", "ok   xori-cancel (50 examples)", "FAIL subi-swap"]
    assert "never-checked" not in out
    assert "inputs = [" in out and "\nbefore:\n" in out and "\nafter:\n" in out
    assert "arith.subi %arg1, %arg0" in out
    assert out.rstrip().endswith("(found with --seed 1)")
    assert err.startswith(f"{path}:10:6: error: rule 'subi-swap' changes results: before and after "
                          "are not equivalent: result #0 differs")
    assert err.splitlines()[1:] == ["rule subi-swap:", "     ^~~~~~~~~"]


def test_selected_rules_and_unchecked_ones(tmp_path, capsys):
    never = "rule never:\n  arith.addi(x : f32, y) -> x\n"
    code, out, err, path = run(tmp_path, capsys, GOOD + never, "--examples", "5", "--rule", "never")
    assert code == 1 and out == "FAIL never (could not be checked)\n"
    assert err.startswith(f"{path}:8:6: error: rule 'never' could not be checked: none of")
    assert "\nrule never:\n     ^~~~~\nnote: rejected: " in err
    assert "no well-typed instance of 'arith.addi'" in err
    code, out, err, _ = run(tmp_path, capsys, GOOD + never, "--examples", "5", "--rule", "never",
                            "--allow-unchecked")
    assert code == 0 and out == "skip never (no instance could be made; --allow-unchecked)\n"
    code, out, err, _ = run(tmp_path, capsys, GOOD, "--rule", "nope")
    assert code == 1 and "no rule named 'nope'" in err


def test_file_errors_are_located_diagnostics(tmp_path, capsys):
    code, out, err, path = run(tmp_path, capsys, "rule a:\n  arith.muli(x, 1) -> y\n")
    assert code == 1 and out == ""
    assert err == textwrap.dedent(f"""\
        {path}:2:23: error: 'y' is not bound by the match of rule 'a' (it binds 'x')
          arith.muli(x, 1) -> y
                              ^
        """)
    code = cli.main(["check-rules", str(tmp_path / "missing.rules")])
    out, err = capsys.readouterr()
    assert code == 1 and "cannot read rule file" in err and "Traceback" not in err


def test_plugins_register_the_functions_rules_name(tmp_path, capsys):
    plugin = tmp_path / "my_functions.py"
    plugin.write_text(textwrap.dedent("""\
        from descend.rewrites import constant_value, constraint_function

        @constraint_function("test_cli_is_zero")
        def is_zero(c):
            value = constant_value(c)
            return value is not None and not value.any()
        """))
    text = "rule addi-zero:\n  arith.addi(x, const(c)) where test_cli_is_zero(c) -> x\n"
    try:
        code, out, err, _ = run(tmp_path, capsys, text, "--examples", "10")
        assert code == 1 and "unknown constraint function 'test_cli_is_zero'" in err
        code, out, err, _ = run(tmp_path, capsys, text, "--examples", "10", "--load-pass-plugin", str(plugin))
        assert code == 0 and out == "ok   addi-zero (10 examples)\n"
        broken = tmp_path / "broken.py"
        broken.write_text("raise RuntimeError('boom')\n")
        code, out, err, _ = run(tmp_path, capsys, text, "--load-pass-plugin", str(broken))
        assert code == 1 and "cannot load pass plugin" in err and "RuntimeError: boom" in err
    finally:
        CONSTRAINTS.pop("test_cli_is_zero", None)


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["check-rules"])
    assert info.value.code == 2
