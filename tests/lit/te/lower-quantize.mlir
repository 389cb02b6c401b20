// lower-graph-to-te on the quantize and loss families: a blocked quantize reads its scale
// and zero point at i // block_size (computed once for both), divides in x's precision,
// rounds half to even, adds the zero point in f64 and saturates (NaN gives 0); an integer
// conv reads padding as the x zero point, so a padded tap adds 0; an nll_loss is a compute
// per position (ignored targets give 0, others clamp to a class) and sums of the losses
// and of the weights that "mean" divides.
// RUN: %descend opt %s --split-input-file -p 'lower-graph-to-te' | filecheck %s

// CHECK-LABEL: func.func @quantize_blocked
// CHECK:         te.compute(%arg0, %arg1, %arg2) : (tensor<2x6xf16>, tensor<2x2xf16>, tensor<2x2xi8>) -> tensor<2x6xi8> {
// CHECK-NEXT:    ^bb0(%[[I0:.+]]: index, %[[I1:.+]]: index):
// CHECK-NEXT:      %[[FOUR:.+]] = arith.constant 4 : index
// CHECK-NEXT:      %[[BLOCK:.+]] = arith.floordivsi %[[I1]], %[[FOUR]] : index
// CHECK-NEXT:      %[[S:.+]] = te.read %arg1[%[[I0]], %[[BLOCK]]] : tensor<2x2xf16>
// CHECK-NEXT:      %[[Z:.+]] = te.read %arg2[%[[I0]], %[[BLOCK]]] : tensor<2x2xi8>
// CHECK-NEXT:      %[[X:.+]] = te.read %arg0[%[[I0]], %[[I1]]] : tensor<2x6xf16>
// CHECK-NEXT:      %[[D:.+]] = arith.divf %[[X]], %[[S]] : f16
// CHECK-NEXT:      %[[R:.+]] = math.roundeven %[[D]] : f16
// CHECK-NEXT:      %[[W:.+]] = arith.extf %[[R]] : f16 to f64
// CHECK-NEXT:      %[[ZW:.+]] = arith.sitofp %[[Z]] : i8 to f64
// CHECK-NEXT:      %[[Q:.+]] = arith.addf %[[W]], %[[ZW]] : f64
// CHECK-NEXT:      %[[LOW:.+]] = arith.constant -1.280000e+02 : f64
// CHECK-NEXT:      %[[A:.+]] = arith.maximumf %[[Q]], %[[LOW]] : f64
// CHECK-NEXT:      %[[HIGH:.+]] = arith.constant 1.270000e+02 : f64
// CHECK-NEXT:      %[[B:.+]] = arith.minimumf %[[A]], %[[HIGH]] : f64
// CHECK-NEXT:      %[[NAN:.+]] = arith.cmpf une, %[[B]], %[[B]] : f64
// CHECK-NEXT:      %[[ZERO:.+]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:      %[[C:.+]] = arith.select %[[NAN]], %[[ZERO]], %[[B]] : f64
// CHECK-NEXT:      %[[Y:.+]] = arith.fptosi %[[C]] : f64 to i8
// CHECK-NEXT:      te.yield %[[Y]] : i8
func.func @quantize_blocked(%x: tensor<2x6xf16>, %scale: tensor<2x2xf16>, %zero: tensor<2x2xi8>) -> tensor<2x6xi8> {
  %0 = graph.quantize_linear %x, %scale, %zero {axis = 1, block_size = 4, to = i8} : (tensor<2x6xf16>, tensor<2x2xf16>, tensor<2x2xi8>) -> tensor<2x6xi8>
  func.return %0 : tensor<2x6xi8>
}

// -----

// CHECK-LABEL: func.func @conv_integer
// CHECK:         te.compute(%arg0, %arg1, %arg2, %arg3) {combiner = "sum", reduce = array<i64: 2, 3>} : (tensor<1x2x4xi8>, tensor<3x2x3xi8>, tensor<i8>, tensor<3xi8>) -> tensor<1x3x4xi32> {
// CHECK:           %[[XZ:.+]] = te.read %arg2[] : tensor<i8>
// CHECK:           %[[X:.+]] = te.read %arg0[%{{.+}}, %{{.+}}, %{{.+}}] : tensor<1x2x4xi8>
// CHECK-NEXT:      %[[PADDED:.+]] = arith.select %{{.+}}, %[[X]], %[[XZ]] : i8
// CHECK-NEXT:      %[[XW:.+]] = arith.extui %[[PADDED]] : i8 to i32
// CHECK-NEXT:      %[[XZW:.+]] = arith.extui %[[XZ]] : i8 to i32
// CHECK-NEXT:      %[[XS:.+]] = arith.subi %[[XW]], %[[XZW]] : i32
// CHECK-NEXT:      %[[WZ:.+]] = te.read %arg3[%{{.+}}] : tensor<3xi8>
// CHECK:           %[[P:.+]] = arith.muli %[[XS]], %{{.+}} : i32
// CHECK-NEXT:      te.yield %[[P]] : i32
func.func @conv_integer(%x: tensor<1x2x4xui8>, %w: tensor<3x2x3xui8>, %xz: tensor<ui8>, %wz: tensor<3xui8>) -> tensor<1x3x4xi32> {
  %0 = graph.conv_integer %x, %w, %xz, %wz {pads = array<i64: 1, 1>} : (tensor<1x2x4xui8>, tensor<3x2x3xui8>, tensor<ui8>, tensor<3xui8>) -> tensor<1x3x4xi32>
  func.return %0 : tensor<1x3x4xi32>
}

// -----

// CHECK-LABEL: func.func @nll_loss
// CHECK:         %[[LOSS:.+]] = te.compute(%arg0, %arg1, %arg2) : (tensor<3x4xf32>, tensor<3xi64>, tensor<4xf32>) -> tensor<3xf32> {
// CHECK-NEXT:    ^bb0(%[[I:.+]]: index):
// CHECK-NEXT:      %[[T:.+]] = te.read %arg1[%[[I]]] : tensor<3xi64>
// CHECK-NEXT:      %[[II:.+]] = arith.constant 2 : i64
// CHECK-NEXT:      %[[IGNORED:.+]] = arith.cmpi eq, %[[T]], %[[II]] : i64
// CHECK:           %[[C:.+]] = arith.index_cast %{{.+}} : i64 to index
// CHECK-NEXT:      %[[X:.+]] = te.read %arg0[%[[I]], %[[C]]] : tensor<3x4xf32>
// CHECK-NEXT:      %[[NEG:.+]] = arith.negf %[[X]] : f32
// CHECK-NEXT:      %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[L:.+]] = arith.select %[[IGNORED]], %[[ZERO]], %[[NEG]] : f32
// CHECK-NEXT:      %[[W:.+]] = te.read %arg2[%[[C]]] : tensor<4xf32>
// CHECK-NEXT:      %[[WI:.+]] = arith.select %[[IGNORED]], %[[ZERO]], %[[W]] : f32
// CHECK-NEXT:      %[[WL:.+]] = arith.mulf %[[WI]], %[[L]] : f32
// CHECK-NEXT:      te.yield %[[WL]] : f32
// CHECK:         %[[TOTAL:.+]] = te.compute(%[[LOSS]]) {combiner = "sum", reduce = array<i64: 3>} : (tensor<3xf32>) -> tensor<f32> {
// CHECK:         %[[WEIGHTS:.+]] = te.compute(%arg1, %arg2) : (tensor<3xi64>, tensor<4xf32>) -> tensor<3xf32> {
// CHECK:         %[[WSUM:.+]] = te.compute(%[[WEIGHTS]]) {combiner = "sum", reduce = array<i64: 3>} : (tensor<3xf32>) -> tensor<f32> {
// CHECK:         te.compute(%[[TOTAL]], %[[WSUM]]) : (tensor<f32>, tensor<f32>) -> tensor<f32> {
// CHECK-NEXT:      %[[A:.+]] = te.read %[[TOTAL]][] : tensor<f32>
// CHECK-NEXT:      %[[B:.+]] = te.read %[[WSUM]][] : tensor<f32>
// CHECK-NEXT:      %[[Q:.+]] = arith.divf %[[A]], %[[B]] : f32
// CHECK-NEXT:      te.yield %[[Q]] : f32
func.func @nll_loss(%x: tensor<3x4xf32>, %t: tensor<3xi64>, %w: tensor<4xf32>) -> tensor<f32> {
  %0 = graph.nll_loss %x, %t, %w {ignore_index = 2} : (tensor<3x4xf32>, tensor<3xi64>, tensor<4xf32>) -> tensor<f32>
  func.return %0 : tensor<f32>
}
