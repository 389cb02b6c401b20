// Input for the pass plugin of examples/my_pass.py (see docs/writing-a-pass.md):
//   descend opt --load-pass-plugin examples/my_pass.py \
//       -p 'builtin.module(func.func(mul-to-shift{max-shift=8},canonicalize,cse))' examples/my_pass.mlir
func.func @scale(%x: i32, %y: i32) -> i32 {
  %c8 = arith.constant 8 : i32
  %c3 = arith.constant 3 : i32
  %c1024 = arith.constant 1024 : i32
  %0 = arith.muli %x, %c8 {debug_note = "hot loop"} : i32
  %1 = arith.muli %c8, %y : i32
  %2 = arith.muli %0, %c3 : i32
  %3 = arith.muli %2, %c1024 : i32
  %4 = arith.addi %1, %3 : i32
  return %4 : i32
}
