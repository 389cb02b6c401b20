"""te: building te.compute and te.kernel from Python, the API lowering code (graph -> te,
the TOPI-like compute builders) writes tensor expressions with.

    from descend.dialects.te.builder import compute

    def matmul_body(b, i, r, reads):
        (m, n), (k,) = i, r
        a, w = reads
        return b.mul(a[m, k], w[n, k])

    y = compute(builder, (8, 16), f32, [a, w], matmul_body, reduce=(64,), combiner="sum", name="y")

`body_fn(b, indices, reduce_indices, reads)` gets a `BodyBuilder` (scalar arith/math with
Python numbers accepted wherever a value is: they become constants of the other operand's
type, or `index` for indices), the output and reduction index values, and one `Reader` per
input (`reads[0][i, k]` is a te.read). It returns the element to yield."""

from __future__ import annotations

from typing import Callable, Sequence

from ...ir import (Block, Builder, DenseArrayAttr, FloatAttr, FloatType, IndexType, IntegerAttr,
                   Region, StringAttr, TensorType, Type, Value, i1, i64, index)
from ...ir.types import element_type_of
from .. import arith, math as math_dialect
from .attrs import ScheduleAttr
from .ops import ComputeOp, KernelOp, ReadOp, ReturnOp, YieldOp


class Reader:
    """`reader[i, j]` reads the input tensor at indices (Values or ints) in a compute body."""

    def __init__(self, b: "BodyBuilder", tensor: Value):
        self.b = b
        self.tensor = tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.type.shape)

    def __getitem__(self, indices) -> Value:
        if not isinstance(indices, tuple):
            indices = (indices,)
        return self.b.read(self.tensor, list(indices))

    def padded(self, indices: Sequence, pad_value) -> Value:
        return self.b.padded_read(self.tensor, indices, pad_value)


class BodyBuilder:
    """Appends scalar ops to a compute body. Every arithmetic method picks the arith op by
    type (addf for floats, addi for integers and index); comparisons give i1."""

    def __init__(self, block: Block, location=None, extents: Sequence[int] = ()):
        self.builder = Builder.at_end(block)
        self.builder.location = location
        self._constants: dict = {}
        # Known (low, high) bounds of index values, from the block arguments' extents and
        # constants through add/sub/mul/min/max, so padded_read tests only what can be outside.
        self._ranges: dict = {id(a): (0, e - 1) for a, e in zip(block.args, extents)}

    # ---- leaves --------------------------------------------------------------------------------

    def const(self, value, type: Type = index) -> Value:
        """An arith.constant of `type` (one per value and type in a body)."""
        key = (type, float(value) if isinstance(type, FloatType) else int(value))
        cached = self._constants.get(key)
        if cached is None:
            attr = FloatAttr(float(value), type) if isinstance(type, FloatType) else IntegerAttr(int(value), type)
            cached = self._constants[key] = self._build(arith.ConstantOp, value=attr)
            if not isinstance(type, FloatType):
                self._ranges[id(cached)] = (int(value), int(value))
        return cached

    def range_of(self, i: Value) -> tuple[int, int] | None:
        """The bounds (low, high) an index value is known to lie in, or None."""
        return self._ranges.get(id(i))

    def index(self, value: int) -> Value:
        return self.const(value, index)

    def read(self, tensor: Value, indices: Sequence) -> Value:
        """te.read of `tensor` at `indices` (Values or ints)."""
        return self._build(ReadOp, tensor, [self._index(i) for i in indices])

    def padded_read(self, tensor: Value, indices: Sequence, pad_value) -> Value:
        """`tensor[indices]` where every index is in bounds, else `pad_value`: the read clamps
        its indices and a select on the bounds test picks (the te.read contract)."""
        shape = tensor.type.shape
        element = tensor.type.element_type
        indices = [self._index(i) for i in indices]
        inside, clamped = None, []
        for i, d in zip(indices, shape):
            low, high = self.range_of(i) or (-1, d)
            tests = ([self.ge(i, 0)] if low < 0 else []) + ([self.lt(i, d)] if high >= d else [])
            for test in tests:
                inside = test if inside is None else self.and_(inside, test)
            if low < 0:
                i = self.max(i, 0)
            if high >= d:
                i = self.min(i, d - 1)
            clamped.append(i)
        value = self.read(tensor, clamped)
        if inside is None:
            return value
        return self.select(inside, value, self._scalar(pad_value, element))

    # ---- arithmetic ----------------------------------------------------------------------------

    def add(self, x, y) -> Value:
        return self._binary(arith.AddFOp, arith.AddIOp, x, y)

    def sub(self, x, y) -> Value:
        return self._binary(arith.SubFOp, arith.SubIOp, x, y)

    def mul(self, x, y) -> Value:
        return self._binary(arith.MulFOp, arith.MulIOp, x, y)

    def div(self, x, y) -> Value:
        """Float division, or signed integer division rounding toward negative infinity."""
        return self._binary(arith.DivFOp, arith.FloorDivSIOp, x, y)

    def floordiv(self, x, y) -> Value:
        return self._binary(None, arith.FloorDivSIOp, x, y)

    def mod(self, x, y) -> Value:
        """Float fmod, or signed integer remainder (equal to Python's % for non-negative operands)."""
        return self._binary(arith.RemFOp, arith.RemSIOp, x, y)

    def max(self, x, y) -> Value:
        """Maximum (NaN-propagating for floats, signed for integers)."""
        return self._binary(arith.MaximumFOp, arith.MaxSIOp, x, y)

    def min(self, x, y) -> Value:
        return self._binary(arith.MinimumFOp, arith.MinSIOp, x, y)

    def neg(self, x: Value) -> Value:
        if isinstance(x.type, FloatType):
            return self._build(arith.NegFOp, x)
        return self.sub(self.const(0, x.type), x)

    def index_add(self, i, n) -> Value:
        """An index plus an index or an int: `b.index_add(i, 3)`."""
        return self.add(self._index(i), self._index(n))

    def index_mul(self, i, n) -> Value:
        return self.mul(self._index(i), self._index(n))

    def clamp(self, x, low, high) -> Value:
        """min(max(x, low), high)."""
        return self.min(self.max(x, low), high)

    # ---- comparisons and logic -----------------------------------------------------------------

    def lt(self, x, y) -> Value:
        return self._compare("slt", "olt", x, y)

    def le(self, x, y) -> Value:
        return self._compare("sle", "ole", x, y)

    def gt(self, x, y) -> Value:
        return self._compare("sgt", "ogt", x, y)

    def ge(self, x, y) -> Value:
        return self._compare("sge", "oge", x, y)

    def eq(self, x, y) -> Value:
        return self._compare("eq", "oeq", x, y)

    def ne(self, x, y) -> Value:
        return self._compare("ne", "une", x, y)

    def and_(self, x, y) -> Value:
        return self._build(arith.AndIOp, *self._pair(x, y))

    def or_(self, x, y) -> Value:
        return self._build(arith.OrIOp, *self._pair(x, y))

    def not_(self, x: Value) -> Value:
        return self._build(arith.XOrIOp, x, self.const(1, i1))

    def in_bounds(self, i, low, high) -> Value:
        """low <= i < high, on indices."""
        return self.and_(self.ge(self._index(i), low), self.lt(self._index(i), high))

    def select(self, condition: Value, x, y) -> Value:
        x, y = self._pair(x, y)
        return self._build(arith.SelectOp, condition, x, y)

    # ---- casts and math ------------------------------------------------------------------------

    def cast(self, x: Value, to: Type) -> Value:
        """Converts between index, signless integers (signed reading) and floats."""
        src = x.type
        if src == to:
            return x
        if isinstance(src, IndexType) or isinstance(to, IndexType):
            if isinstance(src, FloatType) or isinstance(to, FloatType):
                return self.cast(self.cast(x, i64), to)
            op = arith.IndexCastOp
        elif isinstance(src, FloatType) and isinstance(to, FloatType):
            op = arith.ExtFOp if to.width > src.width else arith.TruncFOp
        elif isinstance(src, FloatType):
            op = arith.FPToSIOp
        elif isinstance(to, FloatType):
            op = arith.SIToFPOp
        else:
            op = arith.ExtSIOp if to.width > src.width else arith.TruncIOp
        return self._build(op, x, result_types=[to])

    def math(self, mnemonic: str, *operands) -> Value:
        """A math dialect op by mnemonic: `b.math("exp", x)`, `b.math("powf", x, 2.0)`."""
        cls = math_dialect.MATH.ops.get(f"math.{mnemonic}")
        if cls is None:
            raise ValueError(f"no op math.{mnemonic}")
        first = next(v for v in operands if isinstance(v, Value))
        return self._build(cls, *[self._scalar(v, first.type) for v in operands])

    def arith(self, mnemonic: str, *operands, result_type: Type | None = None, **properties) -> Value:
        """An arith op by mnemonic, for what the typed helpers do not pick: `b.arith("divui",
        x, y)`, `b.arith("cmpi", x, y, predicate="ult")`, `b.arith("bitcast", x,
        result_type=i32)`. Numbers become constants of the first Value operand's type."""
        from ..arith import ARITH
        cls = ARITH.ops.get(f"arith.{mnemonic}")
        if cls is None:
            raise ValueError(f"no op arith.{mnemonic}")
        first = next(v for v in operands if isinstance(v, Value))
        if result_type is not None:
            properties["result_types"] = [result_type]
        return self._build(cls, *[self._scalar(v, first.type) for v in operands], **properties)

    def exp(self, x: Value) -> Value:
        return self.math("exp", x)

    def sqrt(self, x: Value) -> Value:
        return self.math("sqrt", x)

    def tanh(self, x: Value) -> Value:
        return self.math("tanh", x)

    def abs(self, x: Value) -> Value:
        """|x|: math.absf for floats, math.absi for integers (signed reading)."""
        if isinstance(x.type, FloatType):
            return self.math("absf", x)
        return self._build(math_dialect.AbsIOp, x)

    def cast_unsigned(self, x: Value, to: Type) -> Value:
        """Like `cast`, reading integers as unsigned (extui, uitofp, fptoui, index_castui)."""
        src = x.type
        if src == to:
            return x
        if isinstance(src, IndexType) or isinstance(to, IndexType):
            if isinstance(src, FloatType) or isinstance(to, FloatType):
                return self.cast_unsigned(self.cast_unsigned(x, i64), to)
            op = arith.IndexCastUIOp
        elif isinstance(src, FloatType) and isinstance(to, FloatType):
            return self.cast(x, to)
        elif isinstance(src, FloatType):
            op = arith.FPToUIOp
        elif isinstance(to, FloatType):
            op = arith.UIToFPOp
        else:
            op = arith.ExtUIOp if to.width > src.width else arith.TruncIOp
        return self._build(op, x, result_types=[to])

    def truncdiv(self, x, y, unsigned: bool = False) -> Value:
        """Integer division rounding toward zero (divsi, or divui on unsigned readings)."""
        return self._build(arith.DivUIOp if unsigned else arith.DivSIOp, *self._pair(x, y))

    # ---- internals -----------------------------------------------------------------------------

    def _build(self, op_class, *args, **kwargs) -> Value:
        value = self.builder.build(op_class, *args, **kwargs).results[0]
        bounds = _RANGE_RULES.get(op_class)
        if bounds is not None and isinstance(value.type, IndexType):
            operands = [self._ranges.get(id(a)) for a in args[:2]]
            if all(r is not None for r in operands):
                self._ranges[id(value)] = bounds(*operands)
        return value

    def _index(self, i) -> Value:
        return i if isinstance(i, Value) else self.index(int(i))

    def _scalar(self, x, type: Type) -> Value:
        return x if isinstance(x, Value) else self.const(x, type)

    def _pair(self, x, y) -> tuple[Value, Value]:
        if not isinstance(x, Value) and not isinstance(y, Value):
            raise TypeError("at least one operand must be a Value (the other may be a number)")
        t = x.type if isinstance(x, Value) else y.type
        return self._scalar(x, t), self._scalar(y, t)

    def _binary(self, float_op, int_op, x, y) -> Value:
        x, y = self._pair(x, y)
        if isinstance(element_type_of(x.type), FloatType):
            if float_op is None:
                raise TypeError(f"no float form of {int_op.name}")
            return self._build(float_op, x, y)
        return self._build(int_op, x, y)

    def _compare(self, int_predicate: str, float_predicate: str, x, y) -> Value:
        x, y = self._pair(x, y)
        if isinstance(x.type, FloatType):
            return self._build(arith.CmpFOp, x, y, predicate=float_predicate)
        return self._build(arith.CmpIOp, x, y, predicate=int_predicate)


def _mul_range(a, b):
    products = [x * y for x in a for y in b]
    return min(products), max(products)


_RANGE_RULES = {
    arith.AddIOp: lambda a, b: (a[0] + b[0], a[1] + b[1]),
    arith.SubIOp: lambda a, b: (a[0] - b[1], a[1] - b[0]),
    arith.MulIOp: _mul_range,
    arith.MaxSIOp: lambda a, b: (max(a[0], b[0]), max(a[1], b[1])),
    arith.MinSIOp: lambda a, b: (min(a[0], b[0]), min(a[1], b[1])),
}

BodyFn = Callable[[BodyBuilder, list, list, list], object]


def compute_op(shape: Sequence[int], element: Type, inputs: Sequence[Value], body_fn: BodyFn,
               reduce: Sequence[int] = (), combiner: str | None = None, init=None,
               name: str | None = None, location=None) -> ComputeOp:
    """A te.compute, not inserted anywhere (see `compute`)."""
    shape, reduce = tuple(int(d) for d in shape), tuple(int(e) for e in reduce)
    if reduce and combiner is None:
        raise ValueError(f"a reduction over {list(reduce)} needs a combiner (sum, max, min, prod)")
    block = Block([index] * (len(shape) + len(reduce)))
    for n, arg in enumerate(block.args):  # the schedule's axis names
        arg.name_hint = f"i{n}" if n < len(shape) else f"r{n - len(shape)}"
    b = BodyBuilder(block, location, (*shape, *reduce))
    readers = [Reader(b, v) for v in inputs]
    value = body_fn(b, list(block.args[:len(shape)]), list(block.args[len(shape):]), readers)
    value = b._scalar(value, element)
    b.builder.build(YieldOp, value)
    properties = {}
    if reduce:
        properties["reduce"] = DenseArrayAttr(i64, list(reduce))
    if combiner is not None:
        properties["combiner"] = StringAttr(combiner)
    if init is not None:
        properties["init"] = (FloatAttr(float(init), element) if isinstance(element, FloatType)
                              else IntegerAttr(int(init), element))
    kwargs = {"location": location} if location is not None else {}
    op = ComputeOp.build(list(inputs), body=Region([block]), result_types=[TensorType(shape, element)],
                         **properties, **kwargs)
    if name is not None:
        op.output.name_hint = name
    return op


def compute(builder: Builder, shape: Sequence[int], element: Type, inputs: Sequence[Value],
            body_fn: BodyFn, reduce: Sequence[int] = (), combiner: str | None = None, init=None,
            name: str | None = None) -> Value:
    """Insert a te.compute at `builder` (a Builder or a PatternRewriter) and return its
    result, named `name`. The body is built completely before the op is inserted."""
    op = compute_op(shape, element, inputs, body_fn, reduce, combiner, init, name,
                    location=getattr(builder, "location", None))
    builder.insert(op)
    return op.output


def elementwise(builder: Builder, inputs: Sequence[Value], fn: Callable, element: Type | None = None,
                name: str | None = None) -> Value:
    """out[i] = fn(b, x0[i], x1[i], ...) for inputs of one shape (no broadcasting)."""
    shape = tuple(inputs[0].type.shape)
    element = element or inputs[0].type.element_type
    return compute(builder, shape, element, inputs,
                   lambda b, i, r, reads: fn(b, *[x[tuple(i)] for x in reads]), name=name)


def kernel(builder: Builder, kernel_name: str, inputs: Sequence[Value],
           body_fn: Callable[[Builder, list], Sequence[Value]], schedule=None) -> list[Value]:
    """Insert a te.kernel: `body_fn(kb, args)` builds computes with `kb` (a Builder at the
    kernel body) from the block arguments and returns the values the kernel returns.
    `schedule` is a ScheduleAttr, a JSON string, or anything with `to_attr()`."""
    block = Block([v.type for v in inputs])
    kb = Builder.at_end(block)
    kb.location = getattr(builder, "location", None)
    returned = list(body_fn(kb, list(block.args)))
    kb.build(ReturnOp, returned)
    properties = {"kernel_name": StringAttr(kernel_name)}
    if schedule is not None:
        if hasattr(schedule, "to_attr"):
            schedule = schedule.to_attr()
        properties["schedule"] = schedule if isinstance(schedule, ScheduleAttr) else ScheduleAttr(schedule)
    op = KernelOp.build(list(inputs), body=Region([block]), result_types=[v.type for v in returned],
                        **properties)
    builder.insert(op)
    return list(op.results)
