// fuse-ops groups graph ops into graph.fused kernels by their fusion kind.
// RUN: %descend opt %s -p fuse-ops | filecheck %s
// RUN: %descend opt %s -p fuse-ops | %descend opt -p fuse-ops | filecheck %s
// RUN: %descend opt %s -p fuse-ops --debug-only=fuse-ops 2>&1 >/dev/null | filecheck %s --check-prefix=DEBUG
// RUN: %descend opt %s -p fuse-ops --pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// A conv absorbs its bias-add/residual/relu epilogue; the relu feeding it stays outside;
// the weights are operands, the splat 0.5 is cloned into the body.
// CHECK-LABEL: func.func @conv_epilogue
// CHECK:         %[[P:.+]] = graph.relu %x
// CHECK-NEXT:    %[[F:.+]] = graph.fused(%[[P]], %w, %r) {pattern = "out_fusable"} : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
// CHECK-NEXT:    ^bb0(%[[A0:.+]]: tensor<1x2x4x4xf32>, %[[A1:.+]]: tensor<3x2x1x1xf32>, %[[A2:.+]]: tensor<1x3x4x4xf32>):
// CHECK-NEXT:      %[[H:.+]] = graph.constant dense<5.000000e-01> : tensor<1x3x4x4xf32>
// CHECK-NEXT:      %[[C:.+]] = graph.conv %[[A0]], %[[A1]]
// CHECK-NEXT:      %[[S:.+]] = graph.mul %[[C]], %[[H]]
// CHECK-NEXT:      %[[Q:.+]] = graph.add %[[S]], %[[A2]]
// CHECK-NEXT:      %[[Y:.+]] = graph.relu %[[Q]]
// CHECK-NEXT:      graph.yield %[[Y]]
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[F]]
func.func @conv_epilogue(%x: tensor<1x2x4x4xf32>, %r: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = graph.constant dense<[[[[0.5]], [[1.0]]], [[[-1.0]], [[2.0]]], [[[0.25]], [[0.75]]]]> : tensor<3x2x1x1xf32>
  %h = graph.constant dense<0.5> : tensor<1x3x4x4xf32>
  %p = graph.relu %x : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %0 = graph.conv %p, %w : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x4x4xf32>
  %1 = graph.mul %0, %h : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %2 = graph.add %1, %r : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %3 = graph.relu %2 : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  func.return %3 : tensor<1x3x4x4xf32>
}

// A value also returned ends its group; a reduction takes its transpose and relu.
// CHECK-LABEL: func.func @reduction
// CHECK:         graph.fused(%x) {pattern = "reduction"}
// CHECK:           graph.transpose
// CHECK-NEXT:      graph.reduce_sum
// CHECK-NEXT:      graph.relu
// CHECK:         graph.fused({{.*}}) {pattern = "elemwise"}
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      graph.relu
// CHECK-NEXT:      graph.relu
func.func @reduction(%x: tensor<2x3xf32>) -> (tensor<3x1xf32>, tensor<3x1xf32>) {
  %0 = "graph.transpose"(%x) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %1 = "graph.reduce_sum"(%0) <{axes = array<i64: 1>}> : (tensor<3x2xf32>) -> tensor<3x1xf32>
  %2 = graph.relu %1 : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %3 = graph.relu %2 : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %4 = graph.relu %3 : (tensor<3x1xf32>) -> tensor<3x1xf32>
  func.return %2, %4 : tensor<3x1xf32>, tensor<3x1xf32>
}

// DEBUG:      [fuse-ops] group 0 (out_fusable, 4 ops) at loc("{{.*}}fuse-ops.mlir":{{[0-9]+}}:8): graph.conv, graph.mul, graph.add, graph.relu
// DEBUG-NEXT: [fuse-ops] group 1 (reduction, 3 ops) at loc("{{.*}}fuse-ops.mlir":{{[0-9]+}}:8): graph.transpose, graph.reduce_sum, graph.relu
// DEBUG-NEXT: [fuse-ops] group 2 (elemwise, 2 ops) at loc("{{.*}}fuse-ops.mlir":{{[0-9]+}}:8): graph.relu, graph.relu

// STATS:      FuseOps
// STATS-NEXT:   (S) 3 num-groups
// STATS-NEXT:   (S) 9 num-fused-ops
// STATS-NEXT:   (S) 1 num-unfused-ops
// STATS-NEXT:   (S) 1 num-cloned-constants
// STATS-NEXT:   (S) 4 largest-group
