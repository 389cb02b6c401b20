"""graph: the ops that hold things rather than compute — constants, and `graph.fused`, a
group of ops that later stages compile as one kernel (Relay's primitive function)."""

from __future__ import annotations

from descend.ir import (AnyAttr, ConstantLike, DenseElementsAttr, IsolatedFromAbove, IsTerminator,
                        Pure, ReturnLike, SingleBlock, StringAttr, TensorType, attribute,
                        opt_attribute, region, result, var_operand, var_result)
from descend.dialects.arith.ops import ConstantValue

from .base import GraphOp, Kind, ShapeError


class ConstantOp(GraphOp):
    """The tensor `value`, a dense elements attribute of the result's type."""

    name = "graph.constant"
    value = attribute(DenseElementsAttr)
    result = result(TensorType)
    kind = Kind.ELEMWISE
    traits = (Pure(), ConstantLike())
    custom_directives = {"ConstantValue": ConstantValue()}
    assembly = "attr-dict custom<ConstantValue>($value)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        value = properties.get("value")
        if not isinstance(value, DenseElementsAttr):
            raise TypeError("graph.constant: the value must be a dense elements attribute")
        return [value.type]

    @classmethod
    def infer(cls, types, attrs):
        raise AssertionError("unused: infer_result_types reads the value")

    def verify(self) -> None:
        if not isinstance(self.value.type, TensorType):
            raise self.error(f"value must be a tensor, got {self.value.type}")
        if self.value.type != self.result.type:
            raise self.error(f"value type {self.value.type} must match result type {self.result.type}")

    def fold(self):
        return self.value

    @staticmethod
    def reference(*, value):
        return value


class FusedOp(GraphOp):
    """Runs its body on the operands (bound to the block.args) and gives what the body
    yields: a fused group, compiled later as one kernel. `pattern` names the group's kind."""

    name = "graph.fused"
    inputs = var_operand(TensorType)
    outputs = var_result(TensorType)
    pattern = opt_attribute(StringAttr, doc="the group's fusion kind, e.g. \"out_fusable\"")
    body = region(single_block=True)
    traits = (Pure(), IsolatedFromAbove(), SingleBlock())
    assembly = "`(` $inputs `)` attr-dict `:` functional-type($inputs, $outputs) $body"

    def verify(self) -> None:
        if not self.body.blocks:
            raise self.error("needs a body block")
        block = self.body.blocks[0]
        if [a.type for a in block.args] != [v.type for v in self.inputs]:
            raise self.error("block argument types must match the operand types: "
                             f"{[str(a.type) for a in block.args]} vs {[str(v.type) for v in self.inputs]}")
        terminator = block.terminator
        if not isinstance(terminator, YieldOp):
            raise self.error("body must end with graph.yield")
        if [v.type for v in terminator.operands] != [r.type for r in self.results]:
            raise self.error("yielded types must match the result types")

    def interpret(self, interp, args):
        return interp.run_region(self.body, args)


_YIELD_PARENTS = {"graph.fused", "graph.if", "graph.loop", "graph.scan"}


class YieldOp(GraphOp):
    """Gives the results of the enclosing region: graph.fused, or a region of graph.if,
    graph.loop or graph.scan."""

    name = "graph.yield"
    values = var_operand(TensorType)
    traits = (Pure(), IsTerminator(), ReturnLike())
    assembly = "attr-dict ($values^ `:` type($values))?"

    def verify(self) -> None:
        parent = self.parent_op
        if parent is not None and parent.name not in _YIELD_PARENTS:
            raise self.error(f"must be inside {', '.join(sorted(_YIELD_PARENTS))}, not {parent.name}")
