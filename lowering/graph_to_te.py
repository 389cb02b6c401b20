"""graph -> te: every graph op becomes a te.kernel built by its compute builder, and each
graph.fused group becomes one kernel holding the computes of all its ops.

A full dialect conversion: afterwards no graph op remains, or the pass fails naming each
op that has no compute builder yet, with its location. Constants become `arith.constant`
tensors. Kernels carry no schedule here; lower-te-to-loop applies the default one (or a
tuned one attached in between)."""

from __future__ import annotations

from descend.dialects import arith
from descend.dialects.te.builder import kernel
from descend.ir import DenseElementsAttr, DiagnosticError, IntegerType, TensorType, numpy_dtype
from descend.rewrites import (Conversion, ConversionPattern, ConversionTarget, TypeConverter,
                              function_pass, function_type_conversion_patterns)

from .compute import COMPUTES, lookup


def kernel_name(op) -> str:
    """A readable kernel name: the first result's name hint, else the op's mnemonic."""
    hint = op.results[0].name_hint if op.results else None
    return hint or op.name.split(".", 1)[1]


class GraphOpToKernel(ConversionPattern):
    """One graph op -> a te.kernel whose computes its compute builder makes."""

    def __init__(self, op_name: str):
        super().__init__(name=f"{op_name}-to-te")
        self.root = op_name

    def rewrite(self, op, operands, rewriter):
        build = lookup(op.name)
        try:
            results = kernel(rewriter, kernel_name(op), list(operands),
                             lambda kb, args: build(kb, op, args))
        except DiagnosticError as exc:  # the builder cannot express this instance: not lowered
            return rewriter.no_match(exc.message)
        rewriter.replace(op, results)


class FusedToKernel(ConversionPattern):
    """graph.fused -> one te.kernel: the body's ops become computes in order, reading the
    kernel arguments and each other's results. Constants inside the group (fuse-ops clones
    small splats in) become arith.constant tensors passed as extra kernel operands, since a
    kernel body holds only computes."""

    source = "graph.fused"

    def rewrite(self, op, operands, rewriter):
        block = op.regions[0].blocks[0]
        body = [inner for inner in block.ops if inner.name != "graph.yield"]
        constants = [inner for inner in body if inner.name == "graph.constant"]
        computed = [inner for inner in body if inner.name != "graph.constant"]
        missing = sorted({inner.name for inner in computed if lookup(inner.name) is None})
        if missing:
            return rewriter.no_match(f"no compute builder for {', '.join(missing)}")
        extra = [_arith_constant(rewriter, c) for c in constants]

        def build(kb, args):
            values = dict(zip(block.args, args))
            values.update((c.results[0], arg) for c, arg in zip(constants, args[len(operands):]))
            for inner in computed:
                results = lookup(inner.name)(kb, inner, [values[v] for v in inner.operands])
                for old, new in zip(inner.results, results):
                    values[old] = new
            return [values[v] for v in block.terminator.operands]

        try:
            results = kernel(rewriter, kernel_name(op), [*operands, *extra], build)
        except DiagnosticError as exc:
            return rewriter.no_match(exc.message)
        rewriter.replace(op, results)


def _arith_constant(rewriter, op):
    """An arith.constant holding graph.constant `op`'s value (unsigned read as signless)."""
    value = op.properties["value"]
    converted = signless_types().convert_type(value.type)
    if converted != value.type:  # the same bits, read as signless
        value = DenseElementsAttr(converted, value.array.view(numpy_dtype(converted.element_type)))
    constant = arith.ConstantOp.build(value=value)
    rewriter.insert(constant)
    return constant.results[0]


class ConstantToArith(ConversionPattern):
    """graph.constant -> arith.constant of the same dense tensor."""

    source = "graph.constant"

    def rewrite(self, op, operands, rewriter):
        rewriter.replace(op, [_arith_constant(rewriter, op)])


def patterns() -> list:
    return [ConstantToArith(), FusedToKernel(),
            *(GraphOpToKernel(name) for name in sorted(COMPUTES) if name not in ("graph.fused", "graph.constant"))]


def signless_types() -> TypeConverter:
    """te computes on signless integers (arith's rule); unsigned tensors become signless of
    the same width, and the compute builders pick unsigned ops (divui, cmpi ult, uitofp)
    from the graph op's own types. Values keep their bits, so a uint8 buffer is unchanged."""
    converter = TypeConverter()

    @converter.add_conversion
    def unsigned_to_signless(t):
        if isinstance(t, TensorType) and isinstance(t.element_type, IntegerType) and t.element_type.signedness:
            return TensorType(t.shape, IntegerType(t.element_type.width))
        return None
    return converter


def _target() -> ConversionTarget:
    converter = signless_types()
    target = ConversionTarget()
    target.add_legal_dialect("te", "arith", "math", "builtin")
    target.add_illegal_dialect("graph")
    target.add_dynamically_legal_op("func.func", converter.is_signature_legal)
    target.add_dynamically_legal_op("func.return", converter.is_legal)
    target.add_dynamically_legal_op("func.call", converter.is_legal)
    return target


def conversion() -> Conversion:
    """The conversion as the compute-builder registry stands now: a builder registered
    later (a plugin's `@lowers("mydialect.op")`) is picked up by the next run."""
    return Conversion(
        name="lower-graph-to-te",
        patterns=[*patterns(), *function_type_conversion_patterns()],
        target=_target(),
        type_converter=signless_types(),
        full=True,
    )


def lower_graph_to_te(module, context=None):
    """Lower `module` in place; a ConversionError names every op left unlowered."""
    return conversion().apply(module, context)


@function_pass("lower-graph-to-te")
def LowerGraphToTe(op, ctx):
    """Lower graph ops to te.kernels of te.computes (each graph.fused group becomes one kernel)."""
    conversion().apply(op, ctx)
