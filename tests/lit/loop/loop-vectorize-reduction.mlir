// loop-vectorize on a loop-carried sum: the lanes' terms become one vector, and the
// enclosing loop that carries the running total carries a vector instead (starting from
// -0.0 in every lane): the lanes are reduced once, after it (loop.reduce_vector), and
// added to the start value. The product feeding the sum becomes one fma per vector.
// RUN: %descend opt %s -p 'func.func(loop-vectorize)' | filecheck %s

// CHECK-LABEL: func.func @rowsum
// CHECK:         %[[ID:.+]] = arith.constant dense<-0.000000e+00> : vector<8xf32>
// CHECK:         %[[S:.+]] = loop.for %o = {{.+}} iter_args(%[[ACC:.+]] = %[[ID]]) -> (vector<8xf32>) {
// CHECK-NOT:       loop.for
// CHECK:           %[[V:.+]] = loop.vload %x[%i, %{{.+}}] : memref<4x16xf32>, vector<8xf32>
// CHECK:           %[[E:.+]] = math.exp %[[V]] : vector<8xf32>
// CHECK:           %[[N:.+]] = math.fma %[[E]], %[[V]], %[[ACC]] : vector<8xf32>
// CHECK:           loop.yield %[[N]] : vector<8xf32>
// CHECK:         %[[R:.+]] = loop.reduce_vector "sum" %[[S]] : vector<8xf32> -> f32
// CHECK:         %[[T:.+]] = arith.addf %zero, %[[R]] : f32
// CHECK:         loop.store %[[T]], %out[%i] : memref<4xf32>
func.func @rowsum(%x: memref<4x16xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  loop.for %i = %c0 to %c4 step %c1 {
    %s = loop.for %o = %c0 to %c2 step %c1 iter_args(%acc = %zero) -> (f32) {
      %base = arith.muli %o, %c8 : index
      %t = loop.for %l = %c0 to %c8 step %c1 {kind = "vectorized"} iter_args(%a = %acc) -> (f32) {
        %k = arith.addi %base, %l : index
        %v = loop.load %x[%i, %k] : memref<4x16xf32>
        %e = math.exp %v : f32
        %p = arith.mulf %e, %v : f32
        %n = arith.addf %a, %p : f32
        loop.yield %n : f32
      }
      loop.yield %t : f32
    }
    loop.store %s, %out[%i] : memref<4xf32>
    loop.yield
  }
  return
}

// A carried value that is not a reduction (a running product of the index) stays scalar.
// CHECK-LABEL: func.func @not_a_reduction
// CHECK-NOT:     loop.reduce_vector
// CHECK-COUNT-8: arith.subf
func.func @not_a_reduction(%x: memref<8xf32>, %out: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  %t = loop.for %l = %c0 to %c8 step %c1 {kind = "vectorized"} iter_args(%a = %one) -> (f32) {
    %v = loop.load %x[%l] : memref<8xf32>
    %n = arith.subf %v, %a : f32
    loop.yield %n : f32
  }
  loop.store %t, %out[%c0] : memref<1xf32>
  return
}
