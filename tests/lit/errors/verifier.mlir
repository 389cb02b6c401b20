// Verifier errors: the text parses, the IR is invalid.
// RUN: %descend opt %s --split-input-file --verify-diagnostics

func.func @f() {
  %c = arith.constant 1 : i32
  return %c : i32 // expected-error {{'func.return' op has 1 operands, but enclosing function (@f) returns 0}}
}

// -----

func.func @h(%a: f32) -> f32 {
  // expected-error@+1 {{'arith.addi' op operand #0 ('lhs') must be signless-integer-or-index-like, but got f32}}
  %c = "arith.addi"(%a, %a) : (f32, f32) -> f32
  return %c : f32
}

// -----

func.func @i() {
  %r = func.call @nowhere() : () -> i32 // expected-error {{'@nowhere' does not reference a valid function}}
  return
}

// -----

func.func @j(%c: i1, %a: i32, %b: i64) -> i32 {
  // expected-error@+1 {{requires the same type for true value, false value and result, got i32, i64 and i32}}
  %r = "arith.select"(%c, %a, %b) : (i1, i32, i64) -> i32
  return %r : i32
}

// -----

func.func @k() {
  %c = arith.constant 1 : i32 // expected-error {{block with no terminator, has 'arith.constant'}}
}

// -----

// Notes are matched too.
func.func @dup() { return } // expected-note {{see existing symbol definition here}}
func.func @dup() { return } // expected-error {{redefinition of symbol named 'dup'}}

// -----

func.func @l(%a: i32) -> i32 {
  %x = "arith.addi"(%y, %a) : (i32, i32) -> i32 // expected-error {{operand #0 does not dominate this use}}
  %y = "arith.addi"(%a, %a) : (i32, i32) -> i32 // expected-note {{operand defined here}}
  return %x : i32
}

// -----

// A valid chunk among invalid ones is printed and expects nothing.
func.func @fine() {
  return
}
