// loop-flatten-buffers: on a module, buffers become 1-D across calls (a private kernel's
// arguments with the buffers passed to them, a loop.global with its get_globals); an
// argument fed by a public function's argument keeps its shape. Each access gets one
// linear index: constants folded into an offset added last, the outermost-defined
// indices summed first, a product or sum already made in the block reused. On a
// func.func, only buffers that never leave it.
// RUN: %descend opt %s -p loop-flatten-buffers | filecheck %s
// RUN: %descend opt %s -p loop-flatten-buffers --pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS
// RUN: %descend opt %s -p 'builtin.module(func.func(loop-flatten-buffers))' | filecheck %s --check-prefix=FUNC
// RUN: %descend opt %s -p loop-flatten-buffers | %descend opt -p loop-flatten-buffers | filecheck %s

// CHECK:       loop.global @w : memref<8xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00]> : tensor<8xf32>
// CHECK-LABEL: func.func private @kernel(%x: memref<2x4xf32>, %w: memref<8xf32>, %t: memref<24xf32>)
// CHECK-DAG:     %[[C20:.+]] = arith.constant 20 : index
// CHECK-DAG:     %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG:     %[[C4:.+]] = arith.constant 4 : index
// CHECK:         %acc = loop.alloca : memref<8xf32>
// CHECK:         loop.for %[[I:.+]] = {{.+}} {
// CHECK-NEXT:      loop.for %[[K:.+]] = {{.+}} {
// CHECK-NEXT:        loop.for %[[J:.+]] = {{.+}} {
// CHECK-NEXT:          %a = loop.load %x[%[[J]], %[[K]]] : memref<2x4xf32>
// CHECK-NEXT:          %[[JW:.+]] = arith.muli %[[J]], %[[C4]] : index
// CHECK-NEXT:          %[[LW:.+]] = arith.addi %[[K]], %[[JW]] : index
// CHECK-NEXT:          %b = loop.load %w[%[[LW]]] : memref<8xf32>
// CHECK-NEXT:          %p = arith.mulf %a, %b : f32
// CHECK-NEXT:          %[[IT:.+]] = arith.muli %[[I]], %[[C8]] : index
// CHECK-NEXT:          %[[IK:.+]] = arith.addi %[[IT]], %[[K]] : index
// CHECK-NEXT:          %[[LT:.+]] = arith.addi %[[IK]], %[[JW]] : index
// CHECK-NEXT:          loop.store %p, %t[%[[LT]]] : memref<24xf32>
// CHECK:         %v = loop.vload %t[%[[C20]]] : memref<24xf32>, vector<4xf32>
// CHECK-NEXT:    loop.vstore %v, %acc[%[[C4]]] : memref<8xf32>, vector<4xf32>
// CHECK-LABEL: func.func private @unused(%m: memref<?x4xf32>)
// CHECK-LABEL: func.func @main(%x: memref<2x4xf32>, %y: memref<2x4xf32>)
// CHECK:         %w = loop.get_global @w : memref<8xf32>
// CHECK-NEXT:    %t = loop.alloc : memref<24xf32>
// CHECK-NEXT:    call @kernel(%x, %w, %t) : (memref<2x4xf32>, memref<8xf32>, memref<24xf32>) -> ()
// CHECK-NEXT:    %v = loop.vload %t[%c0] : memref<24xf32>, vector<4xf32>
// CHECK-NEXT:    loop.vstore %v, %y[%c0, %c0] : memref<2x4xf32>, vector<4xf32>
// CHECK-NEXT:    loop.dealloc %t : memref<24xf32>

// STATS: 5 flattened
// STATS: 2 arguments
// STATS: 1 globals
// STATS: 5 accesses
// STATS: 3 kept
// STATS: 1 dynamic

// FUNC:       loop.global @w : memref<2x4xf32>
// FUNC-LABEL: func.func private @kernel(%x: memref<2x4xf32>, %w: memref<2x4xf32>, %t: memref<3x2x4xf32>)
// FUNC:         %acc = loop.alloca : memref<8xf32>
// FUNC:         loop.store %p, %t[%i, %j, %k] : memref<3x2x4xf32>
// FUNC:         loop.vstore %v, %acc[%c4] : memref<8xf32>, vector<4xf32>
// FUNC-LABEL: func.func @main
// FUNC:         %t = loop.alloc : memref<3x2x4xf32>
loop.global @w : memref<2x4xf32> = dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>

func.func private @kernel(%x: memref<2x4xf32>, %w: memref<2x4xf32>, %t: memref<3x2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %acc = loop.alloca : memref<2x4xf32>
  // loops i, k, j; the store's indices (i, j, k): summed by loop depth, i*8 + k + j*4,
  // so i*8 + k is one op the innermost loop does not change
  loop.for %i = %c0 to %c3 step %c1 {
    loop.for %k = %c0 to %c4 step %c1 {
      loop.for %j = %c0 to %c2 step %c1 {
        %a = loop.load %x[%j, %k] : memref<2x4xf32>
        %b = loop.load %w[%j, %k] : memref<2x4xf32>
        %p = arith.mulf %a, %b : f32
        loop.store %p, %t[%i, %j, %k] : memref<3x2x4xf32>
        loop.yield
      }
      loop.yield
    }
    loop.yield
  }
  %v = loop.vload %t[%c2, %c1, %c0] : memref<3x2x4xf32>, vector<4xf32>
  loop.vstore %v, %acc[%c1, %c0] : memref<2x4xf32>, vector<4xf32>
  return
}

// dynamic: counted, left alone
func.func private @unused(%m: memref<?x4xf32>) {
  return
}

func.func @main(%x: memref<2x4xf32>, %y: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %w = loop.get_global @w : memref<2x4xf32>
  %t = loop.alloc : memref<3x2x4xf32>
  call @kernel(%x, %w, %t) : (memref<2x4xf32>, memref<2x4xf32>, memref<3x2x4xf32>) -> ()
  %v = loop.vload %t[%c0, %c0, %c0] : memref<3x2x4xf32>, vector<4xf32>
  loop.vstore %v, %y[%c0, %c0] : memref<2x4xf32>, vector<4xf32>
  loop.dealloc %t : memref<3x2x4xf32>
  return
}
