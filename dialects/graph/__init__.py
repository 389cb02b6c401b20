"""graph: tensor ops with value semantics and static shapes — the level an ONNX model is
imported at, where graph optimisations run (Relay's level in TVM).

Ops live in one module per family; every GraphOp subclass with a name in those modules
belongs to the dialect, so a family module only declares its ops."""

from descend.ir import Dialect, Operation

from . import (control, elementwise, indexing, layout, loss, nn, quantize, recurrent, reduction, shape,
               signal, structural, vision)
from .base import (Attrs, GraphOp, Kind, ShapeError, broadcast_shapes, element_of, python_value,
                   tensor, to_attribute)
from .structural import ConstantOp, FusedOp, YieldOp

_FAMILIES = (structural, elementwise, nn, reduction, shape, indexing, quantize, loss, recurrent,
             vision, signal, control, layout)


def _ops_of(module) -> list[type]:
    return [v for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, Operation) and isinstance(v.__dict__.get("name"), str)
            and v.__module__ == module.__name__]


OPS: list[type] = [op for family in _FAMILIES for op in _ops_of(family)]


def _materialize_constant(attr, type, location):
    from descend.ir import DenseElementsAttr
    if isinstance(attr, DenseElementsAttr) and attr.type == type:
        return ConstantOp.build(value=attr, location=location)
    return None


GRAPH = Dialect("graph", OPS, description=__doc__.split("\n\n")[0],
                materialize_constant=_materialize_constant)

# Every op class is reachable as descend.dialects.graph.<ClassName> (graph.AddOp, graph.ConvOp).
globals().update({op.__name__: op for op in OPS})
