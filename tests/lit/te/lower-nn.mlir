// lower-graph-to-te on nn ops: a strided, padded convolution is a zero-pad compute (a
// guarded read: a select on the bounds test, the indices clamped), the weights packed
// [c, kh, kw, m], a sum over (channel, taps) of their product, then the bias in an
// elementwise compute; softmax is a max, a sum of shifted exponentials, a divide.
// RUN: %descend opt %s --split-input-file -p lower-graph-to-te | filecheck %s

// CHECK-LABEL: func.func @conv
// CHECK:         %[[Y:.+]] = te.kernel "y"(%x, %w, %b)
// CHECK:           %[[XP:.+]] = te.compute(%[[X:.+]]) : (tensor<1x2x5x5xf32>) -> tensor<1x2x7x7xf32> {
// CHECK:             %[[HC:.+]] = arith.minsi
// CHECK:             %[[WC:.+]] = arith.minsi
// CHECK-NEXT:        %[[V:.+]] = te.read %[[X]][%{{.+}}, %{{.+}}, %[[HC]], %[[WC]]] : tensor<1x2x5x5xf32>
// CHECK-NEXT:        %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        %[[P:.+]] = arith.select %{{.+}}, %[[V]], %[[ZERO]] : f32
// CHECK:           %[[WP:.+]] = te.compute(%[[W:.+]]) : (tensor<3x2x3x3xf32>) -> tensor<2x3x3x3xf32> {
// CHECK-NEXT:      ^bb0(%[[C0:.+]]: index, %[[KH0:.+]]: index, %[[KW0:.+]]: index, %[[M0:.+]]: index):
// CHECK-NEXT:        %{{.+}} = te.read %[[W]][%[[M0]], %[[C0]], %[[KH0]], %[[KW0]]] : tensor<3x2x3x3xf32>
// CHECK:           %[[S:.+]] = te.compute(%[[XP]], %[[WP]]) {combiner = "sum", reduce = array<i64: 2, 3, 3>} : (tensor<1x2x7x7xf32>, tensor<2x3x3x3xf32>) -> tensor<1x3x3x3xf32> {
// CHECK-NEXT:      ^bb0(%[[N:.+]]: index, %[[M:.+]]: index, %[[OH:.+]]: index, %[[OW:.+]]: index, %[[C:.+]]: index, %[[KH:.+]]: index, %[[KW:.+]]: index):
// CHECK-NEXT:        %[[TWO:.+]] = arith.constant 2 : index
// CHECK-NEXT:        %[[A:.+]] = arith.muli %[[OH]], %[[TWO]] : index
// CHECK-NEXT:        %[[H:.+]] = arith.addi %[[A]], %[[KH]] : index
// CHECK:             %[[XV:.+]] = te.read %[[XP]][%[[N]], %[[C]], %[[H]], %{{.+}}] : tensor<1x2x7x7xf32>
// CHECK-NEXT:        %[[K:.+]] = te.read %[[WP]][%[[C]], %[[KH]], %[[KW]], %[[M]]] : tensor<2x3x3x3xf32>
// CHECK-NEXT:        %[[PROD:.+]] = arith.mulf %[[XV]], %[[K]] : f32
// CHECK-NEXT:        te.yield %[[PROD]] : f32
// CHECK:           %[[OUT:.+]] = te.compute(%[[S]], %[[BIAS:.+]]) : (tensor<1x3x3x3xf32>, tensor<3xf32>) -> tensor<1x3x3x3xf32> {
// CHECK-NEXT:      ^bb0(%[[I0:.+]]: index, %[[I1:.+]]: index, %[[I2:.+]]: index, %[[I3:.+]]: index):
// CHECK-NEXT:        %[[SV:.+]] = te.read %[[S]][%[[I0]], %[[I1]], %[[I2]], %[[I3]]]
// CHECK-NEXT:        %[[BV:.+]] = te.read %[[BIAS]][%[[I1]]] : tensor<3xf32>
// CHECK-NEXT:        %[[SUM:.+]] = arith.addf %[[SV]], %[[BV]] : f32
// CHECK-NEXT:        te.yield %[[SUM]] : f32
// CHECK:           te.return %[[OUT]] : tensor<1x3x3x3xf32>
func.func @conv(%x: tensor<1x2x5x5xf32>, %w: tensor<3x2x3x3xf32>, %b: tensor<3xf32>) -> tensor<1x3x3x3xf32> {
  %y = graph.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<1x3x3x3xf32>
  func.return %y : tensor<1x3x3x3xf32>
}

// -----

// CHECK-LABEL: func.func @softmax
// CHECK:         %y.max = te.compute(%[[X:.+]]) {combiner = "max", reduce = array<i64: 8>} : (tensor<2x8xf32>) -> tensor<2x1xf32> {
// CHECK:         %y.sum = te.compute(%[[X]], %y.max) {combiner = "sum", reduce = array<i64: 8>} : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x1xf32> {
// CHECK:           %[[D:.+]] = arith.subf
// CHECK-NEXT:      %[[E:.+]] = math.exp %[[D]] : f32
// CHECK-NEXT:      te.yield %[[E]] : f32
// CHECK:         %y = te.compute(%[[X]], %y.max, %y.sum) : (tensor<2x8xf32>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x8xf32> {
// CHECK:           %[[Q:.+]] = arith.divf
// CHECK-NEXT:      te.yield %[[Q]] : f32
// CHECK:         te.return %y : tensor<2x8xf32>
func.func @softmax(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %y = graph.softmax %x {axis = 1} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %y : tensor<2x8xf32>
}
