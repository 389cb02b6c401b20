"""builtin: the module that holds everything, and the cast that bridges type systems
while a conversion is half done (MLIR's builtin dialect)."""

from __future__ import annotations

from ..ir import (Dialect, GraphRegions, IsolatedFromAbove, NoTerminator, Operation, SingleBlock,
                  StringAttr, SymbolNameSyntax, SymbolTableTrait, opt_attribute, region,
                  var_operand, var_result)


class ModuleOp(Operation):
    """A top-level container of symbols; it computes nothing itself."""

    name = "builtin.module"
    sym_name = opt_attribute(StringAttr, syntax=SymbolNameSyntax())
    sym_visibility = opt_attribute(StringAttr)
    bodyRegion = region(single_block=True)  # MLIR's name; `op.body` stays the block
    traits = (IsolatedFromAbove(), SymbolTableTrait(), NoTerminator(), SingleBlock(), GraphRegions())
    assembly = "($sym_name^)? attr-dict-with-keyword $bodyRegion"

    @classmethod
    def build(cls, *args, **kwargs) -> "ModuleOp":
        """Like Operation.build, but the body always has its one block (MLIR's ModuleOp::create)."""
        if isinstance(kwargs.get("sym_name"), str):
            kwargs["sym_name"] = StringAttr(kwargs["sym_name"])
        op = super().build(*args, **kwargs)
        if not op.regions[0].blocks:
            op.regions[0].add_block()
        return op

    @property
    def block(self):
        return self.regions[0].block

    def functions(self) -> list[Operation]:
        """The func.func ops directly inside, in order."""
        return [op for op in self.block.ops if op.name == "func.func"]

    def interpret(self, interp, args):
        return []


class UnrealizedConversionCastOp(Operation):
    """Reinterprets values of one type as another; only meaningful during a conversion, so
    the interpreter passes values through when the counts match."""

    name = "builtin.unrealized_conversion_cast"
    inputs = var_operand()
    outputs = var_result()
    assembly = "($inputs^ `:` type($inputs))? `to` type($outputs) attr-dict"

    def interpret(self, interp, args):
        if len(args) != len(self.results):
            raise self.error(f"cannot interpret a cast of {len(args)} values to {len(self.results)}")
        return list(args)


BUILTIN = Dialect("builtin", [ModuleOp, UnrealizedConversionCastOp],
                  description="the module and the unrealized conversion cast")
