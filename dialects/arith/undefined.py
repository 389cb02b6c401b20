"""arith: where MLIR's semantics (LLVM's, which arith follows) say an op is undefined or
produces poison. Each function here becomes an op's `undefined_behavior(args, results)`
hook and returns the reason as text (a Poison for poison), or None; the interpreter raises
UndefinedBehavior (ir/interpreter.py) rather than passing on what numpy happened to give.

The references stay total numpy functions (division by zero gives 0 there): the hooks
are what tell "this input means nothing" apart from a value, which is exactly what an
equivalence check needs, since any result is a valid refinement of undefined behaviour."""

from __future__ import annotations

import numpy as np

from ...ir.interpreter import Poison
from ..numeric import signed, unsigned, width_of


def _signed_range(width: int) -> tuple[int, int]:
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def _unsigned_range(width: int) -> tuple[int, int]:
    return 0, (1 << width) - 1


def _exact(x, as_signed: bool) -> np.ndarray:
    """Python integers (no wrapping) of a signless value read signed or unsigned."""
    return np.asarray(signed(x) if as_signed else unsigned(x)).astype(object)


def _outside(values: np.ndarray, bounds: tuple[int, int]) -> bool:
    low, high = bounds
    values = np.asarray(values, dtype=object)
    return bool(np.any((values < low) | (values > high)))


def division(signed_division: bool):
    """divsi, divui, ceildiv*, floordivsi, remsi, remui: a zero divisor is UB, and so is the
    one signed quotient that does not fit (the minimum value divided by -1)."""
    def undefined_behavior(self, args, results):
        lhs, rhs = args
        if np.any(unsigned(rhs) == 0):
            return "division by zero"
        if signed_division:
            low, _ = _signed_range(width_of(self.lhs.type))
            if np.any((signed(lhs) == low) & (signed(rhs) == -1)):
                return "signed division overflow (the minimum value divided by -1)"
        return None
    return undefined_behavior


def _shift_amount(self, args) -> str | None:
    width = width_of(self.lhs.type)
    if np.any(np.asarray(unsigned(args[1])).astype(np.uint64) >= width):
        return Poison(f"shift amount is not less than the bit width ({width})")
    return None


def _overflow(self, exact_signed, exact_unsigned) -> str | None:
    """nsw / nuw promise the exact result fits; a broken promise is poison."""
    flags = self.overflowFlags
    if flags is None or not flags.flags:
        return None
    width = width_of(self.results[0].type)
    if flags.has("nsw") and _outside(exact_signed(), _signed_range(width)):
        return Poison("signed overflow despite nsw")
    if flags.has("nuw") and _outside(exact_unsigned(), _unsigned_range(width)):
        return Poison("unsigned overflow despite nuw")
    return None


def overflow(exact):
    """addi, subi, muli: `exact(a, b)` on unbounded integers, checked against the flags."""
    def undefined_behavior(self, args, results):
        a, b = args
        return _overflow(self, lambda: exact(_exact(a, True), _exact(b, True)),
                         lambda: exact(_exact(a, False), _exact(b, False)))
    return undefined_behavior


def shift_left(self, args, results):
    """shli: too wide a shift is poison; nsw/nuw as a multiplication by 2^amount."""
    reason = _shift_amount(self, args)
    if reason:
        return reason
    a, amount = args
    power = np.power(2, _exact(amount, False))
    return _overflow(self, lambda: _exact(a, True) * power, lambda: _exact(a, False) * power)


def shift_right(self, args, results):
    """shrsi, shrui: too wide a shift is poison."""
    return _shift_amount(self, args)


def truncation(self, args, results):
    """trunci: nsw/nuw promise the value survives the truncation (read signed/unsigned)."""
    (x,) = args
    return _overflow(self, lambda: _exact(x, True), lambda: _exact(x, False))


def float_to_int(signed_result: bool):
    """fptosi, fptoui: NaN, infinities and values whose integer part does not fit are poison."""
    def undefined_behavior(self, args, results):
        x = np.asarray(args[0], dtype=np.float64)
        width = width_of(self.results[0].type)
        low, high = _signed_range(width) if signed_result else _unsigned_range(width)
        whole = np.trunc(x)
        # high + 1 is a power of two, exact in f64, where high itself may round up.
        if np.any(~np.isfinite(x) | (whole < low) | (whole >= float(high + 1))):
            return Poison(f"{'signed' if signed_result else 'unsigned'} conversion out of range")
        return None
    return undefined_behavior


def fastmath(self, args, results):
    """Ops with fast-math flags: under nnan a NaN operand or result is poison, under ninf an
    infinite one (LLVM's reading). The other flags license different values, not poison."""
    flags = self.fastmath
    if flags is None or not (flags.has("nnan") or flags.has("ninf")):
        return None
    for x in (*args, *results):
        x = np.asarray(x)
        if x.dtype.kind != "f":
            continue
        if flags.has("nnan") and np.any(np.isnan(x)):
            return Poison("NaN operand or result despite nnan")
        if flags.has("ninf") and np.any(np.isinf(x)):
            return Poison("infinite operand or result despite ninf")
    return None
