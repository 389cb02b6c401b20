// simplify-inference: identity/dropout vanish, batch_norm and per-channel mul/sub fold into
// the conv's weights and bias, reshape and transpose pairs merge.
// RUN: %descend opt %s -p simplify-inference | filecheck %s
// RUN: %descend opt %s -p simplify-inference | %descend opt -p simplify-inference | filecheck %s
// RUN: %descend opt %s -p simplify-inference --pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// CHECK-LABEL: func.func @conv_bn
// CHECK-NEXT:    %[[B:.+]] = graph.constant dense<[-7.996{{.*}}, -3.149{{.*}}, 7.193{{.*}}]> : tensor<3xf32>
// CHECK-NEXT:    %[[W:.+]] = graph.constant dense<{{.+}}> : tensor<3x2x1x3xf32>
// CHECK-NEXT:    %[[C:.+]] = graph.conv %x, %[[W]], %[[B]] {pads = array<i64: 0, 1, 0, 1>}
// CHECK-NEXT:    %[[R:.+]] = graph.relu %[[C]]
// CHECK-NEXT:    return %[[R]]
func.func @conv_bn(%x: tensor<1x2x5x5xf32>) -> tensor<1x3x5x5xf32> {
  %w = graph.constant dense<0.5> : tensor<3x2x1x3xf32>
  %b = graph.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %scale = graph.constant dense<[1.0, 2.0, 0.5]> : tensor<3xf32>
  %shift = graph.constant dense<[0.0, -1.0, 1.0]> : tensor<3xf32>
  %mean = graph.constant dense<[0.5, 0.25, -0.5]> : tensor<3xf32>
  %var = graph.constant dense<[1.0, 4.0, 0.25]> : tensor<3xf32>
  %k = graph.constant dense<[[[2.0]], [[3.0]], [[4.0]]]> : tensor<3x1x1xf32>
  %i = graph.identity %x : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %0 = "graph.conv"(%i, %w, %b) <{pads = array<i64: 0, 1, 0, 1>}> : (tensor<1x2x5x5xf32>, tensor<3x2x1x3xf32>, tensor<3xf32>) -> tensor<1x3x5x5xf32>
  %1 = "graph.batch_norm"(%0, %scale, %shift, %mean, %var) <{epsilon = 1.0e-3 : f32}> : (tensor<1x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x5x5xf32>
  %2 = graph.mul %1, %k : (tensor<1x3x5x5xf32>, tensor<3x1x1xf32>) -> tensor<1x3x5x5xf32>
  %3 = graph.dropout %2 : (tensor<1x3x5x5xf32>) -> tensor<1x3x5x5xf32>
  %4 = graph.relu %3 : (tensor<1x3x5x5xf32>) -> tensor<1x3x5x5xf32>
  func.return %4 : tensor<1x3x5x5xf32>
}

// The conv result has a second use: the batch_norm stays.
// CHECK-LABEL: func.func @shared
// CHECK:         graph.conv
// CHECK-NEXT:    graph.batch_norm
func.func @shared(%x: tensor<1x1x2x2xf32>) -> (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) {
  %w = graph.constant dense<2.0> : tensor<1x1x1x1xf32>
  %p = graph.constant dense<1.0> : tensor<1xf32>
  %0 = graph.conv %x, %w : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x2xf32>
  %1 = graph.batch_norm %0, %p, %p, %p, %p : (tensor<1x1x2x2xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x2x2xf32>
  func.return %0, %1 : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>
}

// CHECK-LABEL: func.func @data_movement
// CHECK-NEXT:    %[[T:.+]] = graph.transpose %x {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
// CHECK-NEXT:    %[[R:.+]] = graph.reshape %x {shape = array<i64: 24>} : (tensor<2x3x4xf32>) -> tensor<24xf32>
// CHECK-NEXT:    return %x, %[[T]], %[[R]]
func.func @data_movement(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<3x4x2xf32>, tensor<24xf32>) {
  %0 = "graph.transpose"(%x) <{perm = array<i64: 1, 2, 0>}> : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  %1 = "graph.transpose"(%0) <{perm = array<i64: 2, 0, 1>}> : (tensor<3x4x2xf32>) -> tensor<2x3x4xf32>
  %2 = "graph.transpose"(%x) : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  %3 = "graph.transpose"(%2) <{perm = array<i64: 1, 0, 2>}> : (tensor<4x3x2xf32>) -> tensor<3x4x2xf32>
  %4 = "graph.reshape"(%x) <{shape = array<i64: 6, 4>}> : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %5 = "graph.reshape"(%4) <{shape = array<i64: 24>}> : (tensor<6x4xf32>) -> tensor<24xf32>
  func.return %1, %3, %5 : tensor<2x3x4xf32>, tensor<3x4x2xf32>, tensor<24xf32>
}

// STATS:      SimplifyInference
// STATS-NEXT:   (S) 1 identity-elim
// STATS-NEXT:   (S) 1 dropout-elim
// STATS-NEXT:   (S) 1 fold-batch-norm
// STATS-NEXT:   (S) 1 fold-mul-into-weights
// STATS-NEXT:   (S) 0 fold-div-into-weights
// STATS-NEXT:   (S) 0 fold-add-into-weights
// STATS-NEXT:   (S) 0 fold-sub-into-weights
// STATS-NEXT:   (S) 1 merge-reshapes
// STATS-NEXT:   (S) 2 merge-transposes
