// fold-constants evaluates graph ops over constants with their reference semantics.
// RUN: %descend opt %s -p fold-constants | filecheck %s
// RUN: %descend opt %s -p fold-constants | %descend opt -p fold-constants | filecheck %s
// RUN: %descend opt %s -p 'fold-constants{max-elements=5}' | filecheck %s --check-prefix=LIMIT
// RUN: %descend opt %s -p fold-constants --pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// CHECK-LABEL: func.func @chain
// CHECK-NEXT:    %f = graph.constant dense<{{\[\[}}2.000000e+00, 3.000000e+00, 4.000000e+00], [2.000000e+00, 3.000000e+00, 4.000000e+00]]> : tensor<2x3xf32>
// CHECK-NEXT:    %0 = graph.add %x, %f
// CHECK-NEXT:    return %0
// LIMIT-LABEL: func.func @chain
// LIMIT:         graph.add %c, %d
func.func @chain(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %c = graph.constant dense<1.0> : tensor<2x3xf32>
  %d = graph.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %e = graph.add %c, %d : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %f = graph.relu %e : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %0 = graph.add %x, %f : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %0 : tensor<2x3xf32>
}

// Weights transposed at import time fold to transposed constants.
// CHECK-LABEL: func.func @weights
// CHECK-NEXT:    %t = graph.constant dense<{{\[\[}}1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT:    %0 = graph.matmul %x, %t
func.func @weights(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = graph.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %t = "graph.transpose"(%w) : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %0 = graph.matmul %x, %t : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}

// Integer division by zero is undefined: it stays.
// CHECK-LABEL: func.func @undefined
// CHECK:         graph.div
func.func @undefined(%x: tensor<2xi32>) -> tensor<2xi32> {
  %a = graph.constant dense<[4, 5]> : tensor<2xi32>
  %z = graph.constant dense<[1, 0]> : tensor<2xi32>
  %q = graph.div %a, %z : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  %0 = graph.add %x, %q : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  func.return %0 : tensor<2xi32>
}

// STATS:      FoldConstants
// STATS-NEXT:   (S) 3 num-folded - ops replaced by constants
// STATS-NEXT:   (S) 0 num-too-large
// STATS-NEXT:   (S) 4 num-constants-erased
