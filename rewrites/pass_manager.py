"""rewrites: pass managers: run passes in order, nested per op kind, as MLIR's PassManager.

    pm = PassManager()                          # anchored on builtin.module
    pm.nest("func.func").add(CSE()).add(DCE())  # on every func.func directly in the module
    pm.add(SymbolDCE())
    pm.run(module)                              # str(pm): builtin.module(func.func(cse,dce),symbol-dce)

A nested manager runs its whole list on one op, then on the next (MLIR's semantics, minus
the threads). After each pass the op it ran on is verified (verify-each, on by default),
so a pass that breaks the IR is named at once rather than blamed on a later one.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

from descend.ir import Context, Diagnostic, DiagnosticError, Operation, UNKNOWN, verify

from .pass_options import PipelineError
from .passes import Pass


class OpPassManager:
    """The passes (and nested managers) to run on ops named `anchor` (None: any op)."""

    def __init__(self, anchor: str | None = "builtin.module"):
        self.anchor = anchor
        self.passes: list[Pass | OpPassManager] = []

    @property
    def anchor_text(self) -> str:
        return "any" if self.anchor is None else self.anchor

    def add(self, pass_: "Pass | OpPassManager") -> "OpPassManager":
        """Append a pass instance (or a nested manager); returns self so adds chain. A pass
        whose `anchor` differs from this manager's is refused here, not at run time."""
        if isinstance(pass_, type) and issubclass(pass_, Pass):
            raise TypeError(f"add an instance of {pass_.__name__}, e.g. pm.add({pass_.__name__}())")
        if isinstance(pass_, Pass) and pass_.anchor is not None and pass_.anchor != self.anchor:
            raise PipelineError(
                f"pass '{pass_.name}' runs on '{pass_.anchor}' ops only, but is nested under "
                f"'{self.anchor_text}'",
                notes=(f"it belongs directly inside {pass_.anchor}(...)",))
        if not isinstance(pass_, (Pass, OpPassManager)):
            raise TypeError(f"expected a Pass instance or an OpPassManager, got {pass_!r}")
        self.passes.append(pass_)
        return self

    def nest(self, op_name: str | None) -> "OpPassManager":
        """A new manager for `op_name` ops nested in this one ("any" or None: every op)."""
        nested = OpPassManager(None if op_name in (None, "any") else op_name)
        self.passes.append(nested)
        return nested

    def all_passes(self) -> Iterator[Pass]:
        for item in self.passes:
            if isinstance(item, OpPassManager):
                yield from item.all_passes()
            else:
                yield item

    def all_managers(self) -> Iterator["OpPassManager"]:
        yield self
        for item in self.passes:
            if isinstance(item, OpPassManager):
                yield from item.all_managers()

    def __iter__(self):
        return iter(self.passes)

    def __len__(self) -> int:
        return len(self.passes)

    def __str__(self) -> str:
        return f"{self.anchor_text}({','.join(str(item) for item in self.passes)})"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"


class PassFailure(DiagnosticError):
    """A pass failed, or left IR that no longer verifies. `diagnostics` are the located
    errors plus a note naming the pass; `original` are the errors alone (what
    --verify-diagnostics matches against `expected-error`)."""

    def __init__(self, original: list[Diagnostic], pass_: Pass, op: Operation, note: str):
        self.original = list(original)
        self.pass_ = pass_
        self.op = op
        self.note = Diagnostic("note", UNKNOWN, note)
        diagnostics = list(original) or [Diagnostic("error", op.location, f"pass '{pass_.name}' failed")]
        diagnostics[0] = dataclasses.replace(diagnostics[0], notes=[*diagnostics[0].notes, self.note])
        super().__init__(diagnostics)


def describe_op(op: Operation) -> str:
    """`'func.func' op @f` (the symbol name when there is one)."""
    name = op.properties.get("sym_name") or op.attributes.get("sym_name")
    return f"'{op.name}' op" + (f" @{name.value}" if hasattr(name, "value") else "")


class PassManager(OpPassManager):
    """The top-level manager: runs the pipeline with instruments and verify-each."""

    def __init__(self, anchor: str | None = "builtin.module", context: Context | None = None,
                 verify_each: bool = True, instruments=()):
        super().__init__(anchor)
        self.context = context
        self.verify_each = verify_each
        self.instruments = list(instruments)

    @classmethod
    def parse(cls, text: str, context: Context | None = None,
              anchor: str | None = "builtin.module") -> "PassManager":
        """MLIR's pipeline text (`builtin.module(func.func(cse))`) or a bare list (`cse,dce`)."""
        from .pipeline import parse_pipeline
        return parse_pipeline(text, anchor=anchor, context=context)

    # ---- instruments ---------------------------------------------------------------------------

    def add_instrument(self, instrument):
        self.instruments.append(instrument)
        return instrument

    def enable_ir_printing(self, print_before_all: bool = False, print_after_all: bool = True,
                           print_module_scope: bool = False, print_after_change: bool = False,
                           print_after_failure: bool = False, print_before=(), print_after=(),
                           tree_printing_dir_path: str | None = None, stream=None, **print_options):
        """MLIR Python's name: print IR around passes to `stream` (stderr), or dump one file
        per pass into `tree_printing_dir_path`. Returns the instrument."""
        from .instrument import DumpIR, PrintIR
        if tree_printing_dir_path is not None:
            return self.add_instrument(DumpIR(tree_printing_dir_path, **print_options))
        return self.add_instrument(PrintIR(
            before=print_before, after=print_after, before_all=print_before_all,
            after_all=print_after_all, after_change=print_after_change,
            after_failure=print_after_failure, module_scope=print_module_scope,
            stream=stream, **print_options))

    def enable_timing(self, display: str = "list", format: str = "text"):
        """Time every pass; `str(timing)` or `timing.report()` afterwards."""
        from .instrument import Timing
        return self.add_instrument(Timing(display=display, format=format))

    def statistics_report(self) -> str:
        from .instrument import statistics_report
        return statistics_report(self)

    # ---- running -------------------------------------------------------------------------------

    def run(self, op: Operation, context: Context | None = None) -> None:
        """Run the pipeline on `op` in place. A failing pass raises PassFailure; a Python
        exception from a pass propagates (an internal error) with a note naming the pass."""
        context = context or self.context or Context()
        if self.anchor is not None and op.name != self.anchor:
            raise PipelineError(f"a pass manager anchored on '{self.anchor}' cannot run on a "
                                f"'{op.name}' op")
        self._prepare(context)
        _Runner(context, self.verify_each, self.instruments).run_manager(self, op)

    def _prepare(self, context: Context) -> None:
        """Register dependent dialects; refuse nested anchors no registered op has."""
        from descend.dialects import ALL_DIALECTS
        shipped = {dialect.name: dialect for dialect in ALL_DIALECTS}
        for pass_ in self.all_passes():
            for name in pass_.dependent_dialects:
                if name in context.dialects:
                    continue
                if name not in shipped:
                    raise PipelineError(f"pass '{pass_.name}' depends on dialect '{name}', which is "
                                        "not registered (load it with --load-dialect)")
                context.register(shipped[name])
        if context.allow_unregistered:
            return
        for manager in self.all_managers():
            if manager is not self and manager.anchor is not None and context.lookup_op(manager.anchor) is None:
                import difflib
                close = difflib.get_close_matches(manager.anchor, list(context.ops), n=3)
                notes = ("did you mean " + " or ".join(f"'{c}'" for c in close) + "?",) if close else ()
                raise PipelineError(f"pass pipeline nests passes under '{manager.anchor}', which is "
                                    "not a registered operation", notes=notes)


class _Runner:
    """One run of a PassManager: the context, instruments and verify-each setting."""

    def __init__(self, context: Context, verify_each: bool, instruments):
        self.context = context
        self.verify_each = verify_each
        self.instruments = list(instruments)

    def run_manager(self, manager: OpPassManager, op: Operation) -> None:
        for instrument in self.instruments:
            instrument.run_before_pipeline(manager, op)
        try:
            for item in manager.passes:
                if isinstance(item, OpPassManager):
                    anchor = item.anchor
                    targets = [child for region in op.regions for block in region.blocks
                               for child in block.ops if anchor is None or child.name == anchor]
                    for child in targets:
                        if child.parent is not None:  # an earlier nested run may have erased it
                            self.run_manager(item, child)
                else:
                    self.run_pass(item, op)
        finally:
            for instrument in self.instruments:
                instrument.run_after_pipeline(manager, op)

    def run_pass(self, pass_: Pass, op: Operation) -> None:
        instruments = self.instruments
        for instrument in instruments:
            instrument.run_before_pass(pass_, op)
        try:
            pass_.run(op, self.context)
        except DiagnosticError as exc:
            self._failed(pass_, op)
            raise PassFailure(exc.diagnostics, pass_, op,
                              f"pass '{pass_.name}' failed on {describe_op(op)}") from exc
        except Exception as exc:
            self._failed(pass_, op)
            if hasattr(exc, "add_note"):
                exc.add_note(f"while running pass '{pass_.name}' ({type(pass_).__name__}) "
                             f"on {describe_op(op)}")
            raise
        if self.verify_each:
            for instrument in instruments:
                instrument.run_before_verify(pass_, op)
            broken = None
            try:
                verify(op)
            except DiagnosticError as exc:
                broken = exc
            for instrument in instruments:
                instrument.run_after_verify(pass_, op)
            if broken is not None:
                self._failed(pass_, op)
                raise PassFailure(broken.diagnostics, pass_, op,
                                  f"pass '{pass_.name}' broke the IR: it no longer verifies after "
                                  f"running on {describe_op(op)} (verify-each)") from broken
        for instrument in instruments:
            instrument.run_after_pass(pass_, op)

    def _failed(self, pass_: Pass, op: Operation) -> None:
        for instrument in self.instruments:
            instrument.run_after_pass_failed(pass_, op)
