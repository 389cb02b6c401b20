"""ONNX -> graph: a ModelProto becomes a module with one function, `@main`, of graph ops.

The path: upgrade old opsets with onnx's version converter, bind symbolic dimensions to
the sizes the user gave, run onnx's shape inference (its answers are checked against
ours), then convert node by node in topological order. Initializers become constants;
ops whose operands are all small constants are computed at import, so the shape
arithmetic exported models carry (Shape -> Gather -> Concat -> Reshape) disappears. Every
op built for a node is located at that node (`loc("conv1")`), so later errors name it."""

from __future__ import annotations

import os
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from descend.ir import (Block, Builder, DenseElementsAttr, DiagnosticError, Diagnostic, FloatType,
                        FunctionType, IntegerType, NameLoc, TensorType, Type, UNKNOWN, bf16,
                        f16, f32, f64)
from descend.dialects.builtin import ModuleOp
from descend.dialects.func import FuncOp, ReturnOp
from descend.dialects.graph import ConstantOp

from .registry import Node, Unsupported, constant_value, lookup, try_fold

MIN_OPSET = 13  # older models are upgraded to this with onnx.version_converter

_ELEMENTS = {  # TensorProto data type -> element type
    1: f32, 2: IntegerType(8, "u"), 3: IntegerType(8), 4: IntegerType(16, "u"), 5: IntegerType(16),
    6: IntegerType(32), 7: IntegerType(64), 9: IntegerType(1), 10: f16, 11: f64,
    12: IntegerType(32, "u"), 13: IntegerType(64, "u"), 16: bf16,
    17: FloatType("f8E4M3FN"), 18: FloatType("f8E4M3FNUZ"), 19: FloatType("f8E5M2"),
    20: FloatType("f8E5M2FNUZ"), 23: FloatType("f4E2M1FN"), 24: FloatType("f8E8M0FNU"),
    21: IntegerType(4, "u"), 22: IntegerType(4), 25: IntegerType(2, "u"), 26: IntegerType(2),
}


def element_type(onnx_dtype: int) -> Type:
    """The element type of an ONNX TensorProto data type; Unsupported for strings,
    complex numbers, float8 and 4-bit types."""
    element = _ELEMENTS.get(onnx_dtype)
    if element is None:
        import onnx
        name = onnx.TensorProto.DataType.Name(onnx_dtype) if onnx_dtype in onnx.TensorProto.DataType.values() else str(onnx_dtype)
        raise Unsupported(f"element type {name} is not supported")
    return element


def onnx_dtype(element: Type) -> int:
    for code, e in _ELEMENTS.items():
        if e == element:
            return code
    raise ValueError(f"no ONNX data type for {element}")


@dataclass
class Problem:
    """One unsupported thing found while importing: what, at which node."""

    op_type: str
    node: str
    reason: str


@dataclass
class ImportReport:
    problems: list[Problem] = field(default_factory=list)

    def by_op(self) -> dict[str, list[Problem]]:
        out: dict[str, list[Problem]] = {}
        for p in self.problems:
            out.setdefault(p.op_type, []).append(p)
        return out

    def render(self, filename: str) -> str:
        groups = self.by_op()
        count = len(self.problems)
        lines = [f"{filename}: error: {count} node{'s' if count != 1 else ''} of "
                 f"{len(groups)} op type{'s' if len(groups) != 1 else ''} cannot be imported:"]
        for op_type in sorted(groups):
            problems = groups[op_type]
            reasons: dict[str, list[str]] = {}
            for p in problems:
                reasons.setdefault(p.reason, []).append(p.node)
            for reason, nodes in reasons.items():
                shown = ", ".join(f"'{n}'" for n in nodes[:8]) + (f" and {len(nodes) - 8} more" if len(nodes) > 8 else "")
                lines.append(f"  {op_type}: {reason} (node{'s' if len(nodes) != 1 else ''} {shown})")
        return "\n".join(lines)


class ImportFailed(DiagnosticError):
    """The model cannot be imported; `report` lists every problem found, and str() is
    the whole list (`model.onnx: error: ...`, one line per op type and reason)."""

    def __init__(self, report: ImportReport, filename: str, needs_constant=()):
        self.report = report
        self.filename = filename
        self.needs_constant = set(needs_constant)  # inputs whose values would decide shapes
        super().__init__(Diagnostic("error", UNKNOWN, report.render(filename)))

    def render(self) -> str:
        return self.report.render(self.filename)


class _Failed:
    """Stands for the outputs of a node that could not be imported, so its consumers are
    skipped (not reported a second time) while the rest of the model is still checked."""


FAILED = _Failed()


def load_model(model_or_path) -> tuple[Any, str]:
    import onnx
    if isinstance(model_or_path, (str, os.PathLike)):
        path = os.fspath(model_or_path)
        try:
            model = onnx.load(path)
        except FileNotFoundError:
            raise ModelError(path, "no such file") from None
        except Exception as exc:  # protobuf decode errors have many types
            raise ModelError(path, f"not a valid ONNX model: {exc}") from None
        return model, os.path.basename(path)
    if isinstance(model_or_path, bytes):
        return onnx.load_from_string(model_or_path), "<model>"
    return model_or_path, (model_or_path.graph.name or "<model>")


class ModelError(DiagnosticError):
    """A problem with the model as a whole (file, opset, input shapes): `model.onnx: error: ...`."""

    def __init__(self, filename: str, message: str):
        self.filename = filename
        super().__init__(Diagnostic("error", UNKNOWN, message))

    def render(self) -> str:
        return f"{self.filename}: error: {self.message}"


def _fail(filename: str, message: str) -> DiagnosticError:
    return ModelError(filename, message)


def default_opset(model) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return MIN_OPSET


def upgrade(model, target: int | None, filename: str):
    """The model at opset `target` (at least MIN_OPSET), by onnx's version converter."""
    import onnx
    current = default_opset(model)
    wanted = target if target is not None else max(current, MIN_OPSET)
    if wanted == current:
        return model
    try:
        return onnx.version_converter.convert_version(model, wanted)
    except Exception as exc:
        raise _fail(filename, f"cannot convert the model from opset {current} to {wanted} with "
                              f"onnx's version converter: {str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__}") from None


def bind_input_shapes(model, input_shapes: Mapping[str, Sequence[int]] | None, filename: str):
    """Fix every graph input's shape: symbolic dims come from `input_shapes`; a missing
    binding is an error naming the input and the dimension. Returns a modified copy."""
    import onnx
    input_shapes = dict(input_shapes or {})
    model = onnx.ModelProto.FromString(model.SerializeToString())
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    unknown = sorted(set(input_shapes) - {i.name for i in inputs})
    if unknown:
        raise _fail(filename, f"--input-shape names {', '.join(repr(u) for u in unknown)}, but the model's "
                              f"inputs are {', '.join(repr(i.name) for i in inputs) or 'none'}")
    for value in inputs:
        t = value.type.tensor_type
        if not value.type.HasField("tensor_type"):
            raise _fail(filename, f"input '{value.name}' is not a tensor (sequences, maps and optionals are not supported)")
        given = input_shapes.get(value.name)
        if not t.HasField("shape"):
            if given is None:
                raise _fail(filename, f"input '{value.name}' has no shape: give one with --input-shape {value.name}=...")
            t.shape.SetInParent()
            for d in given:
                t.shape.dim.add().dim_value = int(d)
            continue
        dims = t.shape.dim
        if given is not None:
            if len(given) != len(dims):
                raise _fail(filename, f"input '{value.name}' has rank {len(dims)}, but --input-shape gives "
                                      f"{len(given)} sizes ({'x'.join(map(str, given))})")
            for i, (d, size) in enumerate(zip(dims, given)):
                if d.HasField("dim_value") and d.dim_value != int(size):
                    raise _fail(filename, f"input '{value.name}' dimension {i} is {d.dim_value}, but "
                                          f"--input-shape gives {size}")
                d.ClearField("dim_param")
                d.dim_value = int(size)
            continue
        for i, d in enumerate(dims):
            if not d.HasField("dim_value"):
                what = f"'{d.dim_param}'" if d.dim_param else "unnamed"
                example = "x".join(str(x.dim_value) if x.HasField("dim_value") else "N" for x in dims)
                raise _fail(filename, f"input '{value.name}' dimension {i} is symbolic ({what}): give its size "
                                      f"with --input-shape {value.name}={example} (Python: input_shapes="
                                      f"{{'{value.name}': (...)}})")
    return model


def tensor_type_of(value_info) -> TensorType | None:
    """The static tensor type onnx's shape inference found for a value, or None."""
    if not value_info.type.HasField("tensor_type"):
        return None
    t = value_info.type.tensor_type
    if not t.HasField("shape") or any(not d.HasField("dim_value") for d in t.shape.dim):
        return None
    try:
        return TensorType(tuple(d.dim_value for d in t.shape.dim), element_type(t.elem_type))
    except Unsupported:
        return None


class Importer:
    def __init__(self, model, filename: str):
        self.model = model
        self.filename = filename
        self.values: dict[str, Any] = {}
        self.report = ImportReport()
        self.opset = default_opset(model)
        self.builder: Builder | None = None
        self.argument_names: dict = {}          # block argument -> ONNX input name
        self.needs_constant: set[str] = set()   # inputs a converter needed as constants

    # ---- used by Node -------------------------------------------------------------------------

    def insert(self, op):
        folded = try_fold(op)
        if folded is None:
            return self.builder.insert(op)
        constants = [self.builder.insert(ConstantOp.build(value=attr, location=op.location)) for attr in folded]
        return _Results([c.results[0] for c in constants])

    def constant(self, array: np.ndarray, element: Type | None, location) -> Any:
        if element is None:
            element = _element_of_array(array)
        attr = DenseElementsAttr(TensorType(array.shape, element), array)
        return self.builder.insert(ConstantOp.build(value=attr, location=location)).results[0]

    # ---- the model --------------------------------------------------------------------------------

    def run(self) -> ModuleOp:
        import onnx
        graph = self.model.graph
        initializers = {t.name: t for t in graph.initializer}
        inputs = [i for i in graph.input if i.name not in initializers]
        arg_types = []
        for value in inputs:
            try:
                arg_types.append(tensor_type_of(value) or _raise(Unsupported("has no static tensor type")))
            except Unsupported as exc:
                raise _fail(self.filename, f"input '{value.name}': {exc}") from None
        inferred = self._infer_types()
        result_types = []
        for value in graph.output:
            t = tensor_type_of(value) or inferred.get(value.name)
            result_types.append(t)

        module = ModuleOp.build()
        body = Block(arg_types)
        for arg, value in zip(body.args, inputs):
            arg.name_hint = _hint(value.name)
            self.values[value.name] = arg
            self.argument_names[arg] = value.name
        self.builder = Builder.at_end(body)
        for tensor in graph.initializer:
            self._initializer(tensor)
        for index, node in enumerate(graph.node):
            self._node(index, node, inferred)
        if self.report.problems:
            raise ImportFailed(self.report, self.filename, self.needs_constant)
        outputs = []
        for value in graph.output:
            v = self.values.get(value.name)
            if v is None:
                raise _fail(self.filename, f"graph output '{value.name}' is never computed")
            if value.name in self.values and getattr(v, "name_hint", None) is None:
                v.name_hint = _hint(value.name)
            outputs.append(v)
        self.builder.insert(ReturnOp.build(operands_=outputs, location=UNKNOWN))
        ftype = FunctionType([a.type for a in body.args], [v.type for v in outputs])
        func = FuncOp.build(sym_name="main", function_type=ftype, declaration=True, location=NameLoc(self.filename))
        func.regions[0].add_block(body)
        func.attributes["onnx.inputs"] = _names_attr([i.name for i in inputs])
        func.attributes["onnx.outputs"] = _names_attr([o.name for o in graph.output])
        module.regions[0].blocks[0].append(func)
        return module

    def _infer_types(self) -> dict[str, TensorType]:
        import onnx
        try:
            inferred = onnx.shape_inference.infer_shapes(self.model, strict_mode=False, data_prop=True)
        except Exception:
            return {}  # our own inference still runs; onnx's is only a cross-check
        out = {}
        for value in list(inferred.graph.value_info) + list(inferred.graph.output):
            t = tensor_type_of(value)
            if t is not None:
                out[value.name] = t
        return out

    def _initializer(self, tensor) -> None:
        import onnx
        try:
            element = element_type(tensor.data_type)
            array = onnx.numpy_helper.to_array(tensor)
        except Unsupported as exc:
            self.report.problems.append(Problem("initializer", tensor.name, str(exc)))
            self.values[tensor.name] = FAILED
            return
        value = self.constant(np.asarray(array), element, NameLoc(tensor.name))
        value.name_hint = _hint(tensor.name)
        self.values[tensor.name] = value

    def _node(self, index: int, proto, inferred: dict) -> None:
        label = proto.name or f"{proto.op_type}_{index}"
        entry = lookup(proto.op_type, proto.domain)
        outputs = [o for o in proto.output]
        if entry is None:
            domain = f" (domain '{proto.domain}')" if proto.domain not in ("", "ai.onnx") else ""
            self.report.problems.append(Problem(proto.op_type, label, f"no converter for this op{domain}"))
            self._mark_failed(outputs)
            return
        inputs = []
        for name in proto.input:
            if not name:
                inputs.append(None)
                continue
            v = self.values.get(name)
            if v is None:
                self.report.problems.append(Problem(proto.op_type, label, f"input '{name}' is never defined"))
                self._mark_failed(outputs)
                return
            inputs.append(v)
        if any(v is FAILED for v in inputs):
            self._mark_failed(outputs)
            return
        expected = [inferred.get(o) if o else None for o in outputs]
        node = Node(proto, inputs, self, NameLoc(label), self.opset, expected)
        try:
            produced = entry.fn(node)
        except Unsupported as exc:
            self.report.problems.append(Problem(proto.op_type, label, str(exc)))
            self._mark_failed(outputs)
            return
        except (TypeError, DiagnosticError) as exc:
            # the graph op refused the operands: shapes ONNX allows that we do not
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.report.problems.append(Problem(proto.op_type, label, message))
            self._mark_failed(outputs)
            return
        produced = list(produced) if isinstance(produced, (list, tuple)) else [produced]
        produced = [p.results[0] if hasattr(p, "results") and len(p.results) == 1 else p for p in produced]
        for i, name in enumerate(outputs):
            if not name:
                continue
            if i >= len(produced) or produced[i] is None:
                self.report.problems.append(Problem(proto.op_type, label, f"output #{i} ('{name}') is not supported"))
                self._mark_failed(outputs)
                return
            value = produced[i]
            want = expected[i]
            if want is not None and value.type != want:
                self.report.problems.append(Problem(
                    proto.op_type, label, f"output '{name}' has type {value.type} here, but onnx's shape "
                                          f"inference gives {want}"))
                self._mark_failed(outputs)
                return
            if value.name_hint is None:
                value.name_hint = _hint(name)
            self.values[name] = value

    # ---- subgraphs: the branches and bodies of If, Loop and Scan -------------------------------

    def captures(self, *graphs) -> list[str]:
        """The outer names `graphs` read (nested subgraphs included), in first-use order,
        that are not constants here: what a region isolated from above takes as operands.
        Outer constants are copied into the region instead, so they still fold there."""
        names = []
        for graph in graphs:
            for name in free_names(graph):
                value = self.values.get(name)
                if value is FAILED:
                    raise Unsupported(f"the subgraph reads '{name}', which could not be imported")
                if value is not None and constant_value(value) is None and name not in names:
                    names.append(name)
        return names

    def region(self, graph, arg_types: Sequence[Type], captured: Sequence[str], what: str):
        """`graph` converted into a new block ending in graph.yield of its outputs: the
        block's arguments are the graph's inputs (of `arg_types`), then the `captured` outer
        values; outer constants it reads are copied in. Returns (block, yielded values)."""
        if len(graph.input) != len(arg_types):
            raise Unsupported(f"{what} has {len(graph.input)} inputs, expected {len(arg_types)}")
        outer = [self.values[name] for name in captured]
        block = Block(list(arg_types) + [v.type for v in outer])
        values: dict[str, Any] = {}
        for arg, name in zip(block.args, [i.name for i in graph.input] + list(captured)):
            arg.name_hint = _hint(name)
            values[name] = arg
        for arg, value in zip(block.args[len(arg_types):], outer):
            if value in self.argument_names:  # so require_const inside can name the input to freeze
                self.argument_names[arg] = self.argument_names[value]
        builder = Builder.at_end(block)
        for name in free_names(graph):
            value = self.values.get(name)
            if name not in values and value is not None and value is not FAILED:
                copied = builder.insert(ConstantOp.build(value=value.owner.properties["value"],
                                                         location=value.owner.location)).results[0]
                copied.name_hint = _hint(name)
                values[name] = copied
        outputs = self._convert(graph, values, builder, what)
        from descend.dialects.graph import YieldOp
        builder.insert(YieldOp.build(values=outputs, location=UNKNOWN))
        return block, outputs

    def inline(self, graph, what: str, inputs: Sequence = ()) -> list:
        """`graph`'s nodes converted where the current node is, its inputs bound to `inputs`
        and outer values read directly (the branch an If with a constant condition takes,
        an iteration of an unrolled loop). Returns its outputs."""
        if len(graph.input) != len(inputs):
            raise Unsupported(f"{what} has {len(graph.input)} inputs, expected {len(inputs)}")
        return self._convert(graph, ChainMap({i.name: v for i, v in zip(graph.input, inputs)}, self.values),
                             self.builder, what)

    def _convert(self, graph, values, builder, what: str) -> list:
        saved = self.values, self.builder
        problems = len(self.report.problems)
        self.values, self.builder = values, builder
        try:
            for tensor in graph.initializer:
                self._initializer(tensor)
            for index, node in enumerate(graph.node):
                self._node(index, node, {})
            outputs = [self.values.get(o.name) for o in graph.output]
        finally:
            self.values, self.builder = saved
        if len(self.report.problems) > problems:
            raise Unsupported(f"{what} has nodes that cannot be imported (listed with this one)")
        for o, value in zip(graph.output, outputs):
            if value is None or value is FAILED:
                raise Unsupported(f"{what} output '{o.name}' is never computed")
        return outputs

    def _mark_failed(self, names) -> None:
        for name in names:
            if name:
                self.values[name] = FAILED


class _Results:
    def __init__(self, results):
        self.results = results


def free_names(graph) -> list[str]:
    """Names `graph` reads without defining them (from an enclosing graph), in first-use
    order, through nested subgraphs."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    free: list[str] = []

    def use(name):
        if name and name not in defined and name not in free:
            free.append(name)

    for node in graph.node:
        for name in node.input:
            use(name)
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                for name in free_names(sub):
                    use(name)
        defined.update(o for o in node.output if o)
    for o in graph.output:
        use(o.name)
    return free


def _raise(exc):
    raise exc


def _element_of_array(array: np.ndarray) -> Type:
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "b":
        return IntegerType(1)
    if kind == "f":
        return {2: f16, 4: f32, 8: f64}[size]
    if kind == "i":
        return IntegerType(size * 8)
    if kind == "u":
        return IntegerType(size * 8, "u")
    raise ValueError(f"no element type for numpy dtype {array.dtype}")


def _hint(name: str) -> str | None:
    """An ONNX value name as an SSA name hint (the printer drops invalid ones)."""
    import re
    text = re.sub(r"[^A-Za-z0-9_$.\-]", "_", name)
    if not text or text[0].isdigit():
        text = "v" + text
    return text


def _names_attr(names: Sequence[str]):
    from descend.ir import ArrayAttr, StringAttr
    return ArrayAttr([StringAttr(n) for n in names])


def import_model(model_or_path, input_shapes: Mapping[str, Sequence[int]] | None = None,
                 opset: int | None = None,
                 constant_inputs: Mapping[str, np.ndarray] | None = None) -> ModuleOp:
    """An ONNX model (path, bytes or ModelProto) as a graph-dialect module with `@main`.

    `constant_inputs` freezes graph inputs to the given values (they become initializers):
    the way to compile a model whose shapes depend on an input's value (a Reshape whose
    target shape is an input). ImportFailed.needs_constant names the inputs that would help."""
    model, filename = load_model(model_or_path)
    model = upgrade(model, opset, filename)
    if constant_inputs:
        model = freeze_inputs(model, constant_inputs, filename)
    model = bind_input_shapes(model, input_shapes, filename)
    return Importer(model, filename).run()


def freeze_inputs(model, values: Mapping[str, np.ndarray], filename: str):
    """A copy of `model` whose inputs named in `values` are initializers holding them."""
    import onnx
    from onnx import numpy_helper
    model = onnx.ModelProto.FromString(model.SerializeToString())
    names = {i.name for i in model.graph.input}
    unknown = sorted(set(values) - names)
    if unknown:
        raise _fail(filename, f"cannot freeze {', '.join(repr(u) for u in unknown)}: not an input of the model")
    for name, array in values.items():
        value = next(i for i in model.graph.input if i.name == name)
        dtype = value.type.tensor_type.elem_type
        array = np.asarray(array)
        tensor = numpy_helper.from_array(array, name)
        if dtype and tensor.data_type != dtype:
            tensor = numpy_helper.from_array(array.astype(onnx.helper.tensor_dtype_to_np_dtype(dtype)), name)
        kept = [i for i in model.graph.input if i.name != name]
        del model.graph.input[:]
        model.graph.input.extend(kept)
        model.graph.initializer.append(tensor)
    return model
