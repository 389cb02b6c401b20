"""te: tensor expressions (TVM's te level). `te.compute` defines one tensor element by
element from a scalar body over its index space; `te.kernel` groups the computes of one
fused group, the unit that becomes one compiled function. See docs/lowering.md."""

from __future__ import annotations

from ...ir import (DenseArrayAttr, FloatAttr, HasParent, IndexType, IntegerAttr, IsolatedFromAbove,
                   IsTerminator, Operation, Pure, ReturnLike, ShapedType, SingleBlock, StringAttr, TensorType, attribute, i64, index,
                   operand, opt_attribute, region, result, var_operand, var_result)
from ...ir.constraints import AnyType
from .attrs import ScheduleAttr

COMBINERS = ("sum", "max", "min", "prod")

# Dialects whose (scalar) ops may appear in a compute body besides te.read and te.yield.
BODY_DIALECTS = ("arith", "math")


def _types_text(values) -> str:
    return "(" + ", ".join(str(v.type) for v in values) + ")"


class ComputeOp(Operation):
    """One tensor defined element by element: `out[i] = combine over r of body(i, r)`
    (without reduction axes `out[i] = body(i)`); the body's arguments are the output
    indices, then the reduction indices."""

    name = "te.compute"
    inputs = var_operand(TensorType, doc="the tensors the body reads")
    output = result(TensorType)
    reduce = attribute(DenseArrayAttr, default=DenseArrayAttr(i64, []),
                       doc="extents of the reduction axes (may be empty)")
    combiner = opt_attribute(StringAttr, doc="sum, max, min or prod; required iff `reduce` is not empty")
    init = opt_attribute((FloatAttr, IntegerAttr),
                         doc="the reduction's start value (default: the combiner's identity)")
    body = region(single_block=True)
    traits = (Pure(), SingleBlock())
    assembly = "`(` $inputs `)` attr-dict `:` functional-type($inputs, $output) $body"

    # ---- accessors ---------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.output.type.shape)

    @property
    def reduce_extents(self) -> tuple[int, ...]:
        return tuple(int(e) for e in self.reduce)

    @property
    def element_type(self):
        return self.output.type.element_type

    @property
    def block(self):
        return self.body.blocks[0]

    @property
    def output_indices(self) -> list:
        return list(self.block.args[:len(self.shape)])

    @property
    def reduce_indices(self) -> list:
        return list(self.block.args[len(self.shape):])

    @property
    def yielded(self):
        """The value the body yields (the element before the reduction combines it)."""
        return self.block.terminator.value

    @property
    def is_reduction(self) -> bool:
        return bool(self.reduce_extents)

    # ---- verification ------------------------------------------------------------------------

    def verify(self) -> None:
        out = self.output.type
        if any(d < 0 for d in out.shape):
            raise self.error(f"result must have a static shape, got {out}")
        extents = self.reduce_extents
        if any(e < 0 for e in extents):
            raise self.error(f"reduction extents must be non-negative, got {list(extents)}")
        if self.reduce.element_type != i64:
            raise self.error(f"'reduce' must be an array<i64>, got {self.reduce}")
        self._verify_combiner(extents)
        if not self.body.blocks:
            raise self.error("needs a body block")
        block = self.block
        expected = len(out.shape) + len(extents)
        if len(block.args) != expected:
            raise self.error(f"body must have {expected} index arguments ({len(out.shape)} output "
                             f"indices for {out}, then {len(extents)} reduction indices), "
                             f"got {len(block.args)}")
        for n, arg in enumerate(block.args):
            if not isinstance(arg.type, IndexType):
                raise self.error(f"body argument #{n} must be index, got {arg.type}")
        terminator = block.terminator
        if not isinstance(terminator, YieldOp):
            raise self.error("body must end with te.yield")
        if terminator.value.type != out.element_type:
            raise self.error(f"yields {terminator.value.type}, but the result {out} has elements "
                             f"of type {out.element_type}")
        self._verify_body_ops(block)

    def _verify_combiner(self, extents) -> None:
        combiner = self.combiner
        if extents and combiner is None:
            raise self.error(f"reduces over {list(extents)} but has no 'combiner' "
                             f"(one of {', '.join(COMBINERS)})")
        if not extents and combiner is not None:
            raise self.error(f"has combiner \"{combiner.value}\" but no reduction axes")
        if combiner is not None and combiner.value not in COMBINERS:
            raise self.error(f"combiner must be one of {', '.join(COMBINERS)}, got \"{combiner.value}\"")
        if self.init is not None:
            if combiner is None:
                raise self.error("has an 'init' value but no reduction")
            if self.init.type != self.element_type:
                raise self.error(f"init {self.init} must have the result's element type "
                                 f"{self.element_type}")

    def _verify_body_ops(self, block) -> None:
        inside = set(block.args)
        for op in block.ops:
            dialect = op.name.split(".", 1)[0]
            if not isinstance(op, (ReadOp, YieldOp)) and dialect not in BODY_DIALECTS:
                raise op.error(f"is not allowed in a te.compute body (only te.read, arith, math "
                               f"and te.yield)")
            if op.regions:
                raise op.error("has regions, which a te.compute body cannot hold")
            for n, value in enumerate(op.operands):
                if isinstance(op, ReadOp) and n == 0:
                    continue  # the tensor: one of the compute's operands (ReadOp.verify)
                if value not in inside:
                    raise op.error(f"operand #{n} is defined outside the te.compute body: a body "
                                   f"sees only its indices and the tensors it reads")
            for r in op.results:
                if isinstance(r.type, ShapedType):
                    raise op.error(f"a te.compute body computes scalars, got {r.type}")
                inside.add(r)

    # ---- semantics ---------------------------------------------------------------------------

    def interpret(self, interp, args):
        from .semantics import evaluate_compute
        return [evaluate_compute(self, args)]


class ReadOp(Operation):
    """The element of `tensor` (an operand of the enclosing te.compute) at `indices`; every
    index must be in bounds wherever the value is used."""

    name = "te.read"
    tensor = operand(TensorType)
    indices = var_operand(index)
    value = result(AnyType)
    traits = (Pure(), HasParent("te.compute"))
    assembly = "$tensor `[` $indices `]` attr-dict `:` type($tensor)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        t = operands[0].type
        if not isinstance(t, TensorType):
            raise TypeError(f"te.read: expected a tensor, got {t}")
        return [t.element_type]

    def verify(self) -> None:
        t = self.tensor.type
        if len(self.indices) != len(t.shape):
            raise self.error(f"reads {t} of rank {len(t.shape)} with {len(self.indices)} indices")
        if self.value.type != t.element_type:
            raise self.error(f"result type {self.value.type} must be the element type of {t}")
        compute = self.parent_op
        if isinstance(compute, ComputeOp) and all(self.tensor is not v for v in compute.inputs):
            raise self.error(f"reads a tensor of type {t} that is not an operand of the enclosing "
                             f"te.compute {_types_text(compute.inputs)}")


class YieldOp(Operation):
    """Gives the element the enclosing te.compute's body computes at its indices."""

    name = "te.yield"
    value = operand(AnyType)
    traits = (Pure(), IsTerminator(), ReturnLike(), HasParent("te.compute"))
    assembly = "$value attr-dict `:` type($value)"


class KernelOp(Operation):
    """Runs its body (te.compute ops, then te.return) on the operands, bound to the block
    arguments, and gives what te.return returns: one fused group, compiled as one function."""

    name = "te.kernel"
    kernel_name = attribute(StringAttr, doc="the kernel's name (its function's name when lowered)")
    inputs = var_operand(TensorType)
    outputs = var_result(TensorType)
    schedule = opt_attribute(ScheduleAttr, doc="primitive records applied by lower-te-to-loop")
    body = region(single_block=True)
    traits = (Pure(), IsolatedFromAbove(), SingleBlock())
    assembly = "$kernel_name `(` $inputs `)` attr-dict `:` functional-type($inputs, $outputs) $body"

    @property
    def block(self):
        return self.body.blocks[0]

    def computes(self) -> list[ComputeOp]:
        """The kernel's computes in order (a schedule names a compute by its index here)."""
        return [op for op in self.block.ops if isinstance(op, ComputeOp)]

    def verify(self) -> None:
        if not self.body.blocks:
            raise self.error("needs a body block")
        block = self.block
        args, ins = [a.type for a in block.args], [v.type for v in self.inputs]
        if args != ins:
            raise self.error(f"block argument types {_types_text(block.args)} must match the operand "
                             f"types {_types_text(self.inputs)}")
        for op in block.ops:
            if not isinstance(op, (ComputeOp, ReturnOp)):
                raise op.error("is not allowed in a te.kernel body (only te.compute and te.return)")
        if not isinstance(block.terminator, ReturnOp):
            raise self.error("body must end with te.return")

    def interpret(self, interp, args):
        return interp.run_region(self.body, args)


class ReturnOp(Operation):
    """Gives the results of the enclosing te.kernel."""

    name = "te.return"
    values = var_operand(TensorType)
    traits = (Pure(), IsTerminator(), ReturnLike(), HasParent("te.kernel"))
    assembly = "attr-dict ($values^ `:` type($values))?"

    def verify(self) -> None:
        kernel = self.parent_op
        if not isinstance(kernel, KernelOp):
            return
        got, want = [v.type for v in self.values], [r.type for r in kernel.results]
        if got != want:
            raise self.error(f"returns {_types_text(self.values)}, but the te.kernel "
                             f"\"{kernel.kernel_name.value}\" has results {_types_text(kernel.results)}")


OPS = [ComputeOp, ReadOp, YieldOp, KernelOp, ReturnOp]
