"""graph -> te: every graph op becomes a te.kernel built by its compute builder, and each
graph.fused group becomes one kernel holding the computes of all its ops.

A full dialect conversion: afterwards no graph op remains, or the pass fails naming each
op that has no compute builder yet, with its location. Constants become `arith.constant`
tensors. Kernels carry no schedule here; lower-te-to-loop applies the default one (or a
tuned one attached in between)."""

from __future__ import annotations

from descend.dialects import arith
from descend.dialects.te.builder import kernel
from descend.rewrites import Conversion, ConversionPattern

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
        results = kernel(rewriter, kernel_name(op), list(operands),
                         lambda kb, args: build(kb, op, args))
        rewriter.replace(op, results)


class FusedToKernel(ConversionPattern):
    """graph.fused -> one te.kernel: the body's ops become computes in order, reading the
    kernel arguments and each other's results."""

    source = "graph.fused"

    def rewrite(self, op, operands, rewriter):
        block = op.regions[0].blocks[0]
        body = [inner for inner in block.ops if inner.name != "graph.yield"]
        missing = sorted({inner.name for inner in body if lookup(inner.name) is None})
        if missing:
            return rewriter.no_match(f"no compute builder for {', '.join(missing)}")

        def build(kb, args):
            values = dict(zip(block.args, args))
            for inner in body:
                results = lookup(inner.name)(kb, inner, [values[v] for v in inner.operands])
                for old, new in zip(inner.results, results):
                    values[old] = new
            return [values[v] for v in block.terminator.operands]

        results = kernel(rewriter, kernel_name(op), list(operands), build)
        rewriter.replace(op, results)


class ConstantToArith(ConversionPattern):
    """graph.constant -> arith.constant of the same dense tensor."""

    source = "graph.constant"

    def rewrite(self, op, operands, rewriter):
        constant = arith.ConstantOp.build(value=op.properties["value"])
        rewriter.insert(constant)
        rewriter.replace(op, list(constant.results))


def patterns() -> list:
    return [ConstantToArith(), FusedToKernel(),
            *(GraphOpToKernel(name) for name in sorted(COMPUTES) if name not in ("graph.fused", "graph.constant"))]


LOWER_GRAPH_TO_TE = Conversion(
    name="lower-graph-to-te",
    patterns=patterns(),
    legal_dialects={"te", "arith", "math", "func", "builtin"},
    illegal_dialects={"graph"},
    full=True,
)

LowerGraphToTe = LOWER_GRAPH_TO_TE.as_pass(
    "Lower graph ops to te.kernels of te.computes (each graph.fused group becomes one kernel).")
