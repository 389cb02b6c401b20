"""graph -> graph: operator fusion (TVM's FuseOps): group ops by their fusion `kind` and
outline each group into a `graph.fused` op, which later stages compile as one kernel.

The rules, over descend.dialects.graph.Kind (TVM's OpPatternKind):

- OPAQUE ops (and anything that is not a graph op, and existing graph.fused ops) are never
  fused.
- Chains of ELEMWISE, BROADCAST and INJECTIVE ops fuse together.
- An OUT_FUSABLE anchor (conv, gemm, matmul) absorbs the ELEMWISE/BROADCAST ops that
  follow it (its epilogue), including elementwise producers of that epilogue's other
  operands; nothing that feeds the anchor joins it, and a group has one anchor.
- A REDUCTION absorbs ELEMWISE/BROADCAST consumers and INJECTIVE (or cheaper) producers;
  a group has one reduction and no anchor besides it.

Grouping walks each block bottom-up. Every op starts as its own group's root; a producer
joins the group of its consumers only when *all* its users are already in that one group
(a simple, sound stand-in for TVM's post-dominator test: a value used outside the group
ends the group there). Because a member's users are all members, only the root's results
leave a group, so a group is convex (no path leaves it and comes back) and becomes a
single-result-list graph.fused placed where its root was.

Constants used by members are passed in as operands (weights stay out of bodies), except
splats of at most `max-splat-elements` elements, which are cloned into the body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from descend.ir import Block, Builder, Context, FileLineColLoc, Operation, StringAttr

from ..debug import channel
from ..pass_options import option
from ..passes import Pass, register_pass
from .fold_constants import CONSTANT, num_elements

OPAQUE_NAMES = {"graph.fused", "graph.yield"}


def op_kind(op: Operation) -> int:
    """The fusion kind of `op` (descend.dialects.graph.Kind); OPAQUE for non-graph ops."""
    from descend.dialects.graph import Kind
    if op.dialect_name != "graph" or op.name in OPAQUE_NAMES or op.regions:
        return Kind.OPAQUE
    return Kind(getattr(type(op), "kind", Kind.OPAQUE))


def kind_name(kind: int) -> str:
    from descend.dialects.graph import Kind
    return Kind(kind).name.lower()


@dataclass(eq=False)
class Group:
    root: Operation
    members: set = field(default_factory=set)
    kind: int = 0                 # the largest member kind
    anchor: Operation | None = None   # the OUT_FUSABLE or REDUCTION member, if any


class _Grouping:
    """Assigns the ops of one block to groups (bottom-up, see the module docstring)."""

    def __init__(self, block: Block, max_group_size: int):
        from descend.dialects.graph import Kind
        self.K = Kind
        self.max_group_size = max_group_size
        self.group_of: dict[Operation, Group] = {}
        self.groups: list[Group] = []
        ops = [op for op in block.ops if op.name != CONSTANT]
        for op in reversed(ops):
            self._place(op)

    def _place(self, op: Operation) -> None:
        K = self.K
        kind = op_kind(op)
        if kind == K.OPAQUE:
            return
        target = self._consumer_group(op)
        if target is not None and self._may_join(op, kind, target):
            target.members.add(op)
            target.kind = max(target.kind, kind)
            if kind in (K.OUT_FUSABLE, K.REDUCTION):
                target.anchor = op
            self.group_of[op] = target
            return
        group = Group(root=op, members={op}, kind=kind,
                      anchor=op if kind in (K.OUT_FUSABLE, K.REDUCTION) else None)
        self.group_of[op] = group
        self.groups.append(group)

    def _consumer_group(self, op: Operation) -> Group | None:
        """The one group all users of `op` belong to, if there is one."""
        found = None
        for result in op.results:
            for use in result.uses:
                group = self.group_of.get(use.owner)
                if group is None or (found is not None and group is not found):
                    return None
                found = group
        return found

    def _may_join(self, op: Operation, kind: int, group: Group) -> bool:
        K = self.K
        if len(group.members) >= self.max_group_size:
            return False
        anchor = group.anchor
        if kind == K.OUT_FUSABLE:
            # An anchor takes an elementwise epilogue only.
            return anchor is None and group.kind <= K.BROADCAST
        if kind == K.REDUCTION:
            return anchor is None and group.kind <= K.BROADCAST
        if anchor is None:
            return kind <= K.INJECTIVE
        feeds_anchor = any(use.owner is anchor for r in op.results for use in r.uses)
        if op_kind(anchor) == K.OUT_FUSABLE:
            # Epilogue producers only: nothing computed into the anchor's inputs.
            return not feeds_anchor and kind <= K.BROADCAST
        # A reduction: injective producers (of it or of its epilogue) join.
        return kind <= K.INJECTIVE


@register_pass
@dataclass(frozen=True)
class FuseOps(Pass):
    """Group graph ops into graph.fused kernels by their fusion kind (TVM's FuseOps rules).

    Elementwise/broadcast/injective chains fuse; conv/gemm/matmul absorb the elementwise ops
    after them; a reduction absorbs injective producers and elementwise consumers; opaque
    ops are never fused. A producer joins its consumers' group only when every user is in
    that group. Groups of fewer than `min-group-size` ops stay as they are. Each group's ops
    are listed on the `fuse-ops` debug channel (`--debug-only=fuse-ops`)."""

    name: ClassVar[str] = "fuse-ops"
    statistics: ClassVar[dict] = {
        "num-groups": "graph.fused ops created",
        "num-fused-ops": "ops moved into graph.fused bodies",
        "num-unfused-ops": "graph ops left outside any group",
        "num-cloned-constants": "small splat constants cloned into bodies",
        "largest-group": "ops in the largest group",
    }

    max_group_size: int = option(256, help="most ops in one group (TVM's max_fuse_depth)")
    min_group_size: int = option(2, help="fewest ops worth a graph.fused (1: wrap single ops too)")
    max_splat_elements: int = option(1 << 16, help="splat constants up to this size are cloned into bodies")

    def __post_init__(self):
        if self.max_group_size < 1:
            raise ValueError(f"max-group-size must be at least 1, got {self.max_group_size}")
        if self.min_group_size < 1:
            raise ValueError(f"min-group-size must be at least 1, got {self.min_group_size}")

    def run(self, op: Operation, ctx: Context) -> None:
        log = channel("fuse-ops")
        blocks = [block for nested in op.walk() if nested.name == "func.func"
                  for region in nested.regions for block in region.blocks]
        if op.name == "func.func":
            blocks = [block for region in op.regions for block in region.blocks]
        largest = 0
        for block in blocks:
            grouping = _Grouping(block, self.max_group_size)
            for group in reversed(grouping.groups):   # block order, for readable logs
                if len(group.members) < self.min_group_size:
                    self.count("num-unfused-ops", len(group.members))
                    continue
                members = [o for o in block.ops if o in group.members]
                fused = self._outline(group, members, ctx)
                largest = max(largest, len(members))
                self.count("num-groups")
                self.count("num-fused-ops", len(members))
                if log is not None:
                    where = f" at {fused.location}" if isinstance(fused.location, FileLineColLoc) else ""
                    log(f"group {self.statistic_values()['num-groups'] - 1} ({kind_name(group.kind)}, "
                        f"{len(members)} ops){where}: " + ", ".join(m.name for m in members))
        if largest > self.statistic_values().get("largest-group", 0):
            self.count("largest-group", largest - self.statistic_values().get("largest-group", 0))

    def _outline(self, group: Group, members: list[Operation], ctx: Context) -> Operation:
        """Replace `members` (in block order, the root last) by one graph.fused."""
        from descend.dialects.graph import FusedOp, YieldOp
        root = group.root
        inputs: list = []
        cloned_constants: list[Operation] = []
        member_set = group.members
        for member in members:
            for value in member.operands:
                producer = value.defining_op
                if producer is not None and producer in member_set:
                    continue
                if producer is not None and producer.name == CONSTANT and self._clonable(producer):
                    if producer not in cloned_constants:
                        cloned_constants.append(producer)
                    continue
                if value not in inputs:
                    inputs.append(value)
        body = Block([v.type for v in inputs])
        mapping = dict(zip(inputs, body.args))
        for constant in cloned_constants:
            body.append(constant.clone(mapping))
        for member in members:
            body.append(member.clone(mapping))
        body.append(YieldOp.build(values=[mapping[r] for r in root.results], location=root.location))
        fused = FusedOp.build(inputs=inputs, result_types=[r.type for r in root.results],
                              pattern=StringAttr(kind_name(group.kind)), location=root.location)
        fused.regions[0].add_block(body)
        Builder.before(root).insert(fused)
        for old, new in zip(root.results, fused.results):
            new.name_hint = old.name_hint
            old.replace_all_uses_with(new)
        for member in reversed(members):
            member.erase()
        for constant in cloned_constants:
            if not any(r.uses for r in constant.results):
                constant.erase()
        self.count("num-cloned-constants", len(cloned_constants))
        return fused

    def _clonable(self, constant: Operation) -> bool:
        value = constant.properties["value"]
        return value.is_splat and num_elements(value.type) <= self.max_splat_elements
