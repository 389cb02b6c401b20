// loop-vectorize: a loop of kind "vectorized" becomes vector code: the contiguous load and
// store become loop.vload/loop.vstore, the uniform scalar a loop.broadcast, and the
// multiply feeding an add one math.fma. A loop reading a column (a gather) stays scalar:
// unrolled, so each lane is straight-line code.
// RUN: %descend opt %s -p 'func.func(loop-vectorize)' | filecheck %s
// RUN: %descend opt %s -p 'func.func(loop-vectorize{contract=false})' | filecheck %s --check-prefix=NOFMA
// RUN: %descend opt %s -p 'func.func(loop-vectorize)' --pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// CHECK-LABEL: func.func @axpy
// CHECK-NOT:     loop.for
// CHECK:         %[[S:.+]] = loop.load %a[%c0] : memref<1xf32>
// CHECK:         %[[X:.+]] = loop.vload %x[%{{.+}}] : memref<8xf32>, vector<8xf32>
// CHECK:         %[[Y:.+]] = loop.vload %y[%{{.+}}] : memref<8xf32>, vector<8xf32>
// CHECK:         %[[B:.+]] = loop.broadcast %[[S]] : f32 to vector<8xf32>
// CHECK:         %[[R:.+]] = math.fma %[[B]], %[[X]], %[[Y]] : vector<8xf32>
// CHECK:         loop.vstore %[[R]], %y[%{{.+}}] : memref<8xf32>, vector<8xf32>
// NOFMA-LABEL: func.func @axpy
// NOFMA:         arith.mulf {{.+}} : vector<8xf32>
// NOFMA:         arith.addf {{.+}} : vector<8xf32>
func.func @axpy(%a: memref<1xf32>, %x: memref<8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  loop.for %i = %c0 to %c8 step %c1 {kind = "vectorized"} {
    %s = loop.load %a[%c0] : memref<1xf32>
    %xi = loop.load %x[%i] : memref<8xf32>
    %yi = loop.load %y[%i] : memref<8xf32>
    %p = arith.mulf %s, %xi : f32
    %r = arith.addf %p, %yi : f32
    loop.store %r, %y[%i] : memref<8xf32>
    loop.yield
  }
  return
}

// CHECK-LABEL: func.func @column
// CHECK-NOT:     loop.for
// CHECK-NOT:     loop.vload
// CHECK-COUNT-4: loop.load %m[%{{.+}}, %c0] : memref<4x4xf32>
func.func @column(%m: memref<4x4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  loop.for %i = %c0 to %c4 step %c1 {kind = "vectorized"} {
    %v = loop.load %m[%i, %c0] : memref<4x4xf32>
    loop.store %v, %out[%i] : memref<4xf32>
    loop.yield
  }
  return
}
// STATS: 2 vectorized
// STATS: 1 left-scalar

// A multiply-add that is the same in every lane stays one scalar multiply and add (it is
// not contracted into a vector fma whose product was never made).
// CHECK-LABEL: func.func @uniform_muladd
// CHECK-NOT:     loop.for
// CHECK:         %[[M:.+]] = arith.mulf %s, %s : f32
// CHECK:         %[[A:.+]] = arith.addf %[[M]], %s : f32
// CHECK:         %[[B:.+]] = loop.broadcast %[[A]] : f32 to vector<8xf32>
// CHECK:         loop.vstore %{{.+}}, %y[%{{.+}}] : memref<8xf32>, vector<8xf32>
func.func @uniform_muladd(%s: f32, %x: memref<8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  loop.for %i = %c0 to %c8 step %c1 {kind = "vectorized"} {
    %m = arith.mulf %s, %s : f32
    %a = arith.addf %m, %s : f32
    %xi = loop.load %x[%i] : memref<8xf32>
    %r = arith.mulf %xi, %a : f32
    loop.store %r, %y[%i] : memref<8xf32>
    loop.yield
  }
  return
}
