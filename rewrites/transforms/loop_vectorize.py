"""rewrites: `loop-vectorize`: a loop.for of kind "vectorized" with constant bounds becomes
straight-line vector code, one lane per iteration (TVM's vectorize, done here rather than
left to LLVM's loop vectoriser, which gives up on the float reductions and the local tiles
the schedules make).

Each value of the body is either uniform (the same in every lane: defined outside the loop,
or computed from uniform values only) or varying. Index values that vary stay affine forms
`base + stride*iv` until a use needs them as vectors. Then:
- a load whose indices are all uniform stays one scalar load (when nothing in the loop
  stores to that buffer); a load whose last index is `base + iv` and whose other indices are
  uniform becomes loop.vload; a store likewise becomes loop.vstore;
- arith and math ops on varying operands become the same ops on vectors, uniform operands
  broadcast (`loop.broadcast`); with `contract`, `addf(mulf(a, b), c)` whose product has no
  other use becomes `math.fma(a, b, c)` (one rounding instead of two, as a C compiler's
  -ffp-contract=fast does);
- a loop-carried value that is a reduction (`acc' = addf(acc, x)`, or a product, max or
  min) becomes one vector of the lanes' x, reduced once (loop.reduce_vector) and combined
  with the initial value: a row's sum or max over 8 elements at a time;
- anything else (a gather or scatter, a guard whose condition varies, a nested loop,
  other loop-carried values) leaves the loop scalar, counted under `left-scalar`: unrolled when it
  has at most `max-width` iterations, so the lanes are straight-line code (LLVM's SLP
  vectoriser may still pair them, and a local tile indexed by the lane keeps constant
  offsets, which LLVM needs to hold it in registers), else as it was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from descend.dialects import arith
from descend.dialects.loop import (BroadcastOp, ForOp, LoadOp, ReduceVectorOp, StoreOp, VLoadOp, VStoreOp,
                                   constant_trip_count)
from descend.dialects.math import FmaOp
from descend.dialects.numeric import constant_of, dtype_of
from descend.ir import Context, DenseElementsAttr, FloatType, IndexType, Operation, Pure, StringAttr, VectorType, index

from ..pass_options import option
from ..passes import Pass, register_pass
from .loop_unroll import unroll_fully

# Ops vectorised lane by lane: their result is a function of their operands alone.
_LANEWISE_DIALECTS = ("arith.", "math.")
# Loop-carried values a vectorised loop may reduce: the combining op and its reduce_vector kind.
_REDUCTION_KINDS = {"arith.addf": "sum", "arith.mulf": "prod", "arith.maximumf": "max", "arith.minimumf": "min",
                    "arith.addi": "sum", "arith.muli": "prod", "arith.maxsi": "max", "arith.minsi": "min"}
# Index arithmetic followed as affine forms (a panel's floordiv and mod when every lane
# falls in one panel: a packed operand, lowering/layout.py).
_INDEX_OPS = ("arith.addi", "arith.subi", "arith.muli", "arith.floordivsi", "arith.remsi")


class _Scalar(Exception):
    """The loop cannot be vectorised; the message says why (statistics and tests read it)."""


@dataclass(frozen=True)
class _Affine:
    """An index `base + stride*iv` (base uniform, None for 0)."""
    base: object
    stride: int


class _LoopVectorizer:
    def __init__(self, loop: ForOp, contract: bool):
        self.loop = loop
        self.contract = contract
        self.width = constant_trip_count(loop)
        self.lower = int(constant_of(loop.lower))
        self.block = loop.body.blocks[0]
        self.iv = self.block.args[0]
        self.new_ops: list[Operation] = []
        self.uniform: dict = {}      # old value -> new scalar value (ops cloned out of the loop)
        self.affine: dict = {}       # old index value -> _Affine
        self.vector: dict = {}       # old value -> new vector value
        self.splat: dict = {}        # new scalar value -> its broadcast
        self.fused: set = set()      # mulf ops folded into an fma
        self.contractions: dict = {}  # addf op -> (its mulf operand's op, the other operand)
        self.constants: dict = {}

    # ---- analysis --------------------------------------------------------------------------

    def check(self) -> None:
        self._find_reductions()
        if self.width is None or constant_of(self.loop.step) is None or int(constant_of(self.loop.step)) != 1:
            raise _Scalar("bounds or step not constant")
        stored = {op.memref for op in self.block.ops if isinstance(op, StoreOp)}
        for op in self.block.ops:
            if op.regions:
                raise _Scalar(f"'{op.name}' with regions in the body")
            if any(isinstance(r.type, FloatType) and r.type.width < 32 for r in op.results):
                # f16/bf16 vectors: without native support LLVM expands their conversions
                # into runtime calls nothing here links
                raise _Scalar(f"'{op.name}' makes a {op.results[0].type}")
            if isinstance(op, LoadOp) and op.memref in stored and not self._varies(op):
                raise _Scalar("a uniform load from a buffer the loop stores to")

    def _find_reductions(self) -> None:
        """Each loop-carried value must be a reduction: `acc' = combine(acc, x)` yielded, acc
        used only there. The lanes' x become a vector, reduced once (loop.reduce_vector)
        and combined with the initial value (a float sum is reassociated)."""
        self.reductions = []  # (combine op, the lane operand, kind)
        yielded = list(self.block.terminator.operands)
        for acc, value in zip(self.block.args[1:], yielded):
            combine = value.defining_op
            if (combine is None or combine.parent is not self.block or combine.name not in _REDUCTION_KINDS
                    or len(acc.uses) != 1 or len(value.uses) != 1 or acc not in combine.operands
                    or combine.operands[0] is combine.operands[1]):
                raise _Scalar("carries a loop value that is not a sum, product, max or min")
            lanes = combine.operands[1] if combine.operands[0] is acc else combine.operands[0]
            self.reductions.append((combine, lanes, _REDUCTION_KINDS[combine.name]))
            self.fused.add(combine)

    def _varies(self, op) -> bool:
        """Does `op` (in the body) depend on the induction variable?"""
        return any(v is self.iv or self._in_body(v) and self._varying_value(v) for v in op.operands)

    def _in_body(self, value) -> bool:
        return value.defining_op is not None and value.defining_op.parent is self.block

    def _varying_value(self, value) -> bool:
        cache = self.__dict__.setdefault("_vary_cache", {})
        if value not in cache:
            cache[value] = self._varies(value.defining_op)
        return cache[value]

    # ---- building ------------------------------------------------------------------------

    def emit(self, op: Operation) -> Operation:
        self.new_ops.append(op)
        return op

    def scalar(self, value):
        """The uniform value's replacement (outside values stay)."""
        return self.uniform.get(value, value)

    def constant(self, attr):
        key = (attr.type, str(attr))
        value = self.constants.get(key)
        if value is None:
            value = self.constants[key] = self.emit(arith.ConstantOp.build(value=attr, location=self.loop.location)).result
        return value

    def vector_type(self, t) -> VectorType:
        return VectorType((self.width,), t)

    def broadcast(self, scalar):
        vec = self.splat.get(scalar)
        if vec is None:
            vec = self.emit(BroadcastOp.build(scalar, result_types=[self.vector_type(scalar.type)],
                                              location=self.loop.location)).result
            self.splat[scalar] = vec
        return vec

    def as_vector(self, value):
        """`value` (old) as a vector of lanes."""
        if value in self.vector:
            return self.vector[value]
        if value is self.iv or value in self.affine:
            form = self.affine.get(value, _Affine(None, 1))
            lanes = np.arange(self.width, dtype=np.int64) * form.stride + self.lower * form.stride
            vec = self.constant(DenseElementsAttr(self.vector_type(index), lanes))
            if form.base is not None:
                vec = self.emit(arith.AddIOp.build(self.broadcast(form.base), vec,
                                                   location=self.loop.location)).result
            self.vector[value] = vec
            return vec
        return self.broadcast(self.scalar(value))

    def affine_of(self, value) -> _Affine | None:
        if value is self.iv:
            return _Affine(self.constant(_index_attr(self.lower)) if self.lower else None, 1)
        if value in self.affine:
            return self.affine[value]
        if value in self.vector:
            return None
        return _Affine(self.scalar(value), 0)

    def add_bases(self, a, b):
        if a is None:
            return b
        if b is None:
            return a
        return self.emit(arith.AddIOp.build(a, b, location=self.loop.location)).result

    # ---- ops -------------------------------------------------------------------------------

    def run(self) -> list[Operation]:
        self.check()
        if self.contract:
            self._find_contractions()
        for op in self.block.ops:
            if op is self.block.terminator:
                break
            if op in self.fused:
                continue
            if not self._varies(op) and not isinstance(op, StoreOp):
                self._uniform(op)
            elif isinstance(op, LoadOp):
                self._load(op)
            elif isinstance(op, StoreOp):
                self._store(op)
            elif isinstance(op.results[0].type, IndexType) and op.name in _INDEX_OPS:
                self._index(op)
            elif op.name.startswith(_LANEWISE_DIALECTS) and type(op).has_trait(Pure) and len(op.results) == 1:
                self._lanewise(op)
            else:
                raise _Scalar(f"'{op.name}' on varying operands")
        self.results, self.reduced = [], []
        for (combine, lanes, kind), init in zip(self.reductions, self.loop.inits):
            reduce = self.emit(ReduceVectorOp.build(self.as_vector(lanes), kind=StringAttr(kind),
                                                    location=combine.location))
            operands = [init, reduce.result] if combine.operands[0] in self.block.args else [reduce.result, init]
            final = self.emit(combine.clone({v: o for v, o in zip(combine.operands, operands)}))
            self.results.append(final.results[0])
            self.reduced.append((reduce, final))
        return self.new_ops

    def _uniform(self, op) -> None:
        mapping = {v: self.scalar(v) for v in op.operands}
        new = self.emit(op.clone(mapping))
        for old, fresh in zip(op.results, new.results):
            self.uniform[old] = fresh

    def _index(self, op) -> None:
        lhs, rhs = (self.affine_of(v) for v in op.operands)
        if lhs is None or rhs is None:
            raise _Scalar(f"'{op.name}' of non-affine indices")
        if op.name == "arith.addi":
            form = _Affine(self.add_bases(lhs.base, rhs.base), lhs.stride + rhs.stride)
        elif op.name == "arith.muli":
            factor, other = (rhs, lhs) if rhs.stride == 0 else (lhs, rhs)
            k = constant_of(factor.base) if factor.stride == 0 and factor.base is not None else None
            if k is None:
                raise _Scalar("a varying index multiplied by a non-constant")
            base = (self.emit(arith.MulIOp.build(other.base, factor.base, location=op.location)).result
                    if other.base is not None else None)
            form = _Affine(base, other.stride * int(k))
        elif op.name == "arith.subi" and rhs.stride == 0:
            base = lhs.base
            if rhs.base is not None:
                base = self.emit(arith.SubIOp.build(lhs.base if lhs.base is not None else self.constant(_index_attr(0)),
                                                    rhs.base, location=op.location)).result
            form = _Affine(base, lhs.stride)
        elif op.name in ("arith.floordivsi", "arith.remsi"):
            self._panel(op, lhs, rhs)
            return
        else:
            raise _Scalar(f"'{op.name}' of a varying index")
        self.affine[op.results[0]] = form

    def _panel(self, op, lhs: _Affine, rhs: _Affine) -> None:
        """`x floordiv d` and `x mod d` for x = base + iv: when base's residue modulo d is
        known and the loop's lanes stay inside one panel (0 <= r + iv < d), the quotient is
        uniform (floordiv of the base) and the remainder is `r + iv`. Index values are
        non-negative (they address buffers), so remsi is the residue."""
        d = constant_of(rhs.base) if rhs.stride == 0 and rhs.base is not None else None
        r = residue(lhs.base, int(d)) if d is not None and lhs.stride == 1 else None
        if r is None or not (0 <= r + self.lower and r + self.lower + self.width <= int(d)):
            raise _Scalar(f"'{op.name}' whose lanes may cross a panel")
        if op.name == "arith.remsi":
            self.affine[op.results[0]] = _Affine(self.constant(_index_attr(r)) if r else None, 1)
            return
        base = lhs.base if lhs.base is not None else self.constant(_index_attr(0))
        quotient = self.emit(arith.FloorDivSIOp.build(base, rhs.base, location=op.location)).result
        self.uniform[op.results[0]] = quotient

    def _contiguous(self, op, indices) -> list:
        """The start indices of a unit-stride access along the last dimension."""
        forms = [self.affine_of(v) for v in indices]
        if any(f is None for f in forms) or any(f.stride for f in forms[:-1]) or forms[-1].stride != 1:
            raise _Scalar(f"'{op.name}' is not contiguous in the vectorised loop (a gather or scatter)")
        if op.memref.type.shape[-1] < self.width:
            raise _Scalar(f"'{op.name}' rows are shorter than the vector")
        return [f.base if f.base is not None else self.constant(_index_attr(0)) for f in forms]

    def _load(self, op) -> None:
        start = self._contiguous(op, op.indices)
        self.vector[op.result] = self.emit(VLoadOp.build(
            self.scalar(op.memref), start, result_types=[self.vector_type(op.result.type)],
            location=op.location)).result

    def _store(self, op) -> None:
        if not op.indices or not any(self._in_body(v) and self._varying_value(v) or v is self.iv
                                     for v in op.indices):
            raise _Scalar("a store every lane makes to the same element")
        start = self._contiguous(op, op.indices)
        self.emit(VStoreOp.build(self.as_vector(op.value), self.scalar(op.memref), start, location=op.location))

    def _lanewise(self, op) -> None:
        fma = self.contractions.get(op)
        if fma is not None:
            product, other = fma
            a, b = (self.as_vector(v) for v in product.operands)
            new = self.emit(FmaOp.build(a, b, self.as_vector(other), location=op.location))
            self.vector[op.results[0]] = new.results[0]
            return
        mapping = {v: self.as_vector(v) for v in op.operands}
        new = self.emit(op.clone(mapping))
        result = new.results[0]
        result.type = self.vector_type(op.results[0].type)
        self.vector[op.results[0]] = result

    def _find_contractions(self) -> None:
        for op in self.block.ops:
            if op.name != "arith.addf" or op in self.fused or not self._varies(op):
                continue  # (a reduction's combine stays; a uniform add stays a scalar add)
            for n, value in enumerate(op.operands):
                product = value.defining_op
                if (product is not None and product.name == "arith.mulf" and product.parent is self.block
                        and len(value.uses) == 1 and not product.properties.get("fastmath")
                        and not op.properties.get("fastmath")):
                    self.contractions[op] = (product, op.operands[1 - n])
                    self.fused.add(product)
                    break


def residue(value, d: int) -> int | None:
    """`value` modulo d when the index arithmetic defining it says (constants, sums,
    products, induction variables stepping by multiples of d from a known residue)."""
    if value is None:
        return 0
    op = value.defining_op
    if op is None:
        parent = getattr(value.owner, "parent_op", None) if hasattr(value, "owner") else None
        if isinstance(parent, ForOp) and value is parent.body.blocks[0].args[0]:
            step = constant_of(parent.step)
            if step is not None and int(step) % d == 0:
                return residue(parent.lower, d)
        return None
    k = constant_of(value)
    if k is not None:
        return int(k) % d
    if op.name in ("arith.addi", "arith.subi"):
        a, b = (residue(v, d) for v in op.operands)
        if a is None or b is None:
            return None
        return (a + b if op.name == "arith.addi" else a - b) % d
    if op.name == "arith.muli":
        k0, k1 = (constant_of(v) for v in op.operands)
        for k, other in ((k1, op.operands[0]), (k0, op.operands[1])):
            if k is not None:
                if int(k) % d == 0:
                    return 0
                r = residue(other, d)
                return None if r is None else r * int(k) % d
    return None


def _index_attr(n: int):
    from descend.ir import IntegerAttr
    return IntegerAttr(int(n), index)


def vectorize_loop(loop: ForOp, contract: bool = True) -> str | None:
    """Replace `loop` by vector code; returns None, or why it stays a loop."""
    vectorizer = _LoopVectorizer(loop, contract)
    try:
        ops = vectorizer.run()
    except _Scalar as reason:
        for op in reversed(vectorizer.new_ops):
            op.drop_operand_uses()
        return str(reason)
    for op in ops:
        loop.parent.insert_before(loop, op)
    for old, new in zip(loop.results, vectorizer.results):
        old.replace_all_uses_with(new)
    loop.erase()
    for reduce, final in vectorizer.reduced:
        while reduce is not None:
            reduce, final = _promote_accumulator(reduce, final)
    return None


def _promote_accumulator(reduce: ReduceVectorOp, final: Operation):
    """`final = combine(acc, reduce_vector(v))` where `acc` is the loop-carried value of the
    enclosing loop.for and `final` what it yields: carry a vector instead (start: the
    combiner's identity in every lane; each iteration combines whole vectors), and reduce
    the lanes once, after that loop. Returns the new (reduce, final) pair after the loop,
    to promote again through the next enclosing loop, or (None, None)."""
    acc = next((v for v in final.operands if v is not reduce.result), None)
    loop = final.parent.parent_op if final.parent is not None else None
    if (not isinstance(loop, ForOp) or acc is None or acc.defining_op is not None
            or acc not in loop.body.blocks[0].args[1:] or len(acc.uses) != 1 or len(final.results[0].uses) != 1):
        return None, None
    terminator = loop.body.blocks[0].terminator
    k = loop.body.blocks[0].args.index(acc) - 1
    if terminator.operands[k] is not final.results[0] or final.parent is not loop.body.blocks[0]:
        return None, None
    vector = reduce.vector
    kind = reduce.kind.value
    identity = _identity(kind, vector.type.element_type)
    if identity is None:
        return None, None
    # inside: combine whole vectors (a sum of products: one fma per vector)
    acc.type = vector.type
    product = vector.defining_op
    if (final.name == "arith.addf" and product is not None and product.name == "arith.mulf"
            and len(vector.uses) == 1 and product.parent is final.parent
            and not product.properties.get("fastmath") and not final.properties.get("fastmath")):
        lanes = FmaOp.build(*product.operands, acc, location=final.location)
    else:
        lanes = final.clone({reduce.result: vector})
        lanes.results[0].type = vector.type
    final.parent.insert_before(final, lanes)
    final.results[0].replace_all_uses_with(lanes.results[0])
    start = loop.inits[k]
    fused = lanes.name == "math.fma"
    final.erase()
    reduce.erase()
    if fused:
        product.erase()
    # the start: the identity in every lane; after the loop: reduce once, combine with the start
    splat = arith.ConstantOp.build(value=DenseElementsAttr(vector.type, np.full(vector.type.shape, identity,
                                                                                dtype=dtype_of(vector.type))),
                                   location=loop.location)
    loop.parent.insert_before(loop, splat)
    operands = list(loop.operands)
    operands[3 + k] = splat.result
    loop.set_operands(operands)
    result = loop.results[k]
    result.type = vector.type
    uses = list(result.uses)
    after = ReduceVectorOp.build(result, kind=StringAttr(kind), location=loop.location)
    scalar = (arith.AddFOp.build(start, after.result, location=loop.location) if fused
              else _combine_like(lanes, start, after.result))
    anchor = loop.next
    loop.parent.insert_before(anchor, after) if anchor is not None else loop.parent.append(after)
    loop.parent.insert_after(after, scalar)
    for use in uses:
        use.owner.set_operand(use.index, scalar.results[0])
    return after, scalar


def _combine_like(op: Operation, lhs, rhs) -> Operation:
    """A scalar copy of the combining op `op` on (lhs, rhs)."""
    new = op.clone({op.operands[0]: lhs, op.operands[1]: rhs})
    new.results[0].type = lhs.type
    return new


def _identity(kind: str, element):
    if isinstance(element, FloatType):
        return {"sum": -0.0, "prod": 1.0, "max": -np.inf, "min": np.inf}[kind]
    if getattr(element, "width", None) in (8, 16, 32, 64):
        bits = element.width
        return {"sum": 0, "prod": 1, "max": -(1 << (bits - 1)), "min": (1 << (bits - 1)) - 1}[kind]
    return None



@register_pass
@dataclass(frozen=True)
class LoopVectorize(Pass):
    """Turn loops of kind "vectorized" (constant bounds, at most `max-width` lanes) into vector ops."""

    name: ClassVar[str] = "loop-vectorize"
    statistics: ClassVar[dict] = {"vectorized": "loops turned into vector code",
                                  "left-scalar": "vectorized-kind loops left scalar (unrolled when short)"}

    max_width: int = option(64, help="vectorise only loops of at most this many iterations")
    contract: bool = option(True, help="fuse a multiply feeding an add into math.fma")

    def run(self, op: Operation, ctx: Context) -> None:
        loops = [o for o in op.walk(order="post") if isinstance(o, ForOp) and o.kind.value == "vectorized"]
        for loop in loops:
            trips = constant_trip_count(loop)
            if trips is None or trips > self.max_width or trips < 2:
                self.count("left-scalar")
                continue
            if vectorize_loop(loop, self.contract) is None:
                self.count("vectorized")
            else:
                unroll_fully(loop)
                self.count("left-scalar")
