"""A hypothesis strategy for the pass tests: modules of functions over a few pure arith ops
drawn from small pools, so duplicates (for cse) and unused values (for dce) are common."""

from __future__ import annotations

from hypothesis import strategies as st

from descend.dialects.arith import AddIOp, AndIOp, ConstantOp, MulIOp, SubIOp, XOrIOp
from descend.dialects.builtin import ModuleOp
from descend.dialects.func import FuncOp, ReturnOp
from descend.ir import FunctionType, IntegerAttr, i32

BINARY = [AddIOp, AndIOp, MulIOp, SubIOp, XOrIOp]


@st.composite
def arith_functions(draw, name: str, max_ops: int = 25) -> FuncOp:
    arguments = draw(st.integers(1, 3))
    function = FuncOp.build(sym_name=name, function_type=FunctionType([i32] * arguments, [i32]))
    block = function.entry_block
    values = list(block.args)
    for _ in range(draw(st.integers(0, max_ops))):
        if draw(st.integers(0, 4)) == 0:
            op = ConstantOp.build(value=IntegerAttr(draw(st.integers(0, 2)), i32))
        else:
            op_class = draw(st.sampled_from(BINARY))
            lhs = draw(st.sampled_from(values[-6:]))
            rhs = draw(st.sampled_from(values[-6:]))
            op = op_class.build(lhs, rhs)
            if draw(st.integers(0, 6)) == 0:
                op.attributes["tag"] = IntegerAttr(draw(st.integers(0, 1)), i32)
        block.append(op)
        values.append(op.results[0])
    block.append(ReturnOp.build(operands_=[draw(st.sampled_from(values))]))
    return function


@st.composite
def arith_modules(draw, max_functions: int = 2) -> ModuleOp:
    module = ModuleOp.build()
    for index in range(draw(st.integers(1, max_functions))):
        module.body.append(draw(arith_functions(f"f{index}")))
    return module
