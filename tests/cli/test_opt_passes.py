"""`descend opt` with passes: pipelines, IR printing, dumps, timing, statistics, plugins,
and pass errors under --verify-diagnostics and --split-input-file."""

import json
import textwrap

import pytest

from descend import cli
from descend.rewrites.passes import _REGISTRY, registered_passes

TEXT = """\
func.func @f(%a: i32) -> i32 {
  %0 = arith.addi %a, %a : i32
  %1 = arith.addi %a, %a : i32
  %2 = arith.muli %0, %1 : i32
  return %2 : i32
}
func.func private @unused() {
  return
}
"""

PLUGIN = '''
from dataclasses import dataclass
from typing import ClassVar

from descend.dialects.arith import ConstantOp
from descend.ir import Dialect, IntegerAttr, Operation, Pure, i32, operand, result
from descend.rewrites import Pass, function_pass, option


@dataclass(frozen=True)
class ZeroConstants(Pass):
    """Set every i32 constant to `value`."""

    name: ClassVar[str] = "zero-constants"
    value: int = option(0, help="the new value")

    def run(self, op, ctx):
        for nested in op.walk():
            if isinstance(nested, ConstantOp):
                nested.properties["value"] = IntegerAttr(self.value, i32)


@function_pass("refuse-functions")
def refuse_functions(op, ctx, *, reason: str = "no"):
    """Fail on the first function."""
    for nested in op.walk():
        if nested.name == "func.func":
            raise nested.error(f"refused: {reason}")


@function_pass("break-returns")
def break_returns(op, ctx):
    """Drop every return's operands (leaves invalid IR)."""
    for nested in op.walk():
        if nested.name == "func.return":
            nested.set_operands([])


@function_pass("crash")
def crash(op, ctx):
    """Raise a Python exception (a bug in the pass)."""
    raise ZeroDivisionError("the pass divided by zero")


class TwiceOp(Operation):
    """Doubles its operand."""

    name = "plug.twice"
    input = operand()
    output = result()
    traits = (Pure(),)
    assembly = "$input attr-dict `:` type($input) `->` type($output)"


PLUG = Dialect("plug", [TwiceOp])
'''


@pytest.fixture(autouse=True)
def registry():
    saved = dict(registered_passes())  # built-ins loaded first, so restoring keeps them
    yield
    _REGISTRY.clear()
    _REGISTRY.update(saved)


@pytest.fixture
def write(tmp_path):
    def write(text, name="input.mlir"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_pipeline_runs_and_the_ir_goes_to_stdout(capsys, write):
    code, out, err = run(capsys, "opt", write(TEXT), "-p", "builtin.module(func.func(cse),symbol-dce)")
    assert (code, err) == (0, "")
    assert out.count("arith.addi") == 1 and "@unused" not in out


@pytest.mark.parametrize("flag", ["--print-ir-after-all", "--mlir-print-ir-after-all"])
def test_ir_printing_goes_to_stderr(capsys, write, flag):
    code, out, err = run(capsys, "opt", write(TEXT), "-p", "func.func(cse)", flag)
    assert code == 0 and "IR Dump" not in out
    assert err.startswith("// -----// IR Dump After CSE (cse) ('func.func' operation: @f) //----- //\n")
    assert err.count("IR Dump After CSE") == 2


def test_print_before_and_after_named_passes_with_module_scope(capsys, write):
    code, _, err = run(capsys, "opt", write(TEXT), "-p", "func.func(cse),symbol-dce",
                       "--print-ir-before=symbol-dce", "--print-ir-after", "cse,symbol-dce",
                       "--print-ir-module-scope")
    headers = [line for line in err.splitlines() if line.startswith("// -----//")]
    assert headers == [
        "// -----// IR Dump After CSE (cse) ('func.func' operation: @f) //----- //",
        "// -----// IR Dump After CSE (cse) ('func.func' operation: @unused) //----- //",
        "// -----// IR Dump Before SymbolDCE (symbol-dce) //----- //",
        "// -----// IR Dump After SymbolDCE (symbol-dce) //----- //"]
    assert err.count("module {") == 4


def test_after_change_skips_passes_that_changed_nothing(capsys, write):
    code, _, err = run(capsys, "opt", write(TEXT), "-p", "func.func(cse,dce)", "--print-ir-after-change")
    headers = [line for line in err.splitlines() if line.startswith("// -----//")]
    assert headers == ["// -----// IR Dump After CSE (cse) ('func.func' operation: @f) //----- //"]


def test_unknown_pass_names_in_printing_flags(capsys, write):
    code, out, err = run(capsys, "opt", write(TEXT), "--print-ir-after=csee")
    assert (code, out) == (1, "")
    assert err.splitlines()[:2] == ["descend opt: error: --print-ir-after: unknown pass 'csee'",
                                    "  did you mean 'cse'?"]


def test_ir_dump_dir(capsys, write, tmp_path):
    code, _, _ = run(capsys, "opt", write(TEXT), "-p", "func.func(cse),symbol-dce",
                     "--ir-dump-dir", tmp_path / "dumps")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "dumps").iterdir()) == [
        "001_cse.mlir", "002_cse.mlir", "003_symbol-dce.mlir"]
    code, out, _ = run(capsys, "opt", tmp_path / "dumps" / "003_symbol-dce.mlir")
    assert code == 0 and "@unused" not in out


def test_timing_report_and_json(capsys, write):
    code, out, err = run(capsys, "opt", write(TEXT), "-p", "func.func(cse)", "--timing",
                         "--timing-display=tree")
    assert code == 0 and "Execution time report" not in out
    names = [line[21:] for line in err.splitlines()[6:]]
    assert names == ["Parser", "'func.func' Pipeline", "  CSE", "    (V) Verifier", "Output",
                     "Rest", "Total"]
    code, _, err = run(capsys, "opt", write(TEXT), "-p", "cse", "--mlir-timing",
                       "--mlir-output-format=json")
    rows = json.loads(err)
    assert {"Parser", "CSE", "Output", "Total"} <= {row["name"] for row in rows}


def test_pass_statistics(capsys, write):
    code, _, err = run(capsys, "opt", write(TEXT), "-p", "func.func(cse)", "--pass-statistics")
    assert code == 0
    assert "... Pass statistics report ...\n" in err
    assert "'func.func' Pipeline\n  CSE\n    (S) 1 num-cse'd - Number of operations CSE'd\n" in err


def test_print_pipeline_and_list_passes(capsys, write):
    code, out, err = run(capsys, "opt", write(TEXT), "--print-pipeline", "-p",
                         "func.func( cse , canonicalize{max-iterations=3} )")
    assert code == 0
    assert err == "builtin.module(func.func(cse,canonicalize{max-iterations=3}))\n"
    code, out, err = run(capsys, "opt", "--list-passes")
    assert (code, err) == (0, "")
    assert out.startswith("Passes:\n")
    assert "\n  cse " in out and "\n  symbol-dce " in out and "--max-iterations=<int>" in out


def test_verify_each_and_no_verify_each(capsys, write):
    plugin = write(PLUGIN, "plugin.py")
    code, out, err = run(capsys, "opt", write(TEXT), "--load-pass-plugin", plugin, "-p",
                         "func.func(break-returns)")
    assert (code, out) == (1, "")
    assert "'func.return' op has 0 operands" in err
    assert err.rstrip().endswith("note: pass 'break-returns' broke the IR: it no longer verifies "
                                 "after running on 'func.func' op @f (verify-each)")
    code, _, err = run(capsys, "opt", write(TEXT), "--load-pass-plugin", plugin, "--no-verify-each",
                       "-p", "func.func(break-returns),verify")
    assert code == 1 and "note: pass 'verify' failed on 'builtin.module' op" in err


def test_plugin_passes_options_and_dialects(capsys, write):
    plugin = write(PLUGIN, "plugin.py")
    source = write("func.func @f(%a: i32) -> i32 {\n"
                   "  %c = arith.constant 5 : i32\n"
                   "  %t = plug.twice %c : i32 -> i32\n"
                   "  return %t : i32\n}\n")
    code, out, err = run(capsys, "opt", source, "--load-pass-plugin", plugin,
                         "-p", "zero-constants{value=7}")
    assert (code, err) == (0, "")
    assert "arith.constant 7 : i32" in out and "plug.twice %c" in out
    code, out, _ = run(capsys, "opt", "--load-pass-plugin", plugin, "--list-passes")
    assert "zero-constants           Set every i32 constant to `value`." in out
    assert "--value=<int>  default 0; the new value" in out
    assert "refuse-functions" in out


def test_a_plugin_pass_error_is_matched_by_expected_error(capsys, write):
    plugin = write(PLUGIN, "plugin.py")
    source = write("// expected-error@+1 {{refused: by test}}\n"
                   "func.func @f() {\n  return\n}\n"
                   "// -----\n"
                   "// expected-error@+1 {{refused: by test}}\n"
                   "func.func @g() {\n  return\n}\n")
    code, out, err = run(capsys, "opt", source, "--load-pass-plugin", plugin, "--split-input-file",
                         "--verify-diagnostics", "-p", "refuse-functions{reason='by test'}")
    assert (code, err) == (0, "")
    code, _, err = run(capsys, "opt", source, "--load-pass-plugin", plugin, "--split-input-file",
                       "-p", "refuse-functions{reason='by test'}")
    assert code == 1
    assert "input.mlir:2:1: error: 'func.func' op refused: by test" in err
    assert "input.mlir:7:1: error: 'func.func' op refused: by test" in err
    assert err.count("note: pass 'refuse-functions' failed on 'builtin.module' op") == 2


def test_a_crashing_plugin_pass_is_an_internal_error_naming_the_pass(capsys, write, tmp_path):
    plugin = write(PLUGIN, "plugin.py")
    code, _, err = run(capsys, "opt", write(TEXT), "--load-pass-plugin", plugin, "-p", "crash",
                       "--crash-reproducer", tmp_path / "repro.mlir")
    assert code == 3
    assert "descend: internal error: ZeroDivisionError: the pass divided by zero" in err
    assert "descend: while running pass 'crash' (Crash) on 'builtin.module' op" in err
    assert (tmp_path / "repro.mlir").exists()


@pytest.mark.parametrize("content, message", [
    ("import nonexistent_module_xyz\n", "cannot load pass plugin '{path}': ModuleNotFoundError"),
    ("x = 1\n", "pass plugin '{path}' defines no pass, dialect or rules"),
    ("from dataclasses import dataclass\nfrom typing import ClassVar\n"
     "from descend.rewrites import Pass\n"
     "class Bad(Pass):\n    name: ClassVar[str] = 'bad'\n    factor: int = 2\n",
     "cannot load pass plugin '{path}': TypeError: pass class Bad declares options but is not a "
     "dataclass: decorate it with @dataclass(frozen=True)"),
])
def test_plugin_errors(capsys, write, content, message):
    plugin = write(content, "bad_plugin.py")
    code, out, err = run(capsys, "opt", write(TEXT), "--load-pass-plugin", plugin)
    assert (code, out) == (1, "")
    assert err.startswith("descend opt: error: " + message.format(path=plugin))


def test_a_missing_plugin_file(capsys, write, tmp_path):
    code, _, err = run(capsys, "opt", write(TEXT), "--load-pass-plugin", tmp_path / "nope.py")
    assert code == 1 and err.startswith("descend opt: error: cannot")


def test_debug_only_shows_why_a_call_was_not_inlined(capsys, write):
    source = write(textwrap.dedent("""\
        func.func private @decl(i32) -> i32
        func.func @f(%a: i32) -> i32 {
          %0 = func.call @decl(%a) : (i32) -> i32
          return %0 : i32
        }
        """))
    code, _, err = run(capsys, "opt", source, "-p", "inline", "--debug-only=inline")
    assert code == 0
    assert err == (f"[inline] not inlining the call to @decl in @f at {source}:3:8: "
                   "the callee is a declaration\n")
