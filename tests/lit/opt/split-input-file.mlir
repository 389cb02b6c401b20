// Chunks are processed on their own, outputs are joined with `// -----`, and diagnostics
// keep the line numbers of the whole file.
// RUN: not %descend opt %s --split-input-file 2>%t.err | filecheck %s
// RUN: filecheck %s --input-file %t.err --check-prefix=ERR

func.func @first() {
  return
}

// -----

func.func @second() {
  %x = arith.constant 1 : i32
  return %x : i32
}

// -----

func.func @third() {
  return
}

// CHECK:       func.func @first()
// CHECK-NEXT:  return
// CHECK:       // -----
// CHECK-NEXT:  // -----
// CHECK-NEXT:  module {
// CHECK-NEXT:    func.func @third()

// ERR:         split-input-file.mlir:14:3: error: 'func.return' op has 1 operands, but enclosing function (@second) returns 0
// ERR-NEXT:      return %x : i32
