"""descend.testing programs, sample_op and values: every generated program verifies,
round-trips through text and runs in the interpreter; inputs fit signatures; every arith
and math op can be instantiated; fixed operands and user hooks are honoured."""

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings, strategies as st

import descend
from descend.dialects import arith
from descend.ir import (Block, FloatAttr, FloatLike, IntegerAttr, Operation, Pure, SameOperandsAndResultType,
                        TensorType, VectorType, attribute, f16, f32, f64, i1, i8, i32, index, operand, result)
from descend.ir.interpreter import UndefinedBehavior
from descend.testing import (NoInstance, can_sample, format_value, inputs_for, op_classes, programs,
                             sample_op, structurally_equal, values_of)
from descend.testing.sampling import OpSampler

FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(st.data())
def test_programs_verify_roundtrip_and_interpret(data):
    module = data.draw(programs())
    descend.verify(module)
    for generic in (False, True):
        again = descend.parse(module.print(generic=generic))
        assert structurally_equal(again, module, locations=False), module.print()
    inputs = data.draw(inputs_for(module))
    try:
        results = descend.interpret(module, "main", inputs)
    except UndefinedBehavior:
        return  # the one failure a well-typed program may have
    func = module.functions()[0]
    assert len(results) == len(func.type.results) >= 1


def _storage(t):
    from descend.dialects.numeric import dtype_of
    return dtype_of(t), tuple(getattr(t, "shape", ()))


@FAST
@given(st.data())
def test_inputs_match_the_signature(data):
    module = data.draw(programs(max_ops=4))
    inputs = data.draw(inputs_for(module))
    types = module.functions()[0].type.inputs
    assert len(inputs) == len(types)
    for value, t in zip(inputs, types):
        dtype, shape = _storage(t)
        assert np.asarray(value).dtype == dtype and np.shape(value) == shape, (t, value)


@FAST
@given(programs(ops=["arith.subi", "arith.cmpi", "arith.select"], types=[i8, VectorType([3], i8)],
                max_ops=6))
def test_programs_keep_to_the_chosen_ops_and_types(module):
    names = {op.name for op in module.walk()} - {"builtin.module", "func.func", "func.return"}
    assert names <= {"arith.subi", "arith.cmpi", "arith.select", "arith.constant"}
    for t in module.functions()[0].type.inputs:
        assert t in (i8, VectorType([3], i8), i1, VectorType([3], i1))


def test_every_arith_and_math_op_can_be_instantiated():
    classes = op_classes(dialects=("arith", "math"))
    assert len(classes) > 80
    for cls in classes:
        @settings(max_examples=3, deadline=None, database=None)
        @given(st.data())
        def instance(data):
            block = Block([i32, f32])
            op = sample_op(data.draw, cls, available=list(block.args),
                           new_value=lambda t: block.add_argument(t))
            assert op.name == cls.name
            descend.ir.verify_declaration(op)
        instance()


def test_cmpi_predicates_and_cast_targets_are_drawn_across_their_range():
    seen_predicates = set()
    seen_targets = set()

    @settings(max_examples=150, deadline=None, database=None)
    @given(st.data())
    def draw_some(data):
        x = Block([i8]).args[0]
        cmp = sample_op(data.draw, "arith.cmpi", operands=[x, x])
        seen_predicates.add(cmp.predicate.value)
        assert cmp.result.type == i1
        ext = sample_op(data.draw, "arith.extsi", operands=[x], types=[i8, i32, f32, index])
        seen_targets.add(ext.out.type)
    draw_some()
    assert seen_predicates == set(range(10))
    assert seen_targets == {i32}  # the only wider signless integer on offer


ONCE = settings(max_examples=5, deadline=None, database=None)


@ONCE
@given(st.data())
def test_fixed_operands_are_used_as_given_or_refused(data):
    block = Block([f32, f32, i32])
    x, y, n = block.args
    draw = data.draw
    op = sample_op(draw, arith.SubFOp, operands=[y, x])
    assert list(op.operands) == [y, x]
    with pytest.raises(NoInstance):
        sample_op(draw, arith.SubFOp, operands=[n, n])
    with pytest.raises(NoInstance):
        sample_op(draw, "arith.constant", operands=[x])
    with pytest.raises(ValueError, match="no registered op named 'arith.nope'"):
        sample_op(draw, "arith.nope")


class ScaleOp(Operation):
    """Multiplies by `factor`, a finite non-zero f64 the declaration cannot describe."""

    name = "tst.scale"
    input = operand(FloatLike)
    factor = attribute(FloatAttr)
    output = result(FloatLike)
    traits = (Pure(), SameOperandsAndResultType())

    def verify(self):
        if self.factor.value == 0.0:
            raise self.error("factor must not be zero")

    @staticmethod
    def reference(input, *, factor):
        return input * np.asarray(factor, np.asarray(input).dtype)

    @classmethod
    def sample_attributes(cls, s, operand_types):
        return {"factor": FloatAttr(s.choice([0.5, 2.0, -3.0]), f64)}


class BareOp(ScaleOp):
    name = "tst.bare"
    sample_attributes = None


class PairOp(Operation):
    """Adds a value to itself; its hook picks the one operand and builds the op."""

    name = "tst.pair"
    lhs = operand(FloatLike)
    rhs = operand(FloatLike)
    out = result(FloatLike)
    traits = (Pure(), SameOperandsAndResultType())

    @classmethod
    def sample_operation(cls, s):
        x = s.operand(s.type(FloatLike))
        return cls.build(x, x)


@ONCE
@given(st.data())
def test_user_hooks_fill_what_the_declaration_cannot_say(data):
    draw = data.draw
    block = Block([f32])
    scale = sample_op(draw, ScaleOp, available=list(block.args))
    assert scale.factor.value in (0.5, 2.0, -3.0) and scale.output.type == f32
    with pytest.raises(NoInstance, match="cannot derive attribute 'factor' of 'tst.bare'"):
        sample_op(draw, BareOp, available=list(block.args))
    pair = sample_op(draw, PairOp, available=list(block.args))
    assert pair.lhs is pair.rhs is block.args[0]
    assert can_sample(ScaleOp) and can_sample(PairOp)


@ONCE
@given(st.data())
def test_sampler_fits_other_operands_to_the_primary_shape(data):
    s = OpSampler(data.draw, types=[VectorType([4], f32), i1, i8, f16])
    assert s.fit(VectorType([4], f32), descend.ir.BoolLike) == VectorType([4], i1)
    assert s.fit(TensorType([2], f16), FloatLike) == TensorType([2], f16)
    assert s.fit(f16, descend.ir.SignlessIntegerLike) in (i1, i8)
    assert OpSampler(data.draw, types=[f32]).fit(f32, descend.ir.SignlessIntegerLike) is None


def test_edge_values_are_likely_and_print_back_exactly():
    assert find(values_of(i8), lambda x: x == -128) == np.int8(-128)
    assert np.signbit(find(values_of(f32), lambda x: x == 0 and np.signbit(x)))
    nan = find(values_of(f16), lambda x: np.isnan(x) and np.asarray(x).view(np.uint16) != 0x7E00)
    assert "view(np.float16)" in format_value(nan)

    @settings(max_examples=100, deadline=None, database=None)
    @given(st.sampled_from([i1, i8, index, f16, f32, f64, TensorType([2, 0], i8),
                            VectorType([3], f32)]).flatmap(values_of))
    def reads_back(x):
        y = eval(format_value(x), {"np": np})
        assert np.asarray(y).dtype == np.asarray(x).dtype and np.shape(y) == np.shape(x)
        assert np.asarray(y).tobytes() == np.asarray(x).tobytes()
    reads_back()
