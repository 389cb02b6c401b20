// loop-vectorize on a packed operand (lowering/layout.py): `n floordiv 16` and `n mod 16`
// of n = 16*p + 8 + lane stay inside one panel for 8 lanes, so the quotient is one scalar
// and the remainder starts at 8: one loop.vload. When the base's residue is not known
// (p*8 may sit anywhere in a panel) the loop stays scalar, unrolled.
// RUN: %descend opt %s -p 'func.func(loop-vectorize)' | filecheck %s

// CHECK-LABEL: func.func @panel
// CHECK-NOT:     loop.for
// CHECK:         %[[Q:.+]] = arith.floordivsi %{{.+}}, %c16 : index
// CHECK:         %[[R:.+]] = arith.constant 8 : index
// CHECK:         %[[V:.+]] = loop.vload %b[%[[Q]], %k, %[[R]]] : memref<4x3x16xf32>, vector<8xf32>
// CHECK:         loop.vstore %[[V]], %out[%{{.+}}] : memref<64xf32>, vector<8xf32>
func.func @panel(%b: memref<4x3x16xf32>, %out: memref<64xf32>, %p: index, %k: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %base = arith.muli %p, %c16 : index
  %start = arith.addi %base, %c8 : index
  loop.for %i = %c0 to %c8 step %c1 {kind = "vectorized"} {
    %n = arith.addi %start, %i : index
    %q = arith.floordivsi %n, %c16 : index
    %r = arith.remsi %n, %c16 : index
    %v = loop.load %b[%q, %k, %r] : memref<4x3x16xf32>
    loop.store %v, %out[%n] : memref<64xf32>
    loop.yield
  }
  return
}

// CHECK-LABEL: func.func @unknown_residue
// CHECK-NOT:     loop.for
// CHECK-NOT:     loop.vload
// CHECK-COUNT-8: loop.load %b[
func.func @unknown_residue(%b: memref<4x3x16xf32>, %out: memref<64xf32>, %p: index, %k: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %start = arith.muli %p, %c8 : index
  loop.for %i = %c0 to %c8 step %c1 {kind = "vectorized"} {
    %n = arith.addi %start, %i : index
    %q = arith.floordivsi %n, %c16 : index
    %r = arith.remsi %n, %c16 : index
    %v = loop.load %b[%q, %k, %r] : memref<4x3x16xf32>
    loop.store %v, %out[%n] : memref<64xf32>
    loop.yield
  }
  return
}
