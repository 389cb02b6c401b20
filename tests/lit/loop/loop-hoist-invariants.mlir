// loop-hoist-invariants: pure ops whose operands come from outside a loop move before it,
// innermost loops first; a division stays in a loop that may run zero times.
// RUN: %descend opt %s -p loop-hoist-invariants | filecheck %s
// RUN: %descend opt %s -p loop-hoist-invariants --pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// CHECK-LABEL: func.func @main
// CHECK:         %[[TWO:.+]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT:    %[[HALF:.+]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT:    %[[SCALE:.+]] = arith.mulf %[[TWO]], %[[HALF]] : f32
// CHECK-NEXT:    loop.for %[[I:.+]] = {{.+}} {
// CHECK-NEXT:      %[[ROW:.+]] = arith.muli %[[I]], %c8 : index
// CHECK-NEXT:      loop.for %[[J:.+]] = {{.+}} {
// CHECK-NEXT:        %[[V:.+]] = loop.load %x[%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK-NEXT:        %[[W:.+]] = arith.mulf %[[V]], %[[SCALE]] : f32
// CHECK-NEXT:        loop.store %[[W]], %y[%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK:         loop.for %{{.+}} = %c0 to %n step %c1 {
// CHECK-NEXT:      arith.divui %c8, %n : index
// STATS: 4 hoisted
func.func @main(%x: memref<4x8xf32>, %y: memref<4x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  loop.for %i = %c0 to %c4 step %c1 {
    loop.for %j = %c0 to %c8 step %c1 {
      %two = arith.constant 2.0 : f32
      %half = arith.constant 0.5 : f32
      %scale = arith.mulf %two, %half : f32
      %row = arith.muli %i, %c8 : index
      %v = loop.load %x[%i, %j] : memref<4x8xf32>
      %w = arith.mulf %v, %scale : f32
      loop.store %w, %y[%i, %j] : memref<4x8xf32>
      loop.yield
    }
    loop.yield
  }
  loop.for %k = %c0 to %n step %c1 {
    %d = arith.divui %c8, %n : index
    loop.yield
  }
  return
}
