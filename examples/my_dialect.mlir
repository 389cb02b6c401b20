// The `my` dialect of examples/my_dialect.py:
//   descend opt --load-dialect examples/my_dialect.py examples/my_dialect.mlir
func.func @blend(%a: f32, %b: f32) -> f32 {
  %0 = my.scale %a : f32 by 2.5 : f64
  %1 = my.clamp %0 : f32 min 0.0 : f64 max 6.0 : f64
  %2 = my.clamp %b : f32 max 1.0 : f64
  %3 = my.mix %1, %2 at 25 percent : f32
  %4 = my.sum %1, %2, %3 : f32
  return %4 : f32
}
