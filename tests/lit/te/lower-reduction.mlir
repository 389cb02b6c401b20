// lower-graph-to-te on reductions: a reduce_sum is one compute whose reduction index reads
// the reduced axis; an argmax is two computes, the maximum and then the last index where x
// equals it (or is NaN, as numpy's argmax); a cumsum reduces over r with a select on r <= i.
// RUN: %descend opt %s --split-input-file -p 'lower-graph-to-te' | filecheck %s

// CHECK-LABEL: func.func @reduce_sum
// CHECK:         te.kernel "reduce_sum"(%x) : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32> {
// CHECK:         te.compute(%arg0) {combiner = "sum", reduce = array<i64: 3>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32> {
// CHECK-NEXT:    ^bb0(%[[I0:.+]]: index, %[[I1:.+]]: index, %[[I2:.+]]: index, %[[R:.+]]: index):
// CHECK-NEXT:      %[[V:.+]] = te.read %arg0[%[[I0]], %[[R]], %[[I2]]] : tensor<2x3x4xf32>
// CHECK-NEXT:      te.yield %[[V]] : f32
func.func @reduce_sum(%x: tensor<2x3x4xf32>) -> tensor<2x1x4xf32> {
  %0 = graph.reduce_sum %x {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  func.return %0 : tensor<2x1x4xf32>
}

// -----

// CHECK-LABEL: func.func @argmax
// CHECK:         %[[M:.+]] = te.compute(%arg0) {combiner = "max", reduce = array<i64: 4>} : (tensor<3x4xf32>) -> tensor<3xf32> {
// CHECK:         te.compute(%arg0, %[[M]]) {combiner = "max", reduce = array<i64: 4>} : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3xi64> {
// CHECK-NEXT:    ^bb0(%[[I:.+]]: index, %[[R:.+]]: index):
// CHECK-NEXT:      %[[X:.+]] = te.read %arg0[%[[I]], %[[R]]] : tensor<3x4xf32>
// CHECK-NEXT:      %[[MAX:.+]] = te.read %[[M]][%[[I]]] : tensor<3xf32>
// CHECK-NEXT:      %[[EQ:.+]] = arith.cmpf oeq, %[[X]], %[[MAX]] : f32
// CHECK-NEXT:      %[[NAN:.+]] = arith.cmpf une, %[[X]], %[[X]] : f32
// CHECK-NEXT:      %[[HIT:.+]] = arith.ori %[[EQ]], %[[NAN]] : i1
// CHECK-NEXT:      %[[POS:.+]] = arith.index_cast %[[R]] : index to i64
// CHECK-NEXT:      %[[NONE:.+]] = arith.constant -1 : i64
// CHECK-NEXT:      %[[SEL:.+]] = arith.select %[[HIT]], %[[POS]], %[[NONE]] : i64
// CHECK-NEXT:      te.yield %[[SEL]] : i64
func.func @argmax(%x: tensor<3x4xf32>) -> tensor<3xi64> {
  %0 = graph.argmax %x {axis = 1, keepdims = 0, select_last_index = 1} : (tensor<3x4xf32>) -> tensor<3xi64>
  func.return %0 : tensor<3xi64>
}

// -----

// CHECK-LABEL: func.func @cumsum
// CHECK:         te.compute(%arg0) {combiner = "sum", reduce = array<i64: 5>} : (tensor<2x5xi32>) -> tensor<2x5xi32> {
// CHECK-NEXT:    ^bb0(%[[I0:.+]]: index, %[[I1:.+]]: index, %[[R:.+]]: index):
// CHECK-NEXT:      %[[X:.+]] = te.read %arg0[%[[I0]], %[[R]]] : tensor<2x5xi32>
// CHECK-NEXT:      %[[IN:.+]] = arith.cmpi sle, %[[R]], %[[I1]] : index
// CHECK-NEXT:      %[[ZERO:.+]] = arith.constant 0 : i32
// CHECK-NEXT:      %[[SEL:.+]] = arith.select %[[IN]], %[[X]], %[[ZERO]] : i32
// CHECK-NEXT:      te.yield %[[SEL]] : i32
func.func @cumsum(%x: tensor<2x5xi32>) -> tensor<2x5xi32> {
  %0 = graph.cumsum %x {axis = 1} : (tensor<2x5xi32>) -> tensor<2x5xi32>
  func.return %0 : tensor<2x5xi32>
}
