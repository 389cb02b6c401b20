"""parser+printer vs MLIR: descend's generic output with locations is accepted by mlir-opt,
and mlir-opt's generic output parses back to a structurally equal module (skipped when
mlir-opt is not installed)."""

from __future__ import annotations

import subprocess

import pytest

import descend
from descend.testing import assert_structurally_equal, find_mlir_opt




MLIR_OPT = find_mlir_opt()
CONTEXT = descend.Context(allow_unregistered=True)

CORPUS = {
    "func_arith_math": '''
        func.func @f(%x: i32, %y: f32) -> (i32, f32) {
          %c = arith.constant 3 : i32
          %a = arith.addi %x, %c : i32
          %m = arith.muli %a, %a : i32
          %lt = arith.cmpi slt, %m, %c : i32
          %s = arith.select %lt, %x, %m : i32
          %e = math.exp %y : f32
          %h = arith.constant 0.5 : f32
          %g = arith.mulf %e, %h : f32
          return %s, %g : i32, f32
        }
        func.func @caller(%x: i32) -> i32 {
          %r:2 = func.call @f(%x, %cst) : (i32, f32) -> (i32, f32)
          return %r#0 : i32
        }
    '''.replace("%cst)", "%x2)").replace("func.func @caller(%x: i32)", "func.func @caller(%x: i32, %x2: f32)"),
    "tensors_and_dense": '''
        func.func @t(%a: tensor<4xf32>) -> tensor<4xf32> {
          %c = arith.constant dense<[1.0, -0.0, 0x7FC00000, 0x7F800000]> : tensor<4xf32>
          %s = arith.constant dense<2> : tensor<2x3xi32>
          %b = arith.addf %a, %c : tensor<4xf32>
          return %b : tensor<4xf32>
        }
    ''',
    "unregistered_regions_successors": '''
        "tst.graph"() ({
        ^bb0(%arg0: i32, %arg1: f16):
          %0:2 = "tst.pair"(%arg0) : (i32) -> (i32, index)
          "tst.br"(%0#1)[^bb1] : (index) -> ()
        ^bb1:
          %1 = "tst.use"(%0#0, %arg1) : (i32, f16) -> vector<[4]x2xf32>
          "tst.cond_br"(%arg0)[^bb1, ^bb2] : (i32) -> ()
        ^bb2:
          "tst.return"() : () -> ()
        }, {
          %a = "tst.add"(%b) : (i32) -> i32
          %b = "tst.neg"(%a) : (i32) -> i32
        }) : () -> ()
    ''',
    "attributes": r'''
        "tst.op"() <{p = [1, 2 : i8, 3.5 : f16, "x"]}> {
            a = "esc\"aped\0A\FF", b = @root::@leaf, c = array<i64: 1, -2>, d = array<f32: 1.5>,
            e = affine_map<(d0, d1)[s0] -> (d0 + s0, d1 * 4)>, f = affine_set<(d0) : (d0 - 1 >= 0)>,
            g = {nested = [unit, true, false]}, h = tensor<?x4xf32>, i = 0x7FF0000000000001 : f64,
            j = -0.0 : f64, k = 255 : ui8, l = -128 : si8, m = 1.0e+10 : f64, n = 6.5e-05 : f16,
            o = dense<[[1, 2], [3, 4]]> : tensor<2x2xi16>, q = dense<(1.0, 2.0)> : tensor<2xcomplex<f32>>,
            r = #tst.attr<"body", [1]>, s = (i32) -> f32, t = 0x3F80 : bf16, u = 12345678901234567890 : ui64
        } : () -> (memref<4x?xf32, 3>, memref<2x2xi8, affine_map<(d0, d1) -> (d1, d0)>>, complex<f64>,
                   tuple<i1, none>, !tst.t<4, "x">, tensor<*xindex>, i128, f80, f128)
    ''',
    "big_dense_hex": '"tst.op"() {a = dense<[' + ", ".join(str(i % 7 - 3) for i in range(128)) + ']> : tensor<128xi32>, '
                     'b = dense<[' + ", ".join(str(i / 8) for i in range(120)) + ']> : tensor<120xf64>} : () -> ()',
    "locations": '''
        "tst.a"() : () -> () loc("file.mlir":3:4)
        "tst.b"() : () -> () loc("name"("f.py":1:2))
        "tst.c"() : () -> () loc(fused["a":1:2, "b":3:4])
        "tst.d"() : () -> () loc(callsite("callee":1:1 at "caller":2:2))
        "tst.e"() : () -> () loc(unknown)
        "tst.f"() : () -> () loc("range.mlir":1:2 to 3:4)
        "tst.g"() : () -> () loc(fused<"meta">["a":1:2, "b"])
    ''',
    "distinct_and_empty_blocks": '''
        "tst.op"() {a = distinct[0]<unit>, b = [distinct[0]<unit>, distinct[1]<"x">]} : () -> ()
        "tst.r"() ({
        ^bb0:
        }, {
        }) : () -> ()
    ''',
    "dense_resource": '''
        "tst.op"() {a = dense_resource<blob1> : tensor<2xf32>} : () -> ()
        {-#
          dialect_resources: {
            builtin: {
              blob1: "0x040000000000803F00000040"
            }
          }
        #-}
    ''',
}


def run_mlir_opt(text: str) -> str:
    result = subprocess.run([MLIR_OPT, "--allow-unregistered-dialect", "--mlir-print-op-generic",
                             "--mlir-print-debuginfo", "-"], input=text, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, f"mlir-opt rejected descend's output:\n{result.stderr}\n--- input:\n{text}"
    return result.stdout


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_mlir_opt_accepts_descend_output_and_agrees(name):
    if MLIR_OPT is None:
        pytest.skip("mlir-opt is not installed")
    module = descend.parse(CORPUS[name], filename=f"{name}.mlir", context=CONTEXT)
    ours = module.print(generic=True, debuginfo=True)
    theirs = run_mlir_opt(ours)
    back = descend.parse(theirs, filename="mlir-opt-output.mlir", context=CONTEXT)
    assert_structurally_equal(module, back, locations=True)


# Known differences from MLIR, kept as expected failures until fixed.
KNOWN_DIFFERENCES = {
    # descend writes one byte per i1 in dense hex; MLIR packs eight per byte.
    "i1_dense_hex": '"tst.op"() {a = dense<[' + ", ".join("true" if i % 3 else "false" for i in range(120))
                    + ']> : tensor<120xi1>} : () -> ()',
    # descend reads and writes f80/f128 hex literals as f64 bit patterns.
    "f80_hex_bits": '"tst.op"() {a = 0x7FF0000000000000 : f80} : () -> ()',
}


@pytest.mark.xfail(strict=True, reason="known difference from MLIR (see KNOWN_DIFFERENCES)")
@pytest.mark.parametrize("name", sorted(KNOWN_DIFFERENCES))
def test_known_differences_from_mlir(name):
    if MLIR_OPT is None:
        pytest.skip("mlir-opt is not installed")
    module = descend.parse(KNOWN_DIFFERENCES[name], filename=f"{name}.mlir", context=CONTEXT)
    theirs = run_mlir_opt(module.print(generic=True, debuginfo=True))
    back = descend.parse(theirs, filename="mlir-opt-output.mlir", context=CONTEXT)
    assert_structurally_equal(module, back, locations=True)
