// A residual block in scalar form: y = relu(x * w + b) + x.
// `make demo` prints it twice: the custom form below, then the generic form
// (`descend opt --print-op-generic examples/residual.mlir`) that every op has.

// relu on integers: negative values become zero (a compare and a select).
func.func @relu(%x: i32) -> i32 {
  %zero = arith.constant 0 : i32
  %negative = arith.cmpi slt, %x, %zero : i32
  %y = arith.select %negative, %zero, %x : i32
  return %y : i32
}

func.func @residual(%x: i32, %w: i32, %b: i32) -> i32 {
  %scaled = arith.muli %x, %w : i32
  %biased = arith.addi %scaled, %b : i32
  %activated = func.call @relu(%biased) : (i32) -> i32
  %y = arith.addi %activated, %x : i32
  return %y : i32
}

// The same block in f32, with a constant scale folded in: y = relu(2.5 * x + b) + x.
func.func @residual_f32(%x: f32, %b: f32) -> f32 {
  %scale = arith.constant 2.5 : f32
  %zero = arith.constant 0.0 : f32
  %scaled = arith.mulf %x, %scale : f32
  %biased = arith.addf %scaled, %b : f32
  %positive = arith.cmpf ogt, %biased, %zero : f32
  %activated = arith.select %positive, %biased, %zero : f32
  %y = arith.addf %activated, %x : f32
  return %y : f32
}
