"""lowering: schedules as data. A `Schedule` is an ordered list of primitive records
(split, reorder, fuse, vectorize, parallel, unroll, compute_inline, cache_write, compute_at,
cache_read; `tile` is sugar for split, split, reorder), each naming a compute of a te.kernel by its
result's name hint or its index among the kernel's computes. It round-trips through JSON and
through the kernel's `#te.schedule<"...">` attribute.

compute_at and cache_read make Stages: local buffers at a consumer's loop holding the region
of a tensor its inner loops read, inferred from the affine index forms of those reads
(`affine_reads`, `read_region`); `Schedule.validate` attaches them to the consumer's
LoopNest.

`Schedule.apply_to_axes(compute)` checks the records against one compute's axes and gives
the loop structure lower-te-to-loop builds: a `LoopNest` of `Loop`s (outermost first),
the expression of each original axis in the loop variables (`i0 = i0.outer*8 + i0.inner`)
and the guards a split whose factor does not divide the extent needs.

Axis names: a compute's output axes are `i0, i1, ...`, its reduction axes `r0, r1, ...`;
split names its results `<axis>.outer` / `<axis>.inner` and fuse `<outer>.<inner>.fused`
unless the record names them."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, fields, replace
from typing import Iterator, Sequence, Union

from descend.dialects.loop import AllocaOp
from descend.dialects.numeric import dtype_of
from descend.dialects.te import ComputeOp, KernelOp, ReadOp, ScheduleAttr, YieldOp

KINDS = ("serial", "parallel", "vectorized", "unrolled")


class ScheduleError(ValueError):
    """A record that does not apply: the message names the primitive, axis and compute."""


# ---- index expressions --------------------------------------------------------------------

@dataclass(frozen=True)
class Var:
    """A loop variable."""
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const:
    value: int

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Add:
    lhs: "IndexExpr"
    rhs: "IndexExpr"

    def __str__(self) -> str:
        return f"{self.lhs} + {self.rhs}"


@dataclass(frozen=True)
class Mul:
    lhs: "IndexExpr"
    factor: int

    def __str__(self) -> str:
        return f"{_operand_text(self.lhs)}*{self.factor}"


@dataclass(frozen=True)
class FloorDiv:
    lhs: "IndexExpr"
    divisor: int

    def __str__(self) -> str:
        return f"{_operand_text(self.lhs)} floordiv {self.divisor}"


@dataclass(frozen=True)
class Mod:
    lhs: "IndexExpr"
    divisor: int

    def __str__(self) -> str:
        return f"{_operand_text(self.lhs)} mod {self.divisor}"


IndexExpr = Union[Var, Const, Add, Mul, FloorDiv, Mod]


def _operand_text(e: IndexExpr) -> str:
    return str(e) if isinstance(e, (Var, Const)) else f"({e})"


def add(a: IndexExpr, b: IndexExpr) -> IndexExpr:
    """a + b, simplified: x + 0 -> x; (x floordiv f)*f + x mod f -> x (an undone fuse)."""
    if isinstance(b, Const) and b.value == 0:
        return a
    if isinstance(a, Const) and a.value == 0:
        return b
    if (isinstance(a, Mul) and isinstance(a.lhs, FloorDiv) and isinstance(b, Mod)
            and a.factor == a.lhs.divisor == b.divisor and a.lhs.lhs == b.lhs):
        return b.lhs
    return Add(a, b)


def mul(a: IndexExpr, factor: int) -> IndexExpr:
    return a if factor == 1 else Mul(a, factor)


def floordiv(a: IndexExpr, divisor: int) -> IndexExpr:
    return a if divisor == 1 else FloorDiv(a, divisor)


def mod(a: IndexExpr, divisor: int) -> IndexExpr:
    return Const(0) if divisor == 1 else Mod(a, divisor)


def substitute(e: IndexExpr, mapping: dict) -> IndexExpr:
    """`e` with each Var named in `mapping` replaced by its expression."""
    if isinstance(e, Var):
        return mapping.get(e.name, e)
    if isinstance(e, Const):
        return e
    if isinstance(e, Add):
        return add(substitute(e.lhs, mapping), substitute(e.rhs, mapping))
    builder = {Mul: mul, FloorDiv: floordiv, Mod: mod}[type(e)]
    return builder(substitute(e.lhs, mapping), e.factor if isinstance(e, Mul) else e.divisor)


def evaluate(e: IndexExpr, env: dict) -> int:
    """The value of `e` with loop variables bound by `env` (name -> int)."""
    if isinstance(e, Var):
        return env[e.name]
    if isinstance(e, Const):
        return e.value
    if isinstance(e, Add):
        return evaluate(e.lhs, env) + evaluate(e.rhs, env)
    if isinstance(e, Mul):
        return evaluate(e.lhs, env) * e.factor
    if isinstance(e, FloorDiv):
        return evaluate(e.lhs, env) // e.divisor
    return evaluate(e.lhs, env) % e.divisor


# ---- primitive records --------------------------------------------------------------------

ComputeKey = Union[str, int]


@dataclass(frozen=True)
class Split:
    """Split `axis` of extent E into `outer` (extent ceil(E/factor)) and `inner` (extent
    factor): axis = outer*factor + inner, guarded by axis < E when factor does not divide E."""
    compute: ComputeKey
    axis: str
    factor: int
    outer: str
    inner: str
    op = "split"


@dataclass(frozen=True)
class Reorder:
    """Put the named loops in this order, in the positions they occupy (others stay)."""
    compute: ComputeKey
    order: tuple
    op = "reorder"


@dataclass(frozen=True)
class Fuse:
    """Fuse two adjacent loops (outer directly around inner) into one of their extents'
    product: outer = fused floordiv E_inner, inner = fused mod E_inner."""
    compute: ComputeKey
    outer: str
    inner: str
    fused: str
    op = "fuse"


@dataclass(frozen=True)
class Vectorize:
    """Run the innermost loop as vector lanes: an output axis, or the reduction axis (each
    vector's lanes are partial results, combined when the vector ends)."""
    compute: ComputeKey
    axis: str
    op = "vectorize"


@dataclass(frozen=True)
class Parallel:
    """Run the outermost loop (an output axis) in parallel."""
    compute: ComputeKey
    axis: str
    op = "parallel"


@dataclass(frozen=True)
class Unroll:
    """Unroll the loop completely (its extent is a constant)."""
    compute: ComputeKey
    axis: str
    op = "unroll"


@dataclass(frozen=True)
class ComputeInline:
    """Substitute the compute's body at every read of it; it gets no loops of its own."""
    compute: ComputeKey
    op = "compute_inline"


@dataclass(frozen=True)
class CacheWrite:
    """Accumulate the reduction in a local tile (TVM's `cache_write(C, "local")` placed by
    `compute_at` just outside the reduction loops): the output loops after the last
    reduction loop span a small buffer that stays in registers, filled with the start
    value, updated by every step of the reduction loops right around it and written to the
    output once. When other reduction loops enclose those (a reduction blocked for the
    cache, GotoBLAS's kc), each tile is a partial sum: it starts from what the output holds,
    which a first nest sets to the start value."""
    compute: ComputeKey
    op = "cache_write"


@dataclass(frozen=True)
class ComputeAt:
    """Compute the producer `compute` inside `consumer`'s nest, just inside its loop `axis`
    (TVM's `s[compute].compute_at(s[consumer], axis)`): at each iteration of the loops down
    to `axis`, the box of the producer that the consumer's inner loops read (inferred from
    the reads' affine indices) is computed into a local buffer, which those reads then load.
    The producer gets no buffer; its other records schedule its loops over the region
    (its axes are offsets from the region's base), except parallel and cache_read."""
    compute: ComputeKey
    consumer: ComputeKey
    axis: str
    op = "compute_at"


@dataclass(frozen=True)
class CacheRead:
    """Copy the box of `tensor` (a kernel argument's name, or a materialised compute) that
    the consumer `compute`'s loops inside `axis` read into a local buffer at the top of loop
    `axis`; those reads load the copy (TVM's `cache_read` with the cache stage placed by
    `compute_at`)."""
    compute: ComputeKey
    tensor: ComputeKey
    axis: str
    op = "cache_read"


@dataclass(frozen=True)
class Pack:
    """Layout packing: read the compute's operand number `operand` through panels of
    `factor` elements along its axis `axis` (`T[.., a, ..]` becomes `P[a floordiv f, .., ..,
    a mod f]`: the panel index outermost, the lanes innermost; TVM's packed dense and
    NCHW[x]c). The packing is a compute of its own, inserted before the compute (later
    records' compute numbers count it); te-fold-constants evaluates it when the operand is a
    constant, so weights are packed once, when the model compiles. Applied to the kernel
    before the loop records (`Schedule.apply_layouts`)."""
    compute: ComputeKey
    operand: int
    axis: int
    factor: int
    op = "pack"


# Elements a local tile may hold: a register tile, not a cache block (2048 f32 = 8 KiB).
MAX_TILE_ELEMENTS = 2048

Record = Union[Split, Reorder, Fuse, Vectorize, Parallel, Unroll, ComputeInline, CacheWrite, ComputeAt,
               CacheRead, Pack]
PRIMITIVES = {cls.op: cls for cls in (Split, Reorder, Fuse, Vectorize, Parallel, Unroll, ComputeInline,
                                      CacheWrite, ComputeAt, CacheRead, Pack)}
# The record fields that name computes (renumbered when computes are added or removed).
_COMPUTE_FIELDS = ("compute", "consumer", "tensor")


def record_to_json(record: Record) -> dict:
    out = {"op": record.op}
    for f in fields(record):
        value = getattr(record, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def record_from_json(data: dict, position: int = 0) -> Record:
    """A record from its JSON object; errors name the record's position and the field."""
    where = f"schedule record #{position}"
    if not isinstance(data, dict):
        raise ScheduleError(f"{where}: expected an object, got {data!r}")
    kind = data.get("op")
    cls = PRIMITIVES.get(kind)
    if cls is None:
        raise ScheduleError(f"{where}: unknown primitive {kind!r} (expected one of {', '.join(PRIMITIVES)})")
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(names) - {"op"})
    if unknown:
        raise ScheduleError(f"{where} ({kind}): unknown field(s) {', '.join(unknown)} (fields: {', '.join(names)})")
    values = {}
    for name in names:
        if name not in data:
            if cls is Split and name in ("outer", "inner") and isinstance(data.get("axis"), str):
                values[name] = f"{data['axis']}.{name}"
                continue
            if cls is Fuse and name == "fused" and isinstance(data.get("outer"), str):
                values[name] = f"{data['outer']}.{data.get('inner')}.fused"
                continue
            raise ScheduleError(f"{where} ({kind}): missing field '{name}'")
        value = data[name]
        if name in ("compute", "consumer", "tensor"):
            ok = isinstance(value, (str, int)) and not isinstance(value, bool)
        elif name in ("factor", "operand", "axis") and cls is Pack or name == "factor":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif name == "order":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            value = tuple(value) if ok else value
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ScheduleError(f"{where} ({kind}): field '{name}' has the wrong type: {value!r}")
        values[name] = value
    return cls(**values)


# ---- loop structure -----------------------------------------------------------------------

@dataclass(frozen=True)
class Loop:
    """One loop of a nest: `for name in 0..extent`, run as `kind`; `reduction` when it
    iterates (part of) a reduction axis."""
    name: str
    extent: int
    kind: str = "serial"
    reduction: bool = False


@dataclass(frozen=True)
class Guard:
    """The body runs only where `expr < extent` (expr is never negative): the tail of a
    split whose factor does not divide the axis."""
    expr: IndexExpr
    extent: int

    def __str__(self) -> str:
        return f"{self.expr} < {self.extent}"


@dataclass(frozen=True)
class LoopNest:
    """The loops of one scheduled compute, outermost first. `axes` maps each original axis
    (`i0`.., `r0`..) to its expression in the loop variables; every guard must hold for the
    body to run. An inlined compute has no loops of its own (lower-te-to-loop substitutes
    its body at the reads)."""
    compute: str
    loops: tuple[Loop, ...]
    axes: dict = field(default_factory=dict)
    guards: tuple[Guard, ...] = ()
    domain: dict = field(default_factory=dict)
    inlined: bool = False
    cache_write: bool = False
    computed_at: tuple | None = None   # compute_at: (consumer key, axis); emitted by its consumer
    cache_reads: tuple = ()            # cache_read: ((tensor key, axis), ...) as recorded
    stages: tuple = ()                 # the Stages at its loops (Schedule.validate fills them)

    def tile_split(self) -> tuple[tuple, tuple, tuple]:
        """With cache_write: (outer loops, the reduction loops around the tile, the tile
        loops): the tile is the output loops after the last reduction loop, the run of
        reduction loops right before it accumulates into it. A reduction loop among the
        outer ones (a blocked reduction) makes each tile a partial sum, started from what
        the output holds."""
        last = max(n for n, loop in enumerate(self.loops) if loop.reduction)
        first = last
        while first > 0 and self.loops[first - 1].reduction:
            first -= 1
        return self.loops[:first], self.loops[first:last + 1], self.loops[last + 1:]

    @property
    def partial_tiles(self) -> bool:
        return self.cache_write and any(loop.reduction for loop in self.tile_split()[0])

    @property
    def output_axes(self) -> list[str]:
        return [a for a in self.domain if a.startswith("i")]

    @property
    def reduce_axes(self) -> list[str]:
        return [a for a in self.domain if a.startswith("r")]

    @property
    def reduction_encloses_output(self) -> bool:
        """A reduction loop is outside an output loop: the result must be initialised by a
        nest of its own before the accumulation (it cannot live in a scalar accumulator)."""
        seen_reduction = False
        for loop in self.loops:
            if loop.reduction:
                seen_reduction = True
            elif seen_reduction:
                return True
        return False

    def iterate(self) -> Iterator[tuple[int, ...]]:
        """The original index tuples (output axes, then reduction axes) the nest visits, in
        its order: the executable meaning of the loop structure."""
        names = [loop.name for loop in self.loops]
        order = list(self.domain)
        for values in itertools.product(*(range(loop.extent) for loop in self.loops)):
            env = dict(zip(names, values))
            if all(evaluate(g.expr, env) < g.extent for g in self.guards):
                yield tuple(evaluate(self.axes[a], env) for a in order)

    def __str__(self) -> str:
        lines = []
        for depth, loop in enumerate(self.loops):
            kind = "" if loop.kind == "serial" else f" {loop.kind}"
            lines.append("  " * depth + f"for {loop.name} in 0..{loop.extent}{kind}")
            for stage in self.stages:
                if stage.axis == loop.name:
                    box = ", ".join(f"{d.base} + 0..{d.extent}" for d in stage.region)
                    lines.append("  " * (depth + 1) + f"{stage.primitive} {stage.name}[{box}]")
        pad = "  " * len(self.loops)
        lines += [pad + f"if {g}" for g in self.guards]
        lines += [pad + f"{a} = {e}" for a, e in self.axes.items() if e != Var(a)]
        return "\n".join(lines)


def region_records(compute: str, records: Sequence[Record]) -> list:
    """The records of a computed-at compute that schedule its loops over the region (all but
    the compute_at); refuses those that cannot apply inside another compute's loop."""
    at_records = [r for r in records if isinstance(r, ComputeAt)]
    where = f"compute_at: compute '{compute}' is computed at '{_display((at_records[0].consumer,))}'"
    if len(at_records) > 1:
        raise ScheduleError(f"{where} and at '{_display((at_records[1].consumer,))}'; it can be "
                            "computed at one place")
    for r in records:
        if isinstance(r, (Parallel, CacheRead)):
            raise ScheduleError(f"{where}, inside its loop '{at_records[0].axis}'; its own loops take "
                                f"no {r.op}")
    return [r for r in records if not isinstance(r, ComputeAt)]


def loop_nest(compute: str, shape: Sequence[int], reduce: Sequence[int],
              records: Sequence[Record]) -> LoopNest:
    """Apply `records` (all about this compute) to the axes of a compute of result shape
    `shape` and reduction extents `reduce`; raises ScheduleError naming the first record
    whose preconditions fail."""
    domain = {f"i{n}": int(d) for n, d in enumerate(shape)}
    domain.update({f"r{n}": int(e) for n, e in enumerate(reduce)})
    state = _NestState(compute, domain)
    inline_record = next((r for r in records if isinstance(r, ComputeInline)), None)
    if inline_record is not None:
        others = [r.op for r in records if not isinstance(r, ComputeInline)]
        if others:
            raise ScheduleError(f"compute_inline: compute '{compute}' is inlined, so it has no loops "
                                f"to {others[0]}")
        if reduce:
            raise ScheduleError(f"compute_inline: compute '{compute}' reduces over "
                                f"{', '.join(a for a in domain if a.startswith('r'))}; only computes "
                                "without reduction axes can be inlined")
        return LoopNest(compute, (), {a: Var(a) for a in domain}, (), domain, inlined=True)
    at_record = next((r for r in records if isinstance(r, ComputeAt)), None)
    if at_record is not None:
        others = region_records(compute, records)
        # its loops span the region read at the consumer (sized by Schedule.validate); the
        # records are checked here on the whole domain
        nest = loop_nest(compute, shape, reduce, others)
        return replace(nest, computed_at=(at_record.consumer, at_record.axis))
    for record in records:
        state.apply(record)
    return state.finish()


class _NestState:
    def __init__(self, compute: str, domain: dict):
        self.compute = compute
        self.domain = domain
        self.order = list(domain)
        self.extents = dict(domain)
        self.reduction = {a: a.startswith("r") for a in domain}
        self.kinds: dict[str, str] = {}
        self.axes = {a: Var(a) for a in domain}
        self.guards: list[Guard] = []
        self.used = set(domain)
        self.cache_write = False
        self.cache_reads: list = []

    # ---- checks ----------------------------------------------------------------------------

    def _fail(self, primitive: str, message: str) -> ScheduleError:
        return ScheduleError(f"{primitive}: {message}")

    def _axis(self, primitive: str, name: str) -> None:
        if name not in self.extents:
            raise self._fail(primitive, f"axis '{name}' is not an axis of compute '{self.compute}' "
                                        f"(axes: {', '.join(self.order)})")

    def _fresh(self, primitive: str, name: str) -> None:
        if not name or name in self.used:
            raise self._fail(primitive, f"axis name '{name}' is already used in compute '{self.compute}'")
        self.used.add(name)

    def _not_annotated(self, primitive: str, name: str) -> None:
        if name in self.kinds:
            raise self._fail(primitive, f"axis '{name}' of compute '{self.compute}' is already "
                                        f"{self.kinds[name]}; {primitive} before annotating")

    # ---- primitives ------------------------------------------------------------------------

    def apply(self, record: Record) -> None:
        getattr(self, "_" + record.op)(record)

    def _split(self, r: Split) -> None:
        self._axis("split", r.axis)
        self._not_annotated("split", r.axis)
        if r.factor < 1:
            raise self._fail("split", f"factor must be a positive integer, got {r.factor}")
        if r.outer == r.inner:
            raise self._fail("split", f"outer and inner axes need different names, got '{r.outer}' twice")
        self._fresh("split", r.outer)
        self._fresh("split", r.inner)
        extent = self.extents.pop(r.axis)
        expr = add(mul(Var(r.outer), r.factor), Var(r.inner))
        self._substitute({r.axis: expr})
        if extent % r.factor:
            self.guards.append(Guard(expr, extent))
        at = self.order.index(r.axis)
        self.order[at:at + 1] = [r.outer, r.inner]
        self.extents[r.outer] = -(-extent // r.factor)
        self.extents[r.inner] = r.factor
        reduction = self.reduction.pop(r.axis)
        self.reduction[r.outer] = self.reduction[r.inner] = reduction

    def _reorder(self, r: Reorder) -> None:
        for name in r.order:
            self._axis("reorder", name)
        duplicates = sorted({n for n in r.order if r.order.count(n) > 1})
        if duplicates:
            raise self._fail("reorder", f"axis '{duplicates[0]}' appears twice in "
                                        f"[{', '.join(r.order)}]")
        positions = sorted(self.order.index(n) for n in r.order)
        for position, name in zip(positions, r.order):
            self.order[position] = name

    def _fuse(self, r: Fuse) -> None:
        self._axis("fuse", r.outer)
        self._axis("fuse", r.inner)
        for name in (r.outer, r.inner):
            self._not_annotated("fuse", name)
        at = self.order.index(r.outer)
        if at + 1 >= len(self.order) or self.order[at + 1] != r.inner:
            raise self._fail("fuse", f"axes '{r.outer}' and '{r.inner}' of compute '{self.compute}' "
                                     f"are not adjacent with '{r.outer}' outside (loop order: "
                                     f"{', '.join(self.order)})")
        if self.reduction[r.outer] != self.reduction[r.inner]:
            raise self._fail("fuse", f"cannot fuse output and reduction axes ('{r.outer}', '{r.inner}') "
                                     f"of compute '{self.compute}'")
        self._fresh("fuse", r.fused)
        inner_extent = self.extents[r.inner]
        self._substitute({r.outer: floordiv(Var(r.fused), inner_extent),
                          r.inner: mod(Var(r.fused), inner_extent)})
        self.order[at:at + 2] = [r.fused]
        self.extents[r.fused] = self.extents.pop(r.outer) * self.extents.pop(r.inner)
        self.reduction[r.fused] = self.reduction.pop(r.outer)
        del self.reduction[r.inner]

    def _annotate(self, primitive: str, kind: str, axis: str, allow_reduction: bool) -> None:
        self._axis(primitive, axis)
        if axis in self.kinds and self.kinds[axis] != kind:
            raise self._fail(primitive, f"axis '{axis}' of compute '{self.compute}' is already "
                                        f"{self.kinds[axis]}")
        if self.reduction[axis] and not allow_reduction:
            raise self._fail(primitive, f"axis '{axis}' of compute '{self.compute}' is a reduction "
                                        f"axis; only output axes can be {kind}")
        self.kinds[axis] = kind

    def _vectorize(self, r: Vectorize) -> None:
        # a reduction axis too: its lanes are partial results combined at the end of the
        # vector (a float sum is reassociated, as any vectorised sum is)
        self._annotate("vectorize", "vectorized", r.axis, allow_reduction=True)

    def _parallel(self, r: Parallel) -> None:
        self._annotate("parallel", "parallel", r.axis, allow_reduction=False)

    def _unroll(self, r: Unroll) -> None:
        self._annotate("unroll", "unrolled", r.axis, allow_reduction=True)

    def _cache_write(self, r: CacheWrite) -> None:
        if not any(self.reduction.values()):
            raise self._fail("cache_write", f"compute '{self.compute}' has no reduction axes: there is "
                                            "nothing to accumulate in a local tile")
        self.cache_write = True

    def _cache_read(self, r: CacheRead) -> None:
        if any(tensor == r.tensor for tensor, _ in self.cache_reads):
            raise self._fail("cache_read", f"tensor '{_display((r.tensor,))}' is already cached for compute "
                                           f"'{self.compute}'")
        self.cache_reads.append((r.tensor, r.axis))

    def _substitute(self, mapping: dict) -> None:
        self.axes = {a: substitute(e, mapping) for a, e in self.axes.items()}
        self.guards = [Guard(substitute(g.expr, mapping), g.extent) for g in self.guards]

    # ---- result ----------------------------------------------------------------------------

    def finish(self) -> LoopNest:
        for axis, kind in self.kinds.items():
            if kind == "vectorized" and self.order[-1] != axis:
                raise self._fail("vectorize", f"axis '{axis}' must be the innermost loop of compute "
                                              f"'{self.compute}' (loop order: {', '.join(self.order)})")
            if kind == "vectorized" and self.reduction[axis] and self.cache_write:
                raise self._fail("vectorize", f"axis '{axis}' of compute '{self.compute}' is a reduction "
                                              "axis; with cache_write only the tile's output axes can be vectorized")
            if kind == "parallel" and self.order[0] != axis:
                raise self._fail("parallel", f"axis '{axis}' must be the outermost loop of compute "
                                             f"'{self.compute}' (loop order: {', '.join(self.order)})")
        loops = tuple(Loop(n, self.extents[n], self.kinds.get(n, "serial"), self.reduction[n])
                      for n in self.order)
        if self.cache_write:
            self._check_tile(loops)
        nest = LoopNest(self.compute, loops, dict(self.axes), tuple(self.guards), dict(self.domain),
                        cache_write=self.cache_write, cache_reads=tuple(self.cache_reads))
        for tensor, axis in self.cache_reads:
            check_stage_axis("cache_read", nest, axis, f"the copy of '{_display((tensor,))}'")
        return nest

    def _check_tile(self, loops) -> None:
        order = ", ".join(loop.name for loop in loops)
        last = max(n for n, loop in enumerate(loops) if loop.reduction)
        tile = loops[last + 1:]
        if not tile:
            raise self._fail("cache_write", f"no output loop of compute '{self.compute}' is inside all "
                                            f"of its reduction loops (loop order: {order}): the tile is "
                                            "the output loops after the last reduction loop")
        elements = 1
        for loop in tile:
            elements *= loop.extent
            if loop.kind == "parallel":
                raise self._fail("cache_write", f"tile loop '{loop.name}' of compute '{self.compute}' "
                                                "is parallel; a local tile belongs to one thread")
        if elements > MAX_TILE_ELEMENTS:
            raise self._fail("cache_write", f"the local tile of compute '{self.compute}' would hold "
                                            f"{elements} elements (loops {', '.join(l.name for l in tile)}); "
                                            f"at most {MAX_TILE_ELEMENTS} fit in registers")


# ---- compute_at and cache_read: the region a consumer reads inside a loop ----------------------

@dataclass(frozen=True)
class RegionDim:
    """One dimension of a local buffer: tensor index `base + t` for t in 0..extent, `base` in
    the loops down to the stage's axis; `guarded` when `base + t` may reach `limit` (the
    tensor's extent), so those elements are skipped."""
    base: IndexExpr
    extent: int
    limit: int
    guarded: bool


@dataclass(frozen=True, eq=False)
class Stage:
    """A local buffer made at the top of a consumer's loop `axis`: `producer` computed over
    `region` (compute_at) or `tensor` copied (cache_read, producer None). The consumer's
    reads of `tensor` load the buffer at their index minus each dimension's base."""
    primitive: str
    name: str
    tensor: object
    axis: str
    region: tuple
    producer: object = None
    nest: LoopNest | None = None  # compute_at: the producer's loops over the region (axes = offsets)

    @property
    def shape(self) -> tuple:
        return tuple(d.extent for d in self.region)


def check_stage_axis(primitive: str, nest: LoopNest, axis: str, what: str) -> None:
    """Can a stage sit just inside loop `axis` of `nest`?"""
    names = [loop.name for loop in nest.loops]
    if axis not in names:
        raise ScheduleError(f"{primitive}: axis '{axis}' is not a loop of compute '{nest.compute}' "
                            f"(loops: {', '.join(names) or 'none'})")
    loop = nest.loops[names.index(axis)]
    if loop.kind == "vectorized":
        raise ScheduleError(f"{primitive}: axis '{axis}' of compute '{nest.compute}' is vectorized: its "
                            f"iterations are vector lanes, so {what} cannot be made inside it")
    if nest.cache_write and loop in nest.tile_split()[2]:
        raise ScheduleError(f"{primitive}: axis '{axis}' of compute '{nest.compute}' is a loop of its "
                            f"cache_write tile; {what} must be made outside the tile's loops")


def _int_constant(op) -> int | None:
    value = getattr(op.properties.get("value"), "value", None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def affine_reads(compute: ComputeOp, tensor, inlined: dict, forms: list | None = None) -> list[tuple]:
    """The index forms of every read of `tensor` one element of `compute` makes, following
    reads of `inlined` computes (te value -> ComputeOp) into their bodies. A form is
    `(coeffs, constant)`, the index being `sum(coeffs[a] * a) + constant` over the compute's
    axes (i0.., r0..), or None when it is not affine in them (a division, a select, data)."""
    block = compute.block
    if forms is None:
        n_out = len(compute.shape)
        names = [f"i{n}" for n in range(n_out)] + [f"r{n}" for n in range(len(block.args) - n_out)]
        forms = [({name: 1}, 0) for name in names]
    env = dict(zip(block.args, forms))
    reads: list[tuple] = []
    for op in block.ops:
        if isinstance(op, YieldOp):
            break
        if isinstance(op, ReadOp):
            at = [env.get(i) for i in op.indices]
            if op.tensor is tensor:
                reads.append(tuple(at))
            elif op.tensor in inlined:
                reads.extend(affine_reads(inlined[op.tensor], tensor, inlined, at))
            continue
        operands = [env.get(v) for v in op.operands]
        form = None
        if op.name == "arith.constant":
            value = _int_constant(op)
            form = None if value is None else ({}, value)
        elif op.name in ("arith.addi", "arith.subi") and None not in operands:
            sign = 1 if op.name == "arith.addi" else -1
            (ca, ka), (cb, kb) = operands
            coeffs = dict(ca)
            for a, c in cb.items():
                coeffs[a] = coeffs.get(a, 0) + sign * c
            form = (coeffs, ka + sign * kb)
        elif op.name == "arith.muli" and None not in operands:
            (ca, ka), (cb, kb) = operands
            if not cb or not ca:
                (coeffs, k), factor = ((ca, ka), kb) if not cb else ((cb, kb), ka)
                form = ({a: c * factor for a, c in coeffs.items()}, k * factor)
        elif op.name in ("arith.index_cast", "arith.index_castui"):
            form = operands[0]
        for result in op.results:
            env[result] = form
    return reads


def _upper(e: IndexExpr, extents: dict) -> int:
    """The largest value of `e` with each loop variable in 0..extent."""
    if isinstance(e, Var):
        return extents[e.name] - 1
    if isinstance(e, Const):
        return e.value
    if isinstance(e, Add):
        return _upper(e.lhs, extents) + _upper(e.rhs, extents)
    if isinstance(e, Mul):
        return _upper(e.lhs, extents) * e.factor
    if isinstance(e, FloorDiv):
        return _upper(e.lhs, extents) // e.divisor
    return min(_upper(e.lhs, extents), e.divisor - 1)


def variables(e: IndexExpr) -> set[str]:
    """The loop variables `e` reads."""
    if isinstance(e, Var):
        return {e.name}
    if isinstance(e, Const):
        return set()
    if isinstance(e, Add):
        return variables(e.lhs) | variables(e.rhs)
    return variables(e.lhs)


def _box(e: IndexExpr, inner: dict) -> tuple[IndexExpr, int]:
    """`e` (in loop variables) as within `base + [0, width)` while the `inner` loops (name ->
    extent) run: base in the other loops. Exact for sums and products; a division or
    remainder of a sum of loops outside and inside (a split of a fused loop) gets the box
    that holds it wherever the base falls: `(b + [0, w)) floordiv d` spans at most
    `(w + d - 2) floordiv d + 1` values from `b floordiv d`, `(b + [0, w)) mod d` all of 0..d;
    exactly `(w - 1) floordiv d + 1` from `b/d`, and 0..min(w, d), when d divides b."""
    if isinstance(e, Var):
        return (Const(0), inner[e.name]) if e.name in inner else (e, 1)
    if isinstance(e, Const):
        return e, 1
    if isinstance(e, Add):
        (lhs, lw), (rhs, rw) = _box(e.lhs, inner), _box(e.rhs, inner)
        return add(lhs, rhs), lw + rw - 1
    if isinstance(e, Mul):
        lhs, width = _box(e.lhs, inner)
        return mul(lhs, e.factor), (width - 1) * e.factor + 1
    names = variables(e.lhs)
    if not names & set(inner):
        return e, 1
    if names <= set(inner):
        high = _upper(e.lhs, inner)
        return Const(0), (high // e.divisor + 1 if isinstance(e, FloorDiv) else min(high + 1, e.divisor))
    base, width = _box(e.lhs, inner)
    d = e.divisor
    terms, constant = _linear(base)
    if constant % d == 0 and all(c % d == 0 for c in terms.values()):  # base = d*q: exact
        if isinstance(e, FloorDiv):
            return _from_linear({t: c // d for t, c in terms.items()}, constant // d), (width - 1) // d + 1
        return Const(0), min(width, d)
    if isinstance(e, FloorDiv):
        return floordiv(base, d), (width + d - 2) // d + 1
    return Const(0), d


def _linear(e: IndexExpr) -> tuple[dict, int]:
    """`e` as {term: coefficient} plus a constant (a division or remainder is one term)."""
    if isinstance(e, Const):
        return {}, e.value
    if isinstance(e, Add):
        (a, ka), (b, kb) = _linear(e.lhs), _linear(e.rhs)
        terms = dict(a)
        for term, c in b.items():
            terms[term] = terms.get(term, 0) + c
        return terms, ka + kb
    if isinstance(e, Mul):
        terms, k = _linear(e.lhs)
        return {t: c * e.factor for t, c in terms.items()}, k * e.factor
    return {e: 1}, 0


def _from_linear(terms: dict, constant: int) -> IndexExpr:
    result: IndexExpr = Const(0)
    for term, c in terms.items():
        if c:
            result = add(result, mul(term, c))
    return add(result, Const(constant))


def read_region(primitive: str, consumer: ComputeOp, nest: LoopNest, tensor, name: str, axis: str,
                inlined: dict) -> tuple:
    """The RegionDims of the box of `tensor` (called `name`) that `consumer`'s loops inside
    `axis` read, for each iteration of the loops down to `axis`: each read index must be an
    affine function of the axes with non-negative coefficients, the loops inside `axis`
    giving a range of constant width; reads whose bases differ by more than a constant get
    one box from their common base to the farthest element any of them can reach.
    ScheduleError (naming the compute, the axis and why) otherwise."""
    where = f"{primitive}: compute '{nest.compute}'"
    reads = affine_reads(consumer, tensor, inlined)
    if not reads:
        raise ScheduleError(f"{where} does not read '{name}'")
    at = [loop.name for loop in nest.loops].index(axis)
    inner = {loop.name: loop.extent for loop in nest.loops[at + 1:]}
    outer = {loop.name: loop.extent for loop in nest.loops[:at + 1]}
    boxes = {}
    for a, e in nest.axes.items():
        box = _box(e, inner)
        boxes[a] = (_linear(box[0]), box[1])
    shape = tuple(tensor.type.shape)
    region = []
    for d, limit in enumerate(shape):
        spans = []
        for read in reads:
            form = read[d]
            if form is None:
                raise ScheduleError(f"{where} reads '{name}' at an index (#{d}) that is not an affine "
                                    f"function of its axes, so the region it reads inside loop "
                                    f"'{axis}' cannot be inferred")
            coeffs, constant = form
            terms, width = {}, 1
            for a, c in coeffs.items():
                if c < 0:
                    raise ScheduleError(f"{where} reads '{name}' at an index (#{d}) that goes down as "
                                        f"axis {a} goes up; only non-negative strides are supported")
                (a_terms, a_constant), a_width = boxes[a]
                for term, k in a_terms.items():
                    terms[term] = terms.get(term, 0) + c * k
                constant += c * a_constant
                width += c * (a_width - 1)
            terms = {t: k for t, k in terms.items() if k}
            spans.append((terms, constant, constant + width))
        # reads whose bases differ by more than a constant share the part all of them have;
        # the rest (never negative) widens the box by its largest value
        every = {t: None for span in spans for t in span[0]}
        terms = {t: min(span[0].get(t, 0) for span in spans) for t in every}
        terms = {t: k for t, k in terms.items() if k}
        low = min(span[1] for span in spans)
        high = max(span[2] + sum((k - terms.get(t, 0)) * _upper(t, outer) for t, k in span[0].items())
                   for span in spans)
        if low < 0:
            raise ScheduleError(f"{where} reads '{name}' along dimension {d} at a negative offset ({low}) "
                                f"from the loops' base inside loop '{axis}'")
        base = _from_linear(terms, low)
        extent = min(high - low, limit)
        region.append(RegionDim(base, extent, limit, _upper(base, outer) + extent > limit))
    elements = 1
    for dim in region:
        elements *= dim.extent
    size = elements * max(1, dtype_of(tensor.type.element_type).itemsize)
    if size > AllocaOp.MAX_BYTES:
        raise ScheduleError(f"{primitive}: the region of '{name}' that compute '{nest.compute}' reads "
                            f"inside loop '{axis}' holds {elements} elements ({size} bytes); a local "
                            f"buffer holds at most {AllocaOp.MAX_BYTES} bytes (choose an inner loop)")
    return tuple(region)


def attach_stages(kernel: KernelOp, nests: dict, schedule: "Schedule") -> dict:
    """`nests` ({compute: LoopNest} of `kernel`) with the consumers' Stages filled in from
    their compute_at producers and cache_read records, each checked."""
    computes = kernel.computes()
    by_key = {k: c for c in computes for k in compute_keys(c)}
    inlined = {c.output: c for c in computes if nests[c].inlined}
    returned = {id(v) for v in kernel.block.terminator.operands}
    stages: dict = {c: [] for c in computes}

    def name_of(c):
        return nests[c].compute

    for producer in computes:
        at = nests[producer].computed_at
        if at is None:
            continue
        key, axis = at
        pname = name_of(producer)
        consumer = by_key.get(key)
        if consumer is None:
            names = ", ".join(str(k) for k in sorted(by_key, key=str))
            raise ScheduleError(f"compute_at: compute '{pname}' is to be computed at {key!r}, which is not "
                                f"a compute of te.kernel \"{kernel.kernel_name.value}\" (computes: {names})")
        cname = name_of(consumer)
        if consumer is producer:
            raise ScheduleError(f"compute_at: compute '{pname}' cannot be computed at its own loops")
        if id(producer.output) in returned:
            raise ScheduleError(f"compute_at: compute '{pname}' is a result of the te.kernel; computed "
                                f"at '{cname}' it would have no buffer to return")
        if nests[consumer].inlined:
            raise ScheduleError(f"compute_at: compute '{cname}' is inlined, so it has no loop '{axis}' "
                                f"to compute '{pname}' at")
        readers = [c for c in computes if c is not producer and not nests[c].inlined
                   and affine_reads(c, producer.output, inlined)]
        if readers != [consumer]:
            listed = ", ".join(f"'{name_of(c)}'" for c in readers) or "no compute"
            raise ScheduleError(f"compute_at: compute '{pname}' is read by {listed}; it can be computed "
                                f"at '{cname}' only when '{cname}' is its one consumer")
        if nests[consumer].computed_at is not None:
            raise ScheduleError(f"compute_at: compute '{cname}' is itself computed at "
                                f"'{_display((nests[consumer].computed_at[0],))}'; '{pname}' cannot be "
                                "computed at it (chains of compute_at are not supported)")
        check_stage_axis("compute_at", nests[consumer], axis, f"compute '{pname}'")
        region = read_region("compute_at", consumer, nests[consumer], producer.output, pname, axis, inlined)
        records = region_records(pname, schedule.records_for(compute_keys(producer)))
        region_nest = loop_nest(pname, tuple(d.extent for d in region), producer.reduce_extents, records)
        stages[consumer].append(Stage("compute_at", pname, producer.output, axis, region, producer, region_nest))
    args = {a.name_hint: a for a in kernel.block.args if a.name_hint}
    for consumer in computes:
        for key, axis in nests[consumer].cache_reads:
            cname = name_of(consumer)
            tensor = args.get(key) if isinstance(key, str) else None
            if tensor is None and key in by_key:
                source = by_key[key]
                tensor = source.output
                if nests[source].inlined:
                    raise ScheduleError(f"cache_read: compute '{_display((key,))}' is inlined into its "
                                        f"readers; it has no buffer for compute '{cname}' to copy")
                if nests[source].computed_at is not None:
                    raise ScheduleError(f"cache_read: compute '{_display((key,))}' is computed at "
                                        f"'{_display((nests[source].computed_at[0],))}', already in a "
                                        "local buffer")
            if tensor is None:
                names = ", ".join([*args, *(str(k) for k in sorted(by_key, key=str))])
                raise ScheduleError(f"cache_read: compute '{cname}' has no tensor {key!r} to cache "
                                    f"(kernel arguments and computes: {names})")
            region = read_region("cache_read", consumer, nests[consumer], tensor, _display((key,)), axis, inlined)
            stages[consumer].append(Stage("cache_read", _display((key,)), tensor, axis, region))
    return {c: replace(nest, stages=tuple(stages[c])) if stages[c] else nest for c, nest in nests.items()}


# ---- the schedule -------------------------------------------------------------------------

def compute_keys(compute: ComputeOp) -> tuple[ComputeKey, ...]:
    """The names a record may use for `compute`: its result's name hint, and its index
    among the computes of its te.kernel."""
    keys: list = []
    if compute.output.name_hint:
        keys.append(compute.output.name_hint)
    kernel = compute.parent_op
    if isinstance(kernel, KernelOp):
        keys.append(next(n for n, c in enumerate(kernel.computes()) if c is compute))
    return tuple(keys)


def _display(keys: Sequence[ComputeKey]) -> str:
    for key in keys:
        return key if isinstance(key, str) else f"#{key}"
    return "?"


class Schedule:
    """An ordered list of primitive records. The building methods append records and
    return the names of the axes they create: `io, ii = s.split("y", "i0", 8)`."""

    def __init__(self, records: Sequence[Record] = ()):
        self.records: list[Record] = list(records)

    # ---- building --------------------------------------------------------------------------

    def split(self, compute: ComputeKey, axis: str, factor: int, outer: str | None = None,
              inner: str | None = None) -> tuple[str, str]:
        record = Split(compute, axis, int(factor), outer or f"{axis}.outer", inner or f"{axis}.inner")
        self.records.append(record)
        return record.outer, record.inner

    def reorder(self, compute: ComputeKey, *order) -> None:
        if len(order) == 1 and isinstance(order[0], (list, tuple)):
            order = tuple(order[0])
        self.records.append(Reorder(compute, tuple(order)))

    def fuse(self, compute: ComputeKey, outer: str, inner: str, fused: str | None = None) -> str:
        record = Fuse(compute, outer, inner, fused or f"{outer}.{inner}.fused")
        self.records.append(record)
        return record.fused

    def tile(self, compute: ComputeKey, x: str, y: str, x_factor: int, y_factor: int,
             names: Sequence[str] | None = None) -> tuple[str, str, str, str]:
        """split x and y, then order the loops (x.outer, y.outer, x.inner, y.inner)."""
        xo, yo, xi, yi = names or (f"{x}.outer", f"{y}.outer", f"{x}.inner", f"{y}.inner")
        self.split(compute, x, x_factor, xo, xi)
        self.split(compute, y, y_factor, yo, yi)
        self.reorder(compute, xo, yo, xi, yi)
        return xo, yo, xi, yi

    def vectorize(self, compute: ComputeKey, axis: str) -> None:
        self.records.append(Vectorize(compute, axis))

    def parallel(self, compute: ComputeKey, axis: str) -> None:
        self.records.append(Parallel(compute, axis))

    def unroll(self, compute: ComputeKey, axis: str) -> None:
        self.records.append(Unroll(compute, axis))

    def compute_inline(self, compute: ComputeKey) -> None:
        self.records.append(ComputeInline(compute))

    def cache_write(self, compute: ComputeKey) -> None:
        self.records.append(CacheWrite(compute))

    def pack(self, compute: ComputeKey, operand: int, axis: int, factor: int) -> None:
        """Read `compute`'s operand through panels of `factor` along `axis` (see Pack)."""
        self.records.append(Pack(compute, operand, axis, factor))

    def compute_at(self, producer: ComputeKey, consumer: ComputeKey, axis: str) -> None:
        """Compute `producer` inside `consumer`'s loop `axis`, the region read there at a time."""
        self.records.append(ComputeAt(producer, consumer, axis))

    def cache_read(self, tensor: ComputeKey, consumer: ComputeKey, axis: str) -> None:
        """Copy the region of `tensor` that `consumer` reads inside its loop `axis` to a local
        buffer at that loop, and read it there."""
        self.records.append(CacheRead(consumer, tensor, axis))

    # ---- JSON and the IR attribute ---------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps([record_to_json(r) for r in self.records], separators=(", ", ": "))

    @classmethod
    def from_json(cls, text: str | list) -> "Schedule":
        if isinstance(text, str):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ScheduleError(f"schedule: invalid JSON ({exc.msg} at column {exc.colno})") from None
        else:
            data = text
        if not isinstance(data, list):
            raise ScheduleError(f"schedule: expected a JSON list of records, got {type(data).__name__}")
        return cls([record_from_json(d, n) for n, d in enumerate(data)])

    def to_attr(self) -> ScheduleAttr:
        return ScheduleAttr(self.to_json())

    @classmethod
    def from_attr(cls, attr: ScheduleAttr | None) -> "Schedule":
        return cls() if attr is None else cls.from_json(attr.json)

    @classmethod
    def of_kernel(cls, kernel: KernelOp) -> "Schedule":
        """The kernel's schedule attribute (empty without one); errors located at the kernel."""
        try:
            return cls.from_attr(kernel.schedule)
        except ScheduleError as exc:
            raise kernel.error(str(exc)) from None

    # ---- applying --------------------------------------------------------------------------

    def records_for(self, keys: Sequence[ComputeKey]) -> list[Record]:
        return [r for r in self.records if r.compute in keys and not isinstance(r, Pack)]

    def renumbered(self, mapping: dict) -> "Schedule":
        """This schedule with computes named by number renamed through `mapping` (old index
        -> new index, or None: the compute is gone and its records with it)."""
        records = []
        for record in self.records:
            values = {}
            for f in fields(record):
                value = getattr(record, f.name)
                if f.name in _COMPUTE_FIELDS and isinstance(value, int) and not isinstance(value, bool):
                    value = mapping.get(value, value)
                values[f.name] = value
            if any(f.name in _COMPUTE_FIELDS and values[f.name] is None for f in fields(record)):
                continue
            records.append(type(record)(**values))
        return Schedule(records)

    def apply_layouts(self, kernel: KernelOp) -> "Schedule":
        """Apply the pack records to `kernel` (each inserts a packing compute before its
        compute) and return the other records, computes named by number renumbered for the
        packed kernel. Errors are located at the kernel and name the record."""
        from .layout import LayoutError, pack_axis
        schedule = Schedule(list(self.records))
        while True:
            packs = [(n, r) for n, r in enumerate(schedule.records) if isinstance(r, Pack)]
            if not packs:
                return schedule
            n, record = packs[0]
            computes = kernel.computes()
            matches = [k for k, c in enumerate(computes) if record.compute in compute_keys(c)]
            if not matches:
                names = ", ".join(str(k) for c in computes for k in compute_keys(c))
                raise kernel.error(f"schedule record #{n} (pack) names compute {record.compute!r}, which is "
                                   f"not in te.kernel \"{kernel.kernel_name.value}\" (computes: {names})")
            position = matches[0]
            try:
                pack_axis(computes[position], record.operand, record.axis, record.factor)
            except LayoutError as exc:
                raise kernel.error(f"{exc} (compute {record.compute!r}, schedule record #{n})") from None
            rest = Schedule(schedule.records[:n] + schedule.records[n + 1:])
            schedule = rest.renumbered({k: k + 1 for k in range(position, len(computes))})

    def apply_to_axes(self, compute: ComputeOp, name: ComputeKey | None = None) -> LoopNest:
        """The loop structure of `compute` under this schedule's records for it (selected
        by `name`, else by the compute's name hint or kernel index)."""
        keys = (name,) if name is not None else compute_keys(compute)
        return loop_nest(_display(keys), compute.shape, compute.reduce_extents, self.records_for(keys))

    def validate(self, kernel: KernelOp) -> dict:
        """Every record names a compute of `kernel` and applies to it; an inlined compute is
        not returned by the kernel; compute_at and cache_read regions can be inferred (a
        consumer's LoopNest carries its Stages). Returns {compute op: LoopNest}; errors are
        located diagnostics at the kernel."""
        computes = kernel.computes()
        keys = {id(c): compute_keys(c) for c in computes}
        known = {k for ks in keys.values() for k in ks}
        for n, record in enumerate(self.records):
            if isinstance(record, Pack):
                raise kernel.error(f"schedule record #{n} (pack) changes the kernel: apply it first "
                                   "(Schedule.apply_layouts; lower-te-to-loop and te-pack-layouts do)")
            if record.compute not in known:
                names = ", ".join(str(k) for k in sorted(known, key=str))
                raise kernel.error(f"schedule record #{n} ({record.op}) names compute "
                                   f"{record.compute!r}, which is not in te.kernel "
                                   f"\"{kernel.kernel_name.value}\" (computes: {names})")
        returned = {id(v) for v in kernel.block.terminator.operands}
        nests = {}
        for c in computes:
            try:
                nest = self.apply_to_axes(c)
            except ScheduleError as exc:
                raise kernel.error(str(exc)) from None
            if nest.inlined and id(c.output) in returned:
                raise kernel.error(f"compute_inline: compute '{nest.compute}' is a result of the "
                                   "te.kernel and cannot be inlined")
            nests[c] = nest
        try:
            return attach_stages(kernel, nests, self)
        except ScheduleError as exc:
            raise kernel.error(str(exc)) from None

    # ---- container protocol ----------------------------------------------------------------

    def __iter__(self):
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __eq__(self, other) -> bool:
        return isinstance(other, Schedule) and self.records == other.records

    def __repr__(self) -> str:
        return f"Schedule({self.to_json()})"
