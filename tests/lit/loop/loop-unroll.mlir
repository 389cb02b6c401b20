// loop-unroll: loops of kind "unrolled" with constant bounds and at most max-trip-count
// iterations become copies of their body, the iter_args threaded through.
// RUN: %descend opt %s -p loop-unroll | filecheck %s
// RUN: %descend opt %s -p 'loop-unroll{max-trip-count=1}' | filecheck %s --check-prefix=SMALL

// CHECK-LABEL: func.func @main
// CHECK:         loop.for %[[I:.+]] = {{.+}} {
// CHECK-NEXT:      %[[Z:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[K0:.+]] = arith.constant 0 : index
// CHECK-NEXT:      %[[V0:.+]] = loop.load %x[%[[I]], %[[K0]]] : memref<3x4xf32>
// CHECK-NEXT:      %[[A0:.+]] = arith.addf %[[Z]], %[[V0]] : f32
// CHECK-NEXT:      %[[K1:.+]] = arith.constant 2 : index
// CHECK-NEXT:      %[[V1:.+]] = loop.load %x[%[[I]], %[[K1]]] : memref<3x4xf32>
// CHECK-NEXT:      %[[A1:.+]] = arith.addf %[[A0]], %[[V1]] : f32
// CHECK-NEXT:      loop.store %[[A1]], %y[%[[I]]] : memref<3xf32>
// SMALL: iter_args(%acc = %zero) -> (f32)
func.func @main(%x: memref<3x4xf32>, %y: memref<3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  loop.for %i = %c0 to %c3 step %c1 {
    %zero = arith.constant 0.0 : f32
    %s = loop.for %k = %c0 to %c4 step %c2 {kind = "unrolled"} iter_args(%acc = %zero) -> (f32) {
      %v = loop.load %x[%i, %k] : memref<3x4xf32>
      %a = arith.addf %acc, %v : f32
      loop.yield %a : f32
    }
    loop.store %s, %y[%i] : memref<3xf32>
    loop.yield
  }
  return
}
