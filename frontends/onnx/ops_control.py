"""ONNX -> graph: converters of control flow (If, Loop, Scan), and of the ops that the
subgraph machinery or import-time values make expressible: LinearAttention and
CausalConvWithState (inlined ONNX function bodies), Unique and TensorScatter (computed from
constants at import).

A subgraph attribute becomes a region isolated from above: the outer values it reads
(found by name) become the op's captured operands, outer constants are copied in. An If
whose condition is known at import is replaced by the branch it takes."""

from __future__ import annotations

import numpy as np

from descend.dialects import graph
from descend.ir import Region, TensorType, i1, i64

from .registry import Node, Unsupported, constant_value, converter


def _types(values) -> str:
    return ", ".join(str(v.type) for v in values)


def _one(array) -> bool:
    return bool(array.reshape(-1)[0])


def _build(node: Node, op_class, operands, result_types, **fields):
    """The op with its regions and captured operands (which Node.build, made for attribute
    values, does not take); returns its results."""
    fields = {k: graph.to_attribute(v) if k.endswith(("_axes", "_directions")) else v
              for k, v in fields.items()}
    op = op_class.build(*operands, result_types=result_types, location=node.location, **fields)
    return list(node.importer.insert(op).results)


@converter("If")
def if_(node: Node):
    condition = node.inputs[0]
    branches = node.require_attr("then_branch"), node.require_attr("else_branch")
    if condition.type.shape and condition.type.shape != (1,) or condition.type.element_type != i1:
        raise Unsupported(f"the condition must be one bool, got {condition.type}")
    known = node.const(0)
    if known is not None:  # import the branch taken; the other may not even be valid here
        return node.importer.inline(branches[0] if _one(known) else branches[1],
                                    "then_branch" if _one(known) else "else_branch")
    importer = node.importer
    captured = importer.captures(*branches)
    then_block, then_out = importer.region(branches[0], [], captured, "then_branch")
    else_block, else_out = importer.region(branches[1], [], captured, "else_branch")
    if [v.type for v in then_out] != [v.type for v in else_out]:
        raise Unsupported(f"the branches give different types (then: {_types(then_out)}; else: "
                          f"{_types(else_out)}): shapes are static")
    return _build(node, graph.IfOp, [condition], [v.type for v in then_out],
                  captured=[importer.values[n] for n in captured],
                  then_region=Region([then_block]), else_region=Region([else_block]))


# A loop whose body needs its iteration number as a constant (a Slice at the iteration,
# a shape that grows) is unrolled at import when its trip count is known and this small.
UNROLL_LIMIT = 64


@converter("Loop")
def loop(node: Node):
    trip_count, condition, *inits = node.inputs + [None] * (2 - len(node.inputs))
    body = node.require_attr("body")
    if any(v is None for v in inits):
        raise Unsupported("a loop-carried initial value is missing")
    if trip_count is not None and (trip_count.type.element_type != i64 or _size(trip_count.type) != 1):
        raise Unsupported(f"the trip count must be one int64, got {trip_count.type}")
    if condition is not None and (condition.type.element_type != i1 or _size(condition.type) != 1):
        raise Unsupported(f"the condition must be one bool, got {condition.type}")
    problems = node.importer.report.problems
    mark = len(problems)
    try:
        return _loop_region(node, trip_count, condition, inits, body)
    except Unsupported as failure:
        found = problems[mark:]
        del problems[mark:]
        try:
            return _unroll(node, condition, inits, body)
        except Unsupported:
            del problems[mark:]
            problems.extend(found)
            raise failure from None


def _loop_region(node: Node, trip_count, condition, inits, body):
    importer = node.importer
    captured = importer.captures(body)
    arg_types = [TensorType((), i64), TensorType((), i1)] + [v.type for v in inits]
    block, yielded = importer.region(body, arg_types, captured, "body")
    if len(yielded) < 1 + len(inits):
        raise Unsupported(f"the body gives {len(yielded)} outputs, fewer than the condition and "
                          f"{len(inits)} carried values")
    if yielded[0].type.element_type != i1 or _size(yielded[0].type) != 1:
        raise Unsupported(f"the body's condition must be one bool, got {yielded[0].type}")
    if yielded[0].type != TensorType((), i1):
        raise Unsupported(f"the body's condition has type {yielded[0].type}, expected tensor<i1>")
    if condition is None and not _stays_true(yielded[0], block.args[1]):
        raise Unsupported(_IGNORED_CONDITION)
    for i, (init, out) in enumerate(zip(inits, yielded[1:])):
        if init.type != out.type:
            name = node.proto.input[2 + i]
            raise Unsupported(f"loop-carried '{name}' is {init.type} before the loop but the body gives "
                              f"{out.type}: shapes are static")
    scanned = yielded[1 + len(inits):]
    result_types = [v.type for v in inits]
    if scanned:
        count = _iterations(node, condition, block, yielded[0])
        result_types += [TensorType((count,) + tuple(v.type.shape), v.type.element_type) for v in scanned]
    return _build(node, graph.LoopOp, [], result_types, trip_count=trip_count, condition=condition,
                  inits=inits, captured=[importer.values[n] for n in captured], body=Region([block]))


def _iterations(node: Node, condition, block, next_condition) -> int:
    """How many times the loop runs, when known at import (scanned outputs stack that many
    values); Unsupported when the condition may end it early."""
    if condition is not None:
        if not _stays_true(next_condition, block.args[1]):
            raise Unsupported("the loop has scan outputs and a condition that may end it early: "
                              "their length is not static")
    if node.inputs[0] is None:
        raise Unsupported("the loop has scan outputs but no trip count: their length is not static")
    trip_count, start = _known(node, condition is not None, "a loop with scan outputs")
    return max(trip_count, 0) if start else 0


# ONNX says a body's condition is ignored when the Loop has no condition input, but
# onnxruntime ends the loop on it (and onnx's reference runs no iteration at all).
_IGNORED_CONDITION = ("the body computes a condition but the loop has no condition input: ONNX ignores it, "
                      "onnxruntime obeys it")


def _stays_true(next_condition, previous) -> bool:
    """The body passes its condition through unchanged, or yields a constant true."""
    while isinstance(getattr(next_condition, "owner", None), graph.IdentityOp):
        next_condition = next_condition.owner.operands[0]
    constant = constant_value(next_condition)
    return next_condition is previous or (constant is not None and _one(constant))


def _known(node: Node, has_condition: bool, what: str) -> tuple[int | None, bool]:
    """The trip count (None when absent) and initial condition as constants; asks for both
    before failing, so the backend learns every input to specialise on at once."""
    wanted = [i for i in ((0,) if node.inputs[0] is not None else ()) + ((1,) if has_condition else ())
              if node.const(i) is None]
    failures = []
    for i in wanted:
        try:
            node.require_const(i, f"{'trip count' if i == 0 else 'condition'} of {what}")
        except Unsupported as exc:
            failures.append(exc)
    if failures:
        raise failures[0]
    trip_count = None if node.inputs[0] is None else int(node.const(0).reshape(-1)[0])
    return trip_count, (_one(node.const(1)) if has_condition else True)


def _unroll(node: Node, condition, inits, body):
    """The loop as its iterations, each body inlined with constant iteration number and
    condition, so shapes that depend on them become static."""
    trip_count, running = _known(node, condition is not None, "a loop whose body needs constants")
    carried, scanned, i = list(inits), [], 0
    while running and (trip_count is None or i < trip_count):
        if i == UNROLL_LIMIT:
            raise Unsupported(f"the loop runs more than {UNROLL_LIMIT} iterations: too many to unroll")
        outputs = node.importer.inline(body, f"body (iteration {i})", [
            node.constant(np.array(i, np.int64)), node.constant(np.array(running))] + carried)
        next_condition = constant_value(outputs[0])
        if condition is None and not (next_condition is not None and _one(next_condition)):
            raise Unsupported(_IGNORED_CONDITION)
        if next_condition is None:
            raise Unsupported("the unrolled loop's condition is not known at import")
        running = _one(next_condition)
        carried = outputs[1:1 + len(inits)]
        scanned.append(outputs[1 + len(inits):])
        i += 1
    stacked = []
    for k in range(len(body.output) - 1 - len(inits)):
        values = [outputs[k] for outputs in scanned]
        if not values:
            raise Unsupported("the loop runs no iteration but has scan outputs (of unknown type)")
        if len({v.type for v in values}) > 1:
            raise Unsupported(f"scan output #{k} changes type across iterations ({_types(values)})")
        rows = [node.build(graph.ReshapeOp, v, shape=[1, *v.type.shape]) for v in values]
        stacked.append(rows[0] if len(rows) == 1 else node.build(graph.ConcatOp, rows, axis=0))
    return carried + stacked


@converter("Scan")
def scan(node: Node):
    body = node.require_attr("body")
    n_scan = node.require_attr("num_scan_inputs")
    if n_scan < 1 or n_scan > len(node.inputs):
        raise Unsupported(f"num_scan_inputs is {n_scan} for {len(node.inputs)} inputs")
    inits, inputs = node.inputs[:len(node.inputs) - n_scan], node.inputs[len(node.inputs) - n_scan:]
    in_axes = node.attr("scan_input_axes", [0] * n_scan)
    in_dirs = node.attr("scan_input_directions", [0] * n_scan)
    if len(in_axes) != n_scan or len(in_dirs) != n_scan:
        raise Unsupported("scan_input_axes and scan_input_directions need one entry per scan input")
    slices, lengths = [], set()
    for v, axis in zip(inputs, in_axes):
        rank = v.type.rank
        if not -rank <= axis < rank:
            raise Unsupported(f"scan input axis {axis} is out of range for {v.type}")
        axis %= rank
        lengths.add(v.type.shape[axis])
        slices.append(TensorType(tuple(d for i, d in enumerate(v.type.shape) if i != axis), v.type.element_type))
    if len(lengths) != 1:
        raise Unsupported(f"the scan inputs have different lengths ({_types(inputs)})")
    length = lengths.pop()
    importer = node.importer
    captured = importer.captures(body)
    block, yielded = importer.region(body, [v.type for v in inits] + slices, captured, "body")
    for i, (init, out) in enumerate(zip(inits, yielded)):
        if init.type != out.type:
            raise Unsupported(f"state '{node.proto.input[i]}' is {init.type} before the scan but the body "
                              f"gives {out.type}: shapes are static")
    scanned = yielded[len(inits):]
    out_axes = node.attr("scan_output_axes", [0] * len(scanned))
    out_dirs = node.attr("scan_output_directions", [0] * len(scanned))
    if len(out_axes) != len(scanned) or len(out_dirs) != len(scanned):
        raise Unsupported("scan_output_axes and scan_output_directions need one entry per scan output")
    result_types = [v.type for v in inits]
    for v, axis in zip(scanned, out_axes):
        rank = v.type.rank + 1
        if not -rank <= axis < rank:
            raise Unsupported(f"scan output axis {axis} is out of range for rank {rank}")
        shape = list(v.type.shape)
        shape.insert(axis % rank, length)
        result_types.append(TensorType(tuple(shape), v.type.element_type))
    return _build(node, graph.ScanOp, [], result_types, inits=inits, scan_inputs=inputs,
                  captured=[importer.values[n] for n in captured], body=Region([block]),
                  scan_input_axes=list(in_axes), scan_input_directions=list(in_dirs),
                  scan_output_axes=list(out_axes), scan_output_directions=list(out_dirs))


def _size(t) -> int:
    n = 1
    for d in t.shape:
        n *= d
    return n


# ---- ops that expand into their ONNX function bodies ---------------------------------------------

@converter("LinearAttention", "CausalConvWithState")
def function_body(node: Node):
    """The node's context-dependent ONNX function (what onnx builds for these input types),
    inlined here: LinearAttention's recurrence becomes a Scan, CausalConvWithState a Conv
    over the state and the input joined."""
    import onnx
    from .importer import onnx_dtype
    schema = onnx.defs.get_schema(node.op_type, node.opset)
    proto = onnx.NodeProto.FromString(node.proto.SerializeToString())
    given = {a.name for a in proto.attribute}
    for name, attribute in schema.attributes.items():
        if name not in given and attribute.default_value.name:
            proto.attribute.append(attribute.default_value)
    input_types = [onnx.helper.make_tensor_type_proto(onnx_dtype(v.type.element_type), v.type.shape)
                   if v is not None else onnx.TypeProto() for v in node.inputs]
    try:
        body = onnx.FunctionProto.FromString(schema.get_context_dependent_function(
            proto.SerializeToString(), [t.SerializeToString() for t in input_types]))
    except Exception as exc:
        raise Unsupported(f"onnx gives no function body for these inputs: {str(exc).strip().splitlines()[0]}") from None
    present = {name for name, v in zip(body.input, node.inputs) if v is not None}
    absent = set(body.input) - present
    attributes = {a.name: a for a in proto.attribute}
    nodes = []
    for inner in body.node:
        inner = onnx.NodeProto.FromString(inner.SerializeToString())
        for i, name in enumerate(inner.input):
            if name in absent:
                inner.input[i] = ""
        resolved = []
        for a in inner.attribute:
            if a.ref_attr_name:  # the caller's attribute (dropped when absent: the op's default)
                if a.ref_attr_name not in attributes:
                    continue
                ref = onnx.AttributeProto.FromString(attributes[a.ref_attr_name].SerializeToString())
                ref.name = a.name
                a = ref
            resolved.append(a)
        del inner.attribute[:]
        inner.attribute.extend(resolved)
        nodes.append(inner)
    graph = onnx.helper.make_graph(
        nodes, body.name, [onnx.helper.make_value_info(n, onnx.TypeProto()) for n in body.input if n in present],
        [onnx.helper.make_value_info(n, onnx.TypeProto()) for n in body.output])
    return node.importer.inline(graph, f"{node.op_type}'s function body", [v for v in node.inputs if v is not None])


# ---- ops whose result shapes depend on values ------------------------------------------------------

@converter("Unique")
def unique(node: Node):
    """Folded at import: how many unique values there are is the result's shape."""
    x = node.require_const(0, "the input of Unique, whose result shape depends on its values")
    axis = node.attr("axis", None)
    if axis is not None and not -x.ndim <= axis < max(x.ndim, 1):
        raise Unsupported(f"axis {axis} is out of range for rank {x.ndim}")
    flat = x.reshape(-1) if axis is None else x
    along = 0 if axis is None else axis % x.ndim
    y, first, inverse, counts = np.unique(flat, return_index=True, return_inverse=True, return_counts=True,
                                          axis=None if axis is None else along)
    if not node.attr("sorted", 1):  # in order of first occurrence
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        first, counts, inverse = first[order], counts[order], rank[inverse.reshape(-1)]
        y = np.take(flat, first, axis=along)
    element = node.inputs[0].type.element_type
    return [node.constant(y, element)] + [node.constant(np.asarray(a, np.int64).reshape(-1))
                                          for a in (first, inverse, counts)]


@converter("TensorScatter")
def tensor_scatter(node: Node):
    """present = past with `update` written along `axis` from each batch's write index
    (modulo the cache length in circular mode): a graph.scatter_nd whose indices are
    computed at import, so the write indices must be constants."""
    past, update = node.inputs[:2]
    mode = node.attr("mode", "linear")
    if mode not in ("linear", "circular"):
        raise Unsupported(f"mode '{mode}'")
    rank = past.type.rank
    axis = node.attr("axis", -2)
    if not -rank <= axis < rank or axis % rank == 0:
        raise Unsupported(f"axis {axis} must name a sequence axis after the batch axis of rank-{rank} tensors")
    axis %= rank
    length, steps = past.type.shape[axis], update.type.shape[axis]
    batch = past.type.shape[0]
    if node.input(2) is None:
        starts = np.zeros(batch, np.int64)
    else:
        starts = node.require_const(2, "write_indices (the scatter's positions)").astype(np.int64).reshape(-1)
    prefix = update.type.shape[:axis]
    grid = np.indices(tuple(prefix) + (steps,)).reshape(axis + 1, -1).T     # (*prefix, s) per update row
    positions = starts[grid[:, 0]] + grid[:, -1]
    if mode == "circular":
        positions %= length
    elif positions.size and (positions.max() >= length or positions.min() < 0):
        raise Unsupported(f"write indices {starts.tolist()} put {steps} steps outside a cache of length {length}")
    indices = np.concatenate([grid[:, :-1], positions[:, None]], axis=1).reshape(tuple(prefix) + (steps, axis + 1))
    return node.build(graph.ScatterNDOp, past, node.constant(indices), update, reduction="none")
