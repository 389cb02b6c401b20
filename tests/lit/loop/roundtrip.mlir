// loop dialect: custom form -> generic -> parse -> custom is stable, chunk by chunk.
// RUN: %roundtrip
// RUN: %roundtrip-stable

// CHECK-LABEL: func.func @matmul
// CHECK:         loop.for %[[I:.+]] = %[[C0:.+]] to %[[C4:.+]] step %[[C1:.+]] {kind = "parallel"} {
// CHECK-NEXT:      loop.for %[[J:.+]] = %[[C0]] to %{{.+}} step %[[C1]] {
// CHECK-NEXT:        %[[Z:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        %[[ACC:.+]] = loop.for %[[K:.+]] = %[[C0]] to %{{.+}} step %[[C1]] iter_args(%[[S:.+]] = %[[Z]]) -> (f32) {
// CHECK-NEXT:          %[[A:.+]] = loop.load %x[%[[I]], %[[K]]] : memref<4x8xf32>
// CHECK-NEXT:          %[[B:.+]] = loop.load %w[%[[J]], %[[K]]] : memref<3x8xf32>
// CHECK-NEXT:          %[[P:.+]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:          %[[S2:.+]] = arith.addf %[[S]], %[[P]] : f32
// CHECK-NEXT:          loop.yield %[[S2]] : f32
// CHECK-NEXT:        }
// CHECK-NEXT:        loop.store %[[ACC]], %y[%[[I]], %[[J]]] : memref<4x3xf32>
// CHECK-NEXT:        loop.yield
// CHECK-NEXT:      }
// CHECK-NEXT:      loop.yield
// CHECK-NEXT:    }
func.func @matmul(%x: memref<4x8xf32>, %w: memref<3x8xf32>, %y: memref<4x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  loop.for %i = %c0 to %c4 step %c1 {kind = "parallel"} {
    loop.for %j = %c0 to %c3 step %c1 {
      %zero = arith.constant 0.0 : f32
      %acc = loop.for %k = %c0 to %c8 step %c1 iter_args(%s = %zero) -> (f32) {
        %a = loop.load %x[%i, %k] : memref<4x8xf32>
        %b = loop.load %w[%j, %k] : memref<3x8xf32>
        %p = arith.mulf %a, %b : f32
        %s2 = arith.addf %s, %p : f32
        loop.yield %s2 : f32
      }
      loop.store %acc, %y[%i, %j] : memref<4x3xf32>
      loop.yield
    }
    loop.yield
  }
  return
}

// -----

// CHECK-LABEL: func.func @clamp_or_zero
// CHECK:         %[[R:.+]]:2 = loop.if %c -> (f32, index) {
// CHECK-NEXT:      loop.yield %a, %i : f32, index
// CHECK-NEXT:    } else {
// CHECK:           loop.yield %{{.+}}, %i : f32, index
// CHECK-NEXT:    }
// CHECK-NEXT:    loop.if %c {
// CHECK-NEXT:      loop.yield
// CHECK-NEXT:    } {note = "no else"}
func.func @clamp_or_zero(%c: i1, %a: f32, %i: index) -> f32 {
  %r:2 = loop.if %c -> (f32, index) {
    loop.yield %a, %i : f32, index
  } else {
    %z = arith.constant 0.0 : f32
    loop.yield %z, %i : f32, index
  }
  loop.if %c {
    loop.yield
  } {note = "no else"}
  return %r#0 : f32
}

// -----

// CHECK:       loop.global @bias : memref<8xf32> = dense<1.000000e+00> : tensor<8xf32>
// CHECK-LABEL: func.func @vectors
// CHECK:         %[[G:.+]] = loop.get_global @bias : memref<8xf32>
// CHECK:         %[[T:.+]] = loop.alloc : memref<2x8xf32>
// CHECK:         loop.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} {kind = "vectorized"} {
// CHECK-NEXT:      %[[V:.+]] = loop.vload %x[%[[I]], %{{.+}}] : memref<2x8xf32>, vector<8xf32>
// CHECK-NEXT:      %[[B:.+]] = loop.vload %[[G]][%{{.+}}] : memref<8xf32>, vector<8xf32>
// CHECK-NEXT:      %[[H:.+]] = loop.broadcast %s : f32 to vector<8xf32>
// CHECK-NEXT:      %[[M:.+]] = arith.mulf %[[V]], %[[H]] : vector<8xf32>
// CHECK-NEXT:      %[[E:.+]] = math.exp %[[M]] : vector<8xf32>
// CHECK-NEXT:      %[[S:.+]] = arith.addf %[[E]], %[[B]] : vector<8xf32>
// CHECK-NEXT:      loop.vstore %[[S]], %[[T]][%[[I]], %{{.+}}] : memref<2x8xf32>, vector<8xf32>
// CHECK-NEXT:      %[[R:.+]] = loop.reduce_vector "max" %[[S]] : vector<8xf32> -> f32
// CHECK-NEXT:      loop.store %[[R]], %out[%[[I]]] : memref<2xf32>
// CHECK:         loop.dealloc %[[T]] : memref<2x8xf32>
loop.global @bias : memref<8xf32> = dense<1.0> : tensor<8xf32>
func.func @vectors(%x: memref<2x8xf32>, %s: f32, %out: memref<2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %g = loop.get_global @bias : memref<8xf32>
  %t = loop.alloc : memref<2x8xf32>
  loop.for %i = %c0 to %c2 step %c1 {kind = "vectorized"} {
    %v = loop.vload %x[%i, %c0] : memref<2x8xf32>, vector<8xf32>
    %b = loop.vload %g[%c0] : memref<8xf32>, vector<8xf32>
    %h = loop.broadcast %s : f32 to vector<8xf32>
    %m = arith.mulf %v, %h : vector<8xf32>
    %e = math.exp %m : vector<8xf32>
    %sum = arith.addf %e, %b : vector<8xf32>
    loop.vstore %sum, %t[%i, %c0] : memref<2x8xf32>, vector<8xf32>
    %r = loop.reduce_vector "max" %sum : vector<8xf32> -> f32
    loop.store %r, %out[%i] : memref<2xf32>
    loop.yield
  }
  loop.dealloc %t : memref<2x8xf32>
  return
}
