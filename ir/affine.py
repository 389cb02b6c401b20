"""ir: affine expressions, maps and integer sets, printed as MLIR prints them."""

from __future__ import annotations

from typing import Sequence

from .interning import Immutable

# Binding strength when printing: sums bind loosest.
_ADD, _MUL = 1, 2


class AffineExpr(Immutable):
    """An affine expression over dims `d<i>` and symbols `s<i>`."""

    _instances: dict = {}

    def __add__(self, other):
        return AffineBinary("+", self, _expr(other))

    def __radd__(self, other):
        return AffineBinary("+", _expr(other), self)

    def __mul__(self, other):
        return AffineBinary("*", self, _expr(other))

    def __rmul__(self, other):
        return AffineBinary("*", _expr(other), self)

    def __neg__(self):
        return AffineBinary("*", self, AffineConstant(-1))

    def __sub__(self, other):
        return self + (-_expr(other))

    def floordiv(self, other):
        return AffineBinary("floordiv", self, _expr(other))

    def ceildiv(self, other):
        return AffineBinary("ceildiv", self, _expr(other))

    def __mod__(self, other):
        return AffineBinary("mod", self, _expr(other))

    def evaluate(self, dims: Sequence[int], symbols: Sequence[int] = ()) -> int:
        raise NotImplementedError

    def _print(self) -> str:
        return self.format(0)

    def format(self, parent: int) -> str:
        raise NotImplementedError


def _expr(value) -> AffineExpr:
    return value if isinstance(value, AffineExpr) else AffineConstant(int(value))


class AffineDim(AffineExpr):
    _fields = ("position",)
    _instances: dict = {}

    def format(self, parent: int) -> str:
        return f"d{self.position}"

    def evaluate(self, dims, symbols=()):
        return dims[self.position]


class AffineSymbol(AffineExpr):
    _fields = ("position",)
    _instances: dict = {}

    def format(self, parent: int) -> str:
        return f"s{self.position}"

    def evaluate(self, dims, symbols=()):
        return symbols[self.position]


class AffineConstant(AffineExpr):
    _fields = ("value",)
    _instances: dict = {}

    def format(self, parent: int) -> str:
        return str(self.value)

    def evaluate(self, dims, symbols=()):
        return self.value


def _floordiv(a: int, b: int) -> int:
    return a // b


def _ceildiv(a: int, b: int) -> int:
    return -((-a) // b)


_EVAL = {"+": lambda a, b: a + b, "*": lambda a, b: a * b, "mod": lambda a, b: a % b,
         "floordiv": _floordiv, "ceildiv": _ceildiv}


class AffineBinary(AffineExpr):
    """`lhs op rhs` with op one of + * mod floordiv ceildiv."""

    _fields = ("kind", "lhs", "rhs")
    _instances: dict = {}

    def evaluate(self, dims, symbols=()):
        return _EVAL[self.kind](self.lhs.evaluate(dims, symbols), self.rhs.evaluate(dims, symbols))

    def format(self, parent: int) -> str:
        if self.kind == "+":
            rhs = self.rhs
            # MLIR prints `a - b` for `a + b * -1` and `a - 3` for `a + -3`.
            if isinstance(rhs, AffineConstant) and rhs.value < 0:
                text = f"{self.lhs.format(_ADD)} - {-rhs.value}"
            elif (isinstance(rhs, AffineBinary) and rhs.kind == "*"
                  and isinstance(rhs.rhs, AffineConstant) and rhs.rhs.value == -1):
                text = f"{self.lhs.format(_ADD)} - {rhs.lhs.format(_MUL)}"
            else:
                text = f"{self.lhs.format(_ADD)} + {rhs.format(_ADD)}"
            return f"({text})" if parent > _ADD else text
        if self.kind == "*" and isinstance(self.rhs, AffineConstant) and self.rhs.value == -1:
            text = f"-{self.lhs.format(_MUL + 1)}"
        else:
            op = {"*": "*"}.get(self.kind, self.kind)
            text = f"{self.lhs.format(_MUL)} {op} {self.rhs.format(_MUL + 1)}"
        return f"({text})" if parent > _MUL else text


class AffineMap(Immutable):
    """`(d0, d1)[s0] -> (d0 + s0, d1)`."""

    _fields = ("num_dims", "num_symbols", "results")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, num_dims: int, num_symbols: int, results: Sequence[AffineExpr]) -> tuple:
        return (int(num_dims), int(num_symbols), tuple(results))

    @classmethod
    def identity(cls, rank: int) -> "AffineMap":
        return cls(rank, 0, [AffineDim(i) for i in range(rank)])

    def evaluate(self, dims: Sequence[int], symbols: Sequence[int] = ()) -> tuple[int, ...]:
        return tuple(e.evaluate(dims, symbols) for e in self.results)

    def _print(self) -> str:
        return (_header(self.num_dims, self.num_symbols)
                + f" -> ({', '.join(e.format(0) for e in self.results)})")


class IntegerSet(Immutable):
    """`(d0)[s0] : (d0 - s0 >= 0, d0 == 0)`: each constraint is `expr >= 0` or `expr == 0`."""

    _fields = ("num_dims", "num_symbols", "constraints", "equalities")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, num_dims, num_symbols, constraints, equalities) -> tuple:
        return (int(num_dims), int(num_symbols), tuple(constraints), tuple(bool(e) for e in equalities))

    def contains(self, dims: Sequence[int], symbols: Sequence[int] = ()) -> bool:
        for expr, eq in zip(self.constraints, self.equalities):
            v = expr.evaluate(dims, symbols)
            if (v != 0) if eq else (v < 0):
                return False
        return True

    def _print(self) -> str:
        body = ", ".join(f"{e.format(0)} {'==' if eq else '>='} 0"
                         for e, eq in zip(self.constraints, self.equalities))
        return f"{_header(self.num_dims, self.num_symbols)} : ({body})"


def _header(num_dims: int, num_symbols: int) -> str:
    text = "(" + ", ".join(f"d{i}" for i in range(num_dims)) + ")"
    if num_symbols:
        text += "[" + ", ".join(f"s{i}" for i in range(num_symbols)) + "]"
    return text
