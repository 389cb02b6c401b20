// Needs the toy dialect: descend opt --load-dialect examples/toy_dialect.py examples/toy.mlir
func.func @distance(%a: i32, %b: i32) -> i32 {
  %d = toy.absdiff %a, %b : i32
  return %d : i32
}
