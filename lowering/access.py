"""lowering: how a te.compute's reads move through memory as its axes advance. The
default schedule asks this before it vectorises an axis: every buffer a reduction reads
must be either contiguous along the axis (its last index steps by one, the others stay) or
invariant (no index moves), or the vector loop would need a gather.

An index operand of a te.read is an `Access` form: a linear combination of the compute's
axes (`coeffs`) plus axes it depends on in any other way (`other`: a division, a clamp, a
select). One non-linear form is kept apart: an axis divided or taken modulo a constant
(`panel`), which is how a packed operand (lowering/layout.py) is read: `n floordiv 16` is
invariant and `n mod 16` contiguous for a vector of 8 or 16 lanes starting at a multiple of
its width. Reads of computes that are inlined are followed into the producer's body, with
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
    # ("div" | "mod", axis, divisor): the index is exactly `axis floordiv d` or `axis mod d`
    panel: tuple | None = None
    # the constant term when known (0 for a bare axis), else None
    offset: int | None = None

    @property
    def axes(self) -> set:
        axes = {a for a, c in self.coeffs.items() if c} | set(self.other)
        return axes | {self.panel[1]} if self.panel else axes

    def stride(self, axis: str) -> int | None:
        """How far the index moves when `axis` steps by one (None: not linearly)."""
        if axis in self.other or self.panel and self.panel[1] == axis:
            return None
        return self.coeffs.get(axis, 0)

    def panel_of(self, axis: str, width: int | None) -> str | None:
        """'div' or 'mod' when this index depends on `axis` only through a floordiv or mod by
        a multiple of `width` (so it is the same, or steps by one, across an aligned vector)."""
        if width is None or not self.panel or self.panel[1] != axis or self.panel[2] % width:
            return None
        return self.panel[0]


CONSTANT = Access()


def _add(a: Access, b: Access, sign: int = 1) -> Access:
    if a.panel or b.panel:
        return _opaque(a, b)
    coeffs = dict(a.coeffs)
    for axis, c in b.coeffs.items():
        coeffs[axis] = coeffs.get(axis, 0) + sign * c
    offset = None if a.offset is None or b.offset is None else a.offset + sign * b.offset
    return Access(coeffs, a.other | b.other, offset=offset)


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
        axes = [Access({name: 1}, offset=0) for name in names]
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
            if (k1 is not None or k0 is not None) and not any(f.panel for f in operands):
                form, k = (operands[0], k1) if k1 is not None else (operands[1], k0)
                form = Access({a: c * k for a, c in form.coeffs.items()}, form.other,
                              offset=None if form.offset is None else form.offset * k)
            else:
                form = _opaque(*operands)
        elif op.name in ("arith.floordivsi", "arith.remsi") and _constant_int(op.operands[1]):
            form = _panel("div" if op.name == "arith.floordivsi" else "mod", operands[0],
                          _constant_int(op.operands[1]))
        elif op.name == "arith.constant":
            form = Access(offset=_constant_int(op.results[0]))
        elif op.name in ("arith.index_cast", "arith.index_castui"):
            form = operands[0]
        else:
            form = _opaque(*operands)
        for result in op.results:
            forms[result] = form
    return reads


def _panel(kind: str, form: Access, divisor: int) -> Access:
    """`form floordiv divisor` or `form mod divisor`: a panel form when `form` is a bare axis."""
    axes = [a for a, c in form.coeffs.items() if c]
    if (divisor > 0 and len(axes) == 1 and form.coeffs[axes[0]] == 1 and not form.other
            and form.offset == 0 and not form.panel):
        return Access(panel=(kind, axes[0], divisor))
    return _opaque(form)


def classify(read: BufferRead, axis: str, width: int | None = None) -> str:
    """'invariant', 'contiguous' or 'gather': how `read` moves along `axis` (for a vector of
    `width` lanes aligned to its width, when given: then a packed operand's panel index is
    invariant and its lane index contiguous)."""
    if not any(axis in f.axes for f in read.indices):
        return "invariant"
    *leading, last = read.indices
    if any(axis in f.axes and f.panel_of(axis, width) != "div" for f in leading):
        return "gather"
    if last.stride(axis) == 1 or last.panel_of(axis, width) == "mod":
        return "contiguous"
    return "gather" if axis in last.axes else "invariant"


def panels(reads: list[BufferRead], axis: str) -> set[int]:
    """The divisors of the panel forms along `axis` among `reads` (a packed operand's panel
    width: a tile's vectors along `axis` must fill whole panels)."""
    return {f.panel[2] for r in reads for f in r.indices if f.panel and f.panel[1] == axis}
