// nchwc-layout: convolutions run in blocks of 8 channels (NCHW8c); the elementwise ops
// between them follow the layout, and the layout transforms between two blocked
// convolutions cancel, leaving one transform in and one out of the chain.
// RUN: %descend opt %s -p 'func.func(nchwc-layout,cse)' | filecheck %s
// RUN: %descend opt %s -p 'func.func(nchwc-layout,cse)' | %descend opt -p 'func.func(nchwc-layout,cse)' | filecheck %s
// RUN: %descend opt %s -p 'func.func(nchwc-layout)' --pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// CHECK-LABEL: func.func @chain
// CHECK:         %[[X:.+]] = graph.layout_transform %x {dst_layout = "NCHW8c", src_layout = "NCHW"} : (tensor<1x16x6x6xf32>) -> tensor<1x2x6x6x8xf32>
// CHECK-NEXT:    %[[W1:.+]] = graph.layout_transform %w1 {dst_layout = "OIHW8o", src_layout = "OIHW"} : (tensor<16x16x1x1xf32>) -> tensor<2x16x1x1x8xf32>
// CHECK-NEXT:    %[[C1:.+]] = graph.conv_nchwc %[[X]], %[[W1]], %b : (tensor<1x2x6x6x8xf32>, tensor<2x16x1x1x8xf32>, tensor<16xf32>) -> tensor<1x2x6x6x8xf32>
// CHECK-NEXT:    %[[R:.+]] = graph.clip %[[C1]], %lo, %hi : (tensor<1x2x6x6x8xf32>, tensor<f32>, tensor<f32>) -> tensor<1x2x6x6x8xf32>
// CHECK-NEXT:    %[[W2:.+]] = graph.layout_transform %w2 {dst_layout = "OIHW8o", src_layout = "OIHW"}
// CHECK-NEXT:    %[[C2:.+]] = graph.conv_nchwc %[[R]], %[[W2]] {group = 16 : i64, pads = array<i64: 1, 1, 1, 1>}
// CHECK-NEXT:    %[[A:.+]] = graph.add %[[C2]], %[[X]] : (tensor<1x2x6x6x8xf32>, tensor<1x2x6x6x8xf32>) -> tensor<1x2x6x6x8xf32>
// CHECK-NEXT:    %[[Y:.+]] = graph.layout_transform %[[A]] {dst_layout = "NCHW", src_layout = "NCHW8c"} : (tensor<1x2x6x6x8xf32>) -> tensor<1x16x6x6xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @chain(%x: tensor<1x16x6x6xf32>, %w1: tensor<16x16x1x1xf32>, %w2: tensor<16x1x3x3xf32>, %b: tensor<16xf32>) -> tensor<1x16x6x6xf32> {
  %lo = graph.constant dense<0.0> : tensor<f32>
  %hi = graph.constant dense<6.0> : tensor<f32>
  %0 = graph.conv %x, %w1, %b : (tensor<1x16x6x6xf32>, tensor<16x16x1x1xf32>, tensor<16xf32>) -> tensor<1x16x6x6xf32>
  %1 = graph.clip %0, %lo, %hi : (tensor<1x16x6x6xf32>, tensor<f32>, tensor<f32>) -> tensor<1x16x6x6xf32>
  %2 = graph.conv %1, %w2 {group = 16 : i64, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x16x6x6xf32>, tensor<16x1x3x3xf32>) -> tensor<1x16x6x6xf32>
  %3 = graph.add %2, %x : (tensor<1x16x6x6xf32>, tensor<1x16x6x6xf32>) -> tensor<1x16x6x6xf32>
  func.return %3 : tensor<1x16x6x6xf32>
}

// A first layer of 3 channels reads its input as it is (NCHW); the output is blocked.
// CHECK-LABEL: func.func @rgb
// CHECK-NEXT:    %[[W:.+]] = graph.layout_transform %w {dst_layout = "OIHW8o", src_layout = "OIHW"}
// CHECK-NEXT:    %[[C:.+]] = graph.conv_nchwc %x, %[[W]] {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>, tensor<2x3x3x3x8xf32>) -> tensor<1x2x4x4x8xf32>
// CHECK-NEXT:    %[[Y:.+]] = graph.layout_transform %[[C]] {dst_layout = "NCHW", src_layout = "NCHW8c"}
// CHECK-NEXT:    return %[[Y]]
func.func @rgb(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>) -> tensor<1x16x4x4xf32> {
  %0 = graph.conv %x, %w {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x4x4xf32>
  func.return %0 : tensor<1x16x4x4xf32>
}

// Pools between blocked convolutions run blocked: a window pool over (H, W, lanes) with a
// window of 1 along the lanes, a global average pool as a mean over H and W.
// CHECK-LABEL: func.func @pools
// CHECK:         %[[P:.+]] = graph.max_pool %{{.+}} {kernel = array<i64: 3, 3, 1>, pads = array<i64: 1, 1, 0, 1, 1, 0>, strides = array<i64: 2, 2, 1>} : (tensor<1x2x8x8x8xf32>) -> tensor<1x2x4x4x8xf32>
// CHECK:         graph.conv_nchwc %[[P]]
// CHECK:         %[[G:.+]] = graph.reduce_mean %{{.+}} {axes = array<i64: 2, 3>} : (tensor<1x2x4x4x8xf32>) -> tensor<1x2x1x1x8xf32>
// CHECK-NEXT:    %[[Y:.+]] = graph.layout_transform %[[G]] {dst_layout = "NCHW", src_layout = "NCHW8c"} : (tensor<1x2x1x1x8xf32>) -> tensor<1x16x1x1xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @pools(%x: tensor<1x3x8x8xf32>, %w1: tensor<16x3x3x3xf32>, %w2: tensor<16x16x1x1xf32>) -> tensor<1x16x1x1xf32> {
  %0 = graph.conv %x, %w1 {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
  %1 = graph.max_pool %0 {kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x16x8x8xf32>) -> tensor<1x16x4x4xf32>
  %2 = graph.conv %1, %w2 : (tensor<1x16x4x4xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x4x4xf32>
  %3 = graph.global_avg_pool %2 : (tensor<1x16x4x4xf32>) -> tensor<1x16x1x1xf32>
  func.return %3 : tensor<1x16x1x1xf32>
}

// A concatenation along channels joins whole blocks.
// CHECK-LABEL: func.func @concat
// CHECK:         %[[C:.+]] = graph.concat %{{.+}}, %{{.+}} {axis = 1 : i64} : (tensor<1x1x4x4x8xf32>, tensor<1x2x4x4x8xf32>) -> tensor<1x3x4x4x8xf32>
// CHECK-NEXT:    graph.layout_transform %[[C]] {dst_layout = "NCHW", src_layout = "NCHW8c"}
func.func @concat(%x: tensor<1x8x4x4xf32>, %w1: tensor<8x8x1x1xf32>, %w2: tensor<16x8x1x1xf32>) -> tensor<1x24x4x4xf32> {
  %0 = graph.conv %x, %w1 : (tensor<1x8x4x4xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x4x4xf32>
  %1 = graph.conv %x, %w2 : (tensor<1x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x4x4xf32>
  %2 = graph.concat %0, %1 {axis = -3 : i64} : (tensor<1x8x4x4xf32>, tensor<1x16x4x4xf32>) -> tensor<1x24x4x4xf32>
  func.return %2 : tensor<1x24x4x4xf32>
}

// Left alone: output channels that are not whole blocks, a grouped convolution that is not
// depthwise, f64, and 1-D.
// CHECK-LABEL: func.func @unchanged
// CHECK-NOT:     layout_transform
// CHECK-NOT:     conv_nchwc
// CHECK:         return
func.func @unchanged(%x: tensor<1x16x6x6xf32>, %w: tensor<12x16x1x1xf32>, %g: tensor<16x4x1x1xf32>,
                     %xd: tensor<1x16x6x6xf64>, %wd: tensor<16x16x1x1xf64>,
                     %x1: tensor<1x16x6xf32>, %w1: tensor<16x16x1xf32>) -> (tensor<1x12x6x6xf32>, tensor<1x16x6x6xf32>, tensor<1x16x6x6xf64>, tensor<1x16x6xf32>) {
  %0 = graph.conv %x, %w : (tensor<1x16x6x6xf32>, tensor<12x16x1x1xf32>) -> tensor<1x12x6x6xf32>
  %1 = graph.conv %x, %g {group = 4 : i64} : (tensor<1x16x6x6xf32>, tensor<16x4x1x1xf32>) -> tensor<1x16x6x6xf32>
  %2 = graph.conv %xd, %wd : (tensor<1x16x6x6xf64>, tensor<16x16x1x1xf64>) -> tensor<1x16x6x6xf64>
  %3 = graph.conv %x1, %w1 : (tensor<1x16x6xf32>, tensor<16x16x1xf32>) -> tensor<1x16x6xf32>
  func.return %0, %1, %2, %3 : tensor<1x12x6x6xf32>, tensor<1x16x6x6xf32>, tensor<1x16x6x6xf64>, tensor<1x16x6xf32>
}

// STATS: 7 conv-to-nchwc
// STATS: 2 sink-layout-transform
// STATS: 2 sink-layout-transform-through-pool
// STATS: 1 sink-layout-transform-through-concat
// STATS: 2 merge-layout-transforms
