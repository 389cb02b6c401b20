// The example `make demo` prints: custom form, generic form, and both round trips.
// RUN: %descend opt %examples/residual.mlir | filecheck %s
// RUN: %descend opt --print-op-generic %examples/residual.mlir | filecheck %s --check-prefix=GENERIC
// RUN: %descend opt %examples/residual.mlir > %t.custom
// RUN: %descend opt --print-op-generic %examples/residual.mlir | %descend opt - > %t.roundtrip
// RUN: diff %t.custom %t.roundtrip
// RUN: %descend opt %t.custom | diff %t.custom -

// CHECK:      module {
// CHECK-NEXT:   func.func @relu(%x: i32) -> i32 {
// CHECK-NEXT:     %zero = arith.constant 0 : i32
// CHECK-NEXT:     %negative = arith.cmpi slt, %x, %zero : i32
// CHECK-NEXT:     %y = arith.select %negative, %zero, %x : i32
// CHECK-NEXT:     return %y : i32
// CHECK-NEXT:   }
// CHECK-LABEL:  func.func @residual(%x: i32, %w: i32, %b: i32) -> i32 {
// CHECK:          %activated = call @relu(%biased) : (i32) -> i32
// CHECK-LABEL:  func.func @residual_f32(%x: f32, %b: f32) -> f32 {
// CHECK-NEXT:     %scale = arith.constant 2.500000e+00 : f32
// CHECK:          %positive = arith.cmpf ogt, %biased, %zero : f32

// GENERIC:      "builtin.module"() ({
// GENERIC-NEXT:   "func.func"() <{function_type = (i32) -> i32, sym_name = "relu"}> ({
// GENERIC:          "arith.cmpi"(%{{.*}}, %{{.*}}) <{predicate = 2 : i64}> : (i32, i32) -> i1
// GENERIC:          "func.call"(%{{.*}}) <{callee = @relu}> : (i32) -> i32
