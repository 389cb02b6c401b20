"""A user dialect, `my`, in its own file: load it with

    descend opt --load-dialect examples/my_dialect.py examples/my_dialect.mlir

or from Python with `Context().load_dialect_file("examples/my_dialect.py")`.
Every module-level `Dialect` object (or a `DIALECTS` list) is registered.

It shows the parts of an op declaration (see docs/defining-ops.md):
  my.scale   an operand, a required attribute, verify() and reference semantics
  my.clamp   optional attributes printed in optional groups `(`min` $min^)?`
  my.mix     a custom directive: `at 25 percent` stores alpha = 0.25
  my.sum     a variadic operand
"""

from __future__ import annotations

import math

import numpy as np

from descend.ir import (CustomDirective, Dialect, FloatAttr, FloatLike, Operation, Pure,
                        SameOperandsAndResultType, attribute, f64, operand, opt_attribute, result,
                        var_operand)


class ScaleOp(Operation):
    """`%y = my.scale %x : f32 by 2.5 : f64` multiplies by a constant factor."""

    name = "my.scale"
    input = operand(FloatLike, doc="the value to scale")
    factor = attribute(FloatAttr, doc="a finite, non-zero f64")
    output = result(FloatLike)
    traits = (Pure(), SameOperandsAndResultType())
    # An attribute is written with its type (`2.5 : f64`), so it comes after the op's
    # `: type`: written before it, the attribute would take that type as its own.
    assembly = "$input `:` type($output) `by` $factor attr-dict"

    def verify(self) -> None:
        value = self.factor.value
        if value == 0.0 or not math.isfinite(value):
            raise self.error(f"factor must be finite and non-zero, got {value}")

    @staticmethod
    def reference(input, *, factor):
        # Operands come positionally; keyword-only `factor` is filled from the property
        # of that name (parameters with defaults are too, see my.clamp).
        return input * np.asarray(factor, dtype=np.asarray(input).dtype)


class ClampOp(Operation):
    """`%y = my.clamp %x : f32 min 0.0 : f64 max 6.0 : f64`; either bound may be left out."""

    name = "my.clamp"
    input = operand(FloatLike)
    min = opt_attribute(FloatAttr)
    max = opt_attribute(FloatAttr)
    output = result(FloatLike)
    traits = (Pure(), SameOperandsAndResultType())
    assembly = "$input `:` type($output) (`min` $min^)? (`max` $max^)? attr-dict"

    def verify(self) -> None:
        if self.min is not None and self.max is not None and self.min.value > self.max.value:
            raise self.error(f"min ({self.min.value}) is greater than max ({self.max.value})")

    @staticmethod
    def reference(input, min=None, max=None):
        return np.clip(input, min, max) if (min is not None or max is not None) else input


class PercentDirective(CustomDirective):
    """`custom<Percent>($alpha)`: written `at 25 percent`, stored as FloatAttr(0.25)."""

    grammar = '"at" (INTEGER | FLOAT) "percent"'

    def print(self, fp, op, args) -> None:
        alpha = args[0].field.__get__(op).value
        fp.emit(f"at {alpha * 100:g} percent")

    def build(self, state, children, args) -> None:
        number = next(c for c in children if c is not None)
        state.properties[args[0].name] = FloatAttr(float(number) / 100.0, f64)


class MixOp(Operation):
    """`%y = my.mix %a, %b at 25 percent : f32` is a * (1 - alpha) + b * alpha."""

    name = "my.mix"
    lhs = operand(FloatLike)
    rhs = operand(FloatLike)
    alpha = attribute(FloatAttr)
    output = result(FloatLike)
    traits = (Pure(), SameOperandsAndResultType())
    custom_directives = {"Percent": PercentDirective()}
    assembly = "$lhs `,` $rhs custom<Percent>($alpha) attr-dict `:` type($output)"

    def verify(self) -> None:
        if not 0.0 <= self.alpha.value <= 1.0:
            raise self.error(f"alpha must be within [0, 1], got {self.alpha.value}")

    @staticmethod
    def reference(lhs, rhs, *, alpha):
        dtype = np.asarray(lhs).dtype
        return lhs * dtype.type(1 - alpha) + rhs * dtype.type(alpha)


class SumOp(Operation):
    """`%s = my.sum %a, %b, %c : f32` adds any number (at least one) of values."""

    name = "my.sum"
    inputs = var_operand(FloatLike)
    output = result(FloatLike)
    traits = (Pure(),)
    assembly = "$inputs attr-dict `:` type($output)"

    def verify(self) -> None:
        if not self.inputs:
            raise self.error("needs at least one input")
        for value in self.inputs:
            if value.type != self.output.type:
                raise self.error(f"input type {value.type} differs from result type {self.output.type}")

    @staticmethod
    def reference(*inputs):
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total


MY = Dialect("my", ops=[ScaleOp, ClampOp, MixOp, SumOp],
              description="A small example dialect loaded from a user's file.")
