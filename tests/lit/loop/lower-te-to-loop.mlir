// lower-te-to-loop: a function over tensors becomes one over buffers in destination-passing
// style (outputs are trailing memref arguments); each te.kernel a private function of loop
// nests; weights loop.globals; returned inputs are copied. The default schedule inlines the
// elementwise producer into the reduction, whose accumulator is carried by iter_args.
// RUN: %descend opt --split-input-file --verify-diagnostics %s -p lower-te-to-loop | filecheck %s
// RUN: %descend opt --split-input-file --verify-diagnostics %s -p lower-te-to-loop --print-op-generic | %descend opt --split-input-file | filecheck %s

// CHECK-LABEL: module {
// CHECK-NEXT:    loop.global @w : memref<4x6xf32> = dense<2.000000e+00> : tensor<4x6xf32>
// CHECK-NEXT:    func.func private @scale_sum(%a: memref<4x6xf32>, %b: memref<4x6xf32>, %s: memref<4xf32>) {
// CHECK-DAG:       %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:       %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG:       %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG:       %[[C6:.+]] = arith.constant 6 : index
// CHECK-DAG:       %[[INIT:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:           loop.for %[[I:.+]] = %[[C0]] to %[[C4]] step %[[C1]] {
// CHECK-NEXT:        %[[SUM:.+]] = loop.for %[[K:.+]] = %[[C0]] to %[[C6]] step %[[C1]] iter_args(%[[ACC:.+]] = %[[INIT]]) -> (f32) {
// CHECK-NEXT:          %[[A:.+]] = loop.load %a[%[[I]], %[[K]]] : memref<4x6xf32>
// CHECK-NEXT:          %[[B:.+]] = loop.load %b[%[[I]], %[[K]]] : memref<4x6xf32>
// CHECK-NEXT:          %[[P:.+]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:          %[[NEXT:.+]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT:          loop.yield %[[NEXT]] : f32
// CHECK-NEXT:        }
// CHECK-NEXT:        loop.store %[[SUM]], %s[%[[I]]] : memref<4xf32>
// CHECK-NEXT:        loop.yield
// CHECK-NEXT:      }
// CHECK-NEXT:      return
// CHECK:         func.func @main(%x: memref<4x6xf32>, %y: memref<4xf32>, %x_out: memref<4x6xf32>) attributes {onnx.inputs = ["x"], onnx.num_outputs = 2 : i64, onnx.outputs = ["y", "x_out"]} {
// CHECK:           %w = loop.get_global @w : memref<4x6xf32>
// CHECK-NEXT:      call @scale_sum(%x, %w, %y) : (memref<4x6xf32>, memref<4x6xf32>, memref<4xf32>) -> ()
// CHECK-NEXT:      loop.for %[[I:.+]] = {{.+}} {
// CHECK-NEXT:        loop.for %[[J:.+]] = {{.+}} {
// CHECK-NEXT:          %[[V:.+]] = loop.load %x[%[[I]], %[[J]]] : memref<4x6xf32>
// CHECK-NEXT:          loop.store %[[V]], %x_out[%[[I]], %[[J]]] : memref<4x6xf32>
// CHECK:           return
func.func @main(%x: tensor<4x6xf32>) -> (tensor<4xf32>, tensor<4x6xf32>) attributes {onnx.inputs = ["x"], onnx.outputs = ["y", "x_out"]} {
  %w = arith.constant dense<2.0> : tensor<4x6xf32>
  %y = te.kernel "scale_sum"(%x, %w) : (tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4x6xf32>, %b: tensor<4x6xf32>):
    %p = te.compute(%a, %b) : (tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<4x6xf32> {
    ^bb0(%i: index, %j: index):
      %0 = te.read %a[%i, %j] : tensor<4x6xf32>
      %1 = te.read %b[%i, %j] : tensor<4x6xf32>
      %2 = arith.mulf %0, %1 : f32
      te.yield %2 : f32
    }
    %s = te.compute(%p) {reduce = array<i64: 6>, combiner = "sum"} : (tensor<4x6xf32>) -> tensor<4xf32> {
    ^bb0(%i: index, %k: index):
      %0 = te.read %p[%i, %k] : tensor<4x6xf32>
      te.yield %0 : f32
    }
    te.return %s : tensor<4xf32>
  }
  func.return %y, %x : tensor<4xf32>, tensor<4x6xf32>
}

// -----

// A schedule attribute is applied: split by 2 (5 is not a multiple: a tail guard) and the
// outer loop parallel.
// CHECK-LABEL: func.func private @split(%a: memref<5xi32>, %y: memref<5xi32>) {
// CHECK:         loop.for %[[O:.+]] = {{.+}} {kind = "parallel"} {
// CHECK-NEXT:      loop.for %[[N:.+]] = {{.+}} {
// CHECK-NEXT:        %[[M:.+]] = arith.muli %[[O]], %{{.+}} : index
// CHECK-NEXT:        %[[I:.+]] = arith.addi %[[M]], %[[N]] : index
// CHECK-NEXT:        %[[IN:.+]] = arith.cmpi ult, %[[I]], %c5 : index
// CHECK-NEXT:        loop.if %[[IN]] {
// CHECK-NEXT:          %[[V:.+]] = loop.load %a[%[[I]]] : memref<5xi32>
// CHECK-NEXT:          %[[D:.+]] = arith.addi %[[V]], %[[V]] : i32
// CHECK-NEXT:          loop.store %[[D]], %y[%[[I]]] : memref<5xi32>
// CHECK:       func.func @main(%x: memref<5xi32>, %y: memref<5xi32>) attributes {onnx.num_outputs = 1 : i64} {
// CHECK-NEXT:    call @split(%x, %y) : (memref<5xi32>, memref<5xi32>) -> ()
// CHECK-NEXT:    return
func.func @main(%x: tensor<5xi32>) -> tensor<5xi32> {
  %y = te.kernel "split"(%x) {schedule = #te.schedule<[{"op": "split", "compute": "y", "axis": "i0", "factor": 2, "outer": "o", "inner": "n"}, {"op": "parallel", "compute": "y", "axis": "o"}]>} : (tensor<5xi32>) -> tensor<5xi32> {
  ^bb0(%a: tensor<5xi32>):
    %y = te.compute(%a) : (tensor<5xi32>) -> tensor<5xi32> {
    ^bb0(%i: index):
      %0 = te.read %a[%i] : tensor<5xi32>
      %1 = arith.addi %0, %0 : i32
      te.yield %1 : i32
    }
    te.return %y : tensor<5xi32>
  }
  func.return %y : tensor<5xi32>
}

// -----

// A schedule that names a missing axis is an error at the kernel.
func.func @main(%x: tensor<5xi32>) -> tensor<5xi32> {
  // expected-error@+1 {{'te.kernel' op split: axis 'j' is not an axis of compute 'y' (axes: i0)}}
  %y = te.kernel "bad"(%x) {schedule = #te.schedule<[{"op": "split", "compute": "y", "axis": "j", "factor": 2}]>} : (tensor<5xi32>) -> tensor<5xi32> {
  ^bb0(%a: tensor<5xi32>):
    %y = te.compute(%a) : (tensor<5xi32>) -> tensor<5xi32> {
    ^bb0(%i: index):
      %0 = te.read %a[%i] : tensor<5xi32>
      te.yield %0 : i32
    }
    te.return %y : tensor<5xi32>
  }
  func.return %y : tensor<5xi32>
}
