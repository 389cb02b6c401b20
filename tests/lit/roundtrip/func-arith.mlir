// Custom form -> generic -> parse -> custom is stable, chunk by chunk.
// RUN: %roundtrip
// RUN: %roundtrip-stable

// CHECK-LABEL: func.func @constants
// CHECK-NEXT:    %{{.*}} = arith.constant 42 : i64
// CHECK-NEXT:    %{{.*}} = arith.constant true
// CHECK-NEXT:    %{{.*}} = arith.constant 1.500000e+00 : f64
// CHECK-NEXT:    %{{.*}} = arith.constant 7 : index
func.func @constants() -> (i64, i1, f64, index) {
  %a = arith.constant 42 : i64
  %b = arith.constant true
  %c = arith.constant 1.5 : f64
  %d = arith.constant 7 : index
  return %a, %b, %c, %d : i64, i1, f64, index
}

// -----

// CHECK-LABEL: func.func @compare_select
// CHECK:         arith.cmpi sge, %{{.*}}, %{{.*}} : i32
// CHECK:         arith.select %{{.*}}, %{{.*}}, %{{.*}} : i32
func.func @compare_select(%x: i32, %y: i32) -> i32 {
  %ge = arith.cmpi sge, %x, %y : i32
  %max = arith.select %ge, %x, %y : i32
  return %max : i32
}

// -----

// CHECK-LABEL: func.func private @external(f32) -> f32
// CHECK-LABEL: func.func @calls
// CHECK:         call @external(%{{.*}}) : (f32) -> f32
func.func private @external(f32) -> f32

func.func @calls(%x: f32) -> f32 {
  %y = func.call @external(%x) : (f32) -> f32
  %z = arith.mulf %y, %y : f32
  return %z : f32
}

// -----

// Tensors pass through func ops unchanged.
// CHECK-LABEL: func.func @identity(%{{.*}}: tensor<2x3xf32>) -> tensor<2x3xf32>
func.func @identity(%t: tensor<2x3xf32>) -> tensor<2x3xf32> {
  return %t : tensor<2x3xf32>
}
