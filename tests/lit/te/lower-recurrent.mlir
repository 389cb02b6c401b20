// lower-graph-to-te on an RNN, unrolled over its two time steps: one projection of x on W
// for every step, then per step a recurrence (h R^T, a sum over the hidden axis) and the
// new state, tanh(((xW + Wb) + hR) + Rb) while the step is inside the sequence length, else
// the previous state (a one-element product, so it stays materialised); Y gathers the steps.
// RUN: %descend opt %s -p lower-graph-to-te | filecheck %s

// CHECK-LABEL: func.func @rnn
// CHECK:         %y:2 = te.kernel "y"(%x, %w, %r, %b, %lens, %h0)
// CHECK:           %y.xw = te.compute(%[[X:.+]], %[[W:.+]], %[[L:.+]]) {combiner = "sum", reduce = array<i64: 3>} : (tensor<2x1x3xf32>, tensor<1x4x3xf32>, tensor<1xi32>) -> tensor<2x1x1x4xf32> {
// CHECK:             %[[XV:.+]] = te.read %[[X]][%{{.+}}, %{{.+}}, %[[K:.+]]] : tensor<2x1x3xf32>
// CHECK-NEXT:        %[[WV:.+]] = te.read %[[W]][%{{.+}}, %{{.+}}, %[[K]]] : tensor<1x4x3xf32>
// CHECK-NEXT:        %[[P:.+]] = arith.mulf %[[XV]], %[[WV]] : f32
// CHECK-NEXT:        te.yield %[[P]] : f32
// CHECK:           %y.hr0 = te.compute(%[[H0:.+]], %[[R:.+]]) {combiner = "sum", reduce = array<i64: 4>} : (tensor<1x1x4xf32>, tensor<1x4x4xf32>) -> tensor<1x1x4xf32> {
// CHECK:           %y.h0 = te.compute(%y.xw, %[[B:.+]], %[[L]], %y.hr0, %[[H0]]) {combiner = "prod", reduce = array<i64: 1>}
// CHECK:             %[[HR:.+]] = te.read %y.hr0
// CHECK:             %[[XW:.+]] = te.read %y.xw[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : tensor<2x1x1x4xf32>
// CHECK-NEXT:        %[[WB:.+]] = te.read %[[B]]
// CHECK-NEXT:        %[[GX:.+]] = arith.addf %[[XW]], %[[WB]] : f32
// CHECK:             %[[RB:.+]] = te.read %[[B]]
// CHECK-NEXT:        %[[S1:.+]] = arith.addf %[[GX]], %[[HR]] : f32
// CHECK-NEXT:        %[[S2:.+]] = arith.addf %[[S1]], %[[RB]] : f32
// CHECK-NEXT:        %[[T:.+]] = math.tanh %[[S2]] : f32
// CHECK-NEXT:        %[[PREV:.+]] = te.read %[[H0]]
// CHECK:             %[[ACTIVE:.+]] = arith.cmpi slt, %{{.+}}, %{{.+}} : index
// CHECK-NEXT:        %[[NEW:.+]] = arith.select %[[ACTIVE]], %[[T]], %[[PREV]] : f32
// CHECK-NEXT:        te.yield %[[NEW]] : f32
// CHECK:           %y.hr1 = te.compute(%y.h0, %[[R]])
// CHECK:           %y.h1 = te.compute(%y.xw, %[[B]], %[[L]], %y.hr1, %y.h0)
// CHECK:           %[[Y:.+]] = te.compute(%[[L]], %y.h0, %y.h1) : (tensor<1xi32>, tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<2x1x1x4xf32>
// CHECK:           %[[YH:.+]] = te.compute(%y.h1) : (tensor<1x1x4xf32>) -> tensor<1x1x4xf32>
// CHECK:           te.return %[[Y]], %[[YH]] : tensor<2x1x1x4xf32>, tensor<1x1x4xf32>
func.func @rnn(%x: tensor<2x1x3xf32>, %w: tensor<1x4x3xf32>, %r: tensor<1x4x4xf32>, %b: tensor<1x8xf32>, %lens: tensor<1xi32>, %h0: tensor<1x1x4xf32>) -> (tensor<2x1x1x4xf32>, tensor<1x1x4xf32>) {
  %y, %y_h = graph.rnn %x, %w, %r, %b, %lens, %h0 : (tensor<2x1x3xf32>, tensor<1x4x3xf32>, tensor<1x4x4xf32>, tensor<1x8xf32>, tensor<1xi32>, tensor<1x1x4xf32>) -> (tensor<2x1x1x4xf32>, tensor<1x1x4xf32>)
  func.return %y, %y_h : tensor<2x1x1x4xf32>, tensor<1x1x4xf32>
}
