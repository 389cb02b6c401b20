"""Instrumentation: hook order, IR printing in MLIR's format, IR dumps, timing, statistics."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import ClassVar

import pytest

import descend
from descend.rewrites import (DumpIR, Pass, PassFailure, PassInstrument, PassManager, PrintAfterAll,
                              PrintIR, Timing)

TEXT = """func.func @f(%a: i32) -> i32 {
  %0 = arith.addi %a, %a : i32
  %1 = arith.addi %a, %a : i32
  %2 = arith.muli %0, %1 : i32
  return %2 : i32
}
func.func private @g() {
  return
}
"""

F_BEFORE = """func.func @f(%a: i32) -> i32 {
  %0 = arith.addi %a, %a : i32
  %1 = arith.addi %a, %a : i32
  %2 = arith.muli %0, %1 : i32
  return %2 : i32
}
"""

F_AFTER = """func.func @f(%a: i32) -> i32 {
  %0 = arith.addi %a, %a : i32
  %1 = arith.muli %0, %0 : i32
  return %1 : i32
}
"""

G = """func.func private @g() {
  return
}
"""


def run(pipeline: str, *instruments, text: str = TEXT):
    pm = PassManager.parse(pipeline)
    for instrument in instruments:
        pm.add_instrument(instrument)
    module = descend.parse(text)
    pm.run(module)
    return pm, module


class Events(PassInstrument):
    def __init__(self):
        self.events = []

    def run_before_pipeline(self, manager, op):
        self.events.append(("enter", manager.anchor_text))

    def run_after_pipeline(self, manager, op):
        self.events.append(("exit", manager.anchor_text))

    def run_before_pass(self, pass_, op):
        self.events.append(("before", pass_.name))

    def run_after_pass(self, pass_, op):
        self.events.append(("after", pass_.name))

    def run_after_pass_failed(self, pass_, op):
        self.events.append(("failed", pass_.name))

    def run_before_verify(self, pass_, op):
        self.events.append(("verify", pass_.name))


def test_hooks_come_in_order_and_a_failure_replaces_after_pass():
    events = Events()
    run("builtin.module(func.func(cse),dce)", events, text=G)
    assert events.events == [("enter", "builtin.module"), ("enter", "func.func"),
                             ("before", "cse"), ("verify", "cse"), ("after", "cse"),
                             ("exit", "func.func"), ("before", "dce"), ("verify", "dce"),
                             ("after", "dce"), ("exit", "builtin.module")]

    @dataclass(frozen=True)
    class Fails(Pass):
        name: ClassVar[str] = "fails"

        def run(self, op, ctx):
            raise op.error("no")

    events = Events()
    pm = PassManager().add(Fails())
    pm.add_instrument(events)
    with pytest.raises(PassFailure):
        pm.run(descend.parse(G))
    assert events.events == [("enter", "builtin.module"), ("before", "fails"),
                             ("failed", "fails"), ("exit", "builtin.module")]


def test_print_after_all_reads_like_mlir():
    stream = io.StringIO()
    run("builtin.module(func.func(cse),symbol-dce)", PrintAfterAll(stream=stream))
    assert stream.getvalue() == (
        "// -----// IR Dump After CSE (cse) ('func.func' operation: @f) //----- //\n" + F_AFTER + "\n"
        "// -----// IR Dump After CSE (cse) ('func.func' operation: @g) //----- //\n" + G + "\n"
        "// -----// IR Dump After SymbolDCE (symbol-dce) //----- //\n"
        "module {\n" + "".join("  " + line + "\n" for line in F_AFTER.splitlines()) + "}\n\n")


def test_print_before_and_after_selected_passes():
    stream = io.StringIO()
    run("builtin.module(func.func(cse,dce))", PrintIR(before=["cse"], after=["dce"], stream=stream))
    headers = [line for line in stream.getvalue().splitlines() if line.startswith("// -----//")]
    assert headers == [
        "// -----// IR Dump Before CSE (cse) ('func.func' operation: @f) //----- //",
        "// -----// IR Dump After DCE (dce) ('func.func' operation: @f) //----- //",
        "// -----// IR Dump Before CSE (cse) ('func.func' operation: @g) //----- //",
        "// -----// IR Dump After DCE (dce) ('func.func' operation: @g) //----- //"]
    assert F_BEFORE in stream.getvalue()


def test_after_change_prints_only_what_changed():
    stream = io.StringIO()
    run("builtin.module(func.func(cse,dce))", PrintIR(after_change=True, stream=stream))
    assert stream.getvalue() == (
        "// -----// IR Dump After CSE (cse) ('func.func' operation: @f) //----- //\n" + F_AFTER + "\n")


def test_module_scope_prints_the_whole_module():
    stream = io.StringIO()
    run("builtin.module(func.func(cse))", PrintIR(after=["cse"], module_scope=True, stream=stream))
    dumps = stream.getvalue().split("// -----// IR Dump After CSE (cse) ")[1:]
    assert len(dumps) == 2
    assert dumps[0].startswith("('func.func' operation: @f) //----- //\nmodule {\n")
    assert "func.func private @g()" in dumps[0]


@dataclass(frozen=True)
class Break(Pass):
    """Drop the return's operand, leaving the function invalid."""

    name: ClassVar[str] = "break"

    def run(self, op, ctx):
        op.regions[0].blocks[0].last.set_operands([])


def test_after_failure_prints_the_broken_ir_generically_and_only_that():
    stream = io.StringIO()
    pm = PassManager.parse("builtin.module(func.func(cse))")
    pm.passes[0].add(Break())
    pm.add_instrument(PrintIR(after_all=True, after_failure=True, stream=stream))
    with pytest.raises(PassFailure):
        pm.run(descend.parse(TEXT))
    text = stream.getvalue()
    assert text.startswith("// -----// IR Dump After Break Failed (break) ('func.func' operation: @f)")
    assert '"func.return"() : () -> ()' in text  # generic: the op no longer verifies
    assert "After CSE" not in text


def test_enable_ir_printing_is_mlir_pythons_name():
    stream = io.StringIO()
    pm = PassManager.parse("builtin.module(func.func(cse))")
    instrument = pm.enable_ir_printing(print_before_all=True, print_after_all=False, stream=stream)
    pm.run(descend.parse(G))
    assert isinstance(instrument, PrintIR)
    assert stream.getvalue().startswith("// -----// IR Dump Before CSE (cse)")


def test_dump_ir_writes_one_numbered_file_per_pass_run(tmp_path):
    dump = DumpIR(tmp_path / "dumps")
    run("builtin.module(func.func(cse),symbol-dce)", dump)
    names = sorted(p.name for p in (tmp_path / "dumps").iterdir())
    assert names == ["001_cse.mlir", "002_cse.mlir", "003_symbol-dce.mlir"]
    first = (tmp_path / "dumps" / "001_cse.mlir").read_text()
    assert first.startswith("// -----// IR Dump After CSE (cse) ('func.func' operation: @f) //----- //\n")
    reparsed = descend.parse(first)  # each file is the whole module, ready for descend opt
    assert "@g" in reparsed.print() and reparsed.print().count("arith.addi") == 1
    assert "@g" not in (tmp_path / "dumps" / "003_symbol-dce.mlir").read_text()


def test_timing_tree_follows_the_pipeline():
    timing = Timing(display="tree")
    with timing.time("Parser"):
        pass
    run("builtin.module(func.func(cse,dce),symbol-dce)", timing)
    report = timing.report()
    lines = report.splitlines()
    assert lines[0] == "===" + "-" * 73 + "==="
    assert lines[1] == " " * 25 + "... Execution time report ..."
    assert lines[3].startswith("  Total Execution Time: ") and lines[3].endswith(" seconds")
    assert lines[5] == "  ----Wall Time----  ----Name----"
    names = [line[21:] for line in lines[6:]]
    assert names == ["Parser", "'func.func' Pipeline", "  CSE", "    (V) Verifier", "  DCE",
                     "    (V) Verifier", "SymbolDCE", "  (V) Verifier", "Rest", "Total"]
    assert lines[-1].endswith("(100.0%)  Total")
    for line in lines[6:]:
        assert line[2:10].strip().replace(".", "").isdigit() and line[10:12] == " ("


def test_timing_list_merges_by_name_and_sorts_and_json_is_json():
    timing = Timing(display="list", format="json")
    run("builtin.module(func.func(cse),cse)", timing)
    rows = json.loads(timing.report())
    names = [row["name"] for row in rows]
    assert names.count("CSE") == 1 and names.count("(V) Verifier") == 1
    assert names[-2:] == ["Rest", "Total"]
    durations = [row["wall"]["duration"] for row in rows[:-2]]
    assert durations == sorted(durations, reverse=True)
    assert rows[-1]["wall"]["percentage"] == 100.0

    tree = Timing(display="tree", format="json")
    run("builtin.module(func.func(cse))", tree)
    (pipeline, rest, total) = json.loads(tree.report())
    assert pipeline["name"] == "'func.func' Pipeline" and pipeline["passes"][0]["name"] == "CSE"


def test_timing_rejects_unknown_display_and_format():
    with pytest.raises(ValueError, match="'list' or 'tree'"):
        Timing(display="graph")
    with pytest.raises(ValueError, match="'text' or 'json'"):
        Timing(format="yaml")


def test_statistics_report_reads_like_mlir():
    pm, _ = run("builtin.module(func.func(cse),symbol-dce)")
    assert pm.statistics_report() == (
        "===" + "-" * 73 + "===\n"
        + " " * 25 + "... Pass statistics report ...\n"
        + "===" + "-" * 73 + "===\n"
        "'func.func' Pipeline\n"
        "  CSE\n"
        "    (S) 1 num-cse'd - Number of operations CSE'd\n"
        "    (S) 0 num-dce'd - Number of operations DCE'd\n"
        "SymbolDCE\n"
        "  (S) 1 num-dce'd - Number of symbols DCE'd\n")
