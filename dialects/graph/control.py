"""graph: control flow — graph.if, graph.loop and graph.scan with regions.

Each region is isolated from above: whatever outer value a branch or body reads is an
explicit operand (`captured`) that arrives as the region's trailing block arguments, so a
later stage can outline or lower a region without looking outside it. Regions end in
graph.yield. Shapes are static: both branches of an if yield the same types, a loop-carried
value keeps its type across iterations, and stacked outputs have their length in the type."""

from __future__ import annotations

import numpy as np

from descend.ir import (IsolatedFromAbove, SingleBlock, TensorType, i1, i64, opt_operand, operand,
                        region, var_operand, var_result)

from .base import GraphOp, Kind, ShapeError, ints

_TRAITS = (IsolatedFromAbove(), SingleBlock())


def _types(values) -> str:
    return ", ".join(str(v.type if hasattr(v, "type") else v) for v in values)


class _RegionOp(GraphOp):
    """Shared by the control-flow ops: result types come from the regions (given at build),
    and the verifier checks block arguments and yields instead of `infer`."""

    kind = Kind.OPAQUE
    traits = _TRAITS

    @classmethod
    def infer_result_types(cls, operands, properties):
        raise TypeError(f"'{cls.name}' takes its result types from its regions: pass result_types=")

    def _block(self, reg, what: str):
        if not reg.blocks:
            raise self.error(f"needs a {what} block")
        block = reg.blocks[0]
        terminator = block.terminator if block.ops else None
        if terminator is None or terminator.name != "graph.yield":
            raise self.error(f"{what} must end with graph.yield")
        return block, terminator

    def _check_args(self, block, expected, what: str, meaning: str) -> None:
        got = [a.type for a in block.args]
        if got != list(expected):
            raise self.error(f"{what} block arguments must be ({_types(expected)}): {meaning}; "
                             f"got ({_types(got)})")


class IfOp(_RegionOp):
    """Runs the then region when the one-element boolean `condition` is true, else the else
    region, each on the captured values; the results are what the region that ran yields."""

    name = "graph.if"
    condition = operand(TensorType)
    captured = var_operand(TensorType)
    outputs = var_result(TensorType)
    then_region = region(single_block=True)
    else_region = region(single_block=True)
    assembly = ("$condition (`captures` `(` $captured^ `)`)? attr-dict `:` "
                "functional-type(operands, results) $then_region `else` $else_region")

    def verify(self) -> None:
        _check_condition(self, self.condition.type, "condition")
        results = [r.type for r in self.results]
        captured = [v.type for v in self.captured]
        for what, reg in (("then", self.then_region), ("else", self.else_region)):
            block, terminator = self._block(reg, f"{what} region")
            self._check_args(block, captured, what, "the captured values")
            yielded = [v.type for v in terminator.operands]
            if yielded != results:
                raise self.error(f"{what} region yields ({_types(yielded)}) but the results are "
                                 f"({_types(results)})")

    def interpret(self, interp, args):
        condition, *captured = args
        taken = self.then_region if bool(np.asarray(condition).reshape(-1)[0]) else self.else_region
        return interp.run_region(taken, captured)


class LoopOp(_RegionOp):
    """ONNX's Loop: runs the body while the iteration number is below `trip_count` (when
    given) and the condition holds (when given); the body gets (iteration, condition,
    carried..., captured...) and yields (condition, carried..., scanned...). The results
    are the last carried values and each scanned value stacked over the iterations."""

    name = "graph.loop"
    trip_count = opt_operand(TensorType)
    condition = opt_operand(TensorType)
    inits = var_operand(TensorType)
    captured = var_operand(TensorType)
    outputs = var_result(TensorType)
    body = region(single_block=True)
    assembly = ("(`max` $trip_count^)? (`while` $condition^)? `(` $inits `)` "
                "(`captures` `(` $captured^ `)`)? attr-dict `:` functional-type(operands, results) $body")

    def verify(self) -> None:
        if self.trip_count is not None:
            t = self.trip_count.type
            if t.element_type != i64 or _count(t) != 1:
                raise self.error(f"trip_count must hold one i64, got {t}")
        if self.condition is not None:
            _check_condition(self, self.condition.type, "condition")
        carried = [v.type for v in self.inits]
        block, terminator = self._block(self.body, "body")
        expected = [TensorType((), i64), TensorType((), i1)] + carried + [v.type for v in self.captured]
        self._check_args(block, expected, "body", "iteration, condition, carried, captured")
        yielded = [v.type for v in terminator.operands]
        if len(yielded) < 1 + len(carried) or yielded[0] != TensorType((), i1):
            raise self.error(f"body must yield the condition (tensor<i1>) and {len(carried)} carried "
                             f"values first, yields ({_types(yielded)})")
        if yielded[1:1 + len(carried)] != carried:
            raise self.error(f"body yields carried values ({_types(yielded[1:1 + len(carried)])}) "
                             f"of other types than their initial values ({_types(carried)})")
        results = [r.type for r in self.results]
        scanned = yielded[1 + len(carried):]
        if len(results) != len(carried) + len(scanned):
            raise self.error(f"has {len(results)} results, but {len(carried)} carried and "
                             f"{len(scanned)} scanned values")
        if results[:len(carried)] != carried:
            raise self.error(f"results ({_types(results[:len(carried)])}) must have the carried "
                             f"types ({_types(carried)})")
        for element, stacked in zip(scanned, results[len(carried):]):
            if stacked.element_type != element.element_type or tuple(stacked.shape[1:]) != tuple(element.shape):
                raise self.error(f"scanned result {stacked} must stack values of type {element}")

    def interpret(self, interp, args):
        sizes = list(self.properties["operandSegmentSizes"].array)
        args = list(args)
        trip_count = int(np.asarray(args.pop(0)).reshape(-1)[0]) if sizes[0] else None
        condition = bool(np.asarray(args.pop(0)).reshape(-1)[0]) if sizes[1] else True
        carried, captured = args[:sizes[2]], args[sizes[2]:]
        stacked_types = [r.type for r in self.results[len(carried):]]
        scanned: list[list] = [[] for _ in stacked_types]
        i = 0
        while condition and (trip_count is None or i < trip_count):
            out = interp.run_region(self.body, [np.array(i, np.int64), np.array(condition), *carried, *captured])
            if sizes[1]:  # without a condition operand the body's condition is ignored (ONNX)
                condition = bool(np.asarray(out[0]).reshape(-1)[0])
            carried = out[1:1 + len(carried)]
            for store, value in zip(scanned, out[1 + len(carried):]):
                store.append(value)
            i += 1
        results = list(carried)
        for store, t in zip(scanned, stacked_types):
            if len(store) != t.shape[0]:
                raise self.error(f"ran {len(store)} iterations, but the scanned result {t} needs {t.shape[0]}")
            results.append(np.stack(store) if store else np.zeros(t.shape, dtype=_dtype(t)))
        return results


class ScanOp(_RegionOp):
    """ONNX's Scan: runs the body once per slice along each scan input's axis (backwards
    where its direction is 1) with (carried..., slices..., captured...); it yields
    (carried..., scanned...). The results are the last carried values and the scanned values
    stacked along their output axes (in reverse order where the output direction is 1)."""

    name = "graph.scan"
    inits = var_operand(TensorType)
    scan_inputs = var_operand(TensorType)
    captured = var_operand(TensorType)
    outputs = var_result(TensorType)
    scan_input_axes = ints(doc="axis each scan input is sliced along (default 0)")
    scan_input_directions = ints(doc="1: a scan input is read from its end (default 0)")
    scan_output_axes = ints(doc="axis each scanned result stacks along (default 0)")
    scan_output_directions = ints(doc="1: a scanned result is stacked from its end (default 0)")
    body = region(single_block=True)
    assembly = ("`(` $inits `)` `over` `(` $scan_inputs `)` (`captures` `(` $captured^ `)`)? "
                "attr-dict `:` functional-type(operands, results) $body")

    def _attrs(self, name: str, count: int) -> list[int]:
        attr = self.properties.get(name)
        values = [0] * count if attr is None else [int(v) for v in attr.array]
        if len(values) != count:
            raise self.error(f"{name} has {len(values)} entries for {count} values")
        return values

    def layout(self):
        """(input axes, input directions, output axes, output directions), normalised."""
        n_in, n_out = len(self.scan_inputs), len(self.results) - len(self.inits)
        in_axes = [_axis(a, v.type.rank, "scan input axis") for a, v in
                   zip(self._attrs("scan_input_axes", n_in), self.scan_inputs)]
        out_axes = [_axis(a, r.type.rank, "scan output axis") for a, r in
                    zip(self._attrs("scan_output_axes", n_out), self.results[len(self.inits):])]
        return (in_axes, self._attrs("scan_input_directions", n_in), out_axes,
                self._attrs("scan_output_directions", n_out))

    def verify(self) -> None:
        if not self.scan_inputs:
            raise self.error("needs at least one scan input")
        try:
            in_axes, _, out_axes, _ = self.layout()
        except ShapeError as exc:
            raise self.error(str(exc)) from None
        lengths = {v.type.shape[a] for v, a in zip(self.scan_inputs, in_axes)}
        if len(lengths) != 1:
            raise self.error("scan inputs must have one length along their axes, got "
                             + ", ".join(f"{v.type}@{a}" for v, a in zip(self.scan_inputs, in_axes)))
        length = lengths.pop()
        slices = [TensorType(tuple(d for i, d in enumerate(v.type.shape) if i != a), v.type.element_type)
                  for v, a in zip(self.scan_inputs, in_axes)]
        carried = [v.type for v in self.inits]
        block, terminator = self._block(self.body, "body")
        self._check_args(block, carried + slices + [v.type for v in self.captured], "body",
                         "carried, slices, captured")
        yielded = [v.type for v in terminator.operands]
        if yielded[:len(carried)] != carried:
            raise self.error(f"body yields carried values ({_types(yielded[:len(carried)])}) of "
                             f"other types than their initial values ({_types(carried)})")
        results = [r.type for r in self.results]
        if results[:len(carried)] != carried or len(results) != len(yielded):
            raise self.error(f"results ({_types(results)}) must be the carried types then one "
                             f"stacked result per scanned value ({_types(yielded)})")
        for element, stacked, axis in zip(yielded[len(carried):], results[len(carried):], out_axes):
            want = list(element.shape)
            want.insert(axis, length)
            if stacked != TensorType(tuple(want), element.element_type):
                raise self.error(f"scanned result {stacked} should be {TensorType(tuple(want), element.element_type)}: "
                                 f"{length} values of type {element} stacked along axis {axis}")

    def interpret(self, interp, args):
        n_carried, n_scan = len(self.inits), len(self.scan_inputs)
        carried = list(args[:n_carried])
        inputs = args[n_carried:n_carried + n_scan]
        captured = list(args[n_carried + n_scan:])
        in_axes, in_dirs, out_axes, out_dirs = self.layout()
        length = np.asarray(inputs[0]).shape[in_axes[0]]
        scanned: list[list] = [[] for _ in out_axes]
        for t in range(length):
            slices = [np.take(x, length - 1 - t if d else t, axis=a) for x, a, d in zip(inputs, in_axes, in_dirs)]
            out = interp.run_region(self.body, [*carried, *slices, *captured])
            carried = out[:n_carried]
            for store, value in zip(scanned, out[n_carried:]):
                store.append(value)
        results = list(carried)
        for store, axis, direction, r in zip(scanned, out_axes, out_dirs, self.results[n_carried:]):
            if not store:
                results.append(np.zeros(r.type.shape, dtype=_dtype(r.type)))
                continue
            results.append(np.stack(store[::-1] if direction else store, axis=axis))
        return results


def _check_condition(op, t, what: str) -> None:
    if t.element_type != i1 or _count(t) != 1:
        raise op.error(f"{what} must hold one i1, got {t}")


def _count(t) -> int:
    return int(np.prod(t.shape)) if t.shape else 1


def _axis(axis: int, rank: int, what: str) -> int:
    if not -rank <= axis < rank:
        raise ShapeError(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank


def _dtype(t):
    from descend.ir import numpy_dtype
    return numpy_dtype(t.element_type)

