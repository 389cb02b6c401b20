// lower-graph-to-te on data movement: concat selects over the axis ranges, each read
// clamped only on the side its index can leave; reshape regroups only the axes whose
// sizes change and passes the others straight through.
// RUN: %descend opt %s -p lower-graph-to-te | filecheck %s

// CHECK-LABEL: func.func @concat
// CHECK:           te.compute(%arg0, %arg1) : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32> {
// CHECK-NEXT:      ^bb0(%[[I:.+]]: index, %[[J:.+]]: index):
// CHECK-NEXT:        %[[M3:.+]] = arith.constant -3 : index
// CHECK-NEXT:        %[[JB:.+]] = arith.addi %[[J]], %[[M3]] : index
// CHECK-NEXT:        %[[C0:.+]] = arith.constant 0 : index
// CHECK-NEXT:        %[[JB0:.+]] = arith.maxsi %[[JB]], %[[C0]] : index
// CHECK-NEXT:        %[[B:.+]] = te.read %arg1[%[[I]], %[[JB0]]] : tensor<2x5xf32>
// CHECK-NEXT:        %[[C3:.+]] = arith.constant 3 : index
// CHECK-NEXT:        %[[IN_A:.+]] = arith.cmpi slt, %[[J]], %[[C3]] : index
// CHECK-NEXT:        %[[C2:.+]] = arith.constant 2 : index
// CHECK-NEXT:        %[[JA:.+]] = arith.minsi %[[J]], %[[C2]] : index
// CHECK-NEXT:        %[[A:.+]] = te.read %arg0[%[[I]], %[[JA]]] : tensor<2x3xf32>
// CHECK-NEXT:        %[[V:.+]] = arith.select %[[IN_A]], %[[A]], %[[B]] : f32
// CHECK-NEXT:        te.yield %[[V]] : f32
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) -> tensor<2x8xf32> {
  %y = graph.concat %a, %b {axis = 1} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  func.return %y : tensor<2x8xf32>
}

// CHECK-LABEL: func.func @reshape
// CHECK:           te.compute(%arg0) : (tensor<2x3x4x5xf32>) -> tensor<2x3x20xf32> {
// CHECK-NEXT:      ^bb0(%[[N:.+]]: index, %[[C:.+]]: index, %[[HW:.+]]: index):
// CHECK-NEXT:        %[[C5:.+]] = arith.constant 5 : index
// CHECK-NEXT:        %[[W:.+]] = arith.remsi %[[HW]], %[[C5]] : index
// CHECK-NEXT:        %[[H:.+]] = arith.floordivsi %[[HW]], %[[C5]] : index
// CHECK-NEXT:        %[[X:.+]] = te.read %arg0[%[[N]], %[[C]], %[[H]], %[[W]]] : tensor<2x3x4x5xf32>
// CHECK-NEXT:        te.yield %[[X]] : f32
func.func @reshape(%x: tensor<2x3x4x5xf32>) -> tensor<2x3x20xf32> {
  %y = graph.reshape %x {shape = array<i64: 2, 3, 20>} : (tensor<2x3x4x5xf32>) -> tensor<2x3x20xf32>
  func.return %y : tensor<2x3x20xf32>
}
