// te.compute and te.kernel print and parse back, in custom and generic form.
// RUN: %descend opt %s --split-input-file | filecheck %s
// RUN: %roundtrip
// RUN: %roundtrip-stable

// CHECK-LABEL: func.func @matmul
// CHECK:         %[[Y:.+]] = te.compute(%a, %w) {combiner = "sum", reduce = array<i64: 64>} : (tensor<8x64xf32>, tensor<16x64xf32>) -> tensor<8x16xf32> {
// CHECK-NEXT:    ^bb0(%[[I:.+]]: index, %[[J:.+]]: index, %[[K:.+]]: index):
// CHECK-NEXT:      %[[X:.+]] = te.read %a[%[[I]], %[[K]]] : tensor<8x64xf32>
// CHECK-NEXT:      %[[V:.+]] = te.read %w[%[[J]], %[[K]]] : tensor<16x64xf32>
// CHECK-NEXT:      %[[P:.+]] = arith.mulf %[[X]], %[[V]] : f32
// CHECK-NEXT:      te.yield %[[P]] : f32
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[Y]]
func.func @matmul(%a: tensor<8x64xf32>, %w: tensor<16x64xf32>) -> tensor<8x16xf32> {
  %y = te.compute (%a, %w) {reduce = array<i64: 64>, combiner = "sum"}
       : (tensor<8x64xf32>, tensor<16x64xf32>) -> tensor<8x16xf32> {
  ^bb0(%i: index, %j: index, %k: index):
    %x = te.read %a[%i, %k] : tensor<8x64xf32>
    %v = te.read %w[%j, %k] : tensor<16x64xf32>
    %p = arith.mulf %x, %v : f32
    te.yield %p : f32
  }
  func.return %y : tensor<8x16xf32>
}

// -----

// The schedule prints as quoted JSON; unquoted JSON reads too.
// CHECK-LABEL: func.func @kernel
// CHECK:         %[[R:.+]] = te.kernel "pad_max"(%x) {schedule = #te.schedule<"[{\"op\": \"split\", \"compute\": \"m\", \"axis\": \"i0\", \"factor\": 4, \"outer\": \"io\", \"inner\": \"ii\"}, {\"op\": \"compute_inline\", \"compute\": 0}]">} : (tensor<6x5xf32>) -> tensor<6xf32> {
// CHECK-NEXT:    ^bb0(%[[A:.+]]: tensor<6x5xf32>):
// CHECK-NEXT:      %[[P:.+]] = te.compute(%[[A]]) : (tensor<6x5xf32>) -> tensor<6x7xf32> {
// CHECK:             arith.select
// CHECK:           %[[M:.+]] = te.compute(%[[P]]) {combiner = "max", init = 0.000000e+00 : f32, reduce = array<i64: 7>}
// CHECK:           te.return %[[M]] : tensor<6xf32>
func.func @kernel(%x: tensor<6x5xf32>) -> tensor<6xf32> {
  %r = te.kernel "pad_max" (%x) {schedule = #te.schedule<[{"op": "split", "compute": "m", "axis": "i0", "factor": 4, "outer": "io", "inner": "ii"}, {"op": "compute_inline", "compute": 0}]>}
       : (tensor<6x5xf32>) -> tensor<6xf32> {
  ^bb0(%a: tensor<6x5xf32>):
    %p = te.compute (%a) : (tensor<6x5xf32>) -> tensor<6x7xf32> {
    ^bb0(%i: index, %j: index):
      %c1 = arith.constant 1 : index
      %c0 = arith.constant 0 : index
      %c4 = arith.constant 4 : index
      %jm = arith.subi %j, %c1 : index
      %lo = arith.cmpi sge, %jm, %c0 : index
      %hi = arith.cmpi sle, %jm, %c4 : index
      %in = arith.andi %lo, %hi : i1
      %jc0 = arith.maxsi %jm, %c0 : index
      %jc = arith.minsi %jc0, %c4 : index
      %v = te.read %a[%i, %jc] : tensor<6x5xf32>
      %pad = arith.constant -1.0e30 : f32
      %s = arith.select %in, %v, %pad : f32
      te.yield %s : f32
    }
    %m = te.compute (%p) {reduce = array<i64: 7>, combiner = "max", init = 0.0 : f32}
         : (tensor<6x7xf32>) -> tensor<6xf32> {
    ^bb0(%i: index, %k: index):
      %v = te.read %p[%i, %k] : tensor<6x7xf32>
      te.yield %v : f32
    }
    te.return %m : tensor<6xf32>
  }
  func.return %r : tensor<6xf32>
}
