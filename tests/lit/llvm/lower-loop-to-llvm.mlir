// lower-loop-to-llvm: memrefs become bare pointers indexed by a getelementptr over the
// row-major linear index; loop.for becomes a header block whose arguments are phis; loop.if
// branches and joins; a parallel loop is outlined and run by descend_parallel_for with the
// thread count every function receives as its last argument; @main gets descend_run.
// RUN: %descend opt %s -p lower-loop-to-llvm | filecheck %s
// RUN: %descend opt %s -p lower-loop-to-llvm --print-op-generic | %descend opt | filecheck %s
// RUN: %descend opt %s -p lower-loop-to-llvm > %t.mlir && python -m descend.lowering.codegen %t.mlir --emit llvm-ir | filecheck %s --check-prefix=IR
// RUN: %descend opt %s -p 'lower-loop-to-llvm{entry=false}' | filecheck %s --check-prefix=NOENTRY

// CHECK: llvm.mlir.global internal constant @w(dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00]> : tensor<6xf32>) {alignment = 64 : i64} : !llvm.array<6 x f32>
loop.global @w : memref<2x3xf32> = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>

// CHECK-LABEL: llvm.func internal @scale(%x: !llvm.ptr, %y: !llvm.ptr, %threads: i32)
// CHECK:         %[[CTX:.+]] = llvm.alloca %{{.+}} x !llvm.struct<(ptr, ptr)>
// CHECK:         llvm.store %x, %{{.+}} : !llvm.ptr, !llvm.ptr
// CHECK:         %[[FN:.+]] = llvm.mlir.addressof @scale_parallel : !llvm.ptr
// CHECK:         llvm.call @descend_parallel_for(%[[FN]], %[[CTX]], %{{.+}}, %threads) : (!llvm.ptr, !llvm.ptr, i64, i32) -> ()
func.func private @scale(%x: memref<2x3xf32>, %y: memref<2x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %w = loop.get_global @w : memref<2x3xf32>
  loop.for %i = %c0 to %c2 step %c1 {kind = "parallel"} {
    loop.for %j = %c0 to %c3 step %c1 {
      %a = loop.load %x[%i, %j] : memref<2x3xf32>
      %b = loop.load %w[%i, %j] : memref<2x3xf32>
      %positive = arith.cmpf ogt, %a, %b : f32
      %r = loop.if %positive -> (f32) {
        %m = arith.mulf %a, %b : f32
        loop.yield %m : f32
      } else {
        loop.yield %b : f32
      }
      loop.store %r, %y[%i, %j] : memref<2x3xf32>
      loop.yield
    }
    loop.yield
  }
  return
}

// CHECK-LABEL: llvm.func internal @main(%x: !llvm.ptr, %y: !llvm.ptr, %threads: i32)
// CHECK-NEXT:    llvm.call @scale(%x, %y, %threads) : (!llvm.ptr, !llvm.ptr, i32) -> ()
// CHECK-NEXT:    llvm.return
func.func @main(%x: memref<2x3xf32>, %y: memref<2x3xf32>) attributes {onnx.inputs = ["x"], onnx.num_outputs = 1 : i64, onnx.outputs = ["y"]} {
  func.call @scale(%x, %y) : (memref<2x3xf32>, memref<2x3xf32>) -> ()
  return
}

// The outlined body runs iterations [begin, end) of the parallel loop: i = lower + k * step.
// CHECK-LABEL: llvm.func internal @scale_parallel(%ctx: !llvm.ptr, %begin: i64, %end: i64)
// CHECK:         %w = llvm.mlir.addressof @w : !llvm.ptr
// CHECK:         %x = llvm.load %{{.+}} : !llvm.ptr -> !llvm.ptr
// CHECK:         llvm.br ^[[HEAD:.+]](%begin : i64)
// CHECK:       ^[[HEAD]](%[[K:.+]]: i64):
// CHECK-NEXT:    %[[MORE:.+]] = llvm.icmp "slt" %[[K]], %end : i64
// CHECK-NEXT:    llvm.cond_br %[[MORE]], ^{{.+}}, ^[[EXIT:bb[0-9]+]]
// CHECK:         %i = llvm.add %{{.+}}, %{{.+}} overflow<nsw> : i64
// CHECK:         %[[ROW:.+]] = llvm.mul %i, %{{.+}} overflow<nsw> : i64
// CHECK-NEXT:    %[[LIN:.+]] = llvm.add %[[ROW]], %j overflow<nsw> : i64
// CHECK-NEXT:    %[[P:.+]] = llvm.getelementptr inbounds %x[%[[LIN]]] : (!llvm.ptr, i64) -> !llvm.ptr, f32
// CHECK-NEXT:    %a = llvm.load %[[P]] {alignment = 4 : i64} : !llvm.ptr -> f32
// CHECK:         %positive = llvm.fcmp "ogt" %a, %b : f32
// CHECK-NEXT:    llvm.cond_br %positive, ^[[THEN:.+]], ^[[ELSE:bb[0-9]+]]
// CHECK:       ^[[THEN]]:
// CHECK-NEXT:    %m = llvm.fmul %a, %b : f32
// CHECK-NEXT:    llvm.br ^[[JOIN:.+]](%m : f32)
// CHECK:       ^[[ELSE]]:
// CHECK-NEXT:    llvm.br ^[[JOIN]](%b : f32)
// CHECK:       ^[[JOIN]](%r: f32):
// CHECK:         llvm.store %r, %{{.+}} {alignment = 4 : i64} : f32, !llvm.ptr
// CHECK:       ^[[EXIT]]:
// CHECK-NEXT:    llvm.return

// CHECK: llvm.func @descend_parallel_for(!llvm.ptr, !llvm.ptr, i64, i32)
// CHECK-LABEL: llvm.func @descend_run(%model: !llvm.ptr, %inputs: !llvm.ptr, %outputs: !llvm.ptr) -> i32
// CHECK-NEXT:    %threads = llvm.load %model {alignment = 4 : i64} : !llvm.ptr -> i32
// CHECK:         llvm.call @main(%{{.+}}, %{{.+}}, %threads) : (!llvm.ptr, !llvm.ptr, i32) -> ()
// CHECK:       llvm.func @descend_num_inputs() -> i32
// CHECK-NOT:   {{loop\.|arith\.|func\.}}

// IR: @w = internal constant [6 x float]
// IR: define internal void @scale(ptr %arg0, ptr %arg1, i32 %arg2)
// IR: call void @descend_parallel_for(ptr @scale_parallel,
// IR: define internal void @scale_parallel(ptr %arg0, i64 %arg1, i64 %arg2)
// IR: phi i64
// IR: define i32 @descend_run(ptr %arg0, ptr %arg1, ptr %arg2)
// IR: define void @descend_parallel_for(

// NOENTRY-NOT: descend_run
// NOENTRY: llvm.func @main(%x: !llvm.ptr, %y: !llvm.ptr, %threads: i32)
// NOENTRY-NOT: descend_run
