// What --verify-diagnostics reports when expectations and diagnostics disagree (MLIR's
// wording): an unexpected diagnostic at its location, an expectation that differs only in
// severity as a near miss, and every expectation left unmatched at its comment.
// RUN: not %descend opt --split-input-file --verify-diagnostics %S/Inputs/mismatched-expectations.mlir 2>&1 | filecheck %s

// CHECK:      mismatched-expectations.mlir:3:3: error: unexpected error: 'func.return' op has 1 operands, but enclosing function (@f) returns 0
// CHECK-NEXT:   return %x : i32
// CHECK-NEXT:   ^
// CHECK-NEXT: mismatched-expectations.mlir:3:22: error: expected error "this is not the message" was not produced
// CHECK:      mismatched-expectations.mlir:12:4: error: 'error' diagnostic emitted when expecting a 'warning'
// CHECK:      mismatched-expectations.mlir:12:4: error: expected warning "enclosing function" was not produced
