"""Functions for examples/my.rules, registered by name (docs/writing-rules.md):

    descend check-rules examples/my.rules --load-pass-plugin examples/my_functions.py
    descend opt examples/my_rules_input.mlir --load-pass-plugin examples/my_functions.py \
        --rules examples/my.rules -p apply-rules

A constraint gets what the rule bound (here a constant Value) and says yes or no; a builder
gets the rewriter first and returns what the replacement uses (here a constant attribute,
which the driver materialises as an arith.constant)."""

from __future__ import annotations

import numpy as np

from descend.dialects.numeric import value_to_attr
from descend.rewrites import builder_function, constant_value, constraint_function


def _splat(c) -> int | None:
    """The one integer every element of constant `c` holds, or None."""
    value = constant_value(c)
    if value is None or value.dtype.kind not in "iu":
        return None  # booleans (i1) and floats: no power of two here
    flat = np.asarray(value).reshape(-1)
    if flat.size == 0 or not (flat == flat[0]).all():
        return None
    return int(flat[0])


@constraint_function("is_power_of_two")
def is_power_of_two(c) -> bool:
    """c is a constant 2^k, k >= 1 (the same k in every element)."""
    k = _splat(c)
    return k is not None and k > 1 and k & (k - 1) == 0


@builder_function("log2")
def log2(rewriter, c):
    """The constant k of the same type as c = 2^k."""
    return value_to_attr(_splat(c).bit_length() - 1, c.type)
