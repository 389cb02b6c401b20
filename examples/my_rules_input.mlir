// Input for examples/my.rules (docs/writing-rules.md).
func.func @scale(%x: i32, %y: i32) -> (i32, i32, i32) {
  %c8 = arith.constant 8 : i32
  %c3 = arith.constant 3 : i32
  %0 = arith.muli %x, %c8 : i32
  %1 = arith.minsi %x, %y : i32
  %2 = arith.maxsi %x, %1 : i32
  %3 = arith.muli %y, %c3 overflow<nsw> : i32
  %4 = arith.divsi %3, %c3 : i32
  return %0, %2, %4 : i32, i32, i32
}
