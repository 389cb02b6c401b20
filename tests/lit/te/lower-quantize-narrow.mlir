// te holds no 2- or 4-bit integers and no 8- or 4-bit floats as results: the quantize
// builder declines such an instance, and the conversion reports the op as not legalized
// with the builder's reason (reading narrow elements, as dequantize does, is lowered).
// RUN: not %descend opt %s -p 'lower-graph-to-te' 2>&1 | filecheck %s

// CHECK: error: failed to legalize operation 'graph.quantize_linear'
// CHECK: note: pattern 'graph.quantize_linear-to-te' failed: 'graph.quantize_linear' op a result of i4 cannot be lowered to te
func.func @quantize_to_int4(%x: tensor<4xf32>, %scale: tensor<f32>) -> tensor<4xi4> {
  %0 = graph.quantize_linear %x, %scale {to = i4} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi4>
  func.return %0 : tensor<4xi4>
}
