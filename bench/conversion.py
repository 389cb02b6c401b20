"""Dialect-conversion throughput: ops converted per second, and how it grows with size.

Run by hand (not in CI):

    .venv/bin/python bench/conversion.py                  # 10k and 100k ops, best of 3
    .venv/bin/python bench/conversion.py --ops 1000000 --repeat 1

Workloads (built directly as IR, so parsing is not measured):
  index-to-i64   one func.func holding a chain of N arith.addi / muli / subi on `index`
                 (each op uses the two values before it) and a constant, fully converted to i64 with a TypeConverter: the generic
                 TypeConversionPattern plus the function signature patterns. Every op is
                 rebuilt, every result bridged by a cast that is erased at the end.
  toy-to-arith   the same chain of N toy.absdiff ops (examples/toy_dialect.py), each
                 lowered to three arith ops by a ConversionPattern: 3N ops created.

The time is the conversion alone (apply_full_conversion), with the IR verified after.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from descend.dialects.builtin import ModuleOp
from descend.dialects.func import FuncOp, ReturnOp
from descend.ir import Builder, Context, FunctionType, IntegerAttr, Operation, i32, i64, index, verify
from descend.rewrites import (ConversionPattern, ConversionTarget, TypeConversionPattern, TypeConverter,
                              apply_full_conversion, function_type_conversion_patterns)

ROOT = Path(__file__).resolve().parents[1]


def chain(context: Context, n: int, t, names, constant: bool = False) -> ModuleOp:
    """func.func @f(%a, %b) { v2 = names[0](v0, v1); v3 = names[1](v1, v2); ... return v_n }:
    each value has one or two users, as in real programs (a value used by every op would
    measure the use list of that one value instead). With `constant`, v1 is a constant."""
    module = ModuleOp.build()
    func = FuncOp.build(sym_name="f", function_type=FunctionType([t, t], [t]))
    module.block.append(func)
    builder = Builder.at_end(func.entry_block)
    previous, value = func.entry_block.args
    if constant:
        value = builder.insert(Operation.create("arith.constant", [], [t], {"value": IntegerAttr(3, t)},
                                                context=context)).results[0]
    for i in range(n):
        previous, value = value, builder.insert(
            Operation.create(names[i % len(names)], [previous, value], [t], context=context)).results[0]
    builder.insert(ReturnOp.build(operands_=[value]))
    return module


def index_to_i64(context: Context, n: int):
    module = chain(context, n, index, ["arith.addi", "arith.muli", "arith.subi"], constant=True)
    converter = TypeConverter({index: i64})
    target = ConversionTarget(legal_dialects={"builtin"})
    target.add_dynamically_legal_dialect("arith", converter.is_legal)
    target.add_dynamically_legal_op("func.func", converter.is_signature_legal)
    target.add_dynamically_legal_op("func.return", converter.is_legal)
    return module, target, [TypeConversionPattern(), *function_type_conversion_patterns()], converter


class AbsDiffToArith(ConversionPattern):
    source = "toy.absdiff"

    def rewrite(self, op, operands, rewriter):
        lhs, rhs = operands
        t = op.results[0].type
        forward = rewriter.create("arith.subi", [lhs, rhs], [t]).result
        backward = rewriter.create("arith.subi", [rhs, lhs], [t]).result
        rewriter.replace(op, rewriter.create("arith.maxsi", [forward, backward], [t]))


def toy_to_arith(context: Context, n: int):
    module = chain(context, n, i32, ["toy.absdiff"])
    target = ConversionTarget(legal_dialects={"arith", "func", "builtin"}, illegal_dialects={"toy"})
    return module, target, [AbsDiffToArith()], None


def measure(name: str, make, context: Context, n: int, repeat: int) -> None:
    """Best of `repeat` runs, each on a freshly built module (other processes only ever
    make a run slower)."""
    best = None
    for _ in range(repeat):
        module, target, patterns, converter = make(context, n)
        ops = sum(1 for _ in module.walk())
        start = time.perf_counter()
        result = apply_full_conversion(module, target, patterns, converter, context=context)
        seconds = time.perf_counter() - start
        verify(module)
        best = seconds if best is None else min(best, seconds)
    print(f"{name:<14} {ops:>9,} ops  {best:7.2f} s  {ops / best:>9,.0f} ops/s  "
          f"({result.rewrites:,} rewrites, {result.unrealized_casts} casts left)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, action="append", help="module size (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    args = parser.parse_args()
    context = Context()
    context.load_dialect_file(ROOT / "examples" / "toy_dialect.py")
    for n in args.ops or [10_000, 100_000]:
        measure("index-to-i64", index_to_i64, context, n, args.repeat)
        measure("toy-to-arith", toy_to_arith, context, n, args.repeat)


if __name__ == "__main__":
    main()
