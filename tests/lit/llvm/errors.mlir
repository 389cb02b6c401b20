// Verifier errors of the llvm dialect name the op and the offending types.
// RUN: not %descend opt %s --split-input-file 2>&1 | filecheck %s

llvm.func @f(%a: i32) -> i64 {
  // CHECK: error: 'llvm.sext' op result type i16 must be wider than operand type i32
  %0 = llvm.sext %a : i32 to i16
  llvm.return %0 : i16
}

// -----

llvm.func @g(%a: f32) {
  // CHECK: error: 'llvm.add' op operand #0 ('lhs') must be signless-integer-or-vector-of-them, but got f32
  %0 = llvm.add %a, %a : f32
  llvm.return
}

// -----

llvm.func @h(%a: i32) {
  // CHECK: error: 'llvm.br' op branch passes (i32) to a block taking (f32)
  llvm.br ^bb1(%a : i32)
^bb1(%x: f32):
  llvm.return
}
