// descend's generic output goes through LLVM's mlir-opt and back into descend.
// REQUIRES: mlir-opt
// RUN: %mlir-interop | filecheck %s
// RUN: %descend opt --print-op-generic %examples/residual.mlir | mlir-opt --allow-unregistered-dialect | %descend opt - | filecheck %s --check-prefix=EXAMPLE

// CHECK-LABEL: func.func @mixed
// CHECK:         arith.addi %{{.*}}, %{{.*}} : i32
// CHECK:         arith.cmpi ult, %{{.*}}, %{{.*}} : i32
// CHECK:         "mine.opaque"(%{{.*}}) {note = "kept"} : (i32) -> i32
func.func @mixed(%a: i32, %b: i32) -> i32 {
  %sum = arith.addi %a, %b : i32
  %small = arith.cmpi ult, %sum, %a : i32
  %pick = arith.select %small, %a, %sum : i32
  %r = "mine.opaque"(%pick) {note = "kept"} : (i32) -> i32
  return %r : i32
}

// EXAMPLE-LABEL: func.func @residual_f32
// EXAMPLE:         arith.cmpf ogt
