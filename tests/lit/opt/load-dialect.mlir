// A user's Python dialect file registers its ops for parsing, verifying and printing.
// RUN: %descend opt --load-dialect %examples/toy_dialect.py %examples/toy.mlir | filecheck %s
// RUN: %descend opt --load-dialect %examples/toy_dialect.py --print-op-generic %examples/toy.mlir | filecheck %s --check-prefix=GENERIC
// RUN: not %descend opt %examples/toy.mlir 2>&1 | filecheck %s --check-prefix=MISSING

// CHECK:   %d = toy.absdiff %a, %b : i32
// GENERIC: %d = "toy.absdiff"(%a, %b) : (i32, i32) -> i32
// MISSING: toy.mlir:3:8: error:
