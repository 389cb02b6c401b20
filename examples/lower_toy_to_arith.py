"""toy -> arith: a dialect conversion written outside descend (see docs/dialect-conversion.md).

Run it:           python examples/lower_toy_to_arith.py
Or as a plugin:   descend opt --load-dialect examples/toy_dialect.py \\
                      --load-pass-plugin examples/lower_toy_to_arith.py \\
                      -p 'builtin.module(lower-toy-to-arith)' examples/toy.mlir
"""

from pathlib import Path

import numpy as np

import descend
from descend.ir import Context
from descend.rewrites import Conversion, ConversionPattern


class AbsDiffToArith(ConversionPattern):
    """|lhs - rhs| = max(lhs - rhs, rhs - lhs), both in wrapping integer arithmetic."""

    source = "toy.absdiff"

    def rewrite(self, op, operands, rewriter):
        lhs, rhs = operands                   # the operands as converted so far
        t = op.results[0].type
        forward = rewriter.create("arith.subi", [lhs, rhs], [t]).result
        backward = rewriter.create("arith.subi", [rhs, lhs], [t]).result
        rewriter.replace(op, rewriter.create("arith.maxsi", [forward, backward], [t]))


# What must be gone afterwards (toy), what may stay (arith, func, builtin), and how.
LOWER_TOY_TO_ARITH = Conversion(
    "lower-toy-to-arith",
    patterns=[AbsDiffToArith()],
    legal_dialects={"arith", "func", "builtin"},
    illegal_dialects={"toy"},
    full=True,
)

# The same conversion as a pass, for pipelines and `descend opt -p lower-toy-to-arith`.
LowerToyToArith = LOWER_TOY_TO_ARITH.as_pass("Lower toy.absdiff to two subtractions and a max.")


def main() -> None:
    here = Path(__file__).resolve().parent
    context = Context()
    context.load_dialect_file(here / "toy_dialect.py")
    source = here / "toy.mlir"
    original = descend.parse(source.read_text(), str(source), context=context)
    module = descend.parse(source.read_text(), str(source), context=context)

    result = LOWER_TOY_TO_ARITH.apply(module, context)
    print(module)
    print(f"rewrites: {dict(result.fired)}")
    for a, b in [(3, 10), (-4, 7), (2**31 - 1, -1)]:
        inputs = [np.int32(a), np.int32(b)]
        before = descend.interpret(original, "distance", inputs)[0]
        after = descend.interpret(module, "distance", inputs)[0]
        print(f"distance({a}, {b}) = {after} (toy: {before})")


if __name__ == "__main__":
    main()
