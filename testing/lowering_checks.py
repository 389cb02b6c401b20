"""testing: the graph -> te lowering checks the compute-builder tests share: a module of one
graph op over given arrays, and its lower-graph-to-te form with no graph op left."""

from __future__ import annotations

import numpy as np

from descend.dialects.builtin import ModuleOp
from descend.dialects.func import FuncOp, ReturnOp
from descend.dialects.graph import to_attribute
from descend.ir import (Block, Builder, FunctionType, IntegerType, TensorType, f16, f32, f64, i1, i8, i16, i32,
                        i64)
from descend.ir.opdef import VARIADIC
from descend.rewrites import PassManager

LOWER = "builtin.module(lower-graph-to-te)"
FUSED = "builtin.module(func.func(fuse-ops),lower-graph-to-te)"

ELEMENT_TYPES = {np.float32: f32, np.float64: f64, np.float16: f16, np.int8: i8, np.int16: i16,
                 np.int32: i32, np.int64: i64, np.uint8: IntegerType(8, "u"),
                 np.uint16: IntegerType(16, "u"), np.uint32: IntegerType(32, "u"), np.bool_: i1}


def one_op_module(op_class, arrays, types=None, **attributes) -> ModuleOp:
    """func @main(arrays...) returning every result of one `op_class` op. `types` default to
    the arrays' tensor types; an op whose one operand is variadic takes them all; attributes
    given as None are left out."""
    types = types or [TensorType(a.shape, ELEMENT_TYPES[a.dtype.type]) for a in arrays]
    body = Block(types)
    operand_defs = op_class.definition.operands
    variadic = len(operand_defs) == 1 and operand_defs[0].kind == VARIADIC
    operands = [list(body.args)] if variadic else list(body.args)
    op = Builder.at_end(body).build(op_class, *operands,
                                    **{k: to_attribute(v) for k, v in attributes.items() if v is not None})
    body.append(ReturnOp.build(operands_=list(op.results)))
    func = FuncOp.build(sym_name="main", function_type=FunctionType(types, [r.type for r in op.results]),
                        declaration=True)
    func.regions[0].add_block(body)
    module = ModuleOp.build()
    module.regions[0].blocks[0].append(func)
    module.verify()
    return module


def lowered(module: ModuleOp, pipeline: str = LOWER) -> ModuleOp:
    """A copy of `module` run through `pipeline`; it verifies and holds no graph op."""
    after = module.clone()
    PassManager.parse(pipeline).run(after)
    after.verify()
    assert not [op.name for op in after.walk() if op.name.startswith("graph.")]
    return after
