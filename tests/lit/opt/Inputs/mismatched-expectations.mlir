func.func @f() {
  %x = arith.constant 1 : i32
  return %x : i32 // expected-error {{this is not the message}}
}

// -----

func.func @g() {
  %x = arith.constant 1 : i32
  return %x : i32
}
// expected-warning@-2 {{enclosing function}}
