// Parser errors: every chunk is parsed on its own and must fail exactly as expected.
// RUN: %descend opt %s --split-input-file --verify-diagnostics

func.func @f() {
  // expected-error@+1 {{found '='}}
  %x = = arith.constant 1 : i32
}

// -----

func.func @g() {
  return %undefined : i32 // expected-error {{use of undeclared SSA value name '%undefined'}}
}

// -----

func.func @h(%a: i32) -> i32 {
  // expected-error@below {{redefinition of SSA value '%a'}}
  %a = arith.addi %a, %a : i32
  return %a : i32
}

// -----

func.func @i() -> i32 {
  %c = arith.constant 1 : i33x // expected-error {{unexpected identifier 'i33x'}}
  return %c : i32
}

// -----

func.func @j() {
  return // expected-error {{unexpected end of input}}

// -----

func.func @k() {
  // expected-error-re@+1 {{operation 'foo.bar' of unregistered dialect '{{[a-z]+}}'}}
  "foo.bar"() : () -> ()
  return
}

// -----

func.func @l() {
  %0 = "arith.constant"() <{value = 1 : i32}> : () -> (i32
}
// expected-error@above {{expected ')'}}

// -----

func.func @m() {
  %0 = arith.nosuchop 1 : i32 // expected-error {{custom op 'arith.nosuchop' is unknown}}
}

// -----

// expected-error@+1 {{found '"str"'}}
%0 = arith.constant "str" : i32

// -----

func.func @n(%a: i32) -> i32 {
  %b = arith.addi %a, %a : i32
  return %b : i64 // expected-error {{use of value '%b' expects different type than prior uses: 'i64' vs 'i32'}}
}
