"""The IR API a user programs against: use-def chains, builder, walk, clone, erase, move,
symbol tables, verifier errors, interning."""

import sys

import numpy as np
import pytest

import descend
from descend.dialects.arith import AddIOp, ConstantOp
from descend.dialects.builtin import ModuleOp
from descend.ir import (Block, Builder, DenseElementsAttr, DiagnosticError, FloatAttr, InsertionPoint,
                        IntegerAttr, Operation, Region, SymbolTable, TensorType, f32, i32, i64,
                        lookup_symbol, verify)

SOURCE = """
func.func @f(%a: i32, %b: i32) -> i32 {
  %0 = arith.addi %a, %b : i32
  %1 = arith.muli %0, %0 : i32
  return %1 : i32
}
func.func @g(%x: i32) -> i32 {
  %0 = func.call @f(%x, %x) : (i32, i32) -> i32
  return %0 : i32
}
"""


def function(module, name):
    return next(op for op in module.body.ops if op.properties["sym_name"].value == name)


def test_use_def_chains_and_replace_all_uses():
    module = descend.parse(SOURCE)
    f = function(module, "f")
    add, mul, ret = list(f.regions[0].block.ops)
    assert [u.owner for u in add.result.uses] == [mul, mul]
    a, b = f.regions[0].block.args
    a.replace_all_uses_with(b)
    assert add.operands == (b, b) and not a.has_uses
    verify(module)


def test_erase_refuses_used_results_and_walk_post_order_is_safe():
    module = descend.parse(SOURCE)
    f = function(module, "f")
    add = f.regions[0].block.first
    with pytest.raises(ValueError, match="still used"):
        add.erase()
    names = []
    for op in module.walk("post"):
        names.append(op.name)
        if op.name == "arith.muli":
            op.result.replace_all_uses_with(op.operands[0])
            op.erase()
    assert names[-1] == "builtin.module"
    assert "arith.muli" not in descend.print_ir(module)
    verify(module)


def test_builder_insertion_points_and_move():
    module = descend.parse(SOURCE)
    f = function(module, "f")
    add = f.regions[0].block.first
    builder = Builder.before(add)
    c = builder.build(ConstantOp, value=IntegerAttr(7, i32))
    assert f.regions[0].block.first is c
    new_add = Builder.after(add).build(AddIOp, add.result, c.result)
    assert add.next is new_add and new_add.result.type == i32
    c.move_after(new_add)
    with pytest.raises(DiagnosticError, match="does not dominate"):
        verify(module)
    c.move_before(add)
    verify(module)


def test_clone_with_value_mapping_is_deep_and_independent():
    module = descend.parse(SOURCE)
    f = function(module, "f")
    mapping = {}
    copy = f.clone(mapping)
    assert mapping[f.regions[0].block.args[0]] is copy.regions[0].block.args[0]
    assert copy.regions[0].block.first.operands[0] is copy.regions[0].block.args[0]
    copy.properties["sym_name"] = descend.ir.StringAttr("f2")
    module.regions[0].block.append(copy)
    verify(module)
    assert descend.print_ir(module).count("arith.addi") == 2


def test_symbol_table_lookup_and_rename_on_insert():
    module = descend.parse(SOURCE)
    table = SymbolTable(module)
    assert table.lookup("f").name == "func.func"
    call = next(op for op in module.walk() if op.name == "func.call")
    assert lookup_symbol(call, "f") is table.lookup("f")
    clash = table.lookup("f").clone()
    assert table.insert(clash) == "f_1"
    verify(module)


def test_verifier_names_op_and_location():
    text = "func.func @f(%a: i32) -> f32 {\n  return %a : i32\n}\n"
    with pytest.raises(DiagnosticError) as info:
        descend.parse(text, "v.mlir")
    rendered = str(info.value)
    assert rendered.startswith("v.mlir:2:3: error: 'func.return' op")
    assert "^" in rendered


def test_generic_and_unregistered_ops_round_trip():
    text = '%0:2 = "my.op"() ({\n^bb0(%x: i32):\n  "my.yield"(%x) : (i32) -> ()\n}) : () -> (i32, f32)\n'
    with pytest.raises(DiagnosticError, match="unregistered dialect"):
        descend.parse(text)
    ctx = descend.Context(allow_unregistered=True)
    module = descend.parse(text, context=ctx)
    again = descend.parse(descend.print_ir(module), context=ctx)
    assert descend.print_ir(again) == descend.print_ir(module)


def test_types_and_attributes_are_interned():
    assert TensorType([2, 3], f32) is TensorType((2, 3), f32)
    assert IntegerAttr(3, i64) is IntegerAttr(3)
    assert FloatAttr(-0.0, f32) is not FloatAttr(0.0, f32)
    d1 = DenseElementsAttr(TensorType([2], f32), np.array([1, 2], np.float32))
    assert d1 is DenseElementsAttr(TensorType([2], f32), [1.0, 2.0])
    with pytest.raises(AttributeError):
        d1.type = f32


def test_module_build_and_generic_construction():
    module = ModuleOp.build()
    block = module.regions[0].block
    op = Operation("test.thing", [], [i32])
    block.append(op)
    assert op.parent_op is module and len(block) == 1
    region = Region([Block([i32])])
    holder = Operation("test.holder", regions=[region])
    assert region.parent is holder


def test_package_classes_live_only_under_descend():
    """pytest must not import the root package twice under another name (DESIGN.md)."""
    for name, module in list(sys.modules.items()):
        if module is None or name.startswith("descend") or not hasattr(module, "Operation"):
            continue
        assert getattr(module, "Operation") is not None
        cls = getattr(module, "Operation")
        if isinstance(cls, type) and cls.__module__.endswith("ir.operation"):
            assert cls is Operation, f"second copy of descend's classes in module {name}"
