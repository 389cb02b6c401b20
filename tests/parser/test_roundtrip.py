"""parser+printer: the textual format round-trips: print(parse(print(m))) == print(m) in the
generic and custom forms and with locations, and parse(print(m)) is structurally m, for
random IR (hypothesis) and for a hand-written case of every syntax form."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend
from descend.dialects.builtin import ModuleOp
from descend.ir import Operation, TypeAttr
from descend.testing import assert_structurally_equal, attributes, locations, modules, types

CONTEXT = descend.Context(allow_unregistered=True)
PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def parse(text: str):
    return descend.parse(text, filename="rt.mlir", context=CONTEXT)


def check_roundtrip(module, generic: bool, debuginfo: bool) -> None:
    text = module.print(generic=generic, debuginfo=debuginfo)
    again = parse(text)
    assert again.print(generic=generic, debuginfo=debuginfo) == text
    assert_structurally_equal(module, again, locations=debuginfo)


def wrap(op: Operation):
    module = ModuleOp.build()
    module.regions[0].blocks[0].append(op)
    return module


# ---- properties over random IR ---------------------------------------------------------------

@PROPERTY
@given(modules())
def test_random_module_generic_with_locations(module):
    check_roundtrip(module, generic=True, debuginfo=True)


@PROPERTY
@given(modules())
def test_random_module_custom_form(module):
    check_roundtrip(module, generic=False, debuginfo=False)
    check_roundtrip(module, generic=False, debuginfo=True)


@PROPERTY
@given(modules(max_ops=6, with_attributes=False))
def test_random_module_generic_without_locations(module):
    check_roundtrip(module, generic=True, debuginfo=False)


@settings(PROPERTY, max_examples=80)
@given(types())
def test_random_type_alone(type_):
    op = Operation("test.op", result_types=[type_], attributes={"t": TypeAttr(type_)})
    check_roundtrip(wrap(op), generic=True, debuginfo=False)


@settings(PROPERTY, max_examples=120)
@given(attributes())
def test_random_attribute_alone(attr):
    check_roundtrip(wrap(Operation("test.op", attributes={"a": attr})), generic=True, debuginfo=False)


@PROPERTY
@given(st.lists(attributes(depth=1), min_size=1, max_size=3))
def test_random_attributes_as_properties(attrs):
    op = Operation("test.op", properties={f"p{i}": a for i, a in enumerate(attrs)})
    check_roundtrip(wrap(op), generic=True, debuginfo=False)


@PROPERTY
@given(locations(depth=3))
def test_random_location_alone(loc):
    check_roundtrip(wrap(Operation("test.op", location=loc)), generic=True, debuginfo=True)


# ---- hand-written cases: every syntax form ----------------------------------------------------

CASES = {
    "generic_properties": '''
        "test.op"() <{a = 1 : i32, b = "s", c}> {d = unit} : () -> ()
    ''',
    "regions_and_blocks": '''
        %0 = "test.op"() ({
        ^bb0(%a: i32, %b: f32):
          "test.use"(%a, %b) : (i32, f32) -> ()
        }, {
        }, {
          "test.inner"() : () -> ()
        }) : () -> i64
    ''',
    "successors": '''
        "test.func"() ({
        ^entry(%c: i1):
          "test.cond_br"(%c)[^yes, ^no] : (i1) -> ()
        ^yes:
          %1 = "test.value"() : () -> i32
          "test.br"(%1)[^done] : (i32) -> ()
        ^no:
          %2 = "test.value"() : () -> i32
          "test.br"(%2)[^done] : (i32) -> ()
        ^done(%r: i32):
          "test.return"(%r, %c) : (i32, i1) -> ()
        }) : () -> ()
    ''',
    "graph_region_forward_references": '''
        "test.graph"() ({
          %a = "test.add"(%b, %c#1) : (i32, i32) -> i32
          %b = "test.neg"(%a) : (i32) -> i32
          %c:2 = "test.pair"(%a) : (i32) -> (i32, i32)
        }) : () -> ()
    ''',
    "values_numbered_in_any_order": '''
        %7 = "test.a"() : () -> i32
        %3:3 = "test.b"(%7) : (i32) -> (i32, i1, f32)
        %0 = "test.c"(%3#2, %3#0, %3#1, %7) : (f32, i32, i1, i32) -> i8
        %x.y$-z = "test.d"(%0) : (i8) -> i8
    ''',
    "integer_types": '''
        "test.op"() : () -> (i1, i7, i32, i64, i128, si8, ui16, si1, ui1, i12345, index)
    ''',
    "float_types": '''
        "test.op"() : () -> (f16, bf16, f32, f64, f80, f128, tf32, f8E5M2, f8E4M3FN)
    ''',
    "tensor_types": '''
        "test.op"() : () -> (tensor<f32>, tensor<?x4x?xi8>, tensor<*xf32>, tensor<0x3xindex>,
                             tensor<4xf32, #tst.encoding<"csr", [0, 1]>>, tensor<2xf32, "enc">,
                             tensor<2xcomplex<f32>>, tensor<3xvector<4xf32>>, tensor<1x!tst.t<8>>)
    ''',
    "memref_types": '''
        "test.op"() : () -> (memref<4x?xf32>, memref<f32>, memref<*xi8>, memref<*xi8, 3>,
                             memref<4x4xf32, affine_map<(d0, d1) -> (d1, d0)>>,
                             memref<4x4xf32, affine_map<(d0, d1)[s0] -> (d0 * 4 + d1 + s0)>, 1>,
                             memref<8xf32, 2>, memref<8xf32, "shared">, memref<8xf32, #tst.space>)
    ''',
    "vector_types": '''
        "test.op"() : () -> (vector<4xf32>, vector<[4]xf32>, vector<2x[8]x4xi1>, vector<1xindex>)
    ''',
    "other_builtin_types": '''
        "test.op"() : () -> (complex<f64>, complex<i32>, tuple<>, tuple<i32, tuple<f32>>,
                             none, (i32) -> (), (i32, f32) -> i1, () -> ((i32) -> i32))
    ''',
    "function_type_attribute": '''
        "test.op"() {t = (i32, f32) -> (i1, i8), u = () -> (), v = (i32) -> ((i32) -> i1)} : () -> ()
    ''',
    "dialect_types": '''
        "test.op"() : () -> (!tst.t, !tst.t<4, f32>, !tst.t<"str with > and <", [1, {a = 2}]>,
                             !tst.nested<a<b<c>>, (d), {e}>, !tst.arrow<i32 -> f32>, !tst.a.b.c)
    ''',
    "type_aliases": '''
        !scalar = i32
        !big = tensor<4x!scalar>
        !opaque = !tst.thing<1, 2>
        "test.op"() {t = !big} : () -> (!scalar, !big, !opaque)
    ''',
    "integer_attributes": '''
        "test.op"() {a = 1, b = -7 : i8, c = 255 : ui8, d = -128 : si8, e = true, f = false,
                     g = 0x7F : i8, h = 18446744073709551615 : ui64, i = -9223372036854775808 : i64,
                     j = 42 : index, k = 1 : i1, l = 170141183460469231731687303715884105727 : i128} : () -> ()
    ''',
    "float_attributes": '''
        "test.op"() {a = 1.5 : f32, b = -0.0 : f64, c = 0x7F800000 : f32, d = 0xFF800000 : f32,
                     e = 0x7FC00000 : f32, f = 0x7FF0000000000001 : f64, g = 6.5e-05 : f16,
                     h = 0x7C00 : f16, i = 0x3F80 : bf16, j = 1.0e+300, k = 0xFFF8000000000000 : f64,
                     l = 2.5 : f80, m = 0.1 : f128, n = 1.0 : bf16, o = 0x8000 : f16, p = 5 : f32} : () -> ()
    ''',
    "string_attributes": r'''
        "test.op"() {a = "plain", b = "quote \" and backslash \\", c = "tab\tnewline\n",
                     d = "hex \00\FF\7f", e = "non-ascii é € 😀", f = "typed" : i32, g = ""} : () -> ()
    ''',
    "string_keys": r'''
        "test.op"() {"quoted key" = 1, "é" = 2, "" = 3, "\22" = unit, loc = 4, true = 5} : () -> ()
    ''',
    "symbol_refs": '''
        "test.op"() {a = @f, b = @root::@nested::@leaf, c = @"quoted name"::@"x y", d = @a.b$c} : () -> ()
    ''',
    "arrays_dictionaries_units_types": '''
        "test.op"() {a = [], b = [1, [2, [3]], "x", i32, unit], c = {}, d = {x, y = {z = [f32]}},
                     e = unit, f = tensor<4xf32>, g = index} : () -> ()
    ''',
    "dense_elements": '''
        "test.op"() {a = dense<1.0> : tensor<2x3xf32>, b = dense<[[1, 2], [3, 4]]> : tensor<2x2xi32>,
                     c = dense<[true, false]> : tensor<2xi1>, d = dense<> : tensor<0xf32>,
                     e = dense<[0x7FC00000, 0xFF800000, -0.0]> : tensor<3xf32>,
                     f = dense<(1.0, 2.0)> : tensor<2xcomplex<f32>>,
                     g = dense<[(1.0, 2.0), (3.0, 0x7FC00000)]> : tensor<2xcomplex<f32>>,
                     h = dense<"0x0000803F000000400000404000008040"> : tensor<4xf32>,
                     i = dense<7> : vector<4xi8>, j = dense<[1, 2]> : tensor<2xindex>,
                     k = dense<-1> : tensor<i64>, l = dense<[[], []]> : tensor<2x0xi32>,
                     m = dense<[1.5, 2.5]> : tensor<2xbf16>, n = dense<[1.0, 65504.0]> : tensor<2xf16>,
                     o = dense<[0.0, -0.0]> : tensor<2xf32>} : () -> ()
    ''',
    "dense_resource": '''
        "test.op"() {a = dense_resource<blob1> : tensor<2xf32>,
                     b = dense_resource<"quoted blob"> : tensor<1xi32>} : () -> ()
        {-#
          dialect_resources: {
            builtin: {
              blob1: "0x040000000000803F00000040",
              "quoted blob": "0x0400000007000000"
            }
          }
        #-}
    ''',
    "dense_arrays": '''
        "test.op"() {a = array<i32: 1, -2, 3>, b = array<i8>, c = array<i1: true, false>,
                     d = array<f32: 1.5, 0x7FC00000>, e = array<f64: -0.0>, f = array<i64: 9223372036854775807>,
                     g = array<i16: -32768>} : () -> ()
    ''',
    "affine": '''
        "test.op"() {a = affine_map<(d0, d1) -> (d1, d0)>, b = affine_map<() -> ()>,
                     c = affine_map<(d0)[s0, s1] -> (d0 * 4 + s0, d0 floordiv 2, d0 ceildiv 3, d0 mod 5 - s1)>,
                     d = affine_set<(d0)[s0] : (d0 - s0 >= 0, d0 == 0, -d0 + 10 >= 0)>,
                     e = affine_map<(i, j)[N] -> (i + j * N)>} : () -> ()
    ''',
    "dialect_attributes": '''
        "test.op"() {a = #tst.a, b = #tst.b<1, "two", [3]>, c = #tst.c<{x = <nested <deep>>}>,
                     d = #tst<"opaque body">, e = #tst.e<(i32) -> f32>} : () -> ()
    ''',
    "attribute_aliases": '''
        #map = affine_map<(d0) -> (d0 + 1)>
        #dict = {k = #map, v = [#map]}
        #loc_attr = #tst.meta<1>
        "test.op"() {a = #map, b = #dict, c = [#map, #loc_attr]} : () -> ()
    ''',
    "distinct_attributes": '''
        "test.op"() {a = distinct[0]<unit>, b = distinct[1]<"x">, c = [distinct[0]<unit>],
                     d = distinct[2]<{k = 1}>} : () -> ()
    ''',
    "locations": '''
        "test.a"() : () -> () loc("file.mlir":3:4)
        "test.b"() : () -> () loc("file.mlir":3:4 to :9)
        "test.c"() : () -> () loc("file.mlir":3:4 to 5:6)
        "test.d"() : () -> () loc("name")
        "test.e"() : () -> () loc("name"("f.py":1:2))
        "test.f"() : () -> () loc(fused["a":1:2, "b"])
        "test.g"() : () -> () loc(fused<"meta">["a":1:2, unknown])
        "test.h"() : () -> () loc(callsite("callee":1:1 at "caller":2:2))
        "test.i"() : () -> () loc(callsite("x" at callsite("y" at "z":1:1)))
        "test.j"() : () -> () loc(unknown)
        "test.k"() ({
        ^bb0(%a: i32 loc("arg":1:1), %b: f32 loc(#later)):
          "test.l"(%a) : (i32) -> () loc(#later)
        }) : () -> () loc(#first)
        "test.m"() {where = loc("attr":7:7)} : () -> ()
        #first = loc("first":1:1)
        #later = loc(fused["l":2:2, "m":3:3])
    ''',
    "comments_anywhere": '''
        // leading comment
        %0 = "test.op"(/* no block comments in MLIR */) : () -> i32 // trailing
        "test.op"(%0) // between operands and the type
          ({ // inside a region
          ^bb0: // after a label
            "test.op"() : () -> () // last
          // before the closing brace
          }) {a = [1, // in an array
                   2]} : (i32) -> ()
        // at the very end
    ''',
    "nested_module": '''
        module @outer attributes {tst.flag} {
          module {
            "test.op"() : () -> ()
          }
        }
    ''',
}
CASES["comments_anywhere"] = CASES["comments_anywhere"].replace("/* no block comments in MLIR */", "")


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("generic,debuginfo", [(True, True), (False, False), (True, False), (False, True)])
def test_syntax_form_roundtrips(name, generic, debuginfo):
    module = parse(CASES[name])
    check_roundtrip(module, generic=generic, debuginfo=debuginfo)


def test_dense_resource_section_is_printed_with_the_blob():
    module = parse(CASES["dense_resource"])
    text = module.print(generic=True)
    assert "{-#" in text and "dialect_resources" in text and "blob1" in text
    attr = next(iter(module.regions[0].blocks[0].ops)).attributes["a"]
    assert attr.array.tolist() == [1.0, 2.0]


def test_dense_with_more_than_100_elements_prints_as_hex():
    values = ", ".join(str(i) for i in range(101))
    module = parse(f'"test.op"() {{a = dense<[{values}]> : tensor<101xi16>}} : () -> ()')
    text = module.print()
    assert 'dense<"0x0000010002' in text
    check_roundtrip(module, generic=True, debuginfo=False)


def test_special_floats_print_as_bit_patterns():
    module = parse(CASES["float_attributes"])
    op = next(iter(module.regions[0].blocks[0].ops))
    text = op.print(generic=True)
    assert "0x7F800000 : f32" in text and "0xFF800000 : f32" in text  # +inf, -inf
    assert "0x7FC00000 : f32" in text  # nan
    assert "b = -0.0" in text or "0x8000000000000000" in text


def test_forward_reference_is_the_same_value():
    module = parse(CASES["graph_region_forward_references"])
    graph = next(iter(module.regions[0].blocks[0].ops))
    add, neg, pair = list(graph.regions[0].blocks[0].ops)
    assert add.operands[0] is neg.results[0]
    assert add.operands[1] is pair.results[1]


def test_location_alias_defined_after_use():
    module = parse(CASES["locations"])
    ops = {op.name: op for op in module.walk()}
    assert str(ops["test.k"].location) == 'loc("first":1:1)'
    assert str(ops["test.l"].location) == 'loc(fused["l":2:2, "m":3:3])'


def test_registered_ops_roundtrip_in_both_forms():
    from pathlib import Path
    text = (Path(__file__).parents[2] / "examples" / "residual.mlir").read_text()
    module = descend.parse(text, filename="residual.mlir")
    for generic in (True, False):
        for debuginfo in (True, False):
            printed = module.print(generic=generic, debuginfo=debuginfo)
            again = descend.parse(printed, filename="again.mlir")
            assert again.print(generic=generic, debuginfo=debuginfo) == printed
            assert_structurally_equal(module, again, locations=debuginfo)
