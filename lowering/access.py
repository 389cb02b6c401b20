"""lowering: how a te.compute's reads move through memory as its axes advance. The
default schedule asks this before it vectorises an axis: every buffer a reduction reads
must be either contiguous along the axis (its last index steps by one, the others stay) or
invariant (no index moves), or the vector loop would need a gather.

An index operand of a te.read is an `Access` form: a linear combination of the compute's
axes (`coeffs`) plus axes it depends on in any other way (`other`: a division, a clamp, a
select). Reads of computes that are inlined are followed into the producer's body, with
its axes bound to the read's index forms, so the buffers actually loaded are what count."""

from __future__ import annotations

from dataclasses import dataclass, field

from descend.dialects.te import ComputeOp, ReadOp, YieldOp


@dataclass(frozen=True)
class Access:
    """An index as `sum(coeffs[a] * a) + (something not depending on an axis)`, and the
    axes it depends on non-linearly."""
    coeffs: dict = field(default_factory=dict)
    other: frozenset = frozenset()

    @property
    def axes(self) -> set:
        return {a for a, c in self.coeffs.items() if c} | set(self.other)

    def stride(self, axis: str) -> int | None:
        """How far the index moves when `axis` steps by one (None: not linearly)."""
        return None if axis in self.other else self.coeffs.get(axis, 0)


CONSTANT = Access()


def _add(a: Access, b: Access, sign: int = 1) -> Access:
    coeffs = dict(a.coeffs)
    for axis, c in b.coeffs.items():
        coeffs[axis] = coeffs.get(axis, 0) + sign * c
    return Access(coeffs, a.other | b.other)


def _opaque(*forms: Access) -> Access:
    axes = frozenset().union(*(f.axes for f in forms)) if forms else frozenset()
    return Access({}, axes)


def _constant_int(value) -> int | None:
    op = value.defining_op
    if op is not None and op.name == "arith.constant":
        v = op.value
        return int(v.value) if hasattr(v, "value") and isinstance(v.value, int) else None
    return None


@dataclass(frozen=True)
class BufferRead:
    """A read that loads from a buffer: the tensor (a kernel argument or a materialised
    compute's result) and the forms of its indices."""
    tensor: object
    indices: tuple


def buffer_reads(compute: ComputeOp, inlined: dict, axes: list[Access] | None = None) -> list[BufferRead]:
    """The buffer reads one element of `compute` makes, following reads of `inlined`
    computes (te value -> ComputeOp) into their bodies. `axes` are the forms bound to the
    compute's block arguments (default: its own axes i0.., r0..)."""
    block = compute.block
    if axes is None:
        n_out = len(compute.shape)
        names = [f"i{n}" for n in range(n_out)] + [f"r{n}" for n in range(len(block.args) - n_out)]
        axes = [Access({name: 1}) for name in names]
    forms = dict(zip(block.args, axes))
    reads: list[BufferRead] = []
    for op in block.ops:
        if isinstance(op, YieldOp):
            break
        if isinstance(op, ReadOp):
            at = [forms.get(i, CONSTANT) for i in op.indices]
            producer = inlined.get(op.tensor)
            if producer is not None:
                reads.extend(buffer_reads(producer, inlined, at))
            else:
                reads.append(BufferRead(op.tensor, tuple(at)))
            forms[op.result] = CONSTANT
            continue
        operands = [forms.get(v, CONSTANT) for v in op.operands]
        if op.name in ("arith.addi", "arith.subi"):
            form = _add(operands[0], operands[1], 1 if op.name == "arith.addi" else -1)
        elif op.name == "arith.muli":
            k0, k1 = _constant_int(op.operands[0]), _constant_int(op.operands[1])
            if k1 is not None or k0 is not None:
                form, k = (operands[0], k1) if k1 is not None else (operands[1], k0)
                form = Access({a: c * k for a, c in form.coeffs.items()}, form.other)
            else:
                form = _opaque(*operands)
        elif op.name in ("arith.index_cast", "arith.index_castui"):
            form = operands[0]
        else:
            form = _opaque(*operands)
        for result in op.results:
            forms[result] = form
    return reads


def classify(read: BufferRead, axis: str) -> str:
    """'invariant', 'contiguous' or 'gather': how `read` moves along `axis`."""
    if not any(axis in f.axes for f in read.indices):
        return "invariant"
    *leading, last = read.indices
    if any(axis in f.axes for f in leading) or last.stride(axis) != 1:
        return "gather"
    return "contiguous"
