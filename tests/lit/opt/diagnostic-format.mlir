// A diagnostic is `file:line:col: error: message`, the source line, then a caret; exit code 1.
// RUN: not %descend opt %s 2>&1 >/dev/null | filecheck %s --strict-whitespace --match-full-lines
// RUN: not %descend opt %s -o %t.never 2>/dev/null ; not test -e %t.never

func.func @f(%a: i32) -> i32 {
  %b = arith.addi %a, %undefined : i32
  return %b : i32
}

// CHECK:{{.*}}diagnostic-format.mlir:6:23: error: use of undeclared SSA value name '%undefined'
// CHECK-NEXT:  %b = arith.addi %a, %undefined : i32
// CHECK-NEXT:                      ^~~~~~~~~~
// CHECK-NOT:{{.}}
