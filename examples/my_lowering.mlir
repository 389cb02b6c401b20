func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = mine.hardtanh %x {high = 0.5 : f32} : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
