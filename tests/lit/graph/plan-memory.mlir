// plan-memory: liveness, in-place reuse and greedy-by-size offsets in one arena.
// RUN: %descend opt %s -p plan-memory | filecheck %s
// RUN: %descend opt %s -p plan-memory | %descend opt -p plan-memory | filecheck %s
// RUN: %descend opt %s -p 'plan-memory{inplace=false}' | filecheck %s --check-prefix=NOINPLACE
// RUN: %descend opt %s -p plan-memory --pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// CHECK-LABEL: func.func @chain
// CHECK-SAME:    attributes {graph.arena_bytes = 512 : i64, graph.unplanned_bytes = 1536 : i64}
// CHECK-NEXT:    graph.constant
// CHECK-NEXT:    %0 = graph.add %x, %c {graph.offset = 0 : i64}
// CHECK-NEXT:    %1 = graph.relu %0 {graph.inplace = 0 : i64, graph.offset = 0 : i64}
// CHECK-NEXT:    %2 = graph.add %1, %y {graph.inplace = 0 : i64, graph.offset = 0 : i64}
// CHECK-NEXT:    %3 = graph.relu %y {graph.offset = 256 : i64}
// CHECK-NEXT:    %4 = graph.add %2, %3 {graph.inplace = 0 : i64, graph.offset = 0 : i64}
// CHECK-NEXT:    %5 = graph.relu %4 {graph.offset = 256 : i64}
// CHECK-NEXT:    %6 = graph.add %5, %4 :
// CHECK-NEXT:    return %6
// NOINPLACE-LABEL: func.func @chain
// NOINPLACE-SAME:    attributes {graph.arena_bytes = 768 : i64, graph.unplanned_bytes = 1536 : i64}
func.func @chain(%x: tensor<4x16xf32>, %y: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %c = graph.constant dense<1.0> : tensor<4x16xf32>
  %0 = graph.add %x, %c : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = graph.relu %0 : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %2 = graph.add %1, %y : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = graph.relu %y : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %4 = graph.add %2, %3 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %5 = graph.relu %4 : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %6 = graph.add %5, %4 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  func.return %6 : tensor<4x16xf32>
}

// Sizes differ: the large buffers go first, the small ones share one slot after them
// (their lifetimes do not meet); a value broadcast to a larger type is not written in place.
// CHECK-LABEL: func.func @sizes
// CHECK-SAME:    attributes {graph.arena_bytes = 1088 : i64, graph.unplanned_bytes = 2176 : i64}
// CHECK-NEXT:    %0 = graph.relu %x {graph.offset = 1024 : i64}
// CHECK-NEXT:    %1 = graph.add %0, %y {graph.offset = 0 : i64}
// CHECK-NEXT:    %2 = graph.relu %1 {graph.inplace = 0 : i64, graph.offset = 0 : i64}
// CHECK-NEXT:    %3 = graph.reduce_sum %2 {axes = array<i64: 1>, graph.offset = 1024 : i64}
// CHECK-NEXT:    %4 = graph.relu %3 :
func.func @sizes(%x: tensor<16xf32>, %y: tensor<16x16xf32>) -> tensor<16x1xf32> {
  %0 = graph.relu %x : (tensor<16xf32>) -> tensor<16xf32>
  %1 = graph.add %0, %y : (tensor<16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %2 = graph.relu %1 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %3 = "graph.reduce_sum"(%2) <{axes = array<i64: 1>}> : (tensor<16x16xf32>) -> tensor<16x1xf32>
  %4 = graph.relu %3 : (tensor<16x1xf32>) -> tensor<16x1xf32>
  func.return %4 : tensor<16x1xf32>
}

// STATS:      PlanMemory
// STATS-NEXT:   (S) 1600 arena-bytes
// STATS-NEXT:   (S) 3712 no-reuse-bytes
// STATS-NEXT:   (S) 1600 peak-live-bytes
// STATS-NEXT:   (S)   10 num-values
// STATS-NEXT:   (S)    6 num-buffers
// STATS-NEXT:   (S)    4 num-inplace
