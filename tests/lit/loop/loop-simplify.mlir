// loop-simplify: constant index arithmetic folds, a loop of one trip becomes its body, loops
// of zero trips and loops that only yield their iter_args disappear, a constant loop.if
// keeps its taken side.
// RUN: %descend opt %s -p loop-simplify | filecheck %s
// RUN: %descend opt %s -p loop-simplify | %descend opt -p loop-simplify | filecheck %s

// CHECK-LABEL: func.func @main
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[C3:.+]] = arith.constant 3 : index
// CHECK-DAG:     %[[C4:.+]] = arith.constant 4 : index
// CHECK:         loop.for %[[I:.+]] = %{{.+}} to %[[C4]] step %{{.+}} {
// CHECK-NEXT:      %[[V:.+]] = loop.load %x[%[[I]], %[[C3]]] : memref<4x8xf32>
// CHECK-NEXT:      %[[A:.+]] = arith.addf %[[V]], %[[ZERO]] : f32
// CHECK-NEXT:      loop.store %[[A]], %y[%[[I]]] : memref<4xf32>
// CHECK-NEXT:      loop.yield
// CHECK-NEXT:    }
// CHECK-NEXT:    return
// CHECK-NOT:     loop.if
func.func @main(%x: memref<4x8xf32>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.addi %c1, %c2 : index
  %c4 = arith.muli %c2, %c2 : index
  loop.for %i = %c0 to %c4 step %c1 {
    %zero = arith.constant 0.0 : f32
    %once = loop.for %o = %c3 to %c4 step %c1 iter_args(%acc = %zero) -> (f32) {
      %v = loop.load %x[%i, %o] : memref<4x8xf32>
      %a = arith.addf %acc, %v : f32
      loop.yield %a : f32
    }
    %none = loop.for %o = %c4 to %c3 step %c1 iter_args(%acc = %once) -> (f32) {
      %a = arith.addf %acc, %acc : f32
      loop.yield %a : f32
    }
    %empty = loop.for %o = %c0 to %c4 step %c1 iter_args(%acc = %none) -> (f32) {
      loop.yield %acc : f32
    }
    %true = arith.constant true
    %picked = loop.if %true -> (f32) {
      loop.yield %empty : f32
    } else {
      loop.yield %zero : f32
    }
    loop.store %picked, %y[%i] : memref<4xf32>
    loop.yield
  }
  return
}
