// loop dialect verifier errors, each at its op.
// RUN: %descend opt %s --split-input-file --verify-diagnostics

func.func @f(%m: memref<4x8xf32>, %i: index) {
  // expected-error@+1 {{'loop.load' op expects 2 indices for memref<4x8xf32>, got 1}}
  %v = loop.load %m[%i] : memref<4x8xf32>
  return
}

// -----

func.func @f(%m: memref<4x8xf32>, %i: index, %v: vector<16xf32>) {
  // expected-error@+1 {{vector of 16 elements is wider than the last dimension (8) of memref<4x8xf32>}}
  loop.vstore %v, %m[%i, %i] : memref<4x8xf32>, vector<16xf32>
  return
}

// -----

func.func @f(%a: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{loop.yield gives (index) but the loop carries (f32)}}
  %r = loop.for %i = %c0 to %c1 step %c1 iter_args(%x = %a) -> (f32) {
    loop.yield %i : index
  }
  return
}

// -----

func.func @f() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{kind must be one of serial, parallel, vectorized, unrolled, got 'sideways'}}
  loop.for %i = %c0 to %c1 step %c1 {kind = "sideways"} {
    loop.yield
  }
  return
}

// -----

func.func @f(%b: i1, %a: f32) {
  // expected-error@+1 {{'loop.if' op must have an else region when it has results (f32)}}
  %r = loop.if %b -> (f32) {
    loop.yield %a : f32
  }
  return
}

// -----

// expected-error@+1 {{value of type tensor<2xf32> does not fit the buffer memref<4xf32>}}
loop.global @w : memref<4xf32> = dense<1.0> : tensor<2xf32>
