// lower-graph-to-te on elementwise ops: an f16 activation computes in f32 and rounds once
// (the graph reference's `widened`); an unsigned comparison picks cmpi ult on signless
// integers, the smaller operand read under broadcasting.
// RUN: %descend opt %s -p lower-graph-to-te | filecheck %s

// CHECK-LABEL: func.func @sigmoid_f16
// CHECK:         %[[Y:.+]] = te.kernel "y"(%x) : (tensor<4x8xf16>) -> tensor<4x8xf16> {
// CHECK:           te.compute(%arg0) : (tensor<4x8xf16>) -> tensor<4x8xf16> {
// CHECK-NEXT:      ^bb0(%[[I:.+]]: index, %[[J:.+]]: index):
// CHECK-NEXT:        %[[X:.+]] = te.read %arg0[%[[I]], %[[J]]] : tensor<4x8xf16>
// CHECK-NEXT:        %[[W:.+]] = arith.extf %[[X]] : f16 to f32
// CHECK-NEXT:        %[[A:.+]] = math.absf %[[W]] : f32
// CHECK-NEXT:        %[[N:.+]] = arith.negf %[[A]] : f32
// CHECK-NEXT:        %[[E:.+]] = math.exp %[[N]] : f32
// CHECK-NEXT:        %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:        %[[D:.+]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK-NEXT:        %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        %[[POS:.+]] = arith.cmpf oge, %[[W]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[P:.+]] = arith.divf %[[ONE]], %[[D]] : f32
// CHECK-NEXT:        %[[Q:.+]] = arith.divf %[[E]], %[[D]] : f32
// CHECK-NEXT:        %[[S:.+]] = arith.select %[[POS]], %[[P]], %[[Q]] : f32
// CHECK-NEXT:        %[[R:.+]] = arith.truncf %[[S]] : f32 to f16
// CHECK-NEXT:        te.yield %[[R]] : f16
// CHECK:         return %[[Y]] : tensor<4x8xf16>
func.func @sigmoid_f16(%x: tensor<4x8xf16>) -> tensor<4x8xf16> {
  %y = graph.sigmoid %x : (tensor<4x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// CHECK-LABEL: func.func @less_unsigned(%a: tensor<4x8xi8>, %b: tensor<8xi8>) -> tensor<4x8xi1>
// CHECK:           te.compute(%arg0, %arg1) : (tensor<4x8xi8>, tensor<8xi8>) -> tensor<4x8xi1> {
// CHECK-NEXT:      ^bb0(%[[I:.+]]: index, %[[J:.+]]: index):
// CHECK-NEXT:        %[[A:.+]] = te.read %arg0[%[[I]], %[[J]]] : tensor<4x8xi8>
// CHECK-NEXT:        %[[B:.+]] = te.read %arg1[%[[J]]] : tensor<8xi8>
// CHECK-NEXT:        %[[L:.+]] = arith.cmpi ult, %[[A]], %[[B]] : i8
// CHECK-NEXT:        te.yield %[[L]] : i1
func.func @less_unsigned(%a: tensor<4x8xui8>, %b: tensor<8xui8>) -> tensor<4x8xi1> {
  %y = graph.less %a, %b : (tensor<4x8xui8>, tensor<8xui8>) -> tensor<4x8xi1>
  func.return %y : tensor<4x8xi1>
}
