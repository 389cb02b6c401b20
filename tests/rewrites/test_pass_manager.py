"""Pass managers: nesting semantics, verify-each, failures, dependent dialects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

import descend
from descend.dialects import BUILTIN, FUNC
from descend.ir import Context, DiagnosticError, StringAttr
from descend.rewrites import Pass, PassFailure, PassManager, PipelineError
from descend.rewrites.pass_manager import describe_op

TWO_FUNCTIONS = """
func.func @f() {
  return
}
func.func @g() {
  return
}
module @inner {
  func.func @h() {
    return
  }
}
"""


@dataclass(frozen=True)
class Record(Pass):
    """Append (tag, op) to a shared log."""

    name: ClassVar[str] = "record"
    tag: str = ""
    log: list = None

    def run(self, op, ctx):
        self.log.append((self.tag, describe_op(op)))


def test_a_nested_manager_runs_its_whole_list_on_each_direct_child_in_turn():
    log = []
    pm = PassManager()
    nested = pm.nest("func.func")
    nested.add(Record(tag="a", log=log)).add(Record(tag="b", log=log))
    pm.add(Record(tag="c", log=log))
    pm.run(descend.parse(TWO_FUNCTIONS))
    assert log == [("a", "'func.func' op @f"), ("b", "'func.func' op @f"),
                   ("a", "'func.func' op @g"), ("b", "'func.func' op @g"),
                   ("c", "'builtin.module' op")]


def test_deeper_ops_need_their_own_nesting_and_any_matches_every_child():
    log = []
    pm = PassManager()
    pm.nest("builtin.module").nest("func.func").add(Record(tag="deep", log=log))
    pm.nest(None).add(Record(tag="any", log=log))
    pm.run(descend.parse(TWO_FUNCTIONS))
    assert log == [("deep", "'func.func' op @h"), ("any", "'func.func' op @f"),
                   ("any", "'func.func' op @g"), ("any", "'builtin.module' op @inner")]


@dataclass(frozen=True)
class BreakIt(Pass):
    """Give every function a result type its return does not match."""

    name: ClassVar[str] = "break-it"

    def run(self, op, ctx):
        from descend.ir import FunctionType, TypeAttr, i32
        op.properties["function_type"] = TypeAttr(FunctionType([], [i32]))


def test_verify_each_names_the_pass_that_broke_the_ir():
    module = descend.parse("func.func @f() {\n  return\n}", filename="broken.mlir")
    pm = PassManager()
    pm.nest("func.func").add(BreakIt())
    with pytest.raises(PassFailure) as caught:
        pm.run(module)
    failure = caught.value
    assert failure.original[0].message.startswith("'func.return' op has 0 operands")
    rendered = str(failure)
    assert rendered.startswith("broken.mlir:2:3: error: 'func.return' op has 0 operands")
    assert rendered.endswith("note: pass 'break-it' broke the IR: it no longer verifies after "
                             "running on 'func.func' op @f (verify-each)")
    assert failure.pass_.name == "break-it" and failure.op.name == "func.func"
    assert failure.original[0].notes == []  # the note is only on the rendered copy

    module = descend.parse("func.func @f() {\n  return\n}")
    pm.verify_each = False
    pm.run(module)  # nobody checks: the broken IR goes through
    with pytest.raises(DiagnosticError):
        descend.verify(module)


@dataclass(frozen=True)
class Refuse(Pass):
    """Fail at the first function, as a pass reports a user error."""

    name: ClassVar[str] = "refuse"

    def run(self, op, ctx):
        raise op.error("cannot handle this function")


def test_a_failing_pass_keeps_its_located_error_and_gets_a_note():
    module = descend.parse("func.func @f() {\n  return\n}", filename="refused.mlir")
    pm = PassManager()
    pm.nest("func.func").add(Refuse())
    with pytest.raises(PassFailure) as caught:
        pm.run(module)
    lines = str(caught.value).splitlines()
    assert lines[0] == "refused.mlir:1:1: error: 'func.func' op cannot handle this function"
    assert lines[-1] == "note: pass 'refuse' failed on 'func.func' op @f"
    assert isinstance(caught.value, DiagnosticError)


@dataclass(frozen=True)
class Crash(Pass):
    """A bug: an exception that is not a diagnostic."""

    name: ClassVar[str] = "crash"

    def run(self, op, ctx):
        raise KeyError("oops")


def test_an_unexpected_exception_propagates_with_a_note_naming_the_pass():
    with pytest.raises(KeyError) as caught:
        PassManager().add(Crash()).run(descend.parse("func.func @f() { return }"))
    assert caught.value.__notes__ == ["while running pass 'crash' (Crash) on 'builtin.module' op"]


@dataclass(frozen=True)
class NeedsArith(Pass):
    """Declares that it creates arith ops."""

    name: ClassVar[str] = "needs-arith"
    dependent_dialects: ClassVar[tuple[str, ...]] = ("arith",)

    def run(self, op, ctx):
        assert "arith" in ctx.dialects


def test_dependent_dialects_are_registered_before_running():
    context = Context([BUILTIN, FUNC])
    module = descend.parse("func.func @f() { return }", context=context)
    assert "arith" not in context.dialects
    PassManager(context=context).add(NeedsArith()).run(module)
    assert "arith" in context.dialects


def test_an_unknown_dependent_dialect_is_a_pipeline_error():
    @dataclass(frozen=True)
    class NeedsMystery(Pass):
        name: ClassVar[str] = "needs-mystery"
        dependent_dialects: ClassVar[tuple[str, ...]] = ("mystery",)

    with pytest.raises(PipelineError, match="depends on dialect 'mystery'"):
        PassManager().add(NeedsMystery()).run(descend.parse("func.func @f() { return }"))


def test_add_wants_instances():
    with pytest.raises(TypeError, match=r"add an instance of Record, e.g. pm.add\(Record\(\)\)"):
        PassManager().add(Record)


def test_the_python_api_entry_points():
    assert descend.PassManager is PassManager
    module = descend.parse("""
    func.func private @unused() {
      return
    }
    func.func @f(%a: i32) -> i32 {
      %0 = arith.addi %a, %a : i32
      %1 = arith.addi %a, %a : i32
      %2 = arith.muli %0, %1 : i32
      return %2 : i32
    }""")
    descend.PassManager.parse("builtin.module(func.func(cse),symbol-dce)").run(module)
    text = module.print()
    assert text.count("arith.addi") == 1 and "@unused" not in text


def test_describe_op_uses_the_symbol_name():
    module = descend.parse("func.func @f() { return }")
    module.attributes["sym_name"] = StringAttr("m")
    assert describe_op(module) == "'builtin.module' op @m"
