func.func @f(%a: i32) -> i32 {
  %c1 = arith.constant 1 : i32
  %c2 = arith.constant 2 : i32
  %x = arith.muli %a, %c1 : i32
  %y = arith.addi %x, %c1 : i32
  %z = arith.addi %y, %c2 : i32
  return %z : i32
}
