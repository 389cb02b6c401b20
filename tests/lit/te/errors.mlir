// te verifier errors name the op and the offending types.
// RUN: %descend opt %s --split-input-file --verify-diagnostics

func.func @rank(%a: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error@+1 {{'te.compute' op body must have 2 index arguments (2 output indices for tensor<4x3xf32>, then 0 reduction indices), got 3}}
  %y = te.compute (%a) : (tensor<4x3xf32>) -> tensor<4x3xf32> {
  ^bb0(%i: index, %j: index, %k: index):
    %0 = te.read %a[%i, %j] : tensor<4x3xf32>
    te.yield %0 : f32
  }
  func.return %y : tensor<4x3xf32>
}

// -----

func.func @combiner(%a: tensor<4x3xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{'te.compute' op reduces over [3] but has no 'combiner' (one of sum, max, min, prod)}}
  %y = te.compute (%a) {reduce = array<i64: 3>} : (tensor<4x3xf32>) -> tensor<4xf32> {
  ^bb0(%i: index, %k: index):
    %0 = te.read %a[%i, %k] : tensor<4x3xf32>
    te.yield %0 : f32
  }
  func.return %y : tensor<4xf32>
}

// -----

func.func @yield(%a: tensor<4x3xf32>) -> tensor<4x3xi32> {
  // expected-error@+1 {{'te.compute' op yields f32, but the result tensor<4x3xi32> has elements of type i32}}
  %y = te.compute (%a) : (tensor<4x3xf32>) -> tensor<4x3xi32> {
  ^bb0(%i: index, %j: index):
    %0 = te.read %a[%i, %j] : tensor<4x3xf32>
    te.yield %0 : f32
  }
  func.return %y : tensor<4x3xi32>
}

// -----

func.func @read(%a: tensor<4x3xf32>, %b: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %y = te.compute (%a) : (tensor<4x3xf32>) -> tensor<4x3xf32> {
  ^bb0(%i: index, %j: index):
    // expected-error@+1 {{'te.read' op reads a tensor of type tensor<4x3xf32> that is not an operand of the enclosing te.compute (tensor<4x3xf32>)}}
    %0 = te.read %b[%i, %j] : tensor<4x3xf32>
    te.yield %0 : f32
  }
  func.return %y : tensor<4x3xf32>
}

// -----

func.func @outside(%a: tensor<4x3xf32>, %s: f32) -> tensor<4x3xf32> {
  %y = te.compute (%a) : (tensor<4x3xf32>) -> tensor<4x3xf32> {
  ^bb0(%i: index, %j: index):
    %0 = te.read %a[%i, %j] : tensor<4x3xf32>
    // expected-error@+1 {{'arith.addf' op operand #1 is defined outside the te.compute body}}
    %1 = arith.addf %0, %s : f32
    te.yield %1 : f32
  }
  func.return %y : tensor<4x3xf32>
}

// -----

func.func @kernel_return(%a: tensor<4x3xf32>) -> tensor<3x4xf32> {
  %r = te.kernel "k" (%a) : (tensor<4x3xf32>) -> tensor<3x4xf32> {
  ^bb0(%x: tensor<4x3xf32>):
    // expected-error@+1 {{'te.return' op returns (tensor<4x3xf32>), but the te.kernel "k" has results (tensor<3x4xf32>)}}
    te.return %x : tensor<4x3xf32>
  }
  func.return %r : tensor<3x4xf32>
}
